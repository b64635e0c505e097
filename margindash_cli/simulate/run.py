"""Run a simulation against a store: read the period's calls, re-price them on each candidate, rank.

The glue between `store` (the calls, grouped by identical per-call vector), `pricing` (today's price of
each model, the exact cost rules, benchmark scores) and `simulate` (pure ranking and recommendations).

- Every call is re-priced with the same rules as ingest (`pricing.cost.cost_of`, through `pricing.mix`),
  on the candidate's price in force now, with the call's own token vector and service tier.
- The baseline is the same calls on their current models at today's prices; calls whose model has no
  price today are left out of the comparison and counted.
- A call whose prompt plus output exceed a candidate's context window cannot move to it: it stays on
  its current model (its current cost is part of the candidate's simulated cost) and is counted.
- Extra (non-token) charges of a call (`cost_usd`) are the same whatever the model and are added to
  both sides.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from margindash_cli.core import suggest
from margindash_cli.core.money import usd_text
from margindash_cli.core.periods import DAY_MS, TimeRange, resolve_range
from margindash_cli.errors import MarginDashError, UsageError
from margindash_cli.pricing.benchmarks import BENCHMARK_IDS, BENCHMARK_LABELS, BenchmarkTable, load_benchmarks
from margindash_cli.pricing.mix import Mix, VectorRow
from margindash_cli.pricing.model import PriceVersion
from margindash_cli.pricing.pricer import Pricer
from margindash_cli.pricing.run import load_pricer
from margindash_cli.simulate import compute as simulate
from margindash_cli.store.db import Store

SCHEMA_VERSION = 1  # of the JSON `simulate --json` prints
DEFAULT_BENCHMARK = "gpqa_diamond"  # the benchmark with scores for the most priced models
DEFAULT_TOP = 10  # candidates shown per feature in the table (--json has them all)
NO_FEATURE = "(none)"  # label of calls with no event type
EVALUATOR_LABELS = {
    "benchmark-authors": "the benchmark's authors",
    "openai-simple-evals": "openai/simple-evals runs",
    "vendor-reported": "vendor-reported",
}


@dataclass
class SimulateQuery:
    event_type: str | None = None
    since: str | None = None
    until: str | None = None
    period: str | None = None
    candidates: list[str] | None = None  # "PROVIDER/MODEL" or a model id as logs have it; None = default set
    benchmark: str = DEFAULT_BENCHMARK
    tier: str | None = None
    min_score: Decimal | None = None
    output_ratio: Decimal = Decimal(1)
    top: int = DEFAULT_TOP
    now: datetime | None = None  # "now": which prices are current, --period, generated_at; None = the clock


@dataclass
class SimulateEnvelope:
    query: SimulateQuery
    range: TimeRange
    generated_at: datetime
    result: simulate.SimulateResult

    def to_json(self) -> dict[str, Any]:
        return envelope_json(self)

    @property
    def title(self) -> str:
        label = BENCHMARK_LABELS[self.result.benchmark]
        what = f"{self.query.event_type} on other models" if self.query.event_type else "Features on other models"
        return f"{what}, ranked by {label} score per dollar · {self.range.label} (UTC)"


def validate(q: SimulateQuery) -> None:
    if q.benchmark not in BENCHMARK_IDS:
        raise UsageError(f"unknown --benchmark {q.benchmark!r}", f"use one of {', '.join(BENCHMARK_IDS)}")
    if q.tier is not None and q.tier not in simulate.TIERS:
        raise UsageError(f"unknown --tier {q.tier!r}", "use frontier, mid or budget")
    if q.min_score is not None and not (0 <= q.min_score <= 100):
        raise UsageError(f"--min-score {q.min_score} is not a score", "scores are percentages, 0 to 100")
    if not q.output_ratio.is_finite() or q.output_ratio <= 0:
        raise UsageError(
            f"--output-ratio {q.output_ratio} must be a positive number", "e.g. 3 for a model that writes 3x more"
        )
    if q.top < 0:
        raise UsageError("--top must be 0 (all) or more")


def run_simulation(store: Store, q: SimulateQuery) -> SimulateEnvelope:
    validate(q)
    now = q.now or datetime.now(UTC)
    now_ms = int(now.timestamp() * 1000)
    rng = resolve_range(q.since, q.until, q.period, None, now)
    rows = store.events.usage_vectors(start_ms=rng.start_ms, end_ms=rng.end_ms, feature=q.event_type)
    if not rows and q.event_type is not None:
        # a feature stored nowhere is a typo (did you mean, core/suggest.py); a stored one has no call in the range
        known = suggest.stored_ids(store.events.dimension_names())
        suggest.check_filter_ids({"feature": q.event_type}, known, {"feature": "--event-type"})
        raise MarginDashError(
            f"no calls of feature {q.event_type!r} in {rng.label}",
            "list the features with: margindash report --by feature",
        )
    pricer = load_pricer(store)
    table = load_benchmarks()
    aliases = pricer.resolver.aliases
    candidates = _candidates(pricer, table, q.candidates, now_ms)

    segments: dict[tuple[str, str, str, str | None], list[VectorRow]] = defaultdict(list)
    billed: dict[tuple[str, str, str], list[int]] = defaultdict(
        lambda: [0, 0, 0]
    )  # billed cost, unpriced calls, extra cost
    first_ts = last_ts = None
    for feature, vendor, model, tier, *vector, units, calls, cost, unpriced, extra, lo, hi in rows:
        feature = feature or NO_FEATURE
        segments[(feature, vendor, model, tier)].append(VectorRow(*vector, units, calls))
        b = billed[(feature, vendor, model)]
        b[0] += cost
        b[1] += unpriced
        b[2] += extra
        first_ts = lo if first_ts is None else min(first_ts, lo)
        last_ts = hi if last_ts is None else max(last_ts, hi)

    features: dict[str, list[tuple[str, str, str | None, list[VectorRow]]]] = defaultdict(list)
    for (feature, vendor, model, tier), vectors in segments.items():
        features[feature].append((vendor, model, tier, vectors))
    usages = [
        _feature_usage(name, segs, billed, pricer, table, aliases, candidates, q.output_ratio, now_ms)
        for name, segs in sorted(features.items())
    ]
    usages.sort(key=lambda u: (-u.baseline_pico, u.feature))
    result = simulate.build_simulation(
        usages, benchmark=q.benchmark, days=_days(rng, first_ts, last_ts), tier_filter=q.tier, min_score=q.min_score
    )
    return SimulateEnvelope(q, rng, now, result)


@dataclass(frozen=True)
class _Candidate:
    provider: str
    model: str
    version: PriceVersion
    scores: dict[str, Decimal]


def _candidates(pricer: Pricer, table: BenchmarkTable, asked: list[str] | None, now_ms: int) -> list[_Candidate]:
    keys: list[tuple[str, str]] = []
    if asked is None:
        keys = [k for k in table.candidates() if pricer.timeline(*k).at(now_ms) is not None]
    else:
        for name in asked:
            key = _resolve_name(pricer, name)
            if key is None:
                raise UsageError(
                    f"--candidates: no price for {name!r}",
                    "use PROVIDER/MODEL as `margindash prices list` shows it, or set one with `margindash prices set`",
                )
            if key not in keys:
                keys.append(key)
    out = []
    for provider, model in keys:
        sp = pricer.timeline(provider, model).at(now_ms)
        if sp is None:
            continue
        found = table.find(provider, model, pricer.resolver.aliases)
        scores = {b: s.score for b, s in found[1].items()} if found else {}
        out.append(_Candidate(provider, model, sp.version, scores))
    return out


def _resolve_name(pricer: Pricer, name: str) -> tuple[str, str] | None:
    name = name.strip()
    provider, sep, model = name.partition("/")
    if sep and provider and model:
        res = pricer.resolve(provider.lower(), model)
        if res is not None:
            return res.provider, res.model
    res = pricer.resolve("unknown", name)
    return (res.provider, res.model) if res else None


def _feature_usage(
    feature: str,
    segs: list[tuple[str, str, str | None, list[VectorRow]]],
    billed: dict[tuple[str, str, str], list[int]],
    pricer: Pricer,
    table: BenchmarkTable,
    aliases: Any,
    candidates: list[_Candidate],
    ratio: Decimal,
    now_ms: int,
) -> simulate.FeatureUsage:
    """Price one feature's calls on their current models (today's prices) and on every candidate."""
    current: dict[tuple[str, str], dict[str, Any]] = {}
    events = baseline = excluded = 0
    sim = {
        (c.provider, c.model): [0, 0, 0, 0] for c in candidates
    }  # cost, unswappable calls, their cost, unpriced calls
    # First each model at today's price: a model that cannot bill all of its calls today is left out whole
    # (its billed and extra costs are per model, not per service tier).
    priced_segs = []
    for vendor, model, tier, vectors in sorted(segs, key=lambda s: (s[0], s[1], s[2] or "")):
        res = pricer.resolve(vendor, model)
        sp = pricer.timeline(res.provider, res.model).at(now_ms) if res else None
        info = current.setdefault(
            (vendor, model), {"key": None if res is None else (res.provider, res.model), "events": 0, "priced": True}
        )
        base_mix = Mix(vectors, tier)
        info["events"] += base_mix.calls
        now_cost = base_mix.cost(sp.version, check_window=False) if sp is not None else None
        if now_cost is None or now_cost.unpriced_calls:
            info["priced"] = False
        priced_segs.append((vendor, model, tier, vectors, sp, base_mix, now_cost))
    for vendor, model, tier, vectors, sp, base_mix, now_cost in priced_segs:
        if not current[(vendor, model)]["priced"]:  # no price today that bills these calls: left out, counted
            excluded += base_mix.calls
            continue
        events += base_mix.calls
        baseline += now_cost.cost
        cand_mix = base_mix if ratio == 1 else Mix(vectors, tier, ratio)
        stay_cost: dict[int, int] = {}  # row -> its cost on the current model, priced once
        for c in candidates:
            acc = sim[(c.provider, c.model)]
            mc = cand_mix.cost(c.version)
            acc[0] += mc.cost
            acc[3] += mc.unpriced_calls
            if mc.too_long:  # these calls cannot move: they stay on the current model, at its cost
                for i in mc.too_long:
                    if i not in stay_cost:
                        stay_cost[i] = base_mix.cost_of_rows(sp.version, (i,))[0]  # type: ignore[union-attr]
                kept = sum(stay_cost[i] for i in mc.too_long)
                acc[0] += kept
                acc[1] += mc.too_long_calls
                acc[2] += kept
    priced = [(v, m) for (v, m), info in current.items() if info["priced"]]
    # Extra (non-token) charges stay whatever the model: they are on both sides of the comparison.
    extra = sum(billed[(feature, v, m)][2] for v, m in priced)
    baseline += extra
    billed_pico = sum(billed[(feature, v, m)][0] for v, m in priced)
    current_models = []
    for (vendor, model), info in sorted(current.items(), key=lambda kv: (-kv[1]["events"], kv[0])):
        key = info["key"]
        found = table.find(key[0], key[1], aliases) if key else None
        current_models.append(
            simulate.CurrentModel(
                vendor,
                model,
                f"{key[0]}/{key[1]}" if key and info["priced"] else None,
                info["events"],
                billed[(feature, vendor, model)][0],
                {b: s.score for b, s in found[1].items()} if found else {},
            )
        )
    current_keys = {m.priced_as for m in current_models}
    cands = []
    for c in candidates:
        cost, stay_calls, kept_cost, unpriced = sim[(c.provider, c.model)]
        cands.append(
            simulate.CandidateCost(
                c.provider,
                c.model,
                c.version.context_window,
                None if unpriced else cost + extra,
                stay_calls,
                kept_cost,
                unpriced,
                c.scores,
                current=f"{c.provider}/{c.model}" in current_keys,
            )
        )
    return simulate.FeatureUsage(feature, events, billed_pico, baseline, excluded, current_models, cands)


def _days(rng: TimeRange, first_ts: int | None, last_ts: int | None) -> Decimal:
    """Length of the period the run rate is taken over: the range asked for, clamped to the days that
    have data (a new store's 30-day period with 10 days of calls runs at the 10 days' rate)."""
    if first_ts is None or last_ts is None:
        return Decimal(0)
    lo = first_ts // DAY_MS * DAY_MS
    hi = (last_ts // DAY_MS + 1) * DAY_MS
    start = lo if rng.start_ms is None else max(rng.start_ms, lo)
    end = hi if rng.end_ms is None else min(rng.end_ms, hi)
    return Decimal(max(end - start, 0)) / DAY_MS


# ---- JSON ---------------------------------------------------------------------------------------


def _score(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _num(value: Decimal | None, places: str) -> float | None:
    return None if value is None else float(value.quantize(Decimal(places)))


def candidate_json(r: simulate.CandidateRow, benchmark: str) -> dict[str, Any]:
    c = r.candidate
    return {
        "provider": c.provider,
        "model": c.model,
        "current": c.current,
        "status": r.status,
        "simulated_cost_usd": usd_text(c.simulated_pico),
        "savings_usd": usd_text(r.savings_pico),
        "savings_pct": _num(r.savings_pct, "0.01"),
        "monthly_savings_usd": usd_text(r.monthly_savings_pico),
        "scores": {b: _score(c.scores.get(b)) for b in BENCHMARK_IDS},
        "score_delta": {b: _score(r.deltas.get(b)) for b in BENCHMARK_IDS},
        "score": _score(r.score),
        "cost_per_1k_calls_usd": None
        if r.cost_per_1k_pico is None
        else usd_text(int(r.cost_per_1k_pico.quantize(Decimal(1), ROUND_HALF_EVEN))),
        "score_per_dollar": _num(r.score_per_dollar, "0.0001"),
        "tier": r.tier,
        "context_window": c.context_window,
        "unswappable_events": c.unswappable_events,
        "unswappable_cost_usd": usd_text(c.unswappable_pico),
        "unpriced_events": c.unpriced_events,
    }


def envelope_json(env: SimulateEnvelope) -> dict[str, Any]:
    r = env.result
    q = env.query
    features = []
    for f in r.features:
        u = f.usage
        features.append(
            {
                "feature": u.feature,
                "events": u.events,
                "excluded_events": u.excluded_events,
                "cost_usd": usd_text(u.baseline_pico),
                "billed_cost_usd": usd_text(u.billed_pico),
                "current_models": [
                    {
                        "vendor": m.vendor,
                        "model": m.model,
                        "priced_as": m.priced_as,
                        "events": m.events,
                        "billed_cost_usd": usd_text(m.billed_pico),
                        "scores": {b: _score(m.scores.get(b)) for b in BENCHMARK_IDS},
                    }
                    for m in u.current
                ],
                "current_scores": {b: _score(f.current_scores.get(b)) for b in BENCHMARK_IDS},
                "floor": {"score": _score(f.floor), "from": f.floor_source},
                "candidates": [candidate_json(row, r.benchmark) for row in f.rows],
                "recommendations": [_rec_json(rec) for rec in f.recommendations],
            }
        )
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_at": env.generated_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "query": {
            "event_type": q.event_type,
            "since": q.since,
            "until": q.until,
            "period": q.period,
            "candidates": q.candidates,
            "benchmark": q.benchmark,
            "tier": q.tier,
            "min_score": _score(q.min_score),
            "output_ratio": float(q.output_ratio),
        },
        "currency": "USD",
        "range": {"label": env.range.label, "days": float(r.days)},
        "benchmark": r.benchmark,
        "tier_bands": {"frontier": float(r.bands[0]), "mid": float(r.bands[1])},
        "assumptions": assumptions(env),
        "features": features,
    }


def _rec_json(rec: simulate.Recommendation) -> dict[str, Any]:
    row = rec.row
    return {
        "kind": rec.kind,
        "tier": rec.tier,
        "provider": row.candidate.provider if row else None,
        "model": row.candidate.model if row else None,
        "score": _score(row.score) if row else None,
        "simulated_cost_usd": usd_text(row.candidate.simulated_pico) if row else None,
        "savings_usd": usd_text(row.savings_pico) if row else None,
        "monthly_savings_usd": usd_text(row.monthly_savings_pico) if row else None,
    }


def assumptions(env: SimulateEnvelope) -> list[str]:
    r = env.result
    label = BENCHMARK_LABELS[r.benchmark]
    ratio = env.query.output_ratio
    out = [
        "Same token counts on every model as on the one that served each call; tokenizers and reasoning lengths"
        " differ, so real counts will too"
        + (
            f" (output and reasoning tokens scaled x{ratio} by --output-ratio)."
            if ratio != 1
            else " (try --output-ratio R for a model that writes R times more)."
        ),
        "Each call keeps its service tier, cache reads and writes; prices are those in force today, with the same"
        " rules as ingest (cache rates, long-context tiers, batch/flex/priority).",
        "Calls above a candidate's context window cannot move to it: they stay on their current model.",
        f"Cost = the period's calls on their current models at today's prices; monthly = the period's run rate"
        f" over {simulate.MONTH_DAYS} days (the period here: {r.days.normalize():f} days).",
        f"Tiers by {label}: frontier >= {r.bands[0]}, mid-tier >= {r.bands[1]}, budget below. Score per dollar ="
        " score / simulated cost of 1,000 of this feature's calls.",
        "Scores: the benchmark authors' own evaluations where they exist (TIGER-AI-Lab MMLU-Pro), else"
        " openai/simple-evals runs, else vendor-reported numbers (LLM Stats, CC-BY-4.0); vendor GPQA numbers"
        " mix methods. `margindash prices show MODEL` shows each score's source.",
    ]
    return out


def suggest_feature(store: Store) -> str | None:
    """The feature worth simulating first: the one that cost the most (None when there is none)."""

    cost: dict[str, int] = defaultdict(int)
    for row in store.events.usage_facts(["feature"], start_ms=None, end_ms=None, tz=UTC):
        (feature,) = row.groups
        if feature:
            cost[feature] += row.cost_pico
    return min(cost, key=lambda f: (-cost[f], f)) if cost else None
