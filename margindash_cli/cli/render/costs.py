"""What `margindash sync-costs`, `costs import` and `reconcile` print: the bills against our computed costs."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from margindash_cli.cli.render.kit import display_money, print_fitted, stdout_console

if TYPE_CHECKING:
    from rich.console import Console

    from margindash_cli.reconcile.compute import ReconcileResult, ReconcileRow
    from margindash_cli.reconcile.run import ImportCostsResult, SyncCostsResult


# The columns `reconcile` leaves out to fit a terminal, first to last: the ratios, then the parts of the gap (the
# rarest first), then the gap as a percent. The headline columns stay: provider, the day, month, model or project,
# the model, and computed, billed and gap.
RECONCILE_DROP = (
    "coverage",
    "rate vs ours",
    "unpriced",
    "remaining",
    "no-log charges",
    "untracked",
    "price diff",
    "gap %",
)


def print_sync_costs(result: SyncCostsResult) -> None:
    """The lines of a sync-costs run (reconcile.run's sync result): one per provider, then what to run next."""
    out = stdout_console()
    for p in result.providers:
        changed = f"{len(p.days_changed)} day(s) changed" if p.days_changed else "nothing changed"
        out.print(
            f"{p.provider}: {p.end_day - p.first_day} day(s) from {p.to_json()['since']}, {p.cost_lines} cost line(s),"
            f" {p.usage_rows} usage row(s), billed {display_money(_usd(p.billed_pico))}; {changed}"
            f" ({p.requests} requests).",
            markup=False,
        )
    out.print("Next: margindash reconcile --period 30d", markup=False)


def print_costs_import(file: Path, result: ImportCostsResult) -> None:
    """The line of a `costs import` (reconcile.run's import result)."""
    changed = f"{len(result.days_changed)} provider day(s) changed" if result.days_changed else "nothing changed"
    stdout_console().print(
        f"{file} ({result.format}): {result.lines} cost line(s), billed {display_money(_usd(result.billed_pico))};"
        f" {changed}; {result.skipped} row(s) skipped (not AI services).",
        markup=False,
    )


def _usd(pico: int) -> Decimal:
    from margindash_cli.core.money import pico_to_usd  # lazy: start-up

    return pico_to_usd(pico)


def print_reconcile(result: ReconcileResult) -> None:
    from margindash_cli.reconcile.compute import PARTS  # lazy: start-up

    console = stdout_console()
    if not result.rows:
        console.print(f"No bill synced for {result.range_label or 'this range'}.", markup=False)
        console.print(
            "hint: margindash sync-costs (OpenAI, Anthropic) or margindash costs import FILE (AWS CUR, FOCUS)",
            markup=False,
        )
        _print_provisional(console, result)
        return
    lead = {
        "day": [("provider", "left"), ("day", "left"), ("model", "left")],
        "month": [("provider", "left"), ("month", "left"), ("model", "left")],
        "model": [("provider", "left"), ("model", "left")],
        "project": [("provider", "left"), ("project", "left"), ("model", "left")],
    }[result.by]
    heads = {
        "unpriced_calls": "unpriced",
        "untracked_usage": "untracked",
        "price_difference": "price diff",
        "unlogged_charges": "no-log charges",
        "remaining": "remaining",
    }
    cols = [
        *lead,
        ("computed", "right"),
        ("billed", "right"),
        ("gap", "right"),
        ("gap %", "right"),
        ("coverage", "right"),
        ("rate vs ours", "right"),
        *((heads[p], "right") for p in PARTS),
    ]

    def cells(r: ReconcileRow, lead_values: list[str]) -> list[str]:
        pct = r.gap_pct()
        cov = r.coverage_pct()
        rate = r.effective_rate_pct()
        return [
            *lead_values,
            display_money(_usd(r.computed)),
            display_money(_usd(r.billed)),
            display_money(_usd(r.gap)),
            "-" if pct is None else f"{pct:.1f}%",
            "-" if cov is None else f"{cov:.1f}%",
            "-" if rate is None else f"{rate:.1f}%",
            *(display_money(_usd(r.parts[p])) for p in PARTS),
        ]

    body = []
    for r in result.rows:
        values = {
            "day": [r.provider, r.period, r.model or "-"],
            "month": [r.provider, r.period, r.model or "-"],
            "model": [r.provider, r.model or "-"],
            "project": [r.provider, r.project or "(default)", r.model or "-"],
        }[result.by]
        body.append(cells(r, values))
    footer = cells(result.totals, ["total"] + [""] * (len(lead) - 1))
    hidden = print_fitted(
        console,
        f"Computed vs billed · {result.range_label} (UTC days)",
        cols,
        body,
        footer=footer,
        drop=RECONCILE_DROP,
        every="--json",
    )
    if "rate vs ours" not in hidden:
        console.print(
            "rate vs ours: the bill's amount for the tokens we logged, as a percent of our price (90% = a 10% discount).",
            markup=False,
        )
    if result.over_tolerance:
        shown = ", ".join(
            f"{r.provider} {r.period} ({'-' if r.gap_pct() is None else f'{r.gap_pct():.1f}%'})"
            for r in result.over_tolerance[:5]
        )
        more = f" and {len(result.over_tolerance) - 5} more" if len(result.over_tolerance) > 5 else ""
        console.print(f"over the {result.tolerance_pct}% tolerance: {shown}{more} (exit 3)", markup=False)
    _print_provisional(console, result)


def _print_provisional(console: Console, result: ReconcileResult) -> None:
    for provider, days in result.provisional_days.items():
        span = days[0] if len(days) == 1 else f"{days[0]} to {days[-1]}"
        console.print(
            f"provisional: {provider} has logged calls on {len(days)} day(s) ({span}) with no bill synced; not reconciled.",
            markup=False,
        )
