"""Upgrades: a store made by the first released schema (tests/fixtures/stores/v0_1.db, written by
make_v0_1_store.py) opens with today's code, migrates, and reads back the numbers it held. It keeps working
as migrations are added: it only opens, migrates and reads."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest
from invariants import key_problems, rollup_mismatches
from sqlite_utils import Database

from margindash_cli.store.db import Store
from margindash_cli.store.migrations import MIGRATIONS

FIXTURE = Path(__file__).parent.parent / "fixtures" / "stores" / "v0_1.db"
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
    applied = [
        r[0] for r in conn.execute("SELECT name FROM _sqlite_migrations WHERE migration_set = 'margindash' ORDER BY id")
    ]
    journal = conn.execute("PRAGMA journal_mode").fetchone()[0]
    conn.close()
    assert applied == V0_1  # regenerated with a later schema, it would test nothing
    assert journal == "delete" and FIXTURE.stat().st_size < 400_000


def schema(conn: sqlite3.Connection) -> list[tuple]:
    return conn.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE '%sqlite_%' ORDER BY type, name"
    ).fetchall()


def test_the_first_three_migrations_still_create_the_fixture_schema():
    """Shipped migrations never change. (Before the first release this fails when one of them was edited:
    regenerate the fixture with make_v0_1_store.py then; after it, editing one is the bug.)"""
    names = [m.name for m in MIGRATIONS.pending(Database(memory=True))]
    fresh = Database(memory=True)
    MIGRATIONS.apply(fresh, stop_before=names[3]) if len(names) > 3 else MIGRATIONS.apply(fresh)
    conn = sqlite3.connect(f"file:{FIXTURE}?mode=ro", uri=True)
    assert schema(fresh.conn) == schema(conn)
    conn.close()


# Every field of a v0.1 event (its `events` columns), and what m004 made of it: the same fields under the same
# names in the `events_wide` view, the id unchanged, the key in `event_keys`. units and tags are JSON text
# (compared as JSON: m004 re-serializes them without spaces).
OLD_FIELDS = (
    "id",
    "ts",
    "customer",
    "feature",
    "model",
    "segment",
    "input_tokens",
    "output_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "reasoning_tokens",
    "service_tier",
    "revenue_minor",
    "currency",
    "extra_cost",
    "reported_cost",
    "units",
    "tags",
    "cost",
    "price_id",
    "source",
    "line",
)
OLD_COLUMNS = ("key", "request_id", *OLD_FIELDS)


def as_read(row: tuple) -> tuple:
    """A row of OLD_FIELDS with units and tags parsed (None stays None)."""
    return tuple(
        json.loads(v) if name in ("units", "tags") and v is not None else v for name, v in zip(OLD_FIELDS, row)
    )


def old_events(path: Path) -> dict[int, tuple]:
    """{key: (request_id, fields)} of a store still at the v0.1 schema, read in plain SQL."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {r[0]: (r[1], as_read(r[2:])) for r in conn.execute(f"SELECT {', '.join(OLD_COLUMNS)} FROM events")}
    finally:
        conn.close()


def migrated_events(conn: sqlite3.Connection) -> dict[int, tuple]:
    """{key: fields} of a migrated store, through `event_keys` and `events_wide`."""
    cols = ", ".join("e." + c for c in OLD_FIELDS)
    return {
        r[0]: as_read(r[1:])
        for r in conn.execute(f"SELECT k.key, {cols} FROM event_keys k JOIN events_wide e ON e.id = k.id")
    }


