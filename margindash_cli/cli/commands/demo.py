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
    from) and is rebuilt on every run; your own store is never touched. Its 90 days end yesterday, so
    --period 7d, 30d and mtd show data; its customers sign up over the first months. To read it with
    every command: export MARGINDASH_DB=<the demo store it names>.

    Example: margindash demo
    """
    from datetime import timedelta  # lazy: start-up

    from margindash_cli.cli.options import clock  # lazy: start-up
    from margindash_cli.cli.render import demo as demo_view  # lazy: start-up
    from margindash_cli.demo.run import build_demo  # lazy: start-up

    yesterday = clock().date() - timedelta(days=1)
    demo_view.print_demo(build_demo(seed, yesterday, on_stage=demo_view.print_stage))
