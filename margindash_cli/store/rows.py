"""The rows the store's reads return: named, so a reordered column cannot silently shift a figure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple


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


class UsageFactRow(NamedTuple):
    """Usage summed over one (customer, groups, local day): what `Events.usage_facts` and `Events.cell_facts`
    yield, field for field the shape of `reports.UsageFact`."""

    customer: str | None
    groups: tuple[Any, ...]  # the values of the groups asked for, in their order
    day: date  # 1970-01-01 for every row of a read that spans the whole range (per_day=False)
    events: int
    input_tokens: int
    output_tokens: int
    cost_pico: int
    unpriced_events: int
    event_revenue_cents: int  # USD revenue the calls carry themselves


class RevenueDayRow(NamedTuple):
    """Revenue of one (customer, day), converted to USD."""

    customer: str | None
    day: date
    cents: int  # USD cents


class RevenueFacts(NamedTuple):
    """What `Revenue.revenue_facts` reads: the converted revenue per day, and per currency the minor units of what
    could not be converted yet (no FX rate)."""

    days: list[RevenueDayRow]
    unconverted: dict[str, int]


class UnconvertedDayRow(NamedTuple):
    """A (customer, UTC day) with revenue rows that have no USD amount yet."""

    customer: str | None
    day: date
    rows: int


class UnpricedModelRow(NamedTuple):
    """A model whose stored calls have no price, with how much they used."""

    vendor: str
    model: str
    calls: int
    input_tokens: int
    output_tokens: int


class UnpricedCount(NamedTuple):
    """How many stored calls have no price, and of how many models."""

    calls: int
    models: int


class PriceRow(NamedTuple):
    """One stored price version."""

    id: int
    provider: str
    model: str
    effective_from: int  # ms since the epoch
    source: str
    data: str  # the price, JSON


class AliasRow(NamedTuple):
    """One model alias: (name, vendor) priced as (provider, model)."""

    name: str
    vendor: str  # '' for an alias of any vendor
    provider: str
    model: str


class BudgetRow(NamedTuple):
    """One budget, its settings as stored (text)."""

    name: str
    scope: str
    scope_id: str
    limit_usd: str
    period: str
    tz: str
    warn_pct: str
    critical_pct: str
    emails: str  # JSON list


class AlertRow(NamedTuple):
    """One budget alert's claim and delivery."""

    budget: str
    level: str
    period_start: int
    channel: str
    state: str
    claimed_at: int
    sent_at: int | None
    attempts: int
    last_error: str | None


class SourceRow(NamedTuple):
    """One ingest checkpoint, as doctor shows it."""

    path: str
    identity: str | None
    offset: int
    line: int
    updated_at: str | None


class StripeRevenueTotalRow(NamedTuple):
    """All Stripe revenue of one currency."""

    currency: str
    amount_minor: int
    usd_cents: int  # of the converted part
    unconverted_minor: int


class DisputeAtRiskRow(NamedTuple):
    """Open disputes of one (app customer, currency) booked on invoices: revenue at risk."""

    customer: str | None
    currency: str
    amount_minor: int
    disputes: int


class VendorDayRow(NamedTuple):
    """A (UTC day, vendor) with logged calls."""

    day: int  # days since 1970-01-01
    vendor: str


class RevenueSourceRow(NamedTuple):
    """One revenue row of a source."""

    customer: str | None
    day: int  # days since 1970-01-01
    amount_minor: int
    currency: str
    ref: str


class UnconvertedRevenueRow(NamedTuple):
    """A revenue row with no USD amount yet."""

    id: int
    day: int  # days since 1970-01-01
    amount_minor: int
    currency: str


class DaySpan(NamedTuple):
    """The first and last UTC day numbers with data, None when there is none."""

    first: int | None
    last: int | None


class CostShareRow(NamedTuple):
    """The priced cost of one customer or feature (None: calls without one)."""

    name: str | None
    cost_pico: int


class AppCustomer(NamedTuple):
    """The app's customer id of a Stripe customer, and how it was found: 'map', 'metadata' or 'stripe id'."""

    customer: str
    found_by: str


class ProviderDayRow(NamedTuple):
    """A (provider, UTC day) whose bill a sync or import knows."""

    provider: str
    day: int  # days since 1970-01-01


class FocusRevenueRow(NamedTuple):
    """A revenue row as the FOCUS export reads it; source 'events' (ref None) is the revenue calls carried."""

    day: int  # days since 1970-01-01
    customer: str | None
    amount_minor: int
    currency: str
    usd_cents: int | None
    source: str
    ref: str | None


class UsageVectorRow(NamedTuple):
    """Calls of one identical per-call usage vector, for simulate to re-price each distinct vector once."""

    feature: str | None
    vendor: str
    model: str
    service_tier: str | None
    input_tokens: int
    output_tokens: int
    cached_input_tokens: int
    cache_write_tokens: int
    cache_write_1h_tokens: int
    reasoning_tokens: int
    units: Any
    calls: int
    cost_pico: int  # billed
    unpriced_calls: int
    extra_cost_pico: int
    first_ts: int
    last_ts: int


class InvoiceFamily(NamedTuple):
    """A Stripe invoice with what hangs off it, each a store row as a dict by column name."""

    invoice: dict[str, Any]
    lines: list[dict[str, Any]]
    credit_notes: list[dict[str, Any]]
    refunds: list[dict[str, Any]]


class Reversals(NamedTuple):
    """Stripe refunds and disputes, each a store row as a dict by column name."""

    refunds: list[dict[str, Any]]
    disputes: list[dict[str, Any]]


class ReversalIds(NamedTuple):
    """Ids of Stripe refunds and disputes."""

    refunds: list[str]
    disputes: list[str]


class RollupMismatches(NamedTuple):
    """How many rollup cells differ from their events, and the first of them as (day, customer, feature, model,
    segment) ids (-1s: a per-customer rollup cell, -2s: a monthly one)."""

    count: int
    cells: list[tuple[int, int, int, int, int]]


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
