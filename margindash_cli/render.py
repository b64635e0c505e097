"""Output: JSON, CSV and Markdown emitters and Rich tables. Reads result models only; never the store.

Only the payload goes to stdout; progress, warnings and hints go to stderr so output pipes cleanly.
Money arrives here as exact values and is rounded once, for display.
"""

from __future__ import annotations

import sys
from decimal import Decimal
from typing import Any

import orjson

from .money import display_usd


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


def stdout_console() -> Any:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


def stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def table(title: str | None, columns: list[tuple[str, str]], rows: list[list[str]], *, footer: list[str] | None = None,
          caption: str | None = None) -> Any:  # fmt: skip
    """A Rich table; columns are (header, justify). Cells are already formatted text (or Rich Text)."""
    from rich.table import Table

    t = Table(title=title, caption=caption, show_footer=footer is not None, header_style="bold")
    for i, (header, justify) in enumerate(columns):
        t.add_column(header, justify=justify, footer=footer[i] if footer else "", no_wrap=justify == "right")
    for row in rows:
        t.add_row(*row)
    return t


def print_fitted(console: Any, title: str | None, columns: list[tuple[str, str]], rows: list[list[Any]], *,
                 footer: list[str] | None = None, caption: str | None = None, drop: tuple[str, ...] = ()) -> None:  # fmt: skip
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
        note = f"hidden to fit the terminal: {', '.join(hidden)} (--format csv has every column)" if hidden else None
        t = table(title, [columns[i] for i in keep], [[row[i] for i in keep] for row in rows],
                  footer=[footer[i] for i in keep] if footer else None,
                  caption="; ".join(c for c in (caption, note) if c) or None)  # fmt: skip
        if Measurement.get(console, console.options.update_width(10**6), t).maximum <= console.width:
            break
    console.print(t)


# ---- reports -------------------------------------------------------------------------------------

REPORT_COLUMNS = ("events", "input_tokens", "output_tokens", "cost_usd", "revenue_usd", "margin_usd", "margin_pct", "class")


def report_records(env: Any) -> list[dict[str, Any]]:
    """Flat rows (group columns then measures) shared by CSV and Markdown."""
    from .reporting import envelope_json

    data = envelope_json(env)
    out = []
    for row in data["rows"]:
        out.append({**row["group"], **{c: row[c] for c in REPORT_COLUMNS}})
    total = {d: ("total" if i == 0 else "") for i, d in enumerate(env.result.dims)}
    out.append({**total, **{c: data["totals"][c] for c in REPORT_COLUMNS}})
    return out


def write_csv(records: list[dict[str, Any]], fieldnames: list[str]) -> None:
    import csv

    writer = csv.DictWriter(sys.stdout, fieldnames=fieldnames, lineterminator="\n")
    writer.writeheader()
    for r in records:
        writer.writerow({k: ("" if v is None else v) for k, v in r.items()})


def write_markdown(records: list[dict[str, Any]], headers: list[str], numeric: set[str]) -> None:
    """A GitHub-flavoured Markdown table; `numeric` columns are right-aligned."""
    sys.stdout.write("| " + " | ".join(headers) + " |\n")
    sys.stdout.write("|" + "|".join("---:" if h in numeric else "---" for h in headers) + "|\n")
    for r in records:
        sys.stdout.write("| " + " | ".join("" if r.get(h) is None else str(r[h]).replace("|", "\\|") for h in headers) + " |\n")


def emit_report(env: Any, output: str) -> None:
    from .reporting import envelope_json

    if output == "json":
        print_json(envelope_json(env))
        return
    if output == "csv":
        records = report_records(env)
        write_csv(records, list(records[0]))
        return
    if output == "markdown":
        records = report_records(env)
        write_markdown(records, list(records[0]), set(REPORT_COLUMNS[:-1]))
        return
    print_report_table(env)


def _pct(value: Any) -> str:
    return "-" if value is None else f"{value:.1f}%"


