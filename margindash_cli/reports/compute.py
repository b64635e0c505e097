"""Revenue, cost and margin by any grouping. Pure: facts in, a ReportResult out; no I/O.

Money is exact end to end: cost in integer picodollars, revenue in integer US cents, margin in
picodollars. Rows always add up to the totals exactly, whatever the grouping, because every
row is a sum of integers and allocated revenue is split exactly (cumulative rounding, `money.allocate`).

Revenue allocation, one definition for every report and grouping: revenue that an event carries stays
with that event. Revenue of a customer (imported, or from Stripe) on a day is spread over that customer's
calls of that day, cell by cell (feature, vendor, model, segment, then tags: the finest cell), by their
share of events (default), tokens or cost, in integer cents with exact remainders (`money.allocate`).
Every grouping sums the same cells, so the same calls always carry the same revenue: `--by vendor` and
`--by model` agree to the cent, and `report` agrees with `report trend`. Revenue of a customer on a day
with none of its calls lands in a visible "(no usage)" row (its non-customer groups read "(no usage)"),
in every report, so it is never dropped nor spread onto other days' calls.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, NamedTuple

from margindash_cli.core.money import PICO_PER_USD, allocate, pico_to_usd  # allocate: re-exported (reports.allocate)

PICO_PER_CENT = PICO_PER_USD // 100  # picodollars in one US cent
TIME_DIMS = ("day", "week", "month")
UNATTRIBUTED = "(unattributed)"  # label of calls with no customer id
NO_USAGE = "(no usage)"  # label of a revenue-only row's non-customer groups
NONE_LABEL = "(none)"  # label of a missing feature, segment or tag
ALLOCATIONS = ("events", "tokens", "cost")
# the finest usage cell below (customer, day): revenue is allocated here; plan is the customer's (one per customer), so
# it refines nothing and is carried only to be grouped on
CELL_DIMS = ("feature", "vendor", "model", "segment", "plan")
SORTS = ("margin", "margin_pct", "cost", "revenue", "events")


class UsageFact(NamedTuple):
    """Aggregated usage of one combination of groups on one local day (a NamedTuple: reports build one per
    rollup cell, hundreds of thousands of them)."""

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
    unconverted: int = 0  # revenue rows of this customer-day in another currency with no rate yet: not in `cents`


@dataclass
class Measures:
    events: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_pico: int = 0
    unpriced_events: int = 0
    revenue_cents: int = 0
    unconverted_revenue: int = 0  # customer-days of the row whose revenue is partly in another currency, unconverted

    def add(self, other: Measures) -> None:
        self.events += other.events
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cost_pico += other.cost_pico
        self.unpriced_events += other.unpriced_events
        self.revenue_cents += other.revenue_cents
        self.unconverted_revenue += other.unconverted_revenue

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
    def fully_unpriced(self) -> bool:
        """Every call of the row has no price: its cost (and so its margin) is unknown, never $0."""
        return self.unpriced_events > 0 and self.unpriced_events >= self.events

    @property
    def partly_unpriced(self) -> bool:
        """Some calls have no price: the cost is a lower bound and the margin an upper bound."""
        return 0 < self.unpriced_events < self.events

    @property
    def margin_pct(self) -> Decimal | None:
        """Margin over revenue in percent (2 decimals); None when there is no revenue or no known cost."""
        if self.revenue_cents == 0 or self.fully_unpriced:
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
    groups: int = 0  # rows before --top folded the rest into "(other N)" (with nested groups: first-level groups)


def classify(m: Measures, band_pct: Decimal) -> str:
    """profitable / break-even / unprofitable by the margin % band, 'no revenue', or 'unpriced' when the
    cost of every call of the row is unknown (never 'profitable at 100%')."""
    if m.fully_unpriced:
        return "unpriced"
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


def fact_dims_for(dims: list[str], filters: dict[str, str] | None = None) -> list[str]:
    """The groups the facts of a report must carry (UsageFact.groups, in order): the finest cell.

    Revenue is allocated per cell (customer, local day, feature, vendor, model, segment, then tags), and every
    grouping sums those cells, so the same calls carry the same revenue whatever `--by` says. A report by
    customer and/or time alone needs no finer cell than (customer, day): no allocation happens there."""
    wanted = query_dims(dims, filters)
    if all(d == "customer" or d in TIME_DIMS for d in wanted):
        return []
    return [*CELL_DIMS, *(d for d in wanted if d.startswith("tag:"))]


def _order(values: tuple[str | None, ...]) -> tuple[tuple[bool, str], ...]:
    """A total order on group values that may be None (None first)."""
    return tuple((v is not None, v or "") for v in values)


_REV, _UNCONVERTED = 6, 7  # a cell's allocated revenue and unconverted flags, after its six usage sums (Measures order)


def _allocate_cells(
    cells: dict[tuple[str | None, date, tuple[str | None, ...]], list[int]],
    weights: dict[tuple[str | None, date, tuple[str | None, ...]], int],
    revenue: Iterable[RevenueFact],
    n_groups: int,
    base_len: int,
    no_usage: Callable[[str | None], tuple[str | None, ...]] | None = None,
) -> None:
    """Add each customer-day's revenue to that customer's cells of that day, exactly (largest remainder).

    Two levels: first over the base cells (the groups before the tags), then within a base cell over its tag
    values, so a tag report gives each base cell the same revenue as a report without tags. Revenue of a day
    with no calls of its customer lands in a cell whose groups read NO_USAGE (`no_usage(customer)` gives them:
    a customer attribute such as its segment stays the customer's)."""
    no_usage = no_usage or (lambda _customer: tuple(NO_USAGE for _ in range(n_groups)))
    by_day: dict[tuple[str | None, date], list[tuple[str | None, ...]]] = defaultdict(list)
    for customer, day, groups in cells:
        by_day[(customer, day)].append(groups)
    revenue_by: dict[tuple[str | None, date], int] = defaultdict(int)
    unconverted: set[tuple[str | None, date]] = set()
    for r in revenue:
        revenue_by[(r.customer, r.day)] += r.cents
        if r.unconverted:
            unconverted.add((r.customer, r.day))
    for customer, day in unconverted:  # flagged the way unpriced calls are: every cell the day's revenue would reach
        members = by_day.get((customer, day)) or [no_usage(customer)]
        for g in members:
            cells.setdefault((customer, day, g), [0] * 8)[_UNCONVERTED] += 1
    for (customer, day), cents in revenue_by.items():
        if not cents:
            continue
        members = by_day.get((customer, day))
        if not members:
            key = (customer, day, no_usage(customer))
            cells.setdefault(key, [0] * 8)[_REV] += cents
            continue
        bases: dict[tuple[str | None, ...], list[tuple[str | None, ...]]] = defaultdict(list)
        for g in members:
            bases[g[:base_len]].append(g)
        base_keys = sorted(bases, key=_order)
        base_w = [sum(weights[(customer, day, g)] for g in bases[b]) for b in base_keys]
        if sum(base_w) == 0:  # e.g. by cost, and every call unpriced: spread evenly
            base_w = [1] * len(base_keys)
        for b, part in zip(base_keys, allocate(cents, base_w)):
            subs = sorted(bases[b], key=_order)
            sub_w = [weights[(customer, day, g)] for g in subs]
            if sum(sub_w) == 0:
                sub_w = [1] * len(subs)
            for g, sub in zip(subs, allocate(part, sub_w)):
                cells[(customer, day, g)][_REV] += sub


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
    fact_dims: list[str] | None = None,
    first_day: date | None = None,
    last_day: date | None = None,
    customer_attributes: dict[str, dict[str, str]] | None = None,
) -> ReportResult:
    """Group usage and revenue by `dims` (customer, feature, model, vendor, segment, tag:NAME, day, week, month).

    `fact_dims` names what each fact's `groups` hold (default: the dims asked and filtered on, other than
    customer and time; `fact_dims_for` gives the finest cell, which makes every grouping agree). Revenue is
    allocated per customer and local day over that day's cells (see `_allocate_cells`), then summed into rows.
    `filters` (dim -> value) keep only the matching rows, AFTER revenue is allocated: a customer's revenue
    is shared over all its features first, so `--feature chat` shows chat's share, not the whole revenue.
    With a time dim alone and a bounded range (`first_day`..`last_day`), every period is listed, zeros included.
    `customer_attributes` (dim -> customer -> value: segment and plan, from Stripe metadata) labels a customer's
    (no usage) revenue with its segment and plan, as its calls without a segment of their own are.
    """
    out_dims = dims
    dims = query_dims(dims, filters)
    time_dim = next((d for d in dims if d in TIME_DIMS), None)
    if fact_dims is None:
        fact_dims = [d for d in dims if d not in TIME_DIMS and d != "customer"]
    positions = {d: i for i, d in enumerate(fact_dims)}
    missing = [d for d in dims if d not in TIME_DIMS and d != "customer" and d not in positions]
    if missing:
        raise ValueError(f"the facts do not carry {missing}")
    base_len = sum(1 for d in fact_dims if not d.startswith("tag:"))

    def key_of(customer: str | None, groups: tuple[str | None, ...], day: date) -> tuple[str, ...]:
        out = []
        for d in dims:
            if d == "customer":
                out.append(customer or UNATTRIBUTED)
            elif d in TIME_DIMS:
                out.append(time_bucket(day, d).isoformat())
            else:
                v = groups[positions[d]]
                out.append(v if v not in (None, "") else NONE_LABEL)
        return tuple(out)

    # #20: only the cells of a customer-day with revenue (or unconverted revenue) take part in the allocation; every
    # other cell goes straight into its row (the same sums, without holding hundreds of thousands of cells twice)
    revenue = list(revenue)
    revenue_days = {(r.customer, r.day) for r in revenue}
    row_sums: dict[tuple[str, ...], list[int]] = {}
    key_memo: dict[tuple[Any, ...], tuple[str, ...]] = {}
    bucket_of: dict[date, date] = {}
    many_times = sum(d in TIME_DIMS for d in dims) > 1
    sums: dict[tuple[str | None, date, tuple[str | None, ...]], list[int]] = {}
    # the hot loop of every report: facts unpacked (UsageFacts or plain tuples of their shape), plain lists
    for customer, fgroups, day, events, inp, out, cost, unpriced, rev in usage:
        if (customer, day) in revenue_days:
            k = (customer, day, fgroups)
            v = sums.get(k)
            if v is None:
                sums[k] = [events, inp, out, cost, unpriced, rev, 0, 0]
                continue
        else:
            bucket: date | None = None
            if many_times:
                bucket = day
            elif time_dim is not None:
                bucket = bucket_of.get(day)
                if bucket is None:
                    bucket = bucket_of[day] = time_bucket(day, time_dim)
            mk = (customer, fgroups, bucket)
            rk = key_memo.get(mk)
            if rk is None:
                rk = key_memo[mk] = key_of(customer, fgroups, day)
            v = row_sums.get(rk)
            if v is None:
                row_sums[rk] = [events, inp, out, cost, unpriced, rev, 0, 0]
                continue
        v[0] += events
        v[1] += inp
        v[2] += out
        v[3] += cost
        v[4] += unpriced
        v[5] += rev
    del key_memo
    weight_of = {"events": 0, "cost": 3}.get(allocation)
    weights = {k: (v[1] + v[2] if weight_of is None else v[weight_of]) for k, v in sums.items()}
    cells = sums
    attribute_at = [(positions[d], d, values) for d, values in (customer_attributes or {}).items() if d in positions]

    def no_usage(customer: str | None) -> tuple[str | None, ...]:
        groups: list[str | None] = [NO_USAGE] * len(fact_dims)
        for i, d, values in attribute_at:
            if customer in values:
                groups[i] = values[customer]
            elif d == "plan":  # the plan is only ever the customer's: one without a plan is "(none)", calls or not
                groups[i] = None
        return tuple(groups)

    _allocate_cells(cells, weights, revenue, len(fact_dims), base_len, no_usage)

    for (customer, day, g), v in cells.items():
        k = key_of(customer, g, day)
        acc = row_sums.get(k)
        if acc is None:
            row_sums[k] = list(v)
        else:
            for i in range(8):
                acc[i] += v[i]
    groups: dict[tuple[str, ...], Measures] = defaultdict(Measures)
    for k, v in row_sums.items():
        groups[k] = Measures(v[0], v[1], v[2], v[3], v[4], v[5] + v[_REV], v[_UNCONVERTED])

    if filters:
        fpos = [(dims.index(d), v) for d, v in filters.items()]
        kept = [dims.index(d) for d in out_dims]
        narrowed: dict[tuple[str, ...], Measures] = defaultdict(Measures)
        for k, m in groups.items():
            if all(k[i] == v for i, v in fpos):
                narrowed[tuple(k[i] for i in kept)].add(m)
        groups, dims = narrowed, out_dims
    if dims == [time_dim] and first_day is not None and last_day is not None and first_day <= last_day:
        for b in buckets_between(first_day, last_day, time_dim):  # every period of the range, zeros included
            groups[(b.isoformat(),)]  # noqa: B018 (defaultdict: creates the zero row)
    totals = Measures()
    for m in groups.values():
        totals.add(m)
    rows = [ReportRow(dict(zip(dims, k)), m, classify(m, band_pct)) for k, m in groups.items()]
    rows = _sorted(rows, dims, sort)
    # with nested groups --top counts the first-level groups (parents), each kept whole with its children (#17)
    parents = list(dict.fromkeys(r.group[dims[0]] for r in rows)) if len(dims) > 1 else None
    count = len(parents) if parents is not None else len(rows)
    if top is not None and top > 0 and count > top:
        if parents is not None:
            kept = set(parents[:top])
            head = [r for r in rows if r.group[dims[0]] in kept]
            rest = [r for r in rows if r.group[dims[0]] not in kept]
        else:
            head, rest = rows[:top], rows[top:]
        other = Measures()
        for r in rest:
            other.add(r.measures)
        label = f"(other {count - top:,})"
        rows = head + [
            ReportRow({d: label if i == 0 else "" for i, d in enumerate(dims)}, other, classify(other, band_pct))
        ]
    return ReportResult(
        dims=dims,
        rows=rows,
        totals=totals,
        totals_cls=classify(totals, band_pct),
        unpriced_events=totals.unpriced_events,
        unpriced_models=sorted(unpriced_models or []),
        groups=count,
    )


