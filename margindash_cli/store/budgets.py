"""Budgets and their alerts (`budgets`, `budget_alerts`).

Invariants:
- A budget is one row by name; saving it again replaces it.
- An alert is claimed before it is sent and finished after, so concurrent checks send each (budget, level,
  period, channel) once, and a crashed run's claim is retried later.
- Spend is read exactly (integer picodollars, from the rollups), never through floats.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterable, Iterator
from typing import Any

from margindash_cli.store.rows import AlertRow, BudgetRow, BudgetSpend, CostShareRow
from margindash_cli.store.sql import Repository, _case_in, _merge_ranges, _now_iso, _window_plan


class Budgets(Repository):
    """Budgets, their spend and their alerts."""

    # -- writing --

    def save_budget(
        self,
        name: str,
        scope: str,
        scope_id: str,
        limit_usd: str,
        period: str,
        tz: str,
        warn_pct: str,
        critical_pct: str,
        emails_json: str,
    ) -> bool:
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

    def claim_alert(
        self,
        budget: str,
        level: str,
        period_start: int,
        channel: str,
        *,
        blocking_levels: list[str],
        now_ms: int,
        stale_ms: int,
    ) -> str:
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

    def finish_alert(
        self, budget: str, level: str, period_start: int, channel: str, *, error: str | None, now_ms: int
    ) -> None:
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

    # -- reading --

    def budget_rows(self) -> list[BudgetRow]:
        """(name, scope, scope_id, limit_usd, period, tz, warn_pct, critical_pct, emails JSON) of every budget, by name."""
        return [
            BudgetRow._make(r)
            for r in self.conn.execute(
                "SELECT name, scope, scope_id, limit_usd, period, tz, warn_pct, critical_pct, emails FROM budgets ORDER BY name"
            )
        ]

    def budget_spend(
        self, windows: list[tuple[int, int]], customers: Iterable[str]
    ) -> dict[tuple[int, int], BudgetSpend]:
        """Priced cost (picodollars), unpriced calls and calls of each window [start_ms, end_ms): in all, per
        feature, and per customer asked for.

        Whole UTC days come from `rollup_daily`; only the partial days at the edges of a window (a non-UTC
        zone's midnight) come from `events`, through its ts index, at most half a day per edge (see
        `_window_plan`). Three queries serve every window: the days' totals per feature (one pass in key
        order), the customers' days (key lookups), and the edges (one query over all their ranges).
        """
        cust = self.store._ids("customers", "customer_id", customers)
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
            where, wargs = self.store.events.ts_ranges_filter("x", ranges)
            sql = (
                f"SELECT x.ts / {unit}, {c_expr}, x.feature, {{cost}}, sum(x.cost IS NULL), count(*) FROM events x"
                f" WHERE {' AND '.join(where)} GROUP BY 1, 2, 3"
            )
            args = (*c_args, *wargs)
            bucket_windows: dict[int, list[tuple[int, tuple[int, int]]]] = {}
            for bucket, c, f, cost, unpriced, n in self._exact_cost_rows(
                sql, args, lead=3, column="coalesce(x.cost, 0)"
            ):
                ws = bucket_windows.get(bucket)
                if ws is None:
                    t = bucket * unit
                    ws = bucket_windows[bucket] = [(sign, w) for a, z, sign, w in edge_windows if a <= t < z]
                for sign, w in ws:
                    out[w].add(cust.get(c), feature_names.get(f), sign * cost, sign * unpriced, sign * n)
        return out

    def _exact_cost_rows(
        self, sql: str, args: tuple[Any, ...], *, lead: int = 2, column: str = "x.cost"
    ) -> Iterator[tuple[Any, ...]]:
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
        split = {
            "cost": f"sum({column} / 1000000), sum({column} % 1000000)",
            "inner": f"sum({column} / 1000000) AS c, sum({column} % 1000000) AS r",
            "outer": "sum(c), sum(r)",
        }
        for row in self.conn.execute(sql.format(**split), args):
            yield (*row[:lead], row[lead] * 1_000_000 + row[lead + 1], *row[lead + 2 :])

    def budget_breakdown(
        self, start_ms: int, end_ms: int, by: str, *, customer: str | None = None, feature: str | None = None
    ) -> list[CostShareRow]:
        """Priced cost per customer (by='customer') or feature (by='feature') in [start_ms, end_ms), within one
        customer or feature when given: [(name or None, cost picodollars)], biggest first."""
        column = {"customer": "x.customer", "feature": "x.feature"}[by]
        where, args = [], []
        for col, table, key_col, value in (
            ("x.customer", "customers", "customer_id", customer),
            ("x.feature", "features", "name", feature),
        ):
            if value is not None:
                ids = self.store._ids(table, key_col, [value])
                if not ids:
                    return []
                where.append(f"{col} = ?")
                args.append(next(iter(ids)))
        cond = "".join(f" AND {w}" for w in where)
        totals: dict[int, int] = {}
        days, edges = _window_plan(start_ms, end_ms)
        queries = []
        if days:
            queries.append(
                (
                    f"SELECT {column}, sum(x.cost / 1000000), sum(x.cost % 1000000) FROM rollup_daily x"
                    f" WHERE x.day >= ? AND x.day < ?{cond} GROUP BY 1",
                    (days.start, days.stop, *args),
                    1,
                )
            )
        for a, z, sign in edges:
            where, wargs = self.store.events.ts_filter("x", a, z)
            queries.append(
                (
                    f"SELECT {column}, sum(coalesce(x.cost, 0) / 1000000), sum(coalesce(x.cost, 0) % 1000000)"
                    f" FROM events x WHERE {' AND '.join(where)}{cond} GROUP BY 1",
                    (*wargs, *args),
                    sign,
                )
            )
        for sql, qargs, sign in queries:
            for ident, micro, rest in self.conn.execute(sql, qargs):
                totals[ident] = totals.get(ident, 0) + sign * (micro * 1_000_000 + rest)
        table, key_col = ("customers", "customer_id") if by == "customer" else ("features", "name")
        names = self.store._names_by_id(table, key_col, totals)
        return sorted(
            (CostShareRow(names.get(i), cost) for i, cost in totals.items() if cost), key=lambda r: (-r[1], r[0] or "")
        )

    def alert_rows(self) -> list[AlertRow]:
        """(budget, level, period_start, channel, state, claimed_at, sent_at, attempts, last_error) of every alert."""
        return [
            AlertRow._make(r)
            for r in self.conn.execute(
                "SELECT budget, level, period_start, channel, state, claimed_at, sent_at, attempts, last_error FROM budget_alerts"
                " ORDER BY budget, period_start, level, channel"
            )
        ]

    def scope_has_calls(self, scope: str, scope_id: str) -> bool:
        """Whether the customer (scope "customer") or feature (scope "feature") `scope_id` has a stored call: a key
        lookup in the per-customer monthly rollup, or a feature's first rollup cell (found at once when it has calls;
        `budget check` asks this of every budget, so it must not cost a scan of the rollups each time)."""
        if scope == "customer":
            sql = (
                "SELECT EXISTS (SELECT 1 FROM customers d JOIN rollup_customer_monthly r ON r.customer = d.id"
                " WHERE d.customer_id = ?)"
            )
        else:
            sql = "SELECT EXISTS (SELECT 1 FROM features d JOIN rollup_daily r ON r.feature = d.id WHERE d.name = ?)"
        return bool(self.conn.execute(sql, (scope_id,)).fetchone()[0])

    def scope_ids_with_calls(self, scope: str) -> list[str]:
        """The customer ids (scope "customer") or features (scope "feature") that have at least one stored call,
        sorted: what a budget's scope may name and ever see spend from."""
        table, column, ref, rollup = (
            ("customers", "customer_id", "customer", "rollup_customer_monthly")
            if scope == "customer"
            else ("features", "name", "feature", "rollup_daily")
        )
        sql = (
            f"SELECT d.{column} FROM {table} d WHERE d.id IN (SELECT DISTINCT {ref} FROM {rollup})"
            f" AND d.{column} IS NOT NULL ORDER BY d.{column}"
        )
        return [r[0] for r in self.conn.execute(sql)]
