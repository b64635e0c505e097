"""Gather what the HTML report shows, as the same JSON envelopes the commands print with --json.

Every figure on the page comes from here, and every section here is the envelope of one command run
with the page's range and filters: `report` is exactly `margindash report --json` with the same
arguments, `by_feature` is `report --by feature --json`, and so on. The page (page.py) only lays them
out; nothing is computed twice.
"""

from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from margindash_cli import __version__
from margindash_cli.core.periods import EPOCH_DATE as EPOCH_DAY
from margindash_cli.core.periods import resolve_range, zone
from margindash_cli.errors import MarginDashError
from margindash_cli.reports import compute as reports
from margindash_cli.reports.run import (
    ReportQuery,
    cohorts_json,
    concentration_json,
    envelope_json,
    local_days,
    run_cohorts,
    run_concentration,
    run_report,
)
from margindash_cli.store.db import Store

SCHEMA_VERSION = 1  # of the data the page embeds
DEFAULT_TOP = 50  # rows of the main table before one "(other)" row, unless --top says otherwise
SECTION_TOP = 20  # rows of the feature and model tables in the dashboard
SIMULATE_DAYS = 7  # the dashboard simulates swaps on the range's last 7 days (a run rate; 11 s on 10M calls, not 190)
CONCENTRATION_NAMES = 10  # customers named per concentration tier, and ranked customers kept, in the page


@dataclass
class DashboardQuery:
    """What the page covers: the report's own query (range, zone, filters, bases, the main table's --by, --top and
    --sort), and what only the page has."""

    report: ReportQuery
    full: bool = False  # the dashboard: every section, not only headline, charts and the main table
    simulate_days: int = SIMULATE_DAYS  # 0 leaves the model-swap section out
    command: str = ""  # the command line that made the page (provenance)

    def report_query(
        self,
        dims: list[str],
        *,
        top: int | None = None,
        since: str | None = None,
        until: str | None = None,
        keep_range: bool = True,
    ) -> ReportQuery:
        """The page's query for another grouping (and, with keep_range=False, another range)."""
        if keep_range:
            return replace(self.report, dims=dims, top=top)
        return replace(self.report, dims=dims, top=top, since=since, until=until, period=None)


def build(store: Store, q: DashboardQuery) -> dict[str, Any]:
    """The page's data: one dict of command envelopes plus the page's own framing (timeline, provenance)."""
    now = q.report.now or datetime.now(UTC)
    q.report = replace(q.report, now=now)
    r = q.report
    main = run_report(store, r)
    rng = main.range
    tz = zone(r.tz)
    first, last = _span(store, rng, tz)
    data: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "kind": "dashboard" if q.full else "report",
        "title": main.title,
        "generated_at": now.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "report": envelope_json(main),
        "headline": _headline(store, q, main, first, last),
        "timeline": _timeline(store, q, first, last),
    }
    if q.full:
        data["by_feature"] = envelope_json(run_report(store, q.report_query(["feature"], top=SECTION_TOP)))
        data["by_model"] = envelope_json(run_report(store, q.report_query(["model"], top=SECTION_TOP)))
        data["concentration"] = trim_concentration(
            concentration_json(run_concentration(store, replace(q.report_query(["customer"]), sort="cost")))
        )
        cohort_q = replace(q.report_query(["customer"]), sort="cohort")  # the page's own orders, not the table's --sort
        cohort_q.granularity = "month"
        data["cohorts"] = cohorts_json(run_cohorts(store, cohort_q))
        data["budgets"] = _budgets(store, now)
        data["simulate"] = _simulate(store, q, now, last)
        data["reconcile"] = _reconcile(store, q, now)
    data["provenance"] = _provenance(store, q, main, first, last, now)
    return data


def _span(store: Store, rng: Any, tz: Any) -> tuple[date | None, date | None]:
    """The range's first and last local day; where the range is open, the first/last day with data."""
    first, last = local_days(rng, tz)
    if first is None or last is None:
        lo, hi = store.events.data_span_days(start_ms=rng.start_ms, end_ms=rng.end_ms)
        if first is None and lo is not None:
            first = EPOCH_DAY + timedelta(days=lo)
        if last is None and hi is not None:
            last = EPOCH_DAY + timedelta(days=hi)
    return first, last


def _headline(store: Store, q: DashboardQuery, main: Any, first: date | None, last: date | None) -> dict[str, Any]:
    """The period's totals and the same figures for the previous period of the same length (bounded ranges only)."""
    current = envelope_json(main)["totals"]
    out: dict[str, Any] = {"current": current, "previous": None, "previous_range": None}
    if main.range.start_ms is None or first is None or last is None:
        out["note"] = "no previous period: the range is all data"
        return out
    days = (last - first).days + 1
    p_last = first - timedelta(days=1)
    p_first = first - timedelta(days=days)
    prev = run_report(
        store, q.report_query(["customer"], since=p_first.isoformat(), until=p_last.isoformat(), keep_range=False)
    )
    out["previous"] = envelope_json(prev)["totals"]
    out["previous_range"] = {"first_day": p_first.isoformat(), "last_day": p_last.isoformat(), "days": days}
    return out


