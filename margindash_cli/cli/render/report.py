"""Tables, CSV and Markdown of `margindash report` and its `trend`, `cohorts` and `concentration`; the notes on
what a report's figures leave out (to stderr, in every format)."""

from __future__ import annotations

import sys
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from margindash_cli.cli.render.kit import (
    display_money,
    emit_json,
    names_text,
    print_fitted,
    red_if_negative,
    spark_caption,
    spark_scale,
    sparkline,
    stdout_console,
    text_cell,
    warn,
    write_csv,
    write_markdown,
)
from margindash_cli.core.money import display_usd, fixed_cents, fixed_usd, pct_text, table_usd
from margindash_cli.core.textsafe import csv_text, safe

if TYPE_CHECKING:
    from datetime import date

    from rich.console import Console
    from rich.text import Text

    from margindash_cli.reports.compute import Measures, TrendRow
    from margindash_cli.reports.run import CohortEnvelope, ConcentrationEnvelope, ReportEnvelope, TrendEnvelope


REPORT_COLUMNS = (
    "events",
    "input_tokens",
    "output_tokens",
    "cost_usd",
    "revenue_usd",
    "margin_usd",
    "margin_pct",
    "unpriced_events",
    "unconverted_revenue_days",
    "class",
)
MONEY_COLUMNS = ("cost_usd", "revenue_usd", "margin_usd")
TOTAL_LABEL = "(total)"  # the first group cell of a CSV totals row (--totals): not a value a log can hold unnoticed
ALLOCATION_NOTE = (
    "revenue: a customer's revenue of a day is spread over its calls of that day (--allocate);"
    " revenue of a day without calls is the (no usage) row"
)
PARTLY_UNPRICED = " +?"  # after a figure that leaves out unpriced calls or unconverted revenue


def measure_cells(m: Measures, output: str) -> dict[str, str]:
    """The measure columns of a row as CSV (exact, fixed scale: cost/margin 12 decimals, revenue 2, margin % 2)
    or Markdown (for people: '$1,646.25', '-10.0%'). Unknown cost (every call unpriced): empty in CSV,
    'unpriced' in Markdown; partly unpriced: `+?` in Markdown, and `unpriced_events` in both."""
    pct = m.margin_pct
    if output == "csv":
        unknown = m.fully_unpriced
        return {
            "events": str(m.events),
            "input_tokens": str(m.input_tokens),
            "output_tokens": str(m.output_tokens),
            "cost_usd": "" if unknown else fixed_usd(m.cost_pico),
            "revenue_usd": fixed_cents(m.revenue_cents),
            "margin_usd": "" if unknown else fixed_usd(m.margin_pico),
            "margin_pct": "" if pct is None else f"{pct:.2f}",
            "unpriced_events": str(m.unpriced_events),
            "unconverted_revenue_days": str(m.unconverted_revenue),
        }
    return {
        "events": f"{m.events:,}",
        "input_tokens": f"{m.input_tokens:,}",
        "output_tokens": f"{m.output_tokens:,}",
        "cost_usd": cost_cell(m),
        "revenue_usd": revenue_cell(m),
        "margin_usd": _plain(margin_cell(m)),
        "margin_pct": pct_cell(m),
        "unpriced_events": f"{m.unpriced_events:,}",
        "unconverted_revenue_days": f"{m.unconverted_revenue:,}",
    }


SORT_WORDS = {
    "margin": "margin, worst first",
    "margin_pct": "margin %, worst first",
    "cost": "cost",
    "revenue": "revenue",
    "events": "events",
    "customers": "customers",
    "cohort": "cohort, oldest first",
}
PLURALS = {
    "customer": "customers",
    "feature": "features",
    "model": "models",
    "vendor": "vendors",
    "segment": "segments",
    "plan": "plans",
    "day": "days",
    "week": "weeks",
    "month": "months",
}


def capped_note(shown: int, total: int, what: str, sort: str) -> str | None:
    """What --top (or a terminal's default of 50) left out: 'top 50 of 5,000 customers by margin, worst first;
    --all for every row'; None when nothing was."""
    if total <= shown:
        return None
    noun = PLURALS.get(what, what if what.endswith("s") else f"{what} values")
    return f"top {shown:,} of {total:,} {noun} by {SORT_WORDS.get(sort, sort)}; the rest in (other {total - shown:,}); --all for every row"