def print_report_table(env: Any) -> None:
    from rich.text import Text

    r = env.result
    console = stdout_console()
    if not r.rows:
        _print_empty(console, env)
        return

    def money(amount: Any, negative_red: bool = False) -> Any:
        text = display_money(amount)
        return Text(text, style="red") if negative_red and amount < 0 else text

    cols = [(d, "left") for d in r.dims] + [
        ("events", "right"), ("input tok", "right"), ("output tok", "right"), ("cost", "right"),
        ("revenue", "right"), ("margin", "right"), ("margin %", "right"), ("class", "left"),
    ]  # fmt: skip
    body = []
    for row in r.rows:
        m = row.measures
        cost = money(m.cost_usd)
        if m.unpriced_events:
            cost = f"{cost} +?"
        body.append([*(row.group[d] for d in r.dims), f"{m.events:,}", f"{m.input_tokens:,}", f"{m.output_tokens:,}", cost,
                     money(m.revenue_usd), money(m.margin_usd, True), _pct(m.margin_pct), row.cls])  # fmt: skip
    t = r.totals
    footer = ["total", *([""] * (len(r.dims) - 1)), f"{t.events:,}", f"{t.input_tokens:,}", f"{t.output_tokens:,}",
              display_money(t.cost_usd) + (" +?" if t.unpriced_events else ""), display_money(t.revenue_usd),
              display_money(t.margin_usd), _pct(t.margin_pct), r.totals_cls]  # fmt: skip
    print_fitted(console, env.title, cols, body, footer=footer, drop=("input tok", "output tok", "events", "class"))
    _print_notes(console, env, r.unpriced_events, r.unpriced_models, marks=" (+? marks the rows)")


def _print_empty(console: Any, env: Any) -> None:
    console.print(f"No usage or revenue in {env.range.label} ({env.range.tz}).", markup=False)
    console.print("hint: widen the period, or check `margindash events`", markup=False)


def _print_notes(console: Any, env: Any, unpriced_events: int, unpriced_models: list[str], marks: str = "") -> None:
    """The lines under a table that say what its figures leave out, each with the command that fixes it."""
    if unpriced_events:
        models = ", ".join(unpriced_models[:5]) + (" ..." if len(unpriced_models) > 5 else "")
        console.print(f"unpriced: {unpriced_events:,} call(s) have no price ({models}); their cost is not in these"
                      f" figures{marks}.", markup=False)  # fmt: skip
        console.print("hint: margindash prices unpriced", markup=False)
    basis = getattr(env, "cost_basis", None)  # #18: a report on the bill's cost says which days are provisional
    if basis is not None:
        days = sum(basis.reconciled_days.values())
        console.print(f"cost basis: reconciled with the providers' bills on {days} provider day(s); billed spend no logged call"
                      f" explains is in the (untracked) row ({display_usd(Decimal(basis.untracked_usd))}).", markup=False)  # fmt: skip
        for provider, pdays in basis.provisional_days.items():
            span = pdays[0] if len(pdays) == 1 else f"{pdays[0]} to {pdays[-1]}"
            console.print(f"provisional: {provider} on {len(pdays)} day(s) ({span}) has no bill synced: computed cost.", markup=False)
    if env.unconverted_revenue:
        parts = ", ".join(f"{amount:,} {cur.upper()} (minor units)" for cur, amount in sorted(env.unconverted_revenue.items()))
        console.print(f"unconverted revenue not in these figures: {parts}. hint: margindash fx import FILE.csv", markup=False)


def display_money(amount: Any) -> str:
    return display_usd(amount)


def _red_if_negative(text: str, value: Any) -> Any:
    from rich.text import Text

    return Text(text, style="red") if value is not None and value < 0 else text


SPARK = "▁▂▃▄▅▆▇█"  # sparkline levels, lowest to highest


