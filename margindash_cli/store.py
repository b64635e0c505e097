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
import os
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any

from .errors import StoreError

SQLITE_HEADER = b"SQLite format 3\x00"
BUSY_TIMEOUT_MS = 60_000  # overlapping cron jobs wait for each other this long before failing
DAY_MS = 86_400_000
EPOCH_DATE = date(1970, 1, 1)  # day 0 of the store's day numbers
DIMENSIONS = ("customers", "features", "segments")  # name-keyed dimension tables
EVENT_COLUMNS = (
    "key", "request_id", "ts", "customer", "feature", "model", "segment",
    "input_tokens", "output_tokens", "cached_input_tokens", "cache_write_tokens",
    "cache_write_1h_tokens", "reasoning_tokens", "service_tier", "revenue_minor", "currency",
    "extra_cost", "reported_cost", "units", "tags", "cost", "price_id", "source", "line",
)  # fmt: skip
INSERT_EVENT = f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) VALUES ({', '.join('?' * len(EVENT_COLUMNS))})"
UPSERT_ROLLUP = """
INSERT INTO rollup_daily (day, customer, feature, model, segment, events, input_tokens, output_tokens,
    cached_input_tokens, cache_write_tokens, reasoning_tokens, cost, unpriced_events, revenue_usd_cents)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (day, customer, feature, model, segment) DO UPDATE SET
    events = events + excluded.events,
    input_tokens = input_tokens + excluded.input_tokens,
    output_tokens = output_tokens + excluded.output_tokens,
    cached_input_tokens = cached_input_tokens + excluded.cached_input_tokens,
    cache_write_tokens = cache_write_tokens + excluded.cache_write_tokens,
    reasoning_tokens = reasoning_tokens + excluded.reasoning_tokens,
    cost = cost + excluded.cost,
    unpriced_events = unpriced_events + excluded.unpriced_events,
    revenue_usd_cents = revenue_usd_cents + excluded.revenue_usd_cents
"""
# Index of each rollup measure in a rollup value list.
R_EVENTS, R_IN, R_OUT, R_CACHED, R_CW, R_REASON, R_COST, R_UNPRICED, R_REV = range(9)


