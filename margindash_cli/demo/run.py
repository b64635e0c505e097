"""`margindash demo`: build the demo store (data dir demo/demo.db) from the synthetic data, rebuilt on every run.

Writes the usage log and revenue CSV it is built from next to it, ingests them, loads a synthetic bill (#18)
and writes the HTML report; returns what the command shows. The user's own store is never touched. Its data
ends on the day the command gives (yesterday by its clock), and each stage is announced through `on_stage`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any


@dataclass
class DemoResult:
    path: Path  # the demo store
    html_path: Path  # the HTML report written from it
    events: int  # calls stored
    report: Any  # reports.run.ReportEnvelope by customer
    feature: str | None  # the costliest feature (simulate's suggestion), if any
    reconciliation: Any  # reconcile.run's result by month
    first_day: date  # of the data (UTC)
    last_day: date


def build_demo(seed: int, end: date, on_stage: Callable[[str], None] | None = None) -> DemoResult:
    """Build the demo store from the synthetic data of `seed`, ending on `end`; `on_stage` hears each stage."""
    import csv  # lazy: start-up

    import orjson  # lazy: start-up

    from margindash_cli.dashboard import page as dashboard_page  # lazy: start-up
    from margindash_cli.dashboard import run as dashboard_run  # lazy: start-up
    from margindash_cli.dashboard.run import DEFAULT_TOP, DashboardQuery  # lazy: start-up
    from margindash_cli.demo import synthetic as demo_data  # lazy: start-up
    from margindash_cli.ingest.pipeline import ingest_paths  # lazy: start-up
    from margindash_cli.paths import demo_store_path  # lazy: start-up
    from margindash_cli.pricing.run import load_pricer  # lazy: start-up
    from margindash_cli.reconcile.run import load_demo_bill, reconcile  # lazy: start-up
    from margindash_cli.reports.run import ReportQuery, run_report  # lazy: start-up
    from margindash_cli.revenue.csv_import import parse_revenue_csv  # lazy: start-up
    from margindash_cli.simulate.run import suggest_feature  # lazy: start-up
    from margindash_cli.store.db import Store  # lazy: start-up

    say = on_stage or (lambda _text: None)
    path = demo_store_path()
    home = path.parent
    home.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm", ".lock"):
        (home / (path.name + suffix)).unlink(missing_ok=True)
    log, revenue_csv = home / "demo-usage.jsonl", home / "demo-revenue.csv"
    say(f"writing {demo_data.DEMO_DAYS} days of synthetic calls ({demo_data.first_day(end)} to {end}) to {log}")
    calls = 0
    with open(log, "wb") as fh:
        for ev in demo_data.demo_events(seed, end):
            fh.write(orjson.dumps(ev) + b"\n")
            calls += 1
    with open(revenue_csv, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["customer_id", "amount", "currency", "period_start", "period_end"])
        writer.writeheader()
        for row in demo_data.demo_revenue(end):
            cents = row["amount"]
            writer.writerow({**row, "amount": f"{cents // 100}.{cents % 100:02d}"})
    with Store.open(path) as store:
        say(f"ingesting {calls:,} calls and pricing them")
        result = ingest_paths(
            store, [str(log)], quarantine_path=home / "demo.quarantine.jsonl", pricer=load_pricer(store)
        )
        say("importing the revenue CSV")
        days = parse_revenue_csv(revenue_csv.read_text(), str(revenue_csv))
        store.revenue.replace_revenue(
            f"csv:{revenue_csv.name}",
            [(d.customer_id, d.day, d.amount_minor, d.currency, d.amount_minor, d.ref) for d in days],
        )
        say("reporting, and reconciling with a synthetic bill")
        env = run_report(store, ReportQuery(dims=["customer"]))
        feature = suggest_feature(store)
        load_demo_bill(store)  # #18: a synthetic bill, so the demo shows reconciliation too
        rec = reconcile(store, start_ms=None, end_ms=None, by="month")
        html_path = home / "demo-report.html"
        say(f"writing the HTML report {html_path}")
        html_path.write_text(
            dashboard_page.render(
                dashboard_run.build(
                    store,
                    DashboardQuery(
                        ReportQuery(dims=["customer"], top=DEFAULT_TOP),
                        full=True,
                        command=f"margindash --db {path} dashboard -o {html_path}",
                    ),
                )
            ),
            encoding="utf-8",
        )
    return DemoResult(
        path=path,
        html_path=html_path,
        events=result.events_stored,
        report=env,
        feature=feature,
        reconciliation=rec,
        first_day=demo_data.first_day(end),
        last_day=end,
    )
