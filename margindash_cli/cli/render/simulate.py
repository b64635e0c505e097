"""The table, recommendations and assumptions of `margindash simulate`."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from margindash_cli.cli.render.kit import names_text, print_fitted, red_if_negative, stdout_console
from margindash_cli.core.money import display_usd

if TYPE_CHECKING:
    from rich.console import Console

    from margindash_cli.simulate.compute import FeatureSimulation
    from margindash_cli.simulate.run import SimulateEnvelope


def _score_cell(value: Decimal | int | None, delta: Decimal | None = None) -> str:
    if value is None:
        return "-"
    text = format(value.normalize(), "f") if isinstance(value, Decimal) else str(value)
    if delta is not None:
        text += f" ({'+' if delta >= 0 else ''}{format(delta.normalize(), 'f')})"
    return text


BENCH_COLUMNS = [("mmlu_pro", "MMLU-Pro"), ("gpqa_diamond", "GPQA")]  # (benchmark id, column header)
# The headline columns of a feature's table are `candidate` and `score/$` (the ranking key): never dropped. To fit
# the terminal, whole columns go in this order (the benchmarks other than --benchmark first).
DROP_ORDER = ("savings %", "simulated cost", "tier", "{benchmark}", "savings")


def print_simulation(env: SimulateEnvelope) -> None:
    """One table per feature, titled with it (its current state, then its best candidates and the recommended
    ones), each followed by its recommendations; then the assumptions the numbers rest on."""
    from margindash_cli.simulate.run import assumptions  # lazy: start-up

    r = env.result
    console = stdout_console()
    if not r.features:
        console.print(f"No calls in {env.range.label} (UTC).", markup=False)
        console.print("hint: widen the period, or check `margindash events`", markup=False)
        return
    console.print(env.title, markup=False)
    for f in r.features:
        console.print("", markup=False)
        _print_feature(console, env, f)
    console.print("", markup=False)
    console.print("Assumptions:", markup=False)
    for line in assumptions(env):
        console.print(f"- {line}", markup=False)


def _print_feature(console: Console, env: SimulateEnvelope, f: FeatureSimulation) -> None:
    from margindash_cli.simulate.compute import CANNOT_PRICE, NO_DATA, RANKED, TIER_LABELS  # lazy: start-up

    chosen = env.result.benchmark
    chosen_label = dict(BENCH_COLUMNS)[chosen]
    cols = [
        ("candidate", "left"),
        ("simulated cost", "right"),
        ("savings", "right"),
        ("savings %", "right"),
        *((label, "right") for _, label in BENCH_COLUMNS),
        ("score/$", "right"),
        ("tier", "left"),
    ]
    u = f.usage
    total = sum(m.events for m in u.current) or 1
    now = ", ".join(f"{m.model} {m.events * 100 / total:.0f}%" if len(u.current) > 1 else m.model for m in u.current)
    cost_now = display_usd(u.baseline_pico, pico=True)
    best_now = f.current_scores.get(chosen)
    body: list[list[Any]] = [
        [
            f"now: {u.current[0].model}" if len(u.current) == 1 else "now: mix",  # the mix is in the title
            cost_now,
            "",
            "",
            *(_score_cell(f.current_scores.get(b)) for b, _ in BENCH_COLUMNS),
            "",
            TIER_LABELS[_tier(best_now, chosen)] if best_now is not None else "-",
        ]
    ]
    explicit = env.query.candidates is not None
    top = env.query.top
    ranked = [row for row in f.rows if row.status == RANKED]
    recommended = {id(rec.row) for rec in f.recommendations if rec.row is not None}
    # the first --top ranked, and every recommended candidate wherever it ranks, in rank order
    shown = [row for i, row in enumerate(ranked) if top == 0 or i < top or id(row) in recommended]
    if explicit:
        shown += [row for row in f.rows if row.status != RANKED]
    notes: list[str] = []
    for row in shown:
        c = row.candidate
        name = c.key + (" (current)" if c.current else "") + (" *" if c.unswappable_events else "")
        scores = [_score_cell(c.scores.get(b), row.deltas.get(b) if b == chosen else None) for b, _ in BENCH_COLUMNS]
        if row.status == CANNOT_PRICE:
            body.append([name, "cannot price", "", "", *scores, "", "-"])
            continue
        savings = red_if_negative(display_usd(row.savings_pico, pico=True), row.savings_pico)
        pct = "-" if row.savings_pct is None else f"{row.savings_pct:.1f}%"
        spd = "-" if row.score_per_dollar is None else f"{row.score_per_dollar:,.2f}"
        tier = TIER_LABELS[row.tier] if row.tier else NO_DATA
        body.append([name, display_usd(c.simulated_pico, pico=True), savings, pct, *scores, spd, tier])
        if c.unswappable_events:
            window = f"{c.context_window:,}-token" if c.context_window else "its"
            notes.append(
                f"* {u.feature} on {c.key}: {c.unswappable_events:,} of {u.events:,} calls exceed its {window}"
                f" context window and stay on the current model ({display_usd(c.unswappable_pico, pico=True)})."
            )
    hidden = len(ranked) - sum(1 for row in shown if row.status == RANKED)
    if hidden > 0 and not explicit:
        notes.append(f"{hidden} more ranked candidate(s) not shown (--top 0 shows all; --json has every one).")
    drop = (
        *(label for b, label in BENCH_COLUMNS if b != chosen),
        *(chosen_label if name == "{benchmark}" else name for name in DROP_ORDER),
    )
    calls = f"{u.events:,} call{'s' if u.events != 1 else ''}"
    title = f"{u.feature}: {calls} now on {now}, cost {cost_now}"
    print_fitted(console, title, cols, body, drop=drop, every="--json")  # simulate has no CSV
    for line in notes:
        console.print(line, markup=False)
    _print_recommendations(console, env, f)


def _print_recommendations(console: Console, env: SimulateEnvelope, f: FeatureSimulation) -> None:
    from margindash_cli.pricing.benchmarks import BENCHMARK_LABELS  # lazy: start-up
    from margindash_cli.simulate.compute import CANNOT_PRICE, NO_DATA, TIER_LABELS  # lazy: start-up

    label = BENCHMARK_LABELS[env.result.benchmark]
    explicit = env.query.candidates is not None
    if f.floor is None:
        floor = f"no floor: no current model has a {label} score (set one with --min-score)"
    else:
        why = "--min-score" if f.floor_source == "min-score" else "the best current model's score"
        floor = f"{label} >= {_score_cell(f.floor)} ({why})"
    console.print(f"{f.usage.feature}: recommended ({floor}); monthly = the period's run rate", markup=False)
    for rec in f.recommendations:
        what = TIER_LABELS[rec.tier] if rec.kind == "cheapest_in_tier" else "best score per dollar"
        if rec.row is None:
            reach = f"reaches {_score_cell(f.floor)}" if f.floor is not None else "is priced"
            lower = " (lower the floor with --min-score)" if f.floor is not None and f.floor_source == "current" else ""
            console.print(f"  {what}: none in this tier {reach}{lower}", markup=False)
            continue
        row = rec.row
        verb = "saves" if row.savings_pico >= 0 else "costs"
        pct = "" if row.savings_pct is None else f", {abs(row.savings_pct):.1f}%"
        console.print(
            f"  {what}: {row.candidate.key} ({label} {_score_cell(row.score)}) {verb}"
            f" {display_usd(abs(row.monthly_savings_pico), pico=True)}/month"
            f"{'' if verb == 'saves' else ' more'}{pct}",
            markup=False,
        )
    no_data = [row.candidate.key for row in f.rows if row.status == NO_DATA]
    cannot = [row.candidate.key for row in f.rows if row.status == CANNOT_PRICE]
    if no_data and not explicit:
        console.print(f"  no {label} score (not ranked): {names_text(no_data, 6)}", markup=False)
    if cannot and not explicit:
        console.print(f"  cannot price this feature's calls: {names_text(cannot, 6)}", markup=False)
    if f.usage.excluded_events:
        console.print(
            f"  {f.usage.excluded_events:,} call(s) left out: their model has no price today"
            " (hint: margindash prices unpriced)",
            markup=False,
        )


def _tier(score: Decimal, benchmark: str) -> str:
    from margindash_cli.simulate.compute import tier_of  # lazy: start-up

    return tier_of(score, benchmark)
