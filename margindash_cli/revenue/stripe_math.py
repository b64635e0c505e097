"""Pure: Stripe objects into store rows and revenue rows. No I/O: objects and store rows in, rows out.

Invariants:
- Money is integer minor units of the document's currency (5000 JPY is 5000, not 50.00): never float,
  never summed across currencies. USD cents are set from the rate Stripe applied at settlement (the
  payment's balance transaction), else a rate from `fx import` for the date, else left NULL: the amount
  is then reported as unconverted, never dropped.
- A line's amount is spread over its service period [start, end) second by second in UTC: a day's share
  is its seconds of the period, split by cumulative rounding (`money.allocate`) so every day and every month
  is within one minor unit of its exact share and the days add up exactly to the line. USD
  cents are rounded once per document and spread with the same weights.
- Counted: lines of paid invoices (and open ones with --include-open); issued credit notes of those
  invoices, on their effective date; refunds of their payments that no credit note covers, on their date,
  in the invoice's ratio of total excluding tax to total; lost disputes likewise, on the day they were seen
  closed. Drafts, void and uncollectible invoices add nothing.
- A stored object is never replaced by an earlier state of it (`stored_is_newer`), from a webhook or a sync.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from margindash_cli.core.money import allocate, day_of, day_weights, round_half_even_div
from margindash_cli.errors import UsageError
from margindash_cli.revenue.fx import decimal_rate, usd_cents

NON_FINAL_REFUND_STATUSES = ("pending", "requires_action")  # re-read by id on every run, whatever their age
OPEN_DISPUTE_STATUSES = (
    "warning_needs_response",
    "warning_under_review",
    "needs_response",
    "under_review",
)  # re-read by id
MAX_SPREAD_S = 3660 * 86_400  # a service period longer than ten years is a data error: it counts on the invoice date
COUNTED_REFUND_STATUSES = ("succeeded", "pending")  # a refund that fails or is canceled later stops counting


def ident(value: Any) -> str | None:
    """The id of an expandable field: the string itself, or the expanded object's id."""
    if value is None or isinstance(value, str):
        return value
    return value.get("id") if isinstance(value, dict) else getattr(value, "id", None)


# ---- pure money math -----------------------------------------------------------------------------


def line_net(line: Mapping[str, Any]) -> int:
    """An invoice line's revenue in minor units: its amount less discounts and pretax credits, tax excluded.

    `amount` is before discounts and includes inclusive tax (exclusive tax is not in it). Discounts are
    read from `pretax_credit_amounts` (type discount) when it lists them, else from `discount_amounts`,
    so a discount listed in both is subtracted once; credit-grant credits are subtracted too.
    """
    amount = int(line.get("amount") or 0)
    pretax = line.get("pretax_credit_amounts") or []
    pretax_discounts = [int(p.get("amount") or 0) for p in pretax if p.get("type") == "discount"]
    credits = sum(int(p.get("amount") or 0) for p in pretax if p.get("type") != "discount")
    discounts = (
        sum(pretax_discounts)
        if pretax_discounts
        else sum(int(d.get("amount") or 0) for d in line.get("discount_amounts") or [])
    )
    inclusive_tax = sum(
        int(t.get("amount") or 0) for t in line.get("taxes") or [] if t.get("tax_behavior") == "inclusive"
    )
    return amount - discounts - credits - inclusive_tax


def credit_note_net(cn: Mapping[str, Any]) -> int:
    """A credit note's revenue effect (positive; subtracted): its total excluding tax, discounts included."""
    if cn.get("total_excluding_tax") is not None:
        return int(cn["total_excluding_tax"])
    taxes = sum(int(t.get("amount") or 0) for t in cn.get("total_taxes") or [])
    return int(cn.get("total") or 0) - taxes


# day_of, day_weights, spread_over_days and round_half_even_div live in core/money.py.