def sparkline(values: list[Any]) -> str:
    """The shape of a series on its own scale (min to max); `·` where a value is missing."""
    present = [v for v in values if v is not None]
    if not present:
        return "·" * len(values)
    lo, hi = min(present), max(present)
    out = []
    for v in values:
        if v is None:
            out.append("·")
        elif hi == lo:
            out.append(SPARK[len(SPARK) // 2])
        else:
            out.append(SPARK[int((v - lo) * (len(SPARK) - 1) / (hi - lo) + Decimal("0.5"))])
    return "".join(out)


# ---- report trend --------------------------------------------------------------------------------

TREND_CSV_COLUMNS = ("period", "events", "input_tokens", "output_tokens", "cost_usd", "revenue_usd", "margin_usd", "margin_pct")


def trend_records(env: Any) -> list[dict[str, Any]]:
    """One row per (group, period), then the totals per period: the long form that CSV and Markdown share."""
    from .reporting import trend_json

    data = trend_json(env)
    dim = env.result.dim
    out = []
    for row in [*data["rows"], {"group": {dim: "total"}, **data["totals"]}]:
        for point in row["series"]:
            out.append({dim: row["group"][dim], **{c: point[c] for c in TREND_CSV_COLUMNS}})
    return out


def emit_time_chart(env: Any) -> None:
    """`report --by day|week|month --chart`: revenue and cost bars, then margin % around a zero line, as plain text."""
    from . import textchart

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


def emit_trend(env: Any, output: str) -> None:
    from .reporting import trend_json

    if output == "json":
        print_json(trend_json(env))
        return
    headers = [env.result.dim, *TREND_CSV_COLUMNS]
    if output == "csv":
        write_csv(trend_records(env), headers)
        return
    if output == "markdown":
        write_markdown(trend_records(env), headers, set(TREND_CSV_COLUMNS[1:]))
        return
    print_trend_table(env)


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

    def cells(row: Any) -> list[Any]:
        m = row.total
        cost = display_money(m.cost_usd) + (" +?" if m.unpriced_events else "")
        first, last, change = _first_last(row, r.periods)
        return [cost, display_money(m.revenue_usd), _red_if_negative(display_money(m.margin_usd), m.margin_usd),
                _pct(m.margin_pct), first, last, change, sparkline([p.margin_pct for p in row.points])]  # fmt: skip

    body = [[row.group[r.dim], *cells(row)] for row in r.rows]
    footer = ["total", *(c if isinstance(c, str) else c.plain for c in cells(r.totals))]
    span = f"{r.periods[0].isoformat()} .. {r.periods[-1].isoformat()}" if r.periods else ""
    caption = f"{len(r.periods)} period(s), {span}; first/last: each group's first and last period with activity"
    print_fitted(console, env.title, cols, body, footer=footer, caption=caption,
                 drop=(cols[-1][0], "first %", "last %", "cost", "revenue"))  # fmt: skip
    _print_notes(console, env, r.unpriced_events, r.unpriced_models, marks=" (+? marks the rows)")


# ---- report cohorts ------------------------------------------------------------------------------

COHORT_CSV_COLUMNS = ("cohort", "customers", "index", "period", "active_customers", "events", "input_tokens", "output_tokens",
                      "cost_usd", "revenue_usd", "margin_usd", "margin_pct")  # fmt: skip


def cohort_records(env: Any) -> list[dict[str, Any]]:
    from .reporting import cohorts_json

    data = cohorts_json(env)
    out = []
    for c in data["cohorts"]:
        for cell in c["periods"]:
            out.append({"cohort": c["cohort"], "customers": c["customers"], **{k: cell[k] for k in COHORT_CSV_COLUMNS[2:]}})
    for cell in data["totals"]["periods"]:
        out.append({"cohort": "total", "customers": None, "period": None, **{k: cell[k] for k in COHORT_CSV_COLUMNS[2:] if k != "period"}})
    return out


def emit_cohorts(env: Any, output: str) -> None:
    from .reporting import cohorts_json

    if output == "json":
        print_json(cohorts_json(env))
        return
    if output == "csv":
        write_csv(cohort_records(env), list(COHORT_CSV_COLUMNS))
        return
    if output == "markdown":
        write_markdown(cohort_records(env), list(COHORT_CSV_COLUMNS), set(COHORT_CSV_COLUMNS[1:]) - {"period"})
        return
    print_cohorts_table(env)


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
    _print_notes(console, env, r.unpriced_events, r.unpriced_models)


# ---- report concentration ------------------------------------------------------------------------

CONCENTRATION_CSV_COLUMNS = ("rank", "customer", "top_pct", "events", "cost_usd", "cost_share_pct", "cumulative_cost_share_pct",
                             "revenue_usd", "margin_usd", "margin_pct", "class")  # fmt: skip


def concentration_records(env: Any) -> list[dict[str, Any]]:
    """Every customer ranked by cost, with the smallest tier it belongs to (blank when in none)."""
    from .reporting import concentration_json

    data = concentration_json(env)
    tier_of: dict[str, int] = {}
    for t in sorted(data["tiers"], key=lambda t: -t["top_pct"]):
        for c in t["customers"]:
            tier_of[c] = t["top_pct"]
    return [{**{k: c[k] for k in CONCENTRATION_CSV_COLUMNS if k in c}, "top_pct": tier_of.get(c["customer"])} for c in data["customers"]]


def emit_concentration(env: Any, output: str) -> None:
    from .reporting import concentration_json

    if output == "json":
        print_json(concentration_json(env))
        return
    if output == "csv":
        write_csv(concentration_records(env), list(CONCENTRATION_CSV_COLUMNS))
        return
    if output == "markdown":
        write_markdown(concentration_records(env), list(CONCENTRATION_CSV_COLUMNS), set(CONCENTRATION_CSV_COLUMNS) - {"customer", "class"})
        return
    print_concentration_table(env)


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
    _print_notes(console, env, r.unpriced_events, r.unpriced_models)


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
    console.print(table(f"{len(versions):,} price(s), USD per million tokens", cols, body))


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
            ("cache write 5m", "right"), ("cache write 1h", "right"), ("tiers", "left"), ("service tiers", "left")]  # fmt: skip
    body = []
    for v in info["versions"]:
        base = v.get("base", {})
        tiers = ", ".join(f">{t['threshold']:,}: {t['rates'].get('input', '-')}/{t['rates'].get('output', '-')}" for t in v.get("tiers", []))
        services = ", ".join(f"{s}: {v[s].get('input', '-')}/{v[s].get('output', '-')}" for s in ("batch", "flex", "priority") if s in v)
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


DISAGREEMENT_SOURCES = ("genai-prices", "litellm", "openrouter")  # the sources a disagreement row can quote


def print_disagreements(rows: list[dict[str, Any]]) -> None:
    console = stdout_console()
    if not rows:
        console.print("The shipped sources agree within 1% on every model they share.", markup=False)
        return
    cols = [("provider", "left"), ("model", "left"), ("kind", "left"), ("differs on", "left"), ("winner", "left"),
            ("prices (input/output)", "left")]  # fmt: skip
    body = [
        [r.get("provider", ""), r.get("model", ""), r.get("kind", ""), ", ".join(r.get("fields", [])), r.get("winner", ""),
         "; ".join(f"{s} {r[s].get('input', '-')}/{r[s].get('output', '-')}" for s in DISAGREEMENT_SOURCES if isinstance(r.get(s), dict))]
        for r in rows
    ]  # fmt: skip
    console.print(table(f"{len(rows)} price disagreement(s) between sources, USD per million tokens", cols, body))


def print_sync(result: dict[str, Any]) -> None:
    console = stdout_console()
    for s in result["sources"]:
        console.print(f"{s['source']}: {s['status']} ({s['prices_read']:,} prices read, {s['versions_added']:,} new version(s))", markup=False)
    console.print(f"{result['versions_added']:,} new price version(s); {result['newly_priced_events']:,} unpriced call(s) now priced.", markup=False)


def reprice_json(r: Any) -> dict[str, Any]:
    from .money import usd_text

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
        f"call {info['request_id']}: {info['vendor']}/{info['model']}, service tier {info['service_tier']}",
        "matched: " + (f"{matched['provider']}/{matched['model']} ({matched['how']})" if matched else "nothing (unpriced)"),
    ]
    pv = info["price_version"]
    if pv:
        lines.append(f"price version #{pv['id']} from {pv['source']}, in force since {pv['effective_from'] or 'the beginning'}")
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
        body = [[cls, f"{counts.get(cls, 0):,}" if cls in counts else "-", c["usd_per_mtok"] or "-", "$" + (c["cost_usd"] or "0")]
                for cls, c in info["classes"].items()]  # fmt: skip
        console.print(table(None, [("class", "left"), ("tokens", "right"), ("USD/MTok", "right"), ("cost", "right")], body))
    console.print(f"cost: {'$' + info['cost_usd'] if info['cost_usd'] is not None else 'unpriced'} ({info['basis']})", markup=False)
    if info["stale"]:
        console.print(f"stored cost {info['stored_cost_usd']} differs from today's pricing: run `margindash reprice`", markup=False)