def test_an_old_store_migrates_and_reads_back_its_numbers(cli, old_store, monkeypatch):
    before = digest(FIXTURE)
    old = old_events(old_store)
    assert len(old) == 300 and sum(rid is not None for rid, _ in old.values()) == 240
    with Store.open(old_store) as store:  # opening migrates
        assert MIGRATIONS.pending(Database(store.conn)) == []
        applied = store.health.applied_migrations()
        assert applied[:3] == V0_1 and len(applied) == len(MIGRATIONS.pending(Database(memory=True)))
        assert rollup_mismatches(store.conn) == []  # the per-customer rollup m004 built too
        assert key_problems(store.conn) == []  # one key per event, and the zone map covers every event
        # every call kept, field for field, under its id and key
        assert migrated_events(store.conn) == {k: fields for k, (_, fields) in old.items()}
        # a call is still found by its request id, though the id's text is gone
        with_id = [(rid, fields[0]) for rid, fields in old.values() if rid is not None]
        assert [(rid, [r["id"] for r in store.events.list_events(request_id=rid)]) for rid, _ in with_id] == [
            (rid, [i]) for rid, i in with_id
        ]
        columns = {r[1] for r in store.conn.execute("PRAGMA table_info(events)")}
        assert "key" not in columns and "extra" in columns
        # m005 stores request ids as text again: the calls m004 migrated have none (their text was not kept)
        assert {"request_id", "response_id"} <= columns
        assert store.conn.execute(
            "SELECT count(*) FROM events WHERE request_id IS NOT NULL OR response_id IS NOT NULL"
        ).fetchone() == (0,)
        assert store.events.request_id_text_from() == 301  # the first call stored after m005

    result = cli("--db", old_store, "report", "--json", "--by", "customer")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert {
        k: data["totals"][k]
        for k in ("events", "input_tokens", "output_tokens", "cost_usd", "revenue_usd", "unpriced_events")
    } == {
        "events": 300,
        "input_tokens": 1959450,
        "output_tokens": 41037,
        "cost_usd": "3.548845000000",
        "revenue_usd": "935.95",
        "unpriced_events": 120,
    }
    rows = {r["group"]["customer"]: (r["cost_usd"], r["revenue_usd"], r["events"]) for r in data["rows"]}
    # initech's calls are all unpriced: its cost is unknown (null), never 0
    assert rows == {
        "acme": ("1.597510000000", "812.50", 100),
        "globex": ("1.951335000000", "123.45", 100),
        "initech": (None, "0.00", 100),
    }
    assert data["unconverted_revenue"] == {"eur": 9000} and data["unpriced"]["models"] == ["custom/in-house-llm"]

    by_day = json.loads(
        cli("--db", old_store, "report", "--json", "--by", "day", "--period", "2026-09", "--tz", "Europe/Paris").stdout
    )
    # read from the events in a zone (no call falls in the two hours Paris's September starts early or ends early)
    assert (
        len(by_day["rows"]),
        by_day["totals"]["events"],
        by_day["totals"]["cost_usd"],
        by_day["totals"]["revenue_usd"],
    ) == (30, 300, "3.548845000000", "935.95")

    events = json.loads(cli("--db", old_store, "events", "--json", "--limit", "0").stdout)
    assert len(events) == 300 and sum(e["cost_usd"] is None for e in events) == 120
    rid, fields = next(v for v in old.values() if v[0] is not None and v[1][OLD_FIELDS.index("cost")] is not None)
    explained = json.loads(cli("--db", old_store, "events", "--explain", rid, "--json").stdout)
    assert (
        explained["request_id"] == rid
        and Decimal(explained["stored_cost_usd"]) == Decimal(fields[OLD_FIELDS.index("cost")]) / 10**12
    )

    monkeypatch.setenv("MARGINDASH_NOW", "2026-09-20T00:00:00Z")
    budgets = json.loads(cli("--db", old_store, "budget", "list", "--json").stdout)["budgets"]
    assert [(b["name"], b["scope"], b["spend_usd"], b["limit_usd"], b["level"], b["emails"]) for b in budgets] == [
        ("acme-monthly", "customer:acme", "1.59751", "500", "ok", ["ops@example.com"])
    ]
    customers = json.loads(cli("--db", old_store, "customers", "list", "--json").stdout)["customers"]
    assert [(c["customer_id"], c["stripe_revenue_usd"], c["segment"]) for c in customers] == [
        ("acme", "300.00", "enterprise")
    ]
    assert digest(FIXTURE) == before  # only the copy was touched


