"""The simulate core without the CLI: the mix pricing is exactly the sum of per-call costs, the pure
ranking and recommendations, the store's grouping of identical calls, and the shipped benchmark table."""

from __future__ import annotations

import csv
import random
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from margindash_cli.pricing.benchmarks import load_benchmarks
from margindash_cli.pricing.catalog import load_shipped_catalog
from margindash_cli.pricing.cost import cost_of
from margindash_cli.pricing.mix import Mix, VectorRow
from margindash_cli.pricing.model import PriceVersion, Rates, Tier
from margindash_cli.simulate import compute as sim

REPO = Path(__file__).resolve().parent.parent.parent
SHARED_BENCHMARKS = REPO.parent / "shared" / "data" / "benchmarks"


# ---- pricing.mix: the sum of cost_of over every call, to the picodollar ---------------------------------


def _versions() -> list[PriceVersion]:
    catalog = load_shipped_catalog()
    shipped = [
        catalog.versions[k][-1]
        for k in [
            ("google", "gemini-2.5-pro"),
            ("anthropic", "claude-sonnet-4-5"),
            ("openai", "gpt-5"),
            ("openai", "gpt-4o"),
            ("xai", "grok-4-fast-reasoning"),
        ]
    ]
    return shipped + [
        # a rate finer than a picodollar per token: per-call rounding, so the mix prices vector by vector
        PriceVersion(
            "openrouter",
            "odd",
            base=Rates(input=Decimal("0.0833333333333"), output=Decimal("0.3")),
            context_window=300_000,
        ),
        # no output rate: calls with output cannot be billed (unpriced, never $0)
        PriceVersion("acme", "embed", base=Rates(input=Decimal("0.02")), units={"requests": Decimal("0.0001")}),
        # an inclusive threshold (xAI style) and two tiers
        PriceVersion(
            "xai",
            "tiered",
            base=Rates(input=Decimal("2"), output=Decimal("10")),
            context_window=262_144,
            tiers=(
                Tier(128_000, True, Rates(input=Decimal("4"), output=Decimal("20"))),
                Tier(200_000, False, Rates(input=Decimal("6"))),
            ),
        ),
    ]


def _random_rows(rng: random.Random, n: int) -> list[VectorRow]:
    rows = []
    for _ in range(n):
        inp = rng.choice([rng.randrange(0, 8_000), rng.randrange(100_000, 400_000), 128_000, 200_000, 200_001])
        cached = rng.randrange(0, inp + 1) if rng.random() < 0.3 else 0
        write = rng.randrange(0, inp - cached + 1) if rng.random() < 0.2 else 0
        write_1h = rng.randrange(0, write + 1) if rng.random() < 0.5 else 0
        out = rng.randrange(0, 30_000)
        reasoning = rng.randrange(0, out + 1) if rng.random() < 0.3 else 0
        if rng.random() < 0.02:  # a malformed log: a part above its whole
            cached = inp + 10
        units = '{"requests": 1}' if rng.random() < 0.02 else None
        rows.append(VectorRow(inp, out, cached, write, write_1h, reasoning, units, rng.randrange(1, 5)))
    return rows


@pytest.mark.parametrize("service_tier", [None, "batch", "flex", "priority"])
@pytest.mark.parametrize("ratio", ["1", "2.5", "0.33"])
def test_mix_cost_is_the_sum_of_per_call_costs(service_tier, ratio):
    rng = random.Random(f"{service_tier}-{ratio}")
    rows = _random_rows(rng, 600)
    r = Decimal(ratio)
    mix = Mix(rows, service_tier, r)
    for version in _versions():
        for check_window in (True, False):
            expected = [0, 0, 0, 0]  # cost, calls, unpriced calls, calls above the window
            for row in rows:
                out, reasoning = round(row.output_tokens * r), round(row.reasoning_tokens * r)
                size = max(row.input_tokens, row.cached_input_tokens + row.cache_write_tokens) + max(out, reasoning)
                if check_window and version.context_window is not None and size > version.context_window:
                    expected[3] += row.calls
                    continue
                b = cost_of(
                    version,
                    input_tokens=row.input_tokens,
                    output_tokens=out,
                    cached_input_tokens=row.cached_input_tokens,
                    cache_write_tokens=row.cache_write_tokens,
                    cache_write_1h_tokens=row.cache_write_1h_tokens,
                    reasoning_tokens=reasoning,
                    service_tier=service_tier,
                    units={"requests": 1} if row.units else None,
                )
                if b is None:
                    expected[2] += row.calls
                else:
                    expected[0] += b.total * row.calls
                    expected[1] += row.calls
            got = mix.cost(version, check_window=check_window)
            assert [got.cost, got.calls, got.unpriced_calls, got.too_long_calls] == expected, (
                version.model,
                check_window,
            )


