"""Tables and lines of `margindash budget set|list|check`."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from margindash_cli.cli.render.kit import emit_json, print_fitted, stdout_console
from margindash_cli.core.money import display_usd
from margindash_cli.core.textsafe import safe_lines

if TYPE_CHECKING:
    from rich.console import Console

    from margindash_cli.budgets.compute import BudgetStatus
    from margindash_cli.budgets.run import BudgetList, CheckResult, SavedBudget


LEVEL_STYLES = {"ok": "green", "warning": "yellow", "critical": "red", "exceeded": "bold red"}  # budget level colours


def emit_budget_saved(saved: SavedBudget, as_json: bool) -> None:
    if as_json:
        emit_json(saved)
        return
    b, created = saved.budget, saved.created
    to = f"; alerts to {', '.join(b.emails)}" if b.emails else ""
    print(
        safe_lines(
            f"{'Created' if created else 'Updated'} budget {b.name}: {b.scope_text}, {display_usd(b.limit_usd)} per {b.period} "
            f"({b.tz}), warning at {b.warn_pct}%, critical at {b.critical_pct}%{to}."
        )
    )


def _budget_rows(statuses: list[BudgetStatus], alerts: dict[str, str] | None = None) -> list[list[Any]]:
    from rich.text import Text  # lazy: start-up

    from margindash_cli.budgets.compute import pct_text  # lazy: start-up

    rows = []
    for s in statuses:
        b = s.budget
        spend = display_usd(s.spend.cost_pico, pico=True)
        if s.spend.unpriced_events:
            spend += f" (+{s.spend.unpriced_events:,} unpriced)"
        projected = (
            "-"
            if s.projected_pico is None
            else f"{display_usd(s.projected_pico, pico=True)} ({pct_text(s.projected_pct)})"
        )
        period = s.period.label.split(" (")[0]  # 2026-W42, not its dates: the column stays narrow
        row = [
            b.name,
            b.scope_text,
            period + ("" if b.tz == "UTC" else f" {b.tz}"),
            spend,
            display_usd(b.limit_usd),
            pct_text(s.pct_used),
            Text(s.level, style=LEVEL_STYLES[s.level]),
            projected,
        ]
        if alerts is not None:
            row.append(alerts.get(b.name, ""))
        rows.append(row)
    return rows


BUDGET_COLUMNS = [
    ("budget", "left"),
    ("scope", "left"),
    ("period", "left"),
    ("spend", "right"),
    ("limit", "right"),
    ("used", "right"),
    ("level", "left"),
    ("projected", "right"),
]


# left out in this order on a narrow terminal; "used" (spend over limit) last, before a budget name would fold
BUDGET_OPTIONAL_COLUMNS = ("projected", "period", "scope", "alerts", "used")


def _print_budget_table(console: Console, title: str, columns: list[tuple[str, str]], rows: list[list[Any]]) -> None:
    """A budget table, one line per budget: optional columns are left out (and named) until it fits; only past
    that does a long budget name fold onto a second line, whole."""
    print_fitted(console, title, columns, rows, drop=BUDGET_OPTIONAL_COLUMNS, every="--json", what="field")


def emit_budget_list(listing: BudgetList, as_json: bool) -> None:
    if as_json:
        emit_json(listing)
        return
    statuses = listing.statuses
    if not statuses:
        print(
            "no budgets yet; add one: margindash budget set NAME --scope org --limit-usd 1000 --period month",
            file=sys.stderr,
        )
        return
    console = stdout_console()
    _print_budget_table(console, "Budgets", BUDGET_COLUMNS, _budget_rows(statuses))
    _budget_notes(console, statuses)


def _budget_notes(console: Console, statuses: list[BudgetStatus]) -> None:
    unpriced = sum(s.spend.unpriced_events for s in statuses)
    if unpriced:
        console.print(
            "unpriced calls may hide spend: they are not in the figures. hint: margindash prices unpriced", markup=False
        )


def emit_budget_check(result: CheckResult, as_json: bool) -> None:

    for a in result.alerts:
        if a.note:
            print(safe_lines(f"warning: {a.channel} alert for budget {a.budget}: {a.note}"), file=sys.stderr)
    for message in result.errors:
        print(f"error: {safe_lines(message)}", file=sys.stderr)
    if as_json:
        emit_json(result)
        return
    if not result.statuses:
        print(
            "no budgets to check; add one: margindash budget set NAME --scope org --limit-usd 1000 --period month",
            file=sys.stderr,
        )
        return
    alerts: dict[str, str] = {}
    for a in result.alerts:
        text = f"{a.channel} {a.status.replace('_', ' ')}"
        alerts[a.budget] = f"{alerts[a.budget]}, {text}" if a.budget in alerts else text
    console = stdout_console()
    _print_budget_table(
        console, "Budget check", [*BUDGET_COLUMNS, ("alerts", "left")], _budget_rows(result.statuses, alerts)
    )
    _budget_notes(console, result.statuses)
    if result.blocklist_path is not None:
        console.print(f"blocklist: {result.blocked} blocked, written to {result.blocklist_path}", markup=False)
