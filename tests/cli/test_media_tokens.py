"""Audio and image tokens (#14): parts of input and output billed at their own rates, read by every parser that
sees them, priced, stored (in `extra`, m006), shown by `events --explain` and exported."""

from __future__ import annotations

import json
from decimal import Decimal as D
from pathlib import Path

import orjson
import pytest

from margindash_cli.errors import LineRejected
from margindash_cli.ingest import canonical
from margindash_cli.ingest.formats import gemini, langfuse, litellm, openai
from margindash_cli.pricing.cost import cost_of, format_usd
from margindash_cli.pricing.model import PriceVersion, Rates, Tier

FIXTURES = Path(__file__).parent.parent / "fixtures"
FLASH = PriceVersion(
    "google", "gemini-2.5-flash", base=Rates(input=D("0.3"), output=D("2.5"), cache_read=D("0.03"), input_audio=D("1"))
)
AUDIO = PriceVersion(
    "openai",
    "gpt-4o-audio-preview",
    base=Rates(input=D("2.5"), output=D("10"), input_audio=D("40"), output_audio=D("80")),
)


# ---- pricing ----------------------------------------------------------------------------------------


def test_audio_tokens_bill_at_their_own_rates():
    b = cost_of(AUDIO, input_tokens=1000, input_audio_tokens=800, output_tokens=2000, output_audio_tokens=1500)
    assert (b.uncached_input, b.input_audio, b.output, b.output_audio) == (
        500 * 10**6,
        32 * 10**9,
        5 * 10**9,
        120 * 10**9,
    )
    assert format_usd(b.total) == "0.1575"
    # the same call without its audio split is all text: $0.0225
    assert format_usd(cost_of(AUDIO, input_tokens=1000, output_tokens=2000).total) == "0.0225"


def test_a_price_without_audio_rates_bills_audio_as_text():
    text_only = PriceVersion("x", "m", base=Rates(input=D("1"), output=D("2")))
    b = cost_of(
        text_only, input_tokens=1_000_000, input_audio_tokens=400_000, output_tokens=1_000_000, output_image_tokens=10
    )
    assert format_usd(b.total) == "3"


def test_audio_parts_are_capped_by_their_wholes():
    # 10k prompt of which 9k cached: at most 1k can be uncached audio, whatever the log says
    b = cost_of(FLASH, input_tokens=10_000, cached_input_tokens=9_000, input_audio_tokens=5_000, output_tokens=0)
    assert (b.uncached_input, b.input_audio, b.cache_read) == (0, 1_000 * 10**6, 9_000 * 30_000)


def test_cached_audio_at_the_cached_audio_rate_else_at_the_cache_read_rate():
    # gemini-2.5-flash: cached text $0.03, cached audio $0.10 per MTok
    p = PriceVersion(
        "google",
        "gemini-2.5-flash",
        base=Rates(
            input=D("0.3"), output=D("2.5"), cache_read=D("0.03"), input_audio=D("1"), cache_read_audio=D("0.1")
        ),
    )
    b = cost_of(p, input_tokens=10_000, cached_input_tokens=9_000, cached_audio_tokens=4_000)
    assert (b.cache_read, b.cache_read_audio, format_usd(b.total)) == (5_000 * 30_000, 4_000 * 100_000, "0.00085")
    assert (
        format_usd(cost_of(FLASH, input_tokens=10_000, cached_input_tokens=9_000, cached_audio_tokens=4_000).total)
        == "0.00057"
    )


def test_audio_in_batch_is_half_and_in_a_long_context_tier_takes_the_tier_rate():
    p = PriceVersion(
        "x",
        "m",
        base=Rates(input=D("1"), output=D("4"), input_audio=D("3")),
        tiers=(Tier(100, rates=Rates(input=D("2"), input_audio=D("6"))),),
    )
    assert format_usd(cost_of(p, input_tokens=100, input_audio_tokens=100, service_tier="batch").total) == "0.00015"
    assert format_usd(cost_of(p, input_tokens=200, input_audio_tokens=100).total) == "0.0008"  # 100 x 2 + 100 x 6


def test_rates_round_trip_with_audio_fields():
    assert PriceVersion.from_dict(AUDIO.to_dict()) == AUDIO
    assert AUDIO.to_dict()["base"] == {"input": "2.5", "output": "10", "input_audio": "40", "output_audio": "80"}


