"""#17: a token price needs both rates (`prices set` refuses one alone, `--output 0` is explicit), `prices unpriced`
prints the exact command for each model, and `ingest` ends with one line when calls it stored have no price."""

from __future__ import annotations

import json

import pytest


def event(rid, model, *, vendor="acme", day="2026-10-01"):
    return {
        "timestamp": f"{day}T10:00:00Z",
        "request_id": rid,
        "customer_id": "c1",
        "vendor": vendor,
        "model": model,
        "input_tokens": 1000,
        "output_tokens": 100,
    }


def write(path, events):
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return path


@pytest.mark.parametrize(
    ("args", "missing"),
    [
        (["--input", "1"], "--output"),
        (["--output", "2"], "--input"),
        (["--cache-read", "0.1"], "--input and --output"),
    ],
)
def test_prices_set_refuses_a_token_price_with_one_rate(cli, args, missing):
    r = cli("prices", "set", "acme/model", *args)
    assert r.exit_code == 2
    first, hint = r.stderr.splitlines()[:2]
    assert first == f"error: {missing} not given: a token price needs both --input and --output"
    assert hint.startswith("hint: pass --") and " 0 if the model really bills nothing" in hint


def test_an_explicit_zero_rate_is_a_price(cli, tmp_path):
    assert cli("ingest", write(tmp_path / "a.jsonl", [event("r1", "free-out")])).exit_code == 0
    r = cli("prices", "set", "acme/free-out", "--input", "2", "--output", "0", "--json")
    assert r.exit_code == 0, r.stderr
    cost = json.loads(cli("events", "--json").stdout)[0]["cost_usd"]
    assert cost.startswith("0.002")  # 1,000 input tokens at $2/MTok, output free


def test_per_request_prices_need_no_token_rates(cli):
    assert cli("prices", "set", "acme/vector-db", "--per-request", "0.001").exit_code == 0


def test_prices_unpriced_prints_the_exact_command_for_each_model(cli, tmp_path):
    log = write(
        tmp_path / "a.jsonl",
        [event("r1", "m-one"), event("r2", "m-one"), event("r3", "m two", vendor="my co")],
    )
    cli("ingest", log)
    out = cli("prices", "unpriced").stdout
    assert "  margindash prices set acme/m-one --input RATE --output RATE" in out
    assert "  margindash prices set 'my co/m two' --input RATE --output RATE" in out  # quoted for the shell
    assert out.index("acme/m-one") < out.index("my co/m two")  # the most calls first


def test_ingest_ends_with_one_line_naming_the_unpriced_calls_of_this_run(cli, tmp_path):
    first = cli("ingest", write(tmp_path / "a.jsonl", [event("r1", "m-one"), event("r2", "m-one")]))
    assert first.exit_code == 0
    assert "2 call(s) of 1 model(s) have no price: margindash prices unpriced" in first.stderr
    # the next run stores one more unpriced call of another model and a priced one: only its own calls count
    second = cli(
        "ingest",
        write(
            tmp_path / "b.jsonl",
            [event("r3", "m-two"), event("r4", "gpt-4o", vendor="openai"), event("r1", "m-one")],
        ),
        "--json",
    )
    summary = json.loads(second.stdout)
    assert (summary["unpriced_calls"], summary["unpriced_models"]) == (1, 1)
    assert "1 call(s) of 1 model(s) have no price" in second.stderr
    # a run that stores only priced calls (or nothing new) says nothing about prices
    third = cli("ingest", write(tmp_path / "c.jsonl", [event("r5", "gpt-4o", vendor="openai")]))
    assert "no price" not in third.stderr
    assert "no price" not in cli("ingest", tmp_path / "a.jsonl").stderr