def _timeline(store: Store, q: DashboardQuery, first: date | None, last: date | None) -> dict[str, Any]:
    """Revenue, cost and margin per day, week or month (day up to 31 days, week up to 26 weeks, month beyond):
    the envelope of `report --by GRANULARITY`, plus every period of the range in order with its partial flag."""
    if first is None or last is None or last < first:
        return {"granularity": "day", "first_day": None, "last_day": None, "periods": [], "report": None}
    granularity = reports.pick_granularity(first, last)
    env = envelope_json(run_report(store, q.report_query([granularity])))
    periods = []
    for b in reports.buckets_between(first, last, granularity):
        end = reports.next_bucket(b, granularity) - timedelta(days=1)
        periods.append({"period": b.isoformat(), "partial": b < first or end > last})
    return {
        "granularity": granularity,
        "first_day": first.isoformat(),
        "last_day": last.isoformat(),
        "periods": periods,
        "report": env,
    }


def _budgets(store: Store, now: datetime) -> dict[str, Any]:
    """`budget list --json`: each budget's current period (budgets run on their own calendar, not the page's range)."""
    from margindash_cli.budgets.run import evaluate_all, list_json  # lazy: start-up

    return list_json(evaluate_all(store, now), now)


def trim_concentration(env: dict[str, Any]) -> dict[str, Any]:
    """`report concentration --json` with its name lists cut to what the page shows: each tier names its first
    10 customers and the ranking keeps its first 10 (5,000 customers would add 1.4 MB); `*_omitted` says how
    many were left out. Every figure is kept as it is."""
    out = dict(env)
    tiers = []
    for t in env.get("tiers", []):
        names = t.get("customers", [])
        tiers.append(
            {
                **t,
                "customers": names[:CONCENTRATION_NAMES],
                "customers_omitted": max(0, len(names) - CONCENTRATION_NAMES),
            }
        )
    out["tiers"] = tiers
    ranked = env.get("customers", [])
    out["customers"] = ranked[:CONCENTRATION_NAMES]
    out["customers_omitted"] = max(0, len(ranked) - CONCENTRATION_NAMES)
    return out


def _simulate(store: Store, q: DashboardQuery, now: datetime, last: date | None) -> dict[str, Any]:
    """`simulate --json` over the range's last `simulate_days` days (its monthly saving is a run rate, and
    re-pricing every call of a long range on every candidate takes minutes on a big store); its `error` when
    it cannot run (no calls, no benchmark data)."""
    from margindash_cli.simulate.run import SimulateQuery, run_simulation  # lazy: start-up
    from margindash_cli.simulate.run import envelope_json as sim_json  # lazy: start-up

    if q.simulate_days <= 0:
        return {"error": "left out (--simulate-days 0)", "hint": None}
    if last is None:
        return {"error": "no calls in this range", "hint": None}
    since = (last - timedelta(days=q.simulate_days - 1)).isoformat()
    try:
        env = run_simulation(
            store, SimulateQuery(event_type=q.report.feature, since=since, until=last.isoformat(), now=now)
        )
    except MarginDashError as exc:
        return {"error": exc.message, "hint": exc.hint}
    return sim_json(env)


def _reconcile(store: Store, q: DashboardQuery, now: datetime) -> dict[str, Any]:
    """`reconcile --by month --json` over the page's range (bills are UTC days, so the range is taken in UTC)."""
    from margindash_cli.reconcile.run import reconcile  # lazy: start-up

    rng = resolve_range(q.report.since, q.report.until, q.report.period, "UTC", now)
    return reconcile(store, start_ms=rng.start_ms, end_ms=rng.end_ms, by="month", range_label=rng.label).to_json()


def _provenance(
    store: Store, q: DashboardQuery, main: Any, first: date | None, last: date | None, now: datetime
) -> dict[str, Any]:
    from margindash_cli.pricing.catalog import load_shipped_catalog  # lazy: start-up

    catalog = load_shipped_catalog().version
    synced = store.get_meta("last_price_sync")
    return {
        "range": {
            "label": main.range.label,
            "first_day": None if first is None else first.isoformat(),
            "last_day": None if last is None else last.isoformat(),
        },
        "tz": q.report.tz,
        "price_catalog": {
            "shipped_version": catalog,
            "last_sync_prices": synced,
            "age_days": _age_days(synced or catalog, now),
        },
        "last_sync_stripe": store.stripe.last_stripe_sync(),
        "margindash_version": __version__,
        "command": q.command or command_line(),
        "store": str(store.path),
    }


def _age_days(text: str | None, now: datetime) -> int | None:
    from margindash_cli.doctor.run import _parse_time  # lazy: start-up

    when = _parse_time(text)
    return None if when is None else (now - when).days


def command_line(argv: list[str] | None = None) -> str:
    """The command as the user typed it, with the program named `margindash` (quoted for a shell)."""
    args = list(sys.argv if argv is None else argv)
    return shlex.join(["margindash", *args[1:]])
