"""`margindash doctor`: check the store, and exit non-zero when something needs attention (for cron)."""

from __future__ import annotations

from datetime import UTC

import typer


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)


def doctor(
    ctx: typer.Context,
    full: bool = typer.Option(
        False, "--full", help="Run SQLite's full integrity_check (every index too) instead of quick_check."
    ),
    price_max_age_days: int = typer.Option(
        30, "--price-max-age-days", min=1, help="Warn when the newest prices are older than this."
    ),
    stripe_max_age_hours: int = typer.Option(
        48,
        "--stripe-max-age-hours",
        min=1,
        help="Warn when the last sync-stripe is older than this (once Stripe was synced).",
    ),
    verbose: bool = typer.Option(
        False, "--verbose", help="Print every field of each file checkpoint (offset, identity, updated_at)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the checks as JSON."),
) -> None:
    """Check the store: integrity, rollups equal to events, unpriced models, stale prices, Stripe sync, alerts, checkpoints.

    Exits 0 when all is well, 3 when something needs attention (a warning), 1 when the store is damaged.

    Example: margindash doctor --json
    """
    from datetime import datetime  # lazy: start-up

    from margindash_cli.cli.options import open_store  # lazy: start-up
    from margindash_cli.cli.render import doctor as doctor_view  # lazy: start-up
    from margindash_cli.cli.render import kit  # lazy: start-up
    from margindash_cli.doctor.run import run_checks  # lazy: start-up

    with open_store(ctx, create=False) as store:
        result = run_checks(
            store,
            now=datetime.now(UTC),
            full=full,
            price_max_age_days=price_max_age_days,
            stripe_max_age_hours=stripe_max_age_hours,
        )
    if as_json:
        kit.emit_json(result)
    else:
        doctor_view.print_doctor(result, verbose=verbose)
    raise typer.Exit(result.exit_code)