@dataclass(frozen=True)
class RevenueEntry:
    """One revenue row: a document's share on one UTC day."""

    ref: str  # invoice line, credit note or refund id
    day: date
    amount_minor: int
    currency: str
    usd_cents: int | None  # None = unconverted


def invoice_counts(status: str, include_open: bool) -> bool:
    return status == "paid" or (include_open and status == "open")


FxLookup = Callable[[str, date], Decimal | None]


def reversal_ref(reversal_id: str, invoice_id: str, shares: int) -> str:
    """The revenue ref of a refund's or dispute's share of an invoice: its id, or `id@invoice` when it is split."""
    return reversal_id if shares <= 1 else f"{reversal_id}@{invoice_id}"


def family_revenue(
    inv: Mapping[str, Any],
    lines: list[Mapping[str, Any]],
    credit_notes: list[Mapping[str, Any]],
    refunds: list[Mapping[str, Any]],
    *,
    include_open: bool,
    fx: FxLookup,
    disputes: list[Mapping[str, Any]] = (),
) -> list[RevenueEntry]:
    """The revenue rows of one invoice and the credit notes, refunds and lost disputes against it (store rows in,
    rows out). A refund's or dispute's `amount` is its share of this invoice (`shares` says over how many it is split)."""
    if not invoice_counts(inv["status"], include_open):
        return []
    currency = inv["currency"]
    doc_ts = inv.get("finalized_at") or inv["created"]
    settle = decimal_rate(inv.get("settle_rate"))
    out: list[RevenueEntry] = []

    def rate(day: date, own: Decimal | None = None) -> Decimal | None:
        if currency == "usd":
            return Decimal(1)
        return own or settle or fx(currency, day)

    def emit(ref: str, amount: int, start: int, end: int, rate_day: date, own: Decimal | None = None) -> None:
        if not amount:
            return
        r = rate(rate_day, own)
        usd = None if r is None else (amount if currency == "usd" else usd_cents(amount, currency, r))
        if end <= start:
            out.append(RevenueEntry(ref, day_of(start), amount, currency, usd))
            return
        first, weights = day_weights(start, end)
        minor_parts = allocate(amount, weights)
        usd_parts = allocate(usd, weights) if usd is not None else [None] * len(weights)
        for i, (m, u) in enumerate(zip(minor_parts, usd_parts)):
            if m or u:
                out.append(RevenueEntry(ref, first + timedelta(days=i), m, currency, u))

    for li in lines:
        start, end = li.get("period_start"), li.get("period_end")
        if start is None or end is None or end - start > MAX_SPREAD_S:
            start = end = doc_ts
        emit(li["id"], li["amount_minor"], start, end, day_of(doc_ts))
    issued = [cn for cn in credit_notes if cn["status"] == "issued"]
    for cn in issued:
        emit(cn["id"], -cn["amount_minor"], cn["effective_at"], cn["effective_at"], day_of(cn["effective_at"]))
    total, excl = inv.get("total") or 0, inv.get("total_excluding_tax")
    for r in refunds:
        if r["status"] not in COUNTED_REFUND_STATUSES or not total:
            continue
        covered = sum(int(json.loads(cn["refunds"]).get(r["id"], 0)) for cn in issued)
        uncovered = max(r["amount"] - covered, 0)
        net = uncovered if excl is None else round_half_even_div(uncovered * excl, total)
        ref = reversal_ref(r["id"], inv["id"], r.get("shares") or 1)
        emit(ref, -net, r["created"], r["created"], day_of(r["created"]), decimal_rate(r.get("settle_rate")))
    for d in disputes:  # a lost chargeback reverses the payment on the day it closed; open ones are only at risk
        if d["status"] != "lost" or not total:
            continue
        net = d["amount"] if excl is None else round_half_even_div(d["amount"] * excl, total)
        closed = d.get("closed_at") or d["created"]
        emit(
            reversal_ref(d["id"], inv["id"], d.get("shares") or 1),
            -net,
            closed,
            closed,
            day_of(closed),
            decimal_rate(d.get("settle_rate")),
        )
    return out


