"""Revenue from Stripe, the run (`sync-stripe`, `stripe apply-event`, `customers map|list`, `fx import`):
fetch through clients/stripe_api.py, turn objects into rows with stripe_math.py, write them to the store.

Takes a `StripeApi` around an injected `stripe.StripeClient` (tests point one at a local server) and a store.

Invariants:
- A refund or dispute is booked only on the invoices whose invoice payment is verifiably its payment (the
  payment intent, or the charge of a legacy payment), split by `amount_paid`; else it is stored unlinked,
  counts nothing, is named in the warnings and is linked again on every run.
- A stored object is never replaced by an earlier state of it (`stored_is_newer`), from a webhook or a sync.
- Idempotent: the revenue rows of an invoice (its lines, credit notes and refunds, each keyed by its Stripe
  id) are rebuilt from the stored Stripe objects whenever any of them changes, so a re-run, an overlapping
  run or a replayed webhook changes nothing.
- One run is one transaction: everything is fetched first, then written at once; a failure writes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from margindash_cli.clients.stripe_api import (
    StripeApi,
    as_dict,
)
from margindash_cli.core.money import allocate, day_of, minor_exponent
from margindash_cli.errors import UsageError
from margindash_cli.revenue.fx import FX_MAX_AGE_DAYS, decimal_rate, usd_cents
from margindash_cli.revenue.stripe_math import (
    NON_FINAL_REFUND_STATUSES,
    OPEN_DISPUTE_STATUSES,
    Settings,
    credit_note_row,
    customer_row,
    dispute_row,
    family_revenue,
    ident,
    invoice_counts,
    invoice_row,
    line_row,
    refund_row,
    reversal_ref,
    settle_rate,
    stored_is_newer,
    total_mismatch,
)

LOOKBACK_S = (
    35 * 86_400
)  # each run re-lists objects created this long before the last run: invoices get paid, refunds arrive
REFUND_LOOKBACK_S = (
    120 * 86_400
)  # refunds are re-listed this far back: a succeeded refund can still fail (bank returns)
CREDIT_NOTE_LOOKBACK_S = 400 * 86_400  # credit notes are re-listed this far back: an issued one can be voided later
DRAFT_REFETCH_S = 90 * 86_400  # stored drafts younger than this, and all open invoices, are re-read even when older
SETTINGS_META = "stripe.settings"  # meta key: the options of the last sync (a change re-maps everything)


# ---- a batch of Stripe objects, fetched then written at once -------------------------------------


@dataclass
class Batch:
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    invoices: dict[str, dict[str, Any]] = field(default_factory=dict)
    lines: dict[str, list[dict[str, Any]] | None] = field(default_factory=dict)  # None = keep the stored lines
    credit_notes: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    payments: dict[str, str] = field(default_factory=dict)  # payment intent / charge id -> invoice id
    disputes: dict[str, dict[str, Any]] = field(default_factory=dict)
    shares: dict[str, dict[str, int]] = field(
        default_factory=dict
    )  # refund/dispute id -> {invoice: amount}; {} = unlinked
    deleted_invoices: set[str] = field(default_factory=set)
    warnings: list[str] = field(default_factory=list)
    unlinked: list[str] = field(default_factory=list)  # refunds and disputes no invoice payment was found for


@dataclass
class StripeSyncResult:
    listed: dict[str, int]
    window_since: str | None  # ISO time listing started from (None = everything)
    requests: int
    retries: int
    invoices_counted: int
    refs_changed: int
    revenue: dict[str, dict[str, str]]  # currency -> {"amount", "usd", "unconverted"} over all Stripe revenue
    unmapped_customers: list[str]
    warnings: list[str]
    unlinked: list[str] = field(default_factory=list)  # refunds/disputes not booked: no invoice payment matches them

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


class Collector:
    """Fetches what a run needs into a Batch, following links (a credit note's invoice, a refund's payment)."""

    def __init__(self, store: Any, api: StripeApi | None, settings: Settings, *, relink: bool = False):
        self.store = store
        self.api = api
        self.settings = settings
        self.relink = relink  # --full: derive every refund's and dispute's invoices again, never trust a stored link
        self.batch = Batch()
        self.listed = {"customers": 0, "invoices": 0, "credit_notes": 0, "refunds": 0, "disputes": 0}
        self._payment_customers: dict[str, str | None] = {}

    @property
    def v1(self) -> Any:
        return self.api.client.v1  # type: ignore[union-attr]

    def take_customer(self, c: Mapping[str, Any]) -> None:
        self.batch.customers[c["id"]] = customer_row(c, self.settings)

    def take_invoice(self, inv: dict[str, Any]) -> None:
        """An invoice, its customer (when expanded) and all its lines (paged when the embedded list is cut)."""
        row = invoice_row(inv)
        cust = inv.get("customer")
        if isinstance(cust, Mapping):
            self.take_customer(cust)
        elif (
            row["customer"]
            and self.api
            and self.store.stripe.stripe_customer(row["customer"]) is None
            and row["customer"] not in self.batch.customers
        ):
            found = self.api.call("reading a customer", self.v1.customers.retrieve, row["customer"], missing_ok=True)
            if found is not None:
                self.take_customer(as_dict(found))
        embedded = inv.get("lines") or {}
        lines = list(embedded.get("data") or [])
        complete = not embedded.get("has_more")
        if not complete and row["status"] not in ("draft", "void") and self.api:
            after = lines[-1]["id"] if lines else None
            params = {"starting_after": after} if after else {}
            lines.extend(
                self.api.iterate(
                    f"reading the lines of {inv['id']}", self.v1.invoices.line_items.list, params, inv["id"]
                )
            )
            complete = True
        elif not complete and not self.api:
            self.batch.warnings.append(
                f"invoice {inv['id']}: the event carries only part of its lines; they are kept as stored"
                " until sync-stripe reads them"
            )
        old = self.store.stripe.stripe_invoice(row["id"])
        row["settle_rate"] = old["settle_rate"] if old else None
        self.batch.invoices[row["id"]] = row
        self.batch.lines[row["id"]] = [line_row(li, row["id"]) for li in lines] if complete else None

    def ensure_invoice(self, invoice_id: str | None) -> None:
        """Fetch an invoice we have never seen (a credit note or refund points to it)."""
        if (
            not invoice_id
            or invoice_id in self.batch.invoices
            or self.store.stripe.stripe_invoice(invoice_id) is not None
            or not self.api
        ):
            return
        inv = self.api.call(
            f"reading invoice {invoice_id}",
            self.v1.invoices.retrieve,
            invoice_id,
            params={"expand": ["customer"]},
            missing_ok=True,
        )
        if inv is not None:
            self.take_invoice(as_dict(inv))

    def take_credit_note(self, cn: dict[str, Any]) -> None:
        row = credit_note_row(cn)
        self.batch.credit_notes[row["id"]] = row
        self.ensure_invoice(row["invoice"])

    def take_refund(self, r: dict[str, Any]) -> None:
        self.take_reversal(refund_row(r, None), "refund")

    def take_dispute(self, d: dict[str, Any], observed_at: int) -> None:
        row = dispute_row(d)
        last_movement = row.pop("last_movement")
        old = self.store.stripe.stripe_dispute(row["id"])
        if row["status"] != "lost":
            row["closed_at"] = None
        elif old and old["status"] == "lost" and old["closed_at"]:
            row["closed_at"] = old["closed_at"]
        elif old:  # seen open before, lost now: it closed since the last look
            row["closed_at"] = observed_at
        else:  # lost when first read: Stripe gives no closing time; its last balance movement is the closest it states
            row["closed_at"] = max(row["created"], last_movement)
        self.take_reversal(row, "dispute")

    def take_reversal(self, row: dict[str, Any], kind: str) -> None:
        """A refund or dispute, booked on the invoices its payment verifiably paid (split by amount paid)."""
        rid = row["id"]
        (self.batch.refunds if kind == "refund" else self.batch.disputes)[rid] = row
        shares = None if self.relink else self.store.stripe.stripe_reversal_shares(rid) or None
        if shares is None or sum(shares.values()) != row["amount"]:
            shares = self.find_shares(row) or {}
        self.batch.shares[rid] = shares
        if kind == "refund":
            row["invoice"] = min(shares) if shares else None
        if not shares:
            self.batch.unlinked.append(rid)
            amount = f"{Decimal(row['amount']).scaleb(-minor_exponent(row['currency'])):f} {row['currency'].upper()}"
            payment = row.get("payment_intent") or row.get("charge") or "no payment"
            why = (
                "no invoice payment matches its payment"
                if self.api
                else "no API key to find its invoice; the next sync-stripe links it"
            )
            self.batch.warnings.append(
                f"{kind} {rid} ({amount}, {day_of(row['created']).isoformat()}, {payment}): {why}; not counted"
            )
        for iid in shares:
            self.ensure_invoice(iid)

    def find_shares(self, row: Mapping[str, Any]) -> dict[str, int] | None:
        """{invoice: part of the amount} for a refund or dispute: the invoice payments whose `payment` is its
        payment intent (or, for a charge without one, its charge), split by `amount_paid`. Asked by payment
        intent first, then among the payments of its customer's paid invoices. Nothing unverified is returned."""
        if not self.api:
            return None
        pi, ch = row.get("payment_intent"), row.get("charge")

        def matches(p: Mapping[str, Any]) -> bool:
            pay = p.get("payment") or {}
            if pay.get("type") == "payment_intent":
                return bool(pi) and ident(pay.get("payment_intent")) == pi
            if pay.get("type") == "charge":
                return bool(ch) and ident(pay.get("charge")) == ch
            return False

        found: dict[str, dict[str, Any]] = {}
        what = f"finding the invoice of {row['id']}"
        if pi:
            params = {"payment": {"type": "payment_intent", "payment_intent": pi}}
            for p in self.api.iterate(what, self.v1.invoice_payments.list, params):
                if matches(p):
                    found[p["id"]] = p
        if not found:
            customer = self.payment_customer(pi, ch)
            until = int(row["created"])  # the invoice was paid before its payment was refunded or disputed
            invoices = (
                set(self.store.stripe.stripe_customer_paid_invoices(customer, created_until=until))
                if customer
                else set()
            )
            invoices |= {
                i
                for i, inv in self.batch.invoices.items()
                if customer and inv["customer"] == customer and inv["status"] == "paid" and inv["created"] <= until
            }
            for iid in sorted(invoices):
                for p in self.api.iterate(what, self.v1.invoice_payments.list, {"invoice": iid}):
                    if matches(p):
                        found[p["id"]] = p
        paid: dict[str, int] = {}
        for p in found.values():
            inv, amount = ident(p.get("invoice")), int(p.get("amount_paid") or 0)
            if inv and p.get("status") == "paid" and amount > 0:
                paid[inv] = paid.get(inv, 0) + amount
        if not paid:
            return None
        invoices = sorted(paid)
        return {i: part for i, part in zip(invoices, allocate(int(row["amount"]), [paid[i] for i in invoices]))}

    def payment_customer(self, pi: str | None, ch: str | None) -> str | None:
        """The Stripe customer a charge (else a payment intent) belongs to."""
        key = ch or pi
        if not key or not self.api:
            return None
        if key not in self._payment_customers:
            if ch:
                obj = self.api.call(f"reading charge {ch}", self.v1.charges.retrieve, ch, missing_ok=True)
            else:
                obj = self.api.call(f"reading payment {pi}", self.v1.payment_intents.retrieve, pi, missing_ok=True)
            self._payment_customers[key] = ident(as_dict(obj).get("customer")) if obj is not None else None
        return self._payment_customers[key]

    def settle_rates(self) -> None:
        """For paid invoices in another currency: the rate Stripe applied when their payments settled in USD."""
        for row in self.batch.invoices.values():
            if row["status"] != "paid" or row["currency"] == "usd" or row["settle_rate"] or not self.api:
                continue
            weighted, paid = Decimal(0), 0
            for p in self.api.iterate(
                f"reading the payments of {row['id']}",
                self.v1.invoice_payments.list,
                {"invoice": row["id"], "status": "paid"},
            ):
                amount, rate = self.payment_rate(p.get("payment") or {}, row["id"])
                if rate is None:
                    weighted = Decimal(-1)  # a payment with no USD settlement: no Stripe rate for the invoice
                    break
                weighted += amount * rate
                paid += amount
            if paid and weighted >= 0:
                row["settle_rate"] = format((weighted / paid).normalize(), "f")

    def payment_rate(self, payment: Mapping[str, Any], invoice_id: str) -> tuple[int, Decimal | None]:
        """(amount charged, USD per unit) of one invoice payment, from its charge's balance transaction."""
        charge: Mapping[str, Any] | None = None
        pi = ident(payment.get("payment_intent"))
        ch = ident(payment.get("charge"))
        if pi:
            self.batch.payments[pi] = invoice_id
            found = self.api.call(
                f"reading payment {pi}",
                self.v1.payment_intents.retrieve,
                pi,  # type: ignore[union-attr]
                params={"expand": ["latest_charge.balance_transaction"]},
                missing_ok=True,
            )
            latest = as_dict(found).get("latest_charge") if found is not None else None
            charge = latest if isinstance(latest, Mapping) else None
        elif ch:
            found = self.api.call(
                f"reading charge {ch}",
                self.v1.charges.retrieve,
                ch,  # type: ignore[union-attr]
                params={"expand": ["balance_transaction"]},
                missing_ok=True,
            )
            charge = as_dict(found) if found is not None else None
        if charge is None:
            return 0, None
        if charge.get("id"):
            self.batch.payments[charge["id"]] = invoice_id
        rate = decimal_rate(settle_rate(charge.get("balance_transaction"), charge.get("currency")))
        return int(charge.get("amount") or 0), rate


