"""The summary table of `margindash export`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from margindash_cli.cli.render.kit import stderr_console, stdout_console, table
from margindash_cli.core.money import display_usd

if TYPE_CHECKING:
    from margindash_cli.export.run import ExportResult


def print_export(result: ExportResult) -> None:
    console = stdout_console()
    if not result.written and not result.removed:
        console.print(f"No events in the range: nothing written to {result.outdir}.", markup=False)
        return
    cols = [
        ("table", "left"),
        ("month", "left"),
        ("rows", "right"),
        ("calls", "right"),
        ("cost", "right"),
        ("unpriced calls", "right"),
    ]
    body = [
        [
            p.table,
            p.month,
            f"{p.rows:,}",
            f"{p.events:,}",
            display_usd(p.cost_pico, pico=True),
            f"{p.unpriced_events:,}",
        ]
        for p in result.written
    ]
    console.print(table(f"Exported to {result.outdir}/<table>/month=YYYY-MM/part-0.{result.format}", cols, body))
    for path in result.removed:
        console.print(f"removed {path}: its month has no rows in the range now", markup=False)
    same = [p for p in result.written if not getattr(p, "changed", True)]
    if same:
        console.print(
            f"{len(same)} of {len(result.written)} partition(s) unchanged (same content hash): left as they were",
            markup=False,
        )
    if getattr(result, "changed_since", None) is not None:
        console.print(f"changed since {result.changed_since}: {len(result.changed)} partition(s)", markup=False)
        for p in result.changed:
            console.print(f"  {p.path} (changed {p.changed_at}, sha256 {p.sha256})", markup=False)
    console.print(f"manifest: {result.manifest}", markup=False)


def print_export_note(result: ExportResult) -> None:
    """To stderr, in every format: why the export's format is not the one asked for (CSV for want of pyarrow)."""
    if result.note:
        stderr_console().print(result.note, markup=False, soft_wrap=True)