# ---- parsers ----------------------------------------------------------------------------------------


def test_openai_chat_and_responses_audio_tokens():
    chat = {
        "object": "chat.completion",
        "model": "gpt-4o-audio-preview",
        "usage": {
            "prompt_tokens": 1000,
            "completion_tokens": 2000,
            "prompt_tokens_details": {"audio_tokens": 800, "cached_tokens": 100},
            "completion_tokens_details": {"audio_tokens": 1500, "reasoning_tokens": 0},
        },
    }
    e = openai.extract(chat)
    assert (e["input_audio_tokens"], e["output_audio_tokens"]) == (800, 1500)
    resp = {
        "object": "response",
        "model": "gpt-realtime",
        "usage": {
            "input_tokens": 500,
            "output_tokens": 300,
            "input_tokens_details": {"audio_tokens": 450, "cached_tokens": 100},
            "output_tokens_details": {"audio_tokens": 250},
        },
    }
    e = openai.extract(resp)
    assert (e["input_audio_tokens"], e["output_audio_tokens"]) == (400, 250)  # 50 audio tokens were cached
    realtime = {
        "object": "realtime.response",
        "model": "gpt-realtime",
        "usage": {
            "total_tokens": 900,
            "input_tokens": 600,
            "output_tokens": 300,
            "input_token_details": {
                "text_tokens": 100,
                "audio_tokens": 500,
                "cached_tokens": 200,
                "cached_tokens_details": {"text_tokens": 50, "audio_tokens": 150},
            },
            "output_token_details": {"text_tokens": 60, "audio_tokens": 240},
        },
    }
    e = openai.extract(realtime)
    assert (
        e["input_tokens"],
        e["cached_input_tokens"],
        e["input_audio_tokens"],
        e["cached_audio_tokens"],
        e["output_audio_tokens"],
    ) == (600, 200, 350, 150, 240)
    plain = openai.extract(
        orjson.loads((FIXTURES / "openai" / "chat" / "openai_chat__gpt4o_mini_basic.json").read_bytes())
    )
    assert "input_audio_tokens" not in plain and "output_audio_tokens" not in plain  # zero: left out
    with pytest.raises(LineRejected) as exc:
        openai.extract(
            {"object": "chat.completion", "usage": {"prompt_tokens": 5, "prompt_tokens_details": {"audio_tokens": -1}}}
        )
    assert exc.value.field == "usage.prompt_tokens_details.audio_tokens"


def test_gemini_modalities():
    body = {
        "modelVersion": "gemini-2.5-flash-image",
        "usageMetadata": {
            "promptTokenCount": 3000,
            "candidatesTokenCount": 1300,
            "cachedContentTokenCount": 1000,
            "promptTokensDetails": [
                {"modality": "TEXT", "tokenCount": 1000},
                {"modality": "AUDIO", "tokenCount": 2000},
            ],
            "cacheTokensDetails": [{"modality": "AUDIO", "tokenCount": 1000}],
            "candidatesTokensDetails": [
                {"modality": "TEXT", "tokenCount": 10},
                {"modality": "IMAGE", "tokenCount": 1290},
            ],
        },
    }
    e = gemini.extract(body)
    assert (
        e["input_audio_tokens"],
        e["cached_audio_tokens"],
        e.get("output_audio_tokens"),
        e["output_image_tokens"],
    ) == (1000, 1000, None, 1290)
    with pytest.raises(LineRejected) as exc:
        gemini.extract({"usageMetadata": {"promptTokensDetails": {"modality": "AUDIO"}}})
    assert exc.value.field == "usageMetadata.promptTokensDetails"


def test_litellm_usage_object_audio_tokens():
    row = orjson.loads((FIXTURES / "litellm" / "spend_logs_payload.json").read_bytes())
    metadata = orjson.loads(row["metadata"])
    metadata["usage_object"] = {
        "prompt_tokens_details": {"audio_tokens": 30},
        "completion_tokens_details": {"audio_tokens": 5},
    }
    row["metadata"] = orjson.dumps(metadata).decode()
    [e] = litellm.parse(row)
    assert (e["input_audio_tokens"], e["output_audio_tokens"]) == (min(30, e["input_tokens"]), 5)


