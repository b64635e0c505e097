"""Revenue, cost and margin by any grouping. Pure: facts in, a ReportResult out; no I/O.

Money is exact end to end: cost in integer picodollars, revenue in integer US cents, margin in
picodollars. Rows always add up to the totals exactly, whatever the grouping, because every
row is a sum of integers and allocated revenue is split with the largest-remainder method.

Revenue allocation: revenue that an event carries stays with that event's group. Revenue of a
customer (imported, or from Stripe) is spread over that customer's rows by their share of events
(default), tokens or cost, within each time bucket of the report (the whole range when the report
has no time grouping). Revenue of a customer with no usage in a bucket lands in a row whose other
groups read "(no usage)", so it is never dropped.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from .money import PICO_PER_USD, pico_to_usd

PICO_PER_CENT = PICO_PER_USD // 100  # picodollars in one US cent
TIME_DIMS = ("day", "week", "month")
UNATTRIBUTED = "(unattributed)"  # label of calls with no customer id
NO_USAGE = "(no usage)"  # label of a revenue-only row's non-customer groups
NONE_LABEL = "(none)"  # label of a missing feature, segment or tag
ALLOCATIONS = ("events", "tokens", "cost")
SORTS = ("margin", "margin_pct", "cost", "revenue", "events")


@dataclass(frozen=True)
class UsageFact:
    """Aggregated usage of one combination of groups on one local day."""

    customer: str | None
    groups: tuple[str | None, ...]  # values of the dims asked for other than customer and time, in order
    day: date
    events: int
    input_tokens: int
    output_tokens: int
    cost_pico: int
    unpriced_events: int
    event_revenue_cents: int  # revenue that the events themselves carry (USD)


@dataclass(frozen=True)
class RevenueFact:
    customer: str | None
    day: date
    cents: int  # USD cents


@dataclass
class Measures:
    events: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_pico: int = 0
    unpriced_events: int = 0
    revenue_cents: int = 0

    def add(self, other: Measures) -> None:
        self.events += other.events
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cost_pico += other.cost_pico
        self.unpriced_events += other.unpriced_events
        self.revenue_cents += other.revenue_cents

    @property
    def cost_usd(self) -> Decimal:
        return pico_to_usd(self.cost_pico)

    @property
    def revenue_usd(self) -> Decimal:
        return Decimal(self.revenue_cents).scaleb(-2)

    @property
    def margin_pico(self) -> int:
        return self.revenue_cents * PICO_PER_CENT - self.cost_pico

    @property
    def margin_usd(self) -> Decimal:
        return pico_to_usd(self.margin_pico)

    @property
    def margin_pct(self) -> Decimal | None:
        """Margin over revenue in percent (2 decimals); None when there is no revenue."""
        if self.revenue_cents == 0:
            return None
        pct = Decimal(self.margin_pico) * 100 / Decimal(self.revenue_cents * PICO_PER_CENT)
        return pct.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)


@dataclass
class ReportRow:
    group: dict[str, str]
    measures: Measures
    cls: str


@dataclass
class ReportResult:
    dims: list[str]
    rows: list[ReportRow]
    totals: Measures
    totals_cls: str
    unpriced_events: int
    unpriced_models: list[str] = field(default_factory=list)
    non_usd_revenue: dict[str, int] = field(default_factory=dict)  # currency -> minor units left unconverted


def classify(m: Measures, band_pct: Decimal) -> str:
    """profitable / break-even / unprofitable by the margin % band, or 'no revenue'."""
    pct = m.margin_pct
    if pct is None:
        return "no revenue"
    if pct > band_pct:
        return "profitable"
    if pct < -band_pct:
        return "unprofitable"
    return "break-even"


def time_bucket(day: date, granularity: str) -> date:
    if granularity == "week":
        return day - timedelta(days=day.weekday())  # ISO weeks start on Monday
    if granularity == "month":
        return day.replace(day=1)
    return day


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Split an integer exactly by weights (largest remainder); parts sum to `total`."""
    wsum = sum(weights)
    if wsum == 0:
        parts = [0] * len(weights)
        if parts:
            parts[0] = total
        return parts
    sign = -1 if total < 0 else 1
    t = abs(total)
    parts = [t * w // wsum for w in weights]
    remainders = sorted(range(len(weights)), key=lambda i: (-(t * weights[i] % wsum), i))
    for i in remainders[: t - sum(parts)]:
        parts[i] += 1
    return [sign * p for p in parts]


def build_report(
    dims: list[str],
    usage: Iterable[UsageFact],
    revenue: Iterable[RevenueFact],
    *,
    filters: dict[str, str] | None = None,
    allocation: str = "events",
    sort: str = "margin",
    top: int | None = None,
    band_pct: Decimal = Decimal(5),
    unpriced_models: list[str] | None = None,
) -> ReportResult:
    """Group usage and revenue by `dims` (customer, feature, model, vendor, segment, tag:NAME, day, week, month).

    `filters` (dim -> value) keep only the matching rows, AFTER revenue is allocated: a customer's revenue
    is shared over all its features first, so `--feature chat` shows chat's share, not the whole revenue.
    The facts carry every dim of `dims` and of `filters` (see `query_dims`).
    """
    out_dims = dims
    dims = query_dims(dims, filters)
    time_dim = next((d for d in dims if d in TIME_DIMS), None)
    other_dims = [d for d in dims if d not in TIME_DIMS and d != "customer"]  # what UsageFact.groups holds

    def key_of(customer: str | None, groups: tuple[str | None, ...], bucket: date | None) -> tuple[str, ...]:
        values = iter(groups)
        out = []
        for d in dims:
            if d == "customer":
                out.append(customer or UNATTRIBUTED)
            elif d in TIME_DIMS:
                out.append(bucket.isoformat() if bucket else "")
            else:
                v = next(values)
                out.append(v if v not in (None, "") else NONE_LABEL)
        return tuple(out)

    groups: dict[tuple[str, ...], Measures] = defaultdict(Measures)
    # (customer, bucket) -> [(row key, weight)] to spread that customer's revenue over
    shares: dict[tuple[str | None, date | None], dict[tuple[str, ...], int]] = defaultdict(lambda: defaultdict(int))
    for f in usage:
        bucket = time_bucket(f.day, time_dim) if time_dim else None
        k = key_of(f.customer, f.groups, bucket)
        g = groups[k]
        g.add(Measures(f.events, f.input_tokens, f.output_tokens, f.cost_pico, f.unpriced_events, f.event_revenue_cents))
        weight = {"events": f.events, "tokens": f.input_tokens + f.output_tokens, "cost": f.cost_pico}[allocation]
        shares[(f.customer, bucket)][k] += weight

    revenue_by: dict[tuple[str | None, date | None], int] = defaultdict(int)
    for r in revenue:
        revenue_by[(r.customer, time_bucket(r.day, time_dim) if time_dim else None)] += r.cents
    for (customer, bucket), cents in sorted(revenue_by.items(), key=lambda kv: (kv[0][0] or "", kv[0][1] or date.min)):
        if not cents:
            continue
        targets = shares.get((customer, bucket)) or {}
        keys = sorted(targets)
        weights = [targets[k] for k in keys]
        if not keys:
            keys, weights = [key_of(customer, tuple(NO_USAGE for _ in other_dims), bucket)], [1]
        elif sum(weights) == 0:  # e.g. by cost, and every call unpriced: spread evenly
            weights = [1] * len(keys)
        for k, part in zip(keys, allocate(cents, weights)):
            groups[k].revenue_cents += part

    if filters:
        positions = [(dims.index(d), v) for d, v in filters.items()]
        kept = [dims.index(d) for d in out_dims]
        narrowed: dict[tuple[str, ...], Measures] = defaultdict(Measures)
        for k, m in groups.items():
            if all(k[i] == v for i, v in positions):
                narrowed[tuple(k[i] for i in kept)].add(m)
        groups, dims = narrowed, out_dims
    totals = Measures()
    for m in groups.values():
        totals.add(m)
    rows = [ReportRow(dict(zip(dims, k)), m, classify(m, band_pct)) for k, m in groups.items()]
    rows = _sorted(rows, dims, sort)
    if top is not None and top >= 0 and len(rows) > top:
        rest = rows[top:]
        other = Measures()
        for r in rest:
            other.add(r.measures)
        label = f"(other {len(rest)})"
        rows = rows[:top] + [ReportRow({d: label if i == 0 else "" for i, d in enumerate(dims)}, other, classify(other, band_pct))]
    return ReportResult(
        dims=dims,
        rows=rows,
        totals=totals,
        totals_cls=classify(totals, band_pct),
        unpriced_events=totals.unpriced_events,
        unpriced_models=sorted(unpriced_models or []),
    )


def query_dims(dims: list[str], filters: dict[str, str] | None) -> list[str]:
    """The dims the facts must carry: those shown, then those only filtered on."""
    return dims + [d for d in (filters or {}) if d not in dims]


def _metric(m: Measures, sort: str) -> tuple[int, Decimal | int]:
    """Sort key: margin and margin % worst first; cost, revenue and events biggest first."""
    if sort == "margin":
        return (0, m.margin_pico)
    if sort == "margin_pct":
        pct = m.margin_pct
        return (1, Decimal(0)) if pct is None else (0, pct)
    if sort == "cost":
        return (0, -m.cost_pico)
    if sort == "revenue":
        return (0, -m.revenue_cents)
    return (0, -m.events)


def _sorted(rows: list[ReportRow], dims: list[str], sort: str) -> list[ReportRow]:
    """Rows sorted by the metric; with nested groups, each first-level group stays together, ordered by its total."""
    if dims and dims[0] in TIME_DIMS:
        return sorted(rows, key=lambda r: (r.group[dims[0]], _metric(r.measures, sort), tuple(r.group.values())))
    if len(dims) < 2:
        return sorted(rows, key=lambda r: (_metric(r.measures, sort), tuple(r.group.values())))
    parents: dict[str, Measures] = defaultdict(Measures)
    for r in rows:
        parents[r.group[dims[0]]].add(r.measures)
    return sorted(
        rows,
        key=lambda r: (_metric(parents[r.group[dims[0]]], sort), r.group[dims[0]], _metric(r.measures, sort), tuple(r.group.values())),
    )
