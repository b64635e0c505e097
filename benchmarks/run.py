#!/usr/bin/env python3
"""Measure margindash against the performance targets, each as a whole process, with a DuckDB reference.

    pip install -e '.[bench]' && python benchmarks/run.py            # full size (1M / 10M events)
    python benchmarks/run.py --events 200000 --store-events 2000000  # a quicker run

Data comes from benchmarks/gen_events.py (a copy of the shared generator; deterministic seeds) and is
cached under benchmarks/out/. Every row runs `margindash` as a fresh process and reports its wall
time and peak RSS (from wait4), next to its target. The reference is DuckDB's read_json + GROUP BY
customer over the same file, in the same run: "x DuckDB" is our time divided by DuckDB's.
Timings are printed, never asserted: benchmarks are not tests.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
GEN = HERE / "gen_events.py"


def run(cmd: list[str], *, env: dict[str, str] | None = None, stdout=subprocess.DEVNULL) -> tuple[float, float, int]:
    """(wall seconds, peak RSS in MB, exit code) of one process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode() if proc.stderr else ""
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 3, 4, 5):
        print(f"  ! {' '.join(cmd[:6])}... exited {code}: {err.strip()[-400:]}", file=sys.stderr)
    return wall, usage.ru_maxrss / 1024, code


def generate(n: int, shape: str, seed: int, days: int = 90) -> Path:
    OUT.mkdir(exist_ok=True)
    path = OUT / f"{shape}-{n}-s{seed}-d{days}.jsonl"
    if not path.exists():
        print(f"generating {path.name} ...", file=sys.stderr)
        tmp = path.with_suffix(".tmp")
        with open(tmp, "w") as fh:
            subprocess.run(
                [sys.executable, str(GEN), str(n), "--shape", shape, "--seed", str(seed), "--days", str(days)],
                stdout=fh,
                check=True,
            )
        tmp.rename(path)
    return path


def fresh_db(name: str) -> Path:
    OUT.mkdir(exist_ok=True)
    db = OUT / name
    for suffix in ("", "-wal", "-shm", ".lock", ".quarantine.jsonl"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    return db


def duckdb_reference(path: Path) -> float:
    """DuckDB's read_json + GROUP BY customer over the same file, timed as a whole process like ours.

    Run in a child so this process stays small: a forked child starts with its parent's peak RSS."""
    code = (
        'import duckdb; duckdb.connect().execute("SELECT customer_id, count(*), sum(input_tokens) FROM '
        f"read_json('{path}', format='newline_delimited') GROUP BY 1\").fetchall()"
    )
    wall, _, code_ = run([sys.executable, "-c", code])
    if code_ != 0:
        raise SystemExit("duckdb is needed for the reference: pip install -e '.[bench]'")
    return wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=1_000_000, help="events for the ingest rows")
    ap.add_argument("--store-events", type=int, default=10_000_000, help="events in the store for the report rows")
    ap.add_argument("--budgets", type=int, default=100)
    ap.add_argument("--store", type=Path, help="a copy of this store is the big store (instead of building one)")
    ap.add_argument(
        "--only",
        default="ingest,cron,report,reconcile,budget,help",
        help="the groups of rows to run, comma-separated (default: all)",
    )
    args = ap.parse_args()
    only = set(args.only.split(","))

    md = [sys.executable, "-m", "margindash_cli"]
    env = {**os.environ, "MARGINDASH_HOME": str(OUT / "home"), "NO_COLOR": "1", "COLUMNS": "120"}
    # As installed (pip compiles modules at install time), not compiled from source by every process: a sandbox
    # that sets PYTHONDONTWRITEBYTECODE would add ~0.1 s of compiling to every row.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(HERE.parent / "margindash_cli")],
        env=env,
        stdout=subprocess.DEVNULL,
        check=True,
    )
    rows: list[tuple[str, str, str, str, str]] = []

    def row(what: str, target: str, wall: float, rss: float, extra: str = "") -> None:
        rows.append((what, target, f"{wall:.2f} s", f"{rss:.0f} MB", extra))
        print(f"{what}: {wall:.2f} s, {rss:.0f} MB {extra}", file=sys.stderr)

    n = args.events
    if "ingest" in only:
        ingest_rows(md, env, n, row, rows)
    big_n, big = big_store(md, env, args)
    if "cron" in only:
        cron_row(md, env, big, big_n, row)
    if "report" in only:
        report_rows(big, big_n, env, md, row)
    if "reconcile" in only:
        reconcile_row(md, env, big, row)
    if "budget" in only:
        budget_row(md, env, big, args, row, rows)
    if "help" in only:
        for label, cmd in (
            ("margindash --help (cold)", ["--help"]),
            ("margindash report --help (cold)", ["report", "--help"]),
        ):
            wall, rss, _ = run(md + cmd, env=env)
            row(label, "<= 0.3 s", wall, rss)
    big_size = sum(Path(str(big) + s).stat().st_size for s in ("", "-wal") if Path(str(big) + s).exists())
    rows.append(("store size", "-", f"{big_size / big_n:.0f} B/event ({big_n:,})", "", "request id text kept (m005)"))

    print(
        f"\nmachine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, SQLite "
        f"{__import__('sqlite3').sqlite_version}\n"
    )
    widths = [max(len(r[i]) for r in rows + [("what", "target", "measured", "peak RSS", "notes")]) for i in range(5)]
    for r in [("what", "target", "measured", "peak RSS", "notes")] + rows:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |")
    shutil.rmtree(OUT / "home", ignore_errors=True)