def event_key(dedupe_id: str) -> int:
    """The 64-bit signed key of a dedupe id (the events table's rowid, so dedupe needs no extra index)."""
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
            if str(path) != ":memory:":
                conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA cache_size = -65536")
            conn.execute("PRAGMA temp_store = MEMORY")
            store = cls(path, conn)
            store._migrate()
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"{path} cannot be opened as a margindash store: {exc}",
                "the file may be corrupt; it was left untouched (`margindash doctor` checks a store)",
            ) from None
        return store

    def _migrate(self) -> None:
        from sqlite_utils import Database

        from .migrations import MIGRATIONS

        db = Database(self.conn)
        if not MIGRATIONS.pending(db):
            return
        # Two cron jobs may open a new store at once: one migrates, the other waits and finds nothing to do.
        with self._file_lock():
            if MIGRATIONS.pending(db):
                MIGRATIONS.apply(db)

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
                        size: int | None, mtime_ns: int | None) -> None:  # fmt: skip
        """Move a source's checkpoint forward; never backward (two overlapping runs may finish out of order)."""
        self.conn.execute(
            "UPDATE sources SET dev = ?, ino = ?, offset = max(offset, ?), line = max(line, ?), size = ?, mtime_ns = ?,"
            " updated_at = ? WHERE id = ?",
            (dev, ino, offset, line, size, mtime_ns, _now_iso(), source_id),
        )

    def list_sources(self) -> list[SourceCheckpoint]:
        rows = self.conn.execute(
            "SELECT id, path, identity, dev, ino, offset, line, size, mtime_ns FROM sources ORDER BY path"
        ).fetchall()
        return [SourceCheckpoint(*r) for r in rows]

    # ---- events --------------------------------------------------------------------------------

    def existing_keys(self, keys: Iterable[int]) -> set[int]:
        """Which of these event keys are already stored."""
        keys = list(keys)
        found: set[int] = set()
        for i in range(0, len(keys), 900):
            chunk = keys[i : i + 900]
            sql = f"SELECT key FROM events WHERE key IN ({','.join('?' * len(chunk))})"
            found.update(r[0] for r in self.conn.execute(sql, chunk))
        return found

    def insert_events(self, rows: list[tuple[Any, ...]]) -> None:
        """Insert new event rows (EVENT_COLUMNS order) and add them to the daily rollups.

        Call inside `write()`, after dropping keys that `existing_keys` found.
        """
        if not rows:
            return
        self.conn.executemany(INSERT_EVENT, rows)
        self.add_to_rollups(rows, sign=1)

    def add_to_rollups(self, rows: Iterable[tuple[Any, ...]], *, sign: int) -> None:
        """Add (sign=1) or remove (sign=-1) event rows from `rollup_daily`."""
        acc: dict[tuple[int, int, int, int, int], list[int]] = {}
        for r in rows:
            # r: key, request_id, ts, customer, feature, model, segment, in, out, cached, cw, cw1h, reasoning,
            #    tier, revenue_minor, currency, extra_cost, reported_cost, units, tags, cost, ...
            k = (r[2] // DAY_MS, r[3], r[4], r[5], r[6])
            v = acc.get(k)
            if v is None:
                v = acc[k] = [0] * 9
            v[R_EVENTS] += 1
            v[R_IN] += r[7]
            v[R_OUT] += r[8]
            v[R_CACHED] += r[9]
            v[R_CW] += r[10]
            v[R_REASON] += r[12]
            if r[20] is None:
                v[R_UNPRICED] += 1
            else:
                v[R_COST] += r[20]
            if r[14] is not None and r[15] == "usd":
                v[R_REV] += r[14]
        self.conn.executemany(UPSERT_ROLLUP, [(*k, *(x * sign for x in v)) for k, v in acc.items()])
        if sign < 0:
            self.conn.execute("DELETE FROM rollup_daily WHERE events = 0")

    def list_events(self, *, customer: str | None = None, event_type: str | None = None, model: str | None = None,
                    start_ms: int | None = None, end_ms: int | None = None, request_id: str | None = None,
                    limit: int | None = 100) -> list[dict[str, Any]]:  # fmt: skip
        """Stored events, newest first, with their dimension names (for `margindash events`)."""
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
        if start_ms is not None:
            where.append("e.ts >= ?")
            args.append(start_ms)
        if end_ms is not None:
            where.append("e.ts < ?")
            args.append(end_ms)
        if request_id is not None:
            where.append("e.request_id = ?")
            args.append(request_id)
        sql = (
            "SELECT e.*, c.customer_id AS customer_id, f.name AS event_type, m.vendor AS vendor, m.model AS model_name,"
            " s.name AS segment_name, src.path AS source_path"
            " FROM events e JOIN models m ON m.id = e.model"
            " LEFT JOIN customers c ON c.id = e.customer LEFT JOIN features f ON f.id = e.feature"
            " LEFT JOIN segments s ON s.id = e.segment LEFT JOIN sources src ON src.id = e.source"
            + (" WHERE " + " AND ".join(where) if where else "")
            + " ORDER BY e.ts DESC, e.key"
            + (" LIMIT ?" if limit else "")
        )
        if limit:
            args.append(limit)
        cur = self.conn.execute(sql, args)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur]

    # ---- report facts --------------------------------------------------------------------------

    def usage_facts(self, groups: list[str], *, start_ms: int | None, end_ms: int | None, tz: tzinfo,
                    customer: str | None = None) -> Iterator[tuple[Any, ...]]:  # fmt: skip
        """Usage summed per (customer, *groups, local day): rows of
        (customer_id, group values..., local date, events, input, output, cost, unpriced, revenue cents).

        Reads the daily rollups when it can (UTC days, range on day boundaries, no tag groups), and
        otherwise the events in 15-minute buckets, which any time zone's day boundary falls between.
        """
        tag_groups = [g for g in groups if g.startswith("tag:")]
        day_aligned = (start_ms is None or start_ms % DAY_MS == 0) and (end_ms is None or end_ms % DAY_MS == 0)
        use_rollups = tz is timezone.utc and day_aligned and not tag_groups
        if use_rollups:
            src, t_expr, unit = "rollup_daily x", "x.day", DAY_MS
            measures = ("sum(x.events), sum(x.input_tokens), sum(x.output_tokens), sum(x.cost / 1000000),"
                        " sum(x.cost % 1000000), sum(x.unpriced_events), sum(x.revenue_usd_cents)")  # fmt: skip
            t_filter = ("x.day >= ?", "x.day < ?")
            bounds = (None if start_ms is None else start_ms // DAY_MS, None if end_ms is None else end_ms // DAY_MS)
        else:
            src, t_expr, unit = "events x", "x.ts / 900000", 900_000
            # cost is split into whole micro-dollars and the rest so no SUM can overflow 64 bits
            measures = ("count(*), sum(x.input_tokens), sum(x.output_tokens), sum(coalesce(x.cost, 0) / 1000000),"
                        " sum(coalesce(x.cost, 0) % 1000000), sum(x.cost IS NULL),"
                        " sum(CASE WHEN x.currency = 'usd' THEN coalesce(x.revenue_minor, 0) ELSE 0 END)")  # fmt: skip
            t_filter = ("x.ts >= ?", "x.ts < ?")
            bounds = (start_ms, end_ms)
        select, joins, args = ["c.customer_id"], ["LEFT JOIN customers c ON c.id = x.customer"], []
        joined: set[str] = set()
        for g in groups:
            if g in ("model", "vendor"):
                if "m" not in joined:
                    joins.append("JOIN models m ON m.id = x.model")
                    joined.add("m")
                select.append("m.model" if g == "model" else "m.vendor")
            elif g == "feature":
                joins.append("LEFT JOIN features f ON f.id = x.feature")
                select.append("f.name")
            elif g == "segment":
                joins.append("LEFT JOIN segments s ON s.id = x.segment")
                select.append("s.name")
            elif g.startswith("tag:"):
                select.append("json_extract(x.tags, ?)")
                args.append('$."' + g[4:].replace('"', '""') + '"')
            else:
                raise ValueError(f"unknown group {g!r}")
        where, wargs = [], []
        for clause, bound in zip(t_filter, bounds):
            if bound is not None:
                where.append(clause)
                wargs.append(bound)
        if customer is not None:
            where.append("c.customer_id = ?")
            wargs.append(customer)
        n = len(select)
        sql = (
            f"SELECT {', '.join(select)}, {t_expr} AS t, {measures} FROM {src} {' '.join(joins)}"
            + (" WHERE " + " AND ".join(where) if where else "")
            + f" GROUP BY x.customer, {', '.join(str(i) for i in range(2, n + 2))}"
        )
        day_cache: dict[int, date] = {}
        for row in self.conn.execute(sql, args + wargs):
            t = row[n]
            day = day_cache.get(t)
            if day is None:
                day = day_cache[t] = datetime.fromtimestamp(t * unit // 1000, tz).date()
            ev, inp, out, cost_micro, cost_rest, unpriced, rev = row[n + 1 :]
            yield (*row[:n], day, ev, inp, out, cost_micro * 1_000_000 + cost_rest, unpriced, rev)

    def revenue_facts(self, *, start_ms: int | None, end_ms: int | None, customer: str | None = None
                      ) -> tuple[list[tuple[str | None, date, int]], dict[str, int]]:  # fmt: skip
        """Revenue per (customer, UTC day) in US cents, and what could not be converted, per currency."""
        where, args = [], []
        if start_ms is not None:
            where.append("r.day >= ?")
            args.append(start_ms // DAY_MS)
        if end_ms is not None:
            where.append("r.day < ?")
            args.append(-(-end_ms // DAY_MS))
        if customer is not None:
            where.append("c.customer_id = ?")
            args.append(customer)
        sql = (
            "SELECT c.customer_id, r.day, sum(r.usd_cents), r.currency, sum(r.amount_minor), sum(r.usd_cents IS NULL)"
            " FROM revenue r LEFT JOIN customers c ON c.id = r.customer"
            + (" WHERE " + " AND ".join(where) if where else "")
            + " GROUP BY r.customer, r.day, r.currency"
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
        where, args = ["e.cost IS NULL"], []
        if start_ms is not None:
            where.append("e.ts >= ?")
            args.append(start_ms)
        if end_ms is not None:
            where.append("e.ts < ?")
            args.append(end_ms)
        sql = (
            "SELECT m.vendor, m.model, count(*), sum(e.input_tokens), sum(e.output_tokens) FROM events e"
            " JOIN models m ON m.id = e.model WHERE " + " AND ".join(where) + " GROUP BY e.model ORDER BY 3 DESC"
        )
        return self.conn.execute(sql, args).fetchall()

    def model_names(self) -> dict[int, tuple[str, str]]:
        return {mid: (vendor, model) for mid, vendor, model in self.conn.execute("SELECT id, vendor, model FROM models")}

    def event_rows(self, *, start_ms: int | None, end_ms: int | None, only_unpriced: bool, after_key: int | None,
                   limit: int) -> list[tuple[Any, ...]]:  # fmt: skip
        """Raw event rows (EVENT_COLUMNS order) in key order, for re-pricing in chunks."""
        where, args = [], []
        if after_key is not None:
            where.append("key > ?")
            args.append(after_key)
        if start_ms is not None:
            where.append("ts >= ?")
            args.append(start_ms)
        if end_ms is not None:
            where.append("ts < ?")
            args.append(end_ms)
        if only_unpriced:
            where.append("cost IS NULL")
        sql = f"SELECT {', '.join(EVENT_COLUMNS)} FROM events" + (" WHERE " + " AND ".join(where) if where else "")
        return self.conn.execute(sql + " ORDER BY key LIMIT ?", (*args, limit)).fetchall()

    def replace_event_costs(self, old_rows: list[tuple[Any, ...]], new_rows: list[tuple[Any, ...]]) -> int:
        """Set new costs and move the rollups with them, in one transaction. An event whose cost changed
        since it was read (another reprice got there first) is left alone. Returns how many were updated."""
        cost_i, pid_i = EVENT_COLUMNS.index("cost"), EVENT_COLUMNS.index("price_id")
        done_old, done_new = [], []
        with self.write():
            for old, new in zip(old_rows, new_rows):
                cur = self.conn.execute(
                    "UPDATE events SET cost = ?, price_id = ? WHERE key = ? AND cost IS ? AND price_id IS ?",
                    (new[cost_i], new[pid_i], old[0], old[cost_i], old[pid_i]),
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


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
