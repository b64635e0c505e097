"""Output: JSON, CSV and Markdown emitters and Rich tables. Reads result models only; never the store.

Only the payload goes to stdout; progress, warnings and hints go to stderr so output pipes cleanly.
Money arrives here as exact values and is rounded once, for display.
"""

from __future__ import annotations

import sys
from decimal import Decimal
from typing import Any

import orjson


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


def emit_report(env: Any, output: str) -> None:
    from .reporting import envelope_json

    if output == "json":
        print_json(envelope_json(env))
        return
    if output == "csv":
        import csv

        records = report_records(env)
        writer = csv.DictWriter(sys.stdout, fieldnames=list(records[0]), lineterminator="\n")
        writer.writeheader()
        for r in records:
            writer.writerow({k: ("" if v is None else v) for k, v in r.items()})
        return
    if output == "markdown":
        records = report_records(env)
        headers = list(records[0])
        sys.stdout.write("| " + " | ".join(headers) + " |\n")
        sys.stdout.write("|" + "|".join("---:" if h in REPORT_COLUMNS[:-1] else "---" for h in headers) + "|\n")
        for r in records:
            sys.stdout.write("| " + " | ".join("" if r[h] is None else str(r[h]).replace("|", "\\|") for h in headers) + " |\n")
        return
    print_report_table(env)


def _pct(value: Any) -> str:
    return "-" if value is None else f"{value:.1f}%"


def print_report_table(env: Any) -> None:
    from rich.text import Text

    r = env.result
    console = stdout_console()
    if not r.rows:
        console.print(f"No usage or revenue in {env.range.label} ({env.range.tz}).", markup=False)
        console.print("hint: widen the period, or check `margindash events`", markup=False)
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
              display_money(t.cost_usd), display_money(t.revenue_usd), display_money(t.margin_usd), _pct(t.margin_pct), r.totals_cls]  # fmt: skip
    console.print(table(env.title, cols, body, footer=footer))
    if r.unpriced_events:
        models = ", ".join(r.unpriced_models[:5]) + (" ..." if len(r.unpriced_models) > 5 else "")
        console.print(f"unpriced: {r.unpriced_events:,} call(s) have no price ({models}); their cost is not in these"
                      " figures (+? marks the rows). hint: margindash prices unpriced", markup=False)  # fmt: skip
    if env.unconverted_revenue:
        parts = ", ".join(f"{amount:,} {cur.upper()} (minor units)" for cur, amount in sorted(env.unconverted_revenue.items()))
        console.print(f"unconverted revenue not in these figures: {parts}. hint: margindash fx import FILE.csv", markup=False)


def display_money(amount: Any) -> str:
    from .money import display_usd

    return display_usd(amount)