def query_dims(dims: list[str], filters: dict[str, str] | None) -> list[str]:
    """The dims the facts must carry: those shown, then those only filtered on."""
    return dims + [d for d in (filters or {}) if d not in dims]


def _metric(m: Measures, sort: str) -> tuple[int, Decimal | int]:
    """Sort key: margin and margin % worst first; cost, revenue and events biggest first.

    By margin %, rows with cost and no revenue come first (the worst: all cost, no income, biggest cost
    first), rows with neither and rows whose cost is unknown (every call unpriced) last."""
    if sort == "margin":
        return (1, 0) if m.fully_unpriced else (0, m.margin_pico)
    if sort == "margin_pct":
        if m.fully_unpriced:
            return (2, 0)
        pct = m.margin_pct
        if pct is None:
            return (-1, -m.cost_pico) if m.cost_pico > 0 else (1, 0)
        return (0, pct)
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
        key=lambda r: (
            _metric(parents[r.group[dims[0]]], sort),
            r.group[dims[0]],
            _metric(r.measures, sort),
            tuple(r.group.values()),
        ),
    )


# ---- trend -----------------------------------------------------------------------------------------

TREND_GRANULARITIES = ("auto", "day", "week", "month")
AUTO_DAILY_MAX_DAYS = 31  # auto granularity: a range of up to this many days is shown per day,
AUTO_WEEKLY_MAX_DAYS = 26 * 7  # up to 26 weeks per ISO week, anything longer per month


