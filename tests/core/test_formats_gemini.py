"""Gemini generateContent `usageMetadata` -> canonical usage, on real responses (fixtures/gemini/)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from margindash_cli.errors import LineRejected
from margindash_cli.ingest.formats import gemini
from margindash_cli.ingest.formats.base import CANONICAL_FIELDS

FIXTURES = Path(__file__).parent.parent / "fixtures" / "gemini"


def load(name: str) -> dict:
    return orjson.loads((FIXTURES / name).read_bytes())


def test_cached_content_is_part_of_the_prompt():
    assert gemini.extract(load("gemini_generatecontent__cached_content.json")) == {
        "vendor": "google",
        "model": "gemini-2.5-flash",
        "input_tokens": 345,
        "output_tokens": 37,
        "cached_input_tokens": 230,
        "cache_write_tokens": 0,
        "cache_write_1h_tokens": 0,
        "reasoning_tokens": 0,
        "response_id": "1eqTaeaII_-UmtkP8-TlqAg",
    }


def test_thoughts_are_added_to_candidates_and_are_the_reasoning():
    assert gemini.extract(load("gemini_generatecontent__cached_content_and_thoughts.json")) == {
        "vendor": "google",
        "model": "gemini-2.5-flash",
        "input_tokens": 17713,
        "output_tokens": 68 + 821,
        "cached_input_tokens": 17379,
        "cache_write_tokens": 0,
        "cache_write_1h_tokens": 0,
        "reasoning_tokens": 821,
        # 1,917 AUDIO prompt tokens, 1,881 of them read from the cache: 36 bill at the audio input rate,
        # 1,881 at the cached-audio rate
        "input_audio_tokens": 1917 - 1881,
        "cached_audio_tokens": 1881,
        "response_id": "JiyGasHJHe-wjMcP4aqWmQg",
        "service_tier": "default",
    }


def test_thoughts_without_cache():
    assert gemini.extract(load("gemini_generatecontent__thoughts_tokens.json")) == {
        "vendor": "google",
        "model": "gemini-2.5-flash",
        "input_tokens": 9,
        "output_tokens": 9 + 34,
        "cached_input_tokens": 0,
        "cache_write_tokens": 0,
        "cache_write_1h_tokens": 0,
        "reasoning_tokens": 34,
        "response_id": "bzlXaa_EE_aHqtsPi_zw8Ao",
    }


def test_canonical_totals_match_total_token_count():
    for name in (
        "gemini_generatecontent__cached_content.json",
        "gemini_generatecontent__cached_content_and_thoughts.json",
        "gemini_generatecontent__thoughts_tokens.json",
    ):
        body = load(name)
        event = gemini.extract(body)
        assert event["input_tokens"] + event["output_tokens"] == body["usageMetadata"]["totalTokenCount"]


def test_tool_use_prompt_tokens_are_input():
    body = load("gemini_generatecontent__thoughts_tokens.json")
    body["usageMetadata"]["toolUsePromptTokenCount"] = 120
    assert gemini.extract(body)["input_tokens"] == 129


def test_vertex_create_time_is_the_timestamp():
    body = load("gemini_generatecontent__thoughts_tokens.json")
    body["createTime"] = "2025-06-01T10:00:00.123456Z"
    assert gemini.extract(body)["timestamp"] == "2025-06-01T10:00:00.123456Z"


def test_only_usage_metadata_leaves_the_format():
    event = gemini.extract(load("gemini_generatecontent__cached_content.json"))
    assert set(event) <= set(CANONICAL_FIELDS) | {"response_id"}
    assert "Lorem" not in repr(event)


def test_absent_usage_block_is_rejected():
    body = load("gemini_generatecontent__thoughts_tokens.json")
    body["usageMetadata"] = "none"
    with pytest.raises(LineRejected) as exc:
        gemini.extract(body)
    assert (exc.value.field, exc.value.reason) == ("usageMetadata", "no usage block")


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("promptTokenCount", "9"),
        ("candidatesTokenCount", -1),
        ("thoughtsTokenCount", 3.5),
        ("cachedContentTokenCount", True),
    ],
)
def test_bad_counts_are_rejected_naming_the_field(key, value):
    body = load("gemini_generatecontent__cached_content_and_thoughts.json")
    body["usageMetadata"][key] = value
    with pytest.raises(LineRejected) as exc:
        gemini.extract(body)
    assert exc.value.field == f"usageMetadata.{key}"


def test_matches():
    assert gemini.matches(load("gemini_generatecontent__cached_content.json"))
    assert not gemini.matches({"usage": {"prompt_tokens": 1}})
