"""#20: the writer stores a batch without a staging table (keys first with INSERT OR IGNORE, rollup cells summed in
Python). It must store exactly what the staging path stored: the same events with the same ids, keys, rollups,
monthly rollups and zone map, byte for byte. The staging path is kept here, as it was, as the reference.

Randomized: the seed comes from MARGINDASH_TEST_SEED (else fixed) and is in every failure message."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest
from invariants import rollup_mismatches

from margindash_cli.store import schema
from margindash_cli.store.db import Store
from margindash_cli.store.schema import (
    BLOCK_BITS,
    CUSTOMER_ROLLUP_COLUMNS,
    DAY_MS,
    EVENT_COLUMN_LIST,
    EVENT_COLUMNS,
    ROLLUP_COLUMNS,
    STORED_KEYS,
    STORED_KEYS_CHUNK,
    event_key,
)

SEED = int(os.environ.get("MARGINDASH_TEST_SEED", "2020"))
T0 = 1_785_000_000_000 - 1_785_000_000_000 % DAY_MS

# ---- the staging path, as it was before #20 (the reference) ---------------------------------------------------

_STAGING_TOKENS = """count(*), sum(input_tokens), sum(output_tokens), sum(cached_input_tokens), sum(cache_write_tokens),
    sum(reasoning_tokens)"""
_STAGING_REST = """sum(cost IS NULL),
    sum(CASE WHEN json_extract(extra, '$.currency') = 'usd' THEN coalesce(json_extract(extra, '$.revenue_minor'), 0) ELSE 0 END)"""
ROLLUP_FROM_STAGING = f"""
INSERT INTO {ROLLUP_COLUMNS}
SELECT ts / 86400000, customer, feature, model, segment, {_STAGING_TOKENS}, sum(coalesce(cost, 0)), {_STAGING_REST}
FROM temp.staging WHERE true GROUP BY 1, 2, 3, 4, 5{schema.ROLLUP_ADD}"""
CUSTOMER_ROLLUP_FROM_STAGING = f"""
INSERT INTO {CUSTOMER_ROLLUP_COLUMNS}
SELECT customer, ts / 86400000, {_STAGING_TOKENS}, sum(coalesce(cost, 0) / 1000000), sum(coalesce(cost, 0) % 1000000), {_STAGING_REST}
FROM temp.staging WHERE true GROUP BY 1, 2{schema.CUSTOMER_ROLLUP_ADD}"""
INSERT_STAGING = f"INSERT OR IGNORE INTO temp.staging (key, {EVENT_COLUMN_LIST}) VALUES ({', '.join('?' * (len(EVENT_COLUMNS) + 1))})"
DEDUPE_STAGING = "DELETE FROM temp.staging WHERE EXISTS (SELECT 1 FROM main.event_keys k WHERE k.key = staging.key)"


def staging_insert_new_events(self, rows):
    if not rows:
        return 0
    if len(rows[0]) == len(EVENT_COLUMNS) - 1:
        rows = [(*r, None, None) for r in rows]
    c = self.conn
    c.execute(f"CREATE TEMP TABLE IF NOT EXISTS staging (key INTEGER NOT NULL, {EVENT_COLUMN_LIST})")
    c.execute("CREATE UNIQUE INDEX IF NOT EXISTS temp.staging_key ON staging (key)")
    c.execute("DELETE FROM temp.staging")
    c.executemany(INSERT_STAGING, rows)
    c.execute(DEDUPE_STAGING)
    base = c.execute("SELECT coalesce(max(id), 0) FROM main.events").fetchone()[0]
    new = c.execute(
        f"INSERT INTO main.events (id, {EVENT_COLUMN_LIST}) SELECT ? + row_number() OVER (ORDER BY rowid), {EVENT_COLUMN_LIST}"
        " FROM temp.staging ORDER BY rowid",
        (base,),
    ).rowcount
    if not new:
        return 0
    c.execute(
        "INSERT INTO main.event_keys (key, id) SELECT key, ? + row_number() OVER (ORDER BY rowid) FROM temp.staging"
        " ORDER BY 1",
        (base,),
    )
    c.execute(
        f"INSERT INTO main.event_blocks (block, min_ts, max_ts) SELECT id >> {BLOCK_BITS}, min(ts), max(ts) FROM main.events"
        " WHERE id > ? GROUP BY 1 ON CONFLICT (block) DO UPDATE SET min_ts = min(min_ts, excluded.min_ts),"
        " max_ts = max(max_ts, excluded.max_ts)",
        (base,),
    )
    c.execute(ROLLUP_FROM_STAGING)
    c.execute(CUSTOMER_ROLLUP_FROM_STAGING)
    return new


def per_row_grow_events(self, rows):
    """`Events.grow_events` as it was before #20: one key lookup per row."""
    from margindash_cli.store.schema import _W_CACHED, _W_CW, _W_IN, _W_OUT, _W_REASON, WIDE_COLUMNS
    from margindash_cli.store.sql import _usage_rank

    c = self.conn
    fresh, at, grown = [], {}, 0
    wide = ", ".join("x." + col for col in WIDE_COLUMNS)
    for row in rows:
        key = row[0]
        if key in at:
            if _usage_rank(row) > _usage_rank(fresh[at[key]]):
                fresh[at[key]] = row
            continue
        hit = c.execute("SELECT id FROM event_keys WHERE key = ?", (key,)).fetchone()
        if hit is None:
            at[key] = len(fresh)
            fresh.append(row)
            continue
        old = c.execute(f"SELECT {wide} FROM events_wide x WHERE x.id = ?", (hit[0],)).fetchone()
        if old is None:
            continue
        if _usage_rank(row) <= (old[_W_OUT], old[_W_IN], old[_W_REASON], old[_W_CACHED], old[_W_CW]):
            continue
        c.execute(
            "UPDATE events SET input_tokens = ?, output_tokens = ?, cached_input_tokens = ?, cache_write_tokens = ?,"
            " reasoning_tokens = ?, cost = ?, price_id = ?, source = ?, line = ?, extra = ? WHERE id = ?",
            (*row[6:16], hit[0]),
        )
        new = c.execute(f"SELECT {wide} FROM events_wide x WHERE x.id = ?", (hit[0],)).fetchone()
        self.add_to_rollups([old], sign=-1)
        self.add_to_rollups([new], sign=1)
        grown += 1
    return fresh, grown


