"""`margindash simulate`: what a feature would cost on other models, ranked by benchmark score per dollar."""

from __future__ import annotations

from typing import Optional

import typer

from margindash_cli.cli.options import Period, Until, UtcSince


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate)


def simulate(
    ctx: typer.Context,
    event_type: Optional[str] = typer.Option(
        None, "--event-type", "--feature", help="Only this feature (event type); default: every feature."
    ),
    since: UtcSince = None,
    until: Until = None,
    period: Period = None,
    candidates: Optional[list[str]] = typer.Option(
        None,
        "--candidates",
        help="MODEL,MODEL (PROVIDER/MODEL or an id as logged; repeatable). Default: every model with a current price and a benchmark score.",
    ),
    benchmark: str = typer.Option(
        "gpqa_diamond", "--benchmark", help="mmlu_pro|gpqa_diamond: the score that ranks, tiers and floors."
    ),
    tier: Optional[str] = typer.Option(None, "--tier", help="frontier|mid|budget: only candidates in this tier."),
    min_score: Optional[str] = typer.Option(
        None,
        "--min-score",
        help="Recommend only candidates scoring at least X (default: the best current model's score).",
    ),
    output_ratio: str = typer.Option(
        "1",
        "--output-ratio",
        help="Scale each call's output tokens by R on the candidates (e.g. 3 for a reasoning model that writes 3x more).",
    ),
    top: int = typer.Option(
        10,
        "--top",
        help="Candidates shown per feature in the table, best score per dollar first (0 = all); the recommended ones are always listed.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON (every candidate)."),
) -> None:
    """Re-price a period's real calls on other models and rank them by benchmark score per dollar.

    Each call keeps its tokens (input, cache reads and writes, output, reasoning) and service tier and
    is priced on each candidate at today's price with the same rules as ingest; calls above a
    candidate's context window stay on their current model and are counted. Cost is the same calls on
    their current models at today's prices; savings and monthly savings (the period's run rate) are
    against it. Score per dollar = score / simulated cost of 1,000 of the feature's calls.

    Tiers by the --benchmark score: MMLU-Pro frontier >= 80, mid-tier >= 70; GPQA Diamond frontier
    >= 75, mid-tier >= 55; budget below. Recommended: the cheapest candidate of each tier scoring at
    least the best current model (or --min-score), and the best score per dollar among those.
    Models with no score are listed as "no benchmark data", never ranked.

    Example: margindash simulate --event-type summarize --period 30d --benchmark mmlu_pro
    """
    from decimal import Decimal, InvalidOperation  # lazy: start-up

    from margindash_cli.cli.options import (
        now,  # lazy: start-up
        open_store,  # lazy: start-up
    )
    from margindash_cli.cli.render import kit  # lazy: start-up
    from margindash_cli.cli.render import simulate as simulate_view  # lazy: start-up
    from margindash_cli.errors import UsageError  # lazy: start-up
    from margindash_cli.simulate.run import SimulateQuery, run_simulation  # lazy: start-up

    def number(option: str, text: str) -> Decimal:
        try:
            return Decimal(text)
        except InvalidOperation:
            raise UsageError(f"{option} {text!r} is not a number") from None

    names = [n.strip() for spec in candidates or [] for n in spec.split(",") if n.strip()] or None
    query = SimulateQuery(
        event_type=event_type,
        since=since,
        until=until,
        period=period,
        candidates=names,
        benchmark=benchmark.lower().replace("-", "_"),
        tier=tier,
        min_score=None if min_score is None else number("--min-score", min_score),
        output_ratio=number("--output-ratio", output_ratio),
        top=top,
        now=now(),
    )
    with open_store(ctx, create=False) as store:
        env = run_simulation(store, query)
    if as_json:
        kit.emit_json(env)
        return
    simulate_view.print_simulation(env)
