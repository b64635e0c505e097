"""`margindash budget set|list|rm|check`: spend limits per organisation, feature or customer.

Exit codes of `budget check`: 0 when no budget is at or above --fail-on; else 3 (warning), 4 (critical)
or 5 (exceeded) for the highest level reached; else 1 when the blocklist could not be written; else 6 when an
alert could not be delivered; 2 for a usage error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from margindash_cli.cli import options
from margindash_cli.cli.options import TZ_FLAGS, JsonOption, JsonResultOption

app = typer.Typer(
    help="Spend limits per organisation, feature or customer: alerts, a blocklist, CI exit codes.", no_args_is_help=True
)


@app.command("set")
def set_budget(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="A name for the budget (letters, digits, . _ - : @)."),
    scope: str = typer.Option(..., "--scope", help="org, feature:NAME (an event_type) or customer:ID."),
    limit_usd: str = typer.Option(..., "--limit-usd", help="The limit per period, in US dollars (exact decimal)."),
    period: str = typer.Option(
        ..., "--period", help="day|week|month, calendar-aligned in --tz (a week starts on Monday)."
    ),
    tz: str = typer.Option("UTC", *TZ_FLAGS, help="Time zone of the period boundaries, e.g. Europe/Paris."),
    warn: str = typer.Option("75", "--warn", help="Warning level, in % of the limit."),
    critical: str = typer.Option("90", "--critical", help="Critical level, in % of the limit (at or above --warn)."),
    emails: Optional[list[str]] = typer.Option(None, "--email", help="Send alerts to this address (repeatable)."),
    as_json: bool = typer.Option(False, "--json", help="Print the budget as JSON."),
) -> None:
    """Create a budget, or replace the one with this name.

    Example: margindash budget set acme-monthly --scope customer:acme --limit-usd 500 --period month --email ops@example.com
    """
    from margindash_cli.budgets import run as budgeting  # lazy: start-up
    from margindash_cli.budgets.compute import make_budget  # lazy: start-up
    from margindash_cli.cli.options import open_store  # lazy: start-up
    from margindash_cli.cli.render import budget as budget_view  # lazy: start-up
    from margindash_cli.cli.render import kit  # lazy: start-up

    budget = make_budget(
        name, scope=scope, limit_usd=limit_usd, period=period, tz=tz, warn=warn, critical=critical, emails=emails or []
    )
    with open_store(ctx) as store:
        created = budgeting.save_budget(store, budget)
        warnings = [w for w in (budgeting.scope_warning(store, budget), budgeting.email_warning(budget)) if w]
    budget_view.emit_budget_saved(budgeting.SavedBudget(budget, created), as_json)
    for w in warnings:  # saved all the same (the calls may come later), but never without a word
        kit.warn(w)


@app.command("list")
def list_budgets(
    ctx: typer.Context,
    as_json: JsonOption = False,
) -> None:
    """Show every budget with its spend so far, % used, level and projection to the period's end.

    Spend is the priced cost of the current period; calls with no price are shown next to it as a risk.

    Example: margindash budget list
    """
    from margindash_cli.budgets import run as budgeting  # lazy: start-up
    from margindash_cli.cli.options import open_store  # lazy: start-up
    from margindash_cli.cli.render import budget as budget_view  # lazy: start-up

    now = options.clock()
    with open_store(ctx, create=False) as store:
        statuses = budgeting.evaluate_all(store, now)
    budget_view.emit_budget_list(budgeting.BudgetList(statuses, now), as_json)


@app.command("rm")
def remove(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The budget to remove."),
) -> None:
    """Remove a budget (the alerts it sent stay recorded, so re-creating it does not send them again).

    Example: margindash budget rm acme-monthly
    """
    from margindash_cli.budgets import run as budgeting  # lazy: start-up
    from margindash_cli.cli.options import open_store  # lazy: start-up

    with open_store(ctx, create=False) as store:
        budgeting.remove_budget(store, name)
    print(f"removed budget {name}")


@app.command("check")
def check(
    ctx: typer.Context,
    fail_on: str = typer.Option(
        "exceeded", "--fail-on", help="warning|critical|exceeded: the lowest level that makes the exit code non-zero."
    ),
    webhook: Optional[str] = typer.Option(
        None,
        "--webhook",
        envvar="MARGINDASH_WEBHOOK_URL",
        show_envvar=False,
        help="Also POST each alert as JSON (Slack-compatible `text`) to this URL (env MARGINDASH_WEBHOOK_URL).",
    ),
    blocklist: Optional[Path] = typer.Option(
        None,
        "--blocklist",
        help="Write the customers and features over budget to this JSON file (atomically), for the guard.",
    ),
    blocklist_ttl: int = typer.Option(
        60, "--blocklist-ttl", min=1, help="Seconds a reader may cache the blocklist (written into the file)."
    ),
    as_json: JsonResultOption = False,
) -> None:
    """Evaluate every budget, send each alert once, write the blocklist, and exit non-zero on a breach (for cron and CI).

    Alerts go by email (each budget's --email, through MARGINDASH_SMTP_URL and MARGINDASH_ALERT_FROM)
    and to --webhook, once per budget, level and period. A failed send is reported and retried on the
    next run; it does not stop the other budgets.

    Exit codes: 0 nothing at or above --fail-on (default exceeded); 3 warning, 4 critical, 5 exceeded
    (the highest level reached); else 1 the blocklist could not be written; else 6 an alert could not be
    delivered; 2 usage error. Budgets whose customer or feature has no stored call are named on stderr.

    Example: margindash budget check --fail-on critical --blocklist /srv/app/blocklist.json
    """
    import sys  # lazy: start-up

    from margindash_cli.budgets import run as budgeting  # lazy: start-up
    from margindash_cli.budgets.compute import FAIL_ON  # lazy: start-up
    from margindash_cli.cli.options import open_store  # lazy: start-up
    from margindash_cli.cli.render import budget as budget_view  # lazy: start-up
    from margindash_cli.cli.render import kit  # lazy: start-up
    from margindash_cli.errors import UsageError  # lazy: start-up

    if fail_on not in FAIL_ON:
        raise UsageError(f"unknown --fail-on {fail_on!r}", f"use one of {', '.join(FAIL_ON)}")
    now = options.clock()
    with open_store(ctx, create=False) as store:
        result = budgeting.run_check(
            store,
            now,
            fail_on=fail_on,
            webhook_url=webhook or None,
            blocklist_path=blocklist,
            blocklist_ttl=blocklist_ttl,
        )
        idle = [w for w in (budgeting.scope_warning(store, s.budget) for s in result.statuses) if w]
        idle += [w for w in [budgeting.readonly_warning(store, result)] if w]
    budget_view.emit_budget_check(result, as_json)
    for w in idle:
        kit.warn(w)
    print(budgeting.summary_line(result), file=sys.stderr)
    if result.exit_code:
        raise typer.Exit(result.exit_code)