def test_calls_ingested_after_the_upgrade_dedupe_against_the_old_ones(cli, old_store, tmp_path):
    log = tmp_path / "after.jsonl"
    old = {
        "timestamp": "2026-10-05T00:00:00Z",
        "customer_id": "acme",
        "vendor": "openai",
        "model": "gpt-4o",
        "input_tokens": 1000,
        "output_tokens": 100,
    }
    log.write_text(
        json.dumps(dict(old, request_id="req-v01-1")) + "\n" + json.dumps(dict(old, request_id="after-1")) + "\n"
    )
    result = cli("--db", old_store, "ingest", log, "--json")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["events_stored"], summary["duplicates_skipped"]) == (1, 1)  # v0.1's keys are today's keys
    totals = json.loads(cli("--db", old_store, "report", "--json").stdout)["totals"]
    assert totals["events"] == 301 and totals["cost_usd"] == "3.552345000000"  # + 1000 x $2.50/M + 100 x $10/M = 0.0035
    doctor = json.loads(cli("--db", old_store, "doctor", "--json", "--price-max-age-days", "100000").stdout)
    assert {c["name"]: c["status"] for c in doctor["checks"]}["rollups"] == "ok"


# ---- m004 on the rare fields (the v0.1 fixture has few of them) ------------------------------------------

RARE = [  # v0.1 `events` rows (OLD_COLUMNS) with every rare field set, at the edges of what it could hold
    (
        11,
        "a",
        1,
        1788220800000,
        0,
        0,
        1,
        0,
        10,
        5,
        1,
        2,
        1,
        3,
        "batch",
        0,
        "usd",
        0,
        "0.0042",
        '{"images": 2, "seconds": "1.5"}',
        '{"plan": "pro", "n": 3, "b": true}',
        123,
        None,
        None,
        1,
    ),
    (
        12,
        None,
        2,
        1788220800001,
        0,
        0,
        1,
        0,
        10,
        5,
        0,
        0,
        0,
        0,
        "flex",
        -250,
        "eur",
        2**63 - 1,
        "1e-30",
        None,
        None,
        None,
        None,
        None,
        2,
    ),
    (
        13,
        "c",
        3,
        1788220800002,
        0,
        0,
        1,
        0,
        10,
        5,
        0,
        0,
        0,
        0,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        5,
        None,
        None,
        3,
    ),
]


def m003_store(path: Path, rows: list[tuple]) -> None:
    """A store at the v0.1 schema (m001..m003, as the test above proves they still create it) holding `rows`."""
    db = Database(path)
    MIGRATIONS.apply(db, stop_before="m004_compact_events")
    db.conn.execute("INSERT INTO models (id, vendor, model) VALUES (1, 'openai', 'gpt-4o')")
    db.conn.executemany(
        f"INSERT INTO events ({', '.join(OLD_COLUMNS)}) VALUES ({', '.join('?' * len(OLD_COLUMNS))})", rows
    )
    db.conn.commit()
    db.conn.close()


def test_m004_keeps_every_rare_field_of_an_old_event(tmp_path):
    path = tmp_path / "rare.db"
    m003_store(path, RARE)
    old = old_events(path)
    with Store.open(path) as store:
        assert "m004_compact_events" in store.health.applied_migrations()  # later migrations (m005+) follow it
        assert migrated_events(store.conn) == {k: fields for k, (_, fields) in old.items()}
        extra = dict(store.conn.execute("SELECT id, extra FROM events"))
        assert extra[3] is None  # a call with none of the rare fields stores none
        assert json.loads(extra[1])["reported_cost"] == "0.0042" and "cache_write_1h_tokens" not in json.loads(extra[2])


