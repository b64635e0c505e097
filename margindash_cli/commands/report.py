"""`margindash report`: revenue, cost and margin by customer, feature, model, segment, tag or time."""

from __future__ import annotations

from typing import Optional

import typer

DIMS_HELP = "customer|feature|model|vendor|segment|tag:NAME|day|week|month"
FORMATS = ("table", "json", "csv", "markdown")

app = typer.Typer(
    help="Revenue, cost and margin by customer, feature, model, segment, tag or time.",
    invoke_without_command=True,
)


@app.callback()
def report(
    ctx: typer.Context,
    by: Optional[list[str]] = typer.Option(None, "--by", help=f"Group by {DIMS_HELP}; repeat for nested groups (default: customer)."),
    since: Optional[str] = typer.Option(None, "--since", help="From this date (YYYY-MM-DD, in --tz)."),
    until: Optional[str] = typer.Option(None, "--until", help="Up to and including this date."),
    period: Optional[str] = typer.Option(None, "--period", help="today|7d|30d|mtd|last-month|YYYY-MM."),
    tz: str = typer.Option("UTC", "--tz", help="Time zone of dates and days, e.g. Asia/Tokyo."),
    customer: Optional[str] = typer.Option(None, "--customer", help="Only this customer."),
    feature: Optional[str] = typer.Option(None, "--feature", help="Only this feature (its share of each customer's revenue)."),
    model: Optional[str] = typer.Option(None, "--model", help="Only this model (its share of each customer's revenue)."),
    sort: str = typer.Option("margin", "--sort", help="margin|margin_pct (worst first) or cost|revenue|events (biggest first)."),
    top: Optional[int] = typer.Option(None, "--top", min=1, help="Show the first N rows and sum the rest into one '(other)' row."),
    breakdown: Optional[str] = typer.Option(None, "--breakdown", help="Add a second level: model|feature."),
    allocate: str = typer.Option("events", "--allocate", help="Spread a customer's revenue over its features/models by events|tokens|cost."),
    band: str = typer.Option("5", "--band", help="Margin %% band for break-even: within +-BAND is break-even."),
    fmt: str = typer.Option("table", "--format", help="table|json|csv|markdown."),
    as_json: bool = typer.Option(False, "--json", help="Same as --format json."),
) -> None:
    """Show revenue, cost, margin and margin % per group, worst margin first, with a totals row.

    Revenue that a call carries stays with that call's feature; a customer's other revenue (imported
    or from Stripe) is spread over its features and models by their share of events (--allocate).
    Money in JSON/CSV is exact; the table rounds to the cent.

    Example: margindash report --by customer --period 30d
    """
    if ctx.invoked_subcommand is not None:
        return
    from decimal import Decimal, InvalidOperation

    from ..errors import UsageError
    from ..reporting import ReportQuery, run_report

    dims = list(by or ["customer"])
    if breakdown:
        if breakdown not in ("model", "feature"):
            raise UsageError(f"unknown --breakdown {breakdown!r}", "use model or feature")
        dims.append(breakdown)
    output = "json" if as_json else fmt
    if output not in FORMATS:
        raise UsageError(f"unknown --format {fmt!r}", f"use one of {', '.join(FORMATS)}")
    try:
        band_pct = Decimal(band)
    except InvalidOperation:
        raise UsageError(f"--band {band!r} is not a number") from None
    query = ReportQuery(dims=dims, since=since, until=until, period=period, tz=tz, customer=customer, feature=feature,
                        model=model, sort=sort, top=top, allocate=allocate, band_pct=band_pct)  # fmt: skip
    from ._common import open_store

    with open_store(ctx, create=False) as store:
        result = run_report(store, query)
    from .. import render

    render.emit_report(result, output)
