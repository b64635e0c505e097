"""The zone map (`event_blocks`) in place of an index on ts: a time range, and the newest calls, read only the
blocks that can hold them, and find exactly what a scan of the whole table finds."""

from __future__ import annotations

import random

import pytest

from margindash_cli.store.db import Store
from margindash_cli.store.schema import event_key

DAY = 86_400_000
T0 = 1_790_000_000_000


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """~20,000 calls in 5 batches: mostly in time order, one batch a backfill of older days, a few strays."""
    rng = random.Random(7)
    store = Store.open(tmp_path_factory.mktemp("zone") / "z.db")
    n = 0
    for batch in range(5):
        rows = []
        for _ in range(4_000):
            n += 1
            if batch == 3:
                ts = T0 - rng.randrange(0, 10 * DAY)  # a backfill
            elif rng.random() < 0.01:
                ts = T0 + rng.randrange(0, 40 * DAY)  # a stray from anywhere
            else:
                ts = T0 + n * 60_000 + rng.randrange(0, 1_000)
            customer = store.dim_id("customers", f"c{rng.randrange(5)}")
            rows.append(
                (
                    event_key(f"r:{n}"),
                    ts,
                    customer,
                    0,
                    store.model_id("openai", "gpt-4o"),
                    0,
                    10,
                    1,
                    0,
                    0,
                    0,
                    None,
                    None,
                    None,
                    n,
                    None,
                )
            )
        with store.write():
            store.events.insert_new_events(rows)
    yield store
    store.close()


def _scan(store, where, args):
    return store.conn.execute(f"SELECT count(*), coalesce(sum(ts), 0) FROM events x WHERE {where}", args).fetchone()


def test_time_ranges_through_the_zone_map_find_what_a_scan_finds(store):
    rng = random.Random(1)
    lo, hi = store.conn.execute("SELECT min(ts), max(ts) FROM events").fetchone()
    for _ in range(300):
        a, z = sorted(rng.randrange(lo - DAY, hi + DAY) for _ in range(2))
        a = None if rng.random() < 0.1 else a
        z = None if rng.random() < 0.1 else z
        where, args = store.events.ts_filter("x", a, z)
        plain = " AND ".join([f"x.ts >= {a}"] * (a is not None) + [f"x.ts < {z}"] * (z is not None)) or "1"
        assert _scan(store, " AND ".join(where) or "1", args) == _scan(store, plain, [])
    ranges = [(T0, T0 + DAY), (T0 + 5 * DAY, T0 + 5 * DAY + 3_600_000), (T0 - 3 * DAY, T0 - 2 * DAY)]
    where, args = store.events.ts_ranges_filter("x", ranges)
    assert where[0].startswith("(x.id BETWEEN")  # blocks narrowed, not the whole table
    plain = " OR ".join(f"(x.ts >= {a} AND x.ts < {z})" for a, z in ranges)
    assert _scan(store, " AND ".join(where), args) == _scan(store, plain, [])


@pytest.mark.parametrize("limit", [1, 50, 4_500, 30_000])
@pytest.mark.parametrize("customer", [None, "c3"])
def test_the_newest_calls_are_the_newest_calls(store, limit, customer):
    got = [(e["ts"], e["id"]) for e in store.events.list_events(customer=customer, limit=limit)]
    cond = "" if customer is None else " JOIN customers c ON c.id = e.customer WHERE c.customer_id = 'c3'"
    want = store.conn.execute(
        f"SELECT e.ts, e.id FROM events e{cond} ORDER BY e.ts DESC, e.id DESC LIMIT ?", (limit,)
    ).fetchall()
    assert got == want and len(got) == min(limit, len(want))
    since = T0 + 3 * DAY
    got = [(e["ts"], e["id"]) for e in store.events.list_events(customer=customer, start_ms=since, limit=limit)]
    want = store.conn.execute(
        f"SELECT e.ts, e.id FROM events e{cond} {'AND' if customer else 'WHERE'} e.ts >= ?"
        " ORDER BY e.ts DESC, e.id DESC LIMIT ?",
        (since, limit),
    ).fetchall()
    assert got == want


@pytest.mark.parametrize(
    "rows, sample, windows", [(32_768, 512, 32), (4_096, 512, 32), (512, 16, 1000), (1_000, 100, 3)]
)
@pytest.mark.parametrize("customer", [None, "c3"])
def test_every_call_streamed_in_time_windows_is_the_one_order_of_a_whole_sort(
    store, monkeypatch, rows, sample, windows, customer
):
    """`list_events(limit=None)` (events --limit 0) reads time windows cut at sampled timestamps: however they fall
    (a backfill, strays, a few calls or thousands per window, thinned to at most `windows`), their concatenation is
    the order of one query sorting every call."""
    from margindash_cli.store import events as events_module

    monkeypatch.setattr(events_module, "STREAM_ROWS", rows)
    monkeypatch.setattr(events_module, "STREAM_SAMPLE", sample)
    monkeypatch.setattr(events_module, "STREAM_WINDOWS", windows)
    queries = []
    real = store.events._list_events
    monkeypatch.setattr(store.events, "_list_events", lambda **kw: queries.append(kw) or real(**kw))
    join = "" if customer is None else " JOIN customers c ON c.id = e.customer"
    for since, until in [(None, None), (T0 + 3 * DAY, None), (T0 - 5 * DAY, T0 + 8 * DAY)]:
        queries.clear()
        streamed = store.events.list_events(customer=customer, start_ms=since, end_ms=until, limit=None)
        got = [(e["ts"], e["id"]) for e in streamed]
        where = [f"e.ts >= {since}"] * (since is not None) + [f"e.ts < {until}"] * (until is not None)
        if customer is not None:
            where.append("c.customer_id = 'c3'")
        want = store.conn.execute(
            f"SELECT e.ts, e.id FROM events e{join}{' WHERE ' + ' AND '.join(where) if where else ''}"
            " ORDER BY e.ts DESC, e.id DESC"
        ).fetchall()
        assert got == want and want
        assert len(queries) <= windows  # never more windows than the cap
        assert len(queries) == 1 if rows > 20_000 else len(queries) > 1  # one window when all fit in one
