"""The calls (`events`) and what is kept in step with them: event keys, the daily rollups and the zone map.

Invariants:
- Every event has a 64-bit key from its dedupe id (request id, else provider response id, else the source file's
  identity and line); a key already stored is a duplicate and is skipped, so re-runs and overlapping files never
  double count.
- `rollup_daily` (and `rollup_customer_daily`) always equal the sum of `events` per (UTC day, customer, feature,
  model, segment): every write below changes the events and their rollups in the same statement batch.
- One ingest batch (its events, their rollups and the file checkpoint after them) is one transaction, the
  caller's `write()`: a crash leaves the store as it was before the batch or after it, never in between.
- Reads are read-only and narrow a time range through the zone map (`event_blocks`) before touching `events`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from margindash_cli.store.rows import DaySpan, UnpricedCount, UnpricedModelRow, UsageFactRow, UsageVectorRow
from margindash_cli.store.schema import (
    _W_CACHED,
    _W_COST,
    _W_CURRENCY,
    _W_CUSTOMER,
    _W_CW,
    _W_FEATURE,
    _W_IN,
    _W_MODEL,
    _W_OUT,
    _W_PRICE_ID,
    _W_REASON,
    _W_REVENUE,
    _W_SEGMENT,
    _W_TS,
    BLOCK_BITS,
    CUSTOMER_CELL_COLUMNS,
    DAY_MS,
    EPOCH_DATE,
    EVENT_COLUMNS,
    INSERT_EVENT,
    INSERT_EVENT_KEY,
    MAX_ID_RANGES,
    R_CACHED,
    R_COST,
    R_CW,
    R_EVENTS,
    R_IN,
    R_OUT,
    R_REASON,
    R_REV,
    R_UNPRICED,
    STORED_KEYS,
    STORED_KEYS_CHUNK,
    UPSERT_CUSTOMER_ROLLUP,
    UPSERT_CUSTOMER_ROLLUP_FROM_CELLS,
    UPSERT_ROLLUP,
    WIDE_COLUMNS,
    event_key,
)
from margindash_cli.store.sql import Repository, _month_start, _time_range, _usage_rank

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1  # SQLite's integers
STREAM_ROWS = 32_768  # events --limit 0: calls per time window, so SQLite sorts about this many at a time
STREAM_SAMPLE = 512  # ... the windows cut at the ts of every this-many-th id
STREAM_WINDOWS = 32  # ... and at most this many windows (each can be a scan when its calls are spread widely)


class Events(Repository):
    """Calls, their keys, rollups and zone map; the facts reports, simulate and export read."""

    # -- writing --

    def insert_new_events(self, rows: list[tuple[Any, ...]]) -> int:
        """Store the rows ((key, *EVENT_COLUMNS)) whose key is new, and add them to the rollups and the zone map.

        A key seen twice in `rows` is stored once (its first row). New events get the next ids in batch order, and
        each key points at its event. The keys go in first, in key order, with INSERT OR IGNORE: when every one
        was new (the common case) the batch met no stored key and no lookup was needed; otherwise STORED_KEYS finds
        the stored ones, and the new keys' ids are closed up so the ids stay those of the new rows in batch order.
        Call inside `write()`. Returns how many rows were new.
        """
        if not rows:
            return 0
        if len(rows[0]) == len(EVENT_COLUMNS) - 1:  # a row without m005's request_id and response_id: they are NULL
            rows = [(*r, None, None) for r in rows]
        c = self.conn
        new = rows
        if len({r[0] for r in rows}) != len(rows):  # a key repeated in the batch: its first row wins, as it always did
            seen: set[int] = set()
            new = [r for r in rows if not (r[0] in seen or seen.add(r[0]))]
        base = c.execute("SELECT coalesce(max(id), 0) FROM main.events").fetchone()[0]
        ids = {r[0]: base + i for i, r in enumerate(new, 1)}
        inserted = c.executemany(INSERT_EVENT_KEY, sorted(ids.items())).rowcount
        if inserted != len(ids):
            ids = _close_up_ids(c, ids, base)
            if not ids:
                return 0
            new = [r for r in new if r[0] in ids]  # in batch order, as their ids
        c.executemany(INSERT_EVENT, new)
        if c.execute("SELECT max(id) FROM main.events").fetchone()[0] != base + len(new):
            raise sqlite3.DatabaseError("events did not get the ids their keys point at")  # SQLite's rowids changed
        cells, customer_cells, blocks = _rollup_cells(new, base)
        c.executemany(UPSERT_ROLLUP, cells)
        # One statement for the customer cells: rollup_customer_daily has triggers (m010), and a statement that
        # fires triggers inside a savepoint (ingest's grouped writes) pays a statement journal each time: row by row
        # that cost 30 s for 15k cells in a 10M store, against 0.1 s as one INSERT ... SELECT.
        c.execute(f"CREATE TEMP TABLE IF NOT EXISTS customer_cells ({CUSTOMER_CELL_COLUMNS})")
        c.execute("DELETE FROM temp.customer_cells")
        c.executemany(f"INSERT INTO temp.customer_cells VALUES ({', '.join('?' * 12)})", customer_cells)
        c.execute(UPSERT_CUSTOMER_ROLLUP_FROM_CELLS)
        c.executemany(
            "INSERT INTO main.event_blocks (block, min_ts, max_ts) VALUES (?, ?, ?) ON CONFLICT (block) DO UPDATE SET"
            " min_ts = min(min_ts, excluded.min_ts), max_ts = max(max_ts, excluded.max_ts)",
            blocks,
        )
        return len(new)

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
        self.conn.executemany(
            UPSERT_CUSTOMER_ROLLUP,
            [
                (
                    *k,
                    *(x * sign for x in v[:R_COST]),
                    *(x * sign for x in divmod(v[R_COST], 1_000_000)),
                    *(x * sign for x in v[R_COST + 1 :]),
                )
                for k, v in by_customer.items()
            ],
        )
        if sign < 0:
            self.conn.execute("DELETE FROM rollup_daily WHERE events = 0")
            self.conn.execute("DELETE FROM rollup_customer_daily WHERE events = 0")

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
        stored = _stored_ids(c, {row[0] for row in rows})  # looked up STORED_KEYS_CHUNK at a time, not one by one
        for row in rows:
            key = row[0]
            if key in at:
                if _usage_rank(row) > _usage_rank(fresh[at[key]]):
                    fresh[at[key]] = row
                continue
            event_id = stored.get(key)
            if event_id is None:
                at[key] = len(fresh)
                fresh.append(row)
                continue
            old = c.execute(f"SELECT {wide} FROM events_wide x WHERE x.id = ?", (event_id,)).fetchone()
            if old is None:
                continue
            old_rank = (old[_W_OUT], old[_W_IN], old[_W_REASON], old[_W_CACHED], old[_W_CW])
            if _usage_rank(row) <= old_rank:
                continue
            c.execute(
                "UPDATE events SET input_tokens = ?, output_tokens = ?, cached_input_tokens = ?, cache_write_tokens = ?,"
                " reasoning_tokens = ?, cost = ?, price_id = ?, source = ?, line = ?, extra = ? WHERE id = ?",
                (*row[6:16], event_id),
            )
            new = c.execute(f"SELECT {wide} FROM events_wide x WHERE x.id = ?", (event_id,)).fetchone()
            self.add_to_rollups([old], sign=-1)
            self.add_to_rollups([new], sign=1)
            grown += 1
        return fresh, grown

    # -- reading --

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

    def list_events(
        self,
        *,
        customer: str | None = None,
        event_type: str | None = None,
        model: str | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
        request_id: str | None = None,
        limit: int | None = 100,
    ) -> Iterator[dict[str, Any]]:
        """Stored events, newest first, with their dimension names (for `margindash events`), read lazily from one
        cursor: a caller that streams them holds one row at a time, whatever their number (`--limit 0 --nl`).

        The newest `limit` calls are found without reading the table: the blocks with the latest calls (zone map)
        give a time m such that their calls, at least `limit` of them, all have ts >= m; when at least `limit` calls
        that match the filters have ts >= m (counted, not read), they hold the newest `limit` ones, else more blocks
        are tried. With no limit the calls come in time windows (`_stream_events`), so SQLite never sorts them all
        at once either."""
        find = dict(customer=customer, event_type=event_type, model=model, end_ms=end_ms, request_id=request_id)
        if limit and request_id is None:
            lo = -(2**63) if start_ms is None else start_ms
            hi = 2**63 - 1 if end_ms is None else end_ms
            starts = [
                m
                for (m,) in self.conn.execute(
                    "SELECT min_ts FROM event_blocks WHERE max_ts >= ? AND min_ts < ? ORDER BY max_ts DESC", (lo, hi)
                )
            ]
            blocks_needed = max(1, -(-limit // (1 << BLOCK_BITS)))
            while blocks_needed < len(starts):
                floor = max(lo, min(starts[:blocks_needed]))
                where, args = self._events_where(start_ms=floor, **find)
                sql = f"SELECT count(*) FROM (SELECT 1 {self._EVENTS_FROM} {where} LIMIT ?)"
                if self.conn.execute(sql, [*args, limit]).fetchone()[0] >= limit:
                    return self._list_events(start_ms=floor, **find, limit=limit)
                blocks_needed *= 8
        if request_id is None and limit:
            return self._list_events(start_ms=start_ms, **find, limit=limit)
        if request_id is None:
            return self._stream_events(start_ms=start_ms, **find)
        rows = list(self._list_events(start_ms=start_ms, **find, limit=limit))  # one call, or none
        if not rows and (by_response := self.event_id_by_response_id(request_id)) is not None:
            return self._list_events(
                start_ms=start_ms, **{**find, "request_id": None}, limit=limit, event_id=by_response
            )
        return iter(rows)

    def _stream_events(self, *, start_ms: int | None, end_ms: int | None, **find: Any) -> Iterator[dict[str, Any]]:
        """Every matching call, newest first, read in time windows of about STREAM_ROWS calls each (at most
        STREAM_WINDOWS windows), so SQLite sorts one window at a time, never every call at once. A window [t, previous
        t) holds every call of its time span (ts_filter finds their blocks) sorted on its own, so the windows in turn
        give the one order of a single query, however the calls were stored (backfills, strays). The cuts are
        quantiles of the ts of every STREAM_SAMPLE-th id (a few hundred row lookups). Calls stored after the read
        began (a concurrent ingest) are left out: ids only grow."""
        lo = -(2**63) if start_ms is None else start_ms
        hi = 2**63 - 1 if end_ms is None else end_ms
        first, upto = self.conn.execute("SELECT min(id), max(id) FROM events").fetchone()
        if upto is None:
            return
        sample = [
            ts
            for (ts,) in self.conn.execute(
                "WITH RECURSIVE s(i) AS (SELECT ? UNION ALL SELECT i + ? FROM s WHERE i + ? <= ?)"
                " SELECT ts FROM events WHERE id IN s AND ts >= ? AND ts < ? ORDER BY ts DESC",
                (first, STREAM_SAMPLE, STREAM_SAMPLE, upto, lo, hi),
            )
        ]
        every = max(1, STREAM_ROWS // STREAM_SAMPLE)  # sampled calls per window
        cuts = sorted({ts for ts in sample[every::every] if ts > lo}, reverse=True)
        if len(cuts) >= STREAM_WINDOWS:
            step = -(-len(cuts) // (STREAM_WINDOWS - 1))
            cuts = cuts[step - 1 :: step]
        bounds = [end_ms, *cuts, start_ms]
        for top, bottom in zip(bounds, bounds[1:]):
            yield from self._list_events(start_ms=bottom, end_ms=top, limit=None, upto_id=upto, **find)

    _EVENTS_FROM = (
        "FROM events_wide e JOIN models m ON m.id = e.model"
        " LEFT JOIN customers c ON c.id = e.customer LEFT JOIN features f ON f.id = e.feature"
        " LEFT JOIN segments s ON s.id = e.segment LEFT JOIN sources src ON src.id = e.source"
    )

    def _events_where(
        self,
        *,
        customer: str | None,
        event_type: str | None,
        model: str | None,
        start_ms: int | None,
        end_ms: int | None,
        request_id: str | None,
        event_id: int | None = None,
        upto_id: int | None = None,
    ) -> tuple[str, list[Any]]:
        """The WHERE clause of `list_events`'s filters over `_EVENTS_FROM`, with its arguments."""
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
        if upto_id is not None:
            where.append("e.id <= ?")
            args.append(upto_id)
        return ("WHERE " + " AND ".join(where) if where else ""), args

    def _list_events(self, *, limit: int | None, **filters: Any) -> Iterator[dict[str, Any]]:
        """The matching rows, newest first, as they come off the cursor (the query runs now, the rows are read as
        the caller iterates)."""
        where, args = self._events_where(**filters)
        sql = (
            "SELECT e.*, c.customer_id AS customer_id, f.name AS event_type, m.vendor AS vendor, m.model AS model_name,"
            f" s.name AS segment_name, src.path AS source_path {self._EVENTS_FROM} {where}"
            " ORDER BY e.ts DESC, e.id DESC" + (" LIMIT ?" if limit else "")
        )
        cur = self.conn.execute(sql, [*args, limit] if limit else args)
        names = [d[0] for d in cur.description]
        return (dict(zip(names, row)) for row in cur)

    def usage_facts(
        self,
        groups: list[str],
        *,
        start_ms: int | None,
        end_ms: int | None,
        tz: tzinfo,
        customer: str | None = None,
        per_day: bool = True,
    ) -> Iterator[UsageFactRow]:
        """Usage summed per (customer, groups, local day): a `UsageFactRow` each, `groups` the values of `groups`.

        With `per_day=False` the rows span the whole range (one per customer and groups, date 1970-01-01):
        far fewer rows for a report with no time grouping, which never looks at the day.

        Reads the daily rollups when it can (UTC days, range on day boundaries, no tag groups), and
        otherwise the events in 15-minute buckets, which any time zone's day boundary falls between.
        """
        tag_groups = [g for g in groups if g.startswith("tag:")]
        src_args: list[Any] = []
        day_aligned = (start_ms is None or start_ms % DAY_MS == 0) and (end_ms is None or end_ms % DAY_MS == 0)
        use_rollups = tz is UTC and day_aligned and not tag_groups
        if use_rollups:
            # by customer alone: the per-customer rollup, ~60x fewer rows than the five-dimension one
            src = "rollup_customer_daily x" if not groups else "rollup_daily x"
            t_expr, unit = "x.day", DAY_MS
            cost = (
                "sum(x.cost_micro), sum(x.cost_rest)" if not groups else "sum(x.cost / 1000000), sum(x.cost % 1000000)"
            )
            measures = (
                f"sum(x.events), sum(x.input_tokens), sum(x.output_tokens), {cost}, sum(x.unpriced_events),"
                " sum(x.revenue_usd_cents)"
            )
            where, wargs = [], []
            _time_range(
                where,
                wargs,
                "x.day",
                None if start_ms is None else start_ms // DAY_MS,
                None if end_ms is None else end_ms // DAY_MS,
            )
            months = None if groups or per_day else self._customer_months(start_ms, end_ms)
            if months is not None:  # #20: the whole months from rollup_customer_monthly (m010)
                (src, src_args), where, wargs = months, [], []
        else:
            src, t_expr, unit = "events_wide x", "x.ts / 900000", 900_000
            # cost is split into whole micro-dollars and the rest so no SUM can overflow 64 bits
            measures = (
                "count(*), sum(x.input_tokens), sum(x.output_tokens), sum(coalesce(x.cost, 0) / 1000000),"
                " sum(coalesce(x.cost, 0) % 1000000), sum(x.cost IS NULL),"
                " sum(CASE WHEN x.currency = 'usd' THEN coalesce(x.revenue_minor, 0) ELSE 0 END)"
            )
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
                joins.append(
                    "LEFT JOIN segments s ON s.id = x.segment LEFT JOIN customer_attributes ca ON ca.customer = x.customer"
                )
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
        customer_names = self.store._names_by_id("customers", "customer_id", {r[0] for r in rows})
        named.insert(0, (0, customer_names.get))
        day_cache: dict[int, date] = {}
        make = UsageFactRow._make
        for row in rows:
            t = row[n]
            day = day_cache.get(t)
            if day is None:
                day = day_cache[t] = datetime.fromtimestamp(t * unit // 1000, tz).date()
            ev, inp, out, cost_micro, cost_rest, unpriced, rev = row[n + 1 :]
            values = list(row[:n])
            for i, name_of in named:
                values[i] = name_of(values[i])
            yield make(
                (values[0], tuple(values[1:]), day, ev, inp, out, cost_micro * 1_000_000 + cost_rest, unpriced, rev)
            )

    def last_id(self) -> int:
        """The id of the newest stored call (0 when none): ids follow insertion order, so the calls a run stores
        are those with a larger id."""
        return self.conn.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0]

    def unpriced_after(self, last_id: int) -> UnpricedCount:
        """(calls, distinct models) with no price among the calls stored after `last_id` (a range of the primary
        key: the cost of a cron run is its own calls, not the store's)."""
        return UnpricedCount._make(
            self.conn.execute(
                "SELECT count(*), count(DISTINCT model) FROM events WHERE id > ? AND cost IS NULL", (last_id,)
            ).fetchone()
        )

    def unpriced_models(self, *, start_ms: int | None = None, end_ms: int | None = None) -> list[UnpricedModelRow]:
        """The models of stored calls that have no price, the most calls first."""
        where, args = self.ts_filter("e", start_ms, end_ms)
        where.append("e.cost IS NULL")
        sql = (
            "SELECT m.vendor, m.model, count(*), sum(e.input_tokens), sum(e.output_tokens) FROM events e"
            " JOIN models m ON m.id = e.model WHERE " + " AND ".join(where) + " GROUP BY e.model ORDER BY 3 DESC"
        )
        return [UnpricedModelRow._make(r) for r in self.conn.execute(sql, args)]

    def model_names(self) -> dict[int, tuple[str, str]]:
        return {
            mid: (vendor, model) for mid, vendor, model in self.conn.execute("SELECT id, vendor, model FROM models")
        }

    def event_rows(
        self, *, start_ms: int | None, end_ms: int | None, only_unpriced: bool, after_id: int | None, limit: int
    ) -> list[tuple[Any, ...]]:
        """Event rows (WIDE_COLUMNS order) in id order, for re-pricing in chunks."""
        where, args = self.ts_filter("x", start_ms, end_ms)
        if after_id is not None:
            where.append("x.id > ?")
            args.append(after_id)
        if only_unpriced:
            where.append("x.cost IS NULL")
        sql = f"SELECT {', '.join('x.' + c for c in WIDE_COLUMNS)} FROM events_wide x" + (
            " WHERE " + " AND ".join(where) if where else ""
        )
        return self.conn.execute(sql + " ORDER BY x.id LIMIT ?", (*args, limit)).fetchall()

    def count_events(self) -> int:
        return self.conn.execute("SELECT count(*) FROM events").fetchone()[0]

    def usage_vectors(
        self, *, start_ms: int | None, end_ms: int | None, feature: str | None = None
    ) -> list[UsageVectorRow]:
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
        group = (
            "feature, model, service_tier, input_tokens, output_tokens, cached_input_tokens, cache_write_tokens,"
            " cache_write_1h_tokens, reasoning_tokens, units"
        )
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
            out.append(
                UsageVectorRow(
                    features.get(r[0]),
                    vendor,
                    model,
                    *r[2:11],
                    r[11] * 1_000_000 + r[12],
                    r[13],
                    r[14] * 1_000_000 + r[15],
                    r[16],
                    r[17],
                )
            )
        return out

    def export_rows(
        self, table: str, *, start_ms: int | None, end_ms: int | None, chunk_rows: int
    ) -> tuple[list[str], Iterator[list[tuple[Any, ...]]]]:
        """Column names, and chunks of the rows of `events` or `rollup_daily` in [start_ms, end_ms) (dimensions as
        ids: see `dimension_names`; costs in picodollars), so memory stays flat whatever the store holds.

        Rollups come in day order. Events come a UTC month at a time, months in order, each month in id (ingest)
        order: the zone map finds a month's blocks, and no sort is needed. A chunk never spans two months."""
        if table == "events":
            cols = (
                "id, ts, customer, feature, model, segment, input_tokens, output_tokens, cached_input_tokens,"
                " cache_write_tokens, cache_write_1h_tokens, reasoning_tokens, service_tier, revenue_minor, currency,"
                " units, tags, cost, extra_cost, reported_cost, source, line, input_audio_tokens, output_audio_tokens,"
                " output_image_tokens, cached_audio_tokens, price_id"
            )
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
                    first = datetime.fromtimestamp(a // 1000, UTC).date().replace(day=1)
                    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
                    z = min(hi, (following - EPOCH_DATE).days * DAY_MS)
                    # one query per id range (in order, disjoint): each is a plain rowid range scan, never a sort
                    for ids in self.id_ranges([(a, z)]) or [(None, None)]:
                        where, args = [], []
                        _time_range(where, args, "x.ts", a, z)
                        if ids[0] is not None:
                            where.insert(0, "x.id BETWEEN ? AND ?")
                            args[:0] = ids
                        month = self.conn.execute(
                            f"SELECT {cols} FROM events_wide x WHERE {' AND '.join(where)} ORDER BY x.id", args
                        )
                        while rows := month.fetchmany(chunk_rows):
                            yield rows
                    a = z

            return columns, event_chunks()
        if table != "rollup_daily":
            raise ValueError(f"unknown table {table!r}")
        bounds = tuple(None if v is None else -(-v // DAY_MS) for v in (start_ms, end_ms))  # whole UTC days only
        sql = (
            "SELECT day, customer, feature, model, segment, events, input_tokens, output_tokens, cached_input_tokens,"
            " cache_write_tokens, reasoning_tokens, cost, unpriced_events, revenue_usd_cents FROM rollup_daily"
        )
        where = [clause for clause, v in zip(("day >= ?", "day < ?"), bounds) if v is not None]
        cur = self.conn.execute(
            sql
            + (" WHERE " + " AND ".join(where) if where else "")
            + " ORDER BY day, customer, feature, model, segment",
            [v for v in bounds if v is not None],
        )
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
            "model": {
                mid: (vendor, model) for mid, vendor, model in self.conn.execute("SELECT id, vendor, model FROM models")
            },
        }

    def request_id_text_from(self) -> int:
        """The first event id whose request id is kept as text (m005); calls before it have only the id's hash."""
        value = self.store.get_meta("request_id_text_from_event")
        return int(value) if value else 1

    def cell_facts(
        self, groups: list[str], *, start_ms: int | None, end_ms: int | None, tz: tzinfo, customer: str | None = None
    ) -> Iterator[UsageFactRow]:
        """Usage at the finest cell (groups: reports.CELL_DIMS, feature/vendor/model/segment/plan, then any tags) as
        `UsageFactRow`s, `reports.UsageFact`'s shape: (customer id, (group values...), local day, events, input, output,
        cost, unpriced, revenue cents). Without tags, in UTC and on day boundaries these are the rows of `rollup_daily` as
        they are, read with no GROUP BY and named in Python (several times faster than grouping them again in SQL);
        otherwise `usage_facts` serves them."""
        day_aligned = (start_ms is None or start_ms % DAY_MS == 0) and (end_ms is None or end_ms % DAY_MS == 0)
        if list(groups) != ["feature", "vendor", "model", "segment", "plan"] or tz is not UTC or not day_aligned:
            yield from self.usage_facts(groups, start_ms=start_ms, end_ms=end_ms, tz=tz, customer=customer)
            return
        where: list[str] = []
        args: list[Any] = []
        _time_range(
            where,
            args,
            "day",
            None if start_ms is None else start_ms // DAY_MS,
            None if end_ms is None else end_ms // DAY_MS,
        )
        if customer is not None:
            where.append("customer = (SELECT id FROM customers WHERE customer_id = ?)")
            args.append(customer)
        rows = self.conn.execute(
            "SELECT day, customer, feature, model, segment, events, input_tokens, output_tokens, cost, unpriced_events,"
            " revenue_usd_cents FROM rollup_daily" + (" WHERE " + " AND ".join(where) if where else ""),
            args,
        ).fetchall()
        models = self.model_names()
        features = dict(self.conn.execute("SELECT id, name FROM features"))
        segments = dict(self.conn.execute("SELECT id, name FROM segments"))
        attributes = dict(
            self.conn.execute("SELECT customer, segment FROM customer_attributes WHERE segment IS NOT NULL")
        )
        plans = dict(self.conn.execute("SELECT customer, plan FROM customer_attributes WHERE plan IS NOT NULL"))
        customers = self.store._names_by_id("customers", "customer_id", {r[1] for r in rows})
        days: dict[int, date] = {}
        make = UsageFactRow._make
        for day, cust, feature, model, segment, ev, inp, out, cost, unpriced, rev in rows:
            d = days.get(day)
            if d is None:
                d = days[day] = EPOCH_DATE + timedelta(days=day)
            vendor, model_name = models[model]
            seg = segments.get(segment) if segment else attributes.get(cust)  # a call's own segment wins
            yield make(
                (
                    customers.get(cust),
                    (features.get(feature), vendor, model_name, seg, plans.get(cust)),
                    d,
                    ev,
                    inp,
                    out,
                    cost,
                    unpriced,
                    rev,
                )
            )

    def customer_attribute(self, name: str) -> dict[str, str]:
        """customer id -> its `segment` or `plan` from Stripe metadata (customer_attributes), for revenue with no calls."""
        column = {"segment": "segment", "plan": "plan"}[name]  # ours, never user input
        return dict(
            self.conn.execute(
                f"SELECT c.customer_id, ca.{column} FROM customer_attributes ca JOIN customers c ON c.id = ca.customer"
                f" WHERE ca.{column} IS NOT NULL"
            )
        )

    def event_id_by_response_id(self, response_id: str) -> int | None:
        """The call whose provider response id (kept beside a request id) is `response_id`; a scan, for the rare
        look-up by a response id of a call that also has a request id."""
        row = self.conn.execute("SELECT id FROM events WHERE response_id = ? LIMIT 1", (response_id,)).fetchone()
        return row[0] if row else None

    def data_span_days(self, *, start_ms: int | None = None, end_ms: int | None = None) -> DaySpan:
        """The first and last UTC day numbers (days since 1970-01-01) with a call or revenue in [start_ms, end_ms),
        or (None, None) when there is neither."""
        lo = None if start_ms is None else start_ms // DAY_MS
        hi = None if end_ms is None else -(-end_ms // DAY_MS)
        # plain bounds on tables whose index starts with the day (rollup_daily's key, revenue_day): two index
        # look-ups each, not a scan of the customer rollup (#17: every report's title asks)
        clauses = [c for c, v in (("day >= ?", lo), ("day < ?", hi)) if v is not None]
        bounds = [v for v in (lo, hi) if v is not None]
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        sql = (
            f"SELECT min(d), max(d) FROM (SELECT (SELECT min(day) FROM rollup_daily{where}) AS d"
            f" UNION ALL SELECT (SELECT max(day) FROM rollup_daily{where})"
            f" UNION ALL SELECT (SELECT min(day) FROM revenue{where}) UNION ALL SELECT (SELECT max(day) FROM revenue{where}))"
        )
        first, last = self.conn.execute(sql, bounds * 4).fetchone()
        return DaySpan(first, last)

    def reported_cost_rows(
        self, *, start_ms: int | None, end_ms: int | None, after_id: int | None, limit: int
    ) -> list[tuple[Any, ...]]:
        """Events whose log stated their cost (WIDE_COLUMNS order, then the source path), in id order, in chunks:
        for `prices drift`, which compares that cost with the computed one."""
        where, args = self.ts_filter("x", start_ms, end_ms)
        where.append("x.reported_cost IS NOT NULL")
        if after_id is not None:
            where.append("x.id > ?")
            args.append(after_id)
        sql = (
            f"SELECT {', '.join('x.' + c for c in WIDE_COLUMNS)}, src.path FROM events_wide x"
            " LEFT JOIN sources src ON src.id = x.source WHERE " + " AND ".join(where) + " ORDER BY x.id LIMIT ?"
        )
        return self.conn.execute(sql, (*args, limit)).fetchall()

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
        cols = (
            "customer, events, input_tokens, output_tokens, cost_micro, cost_rest, unpriced_events, revenue_usd_cents"
        )
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
        sql = f"SELECT {cols} FROM rollup_customer_monthly" + (
            " WHERE " + " AND ".join(month_where) if month_where else ""
        )
        if edge:
            sql += f" UNION ALL SELECT {cols} FROM rollup_customer_daily WHERE " + " OR ".join(edge)
        return f"({sql}) x", month_args + edge_args


def _stored_ids(c: Any, keys: Iterable[int]) -> dict[int, int]:
    """key -> event id of the `keys` that event_keys holds: STORED_KEYS_CHUNK keys a statement, in key order
    (neighbouring keys share pages)."""
    ordered = sorted(keys)
    found: dict[int, int] = {}
    for i in range(0, len(ordered), STORED_KEYS_CHUNK):
        chunk = ordered[i : i + STORED_KEYS_CHUNK]
        pad = STORED_KEYS_CHUNK - len(chunk)  # one statement, prepared once: the last chunk repeats its first key
        found.update(c.execute(STORED_KEYS, chunk + chunk[:1] * pad))
    return found


def _close_up_ids(c: Any, ids: dict[int, int], base: int) -> dict[int, int]:
    """After INSERT OR IGNORE met stored keys: the new keys (those whose id is past `base`) with the ids base+1,
    base+2, ... in batch order, their `event_keys` rows moved to those ids."""
    keys = sorted(ids)
    stored = {key for key, key_id in _stored_ids(c, ids).items() if key_id <= base}
    fresh = {key: base + i for i, key in enumerate((k for k in ids if k not in stored), 1)}  # in batch order
    c.executemany(
        "UPDATE main.event_keys SET id = ? WHERE key = ?",
        [(fresh[key], key) for key in keys if key in fresh and fresh[key] != ids[key]],
    )
    return fresh


def _trunc_div(a: int, b: int) -> int:
    """a / b rounded toward zero, as SQLite's integer division (Python's // rounds down)."""
    return a // b if a >= 0 else -(-a // b)


def _rollup_cells(
    rows: list[tuple[Any, ...]], base: int
) -> tuple[list[tuple[int, ...]], list[tuple[int, ...]], list[tuple[int, int, int]]]:
    """The rollup_daily and rollup_customer_daily cells of new rows ((key, *EVENT_COLUMNS)), as UPSERT_ROLLUP and
    UPSERT_CUSTOMER_ROLLUP arguments in primary-key order: one upsert per cell; and the zone map's (block, min ts,
    max ts) of the rows, whose ids are base+1, base+2, .... The sums are SQLite's: a day is
    ts / DAY_MS and a customer cell splits each cost into cost / 10^6 and cost % 10^6 (toward zero), so the cells
    are stored exactly as the SQL that summed the rows in SQLite stored them. A sum past 64 bits raises SQLite's
    "integer overflow", as SQLite's sum() did (the caller stores such a batch row by row)."""
    daily: dict[tuple[int, int, int, int, int], list[int]] = {}
    blocks: dict[int, list[int]] = {}
    block, lo, hi = (base + 1) >> BLOCK_BITS, rows[0][1], rows[0][1]
    for i, r in enumerate(rows, base + 1):
        ts, cost, extra = r[1], r[11], r[15]
        if i >> BLOCK_BITS != block:
            blocks[block] = [lo, hi]
            block, lo, hi = i >> BLOCK_BITS, ts, ts
        elif ts < lo:
            lo = ts
        elif ts > hi:
            hi = ts
        k = (_trunc_div(ts, DAY_MS), r[2], r[3], r[4], r[5])
        v = daily.get(k)
        if v is None:
            v = daily[k] = [0] * 11
        v[0] += 1
        v[1] += r[6]
        v[2] += r[7]
        v[3] += r[8]
        v[4] += r[9]
        v[5] += r[10]
        if cost is None:
            v[7] += 1
        else:
            v[6] += cost
            micro = _trunc_div(cost, 1_000_000)
            v[9] += micro
            v[10] += cost - micro * 1_000_000
        if extra is not None:
            fields = json.loads(extra)
            if fields.get("currency") == "usd":
                v[8] += fields.get("revenue_minor") or 0
    cells = []
    by_customer: dict[tuple[int, int], list[int]] = {}
    for k in sorted(daily):
        v = daily[k]
        cells.append((*k, *v[:9]))
        cv = by_customer.get((k[1], k[0]))
        if cv is None:
            by_customer[(k[1], k[0])] = v.copy()
        else:
            for i, x in enumerate(v):
                cv[i] += x
    customer_cells = [
        (*k, *v[:6], v[9], v[10], v[7], v[8]) for k, v in sorted(by_customer.items())
    ]  # (customer, day, events, tokens..., cost_micro, cost_rest, unpriced, revenue)
    if any(not INT64_MIN <= x <= INT64_MAX for cell in cells for x in cell[5:]) or any(
        not INT64_MIN <= x <= INT64_MAX for cell in customer_cells for x in cell[2:]
    ):
        raise sqlite3.OperationalError("integer overflow")
    blocks[block] = [lo, hi]
    return cells, customer_cells, [(b, lo, hi) for b, (lo, hi) in blocks.items()]
