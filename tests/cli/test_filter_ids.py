"""#17: a --customer/--feature/--model naming no stored id is a usage error (exit 2) in `report`, `events` and
`simulate` alike: with the closest stored ids ("did you mean 'acme'?") when some are close, else with how to list
them (`margindash report --by customer`), never "No events match." or "widen the period". The words come from one
place, core/suggest.py."""

from __future__ import annotations

import json

import pytest

from margindash_cli.core import suggest

CALLS = [
    {"timestamp": "2026-10-01T10:00:00Z", "customer_id": "umbrella", "feature": "agent", "vendor": "openai",
     "model": "gpt-4o", "input_tokens": 1000, "output_tokens": 50, "request_id": "r1"},
    {"timestamp": "2026-10-02T11:00:00Z", "customer_id": "globex", "feature": "search", "vendor": "anthropic",
     "model": "claude-3-5-sonnet-20241022", "input_tokens": 2000, "output_tokens": 80, "request_id": "r2"},
]  # fmt: skip


@pytest.fixture
def db(cli, tmp_path):
    log = tmp_path / "calls.jsonl"
    log.write_text("".join(json.dumps(c) + "\n" for c in CALLS))
    db = tmp_path / "s.db"
    assert cli("--db", db, "ingest", log).exit_code == 0
    revenue = tmp_path / "revenue.csv"
    revenue.write_text("customer_id,amount,date\ninitech,40.00,2026-10-15\n")  # revenue, and no call
    assert cli("--db", db, "revenue", "import", revenue).exit_code == 0
    return db


CLOSE = [
    (["report", "--customer", "umbrela"], "customer 'umbrela' (--customer)", "did you mean 'umbrella'?"),
    (["report", "--feature", "agnet"], "feature 'agnet' (--feature)", "did you mean 'agent'?"),
    (["report", "trend", "--by", "feature", "--customer", "umbrela"], "customer 'umbrela'", "did you mean 'umbrella'?"),
    (["events", "--customer", "umbrela"], "customer 'umbrela' (--customer)", "did you mean 'umbrella'?"),
    (["events", "--model", "gpt4o"], "model 'gpt4o' (--model)", "did you mean 'gpt-4o'?"),
    (["events", "--feature", "serch"], "feature 'serch' (--feature)", "did you mean 'search'?"),
    (["events", "--event-type", "serch", "--json"], "feature 'serch' (--feature)", "did you mean 'search'?"),
    (["events", "--customer", "globx", "--nl"], "customer 'globx' (--customer)", "did you mean 'globex'?"),
    (["simulate", "--event-type", "agnet"], "feature 'agnet' (--event-type)", "did you mean 'agent'?"),
]


@pytest.mark.parametrize(("args", "what", "hint"), CLOSE, ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_a_mistyped_id_names_the_closest_in_every_command(cli, db, args, what, hint):
    result = cli("--db", db, *args)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert "error: no stored call" in result.stderr and what in result.stderr, result.stderr
    assert f"hint: {hint}" in result.stderr
    assert result.stdout == ""  # not a table, nor the opening of a JSON array


NOTHING_CLOSE = [
    (["report", "--customer", "nobody"], "no stored call or revenue has customer 'nobody'", "customer"),
    (["report", "--model", "zzz-9"], "no stored call has model 'zzz-9'", "model"),
    (["events", "--customer", "nobody"], "no stored call or revenue has customer 'nobody'", "customer"),
    (["events", "--feature", "zzzz", "--json"], "no stored call has feature 'zzzz'", "feature"),
    (["simulate", "--feature", "zzzz"], "no stored call has feature 'zzzz' (--event-type)", "feature"),
]


@pytest.mark.parametrize(
    ("args", "message", "dim"), NOTHING_CLOSE, ids=lambda v: " ".join(v) if isinstance(v, list) else None
)
def test_an_id_stored_nowhere_says_so_and_how_to_list_the_ids(cli, db, args, message, dim):
    result = cli("--db", db, *args)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert f"error: {message}" in result.stderr
    assert f"hint: list the {dim}s with: margindash report --by {dim}" in result.stderr
    for wrong in ("widen the period", "No events match", "did you mean"):
        assert wrong not in result.stdout + result.stderr


def test_a_stored_id_with_nothing_in_the_range_is_not_a_typo(cli, db):
    result = cli("--db", db, "events", "--customer", "umbrella", "--since", "2026-11-01")
    assert result.exit_code == 0 and "No events match." in result.stdout
    result = cli("--db", db, "report", "--customer", "umbrella", "--since", "2026-11-01")
    assert result.exit_code == 0 and "widen the period" in result.stdout
    result = cli("--db", db, "simulate", "--event-type", "agent", "--since", "2026-11-01")
    assert result.exit_code == 1 and "no calls of feature 'agent' in" in result.stderr
    # a customer with revenue and no call is a stored id: its report has its revenue
    result = cli("--db", db, "report", "--customer", "initech", "--json")
    assert result.exit_code == 0, result.stderr
    assert [(r["group"]["customer"], r["revenue_usd"]) for r in json.loads(result.stdout)["rows"]] == [
        ("initech", "40.00")
    ]
    result = cli("--db", db, "events", "--customer", "initech")
    assert result.exit_code == 0 and "No events match." in result.stdout
    ok = cli("--db", db, "events", "--customer", "umbrella", "--model", "gpt-4o", "--feature", "agent", "--json")
    assert ok.exit_code == 0 and [e["request_id"] for e in json.loads(ok.stdout)] == ["r1"]


def test_the_pure_suggestion():
    known = {"acme", "acme-eu", "globex"}
    assert suggest.unknown_id_error("customer", "acme", known) is None
    error = suggest.unknown_id_error("customer", "acmee", known)
    assert error.exit_code == 2 and error.message == "no stored call or revenue has customer 'acmee' (--customer)"
    assert error.hint.startswith("did you mean 'acme'")
    error = suggest.unknown_id_error("model", "\x1b[31mx", set(), "--model")
    assert "\x1b" not in error.message and error.hint == "list the models with: margindash report --by model"
    names = {"customer": {1: "acme"}, "feature": {1: "chat"}, "model": {1: ("openai", "gpt-4o")}}
    assert suggest.stored_ids(names) == {"customer": {"acme"}, "feature": {"chat"}, "model": {"gpt-4o"}}
    with pytest.raises(Exception, match="feature 'chta' \\(--event-type\\)"):
        suggest.check_filter_ids(
            {"customer": None, "feature": "chta"}, suggest.stored_ids(names), {"feature": "--event-type"}
        )