# ---- writing: store the objects, rebuild the revenue of every invoice they touch -----------------


def write_batch(
    store: Any, batch: Batch, settings: Settings, observed_at: int, *, rebuild_all: bool = False
) -> tuple[int, int]:
    """Store a batch and rebuild the revenue rows it affects (inside the caller's transaction). An object whose
    stored state is later than the batch's (`stored_is_newer`: a webhook applied while a sync fetched) is kept.
    Returns (revenue refs changed, invoices counted among those rebuilt)."""
    affected: set[str] = set()
    for c in batch.customers.values():
        before = store.stripe.stripe_app_customer(c["id"])
        old = store.stripe.stripe_customer(c["id"])
        if stored_is_newer("customer", old, c["deleted"], observed_at):
            continue
        if c["deleted"] and old:  # a deleted customer's stub has no metadata: keep what it mapped to, mark it deleted
            c = {**c, "app_customer_id": old["app_customer_id"], "segment": old["segment"], "plan": old["plan"]}
        store.stripe.upsert_stripe_customer(c, observed_at)
        after = store.stripe.stripe_app_customer(c["id"])
        store.stripe.set_customer_attributes(f"stripe:{c['id']}", after[0], c["segment"], c["plan"])
        if before != after or old is None:
            affected.update(store.stripe.stripe_invoice_ids(customer=c["id"]))
    for iid, inv in batch.invoices.items():
        if stored_is_newer("invoice", store.stripe.stripe_invoice(iid), inv["status"], observed_at):
            continue
        store.stripe.upsert_stripe_invoice(inv, batch.lines.get(iid), observed_at)
        affected.add(iid)
    for iid in batch.deleted_invoices:
        affected.add(iid)
        store.stripe.mark_stripe_invoice_deleted(iid, observed_at)
    for cn in batch.credit_notes.values():
        old = store.stripe.stripe_credit_note(cn["id"])
        if stored_is_newer("credit_note", old, cn["status"], observed_at):
            continue
        store.stripe.upsert_stripe_credit_note(cn, observed_at)
        affected.update(i for i in (cn["invoice"], old and old["invoice"]) if i)
    stale_refs: set[str] = set()
    for kind, rows in (("refund", batch.refunds), ("dispute", batch.disputes)):
        for r in rows.values():
            old_shares = store.stripe.stripe_reversal_shares(r["id"])
            old = store.stripe.stripe_refund(r["id"]) if kind == "refund" else store.stripe.stripe_dispute(r["id"])
            if stored_is_newer(kind, old, r["status"], observed_at):
                pass  # keep the later state; its invoice links are still brought up to date below
            elif kind == "refund":
                store.stripe.upsert_stripe_refund(r, observed_at)
                affected.update(i for i in (r["invoice"], old and old["invoice"]) if i)
            else:
                store.stripe.upsert_stripe_dispute(r, observed_at)
            shares = batch.shares.get(r["id"], old_shares)
            if shares != old_shares:
                store.stripe.set_stripe_reversal_shares(r["id"], shares)
                old_refs = {reversal_ref(r["id"], i, len(old_shares)) for i in old_shares}
                stale_refs |= old_refs - {reversal_ref(r["id"], i, len(shares)) for i in shares}
            affected.update(old_shares)
            affected.update(shares)
    for payment, iid in batch.payments.items():
        store.stripe.set_stripe_payment(payment, iid)
    if rebuild_all:
        affected.update(store.stripe.stripe_invoice_ids())
    cleared = store.stripe.replace_stripe_revenue(sorted(stale_refs), None, []) if stale_refs else 0
    changed, counted = rebuild_revenue(store, affected, settings.include_open)
    return changed + cleared, counted