# ---- budgets -------------------------------------------------------------------------------------

LEVEL_STYLES = {"ok": "green", "warning": "yellow", "critical": "red", "exceeded": "bold red"}  # budget level colours


def emit_budget_saved(budget: Any, created: bool, as_json: bool) -> None:
    from .budgets import budget_json

    if as_json:
        print_json({**budget_json(budget), "created": created})
        return
    b = budget
    to = f"; alerts to {', '.join(b.emails)}" if b.emails else ""
    print(f"{'Created' if created else 'Updated'} budget {b.name}: {b.scope_text}, {display_usd(b.limit_usd)} per {b.period} "
          f"({b.tz}), warning at {b.warn_pct}%, critical at {b.critical_pct}%{to}.")


def _budget_rows(statuses: list[Any], alerts: dict[str, str] | None = None) -> list[list[Any]]:
    from rich.text import Text

    from .budgets import pct_text

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
        t = Table(title=title, caption=caption, header_style="bold")
        for i in keep:
            t.add_column(columns[i][0], justify=columns[i][1], no_wrap=True)
        for row in rows:
            t.add_row(*(row[i] for i in keep))
        if Measurement.get(console, console.options.update_width(10**6), t).maximum <= console.width:
            break
    console.print(t)


def emit_budget_list(statuses: list[Any], now: Any, as_json: bool) -> None:
    from .budgeting import list_json

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
    from .budgeting import check_json

    for a in result.alerts:
        if a.note:
            print(f"warning: {a.channel} alert for budget {a.budget}: {a.note}", file=sys.stderr)
    for message in result.errors:
        print(f"error: {message}", file=sys.stderr)
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
    from .pricing.benchmarks import BENCHMARK_LABELS
    from .simulate import CANNOT_PRICE, NO_DATA, RANKED, TIER_LABELS
    from .simulation import assumptions

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
    from .simulate import tier_of

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
