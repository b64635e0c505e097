"""`margindash customers map|list`: how Stripe customers map to your app's customer ids."""

from __future__ import annotations

from typing import Optional

import typer

from margindash_cli.cli.options import JsonOption

app = typer.Typer(help="How Stripe customers map to your app's customer ids.", no_args_is_help=True)


@app.command("map")
def map_customer(
    ctx: typer.Context,
    stripe_customer: str = typer.Argument(..., help="The Stripe customer id (cus_...)."),
    customer_id: Optional[str] = typer.Argument(None, help="Your app's customer id for it."),
    remove: bool = typer.Option(
        False, "--remove", help="Remove the mapping (metadata, else the Stripe id, applies again)."
    ),
) -> None:
    """Map a Stripe customer to your app's customer id; it wins over metadata, and its revenue moves at once.

    Example: margindash customers map cus_QXg1o8vcGmoR32 acme
    """
    from margindash_cli.cli.options import open_store  # lazy: start-up
    from margindash_cli.cli.render import kit  # lazy: start-up
    from margindash_cli.errors import UsageError  # lazy: start-up
    from margindash_cli.revenue.stripe_sync import map_customer as run_map  # lazy: start-up

    if remove == (customer_id is not None):
        raise UsageError("give either CUSTOMER_ID or --remove", "example: margindash customers map cus_123 acme")
    with open_store(ctx) as store:
        changed = run_map(store, stripe_customer, customer_id)
    what = f"mapped to {customer_id}" if customer_id else "mapping removed"
    kit.stdout_console().print(f"{stripe_customer}: {what}; revenue refs moved: {changed}.", markup=False)


@app.command("list")
def list_customers(
    ctx: typer.Context,
    unmatched: bool = typer.Option(
        False,
        "--unmatched",
        help="Only Stripe customers with revenue and no usage, and usage customers with no revenue.",
    ),
    as_json: JsonOption = False,
) -> None:
    """List Stripe customers with the app customer id each maps to, how, and its revenue and usage.

    Example: margindash customers list --unmatched
    """
    from margindash_cli.cli.options import open_store  # lazy: start-up
    from margindash_cli.cli.render import customers as customers_view  # lazy: start-up
    from margindash_cli.cli.render import kit  # lazy: start-up
    from margindash_cli.revenue.stripe_sync import customers_overview  # lazy: start-up

    with open_store(ctx, create=False) as store:
        result = customers_overview(store)
    if as_json:
        kit.emit_json(result.to_json(unmatched))
        return
    customers_view.print_customers(result, unmatched)