def rebuild_revenue(store: Any, invoice_ids: set[str] | list[str], include_open: bool) -> tuple[int, int]:
    """Rebuild the revenue rows of these invoices from the stored Stripe objects (inside a transaction)."""
    cache: dict[tuple[str, date], Decimal | None] = {}

    def fx(currency: str, day: date) -> Decimal | None:
        key = (currency, day)
        if key not in cache:
            cache[key] = decimal_rate(store.revenue.fx_rate(currency, day, FX_MAX_AGE_DAYS))
        return cache[key]

    changed = counted = 0
    for iid in sorted(invoice_ids):
        family = store.stripe.stripe_invoice_family(iid)
        if family is None:  # a credit note or refund whose invoice was never read: nothing counts yet
            continue
        inv, lines, cns, _ = family
        refunds, disputes = store.stripe.stripe_invoice_reversals(iid)
        entries = family_revenue(inv, lines, cns, refunds, include_open=include_open, fx=fx, disputes=disputes)
        counted += invoice_counts(inv["status"], include_open)
        refs = [x["id"] for x in (*lines, *cns)] + [
            reversal_ref(x["id"], iid, x["shares"]) for x in (*refunds, *disputes)
        ]
        app_customer = store.stripe.stripe_app_customer(inv["customer"])[0] if inv["customer"] else None
        changed += store.stripe.replace_stripe_revenue(refs, app_customer, entries)
    return changed, counted