def pick_granularity(first: date, last: date) -> str:
    """day for ranges up to 31 days, week up to 26 weeks, month beyond (both ends inclusive)."""
    days = (last - first).days + 1
    if days <= AUTO_DAILY_MAX_DAYS:
        return "day"
    if days <= AUTO_WEEKLY_MAX_DAYS:
        return "week"
    return "month"


def next_bucket(bucket: date, granularity: str) -> date:
    if granularity == "week":
        return bucket + timedelta(days=7)
    if granularity == "month":
        return date(bucket.year + (bucket.month == 12), bucket.month % 12 + 1, 1)
    return bucket + timedelta(days=1)


def buckets_between(first: date, last: date, granularity: str) -> list[date]:
    """Every bucket from the one holding `first` to the one holding `last`, in order."""
    out, b, end = [], time_bucket(first, granularity), time_bucket(last, granularity)
    while b <= end:
        out.append(b)
        b = next_bucket(b, granularity)
    return out


@dataclass
class TrendChange:
    """From a group's first active period to its last: margin in picodollars and margin % in points."""

    first: date
    last: date
    margin_pico: int
    margin_pct_points: Decimal | None  # None when either period has no revenue


@dataclass
class TrendRow:
    group: dict[str, str]
    points: list[Measures]  # one per TrendResult.periods, zero where the group had nothing
    total: Measures
    change: TrendChange | None  # None with fewer than two active periods


