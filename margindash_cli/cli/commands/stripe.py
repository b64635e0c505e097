"""`margindash sync-stripe` and `stripe apply-event`: revenue from Stripe."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional

import typer

from margindash_cli.cli.options import JsonSummaryOption

stripe_app = typer.Typer(help="Stripe webhooks: apply an event you received.", no_args_is_help=True)

KeyFile = typer.Option(
    None, "--api-key-file", dir_okay=False, help="Read the Stripe key from FILE (mode 600) instead of STRIPE_API_KEY."
)


def register(root: typer.Typer) -> None:
    root.command("sync-stripe")(sync_stripe)
    root.add_typer(stripe_app, name="stripe")


def sync_stripe(
    ctx: typer.Context,
    since: Optional[str] = typer.Option(
        None,
        "--since",
        help="List objects created from this day or month (YYYY-MM-DD or YYYY-MM, UTC) instead of the cursors.",
    ),
    full: bool = typer.Option(
        False,
        "--full",
        help="Read everything again (backfill), link every refund and dispute to its invoices again, and rebuild all Stripe revenue.",
    ),
    include_open: bool = typer.Option(
        False, "--include-open", help="Count open (finalized, unpaid) invoices too, not only paid ones."
    ),
    customer_key: str = typer.Option(
        "customer_id",
        "--customer-key",
        envvar="MARGINDASH_STRIPE_CUSTOMER_KEY",
        help="Customer metadata key holding your app's customer id (else the Stripe id is used).",
    ),
    segment_key: str = typer.Option(
        "segment",
        "--segment-key",
        envvar="MARGINDASH_STRIPE_SEGMENT_KEY",
        help="Customer metadata key holding the segment reports group by.",
    ),
    plan_key: str = typer.Option(
        "plan", "--plan-key", envvar="MARGINDASH_STRIPE_PLAN_KEY", help="Customer metadata key holding the plan."
    ),
    api_key_file: Optional[Path] = KeyFile,
    as_json: JsonSummaryOption = False,
) -> None:
    """Sync revenue per customer from Stripe, exactly and incrementally (safe to run from cron).

    Counts invoice lines net of discounts and tax, spread over their service period (recognized revenue),
    minus credit notes, refunds and lost disputes, in each currency (converted to USD at Stripe's settlement
    rate or an imported rate). A refund or dispute is booked on the invoices its payment paid (split by amount
    paid); one no invoice payment matches is not counted and is named in the warnings on every run.
    Needs STRIPE_API_KEY (a restricted read-only key is enough) or --api-key-file. Incremental and safe
    to run from cron: each run lists all customers, re-lists invoices and disputes of the last 35 days,
    refunds of the last 120 days and credit notes of the last 400 days, and re-reads by id every open,
    uncollectible or recent draft invoice, pending refund and open dispute, whatever its age; so a second
    run changes nothing. --full is still needed for a change Stripe makes later than that: a refund that
    fails more than 120 days after it was created, a credit note voided more than 400 days after, or
    links stored by an older version. A run is one transaction: on any failure nothing is written.

    Example: margindash sync-stripe --json
    """
    from margindash_cli.cli.options import open_store  # lazy: start-up
    from margindash_cli.cli.render import kit  # lazy: start-up
    from margindash_cli.cli.render import stripe as stripe_view  # lazy: start-up
    from margindash_cli.clients.stripe_api import StripeApi, api_base, connect, load_api_key  # lazy: start-up
    from margindash_cli.revenue.stripe_math import Settings, parse_since  # lazy: start-up
    from margindash_cli.revenue.stripe_sync import SyncOptions  # lazy: start-up
    from margindash_cli.revenue.stripe_sync import sync_stripe as run_sync  # lazy: start-up

    key = load_api_key(os.environ, api_key_file)
    settings = Settings(
        customer_key=customer_key.strip(),
        segment_key=segment_key.strip(),
        plan_key=plan_key.strip(),
        include_open=include_open,
    )
    opts = SyncOptions(since=parse_since(since) if since else None, full=full, settings=settings)
    api = StripeApi(connect(key, api_base(os.environ)), secrets=(key,))
    with open_store(ctx) as store:
        result = run_sync(store, api, opts)
    for w in result.warnings:
        kit.warn(w)
    if as_json:
        kit.emit_json(result)
        return
    stripe_view.print_stripe_sync(result)


@stripe_app.command("apply-event")
def apply_event(
    ctx: typer.Context,
    file: str = typer.Argument(..., help="The webhook request body, as received ('-' reads stdin)."),
    signature: str = typer.Option(..., "--signature", help="The request's Stripe-Signature header (t=...,v1=...)."),
    api_key_file: Optional[Path] = KeyFile,
    as_json: bool = typer.Option(False, "--json", help="Print the outcome as JSON."),
) -> None:
    """Verify a Stripe webhook with STRIPE_WEBHOOK_SECRET and apply its invoice, credit note, refund or customer.

    A bad signature, or one older than 5 minutes, is rejected and nothing is applied. An event older than
    what is stored is skipped. With an API key (STRIPE_API_KEY or --api-key-file) what the payload lacks
    (more invoice lines, a refund's invoice, the settlement rate) is read from Stripe; without one it is
    left for the next sync-stripe.

    Example: margindash stripe apply-event body.json --signature "$STRIPE_SIGNATURE_HEADER"
    """
    from margindash_cli.cli.options import open_store  # lazy: start-up
    from margindash_cli.cli.render import kit  # lazy: start-up
    from margindash_cli.clients.stripe_api import (  # lazy: start-up
        KEY_ENV,
        StripeApi,
        api_base,
        connect,
        load_api_key,
        verify_event,
        webhook_secret,
    )
    from margindash_cli.errors import InputError  # lazy: start-up
    from margindash_cli.revenue.stripe_math import Settings  # lazy: start-up
    from margindash_cli.revenue.stripe_sync import apply_event as run_apply  # lazy: start-up

    secret = webhook_secret(os.environ)
    try:
        payload = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {file}: {exc.strerror}") from None
    event = verify_event(payload, signature, secret)
    api = None
    if api_key_file is not None or os.environ.get(KEY_ENV):
        key = load_api_key(os.environ, api_key_file)
        api = StripeApi(connect(key, api_base(os.environ)), secrets=(key, secret))
    defaults = Settings(customer_key=os.environ.get("MARGINDASH_STRIPE_CUSTOMER_KEY", "customer_id"))
    with open_store(ctx) as store:
        result = run_apply(store, event, api, default_settings=defaults)
    for w in result.warnings:
        kit.warn(w)
    if as_json:
        kit.emit_json(result)
        return
    kit.stdout_console().print(
        f"{result.event} ({result.type}): {result.reason}; revenue refs changed: {result.refs_changed}.", markup=False
    )
