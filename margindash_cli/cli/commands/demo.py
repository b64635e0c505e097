"""`margindash demo`: build a demo store from built-in synthetic data and show it."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


def demo(
    seed: int = typer.Option(7, "--seed", help="Seed of the synthetic data (the same seed gives the same numbers)."),
) -> None:
    """Build a separate demo store from built-in synthetic data (offline, a few seconds) and show its margins.

    The demo store lives in the data dir as demo/demo.db (with the log and revenue CSV it was built
    from) and is rebuilt on every run; your own store is never touched.

    Example: margindash demo
    """
    import csv

    import orjson

    from margindash_cli.demo import synthetic as demo_data
    from margindash_cli.cli.render import kit as render
    from margindash_cli.dashboard import page as dashboard_page
    from margindash_cli.dashboard import run as dashboard_run
    from margindash_cli.dashboard.run import DEFAULT_TOP, DashboardQuery
    from margindash_cli.ingest.pipeline import ingest_paths
    from margindash_cli.core.money import pico_to_usd
    from margindash_cli.paths import data_dir
    from margindash_cli.pricing.run import load_pricer
    from margindash_cli.reports.run import ReportQuery, run_report
    from margindash_cli.revenue.csv_import import parse_revenue_csv
    from margindash_cli.simulate.run import suggest_feature
    from margindash_cli.store.db import Store

    home = data_dir() / "demo"
    home.mkdir(parents=True, exist_ok=True)
    path = home / "demo.db"
    for suffix in ("", "-wal", "-shm", ".lock"):
        (home / (path.name + suffix)).unlink(missing_ok=True)
    log, revenue_csv = home / "demo-usage.jsonl", home / "demo-revenue.csv"
    with open(log, "wb") as fh:
        for ev in demo_data.demo_events(seed):
            fh.write(orjson.dumps(ev) + b"\n")
    with open(revenue_csv, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["customer_id", "amount", "currency", "period_start", "period_end"])
        writer.writeheader()
        for row in demo_data.demo_revenue():
            writer.writerow({**row, "amount": f"{row['amount'] / 100:.2f}"})
    with Store.open(path) as store:
        result = ingest_paths(store, [str(log)], quarantine_path=home / "demo.quarantine.jsonl", pricer=load_pricer(store))
        days = parse_revenue_csv(revenue_csv.read_text(), str(revenue_csv))
        store.replace_revenue(f"csv:{revenue_csv.name}", [
            (d.customer_id, d.day, d.amount_minor, d.currency, d.amount_minor, d.ref) for d in days
        ])  # fmt: skip
        env = run_report(store, ReportQuery(dims=["customer"]))
        feature = suggest_feature(store)
        from margindash_cli.reconcile.run import load_demo_bill, reconcile

        load_demo_bill(store)  # #18: a synthetic bill, so the demo shows reconciliation too
        rec = reconcile(store, start_ms=None, end_ms=None, by="month")
        html_path = home / "demo-report.html"
        html_path.write_text(dashboard_page.render(dashboard_run.build(store, DashboardQuery(
            ReportQuery(dims=["customer"], top=DEFAULT_TOP), full=True, command=f"margindash --db {path} dashboard -o {html_path}"))), encoding="utf-8")  # fmt: skip
    render.stderr_console().print(
        f"demo store: {path} ({result.events_stored:,} calls, {len(demo_data.CUSTOMERS)} customers, "
        f"{demo_data.DEMO_DAYS} days to {demo_data.DEMO_END}; your own store was not touched)",
        markup=False,
    )
    render.emit_report(env, "table")
    out = render.stdout_console()
    out.print(f"Next: margindash --db {path} report --by customer --breakdown feature --top 5", markup=False)
    if feature:  # the costliest feature: what it would cost on other models
        out.print(f"Then: margindash --db {path} simulate --event-type {feature}", markup=False)
    t = rec.totals
    out.print(f"Bill: computed {render.display_money(pico_to_usd(t.computed))} vs billed {render.display_money(pico_to_usd(t.billed))}"
              f" (OpenAI, Anthropic): untracked {render.display_money(pico_to_usd(t.parts['untracked_usage']))}, price difference"
              f" {render.display_money(pico_to_usd(t.parts['price_difference']))}, no-log charges"
              f" {render.display_money(pico_to_usd(t.parts['unlogged_charges']))}.", markup=False)  # fmt: skip
    out.print(f"And: margindash --db {path} reconcile --by month; margindash --db {path} report --cost-basis reconciled", markup=False)
    out.print(f"HTML report: {html_path} (open it in a browser; margindash dashboard -o FILE makes one of your own store)",
              markup=False, soft_wrap=True)  # fmt: skip