def revenue_summary(store: Any) -> dict[str, dict[str, str]]:
    out = {}
    for currency, amount, usd, unconverted in store.stripe.stripe_revenue_totals():
        out[currency] = {
            "amount": format(Decimal(amount).scaleb(-minor_exponent(currency)), "f"),
            "usd": format(Decimal(usd).scaleb(-2), "f"),
            "unconverted": format(Decimal(unconverted).scaleb(-minor_exponent(currency)), "f"),
        }
    return out


# ---- sync-stripe ---------------------------------------------------------------------------------


@dataclass
class SyncOptions:
    since: int | None = None  # unix seconds: list objects created from here (overrides the cursors)
    full: bool = False  # list everything
    settings: Settings = field(default_factory=Settings)
    now: int | None = None  # unix seconds; None = the clock


def sync_stripe(store: Any, api: StripeApi, opts: SyncOptions) -> StripeSyncResult:
    """Fetch what changed in Stripe since the cursors (minus the look-back), then store it and rebuild the
    revenue it touches, in one transaction. The first run, and --full, read everything."""
    now = opts.now or int(time.time())
    s = opts.settings
    previous = Settings.from_json(store.get_meta(SETTINGS_META))
    rebuild_all = opts.full or (previous is not None and previous != s)
    col = Collector(store, api, s, relink=opts.full)
    v1 = api.client.v1
    lookback = {"credit_notes": CREDIT_NOTE_LOOKBACK_S, "refunds": REFUND_LOOKBACK_S}

    def since(obj: str) -> int | None:
        if opts.since is not None:
            return opts.since
        cursor = store.stripe.stripe_cursor(obj)
        return None if opts.full or cursor is None else cursor - lookback.get(obj, LOOKBACK_S)

    windows = {obj: since(obj) for obj in ("invoices", "credit_notes", "refunds", "disputes")}

    def listing(gte: int | None, expand: list[str]) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if gte is not None:
            params["created"] = {"gte": gte}
        if expand:
            params["expand"] = expand
        return params

    # Every run lists the customers (one request per 100): a metadata change of a customer with no invoice in the
    # window is picked up too. Deleted customers are not listed; their stored mapping stays.
    for c in api.iterate("listing customers", v1.customers.list, {}):
        col.listed["customers"] += 1
        col.take_customer(c)
    gte = windows["invoices"]
    for inv in api.iterate("listing invoices", v1.invoices.list, listing(gte, ["data.customer"])):
        col.listed["invoices"] += 1
        col.take_invoice(inv)
    if gte is not None:
        for iid in store.stripe.stripe_invoices_to_refetch(created_before=gte, drafts_since=now - DRAFT_REFETCH_S):
            if iid in col.batch.invoices:
                continue
            inv = api.call(
                f"re-reading invoice {iid}", v1.invoices.retrieve, iid, params={"expand": ["customer"]}, missing_ok=True
            )
            if inv is None:
                col.batch.deleted_invoices.add(iid)
            else:
                col.take_invoice(as_dict(inv))
    for cn in api.iterate("listing credit notes", v1.credit_notes.list, listing(windows["credit_notes"], [])):
        col.listed["credit_notes"] += 1
        col.take_credit_note(cn)
    for r in api.iterate("listing refunds", v1.refunds.list, listing(windows["refunds"], ["data.balance_transaction"])):
        col.listed["refunds"] += 1
        col.take_refund(r)
    for d in api.iterate("listing disputes", v1.disputes.list, listing(windows["disputes"], [])):
        col.listed["disputes"] += 1
        col.take_dispute(d, now)
    refetch_refunds, refetch_disputes = store.stripe.stripe_reversals_to_refetch(
        refund_statuses=NON_FINAL_REFUND_STATUSES, dispute_statuses=OPEN_DISPUTE_STATUSES
    )
    for rid in refetch_refunds:  # a pending refund may fail or be canceled long after it was created
        if rid not in col.batch.refunds:
            found = api.call(
                f"re-reading refund {rid}",
                v1.refunds.retrieve,
                rid,
                params={"expand": ["balance_transaction"]},
                missing_ok=True,
            )
            if found is not None:
                col.take_refund(as_dict(found))
    for did in refetch_disputes:  # an open dispute is won or lost weeks later
        if did not in col.batch.disputes:
            found = api.call(f"re-reading dispute {did}", v1.disputes.retrieve, did, missing_ok=True)
            if found is not None:
                col.take_dispute(as_dict(found), now)
    unlinked_refunds, unlinked_disputes = store.stripe.stripe_unlinked_reversals()
    for row in unlinked_refunds:  # try again: the invoice payment may exist now
        if row["id"] not in col.batch.refunds:
            col.take_reversal({k: v for k, v in row.items() if k != "observed_at"}, "refund")
    for row in unlinked_disputes:
        if row["id"] not in col.batch.disputes:
            col.take_reversal({k: v for k, v in row.items() if k != "observed_at"}, "dispute")
    col.settle_rates()
    batch = col.batch
    for iid, inv in batch.invoices.items():
        lines = batch.lines.get(iid)
        if lines is not None and invoice_counts(inv["status"], s.include_open):
            warning = total_mismatch(inv, lines)
            if warning:
                batch.warnings.append(warning)

    with store.write():
        changed, counted = write_batch(store, batch, s, now, rebuild_all=rebuild_all)
        for obj in ("customers", "invoices", "credit_notes", "refunds", "disputes"):
            store.stripe.set_stripe_cursor(obj, now)
        store.set_meta(SETTINGS_META, s.to_json())
    window = windows["invoices"]
    return StripeSyncResult(
        listed=col.listed,
        window_since=None if window is None else datetime.fromtimestamp(window, UTC).isoformat().replace("+00:00", "Z"),
        requests=api.requests,
        retries=api.retries,
        invoices_counted=store.stripe.stripe_counted_invoices(s.include_open),
        refs_changed=changed,
        revenue=revenue_summary(store),
        unmapped_customers=store.stripe.stripe_unmapped_customers(),
        warnings=batch.warnings,
        unlinked=sorted(batch.unlinked),
    )


