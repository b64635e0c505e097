"""`margindash sync-costs`, `costs import` and `reconcile`: the providers' bills against our computed costs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Optional

import typer

costs_app = typer.Typer(help="Billed costs from files: AWS CUR 2.0 and FOCUS 1.x exports.", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    root.command("sync-costs")(sync_costs)
    root.command("reconcile")(reconcile)
    root.add_typer(costs_app, name="costs")


def sync_costs(
    ctx: typer.Context,
    provider: Optional[list[str]] = typer.Option(None, "--provider", help="openai|anthropic; repeat for both (default: every provider with a key)."),
    since: Optional[str] = typer.Option(None, "--since", help="Read from this UTC date (YYYY-MM-DD) instead of the last sync minus 7 days."),
    full: bool = typer.Option(False, "--full", help="Read again from the first day ever synced (90 days back on a first run)."),
    openai_key_file: Optional[Path] = typer.Option(None, "--openai-key-file", dir_okay=False, help="Read the OpenAI admin key from FILE (mode 600) instead of OPENAI_ADMIN_KEY."),
    anthropic_key_file: Optional[Path] = typer.Option(None, "--anthropic-key-file", dir_okay=False,
                                                      help="Read the Anthropic admin key from FILE (mode 600) instead of ANTHROPIC_ADMIN_KEY."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Pull daily billed costs and usage from the OpenAI and Anthropic admin APIs into the store (safe to cron).

    Needs OPENAI_ADMIN_KEY and/or ANTHROPIC_ADMIN_KEY (admin keys; an organization Owner makes them). Each run
    re-reads from a week before its last synced day and replaces those days, so a re-run changes nothing and a
    day the provider revised is replaced, not added. All providers are fetched, then written in one transaction.

    Example: margindash sync-costs && margindash reconcile --period last-month
    """
    from margindash_cli.cli.render import kit  # lazy: start-up
    from margindash_cli.reconcile.run import providers_to_sync
    from margindash_cli.reconcile.run import sync_costs as run_sync
    from margindash_cli.revenue.stripe_sync import parse_since
    from margindash_cli.cli.options import open_store

    from margindash_cli.cli.options import now

    access = providers_to_sync(os.environ, provider, {"openai": openai_key_file, "anthropic": anthropic_key_file})
    since_day = parse_since(since) // 86_400 if since else None
    with open_store(ctx) as store:
        result = run_sync(store, access, since_day=since_day, full=full, now=now())
    if as_json:
        kit.emit_json(result)
        return
    out = kit.stdout_console()
    for p in result.providers:
        changed = f"{len(p.days_changed)} day(s) changed" if p.days_changed else "nothing changed"
        out.print(f"{p.provider}: {p.end_day - p.first_day} day(s) from {p.to_json()['since']}, {p.cost_lines} cost line(s),"
                  f" {p.usage_rows} usage row(s), billed {kit.display_money(_usd(p.billed_pico))}; {changed}"
                  f" ({p.requests} requests).", markup=False)  # fmt: skip
    out.print("Next: margindash reconcile --period 30d", markup=False)


