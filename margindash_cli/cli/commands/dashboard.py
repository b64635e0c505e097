"""`margindash dashboard -o FILE`: the HTML report with every section (also `report --format html`)."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import typer

from margindash_cli.cli.options import Allocate, Band, Customer, Feature, Model, Period, Since, Tz, Until


def register(app: typer.Typer) -> None:
    app.command("dashboard")(dashboard)


def dashboard(
    ctx: typer.Context,
    output: str = typer.Option(..., "--output", "-o", help="The HTML file to write (- for stdout)."),
    since: Since = None,
    until: Until = None,
    period: Period = None,
    tz: Tz = "UTC",
    customer: Customer = None,
    feature: Feature = None,
    model: Model = None,
    top: int = typer.Option(
        50, "--top", min=0, help="Rows of the customer table before one '(other)' row (0 = all, no '(other)' row)."
    ),
    allocate: Allocate = "events",
    band: Band = "5",
    simulate_days: int = typer.Option(
        7, "--simulate-days", min=0, help="Simulate model swaps on the range's last N days (0: leave the section out)."
    ),
) -> None:
    """Write one self-contained HTML file with every picture: headline figures and their change, revenue vs cost
    and margin % over time, margin by customer, feature and model, cost concentration, cohorts, budgets and the
    best model swap per feature, with where the numbers came from in its footer.

    The file needs no network to open (styles, scripts and data are inline) and reads with scripts off. Its
    figures are the same JSON that `report --json` (and the other commands' --json) print for the same options,
    embedded in the page.

    Example: margindash dashboard -o margins.html --period last-month
    """
    from margindash_cli.cli.options import band_pct, now  # lazy: start-up
    from margindash_cli.dashboard.run import DashboardQuery  # lazy: start-up
    from margindash_cli.reports.run import ReportQuery  # lazy: start-up

    report = ReportQuery(
        dims=["customer"],
        since=since,
        until=until,
        period=period,
        tz=tz,
        customer=customer,
        feature=feature,
        model=model,
        top=top or None,  # 0 = all, as every --top/--limit
        allocate=allocate,
        band_pct=band_pct(band),
        now=now(),
    )
    query = DashboardQuery(report, full=True, simulate_days=simulate_days)
    write_html(ctx, query, output)


def write_html(ctx: typer.Context, query: object, output: str) -> None:
    """Build the page and write it: to stdout for `-`, else atomically to the file (a failed run leaves none)."""
    from margindash_cli.cli.options import open_store  # lazy: start-up
    from margindash_cli.dashboard import page, run  # lazy: start-up
    from margindash_cli.errors import UsageError  # lazy: start-up

    target = None if output == "-" else Path(output)
    if target is not None:
        if target.is_dir():
            raise UsageError(f"{output} is a directory", "name the HTML file to write, e.g. -o margins.html")
        if not target.parent.exists():
            raise UsageError(
                f"cannot write {output}: the directory {target.parent} does not exist",
                f"create it first (mkdir -p {target.parent}) or write elsewhere",
            )
    with open_store(ctx, create=False) as store:
        data = run.build(store, query)  # type: ignore[arg-type]
    text = page.render(data)
    if target is None:
        sys.stdout.write(text)
        return
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    print(f"wrote {target} ({len(text.encode()):,} bytes)", file=sys.stderr)