# ---- customers map, fx import ------------------------------------------------------------------


def map_customer(store: Any, stripe_customer: str, app_customer_id: str | None) -> int:
    """Map a Stripe customer to an app customer id (None removes the mapping); rebuilds its revenue.
    Returns how many revenue refs changed."""
    if not stripe_customer.startswith("cus_"):
        raise UsageError(f"{stripe_customer!r} is not a Stripe customer id", "Stripe customer ids start with cus_")
    if app_customer_id is not None and not app_customer_id.strip():
        raise UsageError("the app customer id is empty")
    settings = Settings.from_json(store.get_meta(SETTINGS_META)) or Settings()
    with store.write():
        store.stripe.set_stripe_customer_map(stripe_customer, app_customer_id)
        row = store.stripe.stripe_customer(stripe_customer)
        app = store.stripe.stripe_app_customer(stripe_customer)[0]
        store.stripe.set_customer_attributes(
            f"stripe:{stripe_customer}", app, row and row["segment"], row and row["plan"]
        )
        changed, _ = rebuild_revenue(
            store, store.stripe.stripe_invoice_ids(customer=stripe_customer), settings.include_open
        )
    return changed


@dataclass
class FxImportResult:
    file: str
    rates: int
    currencies: list[str]
    first_day: str
    last_day: str
    revenue_rows_converted: int
    stripe_refs_changed: int
    unconverted: dict[str, int]  # currency -> minor units still without a rate (all revenue)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def import_fx(store: Any, text: str, filename: str) -> FxImportResult:
    """Store rates and convert the revenue that waited for them, Stripe's and imported alike, in one transaction."""
    from margindash_cli.revenue.fx import parse_fx_csv  # lazy: start-up

    rates = parse_fx_csv(text, filename)
    currencies = sorted({r.currency for r in rates})
    settings = Settings.from_json(store.get_meta(SETTINGS_META)) or Settings()
    source = f"csv:{Path(filename).name}"
    with store.write():
        for r in rates:
            store.revenue.set_fx_rate(r.currency, r.day, format(r.usd_per_unit, "f"), source)
        converted = []
        for row_id, day, minor, currency in store.revenue.unconverted_revenue(currencies):
            rate = decimal_rate(store.revenue.fx_rate(currency, day, FX_MAX_AGE_DAYS))
            if rate is not None:
                converted.append((usd_cents(minor, currency, rate), row_id))
        store.revenue.set_revenue_usd(converted)
        changed, _ = rebuild_revenue(
            store, store.stripe.stripe_invoice_ids(currencies=currencies), settings.include_open
        )
    days = sorted(r.day for r in rates)
    return FxImportResult(
        filename,
        len(rates),
        currencies,
        days[0].isoformat(),
        days[-1].isoformat(),
        len(converted),
        changed,
        store.revenue.unconverted_totals(),
    )


