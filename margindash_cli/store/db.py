"""The only module that touches SQLite. Opening a store migrates it, so new and old files are handled alike.

Guarantees:
- One ingest batch (its events, their rollups and the file checkpoint after them) is one transaction:
  a crash leaves the store as it was before the batch or after it, never in between.
- Every event has a 64-bit key from its dedupe id (request id, else provider response id, else the
  source file's identity and line); a key already stored is a duplicate and is skipped, so re-runs
  and overlapping files never double count.
- `rollup_daily` always equals the sum of `events` per (UTC day, customer, feature, model, segment).
- The WAL journal and a busy timeout let cron jobs overlap; writers hold the lock only per batch.
"""

from __future__ import annotations

import fcntl
import hashlib
import math
import os
import sqlite3
import stat
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any, NamedTuple

from margindash_cli.errors import StoreError
from margindash_cli.core.periods import DAY_MS, EPOCH_DATE  # noqa: F401 (re-exported: the one epoch)

SQLITE_HEADER = b"SQLite format 3\x00"
MIGRATION_NAMES = ("m001_initial", "m002_stripe", "m003_budgets", "m004_compact_events", "m005_request_ids",
                   "m006_media_tokens", "m007_stripe_reversals", "m008_billed_costs", "m009_checkpoint_tail",
                   "m010_customer_monthly")  # migrations.py's (a test holds them equal)
LATEST_MIGRATION = MIGRATION_NAMES[-1]
BUSY_TIMEOUT_MS = 60_000  # overlapping cron jobs wait for each other this long before failing
DIMENSIONS = ("customers", "features", "segments")  # name-keyed dimension tables
# The columns ingest writes to `events` (its id is assigned on insert). The rare fields go in `extra`, a JSON
# object of EXTRA_FIELDS that is NULL for the common call that has none of them.
EVENT_COLUMNS = (
    "ts", "customer", "feature", "model", "segment", "input_tokens", "output_tokens", "cached_input_tokens",
    "cache_write_tokens", "reasoning_tokens", "cost", "price_id", "source", "line", "extra",
    "request_id", "response_id",  # m005: the ids as text (response_id only when it differs from request_id)
)  # fmt: skip
EXTRA_FIELDS = ("cache_write_1h_tokens", "service_tier", "revenue_minor", "currency", "extra_cost", "reported_cost", "units", "tags",
                "input_audio_tokens", "output_audio_tokens", "output_image_tokens", "cached_audio_tokens")  # fmt: skip
# What readers see (the `events_wide` view): every field under its own name, the rare ones out of `extra`.
WIDE_COLUMNS = (
    "id", "ts", "customer", "feature", "model", "segment", "input_tokens", "output_tokens", "cached_input_tokens",
    "cache_write_tokens", "cache_write_1h_tokens", "reasoning_tokens", "service_tier", "revenue_minor", "currency",
    "extra_cost", "reported_cost", "units", "tags", "cost", "price_id", "source", "line",
    "input_audio_tokens", "output_audio_tokens", "output_image_tokens", "cached_audio_tokens",  # m006 (#14)
)  # fmt: skip
EVENT_COLUMN_LIST = ", ".join(EVENT_COLUMNS)
BLOCK_BITS = 12  # event_blocks: the time span of each 4,096 consecutive event ids
MAX_ID_RANGES = 64  # a time range spread over more id ranges than this reads the table whole (still filtered on ts)
ROLLUP_COLUMNS = """rollup_daily (day, customer, feature, model, segment, events, input_tokens, output_tokens,
    cached_input_tokens, cache_write_tokens, reasoning_tokens, cost, unpriced_events, revenue_usd_cents)"""
CUSTOMER_ROLLUP_COLUMNS = """rollup_customer_daily (customer, day, events, input_tokens, output_tokens,
    cached_input_tokens, cache_write_tokens, reasoning_tokens, cost_micro, cost_rest, unpriced_events, revenue_usd_cents)"""
# A cell's cost past 2^63 picodollars (~$9.2M) would turn into an inexact float (SQLite's `+` does that on overflow):
# abs() of the smallest integer raises "integer overflow" instead, so the batch fails whole and nothing goes inexact.
_ADD_TOKENS = """
    events = events + excluded.events,
    input_tokens = input_tokens + excluded.input_tokens,
    output_tokens = output_tokens + excluded.output_tokens,
    cached_input_tokens = cached_input_tokens + excluded.cached_input_tokens,
    cache_write_tokens = cache_write_tokens + excluded.cache_write_tokens,
    reasoning_tokens = reasoning_tokens + excluded.reasoning_tokens,
    unpriced_events = unpriced_events + excluded.unpriced_events,
    revenue_usd_cents = revenue_usd_cents + excluded.revenue_usd_cents,"""
_OVERFLOW = "abs(-9223372036854775807 - 1)"
ROLLUP_ADD = f"""
ON CONFLICT (day, customer, feature, model, segment) DO UPDATE SET{_ADD_TOKENS}
    cost = CASE WHEN typeof(cost + excluded.cost) = 'integer' THEN cost + excluded.cost ELSE {_OVERFLOW} END"""
CUSTOMER_ROLLUP_ADD = f"""
ON CONFLICT (customer, day) DO UPDATE SET{_ADD_TOKENS}
    cost_micro = CASE WHEN typeof(cost_micro + excluded.cost_micro) = 'integer' THEN cost_micro + excluded.cost_micro ELSE {_OVERFLOW} END,
    cost_rest = CASE WHEN typeof(cost_rest + excluded.cost_rest) = 'integer' THEN cost_rest + excluded.cost_rest ELSE {_OVERFLOW} END"""
UPSERT_ROLLUP = f"INSERT INTO {ROLLUP_COLUMNS} VALUES ({', '.join('?' * 14)}){ROLLUP_ADD}"
UPSERT_CUSTOMER_ROLLUP = f"INSERT INTO {CUSTOMER_ROLLUP_COLUMNS} VALUES ({', '.join('?' * 12)}){CUSTOMER_ROLLUP_ADD}"
INSERT_STAGING = f"INSERT OR IGNORE INTO temp.staging (key, {EVENT_COLUMN_LIST}) VALUES ({', '.join('?' * (len(EVENT_COLUMNS) + 1))})"
# #20: a correlated EXISTS is one key lookup in event_keys per staged row; the former `key IN (SELECT ... JOIN
# event_keys)` was planned as a scan of the whole of event_keys on every batch (~1.5 s a batch in a 10M store).
DEDUPE_STAGING = "DELETE FROM temp.staging WHERE EXISTS (SELECT 1 FROM main.event_keys k WHERE k.key = staging.key)"
_STAGING_TOKENS = """count(*), sum(input_tokens), sum(output_tokens), sum(cached_input_tokens), sum(cache_write_tokens),
    sum(reasoning_tokens)"""
_STAGING_REST = """sum(cost IS NULL),
    sum(CASE WHEN json_extract(extra, '$.currency') = 'usd' THEN coalesce(json_extract(extra, '$.revenue_minor'), 0) ELSE 0 END)"""
ROLLUP_FROM_STAGING = f"""
INSERT INTO {ROLLUP_COLUMNS}
SELECT ts / 86400000, customer, feature, model, segment, {_STAGING_TOKENS}, sum(coalesce(cost, 0)), {_STAGING_REST}
FROM temp.staging WHERE true GROUP BY 1, 2, 3, 4, 5{ROLLUP_ADD}"""
CUSTOMER_ROLLUP_FROM_STAGING = f"""
INSERT INTO {CUSTOMER_ROLLUP_COLUMNS}
SELECT customer, ts / 86400000, {_STAGING_TOKENS}, sum(coalesce(cost, 0) / 1000000), sum(coalesce(cost, 0) % 1000000), {_STAGING_REST}
FROM temp.staging WHERE true GROUP BY 1, 2{CUSTOMER_ROLLUP_ADD}"""
# Index of each rollup measure in a rollup value list, and of the fields of a WIDE_COLUMNS row.
R_EVENTS, R_IN, R_OUT, R_CACHED, R_CW, R_REASON, R_COST, R_UNPRICED, R_REV = range(9)
_W = {name: i for i, name in enumerate(WIDE_COLUMNS)}
_W_TS, _W_CUSTOMER, _W_FEATURE, _W_MODEL, _W_SEGMENT = _W["ts"], _W["customer"], _W["feature"], _W["model"], _W["segment"]
_W_IN, _W_OUT, _W_CACHED, _W_CW, _W_REASON = (_W[c] for c in ("input_tokens", "output_tokens", "cached_input_tokens",
                                                               "cache_write_tokens", "reasoning_tokens"))  # fmt: skip
_W_COST, _W_PRICE_ID, _W_REVENUE, _W_CURRENCY = _W["cost"], _W["price_id"], _W["revenue_minor"], _W["currency"]


