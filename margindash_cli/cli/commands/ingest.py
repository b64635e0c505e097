"""`margindash ingest`: read usage logs into the store."""

from __future__ import annotations

import sys
from typing import Optional

import typer

from margindash_cli.cli.options import db_path, open_store

FORMATS = ["auto", "events", "openai", "openai-batch", "anthropic", "gemini", "bedrock", "litellm", "langfuse", "claude-code"]


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest)


def ingest(
    ctx: typer.Context,
    paths: list[str] = typer.Argument(..., help="JSONL files, .jsonl.gz files, directories (recursive, *.jsonl*) or - for stdin."),
    fmt: str = typer.Option("auto", "--format", "-f", help=f"Log format: {'|'.join(FORMATS)}. auto detects it per line."),
    maps: Optional[list[str]] = typer.Option(None, "--map", help="Map a field to your log's own dotted path, e.g. customer_id=user.id (repeatable)."),
    quarantine: Optional[str] = typer.Option(None, "--quarantine", help="File for rejected lines (default: next to the store)."),
    require_customer: bool = typer.Option(False, "--require-customer", help="Reject calls with no customer id instead of keeping them as unattributed."),
    strict: bool = typer.Option(False, "--strict", help="Exit 1 when any line was rejected (without it: when no line of a file could be stored)."),
    cost_source: str = typer.Option("auto", "--cost-source", help="auto|computed|reported: which cost wins when a log carries its own (auto: ours when we have a price)."),
    follow_symlinks: bool = typer.Option(False, "--follow-symlinks", help="Read symlinks (and symlinked folders) that lead out of a folder being walked."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Read usage logs into the store; only new lines are read on a re-run, and nothing is counted twice.

    Example: margindash ingest /var/log/app/ai-usage.jsonl --map customer_id=user.id
    """
    import os
    from pathlib import Path

    from margindash_cli.errors import InputError, UsageError
    from margindash_cli.ingest.canonical import parse_maps
    from margindash_cli.ingest.pipeline import NOT_JSONL_NOTE, ingest_paths
    from margindash_cli.paths import default_quarantine_path
    from margindash_cli.cli.render.kit import print_fitted, print_json, stderr_console, stdout_console

    from margindash_cli.pricing.pricer import COST_SOURCES
    from margindash_cli.pricing.run import LazyPricer

    if cost_source not in COST_SOURCES:
        raise UsageError(f"unknown --cost-source {cost_source!r}", f"use one of {', '.join(COST_SOURCES)}")
    if fmt not in FORMATS:
        raise UsageError(f"unknown --format {fmt!r}", f"use one of: {', '.join(FORMATS)}")
    try:
        parsed_maps = parse_maps(maps)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    qpath = Path(quarantine) if quarantine else default_quarantine_path(db_path(ctx))
    for p in paths:  # before the store is opened: a typo in a path creates no store
        if p != "-" and not os.path.lexists(p):
            raise InputError(f"{p}: no such file or directory")
    with open_store(ctx) as store:
        pricer = LazyPricer(store, cost_source)
        progress = _progress(paths)
        try:
            result = ingest_paths(
                store, paths, fmt=fmt, maps=parsed_maps, quarantine_path=qpath,
                require_customer=require_customer, pricer=pricer,
                on_progress=progress.advance if progress else None, follow_symlinks=follow_symlinks,
            )  # fmt: skip
        finally:
            if progress:
                progress.stop()
    summary = {
        "lines_read": result.lines_read,
        "events_stored": result.events_stored,
        "duplicates_skipped": result.duplicates,
        "events_updated": result.total("updated"),
        "rejected": result.rejected,
        "skipped": result.total("not_calls"),
        "quarantine": result.quarantine_path if result.rejected else None,
        "files": [
            {
                "path": f.path,
                "lines_read": f.lines_read,
                "events_stored": f.events_stored,
                "duplicates_skipped": f.duplicates,
                "events_updated": f.updated,
                "rejected": f.rejected,
                "skipped": f.not_calls,
                "unchanged": f.skipped and not f.note,
                "partial_line_bytes": f.partial_line_bytes,
                "error": f.error,
                "note": f.note,
            }
            for f in result.files
        ],
        "errors": result.errors,
    }
    if as_json:
        print_json(summary)
    else:
        rows = [[f.path, f"{f.lines_read:,}", f"{f.events_stored:,}", f"{f.duplicates:,}", f"{f.rejected:,}",
                 f"{f.not_calls:,}", _table_note(f)
                 + (f"; {f.updated:,} call(s) grew to a later line's usage" if f.updated else "")]
                for f in result.files]  # fmt: skip
        footer = ["total", f"{result.lines_read:,}", f"{result.events_stored:,}", f"{result.duplicates:,}", f"{result.rejected:,}",
                  f"{result.total('not_calls'):,}", ""]  # fmt: skip
        cols = [("file", "left"), ("lines read", "right"), ("events stored", "right"), ("duplicates", "right"), ("rejected", "right"), ("skipped", "right"),
                ("note", "left")]  # fmt: skip
        # At 80 columns the file names stay whole: the duplicates, then the lines-read columns go first (a caption
        # says so; --json has every field).
        print_fitted(stdout_console(), "ingest", cols, rows, footer=footer, drop=("skipped", "duplicates", "lines read"),
                      every="--json")
    err = stderr_console()
    if result.rejected:
        err.print(f"{result.rejected:,} line(s) rejected: see {result.quarantine_path}", markup=False)
    not_jsonl = [f.path for f in result.files if f.skipped and f.note == NOT_JSONL_NOTE]
    for f in result.files:
        if f.note and f.skipped and f.note != NOT_JSONL_NOTE:
            err.print(f"warning: {f.path}: {f.note}", markup=False)
    if not_jsonl:
        shown = ", ".join(not_jsonl[:5]) + (f" and {len(not_jsonl) - 5:,} more" if len(not_jsonl) > 5 else "")
        err.print(f"warning: {len(not_jsonl):,} file(s) in the folder(s) walked not read, {NOT_JSONL_NOTE}: {shown}",
                  markup=False, soft_wrap=True)  # fmt: skip
    for message in result.errors:
        err.print(f"error: {message}", markup=False, soft_wrap=True)
    # Nothing fails silently: a file with lines of which none could be stored is an error, not a quiet 0.
    nothing_stored = [f for f in result.files if f.rejected and not (f.events_stored or f.duplicates or f.updated)]
    for f in nothing_stored:
        err.print(f"error: {f.path}: nothing stored: all {f.rejected:,} of its usage line(s) were rejected"
                  f" (reasons in {result.quarantine_path})", markup=False, soft_wrap=True)  # fmt: skip
    if result.errors or nothing_stored or (strict and result.rejected):
        raise typer.Exit(1)


def _table_note(f) -> str:
    """The note column stays short (the table must fit 80 columns); the whole reason is on stderr."""
    from margindash_cli.ingest.pipeline import NOT_JSONL_NOTE

    if f.note == NOT_JSONL_NOTE:
        return "skipped: not *.jsonl"
    if f.note and f.skipped:
        return "skipped (see below)"
    if f.note:
        return f.note
    if f.skipped:
        return "unchanged"
    if f.error:
        return "error (see below)"
    if f.rejected and not (f.events_stored or f.duplicates or f.updated):
        return "nothing stored"
    return f"{f.partial_line_bytes} bytes left for next run" if f.partial_line_bytes else ""


class _Progress:
    def __init__(self, total: int | None):
        from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

        from margindash_cli.cli.render.kit import stderr_console

        self._p = Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                           console=stderr_console(), transient=True)  # fmt: skip
        self._task = self._p.add_task("ingest", total=total)
        self._p.start()

    def advance(self, n: int) -> None:
        self._p.advance(self._task, n)

    def stop(self) -> None:
        self._p.stop()


def _progress(paths: list[str]) -> _Progress | None:
    """A progress bar on stderr, only for a person at a terminal and only for inputs worth waiting on."""
    import os

    if not (sys.stderr.isatty() and sys.stdout.isatty()):
        return None
    total = 0
    for p in paths:
        if p != "-" and os.path.isfile(p):
            total += os.path.getsize(p)
    if total < 8 << 20 and "-" not in paths:
        return None
    return _Progress(total or None)
