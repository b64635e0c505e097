"""Checks on a store file that the crash, concurrency and property tests share, written in plain SQL on
purpose: they must not trust the code under test (the rollups are recomputed from the events here)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

MEASURES = """count(*), sum(input_tokens), sum(output_tokens), sum(cached_input_tokens), sum(cache_write_tokens),
    sum(reasoning_tokens), sum(coalesce(cost, 0)), sum(cost IS NULL),
    sum(CASE WHEN currency = 'usd' THEN coalesce(revenue_minor, 0) ELSE 0 END)"""
EVENT_FIELDS = """key, request_id, ts, customer, feature, model, segment, input_tokens, output_tokens, cached_input_tokens,
    cache_write_tokens, cache_write_1h_tokens, reasoning_tokens, service_tier, revenue_minor, currency, extra_cost,
    reported_cost, units, tags, cost, price_id, line"""


def connect(path: Path) -> sqlite3.Connection:
    """A plain connection that only reads (the store is in WAL mode, so it never blocks a writer)."""
    conn = sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=60)  # rw: never creates a missing file
    conn.execute("PRAGMA busy_timeout = 60000")
    return conn


def rollup_mismatches(conn: sqlite3.Connection) -> list[tuple]:
    """Cells where `rollup_daily` differs from the sum of `events` (empty when they agree exactly)."""
    from_events = set(conn.execute(
        f"SELECT ts / 86400000, customer, feature, model, segment, {MEASURES} FROM events GROUP BY 1, 2, 3, 4, 5").fetchall())  # fmt: skip
    rollups = set(conn.execute(
        "SELECT day, customer, feature, model, segment, events, input_tokens, output_tokens, cached_input_tokens,"
        " cache_write_tokens, reasoning_tokens, cost, unpriced_events, revenue_usd_cents FROM rollup_daily").fetchall())  # fmt: skip
    return sorted(from_events ^ rollups)


def events(conn: sqlite3.Connection) -> dict[int, tuple]:
    """Every stored event by key (every column but the internal row id and source id)."""
    return {row[0]: row for row in conn.execute(f"SELECT {EVENT_FIELDS} FROM events")}


def has_table(conn: sqlite3.Connection, name: str) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone() is not None


def check_store(path: Path) -> dict[int, tuple]:
    """Integrity ok, rollups equal to the events; returns the events."""
    conn = connect(path)
    try:
        assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
        if not has_table(conn, "events"):  # a new store whose first migration had not committed yet
            return {}
        bad = rollup_mismatches(conn)
        assert bad == [], f"rollups differ from the events in {len(bad)} cell(s): {bad[:4]}"
        return events(conn)
    finally:
        conn.close()
