"""The summary of `margindash fx import`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from margindash_cli.cli.render.kit import stdout_console

if TYPE_CHECKING:
    from margindash_cli.revenue.stripe_sync import FxImportResult


def print_fx_import(result: FxImportResult) -> None:
    console = stdout_console()
    console.print(
        f"Imported {result.rates} rate(s) for {', '.join(c.upper() for c in result.currencies)} from {result.first_day}"
        f" to {result.last_day}; converted {result.revenue_rows_converted} imported revenue row(s) and"
        f" {result.stripe_refs_changed} Stripe object(s).",
        markup=False,
    )
    if result.unconverted:
        parts = ", ".join(
            f"{amount:,} {cur.upper()} (minor units)" for cur, amount in sorted(result.unconverted.items())
        )
        console.print(f"still unconverted (no rate within 7 days): {parts}", markup=False)