@costs_app.command("import")
def costs_import(
    ctx: typer.Context,
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="An AWS CUR 2.0 export (.csv, .csv.gz, .parquet) or a FOCUS 1.x CSV."),
    fmt: str = typer.Option("auto", "--format", help="auto|cur|focus (auto: from the file's columns)."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Import billed costs from a cloud's billing export; re-importing the same file changes nothing.

    CUR 2.0: the Amazon Bedrock lines (token line items, Anthropic models through AWS Marketplace included),
    credits and other Bedrock charges. FOCUS 1.x (GCP, Azure, LiteLLM): every row, BilledCost in USD. A bad
    row fails the whole file with its line and column, and nothing is written.

    Example: margindash costs import cur-2026-07.csv.gz
    """
    from margindash_cli.cli.render import kit  # lazy: start-up
    from margindash_cli.reconcile.run import import_costs
    from margindash_cli.cli.options import open_store

    from margindash_cli.cli.options import now

    with open_store(ctx) as store:
        result = import_costs(store, file, fmt=fmt, now=now())
    for w in result.warnings:
        kit.warn(w)
    if as_json:
        kit.emit_json(result)
        return
    changed = f"{len(result.days_changed)} provider day(s) changed" if result.days_changed else "nothing changed"
    kit.stdout_console().print(
        f"{file} ({result.format}): {result.lines} cost line(s), billed {kit.display_money(_usd(result.billed_pico))};"
        f" {changed}; {result.skipped} row(s) skipped (not AI services).", markup=False)  # fmt: skip


def reconcile(
    ctx: typer.Context,
    since: Optional[str] = typer.Option(None, "--since", help="From this UTC date (YYYY-MM-DD)."),
    until: Optional[str] = typer.Option(None, "--until", help="Up to and including this UTC date."),
    period: Optional[str] = typer.Option(None, "--period", help="today|7d|30d|mtd|last-month|YYYY-MM."),
    provider: Optional[str] = typer.Option(None, "--provider", help="Only this provider (openai, anthropic, aws, gcp, azure...)."),
    by: str = typer.Option("day", "--by", help="day|month|model|project: rows per provider and day (or month) and model, per model, or per project."),
    tolerance: str = typer.Option("2", "--tolerance", help="Exit 3 when a provider's day (or month) is off its bill by more than PCT percent."),
    as_json: bool = typer.Option(False, "--json", help="Print the rows as JSON."),
) -> None:
    """Compare computed cost with the provider's bill per provider, day and model, and split the gap into its causes.

    The gap (billed - computed) is split into: calls we logged but could not price, untracked usage (tokens
    billed beyond those logged, at our price), the price difference (the bill's amount for the tokens we logged
    against ours: a discount or a wrong catalog price), charges no log line carries (web search, code execution,
    credits) and what remains. Rows add up to the totals exactly. Days are UTC days, as on the bills.
    Exits 0 when every provider's day (or month) is within --tolerance, 3 when one is not.

    Example: margindash reconcile --period last-month --tolerance 1
    """
    from decimal import Decimal, InvalidOperation

    from margindash_cli.cli.render import kit  # lazy: start-up
    from margindash_cli.errors import UsageError
    from margindash_cli.core.periods import resolve_range
    from margindash_cli.reconcile.run import reconcile as run_reconcile
    from margindash_cli.cli.options import now
    from margindash_cli.cli.options import open_store

    try:
        tol = Decimal(tolerance)
    except InvalidOperation:
        raise UsageError(f"--tolerance {tolerance!r} is not a number") from None
    if not tol.is_finite() or tol < 0:
        raise UsageError(f"--tolerance {tolerance!r} must be a percentage, 0 or more")
    rng = resolve_range(since, until, period, "UTC", now())
    with open_store(ctx, create=False) as store:
        result = run_reconcile(store, start_ms=rng.start_ms, end_ms=rng.end_ms, provider=provider, by=by, tolerance_pct=tol,
                               range_label=rng.label)  # fmt: skip
    if as_json:
        kit.emit_json(result)
    else:
        _print_reconcile(result)
    raise typer.Exit(result.exit_code)


def _usd(pico: int) -> Any:
    from margindash_cli.core.money import pico_to_usd

    return pico_to_usd(pico)


def _print_reconcile(result: Any) -> None:
    from margindash_cli.cli.render import kit  # lazy: start-up
    from margindash_cli.reconcile.compute import PARTS

    console = kit.stdout_console()
    if not result.rows:
        console.print(f"No bill synced for {result.range_label or 'this range'}.", markup=False)
        console.print("hint: margindash sync-costs (OpenAI, Anthropic) or margindash costs import FILE (AWS CUR, FOCUS)", markup=False)
        _print_provisional(console, result)
        return
    lead = {"day": [("provider", "left"), ("day", "left"), ("model", "left")], "month": [("provider", "left"), ("month", "left"), ("model", "left")],
            "model": [("provider", "left"), ("model", "left")], "project": [("provider", "left"), ("project", "left"), ("model", "left")]}[result.by]  # fmt: skip
    heads = {"unpriced_calls": "unpriced", "untracked_usage": "untracked", "price_difference": "price diff",
             "unlogged_charges": "no-log charges", "remaining": "remaining"}  # fmt: skip
    cols = [*lead, ("computed", "right"), ("billed", "right"), ("gap", "right"), ("gap %", "right"), ("coverage", "right"),
            ("rate vs ours", "right"), *((heads[p], "right") for p in PARTS)]  # fmt: skip

    def cells(r: Any, lead_values: list[str]) -> list[str]:
        pct = r.gap_pct()
        cov = r.coverage_pct()
        rate = r.effective_rate_pct()
        return [*lead_values, kit.display_money(_usd(r.computed)), kit.display_money(_usd(r.billed)),
                kit.display_money(_usd(r.gap)), "-" if pct is None else f"{pct:.1f}%", "-" if cov is None else f"{cov:.1f}%",
                "-" if rate is None else f"{rate:.1f}%", *(kit.display_money(_usd(r.parts[p])) for p in PARTS)]  # fmt: skip

    body = []
    for r in result.rows:
        values = {"day": [r.provider, r.period, r.model or "-"], "month": [r.provider, r.period, r.model or "-"],
                  "model": [r.provider, r.model or "-"], "project": [r.provider, r.project or "(default)", r.model or "-"]}[result.by]  # fmt: skip
        body.append(cells(r, values))
    footer = cells(result.totals, ["total"] + [""] * (len(lead) - 1))
    kit.print_fitted(console, f"Computed vs billed · {result.range_label} (UTC days)", cols, body, footer=footer,
                        drop=("coverage", "rate vs ours", "unpriced", "remaining"))  # fmt: skip
    console.print("rate vs ours: the bill's amount for the tokens we logged, as a percent of our price (90% = a 10% discount).",
                  markup=False)  # fmt: skip
    if result.over_tolerance:
        shown = ", ".join(f"{r.provider} {r.period} ({'-' if r.gap_pct() is None else f'{r.gap_pct():.1f}%'})" for r in result.over_tolerance[:5])
        more = f" and {len(result.over_tolerance) - 5} more" if len(result.over_tolerance) > 5 else ""
        console.print(f"over the {result.tolerance_pct}% tolerance: {shown}{more} (exit 3)", markup=False)
    _print_provisional(console, result)


def _print_provisional(console: Any, result: Any) -> None:
    for provider, days in result.provisional_days.items():
        span = days[0] if len(days) == 1 else f"{days[0]} to {days[-1]}"
        console.print(f"provisional: {provider} has logged calls on {len(days)} day(s) ({span}) with no bill synced; not reconciled.",
                      markup=False)  # fmt: skip