def test_m004_keeps_tags_whose_value_is_null(tmp_path):
    row = list(RARE[2])
    row[OLD_COLUMNS.index("tags")] = '{"team": null, "plan": "pro"}'
    m003_store(tmp_path / "nulltag.db", [tuple(row)])
    with Store.open(tmp_path / "nulltag.db") as store:
        tags = store.conn.execute("SELECT tags FROM events_wide").fetchone()[0]
    assert json.loads(tags) == {"team": None, "plan": "pro"}


def test_a_store_knows_its_newest_migration_without_sqlite_utils(tmp_path):
    """Opening a current store checks one row instead of importing sqlite-utils (~45 ms of every command); the
    name it checks is the newest migration's."""
    import subprocess
    import sys

    from margindash_cli.store import schema as store_module
    from margindash_cli.store.migrations import MIGRATIONS

    assert store_module.MIGRATION_NAMES == tuple(m.name for m in MIGRATIONS._migrations)
    assert store_module.LATEST_MIGRATION == store_module.MIGRATION_NAMES[-1]
    db = tmp_path / "s.db"
    code = (
        "import sys; from margindash_cli.store.db import Store; s = Store.open(sys.argv[1]); "
        "print('sqlite_utils' in sys.modules, s.health.applied_migrations()[-1] if 'sqlite_utils' in sys.modules else '')"
    )
    first = subprocess.run(
        [sys.executable, "-c", code, str(db)], capture_output=True, text=True, check=True
    ).stdout.split()
    assert first == ["True", store_module.LATEST_MIGRATION]  # a new store: migrated
    again = subprocess.run(
        [sys.executable, "-c", code, str(db)], capture_output=True, text=True, check=True
    ).stdout.split()
    assert again == ["False"]  # current: no sqlite-utils


def test_m006_adds_audio_and_image_tokens_to_events_wide_as_zero_for_old_calls(tmp_path):
    """#14: a store at m004 (old calls, no audio) gains the media token columns in `events_wide`, all zero; the
    migration extends the view it finds (columns another migration added stay) and is a no-op when run again."""
    from margindash_cli.store.migrations import m006_media_tokens

    path = tmp_path / "m004.db"
    db = Database(path)
    MIGRATIONS.apply(db, stop_before="m006_media_tokens")
    db.execute(
        "INSERT INTO events (id, ts, customer, feature, model, segment, input_tokens, output_tokens, cached_input_tokens,"
        " cache_write_tokens, reasoning_tokens, cost, extra) VALUES (1, 0, 0, 0, 0, 0, 10, 5, 0, 0, 0, 7, NULL),"
        ' (2, 0, 0, 0, 0, 0, 10, 5, 0, 0, 0, 7, \'{"service_tier": "batch"}\')'
    )
    # Another branch's migration may have extended the view already: its column must survive.
    (sql,) = db.execute("SELECT sql FROM sqlite_master WHERE name = 'events_wide'").fetchone()
    db.execute("DROP VIEW events_wide")
    head, sep, tail = sql.rpartition("\n    FROM events")
    assert sep, sql
    db.execute(f"{head}, 'x' AS other_column{sep}{tail}")
    db.conn.commit()
    db.conn.close()
    with Store.open(path) as store:
        assert "m006_media_tokens" in store.health.applied_migrations()  # (later migrations may follow it)
        rows = store.conn.execute(
            "SELECT id, other_column, input_audio_tokens, output_audio_tokens, output_image_tokens,"
            " service_tier FROM events_wide ORDER BY id"
        ).fetchall()
        assert rows == [(1, "x", 0, 0, 0, None), (2, "x", 0, 0, 0, "batch")]
        before = store.conn.execute("SELECT sql FROM sqlite_master WHERE name = 'events_wide'").fetchone()
        m006_media_tokens(Database(store.conn))  # idempotent
        assert store.conn.execute("SELECT sql FROM sqlite_master WHERE name = 'events_wide'").fetchone() == before