@dataclass
class TrendResult:
    dim: str
    granularity: str  # day, week or month (auto already resolved)
    periods: list[date]  # bucket starts: the day, the Monday of the ISO week, the 1st of the month
    rows: list[TrendRow]
    totals: TrendRow
    unpriced_events: int
    unpriced_models: list[str] = field(default_factory=list)
    partial: list[bool] = field(default_factory=list)  # per period: the range (or the data) covers only part of it
    groups: int = 0  # rows before --top folded the rest into "(other N)"


def _active(m: Measures) -> bool:
    return bool(m.events or m.revenue_cents or m.cost_pico)


def _change(periods: list[date], points: list[Measures], partial: list[bool] | None = None) -> TrendChange | None:
    """From the first to the last full period with activity: a partial first or last period (a two-day stub
    of a week) is no baseline."""
    partial = partial or [False] * len(periods)
    active = [i for i, m in enumerate(points) if _active(m) and not partial[i]]
    if len(active) < 2:
        return None
    a, b = points[active[0]], points[active[-1]]
    pa, pb = a.margin_pct, b.margin_pct
    points_diff = None if pa is None or pb is None else pb - pa
    return TrendChange(periods[active[0]], periods[active[-1]], b.margin_pico - a.margin_pico, points_diff)


def build_trend(
    dim: str,
    usage: Iterable[UsageFact],
    revenue: Iterable[RevenueFact],
    *,
    granularity: str = "auto",
    first_day: date | None = None,
    last_day: date | None = None,
    filters: dict[str, str] | None = None,
    allocation: str = "events",
    unpriced_models: list[str] | None = None,
    fact_dims: list[str] | None = None,
    customer_attributes: dict[str, dict[str, str]] | None = None,
    sort: str = "margin",
    top: int | None = None,
) -> TrendResult:
    """Margin per group of `dim` per day, week or month, and its change from first to last period.

    `first_day`/`last_day` are the report's range in local days (None where it is open: the data's
    first or last day is used). Periods cover the whole range, so a quiet period shows as zero rather
    than being skipped; `auto` picks the granularity from the range's length (`pick_granularity`).
    Revenue is allocated exactly as `build_report` does (per customer and day, finest cell), so a group's
    trend adds up to its `report` row. A period the range (or, with an open range, the data) covers only in
    part is marked partial, and the change is measured between full periods only.
    """
    usage, revenue = list(usage), list(revenue)
    days = [f[2] for f in usage] + [r.day for r in revenue]
    lo = first_day or (min(days) if days else None)
    hi = last_day or (max(days) if days else None)
    if granularity == "auto":
        granularity = pick_granularity(lo, hi) if lo and hi and hi >= lo else "day"
    report = build_report(
        [dim, granularity],
        usage,
        revenue,
        filters=filters,
        allocation=allocation,
        unpriced_models=unpriced_models,
        fact_dims=fact_dims,
        customer_attributes=customer_attributes,
    )
    buckets = [date.fromisoformat(r.group[granularity]) for r in report.rows]
    if lo and hi:
        buckets += [time_bucket(lo, granularity), time_bucket(hi, granularity)]
    periods = buckets_between(min(buckets), max(buckets), granularity) if buckets else []
    index = {p: i for i, p in enumerate(periods)}
    partial = [bool(lo and hi) and (p < lo or next_bucket(p, granularity) - timedelta(days=1) > hi) for p in periods]
    by_group: dict[str, list[Measures]] = {}
    at = {p.isoformat(): i for p, i in index.items()}
    for r in report.rows:
        points = by_group.get(r.group[dim])
        if points is None:  # a group's points made once, not once per row (#17: 5,000 customers x 15 weeks)
            points = by_group[r.group[dim]] = [Measures() for _ in periods]
        points[at[r.group[granularity]]].add(r.measures)
    rows = []
    for label, points in by_group.items():
        total = Measures()
        for m in points:
            total.add(m)
        rows.append(TrendRow({dim: label}, points, total, _change(periods, points, partial)))
    rows.sort(key=lambda r: (_metric(r.total, sort), r.group[dim]))
    sums = [Measures() for _ in periods]
    for r in rows:
        for s, m in zip(sums, r.points):
            s.add(m)
    totals = TrendRow({}, sums, report.totals, _change(periods, sums, partial))
    count = len(rows)
    if top is not None and top > 0 and count > top:  # the rest in one row whose points are their sums (#17)
        points = [Measures() for _ in periods]
        for r in rows[top:]:
            for o, m in zip(points, r.points):
                o.add(m)
        total = Measures()
        for m in points:
            total.add(m)
        rows = rows[:top] + [
            TrendRow({dim: f"(other {count - top:,})"}, points, total, _change(periods, points, partial))
        ]
    return TrendResult(
        dim, granularity, periods, rows, totals, report.unpriced_events, report.unpriced_models, partial, count
    )