# ---- stripe apply-event --------------------------------------------------------------------------


@dataclass
class ApplyEventResult:
    event: str
    type: str
    object: str | None
    applied: bool
    reason: str
    refs_changed: int
    warnings: list[str]

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


HANDLED_OBJECTS = ("invoice", "credit_note", "refund", "customer", "dispute")


def apply_event(
    store: Any, event: dict[str, Any], api: StripeApi | None, *, default_settings: Settings
) -> ApplyEventResult:
    """Apply one verified event: store the object it carries (unless a newer state is stored) and rebuild
    the revenue it touches. Without an API key, what the payload lacks is left for the next sync."""
    obj = event["data"]["object"]
    kind = obj.get("object")
    etype = str(event.get("type") or "")
    created = int(event.get("created") or 0)
    result = ApplyEventResult(str(event.get("id")), etype, kind, False, "", 0, [])
    if kind not in HANDLED_OBJECTS or not obj.get("id"):
        result.reason = f"not a revenue event ({etype}); nothing to do"
        return result
    stored = {
        "invoice": store.stripe.stripe_invoice,
        "credit_note": store.stripe.stripe_credit_note,
        "refund": store.stripe.stripe_refund,
        "customer": store.stripe.stripe_customer,
        "dispute": store.stripe.stripe_dispute,
    }[kind](obj["id"])
    state: Any = obj.get("status") or {
        "invoice": "draft",
        "credit_note": "issued",
        "refund": "succeeded",
        "dispute": "needs_response",
    }.get(kind)
    if kind == "customer":
        state = 1 if obj.get("deleted") or etype == "customer.deleted" else 0
    elif etype == "invoice.deleted":
        state = "deleted"
    if stored_is_newer(
        kind, stored, state, created
    ):  # by the object's state first: two events of one second are ordered
        result.reason = f"{obj['id']} is stored in a newer state than this event's; nothing to do"
        return result
    settings = Settings.from_json(store.get_meta(SETTINGS_META)) or default_settings
    col = Collector(store, api, settings)
    if kind == "customer":
        if etype == "customer.deleted":
            obj = dict(obj, deleted=True)
        col.take_customer(obj)
    elif kind == "invoice":
        if etype == "invoice.deleted":
            col.batch.deleted_invoices.add(obj["id"])
        else:
            col.take_invoice(obj)
            col.settle_rates()
    elif kind == "credit_note":
        col.take_credit_note(obj)
    elif kind == "dispute":
        col.take_dispute(obj, created)
    else:
        col.take_refund(obj)
    with store.write():
        result.refs_changed, _ = write_batch(store, col.batch, settings, created)
    result.applied = True
    result.reason = f"{kind} {obj['id']} stored"
    result.warnings = col.batch.warnings
    return result


