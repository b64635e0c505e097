"""Tables of `margindash customers list`."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from margindash_cli.cli.render.kit import print_fitted, stdout_console, table
from margindash_cli.core.money import display_usd

if TYPE_CHECKING:
    from margindash_cli.revenue.stripe_sync import CustomersResult


def print_customers(result: CustomersResult, unmatched: bool) -> None:
    """`customers list` (CustomersResult): every Stripe customer, or only the unmatched ones."""
    console = stdout_console()
    if not unmatched:
        if not result.customers:
            console.print("No Stripe customers yet. hint: margindash sync-stripe", markup=False)
            return
        rows = [
            [
                c["stripe_customer"],
                c["customer_id"],
                c["mapped_by"],
                c["segment"] or "",
                c["plan"] or "",
                display_usd(Decimal(c["stripe_revenue_usd"])),
                f"{c['events']:,}",
            ]
            for c in result.customers
        ]
        cols = [
            ("stripe customer", "left"),
            ("customer id", "left"),
            ("mapped by", "left"),
            ("segment", "left"),
            ("plan", "left"),
            ("stripe revenue", "right"),
            ("events", "right"),
        ]
        print_fitted(console, "Stripe customers", cols, rows, drop=("plan", "segment"))
        return
    rows = [
        [c["stripe_customer"], c["customer_id"], display_usd(Decimal(c["stripe_revenue_usd"]))]
        for c in result.stripe_without_usage
    ]
    if rows:
        console.print(
            table(
                "Stripe customers with revenue and no usage",
                [("stripe customer", "left"), ("customer id", "left"), ("stripe revenue", "right")],
                rows,
            )
        )
    else:
        console.print("Every Stripe customer with revenue has usage.", markup=False)
    rows = [[c["customer_id"], f"{c['events']:,}"] for c in result.usage_without_revenue]
    if rows:
        console.print(table("Usage customers with no revenue", [("customer id", "left"), ("events", "right")], rows))
    else:
        console.print("Every customer with usage has revenue.", markup=False)
    if result.stripe_without_usage or result.usage_without_revenue:
        console.print(
            "hint: margindash customers map cus_... CUSTOMER_ID joins a Stripe customer to your id", markup=False
        )
