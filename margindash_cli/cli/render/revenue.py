"""The summary line of `margindash revenue import`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from margindash_cli.cli.render.kit import stdout_console

if TYPE_CHECKING:
    from margindash_cli.revenue.run import RevenueImport


def print_revenue_import(result: RevenueImport) -> None:
    parts = ", ".join(f"{amount} {cur.upper()}" for cur, amount in result.totals.items()) or "nothing"
    text_out = (
        f"Imported {parts} for {result.customers} customer(s) from {result.file.name} ({result.day_rows} day rows)."
    )
    if result.replaced["day_rows"]:
        was = ", ".join(f"{amount} {cur.upper()}" for cur, amount in result.replaced["totals"].items())
        text_out += f" Replaced {was} ({result.replaced['day_rows']} day rows) imported from this file before."
    stdout_console().print(text_out, markup=False)