# ---- the stores compared whole -----------------------------------------------------------------------------------

TABLES = (
    "events",
    "event_keys",
    "event_blocks",
    "rollup_daily",
    "rollup_customer_daily",
    "rollup_customer_monthly",
    "customers",
    "features",
    "segments",
    "models",
    "sources",
    "checkpoints",
)


def dump(path: Path) -> dict[str, list[tuple]]:
    import sqlite3

    conn = sqlite3.connect(path)
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    out = {}
    for table in TABLES:
        if table in names:
            out[table] = conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
    conn.close()
    return out


def _random_batches(rng: random.Random, store: Store) -> list[list[tuple]]:
    """Batches of rows ((key, *EVENT_COLUMNS)) with repeats inside a batch, keys of earlier batches, revenue in
    `extra`, unpriced and negative costs, calls before 1970 (SQLite's day rounds toward zero) and empty batches."""
    customers = [store.dim_id("customers", f"c{i}") for i in range(5)] + [0]
    features = [store.dim_id("features", f) for f in ("chat", "search")] + [0]
    models = [store.model_id("openai", "gpt-4o"), store.model_id("anthropic", "claude-sonnet-4")]
    seen: list[int] = []
    batches = []
    for b in range(14):
        rows = []
        for _ in range(rng.choice([0, 1, 3, 40, 400, 1200])):
            if seen and rng.random() < 0.25:
                key = rng.choice(seen)  # stored already, or earlier in this batch
            else:
                key = event_key(f"r:{rng.getrandbits(64)}")
                seen.append(key)
            ts = rng.choice([T0 + rng.randrange(0, 40 * DAY_MS), -rng.randrange(1, 3 * DAY_MS)])
            cost = rng.choice([None, rng.randrange(0, 10**12), -rng.randrange(1, 10**10), 1_999_999, -1_000_001])
            extra = rng.choice(
                [
                    None,
                    None,
                    '{"revenue_minor":250,"currency":"usd"}',
                    '{"revenue_minor":99,"currency":"eur"}',
                    '{"service_tier":"flex"}',
                    '{"currency":"usd"}',
                ]
            )
            rows.append(
                (
                    key,
                    ts,
                    rng.choice(customers),
                    rng.choice(features),
                    rng.choice(models),
                    0,
                    rng.randrange(0, 5000),
                    rng.randrange(0, 900),
                    rng.randrange(0, 100),
                    rng.randrange(0, 50),
                    rng.randrange(0, 30),
                    cost,
                    None if cost is None else 7,
                    None,
                    rng.randrange(1, 10**6),
                    extra,
                    rng.choice([None, f"req_{rng.getrandbits(32)}"]),
                    None,
                )
            )
        if b == 5:
            rows = [r[:16] for r in rows]  # rows without request and response ids (before m005)
        if b == 7:
            rows = rows[:9] + rows + rows[3:12]  # the very same rows again, before and after
        batches.append(rows)
    return batches


