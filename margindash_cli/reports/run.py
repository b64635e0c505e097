"""Run a report against a store: validate the query, read the facts, build the pure report.

The glue between `store` (which reads SQLite) and `reports` (which is pure).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Any

from margindash_cli.core import suggest
from margindash_cli.core.money import fixed_cents, fixed_usd
from margindash_cli.core.periods import DAY_MS, TimeRange, resolve_range, zone
from margindash_cli.core.periods import EPOCH_DATE as EPOCH_DAY
from margindash_cli.errors import UsageError
from margindash_cli.reports import compute as reports
from margindash_cli.store.db import Store

SCHEMA_VERSION = 1  # of the JSON envelope every report prints
VALUE_DIMS = ("customer", "feature", "model", "vendor", "segment", "plan")  # plan: the customer's (Stripe metadata)


@dataclass
class ReportQuery:
    dims: list[str]
    since: str | None = None
    until: str | None = None
    period: str | None = None
    tz: str = "UTC"
    customer: str | None = None
    feature: str | None = None
    model: str | None = None
    sort: str = "margin"
    top: int | None = None
    allocate: str = "events"
    band_pct: Decimal = Decimal(5)
    granularity: str = "auto"  # `report trend` (auto|day|week|month) and `report cohorts` (month|week)
    revenue_basis: str = (
        "recognized"  # recognized (over the service period) | billed (on the invoice's finalization day)
    )
    now: datetime | None = None  # "now" for --period and generated_at; None = the clock
    cost_basis: str = "computed"  # computed | reconciled (#18: the bill's cost where one is synced, reconcile/run.py)


@dataclass
class ReportEnvelope:
    """A report's result with what was asked, the range it covers and when it was made.

    The trend, cohort and concentration envelopes are the same with another result and title.
    """

    query: ReportQuery
    range: TimeRange
    result: Any
    generated_at: datetime
    unconverted_revenue: dict[str, int] = field(default_factory=dict)
    at_risk: list[dict[str, Any]] = field(default_factory=list)  # open Stripe disputes: revenue at risk, not subtracted
    cost_basis: Any = None  # reconcile.run.CostBasis of a `--cost-basis reconciled` report; None = computed
    provisional_costs: dict[str, list[str]] | None = (
        None  # provider -> UTC days with calls and no bill (once any bill is known)
    )
    days: tuple[date | None, date | None] = (None, None)  # the first and last local day shown (#17: in the title)

    def to_json(self) -> dict[str, Any]:
        return envelope_json(self)

    @property
    def span(self) -> str:
        """The range with its actual first and last day: 'all data: 2026-08-01 to 2026-10-31 (UTC)'."""
        first, last = self.days
        if first is None or last is None:
            return f"{self.range.label} ({self.range.tz})"
        text = f"{first.isoformat()} to {last.isoformat()}"
        if self.range.start_ms is None and self.range.end_ms is None:
            text = f"all data: {text}"
        return f"{text} ({self.range.tz})"

    @property
    def title(self) -> str:
        return f"Margin by {' > '.join(self.result.dims)} · {self.span}"


def validate_dims(dims: list[str]) -> None:
    seen = set()
    for d in dims:
        if d in seen:
            raise UsageError(f"--by {d} given twice")
        seen.add(d)
        if d in VALUE_DIMS or d in reports.TIME_DIMS or (d.startswith("tag:") and len(d) > 4):
            continue
        known = [*VALUE_DIMS, *reports.TIME_DIMS]
        close = difflib.get_close_matches(d, known, n=3)
        hint = "use customer, feature, model, vendor, segment, plan, tag:NAME, day, week or month"
        raise UsageError(f"unknown --by {d!r}", f"did you mean {' or '.join(close)}? ({hint})" if close else hint)
    if sum(d in reports.TIME_DIMS for d in dims) > 1:
        raise UsageError("only one of --by day/week/month at a time")


def run_report(store: Store, q: ReportQuery) -> ReportEnvelope:
    validate_dims(q.dims)
    if q.sort not in reports.SORTS:
        raise UsageError(f"unknown --sort {q.sort!r}", f"use one of {', '.join(reports.SORTS)}")
    _check_allocation(q)
    rng = resolve_range(q.since, q.until, q.period, q.tz, q.now)
    tz = zone(q.tz)
    filters = _filters(q)
    revenue, unconverted = _revenue(store, rng, tz, q.customer, q.revenue_basis)
    fact_dims = reports.fact_dims_for(q.dims, filters)
    if not revenue and q.cost_basis == "computed":
        # #20: no revenue to allocate in the range (none imported, only what calls carry), so no cell needs the
        # finest grain nor its day: the store sums the cells by the groups asked for (same sums, a twentieth of
        # the rows on 10M calls by customer and model)
        fact_dims = [d for d in reports.query_dims(q.dims, filters) if d != "customer" and d not in reports.TIME_DIMS]
    # by customer alone the day changes nothing (a customer's revenue of any day is on its one row): one fact per
    # customer for the whole range, far fewer rows
    per_day = (bool(fact_dims) and bool(revenue)) or any(d in reports.TIME_DIMS for d in q.dims)
    per_day = per_day or (bool(fact_dims) and q.cost_basis != "computed")
    # ... but in a zone other than UTC the days of an open range's title come from the facts (#17)
    per_day = per_day or (tz is not UTC and (rng.start_ms is None or rng.end_ms is None))
    basis = None
    if q.cost_basis == "computed":
        usage = _usage(store, fact_dims, tz, q.customer, start_ms=rng.start_ms, end_ms=rng.end_ms, per_day=per_day)
    else:
        usage, basis = _reconciled_usage(store, q, fact_dims, tz, rng, per_day)
    first, last = local_days(rng, tz)
    result = reports.build_report(
        q.dims,
        usage,
        revenue,
        filters=filters,
        allocation=q.allocate,
        sort=q.sort,
        top=q.top,
        band_pct=q.band_pct,
        unpriced_models=_unpriced(store, rng, usage),
        fact_dims=fact_dims,
        first_day=first,
        last_day=last,
        customer_attributes=_attributes(store, fact_dims),
    )
    if not result.rows:
        _suggest_filter_ids(store, q)
    provisional = None if basis is not None else provisional_costs(store, rng)  # a reconciled basis says it itself
    return ReportEnvelope(
        q,
        rng,
        result,
        q.now or datetime.now(UTC),
        unconverted,
        _at_risk(store, q.customer),
        basis,
        provisional,
        shown_days(store, rng, tz, usage if per_day else None, revenue),
    )


def _reconciled_usage(store: Store, q: ReportQuery, dims: list[str], tz: tzinfo, rng: TimeRange, per_day: bool) -> Any:
    """`--cost-basis reconciled` (#18): usage facts on the bill's cost (reconcile/run.py), per UTC day like the bills."""
    if q.cost_basis != "reconciled":
        raise UsageError(f"unknown --cost-basis {q.cost_basis!r}", "use computed or reconciled")
    if tz is not UTC:
        raise UsageError("--cost-basis reconciled works on UTC days, as the bills do", "drop --tz (or use --tz UTC)")
    from margindash_cli.reconcile.run import reconciled_usage  # lazy: start-up

    return reconciled_usage(
        store, dims, q.customer, start_ms=rng.start_ms, end_ms=rng.end_ms, per_day=per_day, time_dims=reports.TIME_DIMS
    )


def _at_risk(store: Store, customer: str | None) -> list[dict[str, Any]]:
    """Open Stripe disputes per customer and currency, as they stand now (any range): shown, not subtracted."""
    from margindash_cli.core.money import minor_exponent  # lazy: start-up

    return [
        {
            "customer": c,
            "currency": cur,
            "amount": format(Decimal(amount).scaleb(-minor_exponent(cur)), "f"),
            "disputes": n,
        }
        for c, cur, amount, n in store.stripe.stripe_disputes_at_risk()
        if customer is None or c == customer
    ]


def _attributes(store: Store, fact_dims: list[str]) -> dict[str, dict[str, str]] | None:
    """Customers' segments and plans (Stripe metadata), when the facts carry them: their (no usage) revenue keeps them."""
    if not fact_dims:
        return None
    return {d: store.events.customer_attribute(d) for d in ("segment", "plan") if d in fact_dims}


def _check_allocation(q: ReportQuery) -> None:
    if q.allocate not in reports.ALLOCATIONS:
        raise UsageError(f"unknown --allocate {q.allocate!r}", f"use one of {', '.join(reports.ALLOCATIONS)}")


def _suggest_filter_ids(store: Store, q: ReportQuery) -> None:
    """An empty report whose --customer/--feature/--model names no stored id: a usage error naming the closest ids
    (a typo), or how to list them, not an empty period (core/suggest.py; `events` and `simulate` say the same)."""
    asked = {"customer": q.customer, "feature": q.feature, "model": q.model}
    if any(v is not None for v in asked.values()):
        suggest.check_filter_ids(asked, suggest.stored_ids(store.events.dimension_names()))


def _filters(q: ReportQuery) -> dict[str, str]:
    return {d: v for d, v in (("feature", q.feature), ("model", q.model)) if v is not None}


def _usage(
    store: Store,
    dims: list[str],
    tz: tzinfo,
    customer: str | None,
    *,
    start_ms: int | None,
    end_ms: int | None,
    per_day: bool = True,
) -> list[reports.UsageFact]:
    """Usage facts carrying `dims` (customer and time dims are implicit) in [start_ms, end_ms).
    `per_day=False` when nothing downstream looks at the day: one fact per group for the whole range."""
    groups = [d for d in dims if d != "customer" and d not in reports.TIME_DIMS]
    # The store's UsageFactRow has UsageFact's fields, by name and in order: used as it is (hundreds of thousands)
    if per_day and groups:  # the finest cell
        return list(store.events.cell_facts(groups, start_ms=start_ms, end_ms=end_ms, tz=tz, customer=customer))  # type: ignore[arg-type]
    return list(
        store.events.usage_facts(
            groups,
            start_ms=start_ms,
            end_ms=end_ms,
            tz=tz,
            customer=customer,  # type: ignore[arg-type]
            per_day=per_day,
        )
    )


REVENUE_BASES = ("recognized", "billed")


def _revenue(
    store: Store, rng: TimeRange, tz: tzinfo, customer: str | None, basis: str = "recognized"
) -> tuple[list[reports.RevenueFact], dict[str, int]]:
    """Revenue of the range's local days. A revenue day is a calendar date, not a UTC instant: revenue
    dated Oct 1 counts on Oct 1 in any --tz, so a range never picks up a slice of the day before.
    `basis` recognized: over each line's service period; billed: on its invoice's finalization day."""
    if basis not in REVENUE_BASES:
        raise UsageError(f"unknown --revenue-basis {basis!r}", "use recognized or billed")
    first, last = local_days(rng, tz)
    start = None if first is None else (first - EPOCH_DAY).days * DAY_MS
    end = None if last is None else (last - EPOCH_DAY).days * DAY_MS + DAY_MS
    facts = store.revenue.revenue_facts_billed if basis == "billed" else store.revenue.revenue_facts
    rows, unconverted = facts(start_ms=start, end_ms=end, customer=customer)
    out = [reports.RevenueFact(c, d, cents) for c, d, cents in rows]
    if (
        unconverted and basis == "recognized"
    ):  # which customer-days miss revenue: their rows are flagged, as unpriced calls are
        out += [
            reports.RevenueFact(c, d, 0, n)
            for c, d, n in store.revenue.unconverted_revenue_days(start_ms=start, end_ms=end, customer=customer)
        ]
    return out, unconverted


def _unpriced(store: Store, rng: TimeRange, usage: list[reports.UsageFact]) -> list[str]:
    """Models with unpriced calls in the range; not looked up when the facts show none (the common case)."""
    if not any(f[7] for f in usage):  # UsageFact.unpriced_events (the facts may be plain tuples of its shape)
        return []
    return [
        f"{vendor}/{model}"
        for vendor, model, *_ in store.events.unpriced_models(start_ms=rng.start_ms, end_ms=rng.end_ms)
    ]


def shown_days(
    store: Store,
    rng: TimeRange,
    tz: tzinfo,
    usage: list[reports.UsageFact] | None,
    revenue: list[reports.RevenueFact],
) -> tuple[date | None, date | None]:
    """The first and last local day a report covers: the range's own where it is bounded, else the first (last) day
    with a call or revenue. `usage` None when its facts carry no day (one per group): then the store's UTC day span,
    which is the local one in UTC (a report in another zone reads facts per day, see `_per_day`)."""
    first, last = local_days(rng, tz)
    if first is not None and last is not None:
        return first, last
    if usage is not None:
        days = [f[2] for f in usage] + [r.day for r in revenue]
        lo, hi = (min(days), max(days)) if days else (None, None)
    else:
        span = store.events.data_span_days(start_ms=rng.start_ms, end_ms=rng.end_ms)
        lo = None if span.first is None else EPOCH_DAY + timedelta(days=span.first)
        hi = None if span.last is None else EPOCH_DAY + timedelta(days=span.last)
    return first or lo, last or hi


def local_days(rng: TimeRange, tz: tzinfo) -> tuple[date | None, date | None]:
    """The first and last local day of a range (None where it is open)."""
    first = None if rng.start_ms is None else datetime.fromtimestamp(rng.start_ms // 1000, tz).date()
    last = None if rng.end_ms is None else datetime.fromtimestamp((rng.end_ms - 1) // 1000, tz).date()
    return first, last


# ---- report trend / cohorts / concentration ------------------------------------------------------


class TrendEnvelope(ReportEnvelope):
    def to_json(self) -> dict[str, Any]:
        return trend_json(self)

    @property
    def title(self) -> str:
        return f"Margin trend by {self.result.dim}, per {self.result.granularity} · {self.span}"


class CohortEnvelope(ReportEnvelope):
    def to_json(self) -> dict[str, Any]:
        return cohorts_json(self)

    @property
    def title(self) -> str:
        return f"Cohorts by {self.result.granularity} of first call · {self.span}"


class ConcentrationEnvelope(ReportEnvelope):
    def to_json(self) -> dict[str, Any]:
        return concentration_json(self)

    @property
    def title(self) -> str:
        return f"Cost concentration by customer · {self.span}"


def run_trend(store: Store, q: ReportQuery) -> TrendEnvelope:
    """Margin per group of q.dims[0] per period (q.granularity), over the query's range."""
    if len(q.dims) != 1 or q.dims[0] in reports.TIME_DIMS:
        raise UsageError("`report trend` takes one --by: customer, feature, model, vendor, segment, plan or tag:NAME")
    validate_dims(q.dims)
    if q.sort not in reports.SORTS:
        raise UsageError(f"unknown --sort {q.sort!r}", f"use one of {', '.join(reports.SORTS)}")
    if q.granularity not in reports.TREND_GRANULARITIES:
        raise UsageError(
            f"unknown --granularity {q.granularity!r}", f"use one of {', '.join(reports.TREND_GRANULARITIES)}"
        )
    _check_allocation(q)
    rng = resolve_range(q.since, q.until, q.period, q.tz, q.now)
    tz = zone(q.tz)
    filters = _filters(q)
    fact_dims = reports.fact_dims_for(q.dims, filters)
    usage = _usage(store, fact_dims, tz, q.customer, start_ms=rng.start_ms, end_ms=rng.end_ms)
    revenue, unconverted = _revenue(store, rng, tz, q.customer)
    first, last = local_days(rng, tz)
    result = reports.build_trend(
        q.dims[0],
        usage,
        revenue,
        granularity=q.granularity,
        first_day=first,
        last_day=last,
        filters=filters,
        allocation=q.allocate,
        unpriced_models=_unpriced(store, rng, usage),
        fact_dims=fact_dims,
        customer_attributes=_attributes(store, fact_dims),
        sort=q.sort,
        top=q.top,
    )
    if not result.rows:
        _suggest_filter_ids(store, q)
    return TrendEnvelope(
        q,
        rng,
        result,
        q.now or datetime.now(UTC),
        unconverted,
        provisional_costs=provisional_costs(store, rng),
        days=shown_days(store, rng, tz, usage, revenue),
    )


def run_cohorts(store: Store, q: ReportQuery) -> CohortEnvelope:
    """Customers by the period (q.granularity) of their first call ever, with margin per period since."""
    if q.granularity not in reports.COHORT_GRANULARITIES:
        raise UsageError(
            f"unknown cohorts --by {q.granularity!r}", f"use one of {', '.join(reports.COHORT_GRANULARITIES)}"
        )
    if q.sort not in reports.COHORT_SORTS:
        raise UsageError(f"unknown --sort {q.sort!r}", f"use one of {', '.join(reports.COHORT_SORTS)}")
    rng = resolve_range(q.since, q.until, q.period, q.tz, q.now)
    tz = zone(q.tz)
    usage = _usage(store, [], tz, None, start_ms=rng.start_ms, end_ms=rng.end_ms)
    first_calls: dict[str, date] = {}
    if rng.start_ms is not None:  # a cohort is fixed by the first call ever, which may be before the range
        for f in _usage(store, [], tz, None, start_ms=None, end_ms=rng.end_ms):
            if f.customer is not None and (f.customer not in first_calls or f.day < first_calls[f.customer]):
                first_calls[f.customer] = f.day
    revenue, unconverted = _revenue(store, rng, tz, None)
    first, last = local_days(rng, tz)
    result = reports.build_cohorts(
        usage,
        revenue,
        first_calls,
        granularity=q.granularity,
        first_day=first,
        last_day=last,
        unpriced_models=_unpriced(store, rng, usage),
        sort=q.sort,
        top=q.top,
    )
    return CohortEnvelope(
        q,
        rng,
        result,
        q.now or datetime.now(UTC),
        unconverted,
        provisional_costs=provisional_costs(store, rng),
        days=shown_days(store, rng, tz, usage, revenue),
    )


def run_concentration(store: Store, q: ReportQuery) -> ConcentrationEnvelope:
    """Share of cost of the top 10% and 20% of customers, and which of them lose money."""
    if q.sort not in reports.SORTS:
        raise UsageError(f"unknown --sort {q.sort!r}", f"use one of {', '.join(reports.SORTS)}")
    rng = resolve_range(q.since, q.until, q.period, q.tz, q.now)
    tz = zone(q.tz)
    per_day = tz is not UTC and (rng.start_ms is None or rng.end_ms is None)  # the title's days (see run_report)
    usage = _usage(store, [], tz, None, start_ms=rng.start_ms, end_ms=rng.end_ms, per_day=per_day)
    revenue, unconverted = _revenue(store, rng, tz, None)
    result = reports.build_concentration(
        usage, revenue, band_pct=q.band_pct, unpriced_models=_unpriced(store, rng, usage), sort=q.sort, top=q.top
    )
    return ConcentrationEnvelope(
        q,
        rng,
        result,
        q.now or datetime.now(UTC),
        unconverted,
        provisional_costs=provisional_costs(store, rng),
        days=shown_days(store, rng, tz, usage if per_day else None, revenue),
    )


def measures_json(m: reports.Measures) -> dict[str, Any]:
    """The measures of a row, one spelling for every report: money as exact decimal strings at a fixed scale
    per column (cost and margin 12 decimals, revenue 2), `margin_pct` a number. A row whose every call is
    unpriced has null cost, margin and margin % (its cost is unknown, not $0); `unpriced_events` marks a row
    whose cost is only partly known."""
    pct = m.margin_pct
    unknown = m.fully_unpriced
    return {
        "events": m.events,
        "input_tokens": m.input_tokens,
        "output_tokens": m.output_tokens,
        "cost_usd": None if unknown else fixed_usd(m.cost_pico),
        "revenue_usd": fixed_cents(m.revenue_cents),
        "margin_usd": None if unknown else fixed_usd(m.margin_pico),
        "margin_pct": float(pct) if pct is not None else None,
        "unpriced_events": m.unpriced_events,
        "unconverted_revenue_days": m.unconverted_revenue,
    }


def _pct_json(pct: Decimal | None) -> float | None:
    return float(pct) if pct is not None else None


def _head_json(env: Any, query: dict[str, Any]) -> dict[str, Any]:
    """The keys every report envelope opens with; `query` is the command's own part of the query."""
    q = env.query
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_at": env.generated_at.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "query": {
            **query,
            "since": q.since,
            "until": q.until,
            "period": q.period,
            "tz": q.tz,
            "range": {
                "label": env.range.label,
                "start_ms": env.range.start_ms,
                "end_ms": env.range.end_ms,
                "first_day": None if env.days[0] is None else env.days[0].isoformat(),
                "last_day": None if env.days[1] is None else env.days[1].isoformat(),
            },
        },
        "currency": "USD",
    }


def _tail_json(env: Any, unpriced_events: int, unpriced_models: list[str]) -> dict[str, Any]:
    return {
        "unpriced": {"events": unpriced_events, "models": unpriced_models},
        "unconverted_revenue": {cur: amount for cur, amount in sorted(env.unconverted_revenue.items())},
        "provisional_costs": env.provisional_costs,
    }


def provisional_costs(store: Store, rng: TimeRange) -> dict[str, list[str]] | None:
    """Provider -> the UTC days of the range with logged calls and no bill synced or imported, whose cost is ours
    alone (provisional); None when no bill was ever synced (then every cost is computed and none is flagged)."""
    from margindash_cli.reconcile.run import provisional_days  # lazy: start-up

    return provisional_days(store, rng.start_ms, rng.end_ms)


def envelope_json(env: ReportEnvelope) -> dict[str, Any]:
    """The one JSON envelope every report prints (money as exact decimal strings)."""
    q, r = env.query, env.result
    head = _head_json(env, {"by": q.dims})
    head["query"].update(
        {
            "filters": {k: v for k, v in (("customer", q.customer), ("feature", q.feature), ("model", q.model)) if v},
            "sort": q.sort,
            "top": q.top,
            "allocate": q.allocate,
            "band_pct": format(q.band_pct, "f"),
            "revenue_basis": q.revenue_basis,
        }
    )
    return {
        **head,
        "rows": [{"group": row.group, **measures_json(row.measures), "class": row.cls} for row in r.rows],
        "totals": {**measures_json(r.totals), "class": r.totals_cls},
        **_tail_json(env, r.unpriced_events, r.unpriced_models),
        "at_risk": {"disputes": env.at_risk},
        **({"cost_basis": env.cost_basis.to_json()} if env.cost_basis is not None else {}),
    }


def _change_json(c: reports.TrendChange | None) -> dict[str, Any] | None:
    if c is None:
        return None
    return {
        "from": c.first.isoformat(),
        "to": c.last.isoformat(),
        "margin_usd": fixed_usd(c.margin_pico),
        "margin_pct_points": _pct_json(c.margin_pct_points),
    }


def trend_json(env: TrendEnvelope) -> dict[str, Any]:
    """`report trend` JSON: per group, its totals over the range, its change and one point per period."""
    q, r = env.query, env.result
    head = _head_json(env, {"by": q.dims, "granularity": q.granularity})
    head["query"].update(
        {
            "filters": {k: v for k, v in (("customer", q.customer), ("feature", q.feature), ("model", q.model)) if v},
            "allocate": q.allocate,
            "sort": q.sort,
            "top": q.top,
        }
    )

    def row_json(row: reports.TrendRow) -> dict[str, Any]:
        series = [{"period": p.isoformat(), **measures_json(m)} for p, m in zip(r.periods, row.points)]
        return {**measures_json(row.total), "change": _change_json(row.change), "series": series}

    return {
        **head,
        "granularity": r.granularity,
        "periods": [p.isoformat() for p in r.periods],
        "partial_periods": [p.isoformat() for p, part in zip(r.periods, r.partial) if part],
        "rows": [{"group": row.group, **row_json(row)} for row in r.rows],
        "totals": row_json(r.totals),
        **_tail_json(env, r.unpriced_events, r.unpriced_models),
    }


def cohorts_json(env: CohortEnvelope) -> dict[str, Any]:
    """`report cohorts` JSON: per cohort (first-call period), its size and one cell per period since."""
    r = env.result

    def cell_json(c: reports.CohortCell, with_period: bool = True) -> dict[str, Any]:
        return {
            "index": c.index,
            **({"period": c.period.isoformat()} if with_period else {}),
            "active_customers": c.active_customers,
            **measures_json(c.measures),
        }

    overall = reports.Measures()
    for row in r.cohorts:
        overall.add(row.total)
    return {
        **_head_json(env, {"by": r.granularity, "sort": env.query.sort, "top": env.query.top}),
        "cohorts": [
            {
                "cohort": row.label or row.start.isoformat(),
                "customers": row.customers,
                **measures_json(row.total),
                "periods": [cell_json(c) for c in row.cells],
            }
            for row in r.cohorts
        ],
        "totals": {**measures_json(overall), "periods": [cell_json(c, with_period=False) for c in r.totals]},
        "excluded": {
            "unattributed": measures_json(r.unattributed),
            "revenue_without_usage_usd": fixed_cents(r.revenue_without_usage_cents),
            "revenue_before_first_call_usd": fixed_cents(r.revenue_before_first_call_cents),
        },
        **_tail_json(env, r.unpriced_events, r.unpriced_models),
    }


def concentration_json(env: ConcentrationEnvelope) -> dict[str, Any]:
    """`report concentration` JSON: the tiers, every customer ranked by cost, and the unattributed calls."""
    r = env.result
    return {
        **_head_json(
            env,
            {
                "by": ["customer"],
                "tiers": [t.top_pct for t in r.tiers],
                "band_pct": format(env.query.band_pct, "f"),
                "sort": env.query.sort,
                "top": env.query.top,
            },
        ),
        "tiers": [
            {
                "top_pct": t.top_pct,
                "count": len(t.customers),
                "customers": t.customers,
                **measures_json(t.measures),
                "cost_share_pct": _pct_json(t.cost_share_pct),
                "revenue_share_pct": _pct_json(t.revenue_share_pct),
                "negative_margin": t.negative_margin,
            }
            for t in r.tiers
        ],
        "customers": [
            {
                "rank": c.rank,
                "customer": c.customer,
                **measures_json(c.measures),
                "class": c.cls,
                "cost_share_pct": _pct_json(c.cost_share_pct),
                "cumulative_cost_share_pct": _pct_json(c.cumulative_cost_share_pct),
            }
            for c in (r.listed if r.listed is not None else r.customers)
        ],
        **(
            {"customers_other": {"count": len(r.customers) - len(r.listed or []), **measures_json(r.listed_other)}}
            if r.listed_other is not None
            else {}
        ),
        "rest": {**measures_json(r.rest), "cost_share_pct": _pct_json(r.rest_cost_share_pct)},
        "unattributed": {**measures_json(r.unattributed), "cost_share_pct": _pct_json(r.unattributed_cost_share_pct)},
        "totals": {**measures_json(r.totals), "customers": len(r.customers)},
        **_tail_json(env, r.unpriced_events, r.unpriced_models),
    }