def group_label(dim: str, value: str) -> str:
    """A group value for people: a month as '2026-08' (JSON and CSV keep the first day, '2026-08-01')."""
    if dim == "month" and len(value) == 10 and value[4] == "-":
        return value[:7]
    return value


def _plain(cell: str | Text) -> str:
    return cell if isinstance(cell, str) else cell.plain


def report_records(env: ReportEnvelope, output: str, *, totals: bool = True) -> list[dict[str, str]]:
    """Flat rows (group columns then measures) for CSV or Markdown; the totals row last when `totals`."""
    r = env.result
    out = []
    for row in r.rows:
        groups = {  # Markdown cells are escaped by write_markdown
            d: csv_text(row.group[d]) if output == "csv" else group_label(d, row.group[d]) for d in r.dims
        }
        out.append({**groups, **measure_cells(row.measures, output), "class": row.cls})
    if totals:
        label = TOTAL_LABEL if output == "csv" else "total"
        out.append(
            {
                **{d: (label if i == 0 else "") for i, d in enumerate(r.dims)},
                **measure_cells(r.totals, output),
                "class": r.totals_cls,
            }
        )
    return out


def emit_report(env: ReportEnvelope, output: str, *, totals: bool = False, nest: bool = False) -> None:
    """Print a report in `output` format; what its figures leave out goes to stderr in every format.
    CSV leaves the totals row out unless `totals` (summing a column never counts it twice). With `nest`
    (--breakdown) the table shows each first-level group as a row with its total, its children indented below."""

    r = env.result
    if output == "json":
        emit_json(env)
    elif output == "csv":
        write_csv(report_records(env, "csv", totals=totals), [*r.dims, *REPORT_COLUMNS])
    elif output == "markdown":
        records = report_records(env, "markdown")
        write_markdown(records, [*r.dims, *REPORT_COLUMNS], set(REPORT_COLUMNS[:-1]), note=ALLOCATION_NOTE)
    else:
        print_report_table(env, nest=nest and len(r.dims) > 1)
    _print_notes(
        env,
        r.unpriced_events,
        r.unpriced_models,
        marks=" (+? marks the rows)" if output in ("table", "markdown") else "",
    )


def _pct(value: Decimal | None) -> str:
    return pct_text(value)


def cost_cell(m: Measures) -> str:
    """A cost for a table: 'unpriced' when every call is, '$1.20 +?' when some are, '<$0.01' under a cent."""
    if m.fully_unpriced:
        return "unpriced"
    return table_usd(m.cost_pico) + (PARTLY_UNPRICED if m.partly_unpriced else "")


def revenue_cell(m: Measures) -> str:
    """Revenue for a table: `+?` when some of it is in another currency with no rate yet (not in the figure)."""
    return table_usd(m.revenue_cents * 10**10) + (PARTLY_UNPRICED if m.unconverted_revenue else "")


def margin_cell(m: Measures) -> str | Text:
    """A margin for a table: '-' when the cost is unknown, red when negative, `+?` when some calls are unpriced
    or some revenue is unconverted."""
    from rich.text import Text  # lazy: start-up

    if m.fully_unpriced:
        return "-"
    text = table_usd(m.margin_pico) + (PARTLY_UNPRICED if m.partly_unpriced or m.unconverted_revenue else "")
    return Text(text, style="red") if m.margin_pico < 0 else text


def pct_cell(m: Measures) -> str:
    pct = m.margin_pct
    return pct_text(pct) + (PARTLY_UNPRICED if pct is not None and (m.partly_unpriced or m.unconverted_revenue) else "")


def _measure_row(m: Measures, cls: str) -> list[Any]:
    return [
        f"{m.events:,}",
        f"{m.input_tokens:,}",
        f"{m.output_tokens:,}",
        cost_cell(m),
        revenue_cell(m),
        margin_cell(m),
        pct_cell(m),
        cls,
    ]


NEST_INDENT = "  "  # before a child's label under its parent (--breakdown)