def test_a_batch_is_stored_as_the_staging_path_stored_it(tmp_path, monkeypatch):
    from margindash_cli.store.events import Events

    rng = random.Random(SEED)
    new_store = Store.open(tmp_path / "new.db")
    batches = _random_batches(rng, new_store)
    new_counts = []
    for rows in batches:
        with new_store.write():
            new_counts.append(new_store.events.insert_new_events(rows))
    assert rollup_mismatches(new_store.conn) == [], f"seed {SEED}"
    new_store.close()

    monkeypatch.setattr(Events, "insert_new_events", staging_insert_new_events)
    old_store = Store.open(tmp_path / "old.db")
    assert _random_batches(random.Random(SEED), old_store) == batches
    old_counts = []
    for rows in batches:
        with old_store.write():
            old_counts.append(old_store.events.insert_new_events(rows))
    old_store.close()

    assert new_counts == old_counts, f"seed {SEED}"
    assert sum(new_counts) > 0 and any(len(b) > n for b, n in zip(batches, new_counts))  # repeats were met
    new, old = dump(tmp_path / "new.db"), dump(tmp_path / "old.db")
    for table in TABLES:
        assert new.get(table) == old.get(table), f"{table} differs (seed {SEED})"


def test_ingest_stores_the_same_as_the_staging_path(tmp_path, monkeypatch):
    """Whole runs through ingest: files with repeated request ids inside and across batches, a second file that
    repeats part of the first, a re-run after the first file grew, Claude Code lines whose usage grows."""
    import orjson

    from margindash_cli.ingest.pipeline import ingest_paths
    from margindash_cli.pricing.run import LazyPricer
    from margindash_cli.store.events import Events

    monkeypatch.setenv("MARGINDASH_BATCH_LINES", "37")
    rng = random.Random(SEED)
    logs = tmp_path / "logs"
    logs.mkdir()
    lines = []
    for i in range(600):
        rid = f"req-{rng.randrange(450)}"
        lines.append(
            orjson.dumps(
                {
                    "timestamp": f"2026-08-{1 + i % 28:02d}T10:{i % 60:02d}:00Z",
                    "customer_id": f"cus_{rng.randrange(7)}",
                    "event_type": rng.choice(["chat", "search"]),
                    "request_id": rid,
                    "vendor": "openai",
                    "model": rng.choice(["gpt-4o", "gpt-4o-mini", "no-such-model"]),
                    "input_tokens": rng.randrange(1, 9000),
                    "output_tokens": rng.randrange(0, 900),
                    **({"revenue_amount_in_cents": rng.randrange(1, 500), "currency": "usd"} if i % 9 == 0 else {}),
                }
            )
        )

    def claude(n, grow):
        out = []
        for i in range(n):
            out.append(
                orjson.dumps(
                    {
                        "type": "assistant",
                        "sessionId": "s1",
                        "version": "1.0.0",
                        "timestamp": f"2026-08-03T11:{i % 60:02d}:00Z",
                        "requestId": f"rq_{i}",
                        "message": {
                            "id": f"msg_{i // 3}",
                            "role": "assistant",
                            "model": "claude-sonnet-4-20250514",
                            "usage": {"input_tokens": 10, "output_tokens": 5 + (i % 3) * rng.randrange(0, grow)},
                        },
                    }
                )
            )
        return out

    (logs / "a.jsonl").write_bytes(b"\n".join(lines[:400]) + b"\n")
    (logs / "b.jsonl").write_bytes(b"\n".join(lines[250:500]) + b"\n")
    (logs / "c.jsonl").write_bytes(b"\n".join(claude(120, 40)) + b"\n")
    later = tmp_path / "later"  # the same messages logged again (a side chain), some of them grown since
    later.mkdir()
    (later / "d.jsonl").write_bytes(b"\n".join(claude(150, 90)) + b"\n")

    def run(db: Path) -> list[tuple]:
        store = Store.open(db)
        results = []
        for paths in ([str(logs / "a.jsonl")], [str(logs)], [str(later)]):
            res = ingest_paths(store, paths, quarantine_path=tmp_path / f"{db.stem}.q", pricer=LazyPricer(store))
            results.append((res.events_stored, res.duplicates, res.rejected, res.total("updated")))
        store.close()
        return results

    new_results = run(tmp_path / "new.db")
    monkeypatch.setattr(Events, "insert_new_events", staging_insert_new_events)
    monkeypatch.setattr(Events, "grow_events", per_row_grow_events)
    old_results = run(tmp_path / "old.db")
    assert new_results == old_results
    assert new_results[1][1] > 0 and new_results[2][3] > 0  # duplicates across files were met, stored calls grew
    new, old = dump(tmp_path / "new.db"), dump(tmp_path / "old.db")
    for table in TABLES:
        if table in ("sources", "checkpoints"):  # they hold each store's own file paths
            continue
        assert new.get(table) == old.get(table), f"{table} differs (seed {SEED})"