# ---- cohorts ---------------------------------------------------------------------------------------

COHORT_GRANULARITIES = ("month", "week")


def period_index(start: date, bucket: date, granularity: str) -> int:
    """1 for the period holding `start`, 2 for the next, ...; 0 or less for periods before it."""
    if granularity == "week":
        return (bucket - start).days // 7 + 1
    return (bucket.year - start.year) * 12 + bucket.month - start.month + 1


@dataclass
class CohortCell:
    index: int  # 1 = the period of the cohort's first call
    period: date
    active_customers: int  # customers of the cohort with at least one call in the period
    measures: Measures


@dataclass
class CohortRow:
    start: date  # the cohort's period: the 1st of the month (or the Monday of the week) of its first calls
    customers: int  # customers whose first call fell in that period
    cells: list[CohortCell]
    total: Measures
    label: str | None = None  # "(other N)": the cohorts --top folded into one row; None for a real cohort


@dataclass
class CohortResult:
    granularity: str
    cohorts: list[CohortRow]
    totals: list[CohortCell]  # per period index, over every cohort (period: the earliest such period)
    unattributed: Measures  # calls with no customer: no cohort
    revenue_without_usage_cents: int  # revenue of customers who never made a call: no cohort
    revenue_before_first_call_cents: int  # revenue dated before a customer's first period
    unpriced_events: int
    unpriced_models: list[str] = field(default_factory=list)
    groups: int = 0  # cohorts before --top folded the rest into "(other N)"