def test_mix_rounds_output_ratio_per_call_half_even():
    mix = Mix([VectorRow(0, 5, 0, 0, 0, 0, None, 1), VectorRow(0, 15, 0, 0, 0, 0, None, 1)], None, Decimal("0.5"))
    version = PriceVersion("x", "y", base=Rates(input=Decimal(1), output=Decimal(1)))
    assert mix.cost(version).cost == (2 + 8) * 10**6  # 2.5 -> 2 and 7.5 -> 8 tokens, at 10^6 picodollars each


# ---- simulate: pure ranking, tiers and recommendations -------------------------------------------------


@pytest.mark.parametrize(
    ("benchmark", "score", "tier"),
    [
        ("gpqa_diamond", "75", "frontier"),
        ("gpqa_diamond", "74.99", "mid"),
        ("gpqa_diamond", "55", "mid"),
        ("gpqa_diamond", "54.9", "budget"),
        ("mmlu_pro", "80", "frontier"),
        ("mmlu_pro", "79.9", "mid"),
        ("mmlu_pro", "70", "mid"),
        ("mmlu_pro", "69.99", "budget"),
    ],
)
def test_tier_bands(benchmark, score, tier):
    assert sim.tier_of(Decimal(score), benchmark) == tier


def _cand(model, cost, score, *, current=False, unpriced=0):
    scores = {} if score is None else {"gpqa_diamond": Decimal(score)}
    return sim.CandidateCost("p", model, None, cost, 0, 0, unpriced, scores, current)


def _usage(current, candidates, baseline=1_000_000, events=100):
    return sim.FeatureUsage("f", events, baseline, baseline, 0, current, candidates)


def test_floor_is_the_best_current_score_and_keeping_the_only_current_model_is_no_change():
    current = [
        sim.CurrentModel("p", "a", "p/a", 60, 0, {"gpqa_diamond": Decimal("60")}),
        sim.CurrentModel("p", "b", "p/b", 40, 0, {"gpqa_diamond": Decimal("80")}),
    ]
    cands = [
        _cand("a", 300_000, "60", current=True),
        _cand("b", 2_000_000, "80", current=True),
        _cand("c", 500_000, "78"),
        _cand("d", 100_000, "79.5"),
        _cand("e", 50_000, None),
    ]
    f = sim.build_simulation([_usage(current, cands)], benchmark="gpqa_diamond", days=Decimal(30)).features[0]
    assert (f.floor, f.floor_source) == (Decimal("80"), "current")
    recs = {(r.kind, r.tier): r.row.candidate.model if r.row else None for r in f.recommendations}
    # nothing but b itself reaches 80; moving every call to b is a change (a serves 60% of them)
    assert recs == {
        ("cheapest_in_tier", "frontier"): "b",
        ("cheapest_in_tier", "mid"): None,
        ("cheapest_in_tier", "budget"): None,
        ("best_score_per_dollar", None): "b",
    }
    assert [r.candidate.model for r in f.rows] == [
        "d",
        "a",
        "c",
        "b",
        "e",
    ]  # score per dollar (79.5/1, 60/3, 78/5, 80/20), then no data
    assert f.rows[-1].status == sim.NO_DATA and f.rows[-1].tier is None and f.rows[-1].score_per_dollar is None

    single = [sim.CurrentModel("p", "a", "p/a", 100, 0, {"gpqa_diamond": Decimal("60")})]
    f = sim.build_simulation(
        [_usage(single, cands)], benchmark="gpqa_diamond", days=Decimal(30), min_score=Decimal("50")
    ).features[0]
    recs = {(r.kind, r.tier): r.row.candidate.model if r.row else None for r in f.recommendations}
    assert recs == {
        ("cheapest_in_tier", "frontier"): "d",
        ("cheapest_in_tier", "mid"): None,
        ("cheapest_in_tier", "budget"): None,
        ("best_score_per_dollar", None): "d",
    }


def test_savings_monthly_run_rate_and_candidates_that_cannot_price():
    current = [sim.CurrentModel("p", "a", "p/a", 100, 0, {})]
    cands = [_cand("c", 400_000, "70"), _cand("x", None, "90", unpriced=3), _cand("free", 0, "40")]
    f = sim.build_simulation([_usage(current, cands)], benchmark="gpqa_diamond", days=Decimal(7)).features[0]
    rows = {r.candidate.model: r for r in f.rows}
    assert (rows["c"].savings_pico, rows["c"].savings_pct) == (600_000, Decimal(60))
    assert rows["c"].monthly_savings_pico == 2_608_929  # 600,000 x 30.4375 / 7 = 2,608,928.57 -> half-even
    assert rows["x"].status == sim.CANNOT_PRICE and rows["x"].savings_pico is None
    assert rows["free"].score_per_dollar is None  # free: no score per dollar, ranked after those that have one
    assert [r.candidate.model for r in f.rows] == ["c", "free", "x"]
    assert f.floor is None and f.floor_source == "none"  # no current score and no --min-score: no floor
    recs = {(r.kind, r.tier): r.row.candidate.model if r.row else None for r in f.recommendations}
    assert recs[("cheapest_in_tier", "mid")] == "c" and recs[("cheapest_in_tier", "budget")] == "free"


