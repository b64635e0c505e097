"""What `doctor` and maintenance read: integrity, migrations, and rollups checked against the events.

Invariants: every read here is read-only; none repairs anything.
"""

from __future__ import annotations

from typing import Any

from margindash_cli.store.rows import RollupMismatches
from margindash_cli.store.sql import Repository


class Health(Repository):
    """Read-only checks of a store's health."""

    # -- reading --

    def integrity_problems(self, *, full: bool = False) -> list[str]:
        """SQLite's own check of the file: [] when it is sound, else its first messages. `full` also checks
        every index against its table (PRAGMA integrity_check); the default is the quicker quick_check."""
        pragma = "integrity_check" if full else "quick_check"
        rows = [r[0] for r in self.conn.execute(f"PRAGMA {pragma}(20)")]
        return [] if rows == ["ok"] else [line for r in rows for line in str(r).splitlines()][:20]

    def rollup_mismatches(self, limit: int = 5) -> RollupMismatches:
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
        sums = (
            "sum(events), sum(input_tokens), sum(output_tokens), sum(cached_input_tokens), sum(cache_write_tokens),"
            " sum(reasoning_tokens), sum(unpriced_events), sum(revenue_usd_cents)"
        )
        from_daily = {
            (r[0], r[1]): (*r[2:10], r[10] * 1_000_000 + r[11])
            for r in self.conn.execute(
                f"SELECT day, customer, {sums}, sum(cost / 1000000), sum(cost % 1000000) FROM rollup_daily GROUP BY 1, 2"
            )
        }
        per_customer = {
            (r[0], r[1]): (*r[2:10], r[10] * 1_000_000 + r[11])
            for r in self.conn.execute(
                f"SELECT day, customer, {sums}, sum(cost_micro), sum(cost_rest) FROM rollup_customer_daily GROUP BY 1, 2"
            )
        }
        cells.update(
            (d, c, -1, -1, -1)
            for d, c in from_daily.keys() | per_customer.keys()
            if from_daily.get((d, c)) != per_customer.get((d, c))
        )
        cells.update(
            (m, c, -2, -2, -2) for m, c in self._monthly_mismatches()
        )  # m010 (#20): (month's first day, customer)
        return RollupMismatches(len(cells), sorted(cells)[:limit])

    def applied_migrations(self) -> list[str]:
        """Names of the schema migrations this store has had, in order."""
        return [
            r[0]
            for r in self.conn.execute(
                "SELECT name FROM _sqlite_migrations WHERE migration_set = 'margindash' ORDER BY id"
            )
        ]

    def _monthly_mismatches(self) -> set[tuple[int, int]]:
        """(month's first day, customer) where rollup_customer_monthly differs from its days in rollup_customer_daily."""
        month = "CAST(julianday(date(day * 86400, 'unixepoch', 'start of month')) - 2440587.5 AS INTEGER)"
        sums = (
            "count(*), sum(events), sum(input_tokens), sum(output_tokens), sum(cost_micro), sum(cost_rest),"
            " sum(unpriced_events), sum(revenue_usd_cents)"
        )
        cols = "cells, events, input_tokens, output_tokens, cost_micro, cost_rest, unpriced_events, revenue_usd_cents"
        # cost as one Python integer: the micro/rest split of a sum is not unique
        days = {
            (r[0], r[1]): (*r[2:6], r[6] * 1_000_000 + r[7], *r[8:])
            for r in self.conn.execute(f"SELECT {month}, customer, {sums} FROM rollup_customer_daily GROUP BY 1, 2")
        }
        months = {
            (r[0], r[1]): (*r[2:6], r[6] * 1_000_000 + r[7], *r[8:])
            for r in self.conn.execute(f"SELECT month, customer, {cols} FROM rollup_customer_monthly")
        }
        return {k for k in days.keys() | months.keys() if days.get(k) != months.get(k)}