COHORT_SORTS = ("cohort", "margin", "margin_pct", "customers", "cost", "revenue")


def _cap_cohorts(cohorts: list[CohortRow], sort: str, top: int | None) -> list[CohortRow]:
    """Cohorts in `sort` order (cohort: oldest first), the ones after the first `top` summed into one row, period
    index by period index (its period: the earliest of them)."""
    if sort == "customers":
        cohorts = sorted(cohorts, key=lambda c: (-c.customers, c.start))
    elif sort != "cohort":
        cohorts = sorted(cohorts, key=lambda c: (_metric(c.total, sort), c.start))
    if top is None or top <= 0 or len(cohorts) <= top:
        return cohorts
    rest = cohorts[top:]
    cells: dict[int, CohortCell] = {}
    total = Measures()
    for row in rest:
        total.add(row.total)
        for c in row.cells:
            o = cells.setdefault(c.index, CohortCell(c.index, c.period, 0, Measures()))
            o.active_customers += c.active_customers
            o.measures.add(c.measures)
            o.period = min(o.period, c.period)
    other = CohortRow(
        min(r.start for r in rest),
        sum(r.customers for r in rest),
        [cells[i] for i in sorted(cells)],
        total,
        f"(other {len(rest):,})",
    )
    return cohorts[:top] + [other]


