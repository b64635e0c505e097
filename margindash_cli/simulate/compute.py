"""What each feature would cost on other models, ranked by benchmark score per dollar. Pure: no I/O.

Inputs are already priced (see `simulation.py`, which re-prices the period's real calls on each
candidate with `pricing.mix`); this module compares, ranks, assigns tiers and recommends.

Invariants and definitions:
- Money is exact: integer picodollars in, integer picodollars out. Percentages and score per dollar
  are Decimals, rounded only when rendered. Scores are Decimal percentages (0-100).
- `cost` of a feature = its calls re-priced on their current models at today's prices (the baseline);
  savings = baseline - simulated cost, so a price change during the period is never mistaken for a
  saving. The billed cost of the period is carried alongside.
- A candidate with no score on the chosen benchmark is "no benchmark data": listed, never ranked, never
  treated as 0. A candidate whose price cannot bill the mix (a rate it lacks) is "cannot price".
- Score per dollar = score / simulated cost per 1,000 calls of this feature's own mix (not a list price).
- Tier by the chosen benchmark's score: TIER_BANDS (frontier >= first bound, mid-tier >= second,
  budget below).
- The current score of a feature served by several models is the best of their scores: a replacement
  should be at least as good as every model it replaces. It is the floor of the recommendations unless
  `min_score` is given.
- Recommendations: per tier, the cheapest ranked candidate scoring at least the floor; and the best
  score per dollar across tiers among those at least the floor. Moving a feature to the model it already
  uses alone is no change and is never recommended. Monthly = the period's saving x MONTH_DAYS / days.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal

TIERS = ("frontier", "mid", "budget")
TIER_LABELS = {"frontier": "frontier", "mid": "mid-tier", "budget": "budget"}
# Score bands per benchmark: (frontier from, mid-tier from); below the second bound is budget.
# MMLU-Pro: >= 80 is today's frontier, >= 70 is where GPT-4o-class models sit. GPQA Diamond: >= 75 is
# at or above the PhD-expert accuracy the GPQA authors measured; below 55 is nearer the skilled
# non-expert level than the expert one.
TIER_BANDS = {"mmlu_pro": (Decimal(80), Decimal(70)), "gpqa_diamond": (Decimal(75), Decimal(55))}
MONTH_DAYS = Decimal("30.4375")  # days in an average month (365.25 / 12), for monthly run rates
CALLS_PER_PRICE_UNIT = 1000  # score per dollar is per dollar of 1,000 calls of the feature's mix
PICO_PER_USD = 10**12

RANKED, NO_DATA, CANNOT_PRICE = "ranked", "no benchmark data", "cannot price"


@dataclass(frozen=True)
class CurrentModel:
    """A model that serves the feature today."""

    vendor: str
    model: str
    priced_as: str | None  # catalog key "provider/model" it is priced as; None = unpriced now
    events: int
    billed_pico: int  # what its calls were billed in the period (stored cost)
    scores: dict[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class CandidateCost:
    """One candidate, priced on the feature's real calls."""

    provider: str
    model: str
    context_window: int | None
    simulated_pico: int | None  # None = its price cannot bill some calls of the mix
    unswappable_events: int  # calls above its context window: they stay on the current model
    unswappable_pico: int  # what those calls cost on the current model (inside simulated_pico)
    unpriced_events: int
    scores: dict[str, Decimal] = field(default_factory=dict)
    current: bool = False  # one of the feature's current models

    @property
    def key(self) -> str:
        return f"{self.provider}/{self.model}"


@dataclass(frozen=True)
class FeatureUsage:
    feature: str
    events: int  # calls compared (those whose current model has a price today)
    billed_pico: int  # billed cost of those calls in the period
    baseline_pico: int  # those calls at today's prices on their current models
    excluded_events: int  # calls left out: their current model has no price today
    current: list[CurrentModel]
    candidates: list[CandidateCost]


@dataclass
class CandidateRow:
    candidate: CandidateCost
    status: str  # RANKED | NO_DATA | CANNOT_PRICE
    score: Decimal | None  # on the chosen benchmark
    deltas: dict[str, Decimal]  # score - current score, per benchmark where both exist
    tier: str | None
    savings_pico: int | None
    savings_pct: Decimal | None
    monthly_savings_pico: int | None
    cost_per_1k_pico: Decimal | None
    score_per_dollar: Decimal | None


@dataclass
class Recommendation:
    kind: str  # "cheapest_in_tier" | "best_score_per_dollar"
    tier: str | None
    row: CandidateRow | None  # None = no candidate in this tier reaches the floor


