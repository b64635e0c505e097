#!/usr/bin/env python3
"""Measure margindash against the performance targets, each as a whole process, with a DuckDB reference.

    pip install -e '.[bench]' && python benchmarks/run.py            # full size (1M / 10M events)
    python benchmarks/run.py --events 200000 --store-events 2000000  # a quicker run
    python benchmarks/run.py --only ingest,cron,claude --baseline /path/to/old/venv/bin/python  # before/after

Data comes from benchmarks/gen_events.py (a copy of the shared generator; deterministic seeds) and is
cached under benchmarks/out/. Every row runs `margindash` as a fresh process and reports its wall
time and peak RSS (from wait4), next to its target. The reference is DuckDB's read_json + GROUP BY
customer over the same file, in the same run: "x DuckDB" is our time divided by DuckDB's. The Claude Code
row (a generated tree of 400 session logs, benchmarks/gen_claude_code.py) is timed next to the npm package
`ccusage` over the same tree when it is installed (it says so when it is not). --baseline PYTHON times the
ingest, cron and Claude Code rows again with another installed margindash (an older checkout's venv), in the
same run, so a change is measured against what it replaces on the same machine at the same moment.
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
GEN_CLAUDE = HERE / "gen_claude_code.py"


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
    ap.add_argument("--baseline", help="a python with another margindash installed: ingest/cron/claude rows again")
    ap.add_argument(
        "--only",
        default="ingest,cron,claude,report,reconcile,budget,help",
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
    base = [args.baseline, "-m", "margindash_cli"] if args.baseline else None
    if "ingest" in only:
        ingest_rows(md, env, n, row, rows, base)
    if "claude" in only:
        claude_rows(md, env, row, rows, base)
    if not only & {"cron", "report", "reconcile", "budget", "help"}:
        print_table(rows)
        return
    big_n, big = big_store(md, env, args)
    if "cron" in only:
        cron_row(md, env, big, big_n, row, base)
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
    print_table(rows)


def print_table(rows) -> None:
    print(
        f"\nmachine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, SQLite "
        f"{__import__('sqlite3').sqlite_version}\n"
    )
    widths = [max(len(r[i]) for r in rows + [("what", "target", "measured", "peak RSS", "notes")]) for i in range(5)]
    for r in [("what", "target", "measured", "peak RSS", "notes")] + rows:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |")
    shutil.rmtree(OUT / "home", ignore_errors=True)


def ingest_rows(md, env, n, row, rows, base=None) -> None:
    events = generate(n, "events", 42)
    provider = generate(n, "provider", 7)
    ref = duckdb_reference(events)

    db = fresh_db("ingest.db")
    wall, rss, _ = run(md + ["--db", str(db), "ingest", str(events), "--json"], env=env)
    before = ""
    if base:
        bdb = fresh_db("ingest-baseline.db")
        bwall, _, _ = run(base + ["--db", str(bdb), "ingest", str(events), "--json"], env=env)
        before = f", baseline {bwall:.2f} s ({bwall / wall:.2f}x)"
        fresh_db("ingest-baseline.db")
    row(
        f"ingest {n:,} canonical events (fresh store)",
        "<= 8 s and <= 10x DuckDB (1M)",
        wall,
        rss,
        f"{n / wall:,.0f} ev/s, {wall / ref:.1f}x DuckDB{before}",
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


def cron_row(md, env, big: Path, big_n: int, row, base=None) -> None:
    """#20: a cron run adds 20k new lines to the big store (a copy: the report rows read the store as built). The
    reference is the same 20k lines into a fresh store in the same run: the ratio says how flat it is in store size.
    The lines span 90 days, as the store's do, so their rollup cells and keys are spread over the whole store (the
    worst case: a real cron run's lines are of the last hour); a second row has 20k lines of one day."""
    for label, new in (
        ("over 90 days", generate(20_000, "events", 2020, days=90)),
        ("of one day", generate(20_000, "events", 2021, days=1)),
    ):
        fresh = fresh_db("cron-fresh.db")
        ref, _, _ = run(md + ["--db", str(fresh), "ingest", str(new), "--json"], env=env)
        cron = fresh_db("cron.db")
        copy_synced(big, cron)
        wall, rss, _ = run(md + ["--db", str(cron), "ingest", str(new), "--json"], env=env)
        before = ""
        if base:
            copy_synced(big, fresh_db("cron.db"))
            bwall, _, _ = run(base + ["--db", str(cron), "ingest", str(new), "--json"], env=env)
            before = f"; baseline {bwall:.2f} s ({bwall / wall:.2f}x)"
        row(
            f"cron: ingest 20,000 new lines {label} into a {big_n:,}-call store",
            "<= 0.5 s, flat",
            wall,
            rss,
            f"{wall / ref:.1f}x the same lines into a fresh store ({ref:.2f} s){before}",
        )
        fresh_db("cron.db")
        fresh_db("cron-fresh.db")