def total_mismatch(inv: Mapping[str, Any], lines: list[Mapping[str, Any]]) -> str | None:
    """A warning naming the invoice when its lines do not add up to its total_excluding_tax."""
    expected = inv.get("total_excluding_tax")
    got = sum(li["amount_minor"] for li in lines)
    if expected is None or got == expected:
        return None
    from margindash_cli.core.money import minor_exponent  # lazy: start-up

    exp = minor_exponent(inv["currency"])
    cur = inv["currency"].upper()

    def fmt(v: int) -> str:
        return f"{Decimal(v).scaleb(-exp):f} {cur}"

    return (
        f"invoice {inv['id']}: its lines add up to {fmt(got)} but its total_excluding_tax is {fmt(expected)}"
        " (shipping or an adjustment outside the lines?); the lines were counted"
    )


# ---- Stripe objects -> store rows ----------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """The options that decide how stored objects become revenue; a change re-maps everything."""

    customer_key: str = "customer_id"
    segment_key: str = "segment"
    plan_key: str = "plan"
    include_open: bool = False

    def to_json(self) -> str:
        return json.dumps(self.__dict__, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None) -> Settings | None:
        if not text:
            return None
        try:
            return cls(**json.loads(text))
        except (TypeError, ValueError):
            return None


def _meta_value(metadata: Any, key: str) -> str | None:
    value = (metadata or {}).get(key) if key else None
    value = str(value).strip() if value is not None else ""
    return value or None


def customer_row(c: Mapping[str, Any], s: Settings) -> dict[str, Any]:
    """What is kept of a Stripe customer: its id and the values of the configured metadata keys."""
    md = c.get("metadata") or {}
    return {
        "id": c["id"],
        "app_customer_id": _meta_value(md, s.customer_key),
        "segment": _meta_value(md, s.segment_key),
        "plan": _meta_value(md, s.plan_key),
        "deleted": 1 if c.get("deleted") else 0,
    }


def invoice_row(inv: Mapping[str, Any]) -> dict[str, Any]:
    st = inv.get("status_transitions") or {}
    return {
        "id": inv["id"],
        "customer": ident(inv.get("customer")) or "",
        "status": inv.get("status") or "draft",
        "currency": (inv.get("currency") or "usd").lower(),
        "created": int(inv.get("created") or 0),
        "finalized_at": st.get("finalized_at") or (inv.get("effective_at") if inv.get("status") != "draft" else None),
        "total": int(inv.get("total") or 0),
        "total_excluding_tax": excluding_tax(inv),
    }


def excluding_tax(doc: Mapping[str, Any]) -> int | None:
    """A document's total excluding tax: the field, else its total less its taxes (older objects lack the field)."""
    if doc.get("total_excluding_tax") is not None:
        return int(doc["total_excluding_tax"])
    if doc.get("total_taxes") is None or doc.get("total") is None:
        return None
    return int(doc["total"]) - sum(int(t.get("amount") or 0) for t in doc["total_taxes"])


def line_row(li: Mapping[str, Any], invoice_id: str) -> dict[str, Any]:
    period = li.get("period") or {}
    return {
        "id": li["id"],
        "invoice": invoice_id,
        "amount_minor": line_net(li),
        "period_start": period.get("start"),
        "period_end": period.get("end"),
    }


def credit_note_row(cn: Mapping[str, Any]) -> dict[str, Any]:
    refunds: dict[str, int] = {}
    for r in cn.get("refunds") or []:
        rid = ident(r.get("refund"))
        if rid:
            refunds[rid] = refunds.get(rid, 0) + int(r.get("amount_refunded") or 0)
    return {
        "id": cn["id"],
        "invoice": ident(cn.get("invoice")) or "",
        "status": cn.get("status") or "issued",
        "currency": (cn.get("currency") or "usd").lower(),
        "effective_at": int(cn.get("effective_at") or cn.get("created") or 0),
        "amount_minor": credit_note_net(cn),
        "refunds": json.dumps(refunds, sort_keys=True),
    }