# ---- customers list ------------------------------------------------------------------------------


@dataclass
class CustomersResult:
    customers: list[dict[str, Any]]  # every Stripe customer: ids, how it maps, segment, plan, revenue, events
    stripe_without_usage: list[dict[str, Any]]  # Stripe customers with revenue whose app id has no calls
    usage_without_revenue: list[dict[str, Any]]  # app customers with calls and no revenue of any source

    def to_json(self, unmatched: bool = False) -> dict[str, Any]:
        if unmatched:
            return {
                "stripe_without_usage": self.stripe_without_usage,
                "usage_without_revenue": self.usage_without_revenue,
            }
        return {"customers": self.customers}


def customers_overview(store: Any) -> CustomersResult:
    stats = store.stripe.customer_revenue_and_usage()
    empty = {
        "stripe_usd_cents": 0,
        "stripe_unconverted_rows": 0,
        "revenue_rows": 0,
        "event_revenue_cents": 0,
        "events": 0,
    }
    rows = []
    for c in store.stripe.stripe_customer_rows():
        app, how = store.stripe.stripe_app_customer(c["id"])
        st = stats.get(app, empty)
        rows.append(
            {
                "stripe_customer": c["id"],
                "customer_id": app,
                "mapped_by": how,
                "segment": c["segment"],
                "plan": c["plan"],
                "deleted": bool(c["deleted"]),
                "stripe_revenue_usd": format(Decimal(st["stripe_usd_cents"]).scaleb(-2), "f"),
                "unconverted_revenue_rows": st["stripe_unconverted_rows"],
                "events": st["events"],
            }
        )
    without_usage = [r for r in rows if r["events"] == 0 and (stats.get(r["customer_id"], empty)["revenue_rows"])]
    mapped = {r["customer_id"] for r in rows}
    without_revenue = [
        {
            "customer_id": name,
            "events": st["events"],
            "stripe_customer": None
            if name not in mapped
            else next(r["stripe_customer"] for r in rows if r["customer_id"] == name),
        }
        for name, st in sorted(stats.items())
        if st["events"] and not st["revenue_rows"] and not st["event_revenue_cents"]
    ]
    return CustomersResult(rows, without_usage, without_revenue)