def test_langfuse_audio_usage_keys():
    obs = orjson.loads((FIXTURES / "langfuse" / "langfuse_docs_observations_v2_sample_response.json").read_bytes())[
        "data"
    ][0]
    obs["usageDetails"] = {"input": 100, "input_audio_tokens": 400, "output": 50, "output_audio_tokens": 200}
    [e] = langfuse.parse(obs)
    assert (e["input_tokens"], e["input_audio_tokens"], e["output_tokens"], e["output_audio_tokens"]) == (
        500,
        400,
        250,
        200,
    )


def test_canonical_event_validates_the_parts():
    base = {
        "timestamp": "2026-11-16T12:00:00Z",
        "model": "m",
        "input_tokens": 100,
        "cached_input_tokens": 40,
        "output_tokens": 10,
    }
    [ev] = canonical.normalize({**base, "inputAudioTokens": 60, "output_image_tokens": 10})
    assert (ev.input_audio_tokens, ev.output_image_tokens) == (60, 10)
    with pytest.raises(LineRejected) as exc:
        canonical.normalize({**base, "input_audio_tokens": 61})
    assert exc.value.field == "input_audio_tokens"
    with pytest.raises(LineRejected) as exc:
        canonical.normalize({**base, "output_audio_tokens": 6, "output_image_tokens": 5})
    assert exc.value.field == "output_audio_tokens"


# ---- end to end ---------------------------------------------------------------------------------------


def test_ingest_stores_prices_explains_and_exports_audio_tokens(cli, tmp_path):
    log = tmp_path / "audio.jsonl"
    log.write_text(
        json.dumps(
            {
                "timestamp": "2026-11-16T12:00:00Z",
                "request_id": "a1",
                "response": {
                    "modelVersion": "gemini-2.5-flash",
                    "usageMetadata": {
                        "promptTokenCount": 10000,
                        "candidatesTokenCount": 500,
                        "promptTokensDetails": [
                            {"modality": "TEXT", "tokenCount": 4000},
                            {"modality": "AUDIO", "tokenCount": 6000},
                        ],
                    },
                },
            }
        )
        + "\n"
    )
    db = tmp_path / "s.db"
    assert cli("--db", db, "ingest", log).exit_code == 0
    [row] = json.loads(cli("--db", db, "events", "--json").stdout)
    assert (row["input_audio_tokens"], row["output_audio_tokens"], row["cost_usd"]) == (6000, 0, "0.00845")
    info = json.loads(cli("--db", db, "events", "--explain", "a1", "--json").stdout)
    assert info["classes"]["input_audio"] == {"tokens": 6000, "usd_per_mtok": "1", "cost_usd": "0.006"}
    assert info["classes"]["uncached_input"]["tokens"] == 4000 and info["cost_usd"] == "0.00845" and not info["stale"]
    out = cli("--db", db, "events", "--explain", "a1").stdout
    assert "input_audio" in out and "output_image" not in out  # a class the call has none of is not shown
    # reprice keeps it (the audio split is read back from the store)
    assert json.loads(cli("--db", db, "reprice", "--json").stdout)["events_changed"] == 0
    exported = tmp_path / "out"
    assert cli("--db", db, "export", exported, "--format", "csv").exit_code == 0
    [csv_file] = list((exported / "events").rglob("*.csv"))
    header, first = csv_file.read_text().splitlines()[:2]
    assert dict(zip(header.split(","), first.split(",")))["input_audio_tokens"] == "6000"


def test_prices_set_takes_audio_rates(cli, tmp_path):
    db = tmp_path / "s.db"
    out = cli(
        "--db",
        db,
        "prices",
        "set",
        "self/voice-1",
        "--input",
        "1",
        "--output",
        "2",
        "--input-audio",
        "10",
        "--output-audio",
        "20",
        "--json",
    )
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["base"] == {"input": "1", "output": "2", "input_audio": "10", "output_audio": "20"}
    log = tmp_path / "v.jsonl"
    log.write_text(
        json.dumps(
            {
                "timestamp": "2026-11-16T12:00:00Z",
                "vendor": "self",
                "model": "voice-1",
                "input_tokens": 1000,
                "input_audio_tokens": 600,
                "output_tokens": 100,
                "output_audio_tokens": 100,
            }
        )
        + "\n"
    )
    assert cli("--db", db, "ingest", log).exit_code == 0
    [row] = json.loads(cli("--db", db, "events", "--json").stdout)
    assert row["cost_usd"] == "0.0084"  # 400 x 1 + 600 x 10 + 100 x 20 per MTok
