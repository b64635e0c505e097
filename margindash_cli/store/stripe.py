"""Stripe objects (sync-stripe, stripe apply-event, customers, fx).

Invariants:
- Stripe objects are kept as ids and amounts only; revenue rows (source 'stripe', ref = Stripe id) are rebuilt
  from them per invoice. Methods that write run inside the caller's `write()`.
- An object is only replaced by one observed later (`observed_at`), so webhooks and syncs may arrive in any order.
- A refund or dispute is split over the invoices it reverses once, and the split is kept (#15).
"""

from __future__ import annotations

from typing import Any

from margindash_cli.store.rows import (
    AppCustomer,
    DisputeAtRiskRow,
    InvoiceFamily,
    ReversalIds,
    Reversals,
    StripeRevenueTotalRow,
)
from margindash_cli.store.schema import EPOCH_DATE
from margindash_cli.store.sql import Repository, _now_iso


class Stripe(Repository):
    """Stripe customers, invoices, credit notes, refunds, disputes and the revenue rebuilt from them."""

    # -- writing --

    def set_stripe_cursor(self, obj: str, created_gte: int) -> None:
        """Move a cursor forward; never backward (two overlapping runs may finish out of order)."""
        self.conn.execute(
            "INSERT INTO stripe_cursors (object, created_gte, synced_at) VALUES (?, ?, ?) ON CONFLICT (object) DO UPDATE"
            " SET created_gte = max(created_gte, excluded.created_gte), synced_at = excluded.synced_at",
            (obj, created_gte, _now_iso()),
        )

    def _stripe_upsert(self, table: str, row: dict[str, Any]) -> None:
        cols = list(row)
        self.conn.execute(
            f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))}) ON CONFLICT (id) DO UPDATE SET "
            + ", ".join(f"{c} = excluded.{c}" for c in cols if c != "id"),
            [row[c] for c in cols],
        )

    def upsert_stripe_customer(self, row: dict[str, Any], observed_at: int) -> None:
        self._stripe_upsert("stripe_customers", {**row, "observed_at": observed_at})

    def set_stripe_customer_map(self, customer: str, app_customer_id: str | None) -> None:
        if app_customer_id is None:
            self.conn.execute("DELETE FROM stripe_customer_map WHERE stripe_customer = ?", (customer,))
            return
        self.conn.execute(
            "INSERT INTO stripe_customer_map (stripe_customer, app_customer_id, created_at) VALUES (?, ?, ?)"
            " ON CONFLICT (stripe_customer) DO UPDATE SET app_customer_id = excluded.app_customer_id, created_at = excluded.created_at",
            (customer, app_customer_id, _now_iso()),
        )

    def set_customer_attributes(
        self, source: str, app_customer_id: str | None, segment: str | None, plan: str | None
    ) -> None:
        """Record the segment and plan a source (e.g. 'stripe:cus_...') gives an app customer; replaces what it gave before."""
        self.conn.execute("DELETE FROM customer_attributes WHERE source = ?", (source,))
        if app_customer_id and (segment or plan):
            self.conn.execute(
                "INSERT INTO customer_attributes (customer, segment, plan, source) VALUES (?, ?, ?, ?) ON CONFLICT (customer)"
                " DO UPDATE SET segment = excluded.segment, plan = excluded.plan, source = excluded.source",
                (self.store.dim_id("customers", app_customer_id), segment, plan, source),
            )

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
        self.conn.execute(
            "UPDATE stripe_invoices SET status = 'deleted', observed_at = ? WHERE id = ?", (observed_at, invoice)
        )

    def upsert_stripe_credit_note(self, row: dict[str, Any], observed_at: int) -> None:
        self._stripe_upsert("stripe_credit_notes", {**row, "observed_at": observed_at})

    def upsert_stripe_refund(self, row: dict[str, Any], observed_at: int) -> None:
        self._stripe_upsert("stripe_refunds", {**row, "observed_at": observed_at})

    def set_stripe_payment(self, payment: str, invoice: str) -> None:
        self.conn.execute(
            "INSERT INTO stripe_payments (payment, invoice) VALUES (?, ?) ON CONFLICT (payment) DO UPDATE SET invoice = excluded.invoice",
            (payment, invoice),
        )

    def replace_stripe_revenue(self, refs: list[str], app_customer_id: str | None, entries: list[Any]) -> int:
        """Make the 'stripe' revenue rows of these refs exactly `entries` (RevenueEntry: ref, day, amount_minor,
        currency, usd_cents), for one app customer. Returns how many refs changed; unchanged refs are not rewritten."""
        refs = sorted(set(refs) | {e.ref for e in entries})
        if not refs:
            return 0
        customer = self.store.dim_id("customers", app_customer_id) if entries else 0
        new: dict[str, list[tuple[Any, ...]]] = {r: [] for r in refs}
        for e in entries:
            new[e.ref].append((customer, (e.day - EPOCH_DATE).days, e.amount_minor, e.currency, e.usd_cents))
        old: dict[str, list[tuple[Any, ...]]] = {r: [] for r in refs}
        for i in range(0, len(refs), 900):
            chunk = refs[i : i + 900]
            for ref, *values in self.conn.execute(
                "SELECT ref, customer, day, amount_minor, currency, usd_cents FROM revenue"
                f" WHERE source = 'stripe' AND ref IN ({','.join('?' * len(chunk))})",
                chunk,
            ):
                old[ref].append(tuple(values))
        changed = [r for r in refs if sorted(old[r], key=repr) != sorted(new[r], key=repr)]
        for i in range(0, len(changed), 900):
            chunk = changed[i : i + 900]
            self.conn.execute(
                f"DELETE FROM revenue WHERE source = 'stripe' AND ref IN ({','.join('?' * len(chunk))})", chunk
            )
        self.conn.executemany(
            "INSERT INTO revenue (customer, day, amount_minor, currency, usd_cents, source, ref) VALUES (?, ?, ?, ?, ?, 'stripe', ?)",
            [(*row, ref) for ref in changed for row in new[ref]],
        )
        return len(changed)

    def set_stripe_reversal_shares(self, reversal: str, shares: dict[str, int]) -> None:
        self.conn.execute("DELETE FROM stripe_reversal_shares WHERE reversal = ?", (reversal,))
        self.conn.executemany(
            "INSERT INTO stripe_reversal_shares (reversal, invoice, amount) VALUES (?, ?, ?)",
            [(reversal, inv, amount) for inv, amount in sorted(shares.items())],
        )

    def upsert_stripe_dispute(self, row: dict[str, Any], observed_at: int) -> None:
        self._stripe_upsert("stripe_disputes", {**row, "observed_at": observed_at})

    # -- reading --

    def stripe_cursor(self, obj: str) -> int | None:
        row = self.conn.execute("SELECT created_gte FROM stripe_cursors WHERE object = ?", (obj,)).fetchone()
        return row[0] if row else None

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

    def stripe_customer(self, customer: str) -> dict[str, Any] | None:
        return self._stripe_row("stripe_customers", customer)

    def stripe_app_customer(self, customer: str) -> AppCustomer:
        """(app customer id, how it was found) of a Stripe customer: `customers map`, else its metadata, else its own id."""
        row = self.conn.execute(
            "SELECT app_customer_id FROM stripe_customer_map WHERE stripe_customer = ?", (customer,)
        ).fetchone()
        if row:
            return AppCustomer(row[0], "map")
        row = self.conn.execute("SELECT app_customer_id FROM stripe_customers WHERE id = ?", (customer,)).fetchone()
        if row and row[0]:
            return AppCustomer(row[0], "metadata")
        return AppCustomer(customer, "stripe id")

    def stripe_invoice(self, invoice: str) -> dict[str, Any] | None:
        return self._stripe_row("stripe_invoices", invoice)

    def stripe_credit_note(self, credit_note: str) -> dict[str, Any] | None:
        return self._stripe_row("stripe_credit_notes", credit_note)

    def stripe_refund(self, refund: str) -> dict[str, Any] | None:
        return self._stripe_row("stripe_refunds", refund)

    def stripe_payment_invoice(self, payment: str) -> str | None:
        row = self.conn.execute("SELECT invoice FROM stripe_payments WHERE payment = ?", (payment,)).fetchone()
        return row[0] if row else None

    def stripe_invoice_family(self, invoice: str) -> InvoiceFamily | None:
        """An invoice with its lines, credit notes and refunds (store rows as dicts), or None if it is not stored."""
        inv = self.stripe_invoice(invoice)
        if inv is None:
            return None

        def rows(sql: str) -> list[dict[str, Any]]:
            cur = self.conn.execute(sql, (invoice,))
            names = [d[0] for d in cur.description]
            return [dict(zip(names, r)) for r in cur]

        return InvoiceFamily(
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
        return [
            r[0]
            for r in self.conn.execute(
                "SELECT id FROM stripe_invoices WHERE created < ? AND (status IN ('open', 'uncollectible') OR (status = 'draft' AND created >= ?))"
                " ORDER BY id",
                (created_before, drafts_since),
            )
        ]

    def stripe_counted_invoices(self, include_open: bool) -> int:
        statuses = ("paid", "open") if include_open else ("paid",)
        sql = f"SELECT count(*) FROM stripe_invoices WHERE status IN ({','.join('?' * len(statuses))})"
        return self.conn.execute(sql, statuses).fetchone()[0]

    def stripe_revenue_totals(self) -> list[StripeRevenueTotalRow]:
        """(currency, amount minor, converted USD cents, unconverted minor) of all Stripe revenue, per currency."""
        return [
            StripeRevenueTotalRow._make(r)
            for r in self.conn.execute(
                "SELECT currency, sum(amount_minor), coalesce(sum(usd_cents), 0),"
                " coalesce(sum(CASE WHEN usd_cents IS NULL THEN amount_minor END), 0)"
                " FROM revenue WHERE source = 'stripe' GROUP BY currency ORDER BY currency"
            )
        ]

    def stripe_unmapped_customers(self) -> list[str]:
        """Stripe customers with revenue whose app id is their own Stripe id (no metadata key, no map)."""
        return [
            r[0]
            for r in self.conn.execute(
                "SELECT DISTINCT i.customer FROM stripe_invoices i JOIN customers c ON c.customer_id = i.customer"
                " LEFT JOIN stripe_customer_map m ON m.stripe_customer = i.customer"
                " LEFT JOIN stripe_customers s ON s.id = i.customer"
                " WHERE m.stripe_customer IS NULL AND s.app_customer_id IS NULL"
                " AND EXISTS (SELECT 1 FROM revenue r WHERE r.source = 'stripe' AND r.customer = c.id) ORDER BY 1"
            )
        ]

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
            return out.setdefault(
                name,
                {
                    "stripe_usd_cents": 0,
                    "stripe_unconverted_rows": 0,
                    "revenue_rows": 0,
                    "event_revenue_cents": 0,
                    "events": 0,
                },
            )

        for name, source, usd, unconverted, n in self.conn.execute(
            "SELECT c.customer_id, r.source = 'stripe', coalesce(sum(r.usd_cents), 0), sum(r.usd_cents IS NULL), count(*)"
            " FROM revenue r JOIN customers c ON c.id = r.customer GROUP BY 1, 2"
        ):
            a = acc(name)
            a["revenue_rows"] += n
            if source:
                a["stripe_usd_cents"] += usd
                a["stripe_unconverted_rows"] += unconverted
        for name, events, cents in self.conn.execute(
            "SELECT c.customer_id, sum(x.events), sum(x.revenue_usd_cents) FROM rollup_daily x"
            " JOIN customers c ON c.id = x.customer GROUP BY 1"
        ):
            a = acc(name)
            a["events"] += events
            a["event_revenue_cents"] += cents
        return out

    def last_stripe_sync(self) -> str | None:
        """When sync-stripe last completed (ISO 8601 UTC), or None if it never ran on this store."""
        return self.conn.execute("SELECT max(synced_at) FROM stripe_cursors").fetchone()[0]

    def stripe_reversal_shares(self, reversal: str) -> dict[str, int]:
        """{invoice: amount} of a refund or dispute: the part of it booked on each invoice ({} = not linked)."""
        return dict(
            self.conn.execute(
                "SELECT invoice, amount FROM stripe_reversal_shares WHERE reversal = ?", (reversal,)
            ).fetchall()
        )

    def stripe_invoice_reversals(self, invoice: str) -> Reversals:
        """(refunds, disputes) booked on an invoice: their store rows with `amount` set to the invoice's share and
        `shares` to how many invoices the reversal is split over."""

        def q(table: str) -> list[dict[str, Any]]:
            return self.store._dict_rows(
                f"SELECT t.*, s.amount AS amount, (SELECT count(*) FROM stripe_reversal_shares x WHERE x.reversal = t.id) AS shares"
                f" FROM {table} t JOIN stripe_reversal_shares s ON s.reversal = t.id WHERE s.invoice = ? ORDER BY t.id",
                (invoice,),
            )

        return Reversals(q("stripe_refunds"), q("stripe_disputes"))

    def stripe_dispute(self, dispute: str) -> dict[str, Any] | None:
        return self._stripe_row("stripe_disputes", dispute)

    def stripe_reversals_to_refetch(
        self, *, refund_statuses: tuple[str, ...], dispute_statuses: tuple[str, ...]
    ) -> ReversalIds:
        """(refund ids, dispute ids) whose stored status is not final, whatever their age."""

        def q(table: str, statuses: tuple[str, ...]) -> list[str]:
            return [
                r[0]
                for r in self.conn.execute(
                    f"SELECT id FROM {table} WHERE status IN ({','.join('?' * len(statuses))}) ORDER BY id", statuses
                )
            ]

        return ReversalIds(q("stripe_refunds", refund_statuses), q("stripe_disputes", dispute_statuses))

    def stripe_unlinked_reversals(self) -> Reversals:
        """(refunds, disputes) stored without any invoice share: each run tries to link them again."""

        def q(table: str) -> list[dict[str, Any]]:
            return self.store._dict_rows(
                f"SELECT * FROM {table} WHERE id NOT IN (SELECT reversal FROM stripe_reversal_shares) ORDER BY id"
            )

        return Reversals(q("stripe_refunds"), q("stripe_disputes"))

    def stripe_all_reversals(self) -> Reversals:
        return Reversals(
            self.store._dict_rows("SELECT * FROM stripe_refunds ORDER BY id"),
            self.store._dict_rows("SELECT * FROM stripe_disputes ORDER BY id"),
        )

    def stripe_customer_paid_invoices(self, customer: str, *, created_until: int) -> list[str]:
        """Paid invoices of a Stripe customer created up to a time (a payment is reversed after it is made)."""
        return [
            r[0]
            for r in self.conn.execute(
                "SELECT id FROM stripe_invoices WHERE customer = ? AND status = 'paid' AND created <= ? ORDER BY created DESC, id",
                (customer, created_until),
            )
        ]

    def stripe_disputes_at_risk(self) -> list[DisputeAtRiskRow]:
        """(app customer id, currency, minor units, count) of open disputes booked on invoices: revenue at risk."""
        out: dict[tuple[str | None, str], list[int]] = {}
        for inv_customer, currency, amount in self.conn.execute(
            "SELECT i.customer, d.currency, s.amount FROM stripe_disputes d JOIN stripe_reversal_shares s ON s.reversal = d.id"
            " JOIN stripe_invoices i ON i.id = s.invoice WHERE d.status NOT IN ('won', 'lost', 'prevented', 'warning_closed')"
        ):
            app = self.stripe_app_customer(inv_customer)[0] if inv_customer else None
            acc = out.setdefault((app, currency), [0, 0])
            acc[0] += amount
            acc[1] += 1
        return [
            DisputeAtRiskRow(c, cur, a, n)
            for (c, cur), (a, n) in sorted(out.items(), key=lambda kv: (kv[0][0] or "", kv[0][1]))
        ]