def _nested_body(env: ReportEnvelope) -> list[list[Any]]:
    """--breakdown: each first-level group as one row with its sums (the rows are kept together by the sort), then
    its children, indented, labelled with the values of the other groups."""
    from margindash_cli.reports.compute import Measures, classify  # lazy: start-up

    r = env.result
    parent_dim, child_dims = r.dims[0], r.dims[1:]
    body: list[list[Any]] = []
    i = 0
    while i < len(r.rows):
        parent = r.rows[i].group[parent_dim]
        j = i
        total = Measures()
        while j < len(r.rows) and r.rows[j].group[parent_dim] == parent:
            total.add(r.rows[j].measures)
            j += 1
        body.append(
            [text_cell(group_label(parent_dim, parent)), *_measure_row(total, classify(total, env.query.band_pct))]
        )
        for row in r.rows[i:j]:
            label = " / ".join(group_label(d, row.group[d]) for d in child_dims if row.group[d] != "")
            if label:
                body.append([text_cell(NEST_INDENT + label), *_measure_row(row.measures, row.cls)])
        i = j
    return body


def print_report_table(env: ReportEnvelope, *, nest: bool = False) -> None:
    r = env.result
    console = stdout_console()
    if not r.rows:
        _print_empty(console, env)
        return
    group_cols = [(" > ".join(r.dims), "left")] if nest else [(d, "left") for d in r.dims]
    cols = group_cols + [
        ("events", "right"),
        ("input tok", "right"),
        ("output tok", "right"),
        ("cost", "right"),
        ("revenue", "right"),
        ("margin", "right"),
        ("margin %", "right"),
        ("class", "left"),
    ]
    if nest:
        body = _nested_body(env)
    else:
        body = [
            [*(text_cell(group_label(d, row.group[d])) for d in r.dims), *_measure_row(row.measures, row.cls)]
            for row in r.rows
        ]
    t = r.totals
    footer = [
        "total",
        *([""] * (len(group_cols) - 1)),
        f"{t.events:,}",
        f"{t.input_tokens:,}",
        f"{t.output_tokens:,}",
        cost_cell(t),
        revenue_cell(t),
        _plain(margin_cell(t)),
        pct_cell(t),
        r.totals_cls,
    ]
    print_fitted(
        console,
        env.title,
        cols,
        body,
        footer=footer,
        caption="; ".join(n for n in (_capped(env), ALLOCATION_NOTE) if n),
        drop=("input tok", "output tok", "events", "class"),
    )


def _capped(env: ReportEnvelope) -> str | None:
    r = env.result
    top = env.query.top
    if top is None or top <= 0 or r.groups <= top:
        return None
    return capped_note(top, r.groups, r.dims[0], env.query.sort)


def _print_empty(console: Console, env: ReportEnvelope) -> None:
    console.print(f"No usage or revenue in {env.range.label} ({env.range.tz}).", markup=False)
    console.print("hint: widen the period, or check `margindash events`", markup=False)


def _print_notes(env: ReportEnvelope, unpriced_events: int, unpriced_models: list[str], marks: str = "") -> None:
    """What a report's figures leave out, each with the command that fixes it: to stderr, in every format,
    so a CSV or JSON file never hides it and stdout stays the payload."""
    if unpriced_events:
        models = ", ".join(safe(m) for m in unpriced_models[:5]) + (" ..." if len(unpriced_models) > 5 else "")
        warn(
            f"unpriced: {unpriced_events:,} call(s) have no price ({models}); their cost is not in these figures{marks}."
        )
        print("hint: margindash prices unpriced", file=sys.stderr)
    for provider, pdays in (getattr(env, "provisional_costs", None) or {}).items():
        span = pdays[0] if len(pdays) == 1 else f"{pdays[0]} to {pdays[-1]}"
        warn(
            f"provisional: {provider} on {len(pdays)} day(s) ({span}) has no bill synced: its cost is ours, not the bill's."
        )
    if getattr(env, "provisional_costs", None):
        print(
            "hint: margindash sync-costs (or margindash costs import FILE), then margindash reconcile", file=sys.stderr
        )
    basis = getattr(env, "cost_basis", None)  # #18: a report on the bill's cost says which days are provisional
    if basis is not None:
        days = sum(basis.reconciled_days.values())
        print(
            f"cost basis: reconciled with the providers' bills on {days} provider day(s); billed spend no logged call"
            f" explains is in the (untracked) row ({display_money(Decimal(basis.untracked_usd))}).",
            file=sys.stderr,
        )
        for provider, pdays in basis.provisional_days.items():
            span = pdays[0] if len(pdays) == 1 else f"{pdays[0]} to {pdays[-1]}"
            print(
                f"provisional: {safe(provider)} on {len(pdays)} day(s) ({span}) has no bill synced: computed cost.",
                file=sys.stderr,
            )
    if env.unconverted_revenue:
        parts = ", ".join(
            f"{amount:,} {safe(cur.upper())} (minor units)" for cur, amount in sorted(env.unconverted_revenue.items())
        )
        warn(f"unconverted revenue not in these figures: {parts}{' (+? marks the rows)' if marks else ''}.")
        print("hint: margindash fx import FILE.csv", file=sys.stderr)