def ingest_rows(md, env, n, row, rows) -> None:
    events = generate(n, "events", 42)
    provider = generate(n, "provider", 7)
    ref = duckdb_reference(events)

    db = fresh_db("ingest.db")
    wall, rss, _ = run(md + ["--db", str(db), "ingest", str(events), "--json"], env=env)
    row(
        f"ingest {n:,} canonical events (fresh store)",
        "<= 8 s and <= 10x DuckDB (1M)",
        wall,
        rss,
        f"{n / wall:,.0f} ev/s, {wall / ref:.1f}x DuckDB",
    )
    size = sum(Path(str(db) + s).stat().st_size for s in ("", "-wal") if Path(str(db) + s).exists())
    wall2, rss2, _ = run(md + ["--db", str(db), "ingest", str(events), "--json"], env=env)
    row("re-run ingest on the same unchanged file", "<= 0.3 s", wall2, rss2)

    pdb = fresh_db("provider.db")
    wall, rss, _ = run(md + ["--db", str(pdb), "ingest", str(provider), "--json"], env=env)
    row(f"ingest {n:,} provider-shaped lines", "<= 10 s (1M)", wall, rss, f"{n / wall:,.0f} lines/s")

    rows.append(("store size (fresh 1M)", "-", f"{size / n:.0f} B/event ({n:,})", "", "request id text kept (m005)"))
    rows.append(("reference: DuckDB read_json + GROUP BY customer", "-", f"{ref:.2f} s", "", f"{n:,} events"))


