"""`margindash doctor`: each check, its level, and the exit code cron alerts on (0 ok, 3 needs attention, 1 damaged)."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime

import pytest

from margindash_cli.doctor.run import run_checks
from margindash_cli.store.db import Store

FRESH = ("--price-max-age-days", "100000")  # the shipped catalog ages with the calendar: keep these tests timeless


def ev(i, model="gpt-4o-2024-08-06", **kw):
    return {
        "timestamp": f"2026-10-{1 + i % 28:02d}T10:00:00Z",
        "customer_id": f"c{i % 3}",
        "event_type": "chat",
        "vendor": "openai",
        "model": model,
        "input_tokens": 100 + i,
        "output_tokens": 10,
        "request_id": f"r{i}",
        **kw,
    }


@pytest.fixture
def store_with_calls(cli, tmp_path, _isolated_home):
    log = tmp_path / "usage.jsonl"
    log.write_text("".join(json.dumps(ev(i)) + "\n" for i in range(50)))
    assert cli("ingest", log).exit_code == 0
    return _isolated_home / "margindash.db", log


def doctor(cli, *args):
    result = cli("doctor", "--json", *FRESH, *args)
    data = json.loads(result.stdout)
    assert data["exit_code"] == result.exit_code
    return result.exit_code, {c["name"]: c for c in data["checks"]}


def test_a_healthy_store_exits_0(cli, store_with_calls):
    code, checks = doctor(cli)
    assert code == 0
    assert {n: c["status"] for n, c in checks.items()} == {
        "integrity": "ok",
        "rollups": "ok",
        "unpriced": "ok",
        "prices": "ok",
        "stripe": "info",
        "costs": "info",
        "alerts": "ok",
        "checkpoints": "info",
        "schema": "ok",
    }
    assert checks["checkpoints"]["details"][0]["state"] == "read to the end"
    assert checks["schema"]["details"][0] == {"migration": "m001_initial"}
    code, checks = doctor(cli, "--full")
    assert code == 0 and checks["integrity"]["summary"] == "integrity_check: ok"
    text = cli("doctor", *FRESH)
    assert text.exit_code == 0 and "all good (exit 0)" in text.stdout and "quick_check: ok" in text.stdout


def test_unpriced_models_need_attention(cli, tmp_path, store_with_calls):
    log = tmp_path / "more.jsonl"
    log.write_text(json.dumps(ev(99, model="in-house-llm-v2")) + "\n")
    assert cli("ingest", log).exit_code == 0
    code, checks = doctor(cli)
    assert code == 3 and checks["unpriced"]["status"] == "warn"
    assert checks["unpriced"]["details"] == [
        {"vendor": "openai", "model": "in-house-llm-v2", "calls": 1, "input_tokens": 199, "output_tokens": 10}
    ]
    text = cli("doctor", *FRESH)
    assert text.exit_code == 3 and "needs attention (exit 3)" in text.stdout and "model=in-house-llm-v2" in text.stdout


def test_rollups_that_differ_from_the_events_fail(cli, store_with_calls):
    db, _ = store_with_calls
    with sqlite3.connect(db) as conn:
        conn.execute(
            "UPDATE rollup_daily SET cost = cost + 1 WHERE (day, customer, feature, model, segment) ="
            " (SELECT day, customer, feature, model, segment FROM rollup_daily ORDER BY 1, 2, 3, 4, 5 LIMIT 1)"
        )
        day = conn.execute("SELECT min(day) FROM rollup_daily").fetchone()[0]
        conn.execute("DELETE FROM rollup_daily WHERE day = ?", (day + 1,))
    code, checks = doctor(cli)
    assert code == 1 and checks["rollups"]["status"] == "fail"
    # the changed cell and the day's two missing ones, each also as its (day, customer) cell of the per-customer
    # rollup, which no longer equals rollup_daily summed per customer and day: 3 + 3
    assert checks["rollups"]["summary"].startswith("6 rollup cell(s) differ")
    details = checks["rollups"]["details"]
    assert {d["day"] for d in details} <= {"2026-10-01", "2026-10-02"}
    full = [(d["day"], d["customer"], d["feature"], d["model"]) for d in details if d["rollup"] == "rollup_daily"]
    per_customer = [(d["day"], d["customer"]) for d in details if d["rollup"] == "rollup_customer_daily"]
    assert all("model" not in d for d in details if d["rollup"] == "rollup_customer_daily")
    assert full[0] == ("2026-10-01", "c0", "chat", "openai/gpt-4o-2024-08-06")  # the changed cell
    assert ("2026-10-02", "c1", "chat", "openai/gpt-4o-2024-08-06") in full  # a deleted one
    assert per_customer[:2] == [("2026-10-01", "c0"), ("2026-10-02", "c1")]


def test_a_per_customer_rollup_that_differs_fails(cli, store_with_calls):
    db, _ = store_with_calls
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM rollup_customer_daily").fetchone()[0] > 0
        conn.execute(
            "UPDATE rollup_customer_daily SET events = events + 1 WHERE (customer, day) ="
            " (SELECT customer, day FROM rollup_customer_daily ORDER BY day, customer LIMIT 1)"
        )
    code, checks = doctor(cli)
    assert code == 1 and checks["rollups"]["status"] == "fail"
    assert checks["rollups"]["summary"].startswith("1 rollup cell(s) differ")
    assert [(d["day"], d["customer"], d["rollup"]) for d in checks["rollups"]["details"]] == [
        ("2026-10-01", "c0", "rollup_customer_daily")
    ]


def test_checkpoints_show_unread_and_vanished_files(cli, tmp_path, store_with_calls):
    _, log = store_with_calls
    with open(log, "a") as fh:
        fh.write(json.dumps(ev(200)) + "\n")
    code, checks = doctor(cli)
    assert code == 0 and checks["checkpoints"]["details"][0]["state"].endswith("byte(s) not read yet")
    log.unlink()
    code, checks = doctor(cli)
    assert code == 0 and checks["checkpoints"]["details"][0]["state"] == "file gone (rotated away or moved)"


def test_stale_prices_stale_stripe_and_undelivered_alerts_need_attention(cli, store_with_calls):
    db, _ = store_with_calls
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO meta (key, value) VALUES ('last_price_sync', '2031-01-01T00:00:00+00:00')")
        conn.execute(
            "INSERT INTO stripe_cursors (object, created_gte, synced_at) VALUES ('invoices', 0, '2031-01-14T00:00:00+00:00')"
        )
        conn.execute(
            "INSERT INTO budget_alerts (budget, level, period_start, channel, state, claimed_at, attempts, last_error)"
            " VALUES ('org', 'exceeded', 0, 'email', 'failed', 0, 2, 'email via smtp://mail:587: cannot connect')"
        )
    with Store.open(db) as store:
        fine = run_checks(store, now=datetime(2031, 1, 15, tzinfo=UTC))
        late = run_checks(store, now=datetime(2031, 6, 1, tzinfo=UTC), price_max_age_days=30, stripe_max_age_hours=48)
    fine_checks = {c.name: c for c in fine.checks}
    assert fine_checks["prices"].status == "ok" and fine_checks["prices"].summary.startswith(
        "prices as of 2031-01-01 (sync-prices)"
    )
    assert fine_checks["stripe"].status == "ok" and fine.exit_code == 3  # the failed alert
    assert fine_checks["alerts"].details == [
        {
            "budget": "org",
            "level": "exceeded",
            "channel": "email",
            "state": "failed",
            "attempts": 2,
            "error": "email via smtp://mail:587: cannot connect",
        }
    ]
    late_checks = {c.name: c for c in late.checks}
    assert late_checks["prices"].status == "warn" and "older than 30 days" in late_checks["prices"].summary
    assert late_checks["stripe"].status == "warn" and "older than 48 hours" in late_checks["stripe"].summary


def test_no_store_is_an_error(cli):
    result = cli("doctor")
    assert result.exit_code == 1 and result.stderr.startswith("error: no store at")


def test_costs_reports_the_last_sync_and_days_off_the_bill(cli, store_with_calls, tmp_path):
    """#18: the last costs import per source, and recent provider days whose gap is over the tolerance."""
    from pathlib import Path

    cur = Path(__file__).parent.parent / "fixtures" / "reconcile" / "cur_bedrock_sample.csv"
    assert cli("costs", "import", cur).exit_code == 0
    code, checks = doctor(cli)
    costs = checks["costs"]
    assert (
        costs["details"][0]["source"] == "cur:cur_bedrock_sample.csv" and costs["details"][0]["through"] == "2026-07-14"
    )
    # the CUR's day (2026-07-14) has no logged Bedrock call: 100% off the bill, but long past: history, not a warning
    assert costs["status"] == "ok"


