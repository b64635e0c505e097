"""What `margindash ingest` shows: the table of files read, the notes and errors on stderr, the progress bar."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from margindash_cli.cli.render.kit import print_fitted, stderr_console, stdout_console

if TYPE_CHECKING:
    from margindash_cli.ingest.pipeline import FileResult, IngestResult


def print_ingest(result: IngestResult) -> None:
    """One row per file read, the totals in the footer."""
    rows = [
        [
            f.path,
            f"{f.lines_read:,}",
            f"{f.events_stored:,}",
            f"{f.duplicates:,}",
            f"{f.rejected:,}",
            f"{f.not_calls:,}",
            _table_note(f) + (f"; {f.updated:,} call(s) grew to a later line's usage" if f.updated else ""),
        ]
        for f in result.files
    ]
    footer = [
        "total",
        f"{result.lines_read:,}",
        f"{result.events_stored:,}",
        f"{result.duplicates:,}",
        f"{result.rejected:,}",
        f"{result.total('not_calls'):,}",
        "",
    ]
    cols = [
        ("file", "left"),
        ("lines read", "right"),
        ("events stored", "right"),
        ("duplicates", "right"),
        ("rejected", "right"),
        ("skipped", "right"),
        ("note", "left"),
    ]
    # At 80 columns the file names stay whole: the duplicates, then the lines-read columns go first (a caption
    # says so; --json has every field).
    print_fitted(
        stdout_console(),
        "ingest",
        cols,
        rows,
        footer=footer,
        drop=("skipped", "duplicates", "lines read"),
        every="--json",
    )


def print_ingest_notes(result: IngestResult) -> None:
    """To stderr, in every format: rejected lines, files not read, errors, files of which nothing was stored."""
    from margindash_cli.ingest.pipeline import NOT_JSONL_NOTE  # lazy: start-up

    err = stderr_console()
    if result.unpriced_calls:
        err.print(
            f"{result.unpriced_calls:,} call(s) of {result.unpriced_models:,} model(s) have no price:"
            " margindash prices unpriced",
            markup=False,
            soft_wrap=True,
        )
    if result.rejected:
        err.print(f"{result.rejected:,} line(s) rejected: see {result.quarantine_path}", markup=False)
    not_jsonl = [f.path for f in result.files if f.skipped and f.note == NOT_JSONL_NOTE]
    for f in result.files:
        if f.note and f.skipped and f.note != NOT_JSONL_NOTE:
            err.print(f"warning: {f.path}: {f.note}", markup=False)
    if not_jsonl:
        shown = ", ".join(not_jsonl[:5]) + (f" and {len(not_jsonl) - 5:,} more" if len(not_jsonl) > 5 else "")
        err.print(
            f"warning: {len(not_jsonl):,} file(s) in the folder(s) walked not read, {NOT_JSONL_NOTE}: {shown}",
            markup=False,
            soft_wrap=True,
        )
    for message in result.errors:
        err.print(f"error: {message}", markup=False, soft_wrap=True)
    for f in result.nothing_stored:
        err.print(
            f"error: {f.path}: nothing stored: all {f.rejected:,} of its usage line(s) were rejected"
            + (f", the first at {f.first_rejection}" if f.first_rejection else "")
            + f" (reasons in {result.quarantine_path})",
            markup=False,
            soft_wrap=True,
        )


def _table_note(f: FileResult) -> str:
    """The note column stays short (the table must fit 80 columns); the whole reason is on stderr."""
    from margindash_cli.ingest.pipeline import NOT_JSONL_NOTE  # lazy: start-up

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


class Progress:
    def __init__(self, total: int | None):
        from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn  # lazy: start-up

        self._p = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            console=stderr_console(),
            transient=True,
        )
        self._task = self._p.add_task("ingest", total=total)
        self._p.start()

    def advance(self, n: int) -> None:
        self._p.advance(self._task, n)

    def stop(self) -> None:
        self._p.stop()


def progress(paths: list[str]) -> Progress | None:
    """A progress bar on stderr, only for a person at a terminal and only for inputs worth waiting on."""
    import os  # lazy: start-up

    if not (sys.stderr.isatty() and sys.stdout.isatty()):
        return None
    total = 0
    for p in paths:
        if p != "-" and os.path.isfile(p):
            total += os.path.getsize(p)
    if total < 8 << 20 and "-" not in paths:
        return None
    return Progress(total or None)
