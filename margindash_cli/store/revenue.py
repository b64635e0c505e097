"""Revenue (`revenue`, `fx_rates`): rows per customer and day, from imported files and from Stripe.

Invariants:
- A file import replaces the rows of its source whole (the same file twice changes nothing).
- An amount in another currency is converted to USD cents with the day's rate, never a rate older than asked;
  a row without a rate stays unconverted and is counted as such, never as zero.
- Revenue is added to `rollup_daily` in the same transaction as the rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from margindash_cli.store.rows import (
    FocusRevenueRow,
    RevenueDayRow,
    RevenueFacts,
    RevenueSourceRow,
    UnconvertedDayRow,
    UnconvertedRevenueRow,
)
from margindash_cli.store.schema import DAY_MS, EPOCH_DATE
from margindash_cli.store.sql import Repository, _revenue_where, _time_range


class Revenue(Repository):
    """Revenue rows, FX rates and their conversion to USD."""

    # -- writing --

    def replace_revenue(self, source: str, rows: Iterable[tuple[str, date, int, str, int | None, str]]) -> int:
        """Replace every revenue row of `source` with these (customer_id, UTC date, minor, currency, usd cents, ref)."""
        with self.write():
            self.conn.execute("DELETE FROM revenue WHERE source = ?", (source,))
            n = 0
            for customer_id, day, minor, currency, usd_cents, ref in rows:
                self.conn.execute(
                    "INSERT INTO revenue (customer, day, amount_minor, currency, usd_cents, source, ref) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        self.store.dim_id("customers", customer_id),
                        (day - EPOCH_DATE).days,
                        minor,
                        currency,
                        usd_cents,
                        source,
                        ref,
                    ),
                )
                n += 1
        return n

    def set_fx_rate(self, currency: str, day: date, usd_per_unit: str, source: str) -> None:
        self.conn.execute(
            "INSERT INTO fx_rates (currency, day, usd_per_unit, source) VALUES (?, ?, ?, ?) ON CONFLICT (currency, day)"
            " DO UPDATE SET usd_per_unit = excluded.usd_per_unit, source = excluded.source",
            (currency, (day - EPOCH_DATE).days, usd_per_unit, source),
        )

    def set_revenue_usd(self, updates: list[tuple[int, int]]) -> None:
        """Set (usd cents, row id) on revenue rows."""
        self.conn.executemany("UPDATE revenue SET usd_cents = ? WHERE id = ?", updates)

    def import_revenue_file(
        self,
        source: str,
        rows: list[tuple[str, date, int, str, int | None, str]],
        legacy_source: str | None,
        *,
        replace_legacy: bool = False,
    ) -> tuple[int, list[tuple[str | None, int, int, str, str]], list[tuple[str | None, int, int, str, str]], bool]:
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
                [
                    (self.store.dim_id("customers", c), (d - EPOCH_DATE).days, m, cur, usd, source, ref)
                    for c, d, m, cur, usd, ref in rows
                ],
            )
        return len(rows), replaced, legacy, legacy_replaced

    # -- reading --

    def revenue_facts(self, *, start_ms: int | None, end_ms: int | None, customer: str | None = None) -> RevenueFacts:
        """Revenue per (customer, UTC day) in US cents, and what could not be converted, per currency."""
        return self._revenue_day_facts("r.day", start_ms, end_ms, customer)

    def _revenue_day_facts(
        self, day_sql: str, start_ms: int | None, end_ms: int | None, customer: str | None
    ) -> RevenueFacts:
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
                facts.append(RevenueDayRow(cust, EPOCH_DATE + timedelta(days=day), usd))
        return RevenueFacts(facts, unconverted)

    def fx_rate(self, currency: str, day: date | int, max_age_days: int) -> str | None:
        """USD per unit of `currency` on a UTC day (a date or day number): that day's rate, else the latest up to
        `max_age_days` before it."""
        n = day if isinstance(day, int) else (day - EPOCH_DATE).days
        row = self.conn.execute(
            "SELECT usd_per_unit FROM fx_rates WHERE currency = ? AND day <= ? AND day >= ? ORDER BY day DESC LIMIT 1",
            (currency, n, n - max_age_days),
        ).fetchone()
        return row[0] if row else None

    def unconverted_revenue(self, currencies: list[str]) -> list[UnconvertedRevenueRow]:
        """(row id, day number, amount minor, currency) of non-Stripe revenue rows without USD in these currencies.
        (Stripe rows are rebuilt per invoice instead, so a line is converted once, not day by day.)"""
        return [
            UnconvertedRevenueRow._make(r)
            for r in self.conn.execute(
                f"SELECT id, day, amount_minor, currency FROM revenue WHERE usd_cents IS NULL AND source != 'stripe'"
                f" AND currency IN ({','.join('?' * len(currencies))}) ORDER BY id",
                currencies,
            )
        ]

    def unconverted_totals(self) -> dict[str, int]:
        """Minor units of all revenue still without USD, per currency."""
        return dict(
            self.conn.execute(
                "SELECT currency, sum(amount_minor) FROM revenue WHERE usd_cents IS NULL GROUP BY currency ORDER BY currency"
            ).fetchall()
        )

    def unconverted_revenue_days(
        self, *, start_ms: int | None, end_ms: int | None, customer: str | None = None
    ) -> list[UnconvertedDayRow]:
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
        sql = (
            "SELECT c.customer_id, r.day, count(*) FROM revenue r LEFT JOIN customers c ON c.id = r.customer WHERE "
            + " AND ".join(where)
            + " GROUP BY r.customer, r.day"
        )
        return [
            UnconvertedDayRow(cust, EPOCH_DATE + timedelta(days=day), n)
            for cust, day, n in self.conn.execute(sql, args)
        ]

    def revenue_facts_billed(
        self, *, start_ms: int | None, end_ms: int | None, customer: str | None = None
    ) -> RevenueFacts:
        """`revenue_facts` on the billed basis: a Stripe invoice line counts whole on its invoice's finalization day
        (UTC), an imported row on its first day (its date or period_start); credit notes, refunds and disputes
        count on their own day in both bases. Same shapes as `revenue_facts`."""
        billed_day = (
            "CASE WHEN r.source = 'stripe' THEN coalesce((SELECT coalesce(i.finalized_at, i.created) / 86400 FROM stripe_invoice_lines l"
            " JOIN stripe_invoices i ON i.id = l.invoice WHERE l.id = r.ref), r.day)"
            " ELSE (SELECT min(r2.day) FROM revenue r2 WHERE r2.source = r.source AND r2.ref = r.ref) END"
        )
        return self._revenue_day_facts(billed_day, start_ms, end_ms, customer)

    def revenue_source_rows(self, source: str) -> list[RevenueSourceRow]:
        """(customer id, day number, amount minor, currency, ref) of every revenue row of a source, sorted."""
        return [
            RevenueSourceRow._make(r)
            for r in sorted(
                self.conn.execute(
                    "SELECT c.customer_id, r.day, r.amount_minor, r.currency, r.ref FROM revenue r LEFT JOIN customers c ON c.id = r.customer"
                    " WHERE r.source = ?",
                    (source,),
                ).fetchall(),
                key=repr,
            )
        ]

    def focus_revenue_rows(self, start_day: int | None, end_day: int | None) -> list[FocusRevenueRow]:
        """(UTC day, customer id, amount minor, currency, USD cents or None, source, ref) of every revenue row in
        [start_day, end_day), and one ('events', ref None) per customer-day of the revenue the calls carried."""
        where, args = [], []
        _time_range(where, args, "x.day", start_day, end_day)
        cond = (" WHERE " + " AND ".join(where)) if where else ""
        rows = self.conn.execute(
            "SELECT x.day, c.customer_id, x.amount_minor, x.currency, x.usd_cents, x.source, x.ref FROM revenue x"
            " LEFT JOIN customers c ON c.id = x.customer" + cond,
            args,
        ).fetchall()
        rows += self.conn.execute(
            "SELECT x.day, c.customer_id, sum(x.revenue_usd_cents), 'usd', sum(x.revenue_usd_cents), 'events', NULL"
            " FROM rollup_daily x LEFT JOIN customers c ON c.id = x.customer"
            + cond
            + " GROUP BY x.day, x.customer HAVING sum(x.revenue_usd_cents) != 0",
            args,
        ).fetchall()
        return [FocusRevenueRow._make(r) for r in rows]