def test_costs_warns_on_a_recent_day_off_the_bill(cli, store_with_calls, tmp_path):
    from datetime import datetime, timedelta
    from pathlib import Path

    day = (datetime.now(UTC) - timedelta(days=2)).date()
    text = (Path(__file__).parent.parent / "fixtures" / "reconcile" / "cur_bedrock_sample.csv").read_text()
    recent = tmp_path / "cur-recent.csv"
    recent.write_text(
        text.replace("2026-07-14", day.isoformat()).replace("2026-07-15", (day + timedelta(days=1)).isoformat())
    )
    assert cli("costs", "import", recent).exit_code == 0
    code, checks = doctor(cli)
    assert code == 3 and checks["costs"]["status"] == "warn"
    assert {"provider": "aws", "day": day.isoformat(), "gap_pct": "100.00"} in checks["costs"]["details"]


def test_checkpoints_print_one_line_per_file_and_every_field_only_with_verbose(cli, store_with_calls):
    _, log = store_with_calls
    result = cli("doctor", *FRESH)
    lines = [ln for ln in result.stdout.splitlines() if ln.lstrip().startswith("checkpoints:")]
    assert lines == [f"  checkpoints: {log}: read to the end, 50 line(s) read"]
    assert "identity=" not in result.stdout and "offset=" not in result.stdout
    verbose = cli("doctor", *FRESH, "--verbose")
    assert verbose.exit_code == 0 and "identity=" in verbose.stdout and "offset=" in verbose.stdout
