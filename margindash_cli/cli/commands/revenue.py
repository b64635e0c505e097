"""`margindash revenue import`: revenue from any billing system, as CSV."""

from __future__ import annotations

from pathlib import Path

import typer

from margindash_cli.cli.options import JsonSummaryOption

app = typer.Typer(help="Revenue from billing systems other than Stripe.", no_args_is_help=True)


@app.command("import")
def import_csv(
    ctx: typer.Context,
    file: Path = typer.Argument(
        ...,
        help="CSV with customer_id, amount, currency, and date or period_start/period_end.",
    ),
    replace_by_name: bool = typer.Option(
        False,
        "--replace-by-name",
        help="Also replace what an older margindash imported under this file's name alone (imports are now keyed by path).",
    ),
    as_json: JsonSummaryOption = False,
) -> None:
    """Import revenue from a CSV file; a period's amount is spread evenly over its days.

    Amounts are decimals in major units (499.00 USD, 5000 JPY). An import is keyed by the file's full
    path: importing the same path again replaces what it imported before (the summary says what), so a
    corrected export can simply be re-imported; another file of the same name (oct/revenue.csv,
    nov/revenue.csv) is a separate import. A bad row stops the import with its line and field, and
    nothing is imported.

    Example: margindash revenue import invoices-2026-10.csv
    """
    from margindash_cli.cli.options import open_store  # lazy: start-up
    from margindash_cli.cli.render import kit  # lazy: start-up
    from margindash_cli.cli.render import revenue as revenue_view  # lazy: start-up
    from margindash_cli.revenue.run import import_revenue, read_revenue_csv  # lazy: start-up

    days = read_revenue_csv(file)
    with open_store(ctx) as store:
        result = import_revenue(store, file, days, replace_by_name=replace_by_name)
    for w in result.warnings:
        kit.warn(w)
    if as_json:
        kit.emit_json(result)
        return
    revenue_view.print_revenue_import(result)