# ---- report trend --------------------------------------------------------------------------------

TREND_CSV_COLUMNS = (
    "period",
    "partial",
    "events",
    "input_tokens",
    "output_tokens",
    "cost_usd",
    "revenue_usd",
    "margin_usd",
    "margin_pct",
    "unpriced_events",
    "unconverted_revenue_days",
)


def trend_records(env: TrendEnvelope, output: str, *, totals: bool = True) -> list[dict[str, Any]]:
    """One row per (group, period), then (with `totals`) the totals per period: the long form of CSV and Markdown."""
    r = env.result
    dim = r.dim
    label = csv_text if output == "csv" else str
    rows = [(label(row.group[dim]), row) for row in r.rows]
    if totals:
        rows.append((TOTAL_LABEL if output == "csv" else "total", r.totals))
    out = []
    for name, row in rows:
        for p, part, m in zip(r.periods, r.partial, row.points):
            out.append(
                {dim: name, "period": p.isoformat(), "partial": "yes" if part else "", **measure_cells(m, output)}
            )
    return out


def emit_time_chart(env: ReportEnvelope) -> None:
    """`report --by day|week|month --chart`: revenue and cost bars, then margin % around a zero line, as plain text."""
    from margindash_cli.cli.render import textchart  # lazy: start-up

    dim = env.result.dims[0]
    points = [
        textchart.Point(
            str(r.group[dim]),
            r.measures.revenue_usd,
            r.measures.cost_usd,
            r.measures.margin_pct,
            unpriced=bool(r.measures.unpriced_events),
        )
        for r in env.result.rows
        if dim in r.group and r.group[dim] is not None
    ]
    width = stdout_console().width
    out = [f"Revenue and cost per {dim} · {env.span}"]
    if not points:
        out.append("no calls or revenue in this range")
    else:
        out += textchart.money_chart(points, width)
        out += ["", f"Margin % per {dim}"] + textchart.margin_chart(points, width)
        if any(p.unpriced for p in points):
            out.append("+? some calls have no price: their cost is unknown and left out (margindash prices unpriced)")
    sys.stdout.write("\n".join(line.rstrip() for line in out) + "\n")


def emit_trend(env: TrendEnvelope, output: str, *, totals: bool = False) -> None:

    r = env.result
    headers = [r.dim, *TREND_CSV_COLUMNS]
    if output == "json":
        emit_json(env)
    elif output == "csv":
        write_csv(trend_records(env, "csv", totals=totals), headers)
    elif output == "markdown":
        write_markdown(trend_records(env, "markdown"), headers, set(TREND_CSV_COLUMNS[2:]), note=ALLOCATION_NOTE)
    else:
        print_trend_table(env)
    _print_notes(
        env,
        r.unpriced_events,
        r.unpriced_models,
        marks=" (+? marks the rows)" if output in ("table", "markdown") else "",
    )


