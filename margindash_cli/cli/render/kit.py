"""Output: JSON, CSV and Markdown emitters and Rich tables. Reads result models only; never the store.

Only the payload goes to stdout; progress, warnings and hints go to stderr so output pipes cleanly.
Money arrives here as exact values and is rounded once, for display.
"""

from __future__ import annotations

import sys
from decimal import Decimal
from typing import Any

import orjson

from margindash_cli.core.money import column_decimals, column_usd, display_usd, fixed_cents, fixed_usd, pct_text, table_usd
from margindash_cli.core.textsafe import csv_text, md_text, safe, safe_lines


def _default(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        return format(obj, "f")
    if hasattr(obj, "model_dump"):
        return obj.model_dump(mode="json")
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def dumps_json(payload: Any) -> str:
    return orjson.dumps(payload, default=_default, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode()


def print_json(payload: Any) -> None:
    sys.stdout.write(dumps_json(payload) + "\n")


def _console_class() -> Any:
    from rich.console import Console

    class SafeConsole(Console):
        """A console that never reads markup and shows control characters escaped, whatever it is handed
        (defence in depth: cells and interpolated log values are made safe where they are built)."""

        def render_str(self, text: str, **kwargs: Any) -> Any:
            kwargs["markup"] = False
            return super().render_str(safe_lines(text), **kwargs)

    return SafeConsole


def stdout_console() -> Any:
    return _console_class()(highlight=False, soft_wrap=False, markup=False)


def stderr_console() -> Any:
    return _console_class()(stderr=True, highlight=False, markup=False)


def warn(message: str) -> None:
    print(f"warning: {safe_lines(message)}", file=sys.stderr)


def text_cell(value: Any) -> Any:
    """A table cell (or title) that is text only: a log value is never read as markup nor sent as control."""
    from rich.text import Text

    if value is None or isinstance(value, Text):
        return value
    return Text(safe(value))


def table(title: str | None, columns: list[tuple[str, str]], rows: list[list[str]], *, footer: list[str] | None = None,
          caption: str | None = None) -> Any:  # fmt: skip
    """A Rich table; columns are (header, justify). Cells are already formatted text (or Rich Text); every
    string (title, caption, header, cell, footer) goes in as plain text (`text_cell`)."""
    from rich.table import Table

    t = Table(title=text_cell(title), caption=text_cell(caption), show_footer=footer is not None, header_style="bold")
    for i, (header, justify) in enumerate(columns):
        # Ids and names (left columns) are never cut with an ellipsis: a value too long for its column folds onto
        # the next line whole, so it can still be read and copied (#17).
        t.add_column(text_cell(header), justify=justify, footer=text_cell(footer[i]) if footer else "", no_wrap=justify == "right",
                     overflow="ellipsis" if justify == "right" else "fold")  # fmt: skip
    for row in rows:
        t.add_row(*(text_cell(c) for c in row))
    return t


def print_fitted(console: Any, title: str | None, columns: list[tuple[str, str]], rows: list[list[Any]], *,
                 footer: list[str] | None = None, caption: str | None = None, drop: tuple[str, ...] = (),
                 every: str = "--format csv") -> None:  # fmt: skip
    """Print a table that fits the terminal: columns named in `drop` are left out, in that order, until
    it does (a caption says which), rather than squeezing every column into illegible slivers."""
    from rich.measure import Measurement

    keep = list(range(len(columns)))
    hidden: list[str] = []
    headers = [h for h, _ in columns]
    for name in (None, *drop):
        if name is not None and name in headers:
            keep.remove(headers.index(name))
            hidden.append(name)
        note = f"hidden to fit the terminal: {', '.join(hidden)} ({every} has every column)" if hidden else None
        t = table(title, [columns[i] for i in keep], [[row[i] for i in keep] for row in rows],
                  footer=[footer[i] for i in keep] if footer else None,
                  caption="; ".join(c for c in (caption, note) if c) or None)  # fmt: skip
        if Measurement.get(console, console.options.update_width(10**6), t).maximum <= console.width:
            break
    console.print(t)


# ---- reports -------------------------------------------------------------------------------------

REPORT_COLUMNS = ("events", "input_tokens", "output_tokens", "cost_usd", "revenue_usd", "margin_usd", "margin_pct",
                  "unpriced_events", "unconverted_revenue_days", "class")  # fmt: skip
MONEY_COLUMNS = ("cost_usd", "revenue_usd", "margin_usd")
TOTAL_LABEL = "(total)"  # the first group cell of a CSV totals row (--totals): not a value a log can hold unnoticed
ALLOCATION_NOTE = ("revenue: a customer's revenue of a day is spread over its calls of that day (--allocate);"
                   " revenue of a day without calls is the (no usage) row")  # fmt: skip
PARTLY_UNPRICED = " +?"  # after a figure that leaves out unpriced calls or unconverted revenue


def measure_cells(m: Any, output: str) -> dict[str, str]:
    """The measure columns of a row as CSV (exact, fixed scale: cost/margin 12 decimals, revenue 2, margin % 2)
    or Markdown (for people: '$1,646.25', '-10.0%'). Unknown cost (every call unpriced): empty in CSV,
    'unpriced' in Markdown; partly unpriced: `+?` in Markdown, and `unpriced_events` in both."""
    pct = m.margin_pct
    if output == "csv":
        unknown = m.fully_unpriced
        return {
            "events": str(m.events), "input_tokens": str(m.input_tokens), "output_tokens": str(m.output_tokens),
            "cost_usd": "" if unknown else fixed_usd(m.cost_pico), "revenue_usd": fixed_cents(m.revenue_cents),
            "margin_usd": "" if unknown else fixed_usd(m.margin_pico), "margin_pct": "" if pct is None else f"{pct:.2f}",
            "unpriced_events": str(m.unpriced_events), "unconverted_revenue_days": str(m.unconverted_revenue),
        }  # fmt: skip
    return {
        "events": f"{m.events:,}", "input_tokens": f"{m.input_tokens:,}", "output_tokens": f"{m.output_tokens:,}",
        "cost_usd": cost_cell(m), "revenue_usd": revenue_cell(m), "margin_usd": _plain(margin_cell(m)),
        "margin_pct": pct_cell(m), "unpriced_events": f"{m.unpriced_events:,}",
        "unconverted_revenue_days": f"{m.unconverted_revenue:,}",
    }  # fmt: skip


def _plain(cell: Any) -> str:
    return cell if isinstance(cell, str) else cell.plain


def report_records(env: Any, output: str, *, totals: bool = True) -> list[dict[str, str]]:
    """Flat rows (group columns then measures) for CSV or Markdown; the totals row last when `totals`."""
    r = env.result
    group = csv_text if output == "csv" else str  # Markdown cells are escaped by write_markdown
    out = []
    for row in r.rows:
        out.append({**{d: group(row.group[d]) for d in r.dims}, **measure_cells(row.measures, output), "class": row.cls})
    if totals:
        label = TOTAL_LABEL if output == "csv" else "total"
        out.append({**{d: (label if i == 0 else "") for i, d in enumerate(r.dims)}, **measure_cells(r.totals, output),
                    "class": r.totals_cls})  # fmt: skip
    return out


def write_csv(records: list[dict[str, Any]], fieldnames: list[str]) -> None:
    """CSV rows; the caller has made every text cell safe (`textsafe.csv_text`) and left numbers as they are."""
    import csv

    writer = csv.DictWriter(sys.stdout, fieldnames=fieldnames, lineterminator="\n")
    writer.writeheader()
    for r in records:
        writer.writerow({k: ("" if v is None else v) for k, v in r.items()})


def write_markdown(records: list[dict[str, Any]], headers: list[str], numeric: set[str], *, note: str | None = None) -> None:
    """A GitHub-flavoured Markdown table; `numeric` columns are right-aligned. Cells arrive formatted; any
    that is not is escaped here (`textsafe.md_text`), so no value adds a column, a link or an image."""
    sys.stdout.write("| " + " | ".join(headers) + " |\n")
    sys.stdout.write("|" + "|".join("---:" if h in numeric else "---" for h in headers) + "|\n")
    for r in records:
        sys.stdout.write("| " + " | ".join("" if r.get(h) is None else md_text(r[h]) if h not in numeric else str(r[h])
                                           for h in headers) + " |\n")  # fmt: skip
    if note:
        sys.stdout.write(f"\n{md_text(note)}\n")


def emit_report(env: Any, output: str, *, totals: bool = False) -> None:
    """Print a report in `output` format; what its figures leave out goes to stderr in every format.
    CSV leaves the totals row out unless `totals` (summing a column never counts it twice)."""
    from margindash_cli.reports.run import envelope_json

    r = env.result
    if output == "json":
        print_json(envelope_json(env))
    elif output == "csv":
        write_csv(report_records(env, "csv", totals=totals), [*r.dims, *REPORT_COLUMNS])
    elif output == "markdown":
        records = report_records(env, "markdown")
        write_markdown(records, [*r.dims, *REPORT_COLUMNS], set(REPORT_COLUMNS[:-1]), note=ALLOCATION_NOTE)
    else:
        print_report_table(env)
    _print_notes(env, r.unpriced_events, r.unpriced_models, marks=" (+? marks the rows)" if output in ("table", "markdown") else "")


def _pct(value: Any) -> str:
    return pct_text(value)


def cost_cell(m: Any) -> str:
    """A cost for a table: 'unpriced' when every call is, '$1.20 +?' when some are, '<$0.01' under a cent."""
    if m.fully_unpriced:
        return "unpriced"
    return table_usd(m.cost_pico) + (PARTLY_UNPRICED if m.partly_unpriced else "")


def revenue_cell(m: Any) -> str:
    """Revenue for a table: `+?` when some of it is in another currency with no rate yet (not in the figure)."""
    return table_usd(m.revenue_cents * 10**10) + (PARTLY_UNPRICED if m.unconverted_revenue else "")


def margin_cell(m: Any) -> Any:
    """A margin for a table: '-' when the cost is unknown, red when negative, `+?` when some calls are unpriced
    or some revenue is unconverted."""
    from rich.text import Text

    if m.fully_unpriced:
        return "-"
    text = table_usd(m.margin_pico) + (PARTLY_UNPRICED if m.partly_unpriced or m.unconverted_revenue else "")
    return Text(text, style="red") if m.margin_pico < 0 else text


def pct_cell(m: Any) -> str:
    pct = m.margin_pct
    return pct_text(pct) + (PARTLY_UNPRICED if pct is not None and (m.partly_unpriced or m.unconverted_revenue) else "")


def print_report_table(env: Any) -> None:
    r = env.result
    console = stdout_console()
    if not r.rows:
        _print_empty(console, env)
        return
    cols = [(d, "left") for d in r.dims] + [
        ("events", "right"), ("input tok", "right"), ("output tok", "right"), ("cost", "right"),
        ("revenue", "right"), ("margin", "right"), ("margin %", "right"), ("class", "left"),
    ]  # fmt: skip
    body = []
    for row in r.rows:
        m = row.measures
        body.append([*(text_cell(row.group[d]) for d in r.dims), f"{m.events:,}", f"{m.input_tokens:,}", f"{m.output_tokens:,}",
                     cost_cell(m), revenue_cell(m), margin_cell(m), pct_cell(m), row.cls])  # fmt: skip
    t = r.totals
    footer = ["total", *([""] * (len(r.dims) - 1)), f"{t.events:,}", f"{t.input_tokens:,}", f"{t.output_tokens:,}",
              cost_cell(t), revenue_cell(t), _plain(margin_cell(t)), pct_cell(t), r.totals_cls]  # fmt: skip
    print_fitted(console, env.title, cols, body, footer=footer, caption=ALLOCATION_NOTE,
                 drop=("input tok", "output tok", "events", "class"))  # fmt: skip


def _print_empty(console: Any, env: Any) -> None:
    console.print(f"No usage or revenue in {env.range.label} ({env.range.tz}).", markup=False)
    console.print("hint: widen the period, or check `margindash events`", markup=False)


def _print_notes(env: Any, unpriced_events: int, unpriced_models: list[str], marks: str = "") -> None:
    """What a report's figures leave out, each with the command that fixes it: to stderr, in every format,
    so a CSV or JSON file never hides it and stdout stays the payload."""
    if unpriced_events:
        models = ", ".join(safe(m) for m in unpriced_models[:5]) + (" ..." if len(unpriced_models) > 5 else "")
        warn(f"unpriced: {unpriced_events:,} call(s) have no price ({models}); their cost is not in these figures{marks}.")
        print("hint: margindash prices unpriced", file=sys.stderr)
    for provider, pdays in (getattr(env, "provisional_costs", None) or {}).items():
        span = pdays[0] if len(pdays) == 1 else f"{pdays[0]} to {pdays[-1]}"
        warn(f"provisional: {provider} on {len(pdays)} day(s) ({span}) has no bill synced: its cost is ours, not the bill's.")
    if getattr(env, "provisional_costs", None):
        print("hint: margindash sync-costs (or margindash costs import FILE), then margindash reconcile", file=sys.stderr)
    basis = getattr(env, "cost_basis", None)  # #18: a report on the bill's cost says which days are provisional
    if basis is not None:
        days = sum(basis.reconciled_days.values())
        print(f"cost basis: reconciled with the providers' bills on {days} provider day(s); billed spend no logged call"
              f" explains is in the (untracked) row ({display_money(Decimal(basis.untracked_usd))}).", file=sys.stderr)  # fmt: skip
        for provider, pdays in basis.provisional_days.items():
            span = pdays[0] if len(pdays) == 1 else f"{pdays[0]} to {pdays[-1]}"
            print(f"provisional: {safe(provider)} on {len(pdays)} day(s) ({span}) has no bill synced: computed cost.", file=sys.stderr)
    if env.unconverted_revenue:
        parts = ", ".join(f"{amount:,} {safe(cur.upper())} (minor units)" for cur, amount in sorted(env.unconverted_revenue.items()))
        warn(f"unconverted revenue not in these figures: {parts}{' (+? marks the rows)' if marks else ''}.")
        print("hint: margindash fx import FILE.csv", file=sys.stderr)


def display_money(amount: Any) -> str:
    """A Decimal USD amount for a table (see money.table_usd): cents, `<$0.01` under a cent."""
    from margindash_cli.core.money import usd_to_pico

    return table_usd(usd_to_pico(amount))


def _red_if_negative(text: str, value: Any) -> Any:
    from rich.text import Text

    return Text(text, style="red") if value is not None and value < 0 else text


SPARK = "▁▂▃▄▅▆▇█"  # sparkline levels, lowest to highest


def spark_scale(series: list[list[Any]]) -> tuple[Any, Any] | None:
    """The one (low, high) scale of every sparkline of a table: the min and max of all their values."""
    present = [v for values in series for v in values if v is not None]
    if not present:
        return None
    return min(present), max(present)


def spark_level(value: Any, scale: tuple[Any, Any]) -> int:
    lo, hi = scale
    if hi == lo:
        return len(SPARK) // 2
    return int((value - lo) * (len(SPARK) - 1) / (hi - lo) + Decimal("0.5"))


def sparkline(values: list[Any], scale: tuple[Any, Any] | None = None) -> str:
    """The shape of a series on `scale` (default: its own min to max); `·` where a value is missing.

    A table passes one scale for all its rows (`spark_scale`), so 99.8% -> 99.6% draws flat next to
    33% -> -42%, and says the scale and where zero falls in its caption (`spark_caption`)."""
    scale = scale or spark_scale([values])
    return "".join("·" if v is None else SPARK[spark_level(v, scale)] for v in values)


def spark_caption(scale: tuple[Any, Any] | None) -> str:
    """'sparkline scale: -42.4% (▁) to 99.8% (█), 0% = ▂' (the zero line, when the scale spans it)."""
    if scale is None:
        return "sparkline: no period has revenue"
    lo, hi = scale
    text = f"sparkline scale for every row: {lo:.1f}% ({SPARK[0]}) to {hi:.1f}% ({SPARK[-1] if hi != lo else SPARK[len(SPARK) // 2]})"
    if lo < 0 < hi:
        text += f", 0% = {SPARK[spark_level(Decimal(0), scale)]}"
    return text


# ---- report trend --------------------------------------------------------------------------------

TREND_CSV_COLUMNS = ("period", "partial", "events", "input_tokens", "output_tokens", "cost_usd", "revenue_usd", "margin_usd",
                     "margin_pct", "unpriced_events", "unconverted_revenue_days")  # fmt: skip


def trend_records(env: Any, output: str, *, totals: bool = True) -> list[dict[str, Any]]:
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
            out.append({dim: name, "period": p.isoformat(), "partial": "yes" if part else "", **measure_cells(m, output)})
    return out


def emit_time_chart(env: Any) -> None:
    """`report --by day|week|month --chart`: revenue and cost bars, then margin % around a zero line, as plain text."""
    from margindash_cli.cli.render import textchart

    dim = env.result.dims[0]
    points = [
        textchart.Point(str(r.group[dim]), r.measures.revenue_usd, r.measures.cost_usd, r.measures.margin_pct,
                        unpriced=bool(r.measures.unpriced_events))  # fmt: skip
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


def emit_trend(env: Any, output: str, *, totals: bool = False) -> None:
    from margindash_cli.reports.run import trend_json

    r = env.result
    headers = [r.dim, *TREND_CSV_COLUMNS]
    if output == "json":
        print_json(trend_json(env))
    elif output == "csv":
        write_csv(trend_records(env, "csv", totals=totals), headers)
    elif output == "markdown":
        write_markdown(trend_records(env, "markdown"), headers, set(TREND_CSV_COLUMNS[2:]), note=ALLOCATION_NOTE)
    else:
        print_trend_table(env)
    _print_notes(env, r.unpriced_events, r.unpriced_models, marks=" (+? marks the rows)" if output in ("table", "markdown") else "")


def _for_people(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Markdown is for people: JSON's exact money strings as '$1,646.25', percentages as '-10.0%'."""
    from margindash_cli.core.money import usd_to_pico

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


def _first_last(row: Any, periods: list[Any]) -> tuple[str, str, Any]:
    c = row.change
    if c is None:
        return "-", "-", "-"
    index = {p: i for i, p in enumerate(periods)}
    first, last = row.points[index[c.first]].margin_pct, row.points[index[c.last]].margin_pct
    pts = "-" if c.margin_pct_points is None else f"{c.margin_pct_points:+.1f} pts"
    return _pct(first), _pct(last), _red_if_negative(pts, c.margin_pct_points)


def print_trend_table(env: Any) -> None:
    r = env.result
    console = stdout_console()
    if not r.rows:
        _print_empty(console, env)
        return
    cols = [(r.dim, "left"), ("cost", "right"), ("revenue", "right"), ("margin", "right"), ("margin %", "right"), ("first %", "right"), ("last %", "right"), ("change", "right"),
            (f"margin % per {r.granularity}", "left")]  # fmt: skip
    scale = spark_scale([[p.margin_pct for p in row.points] for row in [*r.rows, r.totals]])

    def cells(row: Any) -> list[Any]:
        m = row.total
        first, last, change = _first_last(row, r.periods)
        return [cost_cell(m), revenue_cell(m), margin_cell(m), pct_cell(m), first, last, change,
                sparkline([p.margin_pct for p in row.points], scale)]  # fmt: skip

    body = [[text_cell(row.group[r.dim]), *cells(row)] for row in r.rows]
    footer = ["total", *(c if isinstance(c, str) else c.plain for c in cells(r.totals))]
    span = f"{r.periods[0].isoformat()} .. {r.periods[-1].isoformat()}" if r.periods else ""
    partial = [p.isoformat() for p, part in zip(r.periods, r.partial) if part]
    notes = [f"{len(r.periods)} period(s), {span}", "first/last/change: each group's first and last full period with activity"]
    if partial:
        notes.append(f"partial period(s), not used for first/last: {', '.join(partial)}")
    notes += [spark_caption(scale), ALLOCATION_NOTE]
    print_fitted(console, env.title, cols, body, footer=footer, caption="; ".join(notes),
                 drop=(cols[-1][0], "first %", "last %", "cost", "revenue"))  # fmt: skip


# ---- report cohorts ------------------------------------------------------------------------------

COHORT_CSV_COLUMNS = ("cohort", "customers", "index", "period", "active_customers", "events", "input_tokens", "output_tokens",
                      "cost_usd", "revenue_usd", "margin_usd", "margin_pct")  # fmt: skip


def cohort_records(env: Any) -> list[dict[str, Any]]:
    from margindash_cli.reports.run import cohorts_json

    data = cohorts_json(env)
    out = []
    for c in data["cohorts"]:
        for cell in c["periods"]:
            out.append({"cohort": c["cohort"], "customers": c["customers"], **{k: cell[k] for k in COHORT_CSV_COLUMNS[2:]}})
    for cell in data["totals"]["periods"]:
        out.append({"cohort": "total", "customers": None, "period": None, **{k: cell[k] for k in COHORT_CSV_COLUMNS[2:] if k != "period"}})
    return out


def emit_cohorts(env: Any, output: str) -> None:
    from margindash_cli.reports.run import cohorts_json

    r = env.result
    if output == "json":
        print_json(cohorts_json(env))
    elif output == "csv":
        write_csv(cohort_records(env), list(COHORT_CSV_COLUMNS))
    elif output == "markdown":
        write_markdown(_for_people(cohort_records(env)), list(COHORT_CSV_COLUMNS), set(COHORT_CSV_COLUMNS[1:]) - {"period"})
    else:
        print_cohorts_table(env)
    _print_notes(env, r.unpriced_events, r.unpriced_models)


def _cohort_label(start: Any, granularity: str) -> str:
    return start.strftime("%Y-%m") if granularity == "month" else start.isoformat()


def print_cohorts_table(env: Any) -> None:
    r = env.result
    console = stdout_console()
    if not r.cohorts:
        _print_empty(console, env)
        return
    prefix = "m" if r.granularity == "month" else "w"
    indexes = [c.index for c in r.totals]
    cols = [("cohort", "left"), ("customers", "right"), ("margin", "right"), *((f"{prefix}{i}", "right") for i in indexes)]
    body = []
    for row in r.cohorts:
        by_index = {c.index: c for c in row.cells}
        pcts = [by_index[i].measures.margin_pct if i in by_index else None for i in indexes]
        body.append([_cohort_label(row.start, r.granularity), f"{row.customers:,}",
                     _red_if_negative(display_money(row.total.margin_usd), row.total.margin_usd),
                     *(_red_if_negative(_pct(p), p) if i in by_index else "" for i, p in zip(indexes, pcts))])  # fmt: skip
    overall = sum((row.total.margin_pico for row in r.cohorts), 0)
    footer = ["all", f"{sum(row.customers for row in r.cohorts):,}", display_usd(overall, pico=True),
              *(_pct(c.measures.margin_pct) for c in r.totals)]  # fmt: skip
    unit = "month" if r.granularity == "month" else "week"
    caption = f"margin % per {unit} since the first call ({prefix}1 = the {unit} of the first call); - = no revenue"
    print_fitted(console, env.title, cols, body, footer=footer, caption=caption, drop=("margin", "customers"))
    u = r.unattributed
    if u.events:
        console.print(f"not in a cohort: {u.events:,} unattributed call(s), cost {display_money(u.cost_usd)}. hint: pass"
                      " customer_id in your logs", markup=False)  # fmt: skip
    if r.revenue_without_usage_cents:
        console.print(f"not in a cohort: {display_money(Decimal(r.revenue_without_usage_cents).scaleb(-2))} revenue of"
                      " customers with no calls", markup=False)  # fmt: skip
    if r.revenue_before_first_call_cents:
        console.print(f"not in a cohort: {display_money(Decimal(r.revenue_before_first_call_cents).scaleb(-2))} revenue"
                      f" dated before a customer's first {unit}", markup=False)  # fmt: skip


# ---- report concentration ------------------------------------------------------------------------

CONCENTRATION_CSV_COLUMNS = ("rank", "customer", "top_pct", "events", "cost_usd", "cost_share_pct", "cumulative_cost_share_pct",
                             "revenue_usd", "margin_usd", "margin_pct", "class")  # fmt: skip


def concentration_records(env: Any) -> list[dict[str, Any]]:
    """Every customer ranked by cost, with the smallest tier it belongs to (blank when in none)."""
    from margindash_cli.reports.run import concentration_json

    data = concentration_json(env)
    tier_of: dict[str, int] = {}
    for t in sorted(data["tiers"], key=lambda t: -t["top_pct"]):
        for c in t["customers"]:
            tier_of[c] = t["top_pct"]
    return [{**{k: c[k] for k in CONCENTRATION_CSV_COLUMNS if k in c}, "top_pct": tier_of.get(c["customer"])} for c in data["customers"]]


def emit_concentration(env: Any, output: str) -> None:
    from margindash_cli.reports.run import concentration_json

    r = env.result
    if output == "json":
        print_json(concentration_json(env))
    elif output == "csv":
        write_csv([{**rec, "customer": csv_text(rec["customer"])} for rec in concentration_records(env)], list(CONCENTRATION_CSV_COLUMNS))
    elif output == "markdown":
        write_markdown(_for_people(concentration_records(env)), list(CONCENTRATION_CSV_COLUMNS),
                       set(CONCENTRATION_CSV_COLUMNS) - {"customer", "class"})  # fmt: skip
    else:
        print_concentration_table(env)
    _print_notes(env, r.unpriced_events, r.unpriced_models)


def print_concentration_table(env: Any) -> None:
    r = env.result
    console = stdout_console()
    if not r.customers and not r.unattributed.events:
        _print_empty(console, env)
        return

    def line(label: str, count: str, m: Any, share: Any, losing: str) -> list[Any]:
        return [label, count, display_money(m.cost_usd), _share(share), display_money(m.revenue_usd),
                _red_if_negative(display_money(m.margin_usd), m.margin_usd), _pct(m.margin_pct), losing]  # fmt: skip

    cols = [("customers", "left"), ("count", "right"), ("cost", "right"), ("share of cost", "right"), ("revenue", "right"),
            ("margin", "right"), ("margin %", "right"), ("negative margin", "left")]  # fmt: skip
    body = [line(f"top {t.top_pct}%", f"{len(t.customers):,}", t.measures, t.cost_share_pct, _names(t.negative_margin)) for t in r.tiers]
    largest = max((len(t.customers) for t in r.tiers), default=0)
    body.append(line("the rest", f"{len(r.customers) - largest:,}", r.rest, r.rest_cost_share_pct, ""))
    if r.unattributed.events or r.unattributed.revenue_cents:
        body.append(line("(unattributed)", "", r.unattributed, r.unattributed_cost_share_pct, ""))
    t = r.totals
    footer = ["total", f"{len(r.customers):,}", display_money(t.cost_usd), _share(Decimal(100) if t.cost_pico else None),
              display_money(t.revenue_usd), display_money(t.margin_usd), _pct(t.margin_pct), ""]  # fmt: skip
    print_fitted(console, env.title, cols, body, footer=footer, caption="top N%: the first ceil(N% of customers) by cost",
                 drop=("revenue", "count"))  # fmt: skip
    widest = max(r.tiers, key=lambda t: len(t.customers), default=None)
    if widest is not None and widest.customers:
        ranked = r.customers[: len(widest.customers)]
        rows = [[str(c.rank), c.customer, display_money(c.measures.cost_usd), _share(c.cost_share_pct), _share(c.cumulative_cost_share_pct),
                 display_money(c.measures.revenue_usd), _red_if_negative(display_money(c.measures.margin_usd), c.measures.margin_usd),
                 _pct(c.measures.margin_pct), c.cls] for c in ranked]  # fmt: skip
        cols2 = [("#", "right"), ("customer", "left"), ("cost", "right"), ("share", "right"), ("cumulative", "right"),
                 ("revenue", "right"), ("margin", "right"), ("margin %", "right"), ("class", "left")]  # fmt: skip
        print_fitted(console, f"Top {widest.top_pct}% of customers by cost", cols2, rows, drop=("cumulative", "revenue", "class"))


def _share(value: Any) -> str:
    return "-" if value is None else f"{value:.1f}%"


def _names(names: list[str], limit: int = 5) -> str:
    if not names:
        return "none"
    return ", ".join(names[:limit]) + (f" (+{len(names) - limit} more)" if len(names) > limit else "")


# ---- prices --------------------------------------------------------------------------------------


def _rate(value: Any) -> str:
    return "-" if value is None else format(value, "f")


def print_price_list(versions: list[Any]) -> None:
    console = stdout_console()
    if not versions:
        console.print("No prices match.", markup=False)
        return
    cols = [("provider", "left"), ("model", "left"), ("input", "right"), ("output", "right"), ("cache read", "right"),
            ("cache write", "right"), ("long ctx", "left"), ("source", "left"), ("since", "left")]  # fmt: skip
    body = [
        [v.provider, v.model, _rate(v.base.input), _rate(v.base.output), _rate(v.base.cache_read), _rate(v.base.cache_write_5m),
         ", ".join(f">{t.threshold:,}" for t in v.tiers) or "-", v.source,
         v.effective_from.date().isoformat() if v.effective_from else "-"]
        for v in versions
    ]  # fmt: skip
    # Provider and model are never cut: at 80 columns the lesser columns go first, and a caption says which.
    print_fitted(console, f"{len(versions):,} price(s), USD per million tokens", cols, body,
                 drop=("since", "long ctx", "source", "cache write", "cache read"), every="--json")  # fmt: skip


def _since(effective_from: str | None) -> str:
    """'-' (since the beginning), '2025-06-10' (a date), or '2026-11-23 13:00' (a sync's moment, UTC)."""
    if not effective_from:
        return "-"
    day, _, time = effective_from.partition("T")
    return day if not time or time.startswith("00:00:00") else f"{day} {time[:5]}"


def print_price_show(info: dict[str, Any]) -> None:
    console = stdout_console()
    if info["resolved"] is None:
        console.print(f"{info['query']}: no price (unpriced). hint: margindash prices set PROVIDER/MODEL --input X --output Y", markup=False)
        return
    r = info["resolved"]
    console.print(f"{info['query']} -> {r['provider']}/{r['model']} ({r['how']} match)", markup=False)
    cols = [("since", "left"), ("source", "left"), ("input", "right"), ("output", "right"), ("cache read", "right"),
            ("cache write 5m", "right"), ("cache write 1h", "right"), ("tiers", "left"), ("service tiers, windows, media", "left")]  # fmt: skip
    body = []
    for v in info["versions"]:
        base = v.get("base", {})
        tiers = ", ".join(f">{t['threshold']:,}: {t['rates'].get('input', '-')}/{t['rates'].get('output', '-')}" for t in v.get("tiers", []))
        services = ", ".join(f"{s}: {v[s].get('input', '-')}/{v[s].get('output', '-')}" for s in ("batch", "flex", "priority") if s in v)
        # daily UTC windows (off-peak prices) and audio/image rates go with the service tiers: rarely set
        extras = [f"{w['start']}-{w['end']} UTC: {w['rates'].get('input', '-')}/{w['rates'].get('output', '-')}" for w in v.get("windows", [])]
        extras += [f"{k.replace('_', ' ')} {base[k]}" for k in ("input_audio", "output_audio", "output_image", "cache_read_audio")
                   if k in base]  # fmt: skip
        services = ", ".join(x for x in [services, *extras] if x)
        body.append([_since(v.get("effective_from")), v["source"], base.get("input", "-"), base.get("output", "-"),
                     base.get("cache_read", "-"), base.get("cache_write_5m", "-"), base.get("cache_write_1h", "-"),
                     tiers or "-", services or "-"])  # fmt: skip
    console.print(table("price versions, USD per million tokens", cols, body))
    _print_benchmarks(console, info.get("benchmarks"))


def _print_benchmarks(console: Any, bench: dict[str, Any] | None) -> None:
    """The model's benchmark scores under its prices: score, who evaluated it, source, what was not taken."""
    if not bench:
        console.print("benchmarks: no benchmark data for this model", markup=False)
        return
    labels = {"mmlu_pro": "MMLU-Pro", "gpqa_diamond": "GPQA Diamond"}
    body = [[labels.get(s["benchmark"], s["benchmark"]), f"{s['score']:g}", s["evaluator"], s["method"] or "-",
             f"{s['source']} ({s['licence']}); as {s['evaluated_model']}; citing {s['primary_source'] or '-'}",
             s["alternatives"] or "-"]
            for s in bench["scores"]]  # fmt: skip
    cols = [("benchmark", "left"), ("score", "right"), ("evaluated by", "left"), ("method", "left"), ("source", "left"),
            ("other sources (not taken)", "left")]  # fmt: skip
    console.print(table(f"benchmark scores (of {bench['scores_of']})", cols, body))


def print_unpriced(records: list[dict[str, Any]]) -> None:
    console = stdout_console()
    if not records:
        console.print("Every stored call has a price.", markup=False)
        return
    cols = [("vendor", "left"), ("model", "left"), ("calls", "right"), ("input tokens", "right"), ("output tokens", "right")]
    body = [[r["vendor"], r["model"], f"{r['events']:,}", f"{r['input_tokens']:,}", f"{r['output_tokens']:,}"] for r in records]
    console.print(table("models with no price (their cost is not in any report)", cols, body))
    console.print("hint: margindash prices set PROVIDER/MODEL --input X --output Y, or margindash prices alias NAME PROVIDER/MODEL", markup=False)


DISAGREEMENT_SOURCES = ("override", "genai-prices", "litellm", "openrouter")  # the sources a disagreement row can quote


def print_disagreements(rows: list[dict[str, Any]]) -> None:
    console = stdout_console()
    if not rows:
        console.print("The shipped sources agree within 1% on every model they share.", markup=False)
        return
    cols = [("provider", "left"), ("model", "left"), ("kind", "left"), ("differs on", "left"), ("winner", "left"),
            ("prices (input/output)", "left"), ("why", "left")]  # fmt: skip
    body = [
        [r.get("provider", ""), r.get("model", ""), r.get("kind", ""), ", ".join(r.get("fields", [])), r.get("winner", ""),
         "; ".join(f"{s} {r[s].get('input', '-')}/{r[s].get('output', '-')}" for s in DISAGREEMENT_SOURCES if isinstance(r.get(s), dict)),
         r.get("why", "") + (f" (matched by {r['match']})" if r.get("match") else "")]
        for r in rows
    ]  # fmt: skip
    console.print(table(f"{len(rows)} price disagreement(s) between sources, USD per million tokens", cols, body))


def print_drift(result: dict[str, Any], *, show_all: bool = False) -> None:
    console = stdout_console()
    rows = result["models"] if show_all else [r for r in result["models"] if r["drifting"]]
    if not result["models"]:
        console.print("No stored call carries a reported cost (OpenRouter usage.cost, xAI cost_in_usd_ticks, LiteLLM spend...).", markup=False)
        return
    if not rows:
        console.print(f"Computed and reported costs agree within {result['threshold_pct']}% for all {len(result['models'])} model(s).", markup=False)
        return
    cols = [("vendor", "left"), ("model", "left"), ("calls", "right"), ("computed", "right"), ("reported", "right"),
            ("difference", "right"), ("%", "right"), ("unpriced", "right"), ("worst call", "left")]  # fmt: skip
    def usd(text: str) -> str:
        return "-$" + text[1:] if text.startswith("-") else "$" + text

    body = [[r["vendor"], r["model"], f"{r['calls']:,}", usd(r["computed_usd"]), usd(r["reported_usd"]), usd(r["difference_usd"]),
             "-" if r["difference_pct"] is None else r["difference_pct"], f"{r['unpriced_calls']:,}",
             "" if not r["worst_call"] else f"{r['worst_call']['file']}:{r['worst_call']['line']} ({r['worst_call']['difference_pct']}%)"]
            for r in rows]  # fmt: skip
    title = f"{result['drifting']} model(s) whose computed cost differs from the reported one by more than {result['threshold_pct']}%"
    console.print(table(title, cols, body))


def print_sync(result: dict[str, Any]) -> None:
    console = stdout_console()
    for s in result["sources"]:
        console.print(f"{s['source']}: {s['status']} ({s['prices_read']:,} prices read, {s['versions_added']:,} new version(s))", markup=False)
    console.print(f"{result['versions_added']:,} new price version(s); {result['newly_priced_events']:,} unpriced call(s) now priced.", markup=False)


def reprice_json(r: Any) -> dict[str, Any]:
    from margindash_cli.core.money import usd_text

    return {
        "dry_run": r.dry_run,
        "events_seen": r.events_seen,
        "events_changed": r.events_changed,
        "newly_priced": r.newly_priced,
        "newly_unpriced": r.newly_unpriced,
        "old_total_usd": usd_text(r.old_total_pico),
        "new_total_usd": usd_text(r.new_total_pico),
        "delta_usd": usd_text(r.new_total_pico - r.old_total_pico),
    }


def print_reprice(p: dict[str, Any]) -> None:
    verb = "would change" if p["dry_run"] else "changed"
    stdout_console().print(
        f"{p['events_seen']:,} call(s) checked; {p['events_changed']:,} {verb} "
        f"({p['newly_priced']:,} newly priced): ${p['old_total_usd']} -> ${p['new_total_usd']} (delta ${p['delta_usd']}).",
        markup=False,
    )


def print_explain(info: dict[str, Any]) -> None:
    console = stdout_console()
    matched = info["matched"]
    lines = [
        f"call {info['request_id']}" + (f" (response {info['response_id']})" if info.get("response_id") else "")
        + f": {info['vendor']}/{info['model']}, service tier {info['service_tier']}",
        "matched: " + (f"{matched['provider']}/{matched['model']} ({matched['how']})" if matched else "nothing (unpriced)"),
    ]
    pv = info["price_version"]
    if pv:
        lines.append(f"price version #{pv['id']} from {pv['source']}, in force since {pv['effective_from'] or 'the beginning'}")
        if pv.get("time_window"):
            lines.append(f"time-of-day price: {pv['time_window']} (the call's UTC time is inside it)")
    if info.get("long_context_tier"):
        lines.append(f"long-context tier: {info['long_context_tier']} (applies to every class of this call)")
    if info.get("service_rates") and info["service_rates"] != "standard":
        lines.append(f"service-tier rates: {info['service_rates']}")
    for line in lines:
        console.print(line, markup=False)
    if info["classes"]:
        tokens = info["tokens"]
        counts = {
            "uncached_input": tokens["input_tokens"] - tokens["cached_input_tokens"] - tokens["cache_write_tokens"],
            "cache_read": tokens["cached_input_tokens"],
            "cache_write_5m": tokens["cache_write_tokens"] - tokens["cache_write_1h_tokens"],
            "cache_write_1h": tokens["cache_write_1h_tokens"],
            "output": tokens["output_tokens"] - tokens["reasoning_tokens"],
            "reasoning": tokens["reasoning_tokens"],
        }
        from margindash_cli.core.money import usd_to_pico

        media = ("input_audio", "output_audio", "output_image", "cache_read_audio")  # shown only when the call has such tokens
        classes = [(cls, c) for cls, c in info["classes"].items() if cls not in media or c.get("tokens")]
        picos = [usd_to_pico(c["cost_usd"] or "0") for _, c in classes]
        decimals = column_decimals(picos)  # one precision for the column: $0.000035 next to $0.001102, never $0
        body = [[cls, f"{c['tokens']:,}" if "tokens" in c else (f"{counts[cls]:,}" if cls in counts else "-"),
                 c["usd_per_mtok"] or "-", column_usd(p, decimals)] for (cls, c), p in zip(classes, picos)]  # fmt: skip
        console.print(table(None, [("class", "left"), ("tokens", "right"), ("USD/MTok", "right"), ("cost", "right")], body))
    console.print(f"cost: {'$' + info['cost_usd'] if info['cost_usd'] is not None else 'unpriced'} ({info['basis']})", markup=False)
    if info["stale"]:
        console.print(f"stored cost {info['stored_cost_usd']} differs from today's pricing: run `margindash reprice`", markup=False)


# ---- budgets -------------------------------------------------------------------------------------

LEVEL_STYLES = {"ok": "green", "warning": "yellow", "critical": "red", "exceeded": "bold red"}  # budget level colours


def emit_budget_saved(budget: Any, created: bool, as_json: bool) -> None:
    from margindash_cli.budgets.compute import budget_json

    if as_json:
        print_json({**budget_json(budget), "created": created})
        return
    b = budget
    to = f"; alerts to {', '.join(b.emails)}" if b.emails else ""
    print(safe_lines(f"{'Created' if created else 'Updated'} budget {b.name}: {b.scope_text}, {display_usd(b.limit_usd)} per {b.period} "
          f"({b.tz}), warning at {b.warn_pct}%, critical at {b.critical_pct}%{to}."))


def _budget_rows(statuses: list[Any], alerts: dict[str, str] | None = None) -> list[list[Any]]:
    from rich.text import Text

    from margindash_cli.budgets.compute import pct_text

    rows = []
    for s in statuses:
        b = s.budget
        spend = display_usd(s.spend.cost_pico, pico=True)
        if s.spend.unpriced_events:
            spend += f" (+{s.spend.unpriced_events:,} unpriced)"
        projected = "-" if s.projected_pico is None else f"{display_usd(s.projected_pico, pico=True)} ({pct_text(s.projected_pct)})"
        period = s.period.label.split(" (")[0]  # 2026-W42, not its dates: the column stays narrow
        row = [b.name, b.scope_text, period + ("" if b.tz == "UTC" else f" {b.tz}"), spend, display_usd(b.limit_usd),
               pct_text(s.pct_used), Text(s.level, style=LEVEL_STYLES[s.level]), projected]  # fmt: skip
        if alerts is not None:
            row.append(alerts.get(b.name, ""))
        rows.append(row)
    return rows


BUDGET_COLUMNS = [("budget", "left"), ("scope", "left"), ("period", "left"), ("spend", "right"), ("limit", "right"),
                  ("used", "right"), ("level", "left"), ("projected", "right")]  # fmt: skip


BUDGET_OPTIONAL_COLUMNS = ("projected", "period", "scope", "alerts")  # left out in this order on a narrow terminal


def _print_budget_table(console: Any, title: str, columns: list[tuple[str, str]], rows: list[list[Any]]) -> None:
    """A budget table whose cells never wrap: optional columns are left out (and named) until it fits."""
    from rich.measure import Measurement
    from rich.table import Table

    keep = list(range(len(columns)))
    hidden: list[str] = []
    headers = [h for h, _ in columns]
    for name in (None, *BUDGET_OPTIONAL_COLUMNS):
        if name is not None and name in headers:
            keep.remove(headers.index(name))
            hidden.append(name)
        caption = f"hidden to fit the terminal: {', '.join(hidden)} (--json has every field)" if hidden else None
        t = Table(title=text_cell(title), caption=text_cell(caption), header_style="bold")
        for i in keep:
            t.add_column(columns[i][0], justify=columns[i][1], no_wrap=True)
        for row in rows:
            t.add_row(*(text_cell(row[i]) for i in keep))
        if Measurement.get(console, console.options.update_width(10**6), t).maximum <= console.width:
            break
    console.print(t)


def emit_budget_list(statuses: list[Any], now: Any, as_json: bool) -> None:
    from margindash_cli.budgets.run import list_json

    if as_json:
        print_json(list_json(statuses, now))
        return
    if not statuses:
        print("no budgets yet; add one: margindash budget set NAME --scope org --limit-usd 1000 --period month", file=sys.stderr)
        return
    console = stdout_console()
    _print_budget_table(console, "Budgets", BUDGET_COLUMNS, _budget_rows(statuses))
    _budget_notes(console, statuses)


def _budget_notes(console: Any, statuses: list[Any]) -> None:
    unpriced = sum(s.spend.unpriced_events for s in statuses)
    if unpriced:
        console.print("unpriced calls may hide spend: they are not in the figures. hint: margindash prices unpriced", markup=False)


def emit_budget_check(result: Any, as_json: bool) -> None:
    from margindash_cli.budgets.run import check_json

    for a in result.alerts:
        if a.note:
            print(safe_lines(f"warning: {a.channel} alert for budget {a.budget}: {a.note}"), file=sys.stderr)
    for message in result.errors:
        print(f"error: {safe_lines(message)}", file=sys.stderr)
    if as_json:
        print_json(check_json(result))
        return
    if not result.statuses:
        print("no budgets to check; add one: margindash budget set NAME --scope org --limit-usd 1000 --period month", file=sys.stderr)
        return
    alerts: dict[str, str] = {}
    for a in result.alerts:
        text = f"{a.channel} {a.status.replace('_', ' ')}"
        alerts[a.budget] = f"{alerts[a.budget]}, {text}" if a.budget in alerts else text
    console = stdout_console()
    _print_budget_table(console, "Budget check", [*BUDGET_COLUMNS, ("alerts", "left")], _budget_rows(result.statuses, alerts))
    _budget_notes(console, result.statuses)
    if result.blocklist_path is not None:
        console.print(f"blocklist: {result.blocked} blocked, written to {result.blocklist_path}", markup=False)


# ---- stripe (sync-stripe, customers list, fx import) ---------------------------------------------


def _revenue_parts(revenue: dict[str, dict[str, str]]) -> str:
    parts = []
    for cur, r in sorted(revenue.items()):
        if cur == "usd":
            parts.append(f"{r['amount']} USD")
            continue
        text = f"{r['amount']} {cur.upper()}"
        notes = []
        if Decimal(r["usd"]):
            notes.append(f"{r['usd']} USD converted")
        if Decimal(r["unconverted"]):
            notes.append(f"{r['unconverted']} {cur.upper()} unconverted")
        parts.append(text + (f" ({'; '.join(notes)})" if notes else ""))
    return ", ".join(parts) or "none"


def print_stripe_sync(result: Any) -> None:
    """The summary of a sync-stripe run (StripeSyncResult)."""
    console = stdout_console()
    n = result.listed
    window = f"created since {result.window_since}" if result.window_since else "everything"
    console.print(f"Stripe ({window}): listed invoices {n['invoices']}, credit notes {n['credit_notes']}, refunds {n['refunds']},"
                  f" customers {n['customers']}; {result.requests} requests, {result.retries} retried.", markup=False)  # fmt: skip
    console.print(f"Revenue changed for {result.refs_changed} Stripe object(s); invoices counted: {result.invoices_counted}.", markup=False)
    console.print(f"Stripe revenue stored: {_revenue_parts(result.revenue)}.", markup=False)
    if any(Decimal(r["unconverted"]) for r in result.revenue.values()):
        console.print("hint: margindash fx import FILE.csv converts the rest (reports list it separately until then)", markup=False)
    if result.unmapped_customers:
        shown = ", ".join(result.unmapped_customers[:5]) + (" ..." if len(result.unmapped_customers) > 5 else "")
        console.print(f"unmapped: {len(result.unmapped_customers)} Stripe customer(s) have no customer id in their metadata: {shown}",
                      markup=False)  # fmt: skip
        console.print("hint: margindash customers map cus_... CUSTOMER_ID, or set the metadata key (--customer-key)", markup=False)


def print_customers(result: Any, unmatched: bool) -> None:
    """`customers list` (CustomersResult): every Stripe customer, or only the unmatched ones."""
    console = stdout_console()
    if not unmatched:
        if not result.customers:
            console.print("No Stripe customers yet. hint: margindash sync-stripe", markup=False)
            return
        rows = [[c["stripe_customer"], c["customer_id"], c["mapped_by"], c["segment"] or "", c["plan"] or "",
                 display_usd(Decimal(c["stripe_revenue_usd"])), f"{c['events']:,}"] for c in result.customers]  # fmt: skip
        cols = [("stripe customer", "left"), ("customer id", "left"), ("mapped by", "left"), ("segment", "left"),
                ("plan", "left"), ("stripe revenue", "right"), ("events", "right")]  # fmt: skip
        print_fitted(console, "Stripe customers", cols, rows, drop=("plan", "segment"))
        return
    rows = [[c["stripe_customer"], c["customer_id"], display_usd(Decimal(c["stripe_revenue_usd"]))] for c in result.stripe_without_usage]
    if rows:
        console.print(table("Stripe customers with revenue and no usage", [("stripe customer", "left"), ("customer id", "left"),
                                                                              ("stripe revenue", "right")], rows))  # fmt: skip
    else:
        console.print("Every Stripe customer with revenue has usage.", markup=False)
    rows = [[c["customer_id"], f"{c['events']:,}"] for c in result.usage_without_revenue]
    if rows:
        console.print(table("Usage customers with no revenue", [("customer id", "left"), ("events", "right")], rows))
    else:
        console.print("Every customer with usage has revenue.", markup=False)
    if result.stripe_without_usage or result.usage_without_revenue:
        console.print("hint: margindash customers map cus_... CUSTOMER_ID joins a Stripe customer to your id", markup=False)


def print_fx_import(result: Any) -> None:
    console = stdout_console()
    console.print(f"Imported {result.rates} rate(s) for {', '.join(c.upper() for c in result.currencies)} from {result.first_day}"
                  f" to {result.last_day}; converted {result.revenue_rows_converted} imported revenue row(s) and"
                  f" {result.stripe_refs_changed} Stripe object(s).", markup=False)  # fmt: skip
    if result.unconverted:
        parts = ", ".join(f"{amount:,} {cur.upper()} (minor units)" for cur, amount in sorted(result.unconverted.items()))
        console.print(f"still unconverted (no rate within 7 days): {parts}", markup=False)


# ---- simulate ------------------------------------------------------------------------------------


def _score_cell(value: Any, delta: Any = None) -> str:
    if value is None:
        return "-"
    text = format(value.normalize(), "f") if isinstance(value, Decimal) else str(value)
    if delta is not None:
        text += f" ({'+' if delta >= 0 else ''}{format(delta.normalize(), 'f')})"
    return text


def print_simulation(env: Any) -> None:
    """The simulate table (current state of each feature, then its best candidates), then the
    recommendations, what was not ranked, and the assumptions the numbers rest on."""
    from margindash_cli.pricing.benchmarks import BENCHMARK_LABELS
    from margindash_cli.simulate.compute import CANNOT_PRICE, NO_DATA, RANKED, TIER_LABELS
    from margindash_cli.simulate.run import assumptions

    r = env.result
    console = stdout_console()
    if not r.features:
        console.print(f"No calls in {env.range.label} (UTC).", markup=False)
        console.print("hint: widen the period, or check `margindash events`", markup=False)
        return
    chosen = r.benchmark
    bench_cols = [("mmlu_pro", "MMLU-Pro"), ("gpqa_diamond", "GPQA")]
    cols = [("feature", "left"), ("events", "right"), ("cost", "right"), ("candidate", "left"), ("simulated cost", "right"),
            ("savings", "right"), ("savings %", "right"), *((label, "right") for _, label in bench_cols),
            ("score/$", "right"), ("tier", "left")]  # fmt: skip
    body: list[list[Any]] = []
    notes: list[str] = []
    explicit = env.query.candidates is not None
    top = env.query.top
    for f in r.features:
        u = f.usage
        if body:
            body.append([""] * len(cols))
        total = sum(m.events for m in u.current) or 1
        now = ", ".join(f"{m.model} {m.events * 100 / total:.0f}%" if len(u.current) > 1 else m.model for m in u.current)
        best_now = f.current_scores.get(chosen)
        cost_now = display_usd(u.baseline_pico, pico=True)
        body.append([u.feature, f"{u.events:,}", cost_now, f"now: {now}", cost_now, "", "",
                     *(_score_cell(f.current_scores.get(b)) for b, _ in bench_cols), "",
                     TIER_LABELS[_tier(best_now, chosen)] if best_now is not None else "-"])  # fmt: skip
        ranked = [row for row in f.rows if row.status == RANKED]
        shown = ranked if top == 0 else ranked[:top]
        if explicit:
            shown = shown + [row for row in f.rows if row.status != RANKED]
        for row in shown:
            c = row.candidate
            name = c.key + (" (current)" if c.current else "") + (" *" if c.unswappable_events else "")
            if row.status == CANNOT_PRICE:
                body.append(["", "", "", name, "cannot price", "", "", *(_score_cell(c.scores.get(b)) for b, _ in bench_cols), "", "-"])
                continue
            savings = _red_if_negative(display_usd(row.savings_pico, pico=True), row.savings_pico)
            pct = "-" if row.savings_pct is None else f"{row.savings_pct:.1f}%"
            scores = [_score_cell(c.scores.get(b), row.deltas.get(b) if b == chosen else None) for b, _ in bench_cols]
            spd = "-" if row.score_per_dollar is None else f"{row.score_per_dollar:,.2f}"
            tier = TIER_LABELS[row.tier] if row.tier else NO_DATA
            body.append(["", "", "", name, display_usd(c.simulated_pico, pico=True), savings, pct, *scores, spd, tier])
            if c.unswappable_events:
                window = f"{c.context_window:,}-token" if c.context_window else "its"
                notes.append(f"* {u.feature} on {c.key}: {c.unswappable_events:,} of {u.events:,} calls exceed its {window}"
                             f" context window and stay on the current model ({display_usd(c.unswappable_pico, pico=True)}).")  # fmt: skip
        hidden = len(ranked) - len(shown) if not explicit else 0
        if hidden > 0:
            notes.append(f"{u.feature}: {hidden} more ranked candidate(s) not shown (--top 0 shows all; --json has every one).")
    label = BENCHMARK_LABELS[chosen]
    single = env.query.event_type is not None  # the feature is in the title: its column goes early
    drop = (*(lbl for b, lbl in bench_cols if b != chosen), "events", "cost", *(("feature",) if single else ()),
            "savings %", "score/$", *(() if single else ("feature",)))  # fmt: skip
    _print_fitted_simulation(console, env.title, cols, body, drop)
    for line in notes:
        console.print(line, markup=False)
    for f in r.features:
        console.print("", markup=False)
        if f.floor is None:
            floor = f"no floor: no current model has a {label} score (set one with --min-score)"
        else:
            why = "--min-score" if f.floor_source == "min-score" else "the best current model's score"
            floor = f"{label} >= {_score_cell(f.floor)} ({why})"
        console.print(f"{f.usage.feature}: recommended ({floor}); monthly = the period's run rate", markup=False)
        for rec in f.recommendations:
            what = TIER_LABELS[rec.tier] if rec.kind == "cheapest_in_tier" else "best score per dollar"
            if rec.row is None:
                reach = f"reaches {_score_cell(f.floor)}" if f.floor is not None else "is priced"
                console.print(f"  {what}: none in this tier {reach}" + (" (lower the floor with --min-score)"
                              if f.floor is not None and f.floor_source == "current" else ""), markup=False)  # fmt: skip
                continue
            row = rec.row
            verb = "saves" if row.savings_pico >= 0 else "costs"
            pct = "" if row.savings_pct is None else f", {abs(row.savings_pct):.1f}%"
            console.print(f"  {what}: {row.candidate.key} ({label} {_score_cell(row.score)}) {verb}"
                          f" {display_usd(abs(row.monthly_savings_pico), pico=True)}/month"
                          f"{'' if verb == 'saves' else ' more'}{pct}", markup=False)  # fmt: skip
        no_data = [row.candidate.key for row in f.rows if row.status == NO_DATA]
        cannot = [row.candidate.key for row in f.rows if row.status == CANNOT_PRICE]
        if no_data and not explicit:
            console.print(f"  no {label} score (not ranked): {_names(no_data, 6)}", markup=False)
        if cannot and not explicit:
            console.print(f"  cannot price this feature's calls: {_names(cannot, 6)}", markup=False)
        if f.usage.excluded_events:
            console.print(f"  {f.usage.excluded_events:,} call(s) left out: their model has no price today"
                          " (hint: margindash prices unpriced)", markup=False)  # fmt: skip
    console.print("", markup=False)
    console.print("Assumptions:", markup=False)
    for line in assumptions(env):
        console.print(f"- {line}", markup=False)


def _tier(score: Any, benchmark: str) -> str:
    from margindash_cli.simulate.compute import tier_of

    return tier_of(score, benchmark)


def _print_fitted_simulation(console: Any, title: str, columns: list[tuple[str, str]], rows: list[list[Any]],
                             drop: tuple[str, ...]) -> None:  # fmt: skip
    """As print_fitted, but the caption points at --json (simulate has no CSV)."""
    from rich.measure import Measurement

    keep = list(range(len(columns)))
    hidden: list[str] = []
    headers = [h for h, _ in columns]
    for name in (None, *drop):
        if name is not None:
            keep.remove(headers.index(name))
            hidden.append(name)
        caption = f"hidden to fit the terminal: {', '.join(hidden)} (--json has every column)" if hidden else None
        t = table(title, [columns[i] for i in keep], [[row[i] for i in keep] for row in rows], caption=caption)
        if Measurement.get(console, console.options.update_width(10**6), t).maximum <= console.width:
            break
    console.print(t)


# ---- export --------------------------------------------------------------------------------------


def print_export(result: Any) -> None:
    console = stdout_console()
    if not result.written and not result.removed:
        console.print(f"No events in the range: nothing written to {result.outdir}.", markup=False)
        return
    cols = [("table", "left"), ("month", "left"), ("rows", "right"), ("calls", "right"), ("cost", "right"),
            ("unpriced calls", "right")]  # fmt: skip
    body = [[p.table, p.month, f"{p.rows:,}", f"{p.events:,}", display_usd(p.cost_pico, pico=True), f"{p.unpriced_events:,}"]
            for p in result.written]  # fmt: skip
    console.print(table(f"Exported to {result.outdir}/<table>/month=YYYY-MM/part-0.{result.format}", cols, body))
    for path in result.removed:
        console.print(f"removed {path}: its month has no rows in the range now", markup=False)
    same = [p for p in result.written if not getattr(p, "changed", True)]
    if same:
        console.print(f"{len(same)} of {len(result.written)} partition(s) unchanged (same content hash): left as they were",
                      markup=False)  # fmt: skip
    if getattr(result, "changed_since", None) is not None:
        console.print(f"changed since {result.changed_since}: {len(result.changed)} partition(s)", markup=False)
        for p in result.changed:
            console.print(f"  {p.path} (changed {p.changed_at}, sha256 {p.sha256})", markup=False)
    console.print(f"manifest: {result.manifest}", markup=False)


# ---- doctor --------------------------------------------------------------------------------------


def print_doctor(result: Any) -> None:
    """One line per check, then the details of those that are not ok; the verdict last."""
    console = stdout_console()
    marks = {"ok": "ok", "info": "info", "warn": "WARN", "fail": "FAIL"}
    rows = [[c.name, marks[c.status], c.summary] for c in result.checks]
    console.print(table(f"margindash doctor: {result.store}", [("check", "left"), ("status", "left"), ("result", "left")], rows))
    for c in result.checks:
        if c.status in ("warn", "fail") or c.name == "checkpoints":
            for d in c.details[:20]:
                console.print(f"  {c.name}: " + ", ".join(f"{k}={v}" for k, v in d.items() if v is not None), markup=False)
    verdict = {"ok": "all good", "info": "all good", "warn": "needs attention", "fail": "the store is damaged"}[result.worst]
    console.print(f"{verdict} (exit {result.exit_code})", markup=False)
