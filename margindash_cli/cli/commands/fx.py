"""`margindash fx import`: exchange rates to USD for revenue in other currencies."""

from __future__ import annotations

from pathlib import Path

import typer

from margindash_cli.cli.options import JsonSummaryOption

app = typer.Typer(help="Exchange rates to USD for revenue in other currencies.", no_args_is_help=True)


@app.command("import")
def fx_import(
    ctx: typer.Context,
    file: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help="CSV with date, currency, and usd_per_unit or units_per_usd."
    ),
    as_json: JsonSummaryOption = False,
) -> None:
    """Import exchange rates to USD; revenue that had no rate for its date is converted at once.

    Stripe revenue uses the rate Stripe applied at settlement when there is one; these rates fill in
    for the rest (open invoices, other settlement currencies) and for imported revenue. A date without a
    rate takes the latest one up to 7 days before it.

    Example: margindash fx import ecb-rates-2026.csv
    """
    from margindash_cli.cli.options import open_store  # lazy: start-up
    from margindash_cli.cli.render import fx as fx_view  # lazy: start-up
    from margindash_cli.cli.render import kit  # lazy: start-up
    from margindash_cli.errors import InputError  # lazy: start-up
    from margindash_cli.revenue.stripe_sync import import_fx  # lazy: start-up

    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{file}: not UTF-8 text", "export the CSV as UTF-8") from None
    with open_store(ctx) as store:
        result = import_fx(store, text, str(file))
    if as_json:
        kit.emit_json(result)
        return
    fx_view.print_fx_import(result)
