"""`margindash revenue import`: revenue from any billing system, as CSV."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="Revenue from billing systems other than Stripe.", no_args_is_help=True)


@app.command("import")
def import_csv(
    ctx: typer.Context,
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV with customer_id, amount, currency, and date or period_start/period_end."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Import revenue from a CSV file; a period's amount is spread evenly over its days.

    Amounts are decimals in major units (499.00 USD, 5000 JPY). Importing a file with the same name
    again replaces what it imported before, so a corrected export can simply be re-imported. A bad
    row stops the import with its line number, and nothing is imported.

    Example: margindash revenue import invoices-2026-10.csv
    """
    from decimal import Decimal

    from ..errors import InputError
    from ..money import minor_exponent
    from ..render import print_json, stdout_console
    from ..fx import FX_MAX_AGE_DAYS
    from ..revenue import parse_revenue_csv, revenue_rows
    from ._common import open_store

    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{file}: not UTF-8 text", "export the CSV as UTF-8") from None
    days = parse_revenue_csv(text, str(file))
    with open_store(ctx) as store:
        n = store.replace_revenue(f"csv:{file.name}", revenue_rows(days, lambda cur, day: store.fx_rate(cur, day, FX_MAX_AGE_DAYS)))
    totals: dict[str, int] = {}
    for d in days:
        totals[d.currency] = totals.get(d.currency, 0) + d.amount_minor
    summary = {
        "file": str(file),
        "day_rows": n,
        "customers": len({d.customer_id for d in days}),
        "totals": {c: format(Decimal(v).scaleb(-minor_exponent(c)), "f") for c, v in sorted(totals.items())},
    }
    if as_json:
        print_json(summary)
        return
    parts = ", ".join(f"{amount} {cur.upper()}" for cur, amount in summary["totals"].items()) or "nothing"
    stdout_console().print(f"Imported {parts} for {summary['customers']} customer(s) from {file.name} ({n} day rows).", markup=False)
