"""What `margindash demo` shows: the demo store's line (stderr), its report, and the commands to try next."""

from __future__ import annotations

import shlex
import sys
from typing import TYPE_CHECKING

from margindash_cli.cli.render.kit import display_money, stderr_console, stdout_console
from margindash_cli.cli.render.report import emit_report
from margindash_cli.core.money import pico_to_usd

if TYPE_CHECKING:
    from margindash_cli.demo.run import DemoResult


def print_stage(text: str) -> None:
    """One line per stage of the build on stderr, so the few seconds it takes are never silent."""
    print(f"demo: {text}", file=sys.stderr, flush=True)


def print_demo(demo: DemoResult) -> None:
    from margindash_cli.demo import synthetic as demo_data  # lazy: start-up

    path, html_path = demo.path, demo.html_path
    stderr_console().print(
        f"demo store: {path} ({demo.events:,} calls, {len(demo_data.CUSTOMERS)} customers, "
        f"{demo.first_day} to {demo.last_day}; your own store was not touched)",
        markup=False,
        soft_wrap=True,
    )
    emit_report(demo.report, "table")
    out = stdout_console()
    # A suggested command is never hard-wrapped (pasting a wrapped one runs two broken commands): soft_wrap leaves
    # the wrapping to the terminal, which a copy undoes.
    out.print(
        f"Next: margindash --db {path} report --by customer --breakdown feature --top 5", markup=False, soft_wrap=True
    )
    if demo.feature:  # the costliest feature: what it would cost on other models
        out.print(f"Then: margindash --db {path} simulate --event-type {demo.feature}", markup=False, soft_wrap=True)
    t = demo.reconciliation.totals
    out.print(
        f"Bill: computed {display_money(pico_to_usd(t.computed))} vs billed {display_money(pico_to_usd(t.billed))}"
        f" (OpenAI, Anthropic): untracked {display_money(pico_to_usd(t.parts['untracked_usage']))}, price difference"
        f" {display_money(pico_to_usd(t.parts['price_difference']))}, no-log charges"
        f" {display_money(pico_to_usd(t.parts['unlogged_charges']))}.",
        markup=False,
        soft_wrap=True,
    )
    out.print(
        f"And: margindash --db {path} reconcile --by month; margindash --db {path} report --cost-basis reconciled",
        markup=False,
        soft_wrap=True,
    )
    out.print(
        f"HTML report: {html_path} (open it in a browser; margindash dashboard -o FILE makes one of your own store)",
        markup=False,
        soft_wrap=True,
    )
    # A plain `margindash report` reads the user's own store, not this one: say how to make every command read it.
    quoted = shlex.quote(str(path))
    out.print(
        f"Every command on the demo store: export MARGINDASH_DB={quoted} (then margindash report --period 7d,"
        " margindash report cohorts, margindash events); unset MARGINDASH_DB to go back to your own store.",
        markup=False,
        soft_wrap=True,
    )
