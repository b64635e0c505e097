"""`margindash report`: revenue, cost and margin by customer, feature, model, segment, tag or time.

Subcommands: `trend` (margin over time per group), `cohorts` (margin by month since each customer's
first call) and `concentration` (the top 10%/20% of customers' share of cost). The period and output
options are declared once in cli/options.py and shared by all four.
"""

from __future__ import annotations

from typing import Annotated, Any, Optional

import typer

from margindash_cli.cli.options import (
    TERMINAL_TOP,
    Allocate,
    AsJson,
    Band,
    Customer,
    Feature,
    Format,
    Model,
    Period,
    ReportFormat,
    RevenueBasis,
    Since,
    Totals,
    Tz,
    Until,
    band_pct,
    now,
    rows_to_show,
)

DIMS_HELP = "customer|feature|model|vendor|segment|plan|tag:NAME|day|week|month"
FORMATS = ("table", "json", "csv", "markdown", "html")

# --top and --all of every report: declared once. The default depends on where the output goes (see _top).
Top = Annotated[
    Optional[int],
    typer.Option(
        "--top",
        min=0,
        help=f"Show the first N rows and sum the rest into one '(other N)' row; 0 = all. Default: {TERMINAL_TOP}"
        " in a table on a terminal, else all.",
    ),
]
All = Annotated[bool, typer.Option("--all", help="Every row, also in a table on a terminal.")]

app = typer.Typer(
    help="Revenue, cost and margin by customer, feature, model, segment, tag or time.",
    invoke_without_command=True,
)


@app.callback()
def report(
    ctx: typer.Context,
    by: Optional[list[str]] = typer.Option(
        None, "--by", help=f"Group by {DIMS_HELP}; repeat for nested groups (default: customer)."
    ),
    since: Since = None,
    until: Until = None,
    period: Period = None,
    tz: Tz = "UTC",
    customer: Customer = None,
    feature: Feature = None,
    model: Model = None,
    sort: str = typer.Option(
        "margin", "--sort", help="margin|margin_pct (worst first) or cost|revenue|events (biggest first)."
    ),
    top: Top = None,
    every: All = False,
    breakdown: Optional[str] = typer.Option(
        None, "--breakdown", help="model|feature: nest it under each group, in the table (--top counts the groups)."
    ),
    allocate: Allocate = "events",
    band: Band = "5",
    revenue_basis: RevenueBasis = "recognized",
    cost_basis: str = typer.Option(
        "computed",
        "--cost-basis",
        help="computed (our price x logged tokens) or reconciled (the synced bill's cost, UTC days).",
    ),
    fmt: ReportFormat = "table",
    as_json: AsJson = False,
    totals: Totals = False,
    out: Optional[str] = typer.Option(
        None, "--output", "-o", help="With --format html: the file to write (- for stdout)."
    ),
    chart: bool = typer.Option(
        False, "--chart", help="With --by day|week|month: draw revenue, cost and margin % as a text chart."
    ),
) -> None:
    """Show revenue, cost, margin and margin % per group, worst margin first, with a totals row.

    Revenue that a call carries stays with that call's feature; a customer's other revenue (imported
    or from Stripe) is spread over its features and models by their share of events (--allocate).
    Revenue of a day is spread over that customer's calls of the same day; revenue of a day without
    calls is a "(no usage)" row. Revenue is recognized over each invoice line's service period (a yearly
    plan counts 1/365 a day); --revenue-basis billed counts it on the invoice's finalization day instead.
    --by plan groups by the customer's plan from Stripe metadata. Money in JSON/CSV is exact; the table
    rounds to the cent.

    Example: margindash report --by customer --period 30d
    """
    if ctx.invoked_subcommand is not None:
        return
    from margindash_cli.errors import UsageError  # lazy: start-up
    from margindash_cli.reports.run import ReportQuery, run_report  # lazy: start-up

    dims = list(by or ["customer"])
    if breakdown:
        if breakdown not in ("model", "feature"):
            raise UsageError(f"unknown --breakdown {breakdown!r}", "use model or feature")
        dims.append(breakdown)
    output = _output(fmt, as_json)
    html_top = top
    # a time series (--by day|week|month first, or --chart) is not capped by default: its latest periods matter most
    series = chart or dims[0] in ("day", "week", "month")
    top = rows_to_show(top, every, "series" if series and output == "table" else output)
    query = ReportQuery(
        dims=dims,
        since=since,
        until=until,
        period=period,
        tz=tz,
        customer=customer,
        feature=feature,
        model=model,
        sort=sort,
        top=top,
        allocate=allocate,
        band_pct=band_pct(band),
        now=now(),
        revenue_basis=revenue_basis,
        cost_basis=cost_basis,
    )
    if output == "html":
        from dataclasses import replace  # lazy: start-up

        from margindash_cli.cli.commands.dashboard import write_html  # lazy: start-up
        from margindash_cli.dashboard.run import DEFAULT_TOP, DashboardQuery  # lazy: start-up

        if out is None:
            raise UsageError("--format html writes a file", "add -o margins.html (or -o - for stdout)")
        page_top = None if every or html_top == 0 else DEFAULT_TOP if html_top is None else html_top
        write_html(ctx, DashboardQuery(replace(query, top=page_top)), out)
        return
    if out is not None:
        raise UsageError("-o/--output writes the html format", "use --format html -o FILE, or redirect stdout (> FILE)")
    if chart and (output != "table" or len(dims) != 1 or dims[0] not in ("day", "week", "month")):
        raise UsageError(
            "--chart draws one --by day, week or month as a table-format chart",
            "e.g. margindash report --by week --chart",
        )
    from margindash_cli.cli.render import report as report_view  # lazy: start-up

    env = _run(ctx, run_report, query)
    if chart:
        report_view.emit_time_chart(env)
        return
    report_view.emit_report(env, output, totals=totals, nest=breakdown is not None)


