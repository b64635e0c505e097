"""Provider-reported cost (#14): OpenRouter `usage.cost`, xAI `usage.cost_in_usd_ticks`, LiteLLM `response_cost`
read exactly into `reported_cost_usd`; `--cost-source` decides which cost is stored; `prices drift` lists the
models whose computed and reported costs differ by more than 1%."""

from __future__ import annotations

import json

import pytest

from margindash_cli.errors import LineRejected
from margindash_cli.ingest import canonical
from margindash_cli.ingest.formats import openai


def body(model, cost=None, ticks=None, prompt=1000, completion=100):
    usage = {"prompt_tokens": prompt, "completion_tokens": completion}
    if cost is not None:
        usage["cost"] = cost
    if ticks is not None:
        usage["cost_in_usd_ticks"] = ticks
    return {"id": f"r-{model}-{cost}-{ticks}", "object": "chat.completion", "model": model, "usage": usage}


def test_xai_ticks_are_read_exactly():
    assert openai.extract(body("grok-4", ticks=37_500_000))["cost_usd"] == "0.00375"
    assert openai.extract(body("grok-4", ticks=1))["cost_usd"] == "0.0000000001"  # 1 tick = 1e-10 USD, no float
    assert openai.extract(body("grok-4", ticks=123_456_789_012_345))["cost_usd"] == "12345.6789012345"
    [ev] = canonical.normalize({"timestamp": "2026-11-16T12:00:00Z", "response": body("grok-4", ticks=45_000_000)})
    assert ev.reported_cost == "0.0045" and ev.extra_cost is None
    for bad in (-1, 1.5, "12", True):
        with pytest.raises(LineRejected) as exc:
            openai.extract(body("grok-4", ticks=bad))
        assert exc.value.field == "usage.cost_in_usd_ticks"


def test_openrouter_cost_is_read_exactly_and_wins_over_ticks():
    assert openai.extract(body("openai/gpt-4o", cost=0.00022500000000000002))["cost_usd"] == "0.00022500000000000002"
    assert openai.extract(body("x-ai/grok-4", cost="0.5", ticks=1))["cost_usd"] == "0.5"


def lines(tmp_path, events):
    log = tmp_path / "calls.jsonl"
    log.write_text(
        "".join(
            json.dumps({"timestamp": "2026-11-16T12:00:00Z", "request_id": b["id"], "response": b}) + "\n"
            for b in events
        )
    )
    return log


def test_prices_drift_lists_models_past_the_threshold(cli, tmp_path):
    # gpt-4o is $2.50/$10: 1,000 in + 100 out = $0.0035. One call reported right, one at $0.0099.
    # grok-4 is $3/$15: $0.0045, reported right in ticks. grok-4 again at 1% off: $0.004545 is exactly 1%: not listed.
    log = lines(
        tmp_path,
        [
            body("openai/gpt-4o", cost=0.0035),
            body("openai/gpt-4o", cost=0.0099),
            body("grok-4", ticks=45_000_000),
            body("grok-4", ticks=45_450_000, prompt=1000, completion=100),
        ],
    )
    db = tmp_path / "s.db"
    assert cli("--db", db, "ingest", log).exit_code == 0
    data = json.loads(cli("--db", db, "prices", "drift", "--json").stdout)
    assert data["threshold_pct"] == "1" and data["drifting"] == 1
    gpt, grok = data["models"]
    assert (
        gpt["model"],
        gpt["calls"],
        gpt["computed_usd"],
        gpt["reported_usd"],
        gpt["difference_usd"],
        gpt["drifting"],
    ) == ("openai/gpt-4o", 2, "0.007", "0.0134", "-0.0064", True)
    assert gpt["worst_call"] == {"file": str(log), "line": 2, "difference_pct": "64.65"}
    assert (grok["model"], grok["computed_usd"], grok["reported_usd"], grok["drifting"]) == (
        "grok-4",
        "0.009",
        "0.009045",
        False,
    )
    out = cli("--db", db, "prices", "drift").stdout
    assert "openai/gpt-4o" in out and "grok-4" not in out and "-$0.0064" in out
    assert "grok-4" in cli("--db", db, "prices", "drift", "--all").stdout
    tight = json.loads(cli("--db", db, "prices", "drift", "--threshold", "0.1", "--json").stdout)
    assert tight["drifting"] == 2
    bad = cli("--db", db, "prices", "drift", "--threshold", "lots")
    assert bad.exit_code != 0 and "--threshold" in bad.stderr


def test_drift_uses_computed_cost_whatever_cost_source_stored_and_counts_unpriced_apart(cli, tmp_path):
    log = lines(tmp_path, [body("openai/gpt-4o", cost=0.0099), body("acme-9000", cost=0.01)])
    db = tmp_path / "s.db"
    assert cli("--db", db, "ingest", log, "--cost-source", "reported").exit_code == 0
    stored = {r["model"]: r["cost_usd"] for r in json.loads(cli("--db", db, "events", "--json").stdout)}
    assert stored == {"openai/gpt-4o": "0.0099", "acme-9000": "0.01"}  # --cost-source reported keeps theirs
    data = json.loads(cli("--db", db, "prices", "drift", "--json").stdout)
    by = {r["model"]: r for r in data["models"]}
    assert by["openai/gpt-4o"]["computed_usd"] == "0.0035" and by["openai/gpt-4o"]["drifting"]
    assert (by["acme-9000"]["unpriced_calls"], by["acme-9000"]["computed_usd"], by["acme-9000"]["drifting"]) == (
        1,
        "0",
        False,
    )


def test_drift_with_no_reported_costs_says_so(cli, tmp_path):
    log = tmp_path / "plain.jsonl"
    log.write_text('{"timestamp": "2026-11-16T12:00:00Z", "model": "gpt-4o", "vendor": "openai", "input_tokens": 5}\n')
    db = tmp_path / "s.db"
    assert cli("--db", db, "ingest", log).exit_code == 0
    assert "No stored call carries a reported cost" in cli("--db", db, "prices", "drift").stdout
