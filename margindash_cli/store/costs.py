"""Billed costs (issue 18: sync-costs, costs import, reconcile): what providers billed, beside what was logged.

Invariants:
- A source's rows of a (provider, UTC day) are replaced whole when that day is synced again (a revised day is
  replaced, not added); a file import upserts by (source, ref), so the same file twice changes nothing.
- Amounts are picodollars of USD; every write below is one transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from margindash_cli.store.rows import (
    BilledCostRow,
    BilledUsageRow,
    CostSyncRow,
    LoggedCellRow,
    ProviderDayRow,
    VendorDayRow,
)
from margindash_cli.store.schema import DAY_MS
from margindash_cli.store.sql import Repository, _time_range


class Costs(Repository):
    """Billed costs and usage per provider and day, and the logged cells reconcile compares them with."""

    # -- writing --

    def replace_billed_days(
        self,
        source: str,
        days: Iterable[tuple[str, int]],
        costs: list[BilledCostRow],
        usage: list[BilledUsageRow],
        *,
        synced_at: str,
    ) -> list[tuple[str, int]]:
        """Replace `source`'s bill for each (provider, day) in `days` with `costs` and `usage` (which must lie in
        those days). Returns the (provider, day)s whose content changed. Call inside `write()`."""
        days = sorted(set(days))
        before = self._billed_digests(source, days)
        for provider, day in days:
            self.conn.execute(
                "DELETE FROM billed_costs WHERE source = ? AND provider = ? AND day = ?", (source, provider, day)
            )
            self.conn.execute(
                "DELETE FROM billed_usage WHERE source = ? AND provider = ? AND day = ?", (source, provider, day)
            )
        self._insert_billed(source, costs, usage, replace=False)
        self.conn.executemany(
            "INSERT OR REPLACE INTO billed_days (source, provider, day, synced_at) VALUES (?, ?, ?, ?)",
            [(source, p, d, synced_at) for p, d in days],
        )
        after = self._billed_digests(source, days)
        return [k for k in days if before.get(k) != after.get(k)]

    def upsert_billed(
        self, source: str, costs: list[BilledCostRow], usage: list[BilledUsageRow], *, synced_at: str
    ) -> list[tuple[str, int]]:
        """Insert or replace rows by (source, ref) (a file import). Returns the (provider, day)s whose content
        changed. Call inside `write()`."""
        days = sorted({(r.provider, r.day) for r in costs} | {(r.provider, r.day) for r in usage})
        before = self._billed_digests(source, days)
        self._insert_billed(source, costs, usage, replace=True)
        self.conn.executemany(
            "INSERT OR IGNORE INTO billed_days (source, provider, day, synced_at) VALUES (?, ?, ?, ?)",
            [(source, p, d, synced_at) for p, d in days],
        )
        after = self._billed_digests(source, days)
        return [k for k in days if before.get(k) != after.get(k)]

    def _insert_billed(
        self, source: str, costs: list[BilledCostRow], usage: list[BilledUsageRow], *, replace: bool
    ) -> None:
        verb = "INSERT OR REPLACE" if replace else "INSERT"
        self.conn.executemany(
            f"{verb} INTO billed_costs (source, ref, provider, day, model, token_class, kind, line_item, project,"
            " service_tier, amount, quantity, quantity_unit) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    source,
                    r.ref,
                    r.provider,
                    r.day,
                    r.model,
                    r.token_class,
                    r.kind,
                    r.line_item,
                    r.project,
                    r.service_tier,
                    r.amount_pico,
                    r.quantity,
                    r.quantity_unit,
                )
                for r in costs
            ],
        )
        self.conn.executemany(
            f"{verb} INTO billed_usage (source, ref, provider, day, model, project, service_tier, batch, input_tokens,"
            " cache_read_tokens, cache_write_5m_tokens, cache_write_1h_tokens, output_tokens, requests)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    source,
                    r.ref,
                    r.provider,
                    r.day,
                    r.model,
                    r.project,
                    r.service_tier,
                    r.batch,
                    r.input_tokens,
                    r.cache_read_tokens,
                    r.cache_write_5m_tokens,
                    r.cache_write_1h_tokens,
                    r.output_tokens,
                    r.requests,
                )
                for r in usage
            ],
        )

    def save_cost_sync(self, source: str, first_day: int, end_day: int, synced_at: str) -> None:
        """Record a sync of [first_day, end_day) of `source`. Call inside `write()`."""
        self.conn.execute(
            "INSERT INTO cost_syncs (source, first_day, last_end_day, synced_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (source) DO UPDATE SET first_day = min(first_day, excluded.first_day),"
            " last_end_day = max(last_end_day, excluded.last_end_day), synced_at = excluded.synced_at",
            (source, first_day, end_day, synced_at),
        )

    # -- reading --

    def _billed_digests(self, source: str, days: list[tuple[str, int]]) -> dict[tuple[str, int], str]:
        """A digest of a source's rows per (provider, day): what tells a changed day from a re-read of the same."""
        out: dict[tuple[str, int], str] = {}
        for provider, day in days:
            h = hashlib.blake2b(digest_size=16)
            for table in ("billed_costs", "billed_usage"):
                for row in self.conn.execute(
                    f"SELECT * FROM {table} WHERE source = ? AND provider = ? AND day = ? ORDER BY ref",
                    (source, provider, day),
                ):
                    h.update(repr(row).encode())
                h.update(b"|")
            known = self.conn.execute(
                "SELECT 1 FROM billed_days WHERE source = ? AND provider = ? AND day = ?", (source, provider, day)
            ).fetchone()
            if known:
                out[(provider, day)] = h.hexdigest()
        return out

    def cost_sync_state(self, source: str) -> CostSyncRow | None:
        row = self.conn.execute(
            "SELECT source, first_day, last_end_day, synced_at FROM cost_syncs WHERE source = ?", (source,)
        ).fetchone()
        return CostSyncRow(*row) if row else None

    def cost_sync_rows(self) -> list[CostSyncRow]:
        return [
            CostSyncRow(*r)
            for r in self.conn.execute(
                "SELECT source, first_day, last_end_day, synced_at FROM cost_syncs ORDER BY source"
            )
        ]

    def billed_cost_rows(
        self, start_day: int | None, end_day: int | None, provider: str | None = None
    ) -> list[BilledCostRow]:
        """Every billed cost line of [start_day, end_day) (UTC day numbers; None = open), all sources."""
        where, args = [], []
        _time_range(where, args, "day", start_day, end_day)
        if provider is not None:
            where.append("provider = ?")
            args.append(provider)
        sql = (
            "SELECT provider, day, model, token_class, kind, line_item, project, service_tier, amount, quantity,"
            " quantity_unit, source || ':' || ref FROM billed_costs"
            + (" WHERE " + " AND ".join(where) if where else "")
        )
        return [BilledCostRow(*r) for r in self.conn.execute(sql, args)]

    def billed_usage_rows(
        self, start_day: int | None, end_day: int | None, provider: str | None = None
    ) -> list[BilledUsageRow]:
        where, args = [], []
        _time_range(where, args, "day", start_day, end_day)
        if provider is not None:
            where.append("provider = ?")
            args.append(provider)
        sql = (
            "SELECT provider, day, model, project, service_tier, batch, input_tokens, cache_read_tokens,"
            " cache_write_5m_tokens, cache_write_1h_tokens, output_tokens, requests, source || ':' || ref FROM billed_usage"
            + (" WHERE " + " AND ".join(where) if where else "")
        )
        return [BilledUsageRow(*r) for r in self.conn.execute(sql, args)]

    def billed_days(self, start_day: int | None, end_day: int | None) -> set[ProviderDayRow]:
        """The (provider, UTC day)s some sync or import knows the bill of."""
        where, args = [], []
        _time_range(where, args, "day", start_day, end_day)
        sql = "SELECT DISTINCT provider, day FROM billed_days" + (" WHERE " + " AND ".join(where) if where else "")
        return {ProviderDayRow(p, d) for p, d in self.conn.execute(sql, args)}

    def logged_vendor_days(self, start_day: int | None, end_day: int | None) -> list[VendorDayRow]:
        """(UTC day, vendor) of every day and vendor with logged calls in [start_day, end_day)."""
        where, args = [], []
        _time_range(where, args, "x.day", start_day, end_day)
        sql = "SELECT DISTINCT x.day, m.vendor FROM rollup_daily x JOIN models m ON m.id = x.model" + (
            " WHERE " + " AND ".join(where) if where else ""
        )
        return [VendorDayRow._make(r) for r in self.conn.execute(sql, args)]

    def logged_cells(self, start_day: int | None, end_day: int | None) -> list[LoggedCellRow]:
        """Our logged calls per (UTC day, vendor, model) from the daily rollups, with the tokens of the unpriced
        ones (from the small index of unpriced calls)."""
        where, args = [], []
        _time_range(where, args, "x.day", start_day, end_day)
        sql = (
            "SELECT x.day, x.model, sum(x.events), sum(x.unpriced_events), sum(x.cost / 1000000), sum(x.cost % 1000000),"
            " sum(x.input_tokens), sum(x.cached_input_tokens), sum(x.cache_write_tokens), sum(x.output_tokens)"
            " FROM rollup_daily x" + (" WHERE " + " AND ".join(where) if where else "") + " GROUP BY x.day, x.model"
        )
        rows = self.conn.execute(sql, args).fetchall()
        unpriced: dict[tuple[int, int], tuple[int, int, int, int]] = {}
        if any(r[3] for r in rows):
            ew, eargs = self.store.events.ts_filter(
                "e", None if start_day is None else start_day * DAY_MS, None if end_day is None else end_day * DAY_MS
            )
            ew.append("e.cost IS NULL")
            for day, model, i, c, w, o in self.conn.execute(
                "SELECT e.ts / 86400000, e.model, sum(e.input_tokens), sum(e.cached_input_tokens), sum(e.cache_write_tokens),"
                " sum(e.output_tokens) FROM events e WHERE " + " AND ".join(ew) + " GROUP BY 1, 2",
                eargs,
            ):
                unpriced[(day, model)] = (i, c, w, o)
        models = self.store.events.model_names()
        out = []
        for day, mid, ev, unp, micro, rest, i, c, w, o in rows:
            vendor, model = models.get(mid, ("unknown", "unknown"))
            out.append(
                LoggedCellRow(
                    day,
                    vendor,
                    model,
                    ev,
                    unp,
                    micro * 1_000_000 + rest,
                    i,
                    c,
                    w,
                    o,
                    *unpriced.get((day, mid), (0, 0, 0, 0)),
                )
            )
        return out
