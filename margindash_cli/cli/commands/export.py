"""`margindash export`: events and daily rollups as month-partitioned Parquet or CSV files for a warehouse."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    app.command("export")(export)


def export(
    ctx: typer.Context,
    outdir: Path = typer.Argument(
        ...,
        help="Folder to write into (created if missing; an earlier export's partitions are replaced, month by month).",
    ),
    fmt: Optional[str] = typer.Option(
        None,
        "--format",
        help="parquet|csv (default: an earlier export's format in OUTDIR, else parquet; csv, with a note, when "
        "pyarrow is not installed). Parquet needs pyarrow: pip install 'margindash[parquet]'.",
    ),
    since: Optional[str] = typer.Option(None, "--since", help="From this UTC day or month (YYYY-MM-DD or YYYY-MM)."),
    until: Optional[str] = typer.Option(None, "--until", help="Up to and including this UTC day or month."),
    schema: str = typer.Option(
        "margindash", "--schema", help="margindash|focus. focus: FOCUS 1.2 cost columns per call, plus revenue tables."
    ),
    sql: Optional[str] = typer.Option(
        None,
        "--sql",
        help="duckdb|clickhouse|bigquery: print the warehouse SQL for OUTDIR (views, then the report queries); writes nothing.",
    ),
    changed_since: Optional[str] = typer.Option(
        None,
        "--changed-since",
        help="List the partitions whose content changed at or after this UTC time (ISO 8601, e.g. an earlier manifest's generated_at): what a loader must load again.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print what was written as JSON."),
) -> None:
    """Write stored events and daily rollups as month-partitioned Parquet or CSV files a warehouse reads as-is.

    Files go to OUTDIR/events/month=YYYY-MM/part-0.parquet and OUTDIR/rollup_daily/month=YYYY-MM/,
    with OUTDIR/_manifest.json (columns, types, units, rows and exact cost sums per partition).
    Cost is exact decimal USD (null = unpriced); times are UTC.

    --schema focus writes costs (FOCUS 1.2 names, ours as x_...), revenue and revenue_allocation;
    --sql ENGINE then prints the SQL that loads them and computes margin by customer, feature, model
    and day, and cost concentration, as `report` does.

    Example: margindash export ./warehouse --format parquet --since 2026-10

    Example: margindash export ./wh --schema focus && margindash export ./wh --sql duckdb | duckdb
    """
    from margindash_cli.cli.render import export as export_view  # lazy: start-up
    from margindash_cli.cli.render import kit  # lazy: start-up
    from margindash_cli.export.run import export_store  # lazy: start-up

    if sql is not None:
        from margindash_cli.export.sql import engine_script  # lazy: start-up

        typer.echo(engine_script(sql.lower(), outdir), nl=False)
        return
    from margindash_cli.cli.options import (
        now,  # lazy: start-up
        open_store,  # lazy: start-up
    )

    with open_store(ctx, create=False) as store:
        result = export_store(
            store,
            outdir,
            fmt=None if fmt is None else fmt.lower(),
            since=since,
            until=until,
            now=now(),
            schema=schema.lower(),
            changed_since=changed_since,
        )
    export_view.print_export_note(result)
    if as_json:
        kit.emit_json(result)
        return
    export_view.print_export(result)
