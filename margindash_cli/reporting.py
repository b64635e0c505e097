"""Run a report against a store: validate the query, read the facts, build the pure report.

The glue between `store` (which reads SQLite) and `reports` (which is pure).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from . import reports
from .errors import UsageError
from .periods import TimeRange, resolve_range, zone
from .store import Store

SCHEMA_VERSION = 1  # of the JSON envelope every report prints
VALUE_DIMS = ("customer", "feature", "model", "vendor", "segment")


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
    now: datetime | None = None


@dataclass
class ReportEnvelope:
    query: ReportQuery
    range: TimeRange
    result: reports.ReportResult
    generated_at: datetime
    unconverted_revenue: dict[str, int] = field(default_factory=dict)

    @property
    def title(self) -> str:
        dims = " > ".join(self.result.dims)
        return f"Margin by {dims} · {self.range.label} ({self.range.tz})"


def validate_dims(dims: list[str]) -> None:
    seen = set()
    for d in dims:
        if d in seen:
            raise UsageError(f"--by {d} given twice")
        seen.add(d)
        if d in VALUE_DIMS or d in reports.TIME_DIMS or (d.startswith("tag:") and len(d) > 4):
            continue
        raise UsageError(f"unknown --by {d!r}", "use customer, feature, model, vendor, segment, tag:NAME, day, week or month")
    if sum(d in reports.TIME_DIMS for d in dims) > 1:
        raise UsageError("only one of --by day/week/month at a time")


def run_report(store: Store, q: ReportQuery) -> ReportEnvelope:
    validate_dims(q.dims)
    if q.sort not in reports.SORTS:
        raise UsageError(f"unknown --sort {q.sort!r}", f"use one of {', '.join(reports.SORTS)}")
    if q.allocate not in reports.ALLOCATIONS:
        raise UsageError(f"unknown --allocate {q.allocate!r}", f"use one of {', '.join(reports.ALLOCATIONS)}")
    rng = resolve_range(q.since, q.until, q.period, q.tz, q.now)
    tz = zone(q.tz)
    filters = {d: v for d, v in (("feature", q.feature), ("model", q.model)) if v is not None}
    dims_needed = reports.query_dims(q.dims, filters)
    groups = [d for d in dims_needed if d != "customer" and d not in reports.TIME_DIMS]
    usage = [
        reports.UsageFact(row[0], tuple(row[1 : 1 + len(groups)]), *row[1 + len(groups) :])
        for row in store.usage_facts(groups, start_ms=rng.start_ms, end_ms=rng.end_ms, tz=tz, customer=q.customer)
    ]
    revenue_rows, unconverted = store.revenue_facts(start_ms=rng.start_ms, end_ms=rng.end_ms, customer=q.customer)
    revenue = [reports.RevenueFact(c, d, cents) for c, d, cents in revenue_rows]
    unpriced = [f"{vendor}/{model}" for vendor, model, *_ in store.unpriced_models(start_ms=rng.start_ms, end_ms=rng.end_ms)]
    result = reports.build_report(q.dims, usage, revenue, filters=filters, allocation=q.allocate, sort=q.sort, top=q.top,
                                  band_pct=q.band_pct, unpriced_models=unpriced)  # fmt: skip
    return ReportEnvelope(q, rng, result, q.now or datetime.now(timezone.utc), unconverted)


def measures_json(m: reports.Measures) -> dict[str, Any]:
    pct = m.margin_pct
    return {
        "events": m.events,
        "input_tokens": m.input_tokens,
        "output_tokens": m.output_tokens,
        "cost_usd": format(m.cost_usd, "f"),
        "revenue_usd": format(m.revenue_usd, "f"),
        "margin_usd": format(m.margin_usd, "f"),
        "margin_pct": float(pct) if pct is not None else None,
        "unpriced_events": m.unpriced_events,
    }


def envelope_json(env: ReportEnvelope) -> dict[str, Any]:
    """The one JSON envelope every report prints (money as exact decimal strings)."""
    q, r = env.query, env.result
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_at": env.generated_at.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "query": {
            "by": q.dims,
            "since": q.since,
            "until": q.until,
            "period": q.period,
            "tz": q.tz,
            "range": {"label": env.range.label, "start_ms": env.range.start_ms, "end_ms": env.range.end_ms},
            "filters": {k: v for k, v in (("customer", q.customer), ("feature", q.feature), ("model", q.model)) if v},
            "sort": q.sort,
            "top": q.top,
            "allocate": q.allocate,
            "band_pct": format(q.band_pct, "f"),
        },
        "currency": "USD",
        "rows": [{"group": row.group, **measures_json(row.measures), "class": row.cls} for row in r.rows],
        "totals": {**measures_json(r.totals), "class": r.totals_cls},
        "unpriced": {"events": r.unpriced_events, "models": r.unpriced_models},
        "unconverted_revenue": {cur: amount for cur, amount in sorted(env.unconverted_revenue.items())},
    }