def refund_row(r: Mapping[str, Any], invoice_id: str | None) -> dict[str, Any]:
    return {
        "id": r["id"],
        "invoice": invoice_id,
        "charge": ident(r.get("charge")),
        "payment_intent": ident(r.get("payment_intent")),
        "status": r.get("status") or "succeeded",
        "currency": (r.get("currency") or "usd").lower(),
        "created": int(r.get("created") or 0),
        "amount": int(r.get("amount") or 0),
        "settle_rate": settle_rate(r.get("balance_transaction"), r.get("currency")),
    }


def dispute_row(d: Mapping[str, Any]) -> dict[str, Any]:
    bts = [bt for bt in d.get("balance_transactions") or [] if isinstance(bt, Mapping)]
    return {
        "id": d["id"],
        "charge": ident(d.get("charge")),
        "payment_intent": ident(d.get("payment_intent")),
        "status": d.get("status") or "needs_response",
        "currency": (d.get("currency") or "usd").lower(),
        "created": int(d.get("created") or 0),
        "amount": int(d.get("amount") or 0),
        "settle_rate": settle_rate(bts[0], d.get("currency")) if bts else None,
        "last_movement": max([int(bt.get("created") or 0) for bt in bts], default=0),
    }


def settle_rate(bt: Any, currency: str | None) -> str | None:
    """USD per unit of `currency` from a balance transaction, when it settled in USD; else None."""
    if not isinstance(bt, Mapping) or (bt.get("currency") or "").lower() != "usd" or (currency or "").lower() == "usd":
        return None
    rate = decimal_rate(bt.get("exchange_rate"))
    return None if rate is None else format(rate, "f")


# ---- object states, dates --------------------------------------------------------------------------


# How far along its life a Stripe object is: a state is never replaced by an earlier one (webhooks arrive out of
# order, several in one second; a sync's fetch can be older than a webhook applied while it ran).
STATE_RANK = {
    "invoice": {"draft": 0, "open": 1, "uncollectible": 2, "paid": 3, "void": 3, "deleted": 4},
    "credit_note": {"issued": 0, "void": 1},
    "refund": {"requires_action": 0, "pending": 0, "succeeded": 1, "failed": 2, "canceled": 2},
    "dispute": {s: 0 for s in OPEN_DISPUTE_STATUSES} | {"won": 1, "lost": 1, "prevented": 1, "warning_closed": 1},
    "customer": {0: 0, 1: 1},  # deleted
}


def stored_is_newer(kind: str, old: Mapping[str, Any] | None, new_state: Any, observed_at: int) -> bool:
    """Whether the stored state of an object is later than `new_state` seen at `observed_at`: further along
    its life, or as far along and observed later. Unknown states rank with the earliest."""
    if old is None:
        return False
    ranks = STATE_RANK[kind]
    old_rank = ranks.get(old["deleted"] if kind == "customer" else old["status"], 0)
    new_rank = ranks.get(new_state, 0)
    return old_rank > new_rank or (old_rank == new_rank and int(old["observed_at"] or 0) > observed_at)


def parse_since(text: str) -> int:
    """Unix seconds of a YYYY-MM-DD date (UTC midnight), a month YYYY-MM (its first day) or an ISO 8601 date-time."""
    try:
        if len(text) == 7 and text[4] == "-" and text[:4].isdigit() and text[5:].isdigit():
            dt = datetime(int(text[:4]), int(text[5:]), 1, tzinfo=UTC)
        elif len(text) == 10:
            dt = datetime.combine(date.fromisoformat(text), datetime.min.time(), tzinfo=UTC)
        else:
            dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
            dt = dt if dt.tzinfo else dt.replace(tzinfo=UTC)
    except ValueError:
        raise UsageError(
            f"--since {text!r} is not a date", "use YYYY-MM-DD (UTC), a month YYYY-MM or an ISO 8601 date-time"
        ) from None
    return int(dt.timestamp())
