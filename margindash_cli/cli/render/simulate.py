"""The table, recommendations and assumptions of `margindash simulate`."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from margindash_cli.cli.render.kit import names_text, print_fitted, red_if_negative, stdout_console
from margindash_cli.core.money import display_usd

if TYPE_CHECKING:
    from margindash_cli.simulate.run import SimulateEnvelope


def _score_cell(value: Decimal | int | None, delta: Decimal | None = None) -> str:
    if value is None:
        return "-"
    text = format(value.normalize(), "f") if isinstance(value, Decimal) else str(value)
    if delta is not None:
        text += f" ({'+' if delta >= 0 else ''}{format(delta.normalize(), 'f')})"
    return text


def print_simulation(env: SimulateEnvelope) -> None:
    """The simulate table (current state of each feature, then its best candidates), then the
    recommendations, what was not ranked, and the assumptions the numbers rest on."""
    from margindash_cli.pricing.benchmarks import BENCHMARK_LABELS  # lazy: start-up
    from margindash_cli.simulate.compute import CANNOT_PRICE, NO_DATA, RANKED, TIER_LABELS  # lazy: start-up
    from margindash_cli.simulate.run import assumptions  # lazy: start-up

    r = env.result
    console = stdout_console()
    if not r.features:
        console.print(f"No calls in {env.range.label} (UTC).", markup=False)
        console.print("hint: widen the period, or check `margindash events`", markup=False)
        return
    chosen = r.benchmark
    bench_cols = [("mmlu_pro", "MMLU-Pro"), ("gpqa_diamond", "GPQA")]
    cols = [
        ("feature", "left"),
        ("events", "right"),
        ("cost", "right"),
        ("candidate", "left"),
        ("simulated cost", "right"),
        ("savings", "right"),
        ("savings %", "right"),
        *((label, "right") for _, label in bench_cols),
        ("score/$", "right"),
        ("tier", "left"),
    ]
    body: list[list[Any]] = []
    notes: list[str] = []
    explicit = env.query.candidates is not None
    top = env.query.top
    for f in r.features:
        u = f.usage
        if body:
            body.append([""] * len(cols))
        total = sum(m.events for m in u.current) or 1
        now = ", ".join(
            f"{m.model} {m.events * 100 / total:.0f}%" if len(u.current) > 1 else m.model for m in u.current
        )
        best_now = f.current_scores.get(chosen)
        cost_now = display_usd(u.baseline_pico, pico=True)
        body.append(
            [
                u.feature,
                f"{u.events:,}",
                cost_now,
                f"now: {now}",
                cost_now,
                "",
                "",
                *(_score_cell(f.current_scores.get(b)) for b, _ in bench_cols),
                "",
                TIER_LABELS[_tier(best_now, chosen)] if best_now is not None else "-",
            ]
        )
        ranked = [row for row in f.rows if row.status == RANKED]
        shown = ranked if top == 0 else ranked[:top]
        if explicit:
            shown = shown + [row for row in f.rows if row.status != RANKED]
        for row in shown:
            c = row.candidate
            name = c.key + (" (current)" if c.current else "") + (" *" if c.unswappable_events else "")
            if row.status == CANNOT_PRICE:
                body.append(
                    [
                        "",
                        "",
                        "",
                        name,
                        "cannot price",
                        "",
                        "",
                        *(_score_cell(c.scores.get(b)) for b, _ in bench_cols),
                        "",
                        "-",
                    ]
                )
                continue
            savings = red_if_negative(display_usd(row.savings_pico, pico=True), row.savings_pico)
            pct = "-" if row.savings_pct is None else f"{row.savings_pct:.1f}%"
            scores = [_score_cell(c.scores.get(b), row.deltas.get(b) if b == chosen else None) for b, _ in bench_cols]
            spd = "-" if row.score_per_dollar is None else f"{row.score_per_dollar:,.2f}"
            tier = TIER_LABELS[row.tier] if row.tier else NO_DATA
            body.append(["", "", "", name, display_usd(c.simulated_pico, pico=True), savings, pct, *scores, spd, tier])
            if c.unswappable_events:
                window = f"{c.context_window:,}-token" if c.context_window else "its"
                notes.append(
                    f"* {u.feature} on {c.key}: {c.unswappable_events:,} of {u.events:,} calls exceed its {window}"
                    f" context window and stay on the current model ({display_usd(c.unswappable_pico, pico=True)})."
                )
        hidden = len(ranked) - len(shown) if not explicit else 0
        if hidden > 0:
            notes.append(
                f"{u.feature}: {hidden} more ranked candidate(s) not shown (--top 0 shows all; --json has every one)."
            )
    label = BENCHMARK_LABELS[chosen]
    single = env.query.event_type is not None  # the feature is in the title: its column goes early
    drop = (
        *(lbl for b, lbl in bench_cols if b != chosen),
        "events",
        "cost",
        *(("feature",) if single else ()),
        "savings %",
        "score/$",
        *(() if single else ("feature",)),
    )
    print_fitted(console, env.title, cols, body, drop=drop, every="--json")  # simulate has no CSV
    for line in notes:
        console.print(line, markup=False)
    for f in r.features:
        console.print("", markup=False)
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
                console.print(
                    f"  {what}: none in this tier {reach}"
                    + (
                        " (lower the floor with --min-score)"
                        if f.floor is not None and f.floor_source == "current"
                        else ""
                    ),
                    markup=False,
                )
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
    console.print("", markup=False)
    console.print("Assumptions:", markup=False)
    for line in assumptions(env):
        console.print(f"- {line}", markup=False)


def _tier(score: Decimal, benchmark: str) -> str:
    from margindash_cli.simulate.compute import tier_of  # lazy: start-up

    return tier_of(score, benchmark)
