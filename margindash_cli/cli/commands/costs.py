"""`margindash sync-costs`, `costs import` and `reconcile`: the providers' bills against our computed costs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer

from margindash_cli.cli.options import JsonSummaryOption, Period

costs_app = typer.Typer(help="Billed costs from files: AWS CUR 2.0 and FOCUS 1.x exports.", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    root.command("sync-costs")(sync_costs)
    root.command("reconcile")(reconcile)
    root.add_typer(costs_app, name="costs")


def sync_costs(
    ctx: typer.Context,
    provider: Optional[list[str]] = typer.Option(
        None, "--provider", help="openai|anthropic; repeat for both (default: every provider with a key)."
    ),
    since: Optional[str] = typer.Option(
        None,
        "--since",
        help="Read from this UTC day or month (YYYY-MM-DD or YYYY-MM) instead of the last sync minus 7 days.",
    ),
    full: bool = typer.Option(
        False, "--full", help="Read again from the first day ever synced (90 days back on a first run)."
    ),
    openai_key_file: Optional[Path] = typer.Option(
        None,
        "--openai-key-file",
        dir_okay=False,
        help="Read the OpenAI admin key from FILE (mode 600) instead of OPENAI_ADMIN_KEY.",
    ),
    anthropic_key_file: Optional[Path] = typer.Option(
        None,
        "--anthropic-key-file",
        dir_okay=False,
        help="Read the Anthropic admin key from FILE (mode 600) instead of ANTHROPIC_ADMIN_KEY.",
    ),
    as_json: JsonSummaryOption = False,
) -> None:
    """Pull daily billed costs and usage from the OpenAI and Anthropic admin APIs into the store (safe to cron).

    Needs OPENAI_ADMIN_KEY and/or ANTHROPIC_ADMIN_KEY (admin keys; an organization Owner makes them). Each run
    re-reads from a week before its last synced day and replaces those days, so a re-run changes nothing and a
    day the provider revised is replaced, not added. All providers are fetched, then written in one transaction.

    Example: margindash sync-costs && margindash reconcile --period last-month
    """
    from margindash_cli.cli.options import now, open_store  # lazy: start-up
    from margindash_cli.cli.render import costs as costs_view  # lazy: start-up
    from margindash_cli.cli.render import kit  # lazy: start-up
    from margindash_cli.reconcile.run import providers_to_sync  # lazy: start-up
    from margindash_cli.reconcile.run import sync_costs as run_sync  # lazy: start-up
    from margindash_cli.revenue.stripe_math import parse_since  # lazy: start-up

    access = providers_to_sync(os.environ, provider, {"openai": openai_key_file, "anthropic": anthropic_key_file})
    since_day = parse_since(since) // 86_400 if since else None
    with open_store(ctx) as store:
        result = run_sync(store, access, since_day=since_day, full=full, now=now())
    if as_json:
        kit.emit_json(result)
        return
    costs_view.print_sync_costs(result)


@costs_app.command("import")
def costs_import(
    ctx: typer.Context,
    file: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help="An AWS CUR 2.0 export (.csv, .csv.gz, .parquet) or a FOCUS 1.x CSV."
    ),
    fmt: str = typer.Option("auto", "--format", help="auto|cur|focus (auto: from the file's columns)."),
    as_json: JsonSummaryOption = False,
) -> None:
    """Import billed costs from a cloud's billing export; re-importing the same file changes nothing.

    CUR 2.0: the Amazon Bedrock lines (token line items, Anthropic models through AWS Marketplace included),
    credits and other Bedrock charges. FOCUS 1.x (GCP, Azure, LiteLLM): every row, BilledCost in USD. A bad
    row fails the whole file with its line and column, and nothing is written.

    Example: margindash costs import cur-2026-07.csv.gz
    """
    from margindash_cli.cli.options import now, open_store  # lazy: start-up
    from margindash_cli.cli.render import costs as costs_view  # lazy: start-up
    from margindash_cli.cli.render import kit  # lazy: start-up
    from margindash_cli.reconcile.run import import_costs  # lazy: start-up

    with open_store(ctx) as store:
        result = import_costs(store, file, fmt=fmt, now=now())
    for w in result.warnings:
        kit.warn(w)
    if as_json:
        kit.emit_json(result)
        return
    costs_view.print_costs_import(file, result)


def reconcile(
    ctx: typer.Context,
    since: Optional[str] = typer.Option(None, "--since", help="From this UTC day or month (YYYY-MM-DD or YYYY-MM)."),
    until: Optional[str] = typer.Option(None, "--until", help="Up to and including this UTC date."),
    period: Period = None,
    provider: Optional[str] = typer.Option(
        None, "--provider", help="Only this provider (openai, anthropic, aws, gcp, azure...)."
    ),
    by: str = typer.Option(
        "day",
        "--by",
        help="day|month|model|project: rows per provider and day (or month) and model, per model, or per project.",
    ),
    tolerance: str = typer.Option(
        "2", "--tolerance", help="Exit 3 when a provider's day (or month) is off its bill by more than PCT percent."
    ),
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
    from margindash_cli.cli.options import now, open_store, percent  # lazy: start-up
    from margindash_cli.cli.render import costs as costs_view  # lazy: start-up
    from margindash_cli.cli.render import kit  # lazy: start-up
    from margindash_cli.core.periods import resolve_range  # lazy: start-up
    from margindash_cli.reconcile.run import reconcile as run_reconcile  # lazy: start-up

    tol = percent(tolerance, "--tolerance", "a percentage")
    rng = resolve_range(since, until, period, "UTC", now())
    with open_store(ctx, create=False) as store:
        result = run_reconcile(
            store,
            start_ms=rng.start_ms,
            end_ms=rng.end_ms,
            provider=provider,
            by=by,
            tolerance_pct=tol,
            range_label=rng.label,
        )
    if as_json:
        kit.emit_json(result)
    else:
        costs_view.print_reconcile(result)
    raise typer.Exit(result.exit_code)