def _for_people(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Markdown is for people: JSON's exact money strings as '$1,646.25', percentages as '-10.0%'."""
    from margindash_cli.core.money import usd_to_pico  # lazy: start-up

    out = []
    for rec in records:
        rec = dict(rec)
        for k, v in rec.items():
            if v is None:
                continue
            if k.endswith("_usd"):
                rec[k] = table_usd(usd_to_pico(v))
            elif k.endswith("_pct") and k != "top_pct":
                rec[k] = pct_text(Decimal(str(v)))
        out.append(rec)
    return out


def _first_last(row: TrendRow, periods: list[date]) -> tuple[str, str, str | Text]:
    c = row.change
    if c is None:
        return "-", "-", "-"
    index = {p: i for i, p in enumerate(periods)}
    first, last = row.points[index[c.first]].margin_pct, row.points[index[c.last]].margin_pct
    pts = "-" if c.margin_pct_points is None else f"{c.margin_pct_points:+.1f} pts"
    return _pct(first), _pct(last), red_if_negative(pts, c.margin_pct_points)


def print_trend_table(env: TrendEnvelope) -> None:
    r = env.result
    console = stdout_console()
    if not r.rows:
        _print_empty(console, env)
        return
    cols = [
        (r.dim, "left"),
        ("cost", "right"),
        ("revenue", "right"),
        ("margin", "right"),
        ("margin %", "right"),
        ("first %", "right"),
        ("last %", "right"),
        ("change", "right"),
        (f"margin % per {r.granularity}", "left"),
    ]
    scale = spark_scale([[p.margin_pct for p in row.points] for row in [*r.rows, r.totals]])

    def cells(row: TrendRow) -> list[Any]:
        m = row.total
        first, last, change = _first_last(row, r.periods)
        return [
            cost_cell(m),
            revenue_cell(m),
            margin_cell(m),
            pct_cell(m),
            first,
            last,
            change,
            sparkline([p.margin_pct for p in row.points], scale),
        ]

    body = [[text_cell(row.group[r.dim]), *cells(row)] for row in r.rows]
    footer = ["total", *(c if isinstance(c, str) else c.plain for c in cells(r.totals))]
    span = f"{r.periods[0].isoformat()} .. {r.periods[-1].isoformat()}" if r.periods else ""
    partial = [p.isoformat() for p, part in zip(r.periods, r.partial) if part]
    notes = [
        f"{len(r.periods)} period(s), {span}",
        "first/last/change: each group's first and last full period with activity",
    ]
    if partial:
        notes.append(f"partial period(s), not used for first/last: {', '.join(partial)}")
    notes += [spark_caption(scale), ALLOCATION_NOTE]
    top = env.query.top
    if top is not None and 0 < top < r.groups:
        notes.insert(0, capped_note(top, r.groups, r.dim, env.query.sort) or "")
    print_fitted(
        console,
        env.title,
        cols,
        body,
        footer=footer,
        caption="; ".join(notes),
        drop=(cols[-1][0], "first %", "last %", "cost", "revenue"),
    )


# ---- report cohorts ------------------------------------------------------------------------------

COHORT_CSV_COLUMNS = (
    "cohort",
    "customers",
    "index",
    "period",
    "active_customers",
    "events",
    "input_tokens",
    "output_tokens",
    "cost_usd",
    "revenue_usd",
    "margin_usd",
    "margin_pct",
)


def cohort_records(env: CohortEnvelope) -> list[dict[str, Any]]:
    from margindash_cli.reports.run import cohorts_json  # lazy: start-up

    data = cohorts_json(env)
    out = []
    for c in data["cohorts"]:
        for cell in c["periods"]:
            out.append(
                {"cohort": c["cohort"], "customers": c["customers"], **{k: cell[k] for k in COHORT_CSV_COLUMNS[2:]}}
            )
    for cell in data["totals"]["periods"]:
        out.append(
            {
                "cohort": "total",
                "customers": None,
                "period": None,
                **{k: cell[k] for k in COHORT_CSV_COLUMNS[2:] if k != "period"},
            }
        )
    return out


def emit_cohorts(env: CohortEnvelope, output: str) -> None:

    r = env.result
    if output == "json":
        emit_json(env)
    elif output == "csv":
        write_csv(cohort_records(env), list(COHORT_CSV_COLUMNS))
    elif output == "markdown":
        write_markdown(
            _for_people(cohort_records(env)), list(COHORT_CSV_COLUMNS), set(COHORT_CSV_COLUMNS[1:]) - {"period"}
        )
    else:
        print_cohorts_table(env)
    _print_notes(env, r.unpriced_events, r.unpriced_models)


def _cohort_label(start: date, granularity: str) -> str:
    return start.strftime("%Y-%m") if granularity == "month" else start.isoformat()


def print_cohorts_table(env: CohortEnvelope) -> None:
    r = env.result
    console = stdout_console()
    if not r.cohorts:
        _print_empty(console, env)
        return
    prefix = "m" if r.granularity == "month" else "w"
    indexes = [c.index for c in r.totals]
    cols = [
        ("cohort", "left"),
        ("customers", "right"),
        ("margin", "right"),
        *((f"{prefix}{i}", "right") for i in indexes),
    ]
    body = []
    for row in r.cohorts:
        by_index = {c.index: c for c in row.cells}
        pcts = [by_index[i].measures.margin_pct if i in by_index else None for i in indexes]
        body.append(
            [
                row.label or _cohort_label(row.start, r.granularity),
                f"{row.customers:,}",
                red_if_negative(display_money(row.total.margin_usd), row.total.margin_usd),
                *(red_if_negative(_pct(p), p) if i in by_index else "" for i, p in zip(indexes, pcts)),
            ]
        )
    overall = sum((row.total.margin_pico for row in r.cohorts), 0)
    footer = [
        "all",
        f"{sum(row.customers for row in r.cohorts):,}",
        display_usd(overall, pico=True),
        *(_pct(c.measures.margin_pct) for c in r.totals),
    ]
    unit = "month" if r.granularity == "month" else "week"
    caption = f"margin % per {unit} since the first call ({prefix}1 = the {unit} of the first call); - = no revenue"
    top = env.query.top
    if top is not None and 0 < top < r.groups:
        caption = f"{capped_note(top, r.groups, 'cohorts', env.query.sort)}; {caption}"
    # what goes first when the terminal is narrow: the margin, the size, then the latest periods, so the cohort
    # (the id of the row) is never squeezed and the first periods, where cohorts compare, stay (#17)
    drop = ("margin", "customers", *(f"{prefix}{i}" for i in reversed(indexes[1:])))
    print_fitted(console, env.title, cols, body, footer=footer, caption=caption, drop=drop)
    u = r.unattributed
    if u.events:
        console.print(
            f"not in a cohort: {u.events:,} unattributed call(s), cost {display_money(u.cost_usd)}. hint: pass"
            " customer_id in your logs",
            markup=False,
        )
    if r.revenue_without_usage_cents:
        console.print(
            f"not in a cohort: {display_money(Decimal(r.revenue_without_usage_cents).scaleb(-2))} revenue of"
            " customers with no calls",
            markup=False,
        )
    if r.revenue_before_first_call_cents:
        console.print(
            f"not in a cohort: {display_money(Decimal(r.revenue_before_first_call_cents).scaleb(-2))} revenue"
            f" dated before a customer's first {unit}",
            markup=False,
        )


# ---- report concentration ------------------------------------------------------------------------

CONCENTRATION_CSV_COLUMNS = (
    "rank",
    "customer",
    "top_pct",
    "events",
    "cost_usd",
    "cost_share_pct",
    "cumulative_cost_share_pct",
    "revenue_usd",
    "margin_usd",
    "margin_pct",
    "class",
)


def concentration_records(env: ConcentrationEnvelope) -> list[dict[str, Any]]:
    """Every customer ranked by cost, with the smallest tier it belongs to (blank when in none)."""
    from margindash_cli.reports.run import concentration_json  # lazy: start-up

    data = concentration_json(env)
    tier_of: dict[str, int] = {}
    for t in sorted(data["tiers"], key=lambda t: -t["top_pct"]):
        for c in t["customers"]:
            tier_of[c] = t["top_pct"]
    return [
        {**{k: c[k] for k in CONCENTRATION_CSV_COLUMNS if k in c}, "top_pct": tier_of.get(c["customer"])}
        for c in data["customers"]
    ]


def emit_concentration(env: ConcentrationEnvelope, output: str, *, ranked: bool = False) -> None:
    """`ranked`: the table lists the customers of --top N (0: all) rather than the widest tier's (JSON and CSV list
    the customers of --top, else all of them, either way)."""

    r = env.result
    if output == "json":
        emit_json(env)
    elif output == "csv":
        write_csv(
            [{**rec, "customer": csv_text(rec["customer"])} for rec in concentration_records(env)],
            list(CONCENTRATION_CSV_COLUMNS),
        )
    elif output == "markdown":
        write_markdown(
            _for_people(concentration_records(env)),
            list(CONCENTRATION_CSV_COLUMNS),
            set(CONCENTRATION_CSV_COLUMNS) - {"customer", "class"},
        )
    else:
        print_concentration_table(env, ranked=ranked)
    _print_notes(env, r.unpriced_events, r.unpriced_models)


def print_concentration_table(env: ConcentrationEnvelope, *, ranked: bool = False) -> None:
    """The tiers, then the customers under them: the widest tier's by cost; with `ranked` (--top N, --top 0, --all)
    or a --sort, the customers that asks for in that order, the rest in one (other N) row."""
    r = env.result
    console = stdout_console()
    if not r.customers and not r.unattributed.events:
        _print_empty(console, env)
        return

    def line(label: str, count: str, m: Measures, share: Decimal | None, losing: str) -> list[Any]:
        return [
            label,
            count,
            display_money(m.cost_usd),
            _share(share),
            display_money(m.revenue_usd),
            red_if_negative(display_money(m.margin_usd), m.margin_usd),
            _pct(m.margin_pct),
            losing,
        ]

    cols = [
        ("customers", "left"),
        ("count", "right"),
        ("cost", "right"),
        ("share of cost", "right"),
        ("revenue", "right"),
        ("margin", "right"),
        ("margin %", "right"),
        ("negative margin", "left"),
    ]
    body = [
        line(f"top {t.top_pct}%", f"{len(t.customers):,}", t.measures, t.cost_share_pct, names_text(t.negative_margin))
        for t in r.tiers
    ]
    largest = max((len(t.customers) for t in r.tiers), default=0)
    body.append(line("the rest", f"{len(r.customers) - largest:,}", r.rest, r.rest_cost_share_pct, ""))
    if r.unattributed.events or r.unattributed.revenue_cents:
        body.append(line("(unattributed)", "", r.unattributed, r.unattributed_cost_share_pct, ""))
    t = r.totals
    footer = [
        "total",
        f"{len(r.customers):,}",
        display_money(t.cost_usd),
        _share(Decimal(100) if t.cost_pico else None),
        display_money(t.revenue_usd),
        display_money(t.margin_usd),
        _pct(t.margin_pct),
        "",
    ]
    print_fitted(
        console,
        env.title,
        cols,
        body,
        footer=footer,
        caption="top N%: the first ceil(N% of customers) by cost",
        drop=("revenue", "count"),
    )
    widest = max(r.tiers, key=lambda t: len(t.customers), default=None)
    if widest is not None and widest.customers:
        ranked_list, title, other, caption = (
            r.customers[: len(widest.customers)],
            f"Top {widest.top_pct}% of customers by cost",
            None,
            None,
        )
        top, sort = env.query.top, env.query.sort
        # --top N (0: all), --all or --sort: the customers they ask for, whatever their tier (else the tier as it is)
        if ranked or sort != "cost":
            ranked_list = r.listed if r.listed is not None else r.customers
            title = f"Customers by {SORT_WORDS.get(sort, sort)}"
            if r.listed_other is not None and top is not None:
                other = r.listed_other
                caption = capped_note(top, len(r.customers), "customers", sort)
        rows = [
            [
                str(c.rank),
                c.customer,
                display_money(c.measures.cost_usd),
                _share(c.cost_share_pct),
                _share(c.cumulative_cost_share_pct),
                display_money(c.measures.revenue_usd),
                red_if_negative(display_money(c.measures.margin_usd), c.measures.margin_usd),
                _pct(c.measures.margin_pct),
                c.cls,
            ]
            for c in ranked_list
        ]
        if other is not None:
            rows.append(
                [
                    "",
                    f"(other {len(r.customers) - len(ranked_list):,})",
                    display_money(other.cost_usd),
                    _share(share_pct(other.cost_pico, r.totals.cost_pico)),
                    "",
                    display_money(other.revenue_usd),
                    red_if_negative(display_money(other.margin_usd), other.margin_usd),
                    _pct(other.margin_pct),
                    "",
                ]
            )
        cols2 = [
            ("#", "right"),
            ("customer", "left"),
            ("cost", "right"),
            ("share", "right"),
            ("cumulative", "right"),
            ("revenue", "right"),
            ("margin", "right"),
            ("margin %", "right"),
            ("class", "left"),
        ]
        print_fitted(console, title, cols2, rows, caption=caption, drop=("revenue", "class", "cumulative"))


def share_pct(part: int, whole: int) -> Decimal | None:
    from margindash_cli.reports.compute import share_pct as pct  # lazy: start-up

    return pct(part, whole)


def _share(value: Decimal | None) -> str:
    return "-" if value is None else f"{value:.1f}%"