def big_store(md, env, args) -> tuple[int, Path]:
    """The big store of the report and cron rows: a copy of --store, else built in chunks of 2M events."""
    big = fresh_db("big.db")
    if args.store:
        shutil.copyfile(args.store, big)
        subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; from margindash_cli.store.db import Store; Store.open(sys.argv[1])",
                str(big),
            ],
            env=env,
            check=True,
        )  # migrated once, not inside a timed row
        import sqlite3

        return sqlite3.connect(big).execute("SELECT count(*) FROM event_keys").fetchone()[0], big
    big_n = args.store_events
    chunk = min(big_n, 2_000_000)
    t0 = time.perf_counter()
    for i in range(0, big_n, chunk):
        part = generate(chunk, "events", 1000 + i // chunk, days=90)
        run(md + ["--db", str(big), "ingest", str(part), "--json"], env=env)
    print(f"built the {big_n:,}-event store in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return big_n, big


def cron_row(md, env, big: Path, big_n: int, row) -> None:
    """#20: a cron run adds 20k new lines to the big store (a copy: the report rows read the store as built). The
    reference is the same 20k lines into a fresh store in the same run: the ratio says how flat it is in store size."""
    new = generate(20_000, "events", 2020, days=90)
    fresh = fresh_db("cron-fresh.db")
    ref, _, _ = run(md + ["--db", str(fresh), "ingest", str(new), "--json"], env=env)
    cron = fresh_db("cron.db")
    shutil.copyfile(big, cron)
    wall, rss, _ = run(md + ["--db", str(cron), "ingest", str(new), "--json"], env=env)
    row(
        f"cron: ingest 20,000 new lines into a {big_n:,}-call store",
        "<= 0.5 s, flat",
        wall,
        rss,
        f"{wall / ref:.1f}x the same lines into a fresh store ({ref:.2f} s)",
    )
    fresh_db("cron.db")


def report_reference(big: Path) -> float:
    """The floor of a report: a bare Python process summing the customer rollup of the same store with sqlite3."""
    code = (
        "import sqlite3, sys; sqlite3.connect(sys.argv[1]).execute('SELECT customer, sum(events), sum(cost_micro)"
        " FROM rollup_customer_daily GROUP BY 1').fetchall()"
    )
    return run([sys.executable, "-c", code, str(big)])[0]


def report_rows(big: Path, big_n: int, env, md, row) -> None:
    ref = report_reference(big)
    wall, rss, _ = run(md + ["--db", str(big), "report", "--by", "customer", "--json"], env=env)
    row(
        f"report --by customer ({big_n:,} events)",
        "<= 0.3 s",
        wall,
        rss,
        f"{wall / ref:.1f}x a bare sqlite3 sum ({ref:.2f} s)",
    )
    wall, rss, _ = run(
        md + ["--db", str(big), "report", "--by", "customer", "--by", "model", "--period", "30d", "--json"],
        env={**env, "MARGINDASH_NOW": "2026-10-29T00:00:00Z"},
    )
    row("report --by customer --by model --period 30d", "<= 1 s", wall, rss, f"{wall / ref:.1f}x a bare sqlite3 sum")


def reconcile_row(md, env, big: Path, row) -> None:
    # #18: a synthetic bill for the store's OpenAI and Anthropic calls (the demo's: untracked spend, a discount), then
    # reconcile 30 days of it
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from margindash_cli.store.db import Store; from margindash_cli.reconcile.run"
            " import load_demo_bill; load_demo_bill(Store.open(sys.argv[1]))",
            str(big),
        ],
        env=env,
        check=True,
    )
    wall, rss, _ = run(
        md + ["--db", str(big), "reconcile", "--period", "30d", "--json"],
        env={**env, "MARGINDASH_NOW": "2026-10-29T00:00:00Z"},
    )
    row("reconcile --period 30d", "<= 1 s", wall, rss)


def budget_row(md, env, big: Path, args, row, rows) -> None:
    budget_cmd = md + ["--db", str(big), "budget"]
    if run(budget_cmd + ["--help"], env=env)[2] == 0:
        for i in range(args.budgets):
            scope = (
                "org"
                if i == 0
                else (
                    f"customer:cus_{i:05d}"
                    if i % 2
                    else f"feature:{['chat', 'summarize', 'translate', 'search', 'classify'][i % 5]}"
                )
            )
            run(budget_cmd + ["set", f"b{i}", "--scope", scope, "--limit-usd", "100", "--period", "month"], env=env)
        wall, rss, _ = run(budget_cmd + ["check", "--json"], env={**env, "MARGINDASH_NOW": "2026-10-29T00:00:00Z"})
        row(f"budget check with {args.budgets} budgets", "<= 1 s", wall, rss)
    else:
        rows.append((f"budget check with {args.budgets} budgets", "<= 1 s", "n/a", "", "budget command not available"))


if __name__ == "__main__":
    main()