# ---- the store groups identical calls ------------------------------------------------------------------


def test_store_groups_identical_call_vectors(tmp_path):
    from margindash_cli.ingest.pipeline import ingest_paths
    from margindash_cli.store.db import Store

    lines = []
    for i, (inp, out, tier) in enumerate([(100, 10, None), (100, 10, None), (100, 10, "batch"), (100, 11, None)]):
        lines.append(
            f'{{"timestamp": "2026-10-0{i + 1}T00:00:00Z", "request_id": "r{i}", "event_type": "chat",'
            f' "vendor": "openai", "model": "gpt-4o", "input_tokens": {inp}, "output_tokens": {out}'
            + (f', "service_tier": "{tier}"' if tier else "")
            + "}\n"
        )
    log = tmp_path / "calls.jsonl"
    log.write_text("".join(lines))
    with Store.open(tmp_path / "s.db") as store:

        class Free:
            def price(self, ev):
                return 7, None

        ingest_paths(store, [str(log)], quarantine_path=tmp_path / "q.jsonl", pricer=Free())
        rows = sorted(store.events.usage_vectors(start_ms=None, end_ms=None), key=lambda r: (r[3] or "", r[5]))
        assert [(r[0], r[2], r[3], r[4], r[5], r[11], r[12]) for r in rows] == [
            ("chat", "gpt-4o", None, 100, 10, 2, 14),
            ("chat", "gpt-4o", None, 100, 11, 1, 7),
            ("chat", "gpt-4o", "batch", 100, 10, 1, 7),
        ]
        assert store.events.usage_vectors(start_ms=None, end_ms=None, feature="nope") == []


# ---- the shipped benchmark table -----------------------------------------------------------------------


def test_every_benchmark_row_names_a_catalog_model_once_with_a_traceable_source():
    catalog = load_shipped_catalog()
    rows = list(csv.DictReader((REPO / "margindash_cli" / "pricing" / "data" / "benchmarks.csv").open()))
    assert rows
    seen = set()
    for r in rows:
        assert (r["provider"], r["model"]) in catalog.versions, r
        assert (r["provider"], r["model"], r["benchmark"]) not in seen
        seen.add((r["provider"], r["model"], r["benchmark"]))
        assert r["benchmark"] in ("mmlu_pro", "gpqa_diamond")
        assert 0 <= Decimal(r["score"]) <= 100
        assert r["evaluator"] in ("benchmark-authors", "openai-simple-evals", "vendor-reported")
        assert "@" in r["source_ref"] and r["licence"] in ("Apache-2.0", "MIT", "CC-BY-4.0")
    table = load_benchmarks()
    assert ("anthropic", "claude-3-opus-20240229") not in table.candidates()  # retired: lookup only
    assert table.scores("google", "gemini-1.5-flash-001")["mmlu_pro"].score == Decimal("59.12")  # the authors' number


def test_benchmark_authors_win_over_vendor_numbers():
    table = load_benchmarks()
    s = table.scores("anthropic", "claude-3-5-sonnet-20240620")["mmlu_pro"]
    assert (s.score, s.evaluator, s.source) == (Decimal("76.12"), "benchmark-authors", "TIGER-AI-Lab/MMLU-Pro")
    s = table.scores("openai", "o3-mini")["gpqa_diamond"]
    assert (s.score, s.evaluator) == (
        Decimal("74.9"),
        "openai-simple-evals",
    ) and "77.2 vendor-reported" in s.alternatives


@pytest.mark.skipif(not (SHARED_BENCHMARKS / "benchmark_scores.csv").exists(), reason="source data not present")
def test_build_script_reproduces_the_shipped_table(tmp_path):
    out = tmp_path / "pricing_data"
    out.mkdir()
    shutil.copyfile(REPO / "margindash_cli" / "pricing" / "data" / "catalog.json", out / "catalog.json")
    shutil.copyfile(REPO / "margindash_cli" / "pricing" / "data" / "ATTRIBUTION.md", out / "ATTRIBUTION.md")
    subprocess.run(
        [sys.executable, str(REPO / "scripts" / "build_benchmarks.py"), str(SHARED_BENCHMARKS), str(out)],
        check=True,
        capture_output=True,
    )
    assert (out / "benchmarks.csv").read_text() == (
        REPO / "margindash_cli" / "pricing" / "data" / "benchmarks.csv"
    ).read_text()
    assert (out / "ATTRIBUTION.md").read_text() == (
        REPO / "margindash_cli" / "pricing" / "data" / "ATTRIBUTION.md"
    ).read_text()
    for name in ("llm-stats", "simple-evals", "mmlu-pro"):
        assert (out / f"LICENSE.{name}").read_bytes() == (
            REPO / "margindash_cli" / "pricing" / "data" / f"LICENSE.{name}"
        ).read_bytes()
