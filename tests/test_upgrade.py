"""Upgrades: a store made by the first released schema (tests/fixtures/stores/v0_1.db, written by
make_v0_1_store.py) opens with today's code, migrates, and reads back the numbers it held. It keeps working
as migrations are added: it only opens, migrates and reads."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from invariants import rollup_mismatches
from sqlite_utils import Database

from margindash_cli.migrations import MIGRATIONS
from margindash_cli.store import Store

FIXTURE = Path(__file__).parent / "fixtures" / "stores" / "v0_1.db"
V0_1 = ["m001_initial", "m002_stripe", "m003_budgets"]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def old_store(tmp_path):
    copy = tmp_path / "old.db"
    shutil.copy(FIXTURE, copy)
    return copy


def test_the_fixture_is_the_first_released_schema():
    conn = sqlite3.connect(f"file:{FIXTURE}?mode=ro", uri=True)
    applied = [r[0] for r in conn.execute("SELECT name FROM _sqlite_migrations WHERE migration_set = 'margindash' ORDER BY id")]
    journal = conn.execute("PRAGMA journal_mode").fetchone()[0]
    conn.close()
    assert applied == V0_1  # regenerated with a later schema, it would test nothing
    assert journal == "delete" and FIXTURE.stat().st_size < 400_000


def schema(conn: sqlite3.Connection) -> list[tuple]:
    return conn.execute("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE '%sqlite_%' ORDER BY type, name").fetchall()


def test_the_first_three_migrations_still_create_the_fixture_schema():
    """Shipped migrations never change. (Before the first release this fails when one of them was edited:
    regenerate the fixture with make_v0_1_store.py then; after it, editing one is the bug.)"""
    names = [m.name for m in MIGRATIONS.pending(Database(memory=True))]
    fresh = Database(memory=True)
    MIGRATIONS.apply(fresh, stop_before=names[3]) if len(names) > 3 else MIGRATIONS.apply(fresh)
    conn = sqlite3.connect(f"file:{FIXTURE}?mode=ro", uri=True)
    assert schema(fresh.conn) == schema(conn)
    conn.close()


def test_an_old_store_migrates_and_reads_back_its_numbers(cli, old_store, monkeypatch):
    before = digest(FIXTURE)
    with Store.open(old_store) as store:  # opening migrates
        assert MIGRATIONS.pending(Database(store.conn)) == []
        applied = store.applied_migrations()
        assert applied[:3] == V0_1 and len(applied) == len(MIGRATIONS.pending(Database(memory=True)))
        assert rollup_mismatches(store.conn) == []

    result = cli("--db", old_store, "report", "--json", "--by", "customer")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert {k: data["totals"][k] for k in ("events", "input_tokens", "output_tokens", "cost_usd", "revenue_usd", "unpriced_events")} == {
        "events": 300, "input_tokens": 1959450, "output_tokens": 41037, "cost_usd": "3.548845", "revenue_usd": "935.95",
        "unpriced_events": 120}  # fmt: skip
    rows = {r["group"]["customer"]: (r["cost_usd"], r["revenue_usd"], r["events"]) for r in data["rows"]}
    assert rows == {"acme": ("1.59751", "812.50", 100), "globex": ("1.951335", "123.45", 100), "initech": ("0", "0.00", 100)}
    assert data["unconverted_revenue"] == {"eur": 9000} and data["unpriced"]["models"] == ["custom/in-house-llm"]

    by_day = json.loads(cli("--db", old_store, "report", "--json", "--by", "day", "--period", "2026-09", "--tz", "Europe/Paris").stdout)
    # read from the events in a zone (no call falls in the two hours Paris's September starts early or ends early)
    assert (len(by_day["rows"]), by_day["totals"]["events"], by_day["totals"]["cost_usd"], by_day["totals"]["revenue_usd"]) == (
        30, 300, "3.548845", "935.95")  # fmt: skip

    events = json.loads(cli("--db", old_store, "events", "--json", "--limit", "0").stdout)
    assert len(events) == 300 and sum(e["cost_usd"] is None for e in events) == 120

    monkeypatch.setenv("MARGINDASH_NOW", "2026-09-20T00:00:00Z")
    budgets = json.loads(cli("--db", old_store, "budget", "list", "--json").stdout)["budgets"]
    assert [(b["name"], b["scope"], b["spend_usd"], b["limit_usd"], b["level"], b["emails"]) for b in budgets] == [
        ("acme-monthly", "customer:acme", "1.59751", "500", "ok", ["ops@example.com"])]  # fmt: skip
    customers = json.loads(cli("--db", old_store, "customers", "list", "--json").stdout)["customers"]
    assert [(c["customer_id"], c["stripe_revenue_usd"], c["segment"]) for c in customers] == [("acme", "300.00", "enterprise")]
    assert digest(FIXTURE) == before  # only the copy was touched


def test_calls_ingested_after_the_upgrade_dedupe_against_the_old_ones(cli, old_store, tmp_path):
    log = tmp_path / "after.jsonl"
    old = {"timestamp": "2026-10-05T00:00:00Z", "customer_id": "acme", "vendor": "openai", "model": "gpt-4o",
           "input_tokens": 1000, "output_tokens": 100}  # fmt: skip
    log.write_text(json.dumps(dict(old, request_id="req-v01-1")) + "\n" + json.dumps(dict(old, request_id="after-1")) + "\n")
    result = cli("--db", old_store, "ingest", log, "--json")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["events_stored"], summary["duplicates_skipped"]) == (1, 1)  # v0.1's keys are today's keys
    totals = json.loads(cli("--db", old_store, "report", "--json").stdout)["totals"]
    assert totals["events"] == 301 and totals["cost_usd"] == "3.552345"  # + 1000 x $2.50/M + 100 x $10/M = 0.0035
    doctor = json.loads(cli("--db", old_store, "doctor", "--json", "--price-max-age-days", "100000").stdout)
    assert {c["name"]: c["status"] for c in doctor["checks"]}["rollups"] == "ok"