def event_key(dedupe_id: str) -> int:
    """The 64-bit signed key of a dedupe id; `event_keys` maps it to the stored call."""
    return int.from_bytes(hashlib.blake2b(dedupe_id.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big", signed=True)


@dataclass
class SourceCheckpoint:
    """How far a file has been read: identity (hash of its first line), byte offset and line count."""

    id: int
    path: str
    identity: str | None
    dev: int | None
    ino: int | None
    offset: int
    line: int
    size: int | None
    mtime_ns: int | None
    tail_hash: str | None = None  # hash of the bytes before `offset` (m009); None on checkpoints saved before it


class Store:
    """A margindash store: a SQLite file, migrated on open."""

    def __init__(self, path: Path | str, conn: sqlite3.Connection):
        self.path = Path(path)
        self.conn = conn
        self._dim_cache: dict[str, dict[str, int]] = {name: {} for name in DIMENSIONS}
        self._model_cache: dict[tuple[str, str], int] = {}

    # ---- opening -------------------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path | str, *, create: bool = True) -> Store:
        """Open (and migrate) the store at `path`. Refuses, without touching it, a file that is not SQLite."""
        path = Path(path)
        if str(path) != ":memory:":
            if path.exists():
                if path.is_dir():
                    raise StoreError(f"{path} is a directory, not a margindash store", "pass --db FILE")
                if not stat.S_ISREG(os.stat(path).st_mode):  # a FIFO would block the open; /dev/null gains a journal
                    raise StoreError(f"{path} is not a regular file (a device, FIFO or socket), not a margindash store",
                                     "pass --db FILE naming a store file, or a new file")  # fmt: skip
                with open(path, "rb") as fh:
                    head = fh.read(16)
                if head and head != SQLITE_HEADER:
                    raise StoreError(
                        f"{path} is not a SQLite database (it was left untouched)",
                        "point --db or MARGINDASH_DB at a margindash store, or at a new file",
                    )
            elif not create:
                raise StoreError(f"no store at {path}", "run `margindash ingest FILE` or `margindash demo` first")
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            _refuse_foreign_schema(conn, path)  # before anything below writes to the file
            if str(path) != ":memory:":
                conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA cache_size = -65536")
            conn.execute("PRAGMA temp_store = MEMORY")
            store = cls(path, conn)
            store._migrate()
        except sqlite3.DatabaseError as exc:
            hint = sqlite_hint(exc)
            raise StoreError(
                f"{path} cannot be opened as a margindash store: {exc}",
                "the file may be corrupt; it was left untouched (`margindash doctor` checks a store)"
                if hint.startswith("the file may be damaged") else hint,
            ) from None
        return store

    def _migrate(self) -> None:
        if self._schema_is_current():
            return  # the common case, without importing sqlite-utils (~45 ms of every command's start)
        from sqlite_utils import Database

        from margindash_cli.store.migrations import MIGRATIONS

        db = Database(self.conn)
        if not MIGRATIONS.pending(db):
            return
        # Two cron jobs may open a new store at once: one migrates, the other waits and finds nothing to do.
        with self._file_lock():
            if MIGRATIONS.pending(db):
                # A migration that rebuilds a big table sorts on disk, not in memory: m004 sorts every event key.
                self.conn.execute("PRAGMA temp_store = FILE")
                try:
                    MIGRATIONS.apply(db)
                finally:
                    self.conn.execute("PRAGMA temp_store = MEMORY")

    def _schema_is_current(self) -> bool:
        """Whether every migration this version knows is applied, and no other."""
        return _applied_migration_names(self.conn) == set(MIGRATION_NAMES)

    @contextmanager
    def _file_lock(self) -> Iterator[None]:
        if str(self.path) == ":memory:":
            yield
            return
        with open(str(self.path) + ".lock", "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken at once (BEGIN IMMEDIATE) so it never fails half-way on a lock."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            self.forget_dim_cache()  # ids created in the rolled-back transaction are gone
            raise
        else:
            self.conn.execute("COMMIT")

    # ---- dimensions ----------------------------------------------------------------------------

    def dim_id(self, table: str, name: str | None) -> int:
        """The integer id of a customer/feature/segment name (0 for none), created on first sight.

        Must run inside a write transaction when the name may be new.
        """
        if not name:
            return 0
        cache = self._dim_cache[table]
        found = cache.get(name)
        if found is not None:
            return found
        column = "customer_id" if table == "customers" else "name"
        row = self.conn.execute(f"SELECT id FROM {table} WHERE {column} = ?", (name,)).fetchone()
        if row is None:
            row = self.conn.execute(f"INSERT INTO {table} ({column}) VALUES (?) RETURNING id", (name,)).fetchone()
        cache[name] = row[0]
        return row[0]

    def model_id(self, vendor: str, model: str) -> int:
        key = (vendor, model)
        found = self._model_cache.get(key)
        if found is not None:
            return found
        row = self.conn.execute("SELECT id FROM models WHERE vendor = ? AND model = ?", key).fetchone()
        if row is None:
            row = self.conn.execute("INSERT INTO models (vendor, model) VALUES (?, ?) RETURNING id", key).fetchone()
        self._model_cache[key] = row[0]
        return row[0]

    def forget_dim_cache(self) -> None:
        """Drop cached ids (after a rolled-back transaction that may have created some)."""
        self._dim_cache = {name: {} for name in DIMENSIONS}
        self._model_cache = {}

    # ---- sources (ingest checkpoints) ----------------------------------------------------------

    def find_source(self, path: str, identity: str | None) -> SourceCheckpoint | None:
        """The checkpoint of a file with this identity, preferring this path (a rotated file keeps its identity)."""
        cols = "id, path, identity, dev, ino, offset, line, size, mtime_ns"
        if identity is None:
            row = self.conn.execute(f"SELECT {cols} FROM sources WHERE path = ? AND identity IS NULL", (path,)).fetchone()
        else:
            row = self.conn.execute(
                f"SELECT {cols} FROM sources WHERE identity = ? ORDER BY path = ? DESC, offset DESC LIMIT 1",
                (identity, path),
            ).fetchone()
        return SourceCheckpoint(*row) if row else None

    def source_id(self, path: str, identity: str | None) -> int:
        """The id of a (path, identity) source, created on first sight (inside a write transaction)."""
        row = self.conn.execute("SELECT id FROM sources WHERE path = ? AND identity IS ?", (path, identity)).fetchone()
        if row is None:
            row = self.conn.execute("INSERT INTO sources (path, identity) VALUES (?, ?) RETURNING id", (path, identity)).fetchone()
        return row[0]

    def save_checkpoint(self, source_id: int, *, dev: int | None, ino: int | None, offset: int, line: int,
                        size: int | None, mtime_ns: int | None, tail_hash: str | None = None) -> None:  # fmt: skip
        """Move a source's checkpoint forward; never backward (two overlapping runs may finish out of order).
        `tail_hash` (the bytes before `offset`) moves with the offset it describes."""
        self.conn.execute(
            "UPDATE sources SET dev = ?, ino = ?, tail_hash = CASE WHEN ? >= offset THEN ? ELSE tail_hash END,"
            " offset = max(offset, ?), line = max(line, ?), size = ?, mtime_ns = ?, updated_at = ? WHERE id = ?",
            (dev, ino, offset, tail_hash, offset, line, size, mtime_ns, _now_iso(), source_id),
        )

    def list_sources(self) -> list[SourceCheckpoint]:
        rows = self.conn.execute(
            "SELECT id, path, identity, dev, ino, offset, line, size, mtime_ns FROM sources ORDER BY path"
        ).fetchall()
        return [SourceCheckpoint(*r) for r in rows]

    # ---- events --------------------------------------------------------------------------------

    def insert_new_events(self, rows: list[tuple[Any, ...]]) -> int:
        """Store the rows ((key, *EVENT_COLUMNS)) whose key is new, and add them to the rollups and the zone map.

        Dedupe (against the store and within the batch) and the rollup sums run inside SQLite, over a
        staging table, so a batch costs one executemany plus a few set-based statements. New events get
        the next ids in batch order, and each key points at its event.
        Call inside `write()`. Returns how many rows were new.
        """
        if not rows:
            return 0
        if len(rows[0]) == len(EVENT_COLUMNS) - 1:  # a row without m005's request_id and response_id: they are NULL
            rows = [(*r, None, None) for r in rows]
        c = self.conn
        c.execute(f"CREATE TEMP TABLE IF NOT EXISTS staging (key INTEGER NOT NULL, {EVENT_COLUMN_LIST})")
        c.execute("CREATE UNIQUE INDEX IF NOT EXISTS temp.staging_key ON staging (key)")
        c.execute("DELETE FROM temp.staging")
        c.executemany(INSERT_STAGING, rows)
        c.execute(DEDUPE_STAGING)
        base = c.execute("SELECT coalesce(max(id), 0) FROM main.events").fetchone()[0]
        # staging's rowids follow the batch order (gaps where a duplicate was dropped): ids base+1, base+2, ...
        new = c.execute(
            f"INSERT INTO main.events (id, {EVENT_COLUMN_LIST}) SELECT ? + row_number() OVER (ORDER BY rowid), {EVENT_COLUMN_LIST}"
            " FROM temp.staging ORDER BY rowid", (base,)
        ).rowcount
        if not new:
            return 0
        c.execute("INSERT INTO main.event_keys (key, id) SELECT key, ? + row_number() OVER (ORDER BY rowid) FROM temp.staging"
                  " ORDER BY 1", (base,))  # fmt: skip
        c.execute(
            f"INSERT INTO main.event_blocks (block, min_ts, max_ts) SELECT id >> {BLOCK_BITS}, min(ts), max(ts) FROM main.events"
            " WHERE id > ? GROUP BY 1 ON CONFLICT (block) DO UPDATE SET min_ts = min(min_ts, excluded.min_ts),"
            " max_ts = max(max_ts, excluded.max_ts)", (base,)
        )
        c.execute(ROLLUP_FROM_STAGING)
        c.execute(CUSTOMER_ROLLUP_FROM_STAGING)
        return new

    def add_to_rollups(self, rows: Iterable[tuple[Any, ...]], *, sign: int) -> None:
        """Add (sign=1) or remove (sign=-1) event rows (WIDE_COLUMNS order) from the rollups."""
        acc: dict[tuple[int, int, int, int, int], list[int]] = {}
        for r in rows:
            k = (r[_W_TS] // DAY_MS, r[_W_CUSTOMER], r[_W_FEATURE], r[_W_MODEL], r[_W_SEGMENT])
            v = acc.get(k)
            if v is None:
                v = acc[k] = [0] * 9
            v[R_EVENTS] += 1
            v[R_IN] += r[_W_IN]
            v[R_OUT] += r[_W_OUT]
            v[R_CACHED] += r[_W_CACHED]
            v[R_CW] += r[_W_CW]
            v[R_REASON] += r[_W_REASON]
            if r[_W_COST] is None:
                v[R_UNPRICED] += 1
            else:
                v[R_COST] += r[_W_COST]
            if r[_W_REVENUE] is not None and r[_W_CURRENCY] == "usd":
                v[R_REV] += r[_W_REVENUE]
        by_customer: dict[tuple[int, int], list[int]] = {}
        for (day, customer, *_), v in acc.items():
            cv = by_customer.setdefault((customer, day), [0] * 9)
            for i, x in enumerate(v):
                cv[i] += x
        self.conn.executemany(UPSERT_ROLLUP, [(*k, *(x * sign for x in v)) for k, v in acc.items()])
        # the per-customer cell keeps its cost as whole micro-dollars and the rest (see m004): never past 64 bits
        self.conn.executemany(UPSERT_CUSTOMER_ROLLUP, [
            (*k, *(x * sign for x in v[:R_COST]), *(x * sign for x in divmod(v[R_COST], 1_000_000)), *(x * sign for x in v[R_COST + 1 :]))
            for k, v in by_customer.items()
        ])  # fmt: skip
        if sign < 0:
            self.conn.execute("DELETE FROM rollup_daily WHERE events = 0")
            self.conn.execute("DELETE FROM rollup_customer_daily WHERE events = 0")

    def id_ranges(self, ranges: list[tuple[int | None, int | None]]) -> list[tuple[int, int]] | None:
        """The event id ranges [lo, hi] that can hold calls in any of the time ranges [start_ms, end_ms), from the
        zone map; None when the whole table is as cheap (an unbounded range, or more than MAX_ID_RANGES runs)."""
        if not ranges or any(a is None and z is None for a, z in ranges):
            return None
        cond = " OR ".join("(max_ts >= ? AND min_ts < ?)" for _ in ranges)
        args = [v for a, z in ranges for v in (-(2**63) if a is None else a, 2**63 - 1 if z is None else z)]
        runs: list[list[int]] = []
        for (b,) in self.conn.execute(f"SELECT block FROM event_blocks WHERE {cond} ORDER BY block", args):
            if runs and runs[-1][1] == b - 1:
                runs[-1][1] = b
            else:
                runs.append([b, b])
        if len(runs) > MAX_ID_RANGES:
            return None
        return [(lo << BLOCK_BITS, ((hi + 1) << BLOCK_BITS) - 1) for lo, hi in runs]

    def ts_filter(self, alias: str, start_ms: int | None, end_ms: int | None) -> tuple[list[str], list[Any]]:
        """WHERE clauses and arguments that keep the events of `alias` in [start_ms, end_ms): the ts bounds, and
        the zone map's id ranges so SQLite reads only the blocks that can hold them."""
        return self.ts_ranges_filter(alias, [(start_ms, end_ms)])

    def ts_ranges_filter(self, alias: str, ranges: list[tuple[int | None, int | None]]) -> tuple[list[str], list[Any]]:
        """As `ts_filter`, for events in any of several time ranges."""
        where: list[str] = []
        args: list[Any] = []
        if len(ranges) == 1:
            _time_range(where, args, f"{alias}.ts", *ranges[0])
        else:
            where.append("(" + " OR ".join(f"({alias}.ts >= ? AND {alias}.ts < ?)" for _ in ranges) + ")")
            args.extend(v for r in ranges for v in r)
        ids = self.id_ranges(ranges)
        if ids is not None:
            if not ids:
                return ["0"], []
            where.insert(0, "(" + " OR ".join(f"{alias}.id BETWEEN ? AND ?" for _ in ids) + ")")
            args[:0] = [b for r in ids for b in r]
        return where, args

    def list_events(self, *, customer: str | None = None, event_type: str | None = None, model: str | None = None,
                    start_ms: int | None = None, end_ms: int | None = None, request_id: str | None = None,
                    limit: int | None = 100) -> list[dict[str, Any]]:  # fmt: skip
        """Stored events, newest first, with their dimension names (for `margindash events`).

        The newest `limit` calls are found without reading the table: the blocks with the latest calls (zone map)
        give a time m such that their calls, at least `limit` of them, all have ts >= m; when at least `limit` calls
        that match the filters have ts >= m, they hold the newest `limit` ones, else more blocks are tried."""
        find = dict(customer=customer, event_type=event_type, model=model, end_ms=end_ms, request_id=request_id, limit=limit)
        if limit and request_id is None:
            lo = -(2**63) if start_ms is None else start_ms
            hi = 2**63 - 1 if end_ms is None else end_ms
            starts = [m for (m,) in self.conn.execute(
                "SELECT min_ts FROM event_blocks WHERE max_ts >= ? AND min_ts < ? ORDER BY max_ts DESC", (lo, hi))]  # fmt: skip
            blocks_needed = max(1, -(-limit // (1 << BLOCK_BITS)))
            while blocks_needed < len(starts):
                floor = max(lo, min(starts[:blocks_needed]))
                rows = self._list_events(start_ms=floor, **find)
                if len(rows) >= limit:
                    return rows
                blocks_needed *= 8
        rows = self._list_events(start_ms=start_ms, **find)
        if not rows and request_id is not None and (by_response := self.event_id_by_response_id(request_id)) is not None:
            rows = self._list_events(start_ms=start_ms, **{**find, "request_id": None}, event_id=by_response)
        return rows

    def _list_events(self, *, customer: str | None, event_type: str | None, model: str | None, start_ms: int | None,
                     end_ms: int | None, request_id: str | None, limit: int | None, event_id: int | None = None
                     ) -> list[dict[str, Any]]:  # fmt: skip
        where, args = [], []
        if customer is not None:
            where.append("c.customer_id = ?")
            args.append(customer)
        if event_type is not None:
            where.append("f.name = ?")
            args.append(event_type)
        if model is not None:
            where.append("m.model = ?")
            args.append(model)
        tw, targs = self.ts_filter("e", start_ms, end_ms)
        where, args = tw + where, targs + args
        if request_id is not None:  # found through its key: the store keeps the id's 64-bit hash, not its text
            where.append("e.id = (SELECT id FROM event_keys WHERE key = ?)")
            args.append(event_key("r:" + request_id))
        if event_id is not None:
            where.append("e.id = ?")
            args.append(event_id)
        sql = (
            "SELECT e.*, c.customer_id AS customer_id, f.name AS event_type, m.vendor AS vendor, m.model AS model_name,"
            " s.name AS segment_name, src.path AS source_path"
            " FROM events_wide e JOIN models m ON m.id = e.model"
            " LEFT JOIN customers c ON c.id = e.customer LEFT JOIN features f ON f.id = e.feature"
            " LEFT JOIN segments s ON s.id = e.segment LEFT JOIN sources src ON src.id = e.source"
            + (" WHERE " + " AND ".join(where) if where else "")
            + " ORDER BY e.ts DESC, e.id DESC"
            + (" LIMIT ?" if limit else "")
        )
        if limit:
            args.append(limit)
        cur = self.conn.execute(sql, args)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur]

    # ---- report facts --------------------------------------------------------------------------

    def usage_facts(self, groups: list[str], *, start_ms: int | None, end_ms: int | None, tz: tzinfo,
                    customer: str | None = None, per_day: bool = True) -> Iterator[tuple[Any, ...]]:  # fmt: skip
        """Usage summed per (customer, *groups, local day): rows of
        (customer_id, group values..., local date, events, input, output, cost, unpriced, revenue cents).

        With `per_day=False` the rows span the whole range (one per customer and groups, date 1970-01-01):
        far fewer rows for a report with no time grouping, which never looks at the day.

        Reads the daily rollups when it can (UTC days, range on day boundaries, no tag groups), and
        otherwise the events in 15-minute buckets, which any time zone's day boundary falls between.
        """
        tag_groups = [g for g in groups if g.startswith("tag:")]
        src_args: list[Any] = []
        day_aligned = (start_ms is None or start_ms % DAY_MS == 0) and (end_ms is None or end_ms % DAY_MS == 0)
        use_rollups = tz is timezone.utc and day_aligned and not tag_groups
        if use_rollups:
            # by customer alone: the per-customer rollup, ~60x fewer rows than the five-dimension one
            src = "rollup_customer_daily x" if not groups else "rollup_daily x"
            t_expr, unit = "x.day", DAY_MS
            cost = "sum(x.cost_micro), sum(x.cost_rest)" if not groups else "sum(x.cost / 1000000), sum(x.cost % 1000000)"
            measures = (f"sum(x.events), sum(x.input_tokens), sum(x.output_tokens), {cost}, sum(x.unpriced_events),"
                        " sum(x.revenue_usd_cents)")  # fmt: skip
            where, wargs = [], []
            _time_range(where, wargs, "x.day", None if start_ms is None else start_ms // DAY_MS,
                        None if end_ms is None else end_ms // DAY_MS)  # fmt: skip
            months = None if groups or per_day else self._customer_months(start_ms, end_ms)
            if months is not None:  # #20: the whole months from rollup_customer_monthly (m010)
                (src, src_args), where, wargs = months, [], []
        else:
            src, t_expr, unit = "events_wide x", "x.ts / 900000", 900_000
            # cost is split into whole micro-dollars and the rest so no SUM can overflow 64 bits
            measures = ("count(*), sum(x.input_tokens), sum(x.output_tokens), sum(coalesce(x.cost, 0) / 1000000),"
                        " sum(coalesce(x.cost, 0) % 1000000), sum(x.cost IS NULL),"
                        " sum(CASE WHEN x.currency = 'usd' THEN coalesce(x.revenue_minor, 0) ELSE 0 END)")  # fmt: skip
            where, wargs = self.ts_filter("x", start_ms, end_ms)
        # Customers and models are grouped on their ids and named afterwards: no join per rollup row, integer
        # sort keys. Two models of one name (under two vendors) give two rows, which the report sums.
        select, joins, args = ["x.customer"], [], []
        models = self.model_names()
        names: list[Any] = [None]  # the customer column: named below, from the ids the query returns
        for g in groups:
            if g in ("model", "vendor"):
                select.append("x.model")
                names.append((lambda i, m=models: m[i][1]) if g == "model" else (lambda i, m=models: m[i][0]))
            elif g == "feature":
                joins.append("LEFT JOIN features f ON f.id = x.feature")
                select.append("f.name")
                names.append(None)
            elif g == "segment":
                # a call's own segment wins; else the customer's (from Stripe metadata: customer_attributes)
                joins.append("LEFT JOIN segments s ON s.id = x.segment LEFT JOIN customer_attributes ca ON ca.customer = x.customer")
                select.append("coalesce(s.name, ca.segment)")
                names.append(None)
            elif g == "plan":
                # the customer's plan, from Stripe metadata (--plan-key); a plan a call logs itself is --by tag:plan
                joins.append("LEFT JOIN customer_attributes cap ON cap.customer = x.customer")
                select.append("cap.plan")
                names.append(None)
            elif g.startswith("tag:"):
                name = g[4:]
                if '"' in name or "\\" in name or not name.isprintable():
                    # a JSON path cannot name a key that JSON escapes: match the decoded key exactly instead
                    select.append("(SELECT value FROM json_each(x.tags) WHERE key = ?)")
                    args.append(name)
                else:
                    select.append("json_extract(x.tags, ?)")
                    args.append('$."' + name + '"')
                names.append(None)
            else:
                raise ValueError(f"unknown group {g!r}")
        if customer is not None:
            where.append("x.customer = (SELECT id FROM customers WHERE customer_id = ?)")
            wargs.append(customer)
        n = len(select)
        named = [(i, f) for i, f in enumerate(names) if f is not None]
        if not per_day:
            t_expr, unit = "0", DAY_MS
        sql = (
            f"SELECT {', '.join(select)}, {t_expr} AS t, {measures} FROM {src} {' '.join(joins)}"
            + (" WHERE " + " AND ".join(where) if where else "")
            + f" GROUP BY x.customer, {', '.join(str(i) for i in range(2, n + 2))}"
        )
        rows = self.conn.execute(sql, args + src_args + wargs).fetchall()
        customer_names = self._names_by_id("customers", "customer_id", {r[0] for r in rows})
        named.insert(0, (0, customer_names.get))
        day_cache: dict[int, date] = {}
        for row in rows:
            t = row[n]
            day = day_cache.get(t)
            if day is None:
                day = day_cache[t] = datetime.fromtimestamp(t * unit // 1000, tz).date()
            ev, inp, out, cost_micro, cost_rest, unpriced, rev = row[n + 1 :]
            values = list(row[:n])
            for i, name_of in named:
                values[i] = name_of(values[i])
            yield (*values, day, ev, inp, out, cost_micro * 1_000_000 + cost_rest, unpriced, rev)

    def revenue_facts(self, *, start_ms: int | None, end_ms: int | None, customer: str | None = None
                      ) -> tuple[list[tuple[str | None, date, int]], dict[str, int]]:  # fmt: skip
        """Revenue per (customer, UTC day) in US cents, and what could not be converted, per currency."""
        return self._revenue_day_facts("r.day", start_ms, end_ms, customer)

    def _revenue_day_facts(self, day_sql: str, start_ms: int | None, end_ms: int | None, customer: str | None
                           ) -> tuple[list[tuple[str | None, date, int]], dict[str, int]]:  # fmt: skip
        """Revenue per (customer, day) in US cents, where `day_sql` (over `revenue r`) is the day a row counts on,
        and what could not be converted, per currency."""
        where, args = _revenue_where("b", start_ms, end_ms, customer)
        sql = (
            "SELECT c.customer_id, b.day, sum(b.usd_cents), b.currency, sum(b.amount_minor), sum(b.usd_cents IS NULL)"
            f" FROM (SELECT r.customer, {day_sql} AS day, r.usd_cents, r.currency, r.amount_minor FROM revenue r) b"
            " LEFT JOIN customers c ON c.id = b.customer"
            + (" WHERE " + " AND ".join(where) if where else "")
            + " GROUP BY b.customer, b.day, b.currency"
        )
        facts, unconverted = [], {}
        for cust, day, usd, currency, amount, missing in self.conn.execute(sql, args):
            if missing:
                unconverted[currency] = unconverted.get(currency, 0) + amount
            elif usd:
                facts.append((cust, date(1970, 1, 1) + timedelta(days=day), usd))
        return facts, unconverted

    def unpriced_models(self, *, start_ms: int | None = None, end_ms: int | None = None) -> list[tuple[str, str, int, int, int]]:
        """(vendor, model, calls, input tokens, output tokens) of stored calls that have no price."""
        where, args = self.ts_filter("e", start_ms, end_ms)
        where.append("e.cost IS NULL")
        sql = (
            "SELECT m.vendor, m.model, count(*), sum(e.input_tokens), sum(e.output_tokens) FROM events e"
            " JOIN models m ON m.id = e.model WHERE " + " AND ".join(where) + " GROUP BY e.model ORDER BY 3 DESC"
        )
        return self.conn.execute(sql, args).fetchall()

    def model_names(self) -> dict[int, tuple[str, str]]:
        return {mid: (vendor, model) for mid, vendor, model in self.conn.execute("SELECT id, vendor, model FROM models")}

    def event_rows(self, *, start_ms: int | None, end_ms: int | None, only_unpriced: bool, after_id: int | None,
                   limit: int) -> list[tuple[Any, ...]]:  # fmt: skip
        """Event rows (WIDE_COLUMNS order) in id order, for re-pricing in chunks."""
        where, args = self.ts_filter("x", start_ms, end_ms)
        if after_id is not None:
            where.append("x.id > ?")
            args.append(after_id)
        if only_unpriced:
            where.append("x.cost IS NULL")
        sql = f"SELECT {', '.join('x.' + c for c in WIDE_COLUMNS)} FROM events_wide x" + (" WHERE " + " AND ".join(where) if where else "")
        return self.conn.execute(sql + " ORDER BY x.id LIMIT ?", (*args, limit)).fetchall()

    def replace_event_costs(self, old_rows: list[tuple[Any, ...]], new_rows: list[tuple[Any, ...]]) -> int:
        """Set new costs and move the rollups with them, in one transaction. An event whose cost changed
        since it was read (another reprice got there first) is left alone. Returns how many were updated."""
        done_old, done_new = [], []
        with self.write():
            for old, new in zip(old_rows, new_rows):
                cur = self.conn.execute(
                    "UPDATE events SET cost = ?, price_id = ? WHERE id = ? AND cost IS ? AND price_id IS ?",
                    (new[_W_COST], new[_W_PRICE_ID], old[0], old[_W_COST], old[_W_PRICE_ID]),
                )
                if cur.rowcount:
                    done_old.append(old)
                    done_new.append(new)
            self.add_to_rollups(done_old, sign=-1)
            self.add_to_rollups(done_new, sign=1)
        return len(done_new)

    def count_events(self) -> int:
        return self.conn.execute("SELECT count(*) FROM events").fetchone()[0]

    # ---- prices --------------------------------------------------------------------------------

    def price_rows(self) -> list[tuple[int, str, str, int, str, str]]:
        """(id, provider, model, effective_from ms, source, data JSON) of every price version."""
        return self.conn.execute("SELECT id, provider, model, effective_from, source, data FROM prices").fetchall()

    def alias_rows(self) -> list[tuple[str, str, str, str]]:
        """(name, vendor or '', provider, model) of every alias."""
        return self.conn.execute("SELECT name, vendor, provider, model FROM price_aliases").fetchall()

    def add_price(self, provider: str, model: str, effective_from: int, source: str, data: str) -> int:
        """Record a price version (inside a write transaction); versions are never edited, only added."""
        return self.conn.execute(
            "INSERT INTO prices (provider, model, effective_from, source, data, recorded_at) VALUES (?, ?, ?, ?, ?, ?)"
            " RETURNING id",
            (provider, model, effective_from, source, data, _now_iso()),
        ).fetchone()[0]

    def has_price(self, provider: str, model: str, effective_from: int, source: str, data: str) -> bool:
        return self.conn.execute(
            "SELECT 1 FROM prices WHERE provider = ? AND model = ? AND effective_from = ? AND source = ? AND data = ?",
            (provider, model, effective_from, source, data),
        ).fetchone() is not None

    def alias_source(self, name: str, vendor: str | None) -> str | None:
        row = self.conn.execute("SELECT source FROM price_aliases WHERE name = ? AND vendor = ?", (name, vendor or "")).fetchone()
        return row[0] if row else None

    def set_alias(self, name: str, vendor: str | None, provider: str, model: str, source: str) -> None:
        self.conn.execute(
            "INSERT INTO price_aliases (name, vendor, provider, model, source) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (vendor, name) DO UPDATE SET provider = excluded.provider, model = excluded.model,"
            " source = excluded.source",
            (name, vendor or "", provider, model, source),
        )

    # ---- revenue -------------------------------------------------------------------------------

    def replace_revenue(self, source: str, rows: Iterable[tuple[str, date, int, str, int | None, str]]) -> int:
        """Replace every revenue row of `source` with these (customer_id, UTC date, minor, currency, usd cents, ref)."""
        with self.write():
            self.conn.execute("DELETE FROM revenue WHERE source = ?", (source,))
            n = 0
            for customer_id, day, minor, currency, usd_cents, ref in rows:
                self.conn.execute(
                    "INSERT INTO revenue (customer, day, amount_minor, currency, usd_cents, source, ref) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (self.dim_id("customers", customer_id), (day - EPOCH_DATE).days, minor, currency, usd_cents, source, ref),
                )
                n += 1
        return n

    # ---- meta ----------------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value))

    # ---- budgets -------------------------------------------------------------------------------

    def budget_rows(self) -> list[tuple[str, str, str, str, str, str, str, str, str]]:
        """(name, scope, scope_id, limit_usd, period, tz, warn_pct, critical_pct, emails JSON) of every budget, by name."""
        return self.conn.execute(
            "SELECT name, scope, scope_id, limit_usd, period, tz, warn_pct, critical_pct, emails FROM budgets ORDER BY name"
        ).fetchall()

    def save_budget(self, name: str, scope: str, scope_id: str, limit_usd: str, period: str, tz: str, warn_pct: str,
                    critical_pct: str, emails_json: str) -> bool:  # fmt: skip
        """Create or replace a budget; True when it is new. Its alert history stays (alerts are keyed by name)."""
        now = _now_iso()
        with self.write():
            existed = self.conn.execute("SELECT 1 FROM budgets WHERE name = ?", (name,)).fetchone() is not None
            self.conn.execute(
                "INSERT INTO budgets (name, scope, scope_id, limit_usd, period, tz, warn_pct, critical_pct, emails,"
                " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET scope = excluded.scope, scope_id = excluded.scope_id,"
                " limit_usd = excluded.limit_usd, period = excluded.period, tz = excluded.tz, warn_pct = excluded.warn_pct,"
                " critical_pct = excluded.critical_pct, emails = excluded.emails, updated_at = excluded.updated_at",
                (name, scope, scope_id, limit_usd, period, tz, warn_pct, critical_pct, emails_json, now, now),
            )
        return not existed

    def delete_budget(self, name: str) -> bool:
        """Remove a budget; False when there was none. Its sent alerts stay recorded, so re-creating it never re-sends them."""
        with self.write():
            return self.conn.execute("DELETE FROM budgets WHERE name = ?", (name,)).rowcount > 0

    def budget_spend(self, windows: list[tuple[int, int]], customers: Iterable[str]) -> dict[tuple[int, int], BudgetSpend]:
        """Priced cost (picodollars), unpriced calls and calls of each window [start_ms, end_ms): in all, per
        feature, and per customer asked for.

        Whole UTC days come from `rollup_daily`; only the partial days at the edges of a window (a non-UTC
        zone's midnight) come from `events`, through its ts index, at most half a day per edge (see
        `_window_plan`). Three queries serve every window: the days' totals per feature (one pass in key
        order), the customers' days (key lookups), and the edges (one query over all their ranges).
        """
        cust = self._ids("customers", "customer_id", customers)
        feature_names = dict(self.conn.execute("SELECT id, name FROM features").fetchall())
        out = {w: BudgetSpend() for w in windows}
        day_windows: dict[int, list[tuple[int, int]]] = {}
        edge_windows: list[tuple[int, int, int, tuple[int, int]]] = []
        for w in windows:
            days, edges = _window_plan(*w)
            for day in days:
                day_windows.setdefault(day, []).append(w)
            edge_windows.extend((a, z, sign, w) for a, z, sign in edges)

        if day_windows:
            d0, d1 = min(day_windows), max(day_windows) + 1
            # Grouping by customer too keeps the inner pass a streaming aggregate in key order; only its
            # output is sorted for the outer GROUP BY (far cheaper than sorting every rollup row by feature).
            sql = (
                "SELECT day, feature, {outer}, sum(u), sum(n) FROM (SELECT x.day AS day, x.customer, x.feature AS feature,"
                " {inner}, sum(x.unpriced_events) AS u, sum(x.events) AS n FROM rollup_daily x WHERE x.day >= ? AND x.day < ?"
                " GROUP BY 1, 2, 3) GROUP BY 1, 2"
            )
            for day, f, cost, unpriced, n in self._exact_cost_rows(sql, (d0, d1)):
                for w in day_windows[day]:
                    out[w].add(None, feature_names.get(f), cost, unpriced, n)
            ids, days = list(cust), sorted(day_windows)
            for i in range(0, len(ids), 500):
                chunk = ids[i : i + 500]
                sql = (
                    "SELECT x.day, x.customer, x.cost_micro, x.cost_rest, x.unpriced_events, x.events FROM rollup_customer_daily x"
                    f" WHERE x.day IN ({','.join('?' * len(days))}) AND x.customer IN ({','.join('?' * len(chunk))})"
                )  # the IN lists make these key lookups on (customer, day), not a scan; one row per cell
                for day, c, micro, rest, unpriced, n in self.conn.execute(sql, (*days, *chunk)):
                    cost = micro * 1_000_000 + rest
                    for w in day_windows[day]:
                        out[w].customers_add(cust[c], cost, unpriced, n)
        if edge_windows:
            ranges = _merge_ranges([(a, z) for a, z, _, _ in edge_windows])
            # Buckets that every edge falls on: 15 minutes for any zone in use since 2000, finer if ever needed.
            unit = math.gcd(900_000, *(b for a, z, _, _ in edge_windows for b in (a, z)))
            c_expr, c_args = _case_in("x.customer", cust)
            where, wargs = self.ts_ranges_filter("x", ranges)
            sql = (
                f"SELECT x.ts / {unit}, {c_expr}, x.feature, {{cost}}, sum(x.cost IS NULL), count(*) FROM events x"
                f" WHERE {' AND '.join(where)} GROUP BY 1, 2, 3"
            )
            args = (*c_args, *wargs)
            bucket_windows: dict[int, list[tuple[int, tuple[int, int]]]] = {}
            for bucket, c, f, cost, unpriced, n in self._exact_cost_rows(sql, args, lead=3, column="coalesce(x.cost, 0)"):
                ws = bucket_windows.get(bucket)
                if ws is None:
                    t = bucket * unit
                    ws = bucket_windows[bucket] = [(sign, w) for a, z, sign, w in edge_windows if a <= t < z]
                for sign, w in ws:
                    out[w].add(cust.get(c), feature_names.get(f), sign * cost, sign * unpriced, sign * n)
        return out

    def _exact_cost_rows(self, sql: str, args: tuple[Any, ...], *, lead: int = 2, column: str = "x.cost") -> Iterator[tuple[Any, ...]]:
        """Rows of `sql` with its cost sum exact: plain SUMs (fast); if one overflows 64 bits (SQLite refuses rather
        than wraps), again with each cost split into whole micro-dollars and the rest. `{cost}`, or `{inner}` and
        `{outer}` for a nested query, mark where the cost sum goes, after `lead` columns; it comes back as one Python int."""
        fast = {"cost": f"sum({column})", "inner": f"sum({column}) AS c", "outer": "sum(c)"}
        try:
            rows = self.conn.execute(sql.format(**fast), args).fetchall()
        except sqlite3.OperationalError as exc:
            if "overflow" not in str(exc):
                raise
        else:
            yield from rows
            return
        split = {"cost": f"sum({column} / 1000000), sum({column} % 1000000)",
                 "inner": f"sum({column} / 1000000) AS c, sum({column} % 1000000) AS r", "outer": "sum(c), sum(r)"}  # fmt: skip
        for row in self.conn.execute(sql.format(**split), args):
            yield (*row[:lead], row[lead] * 1_000_000 + row[lead + 1], *row[lead + 2 :])

    def budget_breakdown(self, start_ms: int, end_ms: int, by: str, *, customer: str | None = None,
                         feature: str | None = None) -> list[tuple[str | None, int]]:  # fmt: skip
        """Priced cost per customer (by='customer') or feature (by='feature') in [start_ms, end_ms), within one
        customer or feature when given: [(name or None, cost picodollars)], biggest first."""
        column = {"customer": "x.customer", "feature": "x.feature"}[by]
        where, args = [], []
        for col, table, key_col, value in (("x.customer", "customers", "customer_id", customer), ("x.feature", "features", "name", feature)):
            if value is not None:
                ids = self._ids(table, key_col, [value])
                if not ids:
                    return []
                where.append(f"{col} = ?")
                args.append(next(iter(ids)))
        cond = "".join(f" AND {w}" for w in where)
        totals: dict[int, int] = {}
        days, edges = _window_plan(start_ms, end_ms)
        queries = []
        if days:
            queries.append((f"SELECT {column}, sum(x.cost / 1000000), sum(x.cost % 1000000) FROM rollup_daily x"
                            f" WHERE x.day >= ? AND x.day < ?{cond} GROUP BY 1", (days.start, days.stop, *args), 1))  # fmt: skip
        for a, z, sign in edges:
            where, wargs = self.ts_filter("x", a, z)
            queries.append((f"SELECT {column}, sum(coalesce(x.cost, 0) / 1000000), sum(coalesce(x.cost, 0) % 1000000)"
                            f" FROM events x WHERE {' AND '.join(where)}{cond} GROUP BY 1", (*wargs, *args), sign))  # fmt: skip
        for sql, qargs, sign in queries:
            for ident, micro, rest in self.conn.execute(sql, qargs):
                totals[ident] = totals.get(ident, 0) + sign * (micro * 1_000_000 + rest)
        table, key_col = ("customers", "customer_id") if by == "customer" else ("features", "name")
        names = self._names_by_id(table, key_col, totals)
        return sorted(((names.get(i), cost) for i, cost in totals.items() if cost), key=lambda r: (-r[1], r[0] or ""))

    def _names_by_id(self, table: str, column: str, ids: Iterable[int]) -> dict[int, Any]:
        """{id: name} of the ids that exist in a dimension table (id 0, none, never does), in chunks of 900 ids
        (`table` and `column` are ours, never user input)."""
        wanted = [i for i in ids if i]
        out: dict[int, Any] = {}
        for i in range(0, len(wanted), 900):
            chunk = wanted[i : i + 900]
            out.update(self.conn.execute(f"SELECT id, {column} FROM {table} WHERE id IN ({','.join('?' * len(chunk))})", chunk).fetchall())
        return out

    def _ids(self, table: str, column: str, names: Iterable[str]) -> dict[int, str]:
        """{id: name} of the names that exist in a dimension table (`table` and `column` are ours, never user input)."""
        out: dict[int, str] = {}
        for name in set(names):
            row = self.conn.execute(f"SELECT id FROM {table} WHERE {column} = ?", (name,)).fetchone()
            if row is not None:
                out[row[0]] = name
        return out

    def claim_alert(self, budget: str, level: str, period_start: int, channel: str, *, blocking_levels: list[str],
                    now_ms: int, stale_ms: int) -> str:  # fmt: skip
        """Take the right to send one alert, in a write transaction, so overlapping runs never both send it.

        Returns 'claimed', or why not: 'sent' (this level or a higher one already went out in the period on
        this channel) or 'in_progress' (another run claimed it less than `stale_ms` ago and may be sending).
        A failed send, or a pending claim older than `stale_ms` (a run that crashed), is claimed again.
        """
        with self.write():
            marks = ",".join("?" * len(blocking_levels))
            rows = self.conn.execute(
                f"SELECT state, claimed_at FROM budget_alerts WHERE budget = ? AND period_start = ? AND channel = ?"
                f" AND level IN ({marks})",
                (budget, period_start, channel, *blocking_levels),
            ).fetchall()
            if any(state == "sent" for state, _ in rows):
                return "sent"
            if any(state == "pending" and claimed > now_ms - stale_ms for state, claimed in rows):
                return "in_progress"
            self.conn.execute(
                "INSERT INTO budget_alerts (budget, level, period_start, channel, state, claimed_at) VALUES (?, ?, ?, ?, 'pending', ?)"
                " ON CONFLICT (budget, level, period_start, channel) DO UPDATE SET state = 'pending',"
                " claimed_at = excluded.claimed_at, attempts = attempts + 1",
                (budget, level, period_start, channel, now_ms),
            )
        return "claimed"

    def finish_alert(self, budget: str, level: str, period_start: int, channel: str, *, error: str | None, now_ms: int) -> None:
        """Mark a claimed alert sent, or failed with its (redacted) error so that the next run retries it."""
        with self.write():
            if error is None:
                self.conn.execute(
                    "UPDATE budget_alerts SET state = 'sent', sent_at = ?, last_error = NULL"
                    " WHERE budget = ? AND level = ? AND period_start = ? AND channel = ?",
                    (now_ms, budget, level, period_start, channel),
                )
            else:
                self.conn.execute(
                    "UPDATE budget_alerts SET state = 'failed', last_error = ?"
                    " WHERE budget = ? AND level = ? AND period_start = ? AND channel = ?",
                    (error, budget, level, period_start, channel),
                )

    def alert_rows(self) -> list[tuple[str, str, int, str, str, int, int | None, int, str | None]]:
        """(budget, level, period_start, channel, state, claimed_at, sent_at, attempts, last_error) of every alert."""
        return self.conn.execute(
            "SELECT budget, level, period_start, channel, state, claimed_at, sent_at, attempts, last_error FROM budget_alerts"
            " ORDER BY budget, period_start, level, channel"
        ).fetchall()

    # ---- simulate ------------------------------------------------------------------------------

    def usage_vectors(self, *, start_ms: int | None, end_ms: int | None, feature: str | None = None
                      ) -> list[tuple[Any, ...]]:  # fmt: skip
        """Calls grouped by identical per-call vector, for re-pricing each distinct vector once: rows of
        (feature, vendor, model, service_tier, input, output, cached, cache_write, cache_write_1h, reasoning,
        units, calls, billed cost picodollars, unpriced calls, extra cost picodollars, first ts, last ts).

        The group is the whole vector (with service tier and units), never a sum of tokens: a call's
        long-context tier depends on its own prompt size, so only identical calls may share a price.
        Grouped on the integer ids (no join in the big query); names are looked up afterwards.
        """
        where, args = self.ts_filter("x", start_ms, end_ms)
        if feature is not None:
            row = self.conn.execute("SELECT id FROM features WHERE name = ?", (feature,)).fetchone()
            if row is None:
                return []
            where.append("feature = ?")
            args.append(row[0])
        group = ("feature, model, service_tier, input_tokens, output_tokens, cached_input_tokens, cache_write_tokens,"
                 " cache_write_1h_tokens, reasoning_tokens, units")  # fmt: skip
        # costs are split into whole micro-dollars and the rest so no SUM can overflow 64 bits
        sql = (
            f"SELECT {group}, count(*), sum(coalesce(cost, 0) / 1000000), sum(coalesce(cost, 0) % 1000000),"
            " sum(cost IS NULL), sum(coalesce(extra_cost, 0) / 1000000), sum(coalesce(extra_cost, 0) % 1000000),"
            " min(ts), max(ts) FROM events_wide x"
            + (" WHERE " + " AND ".join(where) if where else "")
            + f" GROUP BY {group}"
        )
        features = dict(self.conn.execute("SELECT id, name FROM features").fetchall())
        models = self.model_names()
        out = []
        for r in self.conn.execute(sql, args):
            vendor, model = models[r[1]]
            out.append((features.get(r[0]), vendor, model, *r[2:11], r[11] * 1_000_000 + r[12], r[13],
                        r[14] * 1_000_000 + r[15], r[16], r[17]))  # fmt: skip
        return out

    # ---- stripe (sync-stripe, stripe apply-event, customers, fx) --------------------------------
    # Stripe objects are kept as ids and amounts only; revenue rows (source 'stripe', ref = Stripe id)
    # are rebuilt from them per invoice. Methods that write run inside the caller's `write()`.

    STRIPE_OBJECT_TABLES = ("stripe_customers", "stripe_invoices", "stripe_credit_notes", "stripe_refunds", "stripe_disputes")  # rows with observed_at

    def stripe_cursor(self, obj: str) -> int | None:
        row = self.conn.execute("SELECT created_gte FROM stripe_cursors WHERE object = ?", (obj,)).fetchone()
        return row[0] if row else None

    def set_stripe_cursor(self, obj: str, created_gte: int) -> None:
        """Move a cursor forward; never backward (two overlapping runs may finish out of order)."""
        self.conn.execute(
            "INSERT INTO stripe_cursors (object, created_gte, synced_at) VALUES (?, ?, ?) ON CONFLICT (object) DO UPDATE"
            " SET created_gte = max(created_gte, excluded.created_gte), synced_at = excluded.synced_at",
            (obj, created_gte, _now_iso()),
        )

    def stripe_observed_at(self, table: str, object_id: str) -> int | None:
        """When the stored state of a Stripe object was observed (unix seconds), or None if it is not stored."""
        if table not in self.STRIPE_OBJECT_TABLES:
            raise ValueError(f"not a Stripe object table: {table!r}")
        row = self.conn.execute(f"SELECT observed_at FROM {table} WHERE id = ?", (object_id,)).fetchone()
        return row[0] if row else None

    def _stripe_row(self, table: str, object_id: str) -> dict[str, Any] | None:
        cur = self.conn.execute(f"SELECT * FROM {table} WHERE id = ?", (object_id,))
        row = cur.fetchone()
        return dict(zip([d[0] for d in cur.description], row)) if row else None

    def _stripe_upsert(self, table: str, row: dict[str, Any]) -> None:
        cols = list(row)
        self.conn.execute(
            f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))}) ON CONFLICT (id) DO UPDATE SET "
            + ", ".join(f"{c} = excluded.{c}" for c in cols if c != "id"),
            [row[c] for c in cols],
        )

    def stripe_customer(self, customer: str) -> dict[str, Any] | None:
        return self._stripe_row("stripe_customers", customer)

    def upsert_stripe_customer(self, row: dict[str, Any], observed_at: int) -> None:
        self._stripe_upsert("stripe_customers", {**row, "observed_at": observed_at})

    def stripe_app_customer(self, customer: str) -> tuple[str, str]:
        """(app customer id, how it was found) of a Stripe customer: `customers map`, else its metadata, else its own id."""
        row = self.conn.execute("SELECT app_customer_id FROM stripe_customer_map WHERE stripe_customer = ?", (customer,)).fetchone()
        if row:
            return row[0], "map"
        row = self.conn.execute("SELECT app_customer_id FROM stripe_customers WHERE id = ?", (customer,)).fetchone()
        if row and row[0]:
            return row[0], "metadata"
        return customer, "stripe id"

    def set_stripe_customer_map(self, customer: str, app_customer_id: str | None) -> None:
        if app_customer_id is None:
            self.conn.execute("DELETE FROM stripe_customer_map WHERE stripe_customer = ?", (customer,))
            return
        self.conn.execute(
            "INSERT INTO stripe_customer_map (stripe_customer, app_customer_id, created_at) VALUES (?, ?, ?)"
            " ON CONFLICT (stripe_customer) DO UPDATE SET app_customer_id = excluded.app_customer_id, created_at = excluded.created_at",
            (customer, app_customer_id, _now_iso()),
        )

    def set_customer_attributes(self, source: str, app_customer_id: str | None, segment: str | None, plan: str | None) -> None:
        """Record the segment and plan a source (e.g. 'stripe:cus_...') gives an app customer; replaces what it gave before."""
        self.conn.execute("DELETE FROM customer_attributes WHERE source = ?", (source,))
        if app_customer_id and (segment or plan):
            self.conn.execute(
                "INSERT INTO customer_attributes (customer, segment, plan, source) VALUES (?, ?, ?, ?) ON CONFLICT (customer)"
                " DO UPDATE SET segment = excluded.segment, plan = excluded.plan, source = excluded.source",
                (self.dim_id("customers", app_customer_id), segment, plan, source),
            )

    def stripe_invoice(self, invoice: str) -> dict[str, Any] | None:
        return self._stripe_row("stripe_invoices", invoice)

    def upsert_stripe_invoice(self, row: dict[str, Any], lines: list[dict[str, Any]] | None, observed_at: int) -> None:
        """Store an invoice and, unless `lines` is None, replace its lines."""
        self._stripe_upsert("stripe_invoices", {**row, "observed_at": observed_at})
        if lines is None:
            return
        self.conn.execute("DELETE FROM stripe_invoice_lines WHERE invoice = ?", (row["id"],))
        self.conn.executemany(
            "INSERT INTO stripe_invoice_lines (id, invoice, amount_minor, period_start, period_end) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET invoice = excluded.invoice, amount_minor = excluded.amount_minor,"
            " period_start = excluded.period_start, period_end = excluded.period_end",
            [(li["id"], row["id"], li["amount_minor"], li["period_start"], li["period_end"]) for li in lines],
        )

    def mark_stripe_invoice_deleted(self, invoice: str, observed_at: int) -> None:
        self.conn.execute("UPDATE stripe_invoices SET status = 'deleted', observed_at = ? WHERE id = ?", (observed_at, invoice))

    def stripe_credit_note(self, credit_note: str) -> dict[str, Any] | None:
        return self._stripe_row("stripe_credit_notes", credit_note)

    def upsert_stripe_credit_note(self, row: dict[str, Any], observed_at: int) -> None:
        self._stripe_upsert("stripe_credit_notes", {**row, "observed_at": observed_at})

    def stripe_refund(self, refund: str) -> dict[str, Any] | None:
        return self._stripe_row("stripe_refunds", refund)

    def upsert_stripe_refund(self, row: dict[str, Any], observed_at: int) -> None:
        self._stripe_upsert("stripe_refunds", {**row, "observed_at": observed_at})

    def set_stripe_payment(self, payment: str, invoice: str) -> None:
        self.conn.execute(
            "INSERT INTO stripe_payments (payment, invoice) VALUES (?, ?) ON CONFLICT (payment) DO UPDATE SET invoice = excluded.invoice",
            (payment, invoice),
        )

    def stripe_payment_invoice(self, payment: str) -> str | None:
        row = self.conn.execute("SELECT invoice FROM stripe_payments WHERE payment = ?", (payment,)).fetchone()
        return row[0] if row else None

    def stripe_invoice_family(self, invoice: str
                              ) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]] | None:  # fmt: skip
        """An invoice with its lines, credit notes and refunds (store rows as dicts), or None if it is not stored."""
        inv = self.stripe_invoice(invoice)
        if inv is None:
            return None

        def rows(sql: str) -> list[dict[str, Any]]:
            cur = self.conn.execute(sql, (invoice,))
            names = [d[0] for d in cur.description]
            return [dict(zip(names, r)) for r in cur]

        return (
            inv,
            rows("SELECT * FROM stripe_invoice_lines WHERE invoice = ? ORDER BY id"),
            rows("SELECT * FROM stripe_credit_notes WHERE invoice = ? ORDER BY id"),
            rows("SELECT * FROM stripe_refunds WHERE invoice = ? ORDER BY id"),
        )

    def stripe_invoice_ids(self, *, customer: str | None = None, currencies: list[str] | None = None) -> list[str]:
        where, args = [], []
        if customer is not None:
            where.append("customer = ?")
            args.append(customer)
        if currencies is not None:
            where.append(f"currency IN ({','.join('?' * len(currencies))})")
            args.extend(currencies)
        sql = "SELECT id FROM stripe_invoices" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id"
        return [r[0] for r in self.conn.execute(sql, args)]

    def stripe_invoices_to_refetch(self, *, created_before: int, drafts_since: int) -> list[str]:
        """Invoices that may still change but are older than the listing window: open and uncollectible ones (either
        may be paid or voided later), and recent drafts."""
        return [r[0] for r in self.conn.execute(
            "SELECT id FROM stripe_invoices WHERE created < ? AND (status IN ('open', 'uncollectible') OR (status = 'draft' AND created >= ?))"
            " ORDER BY id", (created_before, drafts_since))]  # fmt: skip

    def stripe_counted_invoices(self, include_open: bool) -> int:
        statuses = ("paid", "open") if include_open else ("paid",)
        sql = f"SELECT count(*) FROM stripe_invoices WHERE status IN ({','.join('?' * len(statuses))})"
        return self.conn.execute(sql, statuses).fetchone()[0]

    def replace_stripe_revenue(self, refs: list[str], app_customer_id: str | None, entries: list[Any]) -> int:
        """Make the 'stripe' revenue rows of these refs exactly `entries` (RevenueEntry: ref, day, amount_minor,
        currency, usd_cents), for one app customer. Returns how many refs changed; unchanged refs are not rewritten."""
        refs = sorted(set(refs) | {e.ref for e in entries})
        if not refs:
            return 0
        customer = self.dim_id("customers", app_customer_id) if entries else 0
        new: dict[str, list[tuple[Any, ...]]] = {r: [] for r in refs}
        for e in entries:
            new[e.ref].append((customer, (e.day - EPOCH_DATE).days, e.amount_minor, e.currency, e.usd_cents))
        old: dict[str, list[tuple[Any, ...]]] = {r: [] for r in refs}
        for i in range(0, len(refs), 900):
            chunk = refs[i : i + 900]
            for ref, *values in self.conn.execute(
                "SELECT ref, customer, day, amount_minor, currency, usd_cents FROM revenue"
                f" WHERE source = 'stripe' AND ref IN ({','.join('?' * len(chunk))})", chunk):  # fmt: skip
                old[ref].append(tuple(values))
        changed = [r for r in refs if sorted(old[r], key=repr) != sorted(new[r], key=repr)]
        for i in range(0, len(changed), 900):
            chunk = changed[i : i + 900]
            self.conn.execute(f"DELETE FROM revenue WHERE source = 'stripe' AND ref IN ({','.join('?' * len(chunk))})", chunk)
        self.conn.executemany(
            "INSERT INTO revenue (customer, day, amount_minor, currency, usd_cents, source, ref) VALUES (?, ?, ?, ?, ?, 'stripe', ?)",
            [(*row, ref) for ref in changed for row in new[ref]],
        )
        return len(changed)

    def stripe_revenue_totals(self) -> list[tuple[str, int, int, int]]:
        """(currency, amount minor, converted USD cents, unconverted minor) of all Stripe revenue, per currency."""
        return self.conn.execute(
            "SELECT currency, sum(amount_minor), coalesce(sum(usd_cents), 0),"
            " coalesce(sum(CASE WHEN usd_cents IS NULL THEN amount_minor END), 0)"
            " FROM revenue WHERE source = 'stripe' GROUP BY currency ORDER BY currency"
        ).fetchall()

    def stripe_unmapped_customers(self) -> list[str]:
        """Stripe customers with revenue whose app id is their own Stripe id (no metadata key, no map)."""
        return [r[0] for r in self.conn.execute(
            "SELECT DISTINCT i.customer FROM stripe_invoices i JOIN customers c ON c.customer_id = i.customer"
            " LEFT JOIN stripe_customer_map m ON m.stripe_customer = i.customer"
            " LEFT JOIN stripe_customers s ON s.id = i.customer"
            " WHERE m.stripe_customer IS NULL AND s.app_customer_id IS NULL"
            " AND EXISTS (SELECT 1 FROM revenue r WHERE r.source = 'stripe' AND r.customer = c.id) ORDER BY 1")]  # fmt: skip

    def stripe_customer_rows(self) -> list[dict[str, Any]]:
        """Every Stripe customer seen (or mapped): its app id, how it was mapped, segment, plan, deleted."""
        cur = self.conn.execute(
            "SELECT s.id, s.app_customer_id AS metadata_id, m.app_customer_id AS mapped_id, s.segment, s.plan, s.deleted"
            " FROM stripe_customers s LEFT JOIN stripe_customer_map m ON m.stripe_customer = s.id"
            " UNION SELECT m.stripe_customer, NULL, m.app_customer_id, NULL, NULL, 0 FROM stripe_customer_map m"
            " WHERE m.stripe_customer NOT IN (SELECT id FROM stripe_customers) ORDER BY 1"
        )
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r)) for r in cur]

    def customer_revenue_and_usage(self) -> dict[str, dict[str, int]]:
        """Per app customer id: Stripe revenue in USD cents and unconverted rows, all revenue rows, per-event
        revenue cents, and events. Customers with none of these are left out."""
        out: dict[str, dict[str, int]] = {}

        def acc(name: str) -> dict[str, int]:
            return out.setdefault(name, {"stripe_usd_cents": 0, "stripe_unconverted_rows": 0, "revenue_rows": 0,
                                         "event_revenue_cents": 0, "events": 0})  # fmt: skip

        for name, source, usd, unconverted, n in self.conn.execute(
            "SELECT c.customer_id, r.source = 'stripe', coalesce(sum(r.usd_cents), 0), sum(r.usd_cents IS NULL), count(*)"
            " FROM revenue r JOIN customers c ON c.id = r.customer GROUP BY 1, 2"):  # fmt: skip
            a = acc(name)
            a["revenue_rows"] += n
            if source:
                a["stripe_usd_cents"] += usd
                a["stripe_unconverted_rows"] += unconverted
        for name, events, cents in self.conn.execute(
            "SELECT c.customer_id, sum(x.events), sum(x.revenue_usd_cents) FROM rollup_daily x"
            " JOIN customers c ON c.id = x.customer GROUP BY 1"):  # fmt: skip
            a = acc(name)
            a["events"] += events
            a["event_revenue_cents"] += cents
        return out

    def set_fx_rate(self, currency: str, day: date, usd_per_unit: str, source: str) -> None:
        self.conn.execute(
            "INSERT INTO fx_rates (currency, day, usd_per_unit, source) VALUES (?, ?, ?, ?) ON CONFLICT (currency, day)"
            " DO UPDATE SET usd_per_unit = excluded.usd_per_unit, source = excluded.source",
            (currency, (day - EPOCH_DATE).days, usd_per_unit, source),
        )

    def fx_rate(self, currency: str, day: date | int, max_age_days: int) -> str | None:
        """USD per unit of `currency` on a UTC day (a date or day number): that day's rate, else the latest up to
        `max_age_days` before it."""
        n = day if isinstance(day, int) else (day - EPOCH_DATE).days
        row = self.conn.execute(
            "SELECT usd_per_unit FROM fx_rates WHERE currency = ? AND day <= ? AND day >= ? ORDER BY day DESC LIMIT 1",
            (currency, n, n - max_age_days),
        ).fetchone()
        return row[0] if row else None

    def unconverted_revenue(self, currencies: list[str]) -> list[tuple[int, int, int, str]]:
        """(row id, day number, amount minor, currency) of non-Stripe revenue rows without USD in these currencies.
        (Stripe rows are rebuilt per invoice instead, so a line is converted once, not day by day.)"""
        return self.conn.execute(
            f"SELECT id, day, amount_minor, currency FROM revenue WHERE usd_cents IS NULL AND source != 'stripe'"
            f" AND currency IN ({','.join('?' * len(currencies))}) ORDER BY id",
            currencies,
        ).fetchall()

    def set_revenue_usd(self, updates: list[tuple[int, int]]) -> None:
        """Set (usd cents, row id) on revenue rows."""
        self.conn.executemany("UPDATE revenue SET usd_cents = ? WHERE id = ?", updates)

    def unconverted_totals(self) -> dict[str, int]:
        """Minor units of all revenue still without USD, per currency."""
        return dict(self.conn.execute(
            "SELECT currency, sum(amount_minor) FROM revenue WHERE usd_cents IS NULL GROUP BY currency ORDER BY currency"
        ).fetchall())  # fmt: skip

    # ---- export (read-only) --------------------------------------------------------------------

    @contextmanager
    def read_snapshot(self) -> Iterator[None]:
        """Every read inside sees one state of the store (one read transaction), whatever ingest commits meanwhile."""
        self.conn.execute("BEGIN")
        try:
            yield
        finally:
            self.conn.execute("COMMIT")  # nothing was written: this only ends the snapshot

    def export_rows(self, table: str, *, start_ms: int | None, end_ms: int | None, chunk_rows: int
                    ) -> tuple[list[str], Iterator[list[tuple[Any, ...]]]]:  # fmt: skip
        """Column names, and chunks of the rows of `events` or `rollup_daily` in [start_ms, end_ms) (dimensions as
        ids: see `dimension_names`; costs in picodollars), so memory stays flat whatever the store holds.

        Rollups come in day order. Events come a UTC month at a time, months in order, each month in id (ingest)
        order: the zone map finds a month's blocks, and no sort is needed. A chunk never spans two months."""
        if table == "events":
            cols = ("id, ts, customer, feature, model, segment, input_tokens, output_tokens, cached_input_tokens,"
                    " cache_write_tokens, cache_write_1h_tokens, reasoning_tokens, service_tier, revenue_minor, currency,"
                    " units, tags, cost, extra_cost, reported_cost, source, line, input_audio_tokens, output_audio_tokens,"
                    " output_image_tokens, cached_audio_tokens, price_id")  # fmt: skip
            cur = self.conn.execute(f"SELECT {cols} FROM events_wide WHERE 0")
            columns = [d[0] for d in cur.description]
            lo, hi = self.conn.execute("SELECT min(min_ts), max(max_ts) + 1 FROM event_blocks").fetchone()
            if start_ms is not None and lo is not None:
                lo = max(lo, start_ms)
            if end_ms is not None and hi is not None:
                hi = min(hi, end_ms)

            def event_chunks() -> Iterator[list[tuple[Any, ...]]]:
                if lo is None or hi is None or lo >= hi:
                    return
                a = lo
                while a < hi:
                    first = datetime.fromtimestamp(a // 1000, timezone.utc).date().replace(day=1)
                    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
                    z = min(hi, (following - EPOCH_DATE).days * DAY_MS)
                    # one query per id range (in order, disjoint): each is a plain rowid range scan, never a sort
                    for ids in self.id_ranges([(a, z)]) or [(None, None)]:
                        where, args = [], []
                        _time_range(where, args, "x.ts", a, z)
                        if ids[0] is not None:
                            where.insert(0, "x.id BETWEEN ? AND ?")
                            args[:0] = ids
                        month = self.conn.execute(f"SELECT {cols} FROM events_wide x WHERE {' AND '.join(where)} ORDER BY x.id", args)
                        while rows := month.fetchmany(chunk_rows):
                            yield rows
                    a = z

            return columns, event_chunks()
        if table != "rollup_daily":
            raise ValueError(f"unknown table {table!r}")
        bounds = tuple(None if v is None else -(-v // DAY_MS) for v in (start_ms, end_ms))  # whole UTC days only
        sql = ("SELECT day, customer, feature, model, segment, events, input_tokens, output_tokens, cached_input_tokens,"
               " cache_write_tokens, reasoning_tokens, cost, unpriced_events, revenue_usd_cents FROM rollup_daily")  # fmt: skip
        where = [clause for clause, v in zip(("day >= ?", "day < ?"), bounds) if v is not None]
        cur = self.conn.execute(sql + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY day, customer, feature, model, segment",
                                [v for v in bounds if v is not None])  # fmt: skip
        columns = [d[0] for d in cur.description]

        def chunks() -> Iterator[list[tuple[Any, ...]]]:
            while rows := cur.fetchmany(chunk_rows):
                yield rows

        return columns, chunks()

    def dimension_names(self) -> dict[str, dict[int, Any]]:
        """id -> name of each dimension: customer, feature, segment, source (its path), model ((vendor, model)).
        Id 0 (none) is absent."""
        return {
            "customer": dict(self.conn.execute("SELECT id, customer_id FROM customers")),
            "feature": dict(self.conn.execute("SELECT id, name FROM features")),
            "segment": dict(self.conn.execute("SELECT id, name FROM segments")),
            "source": dict(self.conn.execute("SELECT id, path FROM sources")),
            "model": {mid: (vendor, model) for mid, vendor, model in self.conn.execute("SELECT id, vendor, model FROM models")},
        }

    # ---- doctor (read-only checks) -------------------------------------------------------------

    def integrity_problems(self, *, full: bool = False) -> list[str]:
        """SQLite's own check of the file: [] when it is sound, else its first messages. `full` also checks
        every index against its table (PRAGMA integrity_check); the default is the quicker quick_check."""
        pragma = "integrity_check" if full else "quick_check"
        rows = [r[0] for r in self.conn.execute(f"PRAGMA {pragma}(20)")]
        return [] if rows == ["ok"] else [line for r in rows for line in str(r).splitlines()][:20]

    def rollup_mismatches(self, limit: int = 5) -> tuple[int, list[tuple[Any, ...]]]:
        """How many (UTC day, customer, feature, model, segment) cells of `rollup_daily` differ from the sum of
        their events (either side missing counts too), and up to `limit` of them as (day, customer, feature,
        model, segment) ids."""
        from_events = (
            "SELECT ts / 86400000, customer, feature, model, segment, count(*), sum(input_tokens), sum(output_tokens),"
            " sum(cached_input_tokens), sum(cache_write_tokens), sum(reasoning_tokens), sum(coalesce(cost, 0)),"
            " sum(cost IS NULL), sum(CASE WHEN currency = 'usd' THEN coalesce(revenue_minor, 0) ELSE 0 END)"
            " FROM events_wide GROUP BY 1, 2, 3, 4, 5"
        )
        rollups = (
            "SELECT day, customer, feature, model, segment, events, input_tokens, output_tokens, cached_input_tokens,"
            " cache_write_tokens, reasoning_tokens, cost, unpriced_events, revenue_usd_cents FROM rollup_daily"
        )
        cells: set[tuple[Any, ...]] = set()
        for a, b in ((from_events, rollups), (rollups, from_events)):
            cells.update(tuple(r[:5]) for r in self.conn.execute(f"SELECT * FROM ({a} EXCEPT {b})"))
        # the per-customer rollup against the five-dimension one: a cell of it is (day, customer, -1, -1, -1); costs
        # compared as Python integers (a customer's day may pass 64 bits)
        sums = ("sum(events), sum(input_tokens), sum(output_tokens), sum(cached_input_tokens), sum(cache_write_tokens),"
                " sum(reasoning_tokens), sum(unpriced_events), sum(revenue_usd_cents)")  # fmt: skip
        from_daily = {(r[0], r[1]): (*r[2:10], r[10] * 1_000_000 + r[11]) for r in self.conn.execute(
            f"SELECT day, customer, {sums}, sum(cost / 1000000), sum(cost % 1000000) FROM rollup_daily GROUP BY 1, 2")}  # fmt: skip
        per_customer = {(r[0], r[1]): (*r[2:10], r[10] * 1_000_000 + r[11]) for r in self.conn.execute(
            f"SELECT day, customer, {sums}, sum(cost_micro), sum(cost_rest) FROM rollup_customer_daily GROUP BY 1, 2")}  # fmt: skip
        cells.update((d, c, -1, -1, -1) for d, c in from_daily.keys() | per_customer.keys()
                     if from_daily.get((d, c)) != per_customer.get((d, c)))  # fmt: skip
        cells.update((m, c, -2, -2, -2) for m, c in self._monthly_mismatches())  # m010 (#20): (month's first day, customer)
        return len(cells), sorted(cells)[:limit]

    def applied_migrations(self) -> list[str]:
        """Names of the schema migrations this store has had, in order."""
        return [r[0] for r in self.conn.execute("SELECT name FROM _sqlite_migrations WHERE migration_set = 'margindash' ORDER BY id")]

    def last_stripe_sync(self) -> str | None:
        """When sync-stripe last completed (ISO 8601 UTC), or None if it never ran on this store."""
        return self.conn.execute("SELECT max(synced_at) FROM stripe_cursors").fetchone()[0]

    def source_rows(self) -> list[tuple[str, str | None, int, int, str | None]]:
        """(path, identity, byte offset, line, updated_at) of every ingest checkpoint, by path."""
        return self.conn.execute("SELECT path, identity, offset, line, updated_at FROM sources ORDER BY path, updated_at").fetchall()


    # -- issue 16: request ids --

    def request_id_text_from(self) -> int:
        """The first event id whose request id is kept as text (m005); calls before it have only the id's hash."""
        value = self.get_meta("request_id_text_from_event")
        return int(value) if value else 1

    def unconverted_revenue_days(self, *, start_ms: int | None, end_ms: int | None, customer: str | None = None
                                 ) -> list[tuple[str | None, date, int]]:  # fmt: skip
        """(customer id, UTC day, revenue rows) of revenue with no USD amount yet (no fx rate), as `revenue_facts`
        selects days: the report flags the rows that revenue would reach."""
        where, args = ["r.usd_cents IS NULL"], []
        if start_ms is not None:
            where.append("r.day >= ?")
            args.append(start_ms // DAY_MS)
        if end_ms is not None:
            where.append("r.day < ?")
            args.append(-(-end_ms // DAY_MS))
        if customer is not None:
            where.append("c.customer_id = ?")
            args.append(customer)
        sql = ("SELECT c.customer_id, r.day, count(*) FROM revenue r LEFT JOIN customers c ON c.id = r.customer WHERE "
               + " AND ".join(where) + " GROUP BY r.customer, r.day")  # fmt: skip
        return [(cust, EPOCH_DATE + timedelta(days=day), n) for cust, day, n in self.conn.execute(sql, args)]

    def cell_facts(self, groups: list[str], *, start_ms: int | None, end_ms: int | None, tz: tzinfo,
                   customer: str | None = None) -> Iterator[tuple[Any, ...]]:  # fmt: skip
        """Usage at the finest cell (groups: reports.CELL_DIMS, feature/vendor/model/segment/plan, then any tags) as tuples
        in `reports.UsageFact`'s shape: (customer id, (group values...), local day, events, input, output, cost,
        unpriced, revenue cents). Without tags, in UTC and on day boundaries these are the rows of `rollup_daily` as
        they are, read with no GROUP BY and named in Python (several times faster than grouping them again in SQL);
        otherwise `usage_facts` serves them."""
        day_aligned = (start_ms is None or start_ms % DAY_MS == 0) and (end_ms is None or end_ms % DAY_MS == 0)
        if list(groups) != ["feature", "vendor", "model", "segment", "plan"] or tz is not timezone.utc or not day_aligned:
            n = len(groups)
            for row in self.usage_facts(groups, start_ms=start_ms, end_ms=end_ms, tz=tz, customer=customer):
                yield (row[0], tuple(row[1 : 1 + n]), *row[1 + n :])
            return
        where: list[str] = []
        args: list[Any] = []
        _time_range(where, args, "day", None if start_ms is None else start_ms // DAY_MS, None if end_ms is None else end_ms // DAY_MS)
        if customer is not None:
            where.append("customer = (SELECT id FROM customers WHERE customer_id = ?)")
            args.append(customer)
        rows = self.conn.execute(
            "SELECT day, customer, feature, model, segment, events, input_tokens, output_tokens, cost, unpriced_events,"
            " revenue_usd_cents FROM rollup_daily" + (" WHERE " + " AND ".join(where) if where else ""), args).fetchall()  # fmt: skip
        models = self.model_names()
        features = dict(self.conn.execute("SELECT id, name FROM features"))
        segments = dict(self.conn.execute("SELECT id, name FROM segments"))
        attributes = dict(self.conn.execute("SELECT customer, segment FROM customer_attributes WHERE segment IS NOT NULL"))
        plans = dict(self.conn.execute("SELECT customer, plan FROM customer_attributes WHERE plan IS NOT NULL"))
        customers = self._names_by_id("customers", "customer_id", {r[1] for r in rows})
        days: dict[int, date] = {}
        for day, cust, feature, model, segment, ev, inp, out, cost, unpriced, rev in rows:
            d = days.get(day)
            if d is None:
                d = days[day] = EPOCH_DATE + timedelta(days=day)
            vendor, model_name = models[model]
            seg = segments.get(segment) if segment else attributes.get(cust)  # a call's own segment wins
            yield (customers.get(cust), (features.get(feature), vendor, model_name, seg, plans.get(cust)), d, ev, inp, out, cost,
                   unpriced, rev)  # fmt: skip

    def customer_attribute(self, name: str) -> dict[str, str]:
        """customer id -> its `segment` or `plan` from Stripe metadata (customer_attributes), for revenue with no calls."""
        column = {"segment": "segment", "plan": "plan"}[name]  # ours, never user input
        return dict(self.conn.execute(
            f"SELECT c.customer_id, ca.{column} FROM customer_attributes ca JOIN customers c ON c.id = ca.customer"
            f" WHERE ca.{column} IS NOT NULL"))  # fmt: skip

    def event_id_by_response_id(self, response_id: str) -> int | None:
        """The call whose provider response id (kept beside a request id) is `response_id`; a scan, for the rare
        look-up by a response id of a call that also has a request id."""
        row = self.conn.execute("SELECT id FROM events WHERE response_id = ? LIMIT 1", (response_id,)).fetchone()
        return row[0] if row else None

    # -- issue 19: dashboard --

    def data_span_days(self, *, start_ms: int | None = None, end_ms: int | None = None) -> tuple[int | None, int | None]:
        """The first and last UTC day numbers (days since 1970-01-01) with a call or revenue in [start_ms, end_ms),
        or (None, None) when there is neither."""
        lo = None if start_ms is None else start_ms // DAY_MS
        hi = None if end_ms is None else -(-end_ms // DAY_MS)
        where = " WHERE day >= coalesce(?, day) AND day < coalesce(?, day + 1)"
        sql = (f"SELECT min(d), max(d) FROM (SELECT min(day) AS d FROM rollup_customer_daily{where}"
               f" UNION ALL SELECT max(day) FROM rollup_customer_daily{where}"
               f" UNION ALL SELECT min(day) FROM revenue{where} UNION ALL SELECT max(day) FROM revenue{where})")
        first, last = self.conn.execute(sql, [lo, hi] * 4).fetchone()
        return first, last
    # -- issue 15: Stripe refunds and disputes split over the invoices they reverse --

    def _dict_rows(self, sql: str, args: tuple[Any, ...] | list[Any] = ()) -> list[dict[str, Any]]:
        cur = self.conn.execute(sql, args)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r)) for r in cur]

    def stripe_reversal_shares(self, reversal: str) -> dict[str, int]:
        """{invoice: amount} of a refund or dispute: the part of it booked on each invoice ({} = not linked)."""
        return dict(self.conn.execute("SELECT invoice, amount FROM stripe_reversal_shares WHERE reversal = ?", (reversal,)).fetchall())

    def set_stripe_reversal_shares(self, reversal: str, shares: dict[str, int]) -> None:
        self.conn.execute("DELETE FROM stripe_reversal_shares WHERE reversal = ?", (reversal,))
        self.conn.executemany("INSERT INTO stripe_reversal_shares (reversal, invoice, amount) VALUES (?, ?, ?)",
                              [(reversal, inv, amount) for inv, amount in sorted(shares.items())])  # fmt: skip

    def stripe_invoice_reversals(self, invoice: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(refunds, disputes) booked on an invoice: their store rows with `amount` set to the invoice's share and
        `shares` to how many invoices the reversal is split over."""
        def q(table: str) -> list[dict[str, Any]]:
            return self._dict_rows(
                f"SELECT t.*, s.amount AS amount, (SELECT count(*) FROM stripe_reversal_shares x WHERE x.reversal = t.id) AS shares"
                f" FROM {table} t JOIN stripe_reversal_shares s ON s.reversal = t.id WHERE s.invoice = ? ORDER BY t.id", (invoice,))  # fmt: skip
        return q("stripe_refunds"), q("stripe_disputes")

    def stripe_dispute(self, dispute: str) -> dict[str, Any] | None:
        return self._stripe_row("stripe_disputes", dispute)

    def upsert_stripe_dispute(self, row: dict[str, Any], observed_at: int) -> None:
        self._stripe_upsert("stripe_disputes", {**row, "observed_at": observed_at})

    def stripe_reversals_to_refetch(self, *, refund_statuses: tuple[str, ...], dispute_statuses: tuple[str, ...]
                                    ) -> tuple[list[str], list[str]]:  # fmt: skip
        """(refund ids, dispute ids) whose stored status is not final, whatever their age."""
        def q(table: str, statuses: tuple[str, ...]) -> list[str]:
            return [r[0] for r in self.conn.execute(
                f"SELECT id FROM {table} WHERE status IN ({','.join('?' * len(statuses))}) ORDER BY id", statuses)]  # fmt: skip
        return q("stripe_refunds", refund_statuses), q("stripe_disputes", dispute_statuses)

    def stripe_unlinked_reversals(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(refunds, disputes) stored without any invoice share: each run tries to link them again."""
        def q(table: str) -> list[dict[str, Any]]:
            return self._dict_rows(f"SELECT * FROM {table} WHERE id NOT IN (SELECT reversal FROM stripe_reversal_shares) ORDER BY id")
        return q("stripe_refunds"), q("stripe_disputes")

    def stripe_all_reversals(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        return self._dict_rows("SELECT * FROM stripe_refunds ORDER BY id"), self._dict_rows("SELECT * FROM stripe_disputes ORDER BY id")

    def stripe_customer_paid_invoices(self, customer: str, *, created_until: int) -> list[str]:
        """Paid invoices of a Stripe customer created up to a time (a payment is reversed after it is made)."""
        return [r[0] for r in self.conn.execute(
            "SELECT id FROM stripe_invoices WHERE customer = ? AND status = 'paid' AND created <= ? ORDER BY created DESC, id",
            (customer, created_until))]  # fmt: skip

    def revenue_facts_billed(self, *, start_ms: int | None, end_ms: int | None, customer: str | None = None
                             ) -> tuple[list[tuple[str | None, date, int]], dict[str, int]]:  # fmt: skip
        """`revenue_facts` on the billed basis: a Stripe invoice line counts whole on its invoice's finalization day
        (UTC), an imported row on its first day (its date or period_start); credit notes, refunds and disputes
        count on their own day in both bases. Same shapes as `revenue_facts`."""
        billed_day = (
            "CASE WHEN r.source = 'stripe' THEN coalesce((SELECT coalesce(i.finalized_at, i.created) / 86400 FROM stripe_invoice_lines l"
            " JOIN stripe_invoices i ON i.id = l.invoice WHERE l.id = r.ref), r.day)"
            " ELSE (SELECT min(r2.day) FROM revenue r2 WHERE r2.source = r.source AND r2.ref = r.ref) END"
        )
        return self._revenue_day_facts(billed_day, start_ms, end_ms, customer)

    def revenue_source_rows(self, source: str) -> list[tuple[str | None, int, int, str, str]]:
        """(customer id, day number, amount minor, currency, ref) of every revenue row of a source, sorted."""
        return sorted(self.conn.execute(
            "SELECT c.customer_id, r.day, r.amount_minor, r.currency, r.ref FROM revenue r LEFT JOIN customers c ON c.id = r.customer"
            " WHERE r.source = ?", (source,)).fetchall(), key=repr)  # fmt: skip

    def import_revenue_file(self, source: str, rows: list[tuple[str, date, int, str, int | None, str]], legacy_source: str | None,
                            *, replace_legacy: bool = False) -> tuple[int, list[tuple[str | None, int, int, str, str]], list[tuple[str | None, int, int, str, str]], bool]:  # fmt: skip
        """Replace the revenue of an imported file (`source`, keyed by its path) with `rows`, in one transaction.
        `legacy_source` is the key an older version used (the file's base name): its rows are replaced too when
        they are exactly this file's rows (the same file, imported before the key changed) or `replace_legacy`, else kept.
        Returns (rows written, rows replaced, legacy rows found, whether the legacy rows were replaced)."""
        with self.write():
            replaced = self.revenue_source_rows(source)
            legacy = self.revenue_source_rows(legacy_source) if legacy_source and legacy_source != source else []
            new = sorted(((c, (d - EPOCH_DATE).days, m, cur, ref) for c, d, m, cur, _usd, ref in rows), key=repr)
            legacy_replaced = bool(legacy) and (legacy == new or replace_legacy)
            for src in (source, legacy_source if legacy_replaced else None):
                if src:
                    self.conn.execute("DELETE FROM revenue WHERE source = ?", (src,))
            self.conn.executemany(
                "INSERT INTO revenue (customer, day, amount_minor, currency, usd_cents, source, ref) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(self.dim_id("customers", c), (d - EPOCH_DATE).days, m, cur, usd, source, ref) for c, d, m, cur, usd, ref in rows],
            )
        return len(rows), replaced, legacy, legacy_replaced

    def stripe_disputes_at_risk(self) -> list[tuple[str | None, str, int, int]]:
        """(app customer id, currency, minor units, count) of open disputes booked on invoices: revenue at risk."""
        out: dict[tuple[str | None, str], list[int]] = {}
        for inv_customer, currency, amount in self.conn.execute(
            "SELECT i.customer, d.currency, s.amount FROM stripe_disputes d JOIN stripe_reversal_shares s ON s.reversal = d.id"
            " JOIN stripe_invoices i ON i.id = s.invoice WHERE d.status NOT IN ('won', 'lost', 'prevented', 'warning_closed')"):  # fmt: skip
            app = self.stripe_app_customer(inv_customer)[0] if inv_customer else None
            acc = out.setdefault((app, currency), [0, 0])
            acc[0] += amount
            acc[1] += 1
        return [(c, cur, a, n) for (c, cur), (a, n) in sorted(out.items(), key=lambda kv: (kv[0][0] or "", kv[0][1]))]

    # -- issue 18: billed costs (sync-costs, costs import, reconcile) --
    # Invariants: a source's rows of a (provider, UTC day) are replaced whole when that day is synced again (a revised
    # day is replaced, not added); a file import upserts by (source, ref), so the same file twice changes nothing.
    # Amounts are picodollars of USD; every write below is one transaction.

    def replace_billed_days(self, source: str, days: Iterable[tuple[str, int]], costs: list[BilledCostRow],
                            usage: list[BilledUsageRow], *, synced_at: str) -> list[tuple[str, int]]:  # fmt: skip
        """Replace `source`'s bill for each (provider, day) in `days` with `costs` and `usage` (which must lie in
        those days). Returns the (provider, day)s whose content changed. Call inside `write()`."""
        days = sorted(set(days))
        before = self._billed_digests(source, days)
        for provider, day in days:
            self.conn.execute("DELETE FROM billed_costs WHERE source = ? AND provider = ? AND day = ?", (source, provider, day))
            self.conn.execute("DELETE FROM billed_usage WHERE source = ? AND provider = ? AND day = ?", (source, provider, day))
        self._insert_billed(source, costs, usage, replace=False)
        self.conn.executemany("INSERT OR REPLACE INTO billed_days (source, provider, day, synced_at) VALUES (?, ?, ?, ?)",
                              [(source, p, d, synced_at) for p, d in days])  # fmt: skip
        after = self._billed_digests(source, days)
        return [k for k in days if before.get(k) != after.get(k)]

    def upsert_billed(self, source: str, costs: list[BilledCostRow], usage: list[BilledUsageRow], *, synced_at: str
                      ) -> list[tuple[str, int]]:  # fmt: skip
        """Insert or replace rows by (source, ref) (a file import). Returns the (provider, day)s whose content
        changed. Call inside `write()`."""
        days = sorted({(r.provider, r.day) for r in costs} | {(r.provider, r.day) for r in usage})
        before = self._billed_digests(source, days)
        self._insert_billed(source, costs, usage, replace=True)
        self.conn.executemany("INSERT OR IGNORE INTO billed_days (source, provider, day, synced_at) VALUES (?, ?, ?, ?)",
                              [(source, p, d, synced_at) for p, d in days])  # fmt: skip
        after = self._billed_digests(source, days)
        return [k for k in days if before.get(k) != after.get(k)]

    def _insert_billed(self, source: str, costs: list[BilledCostRow], usage: list[BilledUsageRow], *, replace: bool) -> None:
        verb = "INSERT OR REPLACE" if replace else "INSERT"
        self.conn.executemany(
            f"{verb} INTO billed_costs (source, ref, provider, day, model, token_class, kind, line_item, project,"
            " service_tier, amount, quantity, quantity_unit) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(source, r.ref, r.provider, r.day, r.model, r.token_class, r.kind, r.line_item, r.project, r.service_tier,
              r.amount_pico, r.quantity, r.quantity_unit) for r in costs],
        )  # fmt: skip
        self.conn.executemany(
            f"{verb} INTO billed_usage (source, ref, provider, day, model, project, service_tier, batch, input_tokens,"
            " cache_read_tokens, cache_write_5m_tokens, cache_write_1h_tokens, output_tokens, requests)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(source, r.ref, r.provider, r.day, r.model, r.project, r.service_tier, r.batch, r.input_tokens,
              r.cache_read_tokens, r.cache_write_5m_tokens, r.cache_write_1h_tokens, r.output_tokens, r.requests) for r in usage],
        )  # fmt: skip

    def _billed_digests(self, source: str, days: list[tuple[str, int]]) -> dict[tuple[str, int], str]:
        """A digest of a source's rows per (provider, day): what tells a changed day from a re-read of the same."""
        out: dict[tuple[str, int], str] = {}
        for provider, day in days:
            h = hashlib.blake2b(digest_size=16)
            for table in ("billed_costs", "billed_usage"):
                for row in self.conn.execute(f"SELECT * FROM {table} WHERE source = ? AND provider = ? AND day = ? ORDER BY ref",
                                             (source, provider, day)):  # fmt: skip
                    h.update(repr(row).encode())
                h.update(b"|")
            known = self.conn.execute("SELECT 1 FROM billed_days WHERE source = ? AND provider = ? AND day = ?",
                                      (source, provider, day)).fetchone()  # fmt: skip
            if known:
                out[(provider, day)] = h.hexdigest()
        return out

    def cost_sync_state(self, source: str) -> CostSyncRow | None:
        row = self.conn.execute("SELECT source, first_day, last_end_day, synced_at FROM cost_syncs WHERE source = ?",
                                (source,)).fetchone()  # fmt: skip
        return CostSyncRow(*row) if row else None

    def cost_sync_rows(self) -> list[CostSyncRow]:
        return [CostSyncRow(*r) for r in self.conn.execute("SELECT source, first_day, last_end_day, synced_at FROM cost_syncs ORDER BY source")]

    def save_cost_sync(self, source: str, first_day: int, end_day: int, synced_at: str) -> None:
        """Record a sync of [first_day, end_day) of `source`. Call inside `write()`."""
        self.conn.execute(
            "INSERT INTO cost_syncs (source, first_day, last_end_day, synced_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (source) DO UPDATE SET first_day = min(first_day, excluded.first_day),"
            " last_end_day = max(last_end_day, excluded.last_end_day), synced_at = excluded.synced_at",
            (source, first_day, end_day, synced_at),
        )

    def billed_cost_rows(self, start_day: int | None, end_day: int | None, provider: str | None = None) -> list[BilledCostRow]:
        """Every billed cost line of [start_day, end_day) (UTC day numbers; None = open), all sources."""
        where, args = [], []
        _time_range(where, args, "day", start_day, end_day)
        if provider is not None:
            where.append("provider = ?")
            args.append(provider)
        sql = ("SELECT provider, day, model, token_class, kind, line_item, project, service_tier, amount, quantity,"
               " quantity_unit, source || ':' || ref FROM billed_costs" + (" WHERE " + " AND ".join(where) if where else ""))  # fmt: skip
        return [BilledCostRow(*r) for r in self.conn.execute(sql, args)]

    def billed_usage_rows(self, start_day: int | None, end_day: int | None, provider: str | None = None) -> list[BilledUsageRow]:
        where, args = [], []
        _time_range(where, args, "day", start_day, end_day)
        if provider is not None:
            where.append("provider = ?")
            args.append(provider)
        sql = ("SELECT provider, day, model, project, service_tier, batch, input_tokens, cache_read_tokens,"
               " cache_write_5m_tokens, cache_write_1h_tokens, output_tokens, requests, source || ':' || ref FROM billed_usage"
               + (" WHERE " + " AND ".join(where) if where else ""))  # fmt: skip
        return [BilledUsageRow(*r) for r in self.conn.execute(sql, args)]

    def billed_days(self, start_day: int | None, end_day: int | None) -> set[tuple[str, int]]:
        """The (provider, UTC day)s some sync or import knows the bill of."""
        where, args = [], []
        _time_range(where, args, "day", start_day, end_day)
        sql = "SELECT DISTINCT provider, day FROM billed_days" + (" WHERE " + " AND ".join(where) if where else "")
        return {(p, d) for p, d in self.conn.execute(sql, args)}

    def logged_vendor_days(self, start_day: int | None, end_day: int | None) -> list[tuple[int, str]]:
        """(UTC day, vendor) of every day and vendor with logged calls in [start_day, end_day)."""
        where, args = [], []
        _time_range(where, args, "x.day", start_day, end_day)
        sql = ("SELECT DISTINCT x.day, m.vendor FROM rollup_daily x JOIN models m ON m.id = x.model"
               + (" WHERE " + " AND ".join(where) if where else ""))  # fmt: skip
        return self.conn.execute(sql, args).fetchall()

    def logged_cells(self, start_day: int | None, end_day: int | None) -> list[LoggedCellRow]:
        """Our logged calls per (UTC day, vendor, model) from the daily rollups, with the tokens of the unpriced
        ones (from the small index of unpriced calls)."""
        where, args = [], []
        _time_range(where, args, "x.day", start_day, end_day)
        sql = ("SELECT x.day, x.model, sum(x.events), sum(x.unpriced_events), sum(x.cost / 1000000), sum(x.cost % 1000000),"
               " sum(x.input_tokens), sum(x.cached_input_tokens), sum(x.cache_write_tokens), sum(x.output_tokens)"
               " FROM rollup_daily x" + (" WHERE " + " AND ".join(where) if where else "") + " GROUP BY x.day, x.model")  # fmt: skip
        rows = self.conn.execute(sql, args).fetchall()
        unpriced: dict[tuple[int, int], tuple[int, int, int, int]] = {}
        if any(r[3] for r in rows):
            ew, eargs = self.ts_filter("e", None if start_day is None else start_day * DAY_MS,
                                       None if end_day is None else end_day * DAY_MS)  # fmt: skip
            ew.append("e.cost IS NULL")
            for day, model, i, c, w, o in self.conn.execute(
                "SELECT e.ts / 86400000, e.model, sum(e.input_tokens), sum(e.cached_input_tokens), sum(e.cache_write_tokens),"
                " sum(e.output_tokens) FROM events e WHERE " + " AND ".join(ew) + " GROUP BY 1, 2",
                eargs,
            ):  # fmt: skip
                unpriced[(day, model)] = (i, c, w, o)
        models = self.model_names()
        out = []
        for day, mid, ev, unp, micro, rest, i, c, w, o in rows:
            vendor, model = models.get(mid, ("unknown", "unknown"))
            out.append(LoggedCellRow(day, vendor, model, ev, unp, micro * 1_000_000 + rest, i, c, w, o,
                                     *unpriced.get((day, mid), (0, 0, 0, 0))))  # fmt: skip
        return out
    # -- issue 22: ingest reliability --

    def resume_candidates(self, path: str, identity: str | None) -> list[SourceCheckpoint]:
        """Every checkpoint a file at `path` with this identity might continue: this path's first, then other paths'
        (a rotated file keeps its first line), furthest first. Ingest resumes only one it proves is this file."""
        cols = "id, path, identity, dev, ino, offset, line, size, mtime_ns, tail_hash"
        if identity is None:
            rows = self.conn.execute(f"SELECT {cols} FROM sources WHERE path = ? AND identity IS NULL", (path,)).fetchall()
        else:
            rows = self.conn.execute(
                f"SELECT {cols} FROM sources WHERE identity = ? ORDER BY path = ? DESC, offset DESC, id", (identity, path)
            ).fetchall()
        return [SourceCheckpoint(*r) for r in rows]

    def restart_checkpoint(self, source_id: int) -> None:
        """Put a source's checkpoint back to the start (inside a write transaction): the file now at its path is
        not the one it described, and `save_checkpoint` alone never moves backward."""
        self.conn.execute("UPDATE sources SET offset = 0, line = 0, tail_hash = NULL WHERE id = ?", (source_id,))

    def grow_events(self, rows: list[tuple[Any, ...]]) -> tuple[list[tuple[Any, ...]], int]:
        """Rows ((key, *EVENT_COLUMNS)) of calls logged more than once with a usage that grows (a streamed Claude
        Code message): a stored call whose new usage is larger takes it (tokens, cost, price, extra, and the source
        line it came from; its time and dimensions stay), moving its rollup cell with it. Returns the rows whose
        key is not stored (the largest of each key in `rows`), to insert, and how many stored calls grew.
        Call inside `write()`."""
        c = self.conn
        fresh: list[tuple[Any, ...]] = []
        at: dict[int, int] = {}
        grown = 0
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
            old_rank = (old[_W_OUT], old[_W_IN], old[_W_REASON], old[_W_CACHED], old[_W_CW])
            if _usage_rank(row) <= old_rank:
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

    # -- issue 14: provider-reported cost --

    def reported_cost_rows(self, *, start_ms: int | None, end_ms: int | None, after_id: int | None, limit: int
                           ) -> list[tuple[Any, ...]]:  # fmt: skip
        """Events whose log stated their cost (WIDE_COLUMNS order, then the source path), in id order, in chunks:
        for `prices drift`, which compares that cost with the computed one."""
        where, args = self.ts_filter("x", start_ms, end_ms)
        where.append("x.reported_cost IS NOT NULL")
        if after_id is not None:
            where.append("x.id > ?")
            args.append(after_id)
        sql = (f"SELECT {', '.join('x.' + c for c in WIDE_COLUMNS)}, src.path FROM events_wide x"
               " LEFT JOIN sources src ON src.id = x.source WHERE " + " AND ".join(where) + " ORDER BY x.id LIMIT ?")  # fmt: skip
        return self.conn.execute(sql, (*args, limit)).fetchall()

    # -- issue 20: performance --

    def _customer_months(self, start_ms: int | None, end_ms: int | None) -> tuple[str, list[Any]] | None:
        """The FROM (and its arguments) of a whole-range read of rollup_customer_daily over [start_ms, end_ms) (UTC
        day boundaries): the range's whole UTC months from rollup_customer_monthly (m010, kept equal by triggers),
        the days at its edges from the daily table. Same sums, a thirtieth of the rows on a long range. None when
        no whole month lies inside the range."""
        lo = None if start_ms is None else start_ms // DAY_MS
        hi = None if end_ms is None else end_ms // DAY_MS
        m_lo = None if lo is None else _month_start(lo, up=True)
        m_hi = None if hi is None else _month_start(hi, up=False)
        if m_lo is not None and m_hi is not None and m_lo >= m_hi:
            return None
        cols = "customer, events, input_tokens, output_tokens, cost_micro, cost_rest, unpriced_events, revenue_usd_cents"
        month_where, month_args, edge, edge_args = [], [], [], []
        if m_lo is not None:
            month_where.append("month >= ?")
            month_args.append(m_lo)
            edge.append("(day >= ? AND day < ?)")
            edge_args += [lo, m_lo]
        if m_hi is not None:
            month_where.append("month < ?")
            month_args.append(m_hi)
            edge.append("(day >= ? AND day < ?)")
            edge_args += [m_hi, hi]
        sql = f"SELECT {cols} FROM rollup_customer_monthly" + (" WHERE " + " AND ".join(month_where) if month_where else "")
        if edge:
            sql += f" UNION ALL SELECT {cols} FROM rollup_customer_daily WHERE " + " OR ".join(edge)
        return f"({sql}) x", month_args + edge_args

    def _monthly_mismatches(self) -> set[tuple[int, int]]:
        """(month's first day, customer) where rollup_customer_monthly differs from its days in rollup_customer_daily."""
        month = "CAST(julianday(date(day * 86400, 'unixepoch', 'start of month')) - 2440587.5 AS INTEGER)"
        sums = ("count(*), sum(events), sum(input_tokens), sum(output_tokens), sum(cost_micro), sum(cost_rest),"
                " sum(unpriced_events), sum(revenue_usd_cents)")  # fmt: skip
        cols = "cells, events, input_tokens, output_tokens, cost_micro, cost_rest, unpriced_events, revenue_usd_cents"
        # cost as one Python integer: the micro/rest split of a sum is not unique
        days = {(r[0], r[1]): (*r[2:6], r[6] * 1_000_000 + r[7], *r[8:]) for r in self.conn.execute(
            f"SELECT {month}, customer, {sums} FROM rollup_customer_daily GROUP BY 1, 2")}  # fmt: skip
        months = {(r[0], r[1]): (*r[2:6], r[6] * 1_000_000 + r[7], *r[8:]) for r in self.conn.execute(
            f"SELECT month, customer, {cols} FROM rollup_customer_monthly")}  # fmt: skip
        return {k for k in days.keys() | months.keys() if days.get(k) != months.get(k)}


    # -- issue 21: FOCUS export --

    def price_version_labels(self) -> dict[int, str]:
        """prices.id -> '<provider>/<model>@<effective from, UTC ISO> (<source>)': the price version a call was priced at."""
        out = {}
        for pid, provider, model, since, source in self.conn.execute("SELECT id, provider, model, effective_from, source FROM prices"):
            when = datetime.fromtimestamp(since / 1000, timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
            out[pid] = f"{provider}/{model}@{when} ({source})"
        return out

    def focus_revenue_rows(self, start_day: int | None, end_day: int | None) -> list[tuple[Any, ...]]:
        """(UTC day, customer id, amount minor, currency, USD cents or None, source, ref) of every revenue row in
        [start_day, end_day), and one ('events', ref None) per customer-day of the revenue the calls carried."""
        where, args = [], []
        _time_range(where, args, "x.day", start_day, end_day)
        cond = (" WHERE " + " AND ".join(where)) if where else ""
        rows = self.conn.execute(
            "SELECT x.day, c.customer_id, x.amount_minor, x.currency, x.usd_cents, x.source, x.ref FROM revenue x"
            " LEFT JOIN customers c ON c.id = x.customer" + cond, args).fetchall()  # fmt: skip
        rows += self.conn.execute(
            "SELECT x.day, c.customer_id, sum(x.revenue_usd_cents), 'usd', sum(x.revenue_usd_cents), 'events', NULL"
            " FROM rollup_daily x LEFT JOIN customers c ON c.id = x.customer" + cond
            + " GROUP BY x.day, x.customer HAVING sum(x.revenue_usd_cents) != 0", args).fetchall()  # fmt: skip
        return rows

    # -- issue 17: never fail silently --

    def scope_ids_with_calls(self, scope: str) -> list[str]:
        """The customer ids (scope "customer") or features (scope "feature") that have at least one stored call,
        sorted: what a budget's scope may name and ever see spend from."""
        table, column, ref = ("customers", "customer_id", "customer") if scope == "customer" else ("features", "name", "feature")
        sql = (f"SELECT d.{column} FROM {table} d WHERE d.id IN (SELECT DISTINCT {ref} FROM rollup_daily)"
               f" AND d.{column} IS NOT NULL ORDER BY d.{column}")  # fmt: skip
        return [r[0] for r in self.conn.execute(sql)]


def _month_start(day: int, *, up: bool) -> int:
    """The first day (days since 1970-01-01) of the UTC month holding `day`, or with up=True of the first month
    starting on or after it."""
    d = EPOCH_DATE + timedelta(days=day)
    first = d.replace(day=1)
    if up and first != d:
        first = (first + timedelta(days=32)).replace(day=1)
    return (first - EPOCH_DATE).days


def _usage_rank(row: tuple[Any, ...]) -> tuple[int, ...]:
    """How large a staging row's usage is (output first: a streamed message's output grows, its input does not)."""
    return (row[7], row[6], row[10], row[8], row[9])


def sqlite_hint(exc: BaseException) -> str:
    """What a SQLite error means for the user, and what to do (#22: a read-only store, a full disk and a too-big value
    were all reported as "the file may be damaged")."""
    text = str(exc).lower()
    if "readonly" in text or "read-only" in text:
        return ("the store is read-only for this user (the file, or its folder where SQLite keeps the -wal and -shm"
                " files): check their permissions; nothing was written")
    if "disk is full" in text or "disk full" in text:
        return "the disk holding the store is full: free some space and run this again; the step that failed wrote nothing"
    if "too big" in text or "too large" in text:
        return "a value is larger than SQLite's limit (1,000,000,000 bytes): the step that failed wrote nothing"
    if "unable to open" in text:
        return "the store's folder cannot be written or does not exist: check the --db path and its permissions"
    if "locked" in text or "busy" in text:
        return "another margindash held it for over a minute; run this again"
    return "the file may be damaged: `margindash doctor` checks it; restore a backup if it fails"


def _revenue_where(alias: str, start_ms: int | None, end_ms: int | None, customer: str | None) -> tuple[list[str], list[Any]]:
    """WHERE terms of a revenue read: the UTC days of [start_ms, end_ms) on `alias`.day, and one customer id (as `c`)."""
    where: list[str] = []
    args: list[Any] = []
    if start_ms is not None:
        where.append(f"{alias}.day >= ?")
        args.append(start_ms // DAY_MS)
    if end_ms is not None:
        where.append(f"{alias}.day < ?")
        args.append(-(-end_ms // DAY_MS))
    if customer is not None:
        where.append("c.customer_id = ?")
        args.append(customer)
    return where, args


def _time_range(where: list[str], args: list[Any], column: str, start: int | None, end: int | None) -> None:
    """Add `column >= start` and `column < end` (each when given) to a WHERE clause being built."""
    if start is not None:
        where.append(f"{column} >= ?")
        args.append(start)
    if end is not None:
        where.append(f"{column} < ?")
        args.append(end)


def _applied_migration_names(conn: sqlite3.Connection) -> set[str]:
    """Names of the migrations applied to a store, read in plain SQL (no sqlite-utils); empty for a new file."""
    try:
        return {n for (n,) in conn.execute("SELECT name FROM _sqlite_migrations WHERE migration_set = 'margindash'")}
    except sqlite3.OperationalError:  # no migrations table
        return set()


def _refuse_foreign_schema(conn: sqlite3.Connection, path: Path) -> None:
    """Refuse, before writing a byte, a SQLite file that is another application's database, or a store written by
    a newer margindash (whose schema this version does not know)."""
    if _applied_migration_names(conn) == set(MIGRATION_NAMES):
        return  # a current store (the common case), known without importing sqlite-utils
    from sqlite_utils import Database

    from margindash_cli.store.migrations import MIGRATIONS

    applied = {m.name for m in MIGRATIONS.applied(Database(conn))}
    newer = applied - {m.name for m in MIGRATIONS.pending(Database(memory=True))}
    problem = None
    if newer:
        problem = StoreError(f"{path} was written by a newer margindash (schema {max(newer)}); it was left untouched",
                             "upgrade margindash: pip install -U margindash")  # fmt: skip
    elif not applied:
        other = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'"
                             " AND name != '_sqlite_migrations' LIMIT 1").fetchone()  # fmt: skip
        if other:
            problem = StoreError(f"{path} is another application's SQLite database (it has a table {other[0]!r}); it was left"
                                 " untouched", "point --db or MARGINDASH_DB at a margindash store, or at a new file")  # fmt: skip
    if problem is not None:
        conn.close()
        raise problem


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _window_plan(start_ms: int, end_ms: int) -> tuple[range, list[tuple[int, int, int]]]:
    """How to sum [start_ms, end_ms) from the daily rollups and as few events as possible: the UTC days (day
    numbers) to take from `rollup_daily`, and event ranges (start, end, sign) to add (+1) or take away (-1).

    A partial UTC day at an edge is read from the events when it is at most half a day; when it is more,
    its whole day comes from the rollups and the events of the other part are taken away. So no edge reads
    more than 12 hours of events (New York's day, 04:00 to 04:00 UTC, is one rollup day minus 4 hours plus 4 hours).
    """
    if start_ms >= end_ms:
        return range(0), []
    lo, hi = start_ms // DAY_MS, -(-end_ms // DAY_MS)  # the UTC days the window touches: [lo, hi)
    if hi - lo == 1 and start_ms % DAY_MS and end_ms % DAY_MS:
        return range(0), [(start_ms, end_ms, 1)]  # inside one UTC day: just its events
    edges = []
    first, last = lo, hi
    if start_ms % DAY_MS:
        head = (lo + 1) * DAY_MS - start_ms
        if head * 2 <= DAY_MS:
            edges.append((start_ms, (lo + 1) * DAY_MS, 1))
            first = lo + 1
        else:
            edges.append((lo * DAY_MS, start_ms, -1))
    if end_ms % DAY_MS:
        tail = end_ms - (hi - 1) * DAY_MS
        if tail * 2 <= DAY_MS:
            edges.append(((hi - 1) * DAY_MS, end_ms, 1))
            last = hi - 1
        else:
            edges.append((end_ms, hi * DAY_MS, -1))
    return range(first, last), edges


def _merge_ranges(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[list[int]] = []
    for a, z in sorted(ranges):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], z)
        else:
            merged.append([a, z])
    return [(a, z) for a, z in merged]


def _case_in(column: str, ids: dict[int, str]) -> tuple[str, list[int]]:
    """A SQL expression that keeps the ids asked for and folds every other into -1 (one group)."""
    if not ids:
        return "-1", []
    return f"CASE WHEN {column} IN ({','.join('?' * len(ids))}) THEN {column} ELSE -1 END", list(ids)


class BudgetSpend:
    """Spend of one window, each as [cost picodollars, unpriced calls, calls]: in all, per feature (None = no
    feature) and per customer asked for."""

    __slots__ = ("total", "features", "customers")

    def __init__(self) -> None:
        self.total = [0, 0, 0]
        self.features: dict[str | None, list[int]] = {}
        self.customers: dict[str, list[int]] = {}

    def add(self, customer: str | None, feature: str | None, cost: int, unpriced: int, n: int) -> None:
        """Count calls in the total and their feature, and in their customer when it is one asked for."""
        for acc in (self.total, self.features.setdefault(feature, [0, 0, 0])):
            acc[0] += cost
            acc[1] += unpriced
            acc[2] += n
        if customer is not None:
            self.customers_add(customer, cost, unpriced, n)

    def customers_add(self, customer: str, cost: int, unpriced: int, n: int) -> None:
        acc = self.customers.setdefault(customer, [0, 0, 0])
        acc[0] += cost
        acc[1] += unpriced
        acc[2] += n


# -- issue 18: rows of the billed-cost tables --


class BilledCostRow(NamedTuple):
    """One line of a provider's bill: money of one provider, UTC day and line (see `billed_costs` in migrations)."""

    provider: str
    day: int  # UTC day number
    model: str | None  # as billed; None = no model (web search, a credit)
    token_class: str | None  # input | cache_read | cache_write_5m | cache_write_1h | output; None = not a token charge
    kind: str  # tokens | web_search | code_execution | credit | tax | other
    line_item: str
    project: str | None
    service_tier: str | None
    amount_pico: int
    quantity: str | None  # exact decimal text
    quantity_unit: str | None
    ref: str  # unique within its source (read back as "source:ref")


class BilledUsageRow(NamedTuple):
    """Tokens a provider billed for one model on one UTC day (its usage API)."""

    provider: str
    day: int
    model: str
    project: str | None
    service_tier: str | None
    batch: int | None
    input_tokens: int  # uncached prompt tokens, cache writes excluded
    cache_read_tokens: int
    cache_write_5m_tokens: int
    cache_write_1h_tokens: int
    output_tokens: int
    requests: int | None
    ref: str


class LoggedCellRow(NamedTuple):
    """Our logged calls of one (UTC day, vendor, model): canonical token fields (input includes cache)."""

    day: int
    vendor: str
    model: str
    calls: int
    unpriced_calls: int
    cost_pico: int  # of the priced calls
    input_tokens: int
    cached_input_tokens: int
    cache_write_tokens: int
    output_tokens: int
    unpriced_input_tokens: int
    unpriced_cached_input_tokens: int
    unpriced_cache_write_tokens: int
    unpriced_output_tokens: int


class CostSyncRow(NamedTuple):
    source: str
    first_day: int
    last_end_day: int
    synced_at: str