def build_cohorts(
    usage: Iterable[UsageFact],
    revenue: Iterable[RevenueFact],
    first_calls: dict[str, date],
    *,
    granularity: str = "month",
    first_day: date | None = None,
    last_day: date | None = None,
    unpriced_models: list[str] | None = None,
    sort: str = "cohort",
    top: int | None = None,
) -> CohortResult:
    """Customers grouped by the period of their first call; each cohort's margin in its period 1, 2, 3...

    `first_calls` maps a customer to the local day of its first call ever, which fixes its cohort even
    when the report's range (`usage`, `revenue`, `first_day`..`last_day`) starts later: a cohort that
    began before the range then shows only its later periods. Each cohort row has a cell for every
    period from its first in the range to the range's last, zero where its customers did nothing.
    Nothing is dropped silently: unattributed calls, revenue of customers with no calls and revenue
    dated before a customer's first period are reported beside the cohorts.
    """
    g = granularity
    first_calls = dict(first_calls)
    cells: dict[tuple[str, date], Measures] = defaultdict(Measures)
    unattributed = Measures()
    days: list[date] = []
    for f in usage:
        m = Measures(f.events, f.input_tokens, f.output_tokens, f.cost_pico, f.unpriced_events, f.event_revenue_cents)
        if f.customer is None:
            unattributed.add(m)
            continue
        if f.customer not in first_calls or f.day < first_calls[f.customer]:
            first_calls[f.customer] = f.day  # the caller's history missed it: the range holds the first call
        cells[(f.customer, time_bucket(f.day, g))].add(m)
        days.append(f.day)
    without_usage = before_first = 0
    for r in revenue:
        start = first_calls.get(r.customer) if r.customer is not None else None
        if start is None:
            without_usage += r.cents
        elif period_index(time_bucket(start, g), time_bucket(r.day, g), g) < 1:
            before_first += r.cents
        else:
            cells[(r.customer, time_bucket(r.day, g))].revenue_cents += r.cents
            days.append(r.day)
    sizes: dict[date, int] = defaultdict(int)
    for day in first_calls.values():
        sizes[time_bucket(day, g)] += 1
    by_cohort: dict[date, dict[int, CohortCell]] = defaultdict(dict)
    for (customer, bucket), m in cells.items():
        start = time_bucket(first_calls[customer], g)
        i = period_index(start, bucket, g)
        cell = by_cohort[start].setdefault(i, CohortCell(i, bucket, 0, Measures()))
        cell.measures.add(m)
        cell.active_customers += m.events > 0
    lo = time_bucket(first_day, g) if first_day else (time_bucket(min(days), g) if days else None)
    hi = time_bucket(last_day, g) if last_day else (time_bucket(max(days), g) if days else None)
    cohorts = []
    for start in sorted(by_cohort):
        have = by_cohort[start]
        first_i = min(max(1, period_index(start, lo, g)), min(have)) if lo else min(have)
        last_i = max(period_index(start, hi, g), max(have)) if hi else max(have)
        row_cells = []
        bucket = start
        for i in range(1, last_i + 1):
            if i >= first_i:
                row_cells.append(have.get(i) or CohortCell(i, bucket, 0, Measures()))
            bucket = next_bucket(bucket, g)
        total = Measures()
        for c in row_cells:
            total.add(c.measures)
        cohorts.append(CohortRow(start, sizes[start], row_cells, total))
    totals: dict[int, CohortCell] = {}
    for row in cohorts:
        for c in row.cells:
            t = totals.setdefault(c.index, CohortCell(c.index, c.period, 0, Measures()))
            t.active_customers += c.active_customers
            t.measures.add(c.measures)
            t.period = min(t.period, c.period)
    unpriced = unattributed.unpriced_events + sum(r.total.unpriced_events for r in cohorts)
    return CohortResult(
        g,
        _cap_cohorts(cohorts, sort, top),
        [totals[i] for i in sorted(totals)],
        unattributed,
        without_usage,
        before_first,
        unpriced,
        sorted(unpriced_models or []),
        len(cohorts),
    )


# ---- concentration ---------------------------------------------------------------------------------

CONCENTRATION_TIERS = (10, 20)  # the top N% of customers by cost that `report concentration` sums up


def share_pct(part: int, whole: int) -> Decimal | None:
    """part / whole in percent, 2 decimals half-even; None when the whole is 0."""
    if whole == 0:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)


