"""`margindash revenue import`: revenue from any billing system, as CSV."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="Revenue from billing systems other than Stripe.", no_args_is_help=True)


@app.command("import")
def import_csv(
    ctx: typer.Context,
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV with customer_id, amount, currency, and date or period_start/period_end."),
    replace_by_name: bool = typer.Option(False, "--replace-by-name", help="Also replace what an older margindash imported under this file's name alone (imports are now keyed by path)."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Import revenue from a CSV file; a period's amount is spread evenly over its days.

    Amounts are decimals in major units (499.00 USD, 5000 JPY). An import is keyed by the file's full
    path: importing the same path again replaces what it imported before (the summary says what), so a
    corrected export can simply be re-imported; another file of the same name (oct/revenue.csv,
    nov/revenue.csv) is a separate import. A bad row stops the import with its line and field, and
    nothing is imported.

    Example: margindash revenue import invoices-2026-10.csv
    """
    from decimal import Decimal

    from margindash_cli.errors import InputError
    from margindash_cli.revenue.fx import FX_MAX_AGE_DAYS
    from margindash_cli.core.money import minor_exponent
    from margindash_cli.cli.render.kit import emit_json, stdout_console, warn
    from margindash_cli.revenue.csv_import import parse_revenue_csv, revenue_rows
    from margindash_cli.cli.options import open_store

    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{file}: not UTF-8 text", "export the CSV as UTF-8") from None
    days = parse_revenue_csv(text, str(file))
    path = file.resolve()

    def totals_of(pairs) -> dict[str, str]:
        acc: dict[str, int] = {}
        for cur, minor in pairs:
            acc[cur] = acc.get(cur, 0) + minor
        return {c: format(Decimal(v).scaleb(-minor_exponent(c)), "f") for c, v in sorted(acc.items())}

    with open_store(ctx) as store:
        rows = revenue_rows(days, lambda cur, day: store.fx_rate(cur, day, FX_MAX_AGE_DAYS))
        n, replaced, legacy, legacy_replaced = store.import_revenue_file(f"csv:{path}", rows, f"csv:{file.name}",
                                                                        replace_legacy=replace_by_name)  # fmt: skip
    summary = {
        "file": str(file),
        "source": f"csv:{path}",
        "day_rows": n,
        "customers": len({d.customer_id for d in days}),
        "totals": totals_of((d.currency, d.amount_minor) for d in days),
        "replaced": {"day_rows": len(replaced), "totals": totals_of((r[3], r[2]) for r in replaced)},
        "warnings": [],
    }
    if legacy_replaced:
        summary["replaced"] = {"day_rows": len(legacy), "totals": totals_of((r[3], r[2]) for r in legacy)}
    elif legacy:
        summary["warnings"].append(
            f"an earlier import of a file named {file.name} (keyed by name, before imports were keyed by path: "
            f"{', '.join(f'{a} {c.upper()}' for c, a in totals_of((r[3], r[2]) for r in legacy).items())}) differs from this file"
            " and is kept; if this file replaces it, import it again with --replace-by-name"
        )
    for w in summary["warnings"]:
        warn(w)
    if as_json:
        emit_json(summary)
        return
    parts = ", ".join(f"{amount} {cur.upper()}" for cur, amount in summary["totals"].items()) or "nothing"
    text_out = f"Imported {parts} for {summary['customers']} customer(s) from {file.name} ({n} day rows)."
    if summary["replaced"]["day_rows"]:
        was = ", ".join(f"{amount} {cur.upper()}" for cur, amount in summary["replaced"]["totals"].items())
        text_out += f" Replaced {was} ({summary['replaced']['day_rows']} day rows) imported from this file before."
    stdout_console().print(text_out, markup=False)