@pytest.mark.parametrize("analyzed", [False, True])
def test_the_stored_keys_lookup_searches_event_keys_and_never_scans_it(tmp_path, analyzed):
    """The statement that finds which keys of a batch are stored already is a key lookup per key: a scan of
    `event_keys` costs time in proportion to the store on every batch of every cron run (#20)."""
    store = Store.open(tmp_path / "p.db")
    model = store.model_id("openai", "gpt-4o")
    rows = [
        (event_key(f"r:{k}"), T0 + k, 0, 0, model, 0, 1, 1, 0, 0, 0, None, None, None, k, None) for k in range(3000)
    ]
    statements: list[str] = []
    with store.write():
        assert store.events.insert_new_events(rows) == 3000
    store.conn.set_trace_callback(statements.append)
    with store.write():  # a batch half stored, with a repeat inside it: only the new keys are stored, once
        assert store.events.insert_new_events(rows[2000:] + [r[:1] + (T0,) + r[2:] for r in rows[1000:1100]]) == 0
        more = [
            (event_key(f"r:{k}"), T0 + k, 0, 0, model, 0, 1, 1, 0, 0, 0, None, None, None, k, None)
            for k in range(2500, 4000)
        ]
        assert store.events.insert_new_events(more + more[-1:]) == 1000
    store.conn.set_trace_callback(None)
    assert sum(s.strip().startswith(STORED_KEYS[:40]) for s in statements) > 0  # the statement planned is the one run
    assert store.conn.execute("SELECT count(*), count(DISTINCT key), max(id) FROM event_keys").fetchone() == (
        4000,
        4000,
        4000,
    )
    assert store.conn.execute("SELECT min(id), max(id), count(*) FROM events").fetchone() == (1, 4000, 4000)
    assert store.conn.execute("SELECT count(*) FROM events e JOIN event_keys k ON k.id = e.id").fetchone()[0] == 4000
    if analyzed:  # statistics (a store someone ran ANALYZE on) must not tempt the planner into a scan
        store.conn.execute("ANALYZE")
    plan = [r[3] for r in store.conn.execute("EXPLAIN QUERY PLAN " + STORED_KEYS, list(range(STORED_KEYS_CHUNK)))]
    assert not [p for p in plan if p.startswith("SCAN") and "event_keys" in p], plan
    assert any(p.startswith("SEARCH main.event_keys USING PRIMARY KEY (key=?)") for p in plan), plan
    store.close()