def tier_size(customers: int, pct: int) -> int:
    """How many customers are the top `pct`%: rounded up, so any customer base has a top 10%."""
    return -(-customers * pct // 100)


@dataclass
class CustomerShare:
    rank: int  # 1 = the biggest cost
    customer: str
    measures: Measures
    cls: str
    cost_share_pct: Decimal | None  # of all cost in the range, unattributed calls included
    cumulative_cost_share_pct: Decimal | None  # this customer and every one ranked above it


@dataclass
class ConcentrationTier:
    top_pct: int
    customers: list[str]  # ranked by cost, biggest first
    measures: Measures
    cost_share_pct: Decimal | None
    revenue_share_pct: Decimal | None
    negative_margin: list[str]  # of `customers`, those whose margin is below zero (ranked)


@dataclass
class ConcentrationResult:
    customers: list[CustomerShare]  # every customer with usage or revenue in the range, ranked by cost
    tiers: list[ConcentrationTier]
    rest: Measures  # the customers outside the largest tier
    rest_cost_share_pct: Decimal | None
    unattributed: Measures
    unattributed_cost_share_pct: Decimal | None
    totals: Measures  # every customer plus the unattributed calls
    unpriced_events: int
    unpriced_models: list[str] = field(default_factory=list)
    listed: list[CustomerShare] | None = None  # `customers` in --sort order, the first --top of them (None: all)
    listed_other: Measures | None = None  # the customers after the first --top, summed (None: none left out)


def build_concentration(
    usage: Iterable[UsageFact],
    revenue: Iterable[RevenueFact],
    *,
    tiers: Sequence[int] = CONCENTRATION_TIERS,
    band_pct: Decimal = Decimal(5),
    unpriced_models: list[str] | None = None,
    sort: str = "cost",
    top: int | None = None,
) -> ConcentrationResult:
    """What share of cost the top 10% / 20% of customers make, and which of them lose money.

    Customers are ranked by cost, biggest first (ties by customer id); the top p% is the first
    ceil(N * p / 100) of the N customers with usage or revenue in the range. Shares are of the total
    cost, unattributed calls included, so the tiers, the rest and the unattributed line add up to 100%.
    """
    per: dict[str, Measures] = defaultdict(Measures)
    unattributed = Measures()
    for f in usage:
        m = Measures(f.events, f.input_tokens, f.output_tokens, f.cost_pico, f.unpriced_events, f.event_revenue_cents)
        (per[f.customer] if f.customer is not None else unattributed).add(m)
    for r in revenue:
        (per[r.customer] if r.customer is not None else unattributed).revenue_cents += r.cents
    totals = Measures()
    totals.add(unattributed)
    for m in per.values():
        totals.add(m)
    ranked = sorted(per.items(), key=lambda kv: (-kv[1].cost_pico, kv[0]))
    shares, running = [], 0
    for rank, (customer, m) in enumerate(ranked, 1):
        running += m.cost_pico
        shares.append(
            CustomerShare(
                rank,
                customer,
                m,
                classify(m, band_pct),
                share_pct(m.cost_pico, totals.cost_pico),
                share_pct(running, totals.cost_pico),
            )
        )
    out_tiers = []
    for pct in tiers:
        tier = shares[: tier_size(len(shares), pct)]
        m = Measures()
        for s in tier:
            m.add(s.measures)
        out_tiers.append(
            ConcentrationTier(
                pct,
                [s.customer for s in tier],
                m,
                share_pct(m.cost_pico, totals.cost_pico),
                share_pct(m.revenue_cents, totals.revenue_cents),
                [s.customer for s in tier if s.measures.margin_pico < 0],
            )
        )
    rest = Measures()
    for share in shares[max((len(t.customers) for t in out_tiers), default=0) :]:
        rest.add(share.measures)
    listed = shares if sort == "cost" else sorted(shares, key=lambda c: (_metric(c.measures, sort), c.rank))
    listed_other = None
    if top is not None and 0 < top < len(listed):
        listed_other = Measures()
        for c in listed[top:]:
            listed_other.add(c.measures)
        listed = listed[:top]
    return ConcentrationResult(
        shares,
        out_tiers,
        rest,
        share_pct(rest.cost_pico, totals.cost_pico),
        unattributed,
        share_pct(unattributed.cost_pico, totals.cost_pico),
        totals,
        totals.unpriced_events,
        sorted(unpriced_models or []),
        listed,
        listed_other,
    )
