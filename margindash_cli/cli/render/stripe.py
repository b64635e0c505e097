"""The summary of `margindash sync-stripe`."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from margindash_cli.cli.render.kit import stdout_console

if TYPE_CHECKING:
    from margindash_cli.revenue.stripe_sync import StripeSyncResult


def _revenue_parts(revenue: dict[str, dict[str, str]]) -> str:
    parts = []
    for cur, r in sorted(revenue.items()):
        if cur == "usd":
            parts.append(f"{r['amount']} USD")
            continue
        text = f"{r['amount']} {cur.upper()}"
        notes = []
        if Decimal(r["usd"]):
            notes.append(f"{r['usd']} USD converted")
        if Decimal(r["unconverted"]):
            notes.append(f"{r['unconverted']} {cur.upper()} unconverted")
        parts.append(text + (f" ({'; '.join(notes)})" if notes else ""))
    return ", ".join(parts) or "none"


def print_stripe_sync(result: StripeSyncResult) -> None:
    """The summary of a sync-stripe run (StripeSyncResult)."""
    console = stdout_console()
    n = result.listed
    window = f"created since {result.window_since}" if result.window_since else "everything"
    console.print(
        f"Stripe ({window}): listed invoices {n['invoices']}, credit notes {n['credit_notes']}, refunds {n['refunds']},"
        f" customers {n['customers']}; {result.requests} requests, {result.retries} retried.",
        markup=False,
    )
    console.print(
        f"Revenue changed for {result.refs_changed} Stripe object(s); invoices counted: {result.invoices_counted}.",
        markup=False,
    )
    console.print(f"Stripe revenue stored: {_revenue_parts(result.revenue)}.", markup=False)
    if any(Decimal(r["unconverted"]) for r in result.revenue.values()):
        console.print(
            "hint: margindash fx import FILE.csv converts the rest (reports list it separately until then)",
            markup=False,
        )
    if result.unmapped_customers:
        shown = ", ".join(result.unmapped_customers[:5]) + (" ..." if len(result.unmapped_customers) > 5 else "")
        console.print(
            f"unmapped: {len(result.unmapped_customers)} Stripe customer(s) have no customer id in their metadata: {shown}",
            markup=False,
        )
        console.print(
            "hint: margindash customers map cus_... CUSTOMER_ID, or set the metadata key (--customer-key)", markup=False
        )
