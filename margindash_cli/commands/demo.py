"""`margindash demo`: build a demo store from built-in synthetic data and show it."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


def demo(
    seed: int = typer.Option(7, "--seed", help="Seed of the synthetic data (the same seed gives the same numbers)."),
) -> None:
    """Build a separate demo store from built-in synthetic data (offline, a few seconds) and show its margins.

    The demo store lives next to your store as demo.db and is rebuilt on every run; your own store is
    never touched.

    Example: margindash demo
    """
    import tempfile
    from pathlib import Path

    import orjson

    from .. import demo as demo_data
    from ..ingest.pipeline import ingest_paths
    from ..paths import data_dir
    from ..pricing.pricer import load_pricer
    from ..render import stderr_console, stdout_console
    from ..store import Store

    err = stderr_console()
    home = data_dir()
    home.mkdir(parents=True, exist_ok=True)
    path = home / "demo.db"
    for suffix in ("", "-wal", "-shm", ".lock"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "demo-usage.jsonl"
        with open(log, "wb") as fh:
            for ev in demo_data.demo_events(seed):
                fh.write(orjson.dumps(ev) + b"\n")
        with Store.open(path) as store:
            result = ingest_paths(store, [str(log)], quarantine_path=Path(tmp) / "q.jsonl", pricer=load_pricer(store))
    err.print(f"demo store: {path} ({result.events_stored:,} calls over {demo_data.DEMO_DAYS} days)", markup=False)
    out = stdout_console()
    out.print(f"Built the demo store with {result.events_stored:,} calls from {len(demo_data.CUSTOMERS)} customers.", markup=False)
    out.print(f"Try: margindash --db {path} events --limit 5", markup=False)