@app.command("trend")
def trend(
    ctx: typer.Context,
    by: str = typer.Option("customer", "--by", help="Group by customer|feature|model|vendor|segment|plan|tag:NAME."),
    granularity: str = typer.Option(
        "auto", "--granularity", help="auto|day|week|month (auto: day up to 31 days, week up to 26 weeks, else month)."
    ),
    since: Since = None,
    until: Until = None,
    period: Period = None,
    tz: Tz = "UTC",
    customer: Customer = None,
    feature: Feature = None,
    model: Model = None,
    allocate: Allocate = "events",
    sort: str = typer.Option(
        "margin", "--sort", help="margin|margin_pct (worst first) or cost|revenue|events (biggest first)."
    ),
    top: Top = None,
    every: All = False,
    fmt: Format = "table",
    as_json: AsJson = False,
    totals: Totals = False,
) -> None:
    """Show margin over time per group, and its change from each group's first active period to its last.

    Example: margindash report trend --by feature --period 30d
    """
    from margindash_cli.reports.run import ReportQuery, run_trend  # lazy: start-up

    output = _output(fmt, as_json)
    query = ReportQuery(
        dims=[by],
        since=since,
        until=until,
        period=period,
        tz=tz,
        customer=customer,
        feature=feature,
        model=model,
        allocate=allocate,
        granularity=granularity,
        sort=sort,
        top=rows_to_show(top, every, output),
        now=now(),
    )
    from margindash_cli.cli.render import report as report_view  # lazy: start-up

    report_view.emit_trend(_run(ctx, run_trend, query), output, totals=totals)


@app.command("cohorts")
def cohorts(
    ctx: typer.Context,
    by: str = typer.Option("month", "--by", help="Cohort period: month|week of each customer's first call."),
    since: Since = None,
    until: Until = None,
    period: Period = None,
    tz: Tz = "UTC",
    sort: str = typer.Option(
        "cohort", "--sort", help="cohort (oldest first), margin|margin_pct (worst first) or customers|cost|revenue."
    ),
    top: Top = None,
    every: All = False,
    fmt: Format = "table",
    as_json: AsJson = False,
) -> None:
    """Group customers by the month of their first call and show each cohort's margin % in month 1, 2, 3...

    A cohort is fixed by a customer's first call ever (in --tz); the period options choose which
    months of usage and revenue are counted.

    Example: margindash report cohorts --since 2026-01-01
    """
    from margindash_cli.reports.run import ReportQuery, run_cohorts  # lazy: start-up

    output = _output(fmt, as_json)
    query = ReportQuery(
        dims=["customer"],
        since=since,
        until=until,
        period=period,
        tz=tz,
        granularity=by,
        sort=sort,
        top=rows_to_show(
            top, every, "series" if sort == "cohort" and output == "table" else output
        ),  # oldest first: a series
        now=now(),
    )
    from margindash_cli.cli.render import report as report_view  # lazy: start-up

    report_view.emit_cohorts(_run(ctx, run_cohorts, query), output)


@app.command("concentration")
def concentration(
    ctx: typer.Context,
    since: Since = None,
    until: Until = None,
    period: Period = None,
    tz: Tz = "UTC",
    band: Band = "5",
    sort: str = typer.Option(
        "cost", "--sort", help="The ranked customers: cost|revenue|events (biggest first) or margin|margin_pct (worst)."
    ),
    top: Optional[int] = typer.Option(
        None,
        "--top",
        min=0,
        help="List the N largest customers by cost (or by --sort) with their cumulative share, whatever their tier,"
        " the rest in one '(other N)' row; 0 = all (every customer). Default: the customers of the widest tier (top 20%).",
    ),
    every: bool = typer.Option(False, "--all", help="List every customer, ranked (as --top 0)."),
    fmt: Format = "table",
    as_json: AsJson = False,
) -> None:
    """Show what share of cost the top 10% and 20% of customers make, and which of them lose money.

    Under the tiers, the customers of the top 20% are listed by cost; --top N lists the N largest instead
    (whatever their tier), --top 0 or --all every customer, and --sort orders them by another measure.

    Example: margindash report concentration --period last-month --top 10
    """
    from margindash_cli.reports.run import ReportQuery, run_concentration  # lazy: start-up

    output = _output(fmt, as_json)
    query = ReportQuery(
        dims=["customer"],
        since=since,
        until=until,
        period=period,
        tz=tz,
        band_pct=band_pct(band),
        sort=sort,
        top=rows_to_show(top, every, output),
        now=now(),
    )
    from margindash_cli.cli.render import report as report_view  # lazy: start-up

    # the list under the tiers: --top or --all asks for a ranked list of customers, else the widest tier's
    report_view.emit_concentration(_run(ctx, run_concentration, query), output, ranked=top is not None or every)


def _output(fmt: str, as_json: bool) -> str:
    from margindash_cli.errors import UsageError  # lazy: start-up

    output = "json" if as_json else fmt
    if output not in FORMATS:
        raise UsageError(f"unknown --format {fmt!r}", f"use one of {', '.join(FORMATS)}")
    return output


def _run(ctx: typer.Context, run: Any, query: Any) -> Any:
    from margindash_cli.cli.options import open_store  # lazy: start-up

    with open_store(ctx, create=False) as store:
        return run(store, query)