def copy_synced(src: Path, dst: Path) -> None:
    """A copy of the big store, on disk before a timed row: else the row's first checkpoint (an fsync of the file)
    waits for the whole copy to be written back (~770 MB: tens of seconds on a busy disk)."""
    shutil.copyfile(src, dst)
    with open(dst, "rb+") as fh:
        os.fsync(fh.fileno())


def claude_tree(files: int = 400, lines: int = 330_000, seed: int = 20) -> Path:
    tree = OUT / f"claude-code-{files}-{lines}-s{seed}"
    if not (tree / "projects").exists():
        print(f"generating {tree.name} ...", file=sys.stderr)
        tmp = tree.with_suffix(".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        subprocess.run(
            [
                sys.executable,
                str(GEN_CLAUDE),
                str(tmp),
                "--files",
                str(files),
                "--lines",
                str(lines),
                "--seed",
                str(seed),
            ],
            check=True,
        )
        tmp.rename(tree)
    return tree


def ccusage_command() -> list[str] | None:
    """`ccusage` when it is installed and runs (its npm package needs its native binary for this platform)."""
    exe = shutil.which("ccusage")
    if exe is None:
        return None
    ok = subprocess.run([exe, "--version"], capture_output=True, text=True)
    return [exe] if ok.returncode == 0 and ok.stdout.strip() else None


def claude_rows(md, env, row, rows, base=None) -> None:
    """#20: a Claude Code log tree of 400 session files (~330k lines, 42% of the assistant lines repeated content
    blocks): first ingest into a fresh store, then a report, against ccusage's daily report of the same tree."""
    tree = claude_tree()
    lines = sum(1 for f in tree.rglob("*.jsonl") for _ in open(f, "rb"))

    def ours(cmd_base, name):
        db = fresh_db(name)
        wall, rss, _ = run(cmd_base + ["--db", str(db), "ingest", str(tree), "--json"], env=env)
        rwall, rrss, _ = run(cmd_base + ["--db", str(db), "report", "--by", "model", "--json"], env=env)
        fresh_db(name)
        return wall, rwall, max(rss, rrss)

    wall, rwall, rss = ours(md, "claude.db")
    cc = ccusage_command()
    notes = f"ingest {wall:.2f} s + report {rwall:.2f} s, {lines:,} lines"
    if base:
        bwall, brwall, _ = ours(base, "claude-baseline.db")
        notes += f"; baseline {bwall + brwall:.2f} s ({(bwall + brwall) / (wall + rwall):.2f}x)"
    if cc:
        home = OUT / "ccusage-home"  # ccusage also reads other agents' logs under HOME: an empty one
        home.mkdir(exist_ok=True)
        cwall, crss, code = run(
            cc + ["claude", "daily", "--json", "--offline"],
            env={**env, "HOME": str(home), "CLAUDE_CONFIG_DIR": str(tree)},
        )
        version = subprocess.run(cc + ["--version"], capture_output=True, text=True).stdout.strip()
        notes += f"; {(wall + rwall) / cwall:.2f}x {version} ({cwall:.2f} s, {crss:.0f} MB)"
    else:
        notes += "; ccusage not installed (npm install -g ccusage): no reference"
    row("Claude Code logs, 400 files: first ingest + report", "<= 1.5x ccusage", wall + rwall, rss, notes)


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
