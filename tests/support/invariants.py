"""Checks on a store file that the crash, concurrency and property tests share, written in plain SQL on
purpose: they must not trust the code under test (the rollups are recomputed from the events here).

Events are read through `events_wide` (every field under its own name) and identified by their dedupe key,
which lives in `event_keys` (key -> events.id): the same call in two stores is the same key."""

from __future__ import annotations

import sqlite3
from pathlib import Path

MEASURES = """count(*), sum(input_tokens), sum(output_tokens), sum(cached_input_tokens), sum(cache_write_tokens),
    sum(reasoning_tokens), sum(coalesce(cost, 0)), sum(cost IS NULL),
    sum(CASE WHEN currency = 'usd' THEN coalesce(revenue_minor, 0) ELSE 0 END)"""
ROLLUP_MEASURES = """events, input_tokens, output_tokens, cached_input_tokens, cache_write_tokens, reasoning_tokens, cost,
    unpriced_events, revenue_usd_cents"""
# What `events()` returns per call, in this order: the dedupe key, then every stored field but the internal
# row id and source id (both depend on the order things were stored in, not on the call).
FIELDS = (
    "key",
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
    "line",
)
EVENT_FIELDS = ", ".join(("k." if f == "key" else "e.") + f for f in FIELDS)
LINE = FIELDS.index("line")
COST = FIELDS.index("cost")


def connect(path: Path) -> sqlite3.Connection:
    """A plain connection that only reads (the store is in WAL mode, so it never blocks a writer)."""
    conn = sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=60)  # rw: never creates a missing file
    conn.execute("PRAGMA busy_timeout = 60000")
    return conn


def rollup_mismatches(conn: sqlite3.Connection) -> list[tuple]:
    """Cells where `rollup_daily` differs from the sum of the events, and cells of `rollup_customer_daily`
    (as (day, customer, None, None, None, ...)) that differ from the sum of the events per customer and day
    (empty when they all agree exactly)."""
    from_events = set(
        conn.execute(
            f"SELECT ts / 86400000, customer, feature, model, segment, {MEASURES} FROM events_wide GROUP BY 1, 2, 3, 4, 5"
        ).fetchall()
    )
    rollups = set(
        conn.execute(f"SELECT day, customer, feature, model, segment, {ROLLUP_MEASURES} FROM rollup_daily").fetchall()
    )
    # a customer's day keeps its cost as whole micro-dollars and the rest: compared as one Python integer
    per_customer_from_events = {
        (*r[:6], r[6] * 1_000_000 + r[7], *r[8:])
        for r in conn.execute(
            "SELECT ts / 86400000, customer, count(*), sum(input_tokens), sum(output_tokens), sum(cached_input_tokens),"
            " sum(coalesce(cost, 0) / 1000000), sum(coalesce(cost, 0) % 1000000), sum(cache_write_tokens), sum(reasoning_tokens),"
            " sum(cost IS NULL), sum(CASE WHEN currency = 'usd' THEN coalesce(revenue_minor, 0) ELSE 0 END)"
            " FROM events_wide GROUP BY 1, 2"
        )
    }
    per_customer = {
        (*r[:6], r[6] * 1_000_000 + r[7], *r[8:])
        for r in conn.execute(
            "SELECT day, customer, events, input_tokens, output_tokens, cached_input_tokens, cost_micro, cost_rest,"
            " cache_write_tokens, reasoning_tokens, unpriced_events, revenue_usd_cents FROM rollup_customer_daily"
        )
    }
    monthly: set[tuple] = set()
    if has_table(conn, "rollup_customer_monthly"):  # m010 (#20): per customer and UTC month, from the per-day table
        month = "CAST(julianday(date(day * 86400, 'unixepoch', 'start of month')) - 2440587.5 AS INTEGER)"
        sums = (
            "count(*), sum(events), sum(input_tokens), sum(output_tokens), sum(cost_micro), sum(cost_rest),"
            " sum(unpriced_events), sum(revenue_usd_cents)"
        )
        measures = (
            "cells, events, input_tokens, output_tokens, cost_micro, cost_rest, unpriced_events, revenue_usd_cents"
        )
        # cost compared as one Python integer (the micro/rest split of a sum is not unique)
        from_daily = {
            ("month", *r[:6], r[6] * 1_000_000 + r[7], *r[8:])
            for r in conn.execute(f"SELECT {month}, customer, {sums} FROM rollup_customer_daily GROUP BY 1, 2")
        }
        months = {
            ("month", *r[:6], r[6] * 1_000_000 + r[7], *r[8:])
            for r in conn.execute(f"SELECT month, customer, {measures} FROM rollup_customer_monthly")
        }
        monthly = from_daily ^ months
    return sorted((from_events ^ rollups) | (per_customer_from_events ^ per_customer) | monthly, key=repr)


def key_problems(conn: sqlite3.Connection) -> list[str]:
    """What is wrong with the dedupe keys and the zone map: every event must have exactly one key, every key
    must point at a stored event, and every event must lie inside its block's time span in `event_blocks`."""
    problems = []
    keyless = conn.execute(
        "SELECT count(*) FROM events e WHERE NOT EXISTS (SELECT 1 FROM event_keys k WHERE k.id = e.id)"
    ).fetchone()[0]
    dangling = conn.execute(
        "SELECT count(*) FROM event_keys k WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.id = k.id)"
    ).fetchone()[0]
    shared = conn.execute(
        "SELECT count(*) FROM (SELECT id FROM event_keys GROUP BY id HAVING count(*) > 1)"
    ).fetchone()[0]
    outside = conn.execute(
        "SELECT count(*) FROM events e LEFT JOIN event_blocks b ON b.block = e.id >> 12"
        " WHERE b.block IS NULL OR e.ts < b.min_ts OR e.ts > b.max_ts"
    ).fetchone()[0]
    for n, what in (
        (keyless, "event(s) with no key"),
        (dangling, "key(s) of no stored event"),
        (shared, "event(s) with more than one key"),
        (outside, "event(s) outside their block in the zone map"),
    ):
        if n:
            problems.append(f"{n} {what}")
    return problems


def events(conn: sqlite3.Connection) -> dict[int, tuple]:
    """Every stored event by dedupe key (FIELDS: every field but the internal row id and source id)."""
    return {
        row[0]: row
        for row in conn.execute(f"SELECT {EVENT_FIELDS} FROM event_keys k JOIN events_wide e ON e.id = k.id")
    }


def has_table(conn: sqlite3.Connection, name: str) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone() is not None


def check_store(path: Path) -> dict[int, tuple]:
    """Integrity ok, rollups equal to the events, every event keyed once and in the zone map; returns the events."""
    conn = connect(path)
    try:
        assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
        if not has_table(conn, "event_keys"):  # a new store whose migrations had not all committed yet: no calls
            assert not has_table(conn, "events") or conn.execute("SELECT count(*) FROM events").fetchone()[0] == 0
            return {}
        bad = rollup_mismatches(conn)
        assert bad == [], f"rollups differ from the events in {len(bad)} cell(s): {bad[:4]}"
        problems = key_problems(conn)
        assert problems == [], f"keys or zone map wrong: {problems}"
        return events(conn)
    finally:
        conn.close()
