"""The checks table of `margindash doctor`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from margindash_cli.cli.render.kit import stdout_console, table

if TYPE_CHECKING:
    from margindash_cli.doctor.run import DoctorResult


def print_doctor(result: DoctorResult, *, verbose: bool = False) -> None:
    """One line per check, then the details of those that are not ok; the verdict last.

    Checkpoints get one line per file (path, state, lines read); `verbose` prints all their fields.
    """
    console = stdout_console()
    marks = {"ok": "ok", "info": "info", "warn": "WARN", "fail": "FAIL"}
    rows = [[c.name, marks[c.status], c.summary] for c in result.checks]
    console.print(
        table(f"margindash doctor: {result.store}", [("check", "left"), ("status", "left"), ("result", "left")], rows)
    )
    for c in result.checks:
        if c.name == "checkpoints" and not verbose:
            for d in c.details[:20]:
                console.print(f"  {c.name}: {d['path']}: {d['state']}, {d['line'] or 0:,} line(s) read", markup=False)
        elif c.status in ("warn", "fail") or c.name == "checkpoints":
            for d in c.details[:20]:
                console.print(
                    f"  {c.name}: " + ", ".join(f"{k}={v}" for k, v in d.items() if v is not None), markup=False
                )
    verdict = {"ok": "all good", "info": "all good", "warn": "needs attention", "fail": "the store is damaged"}[
        result.worst
    ]
    console.print(f"{verdict} (exit {result.exit_code})", markup=False)