@dataclass
class FeatureSimulation:
    usage: FeatureUsage
    current_scores: dict[str, Decimal]  # best current score per benchmark
    floor: Decimal | None
    floor_source: str  # "min-score" | "current" | "none"
    rows: list[CandidateRow]  # ranked (best score per dollar first), then no data, then cannot price
    recommendations: list[Recommendation]


@dataclass
class SimulateResult:
    benchmark: str
    bands: tuple[Decimal, Decimal]
    days: Decimal  # length of the period the run rate is taken over
    tier_filter: str | None
    min_score: Decimal | None
    features: list[FeatureSimulation]


def tier_of(score: Decimal, benchmark: str) -> str:
    frontier, mid = TIER_BANDS[benchmark]
    if score >= frontier:
        return "frontier"
    if score >= mid:
        return "mid"
    return "budget"


def monthly(pico: int, days: Decimal) -> int:
    """A period's amount at its run rate over an average month, rounded half-even to the picodollar."""
    if days <= 0:
        return pico
    return int((Decimal(pico) * MONTH_DAYS / days).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def current_scores(current: list[CurrentModel]) -> dict[str, Decimal]:
    best: dict[str, Decimal] = {}
    for m in current:
        for bench, score in m.scores.items():
            if bench not in best or score > best[bench]:
                best[bench] = score
    return best


def _row(c: CandidateCost, usage: FeatureUsage, benchmark: str, now: dict[str, Decimal], days: Decimal) -> CandidateRow:
    score = c.scores.get(benchmark)
    deltas = {b: s - now[b] for b, s in c.scores.items() if b in now}
    if c.simulated_pico is None:
        return CandidateRow(c, CANNOT_PRICE, score, deltas, None, None, None, None, None, None)
    savings = usage.baseline_pico - c.simulated_pico
    pct = (Decimal(savings) * 100 / usage.baseline_pico) if usage.baseline_pico else None
    per_1k = Decimal(c.simulated_pico) * CALLS_PER_PRICE_UNIT / usage.events if usage.events else None
    spd = None
    if score is not None and per_1k:
        spd = score * PICO_PER_USD / per_1k  # score per USD of 1,000 calls
    return CandidateRow(
        c,
        RANKED if score is not None else NO_DATA,
        score,
        deltas,
        tier_of(score, benchmark) if score is not None else None,
        savings,
        pct,
        monthly(savings, days),
        per_1k,
        spd,
    )


def _order(r: CandidateRow) -> tuple:
    status = (RANKED, NO_DATA, CANNOT_PRICE).index(r.status)
    spd = r.score_per_dollar
    # ranked: best score per dollar first (a free candidate, no score per dollar, after them); then by cost
    return (
        status,
        spd is None,
        -(spd or 0),
        r.candidate.simulated_pico if r.candidate.simulated_pico is not None else 0,
        r.candidate.key,
    )


def build_simulation(
    features: list[FeatureUsage],
    *,
    benchmark: str,
    days: Decimal,
    tier_filter: str | None = None,
    min_score: Decimal | None = None,
) -> SimulateResult:
    """Rank each feature's candidates and pick the recommendations (see the module docstring)."""
    out = []
    for usage in features:
        now = current_scores(usage.current)
        rows = [_row(c, usage, benchmark, now, days) for c in usage.candidates]
        if tier_filter is not None:
            rows = [r for r in rows if r.status != RANKED or r.tier == tier_filter]
        rows.sort(key=_order)
        if min_score is not None:
            floor, floor_source = min_score, "min-score"
        elif benchmark in now:
            floor, floor_source = now[benchmark], "current"
        else:
            floor, floor_source = None, "none"
        only_current = {m.priced_as for m in usage.current} if len(usage.current) == 1 else set()
        eligible = [
            r
            for r in rows
            if r.status == RANKED
            and (floor is None or r.score >= floor)  # type: ignore[operator]
            and r.candidate.key not in only_current
        ]
        recs = []
        for tier in (tier_filter,) if tier_filter else TIERS:
            in_tier = [r for r in eligible if r.tier == tier]
            best = min(in_tier, key=lambda r: (r.candidate.simulated_pico, -r.score, r.candidate.key), default=None)  # type: ignore[operator]
            recs.append(Recommendation("cheapest_in_tier", tier, best))
        with_spd = [r for r in eligible if r.score_per_dollar is not None]
        best_spd = min(
            with_spd, key=lambda r: (-r.score_per_dollar, r.candidate.simulated_pico, r.candidate.key), default=None
        )  # type: ignore[operator]
        recs.append(Recommendation("best_score_per_dollar", None, best_spd))
        out.append(FeatureSimulation(usage, now, floor, floor_source, rows, recs))
    return SimulateResult(benchmark, TIER_BANDS[benchmark], days, tier_filter, min_score, out)
