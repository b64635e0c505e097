"""The pure reconciliation: model keys, the gap split of a cell, rows and totals, the reconciled spread. No runner."""

from __future__ import annotations

import os
import random
from decimal import Decimal
from fractions import Fraction

from margindash_cli.reconcile.compute import (
    PARTS,
    BilledSide,
    CellKey,
    CostFact,
    LoggedSide,
    allocate,
    build_rows,
    model_key,
    reconcile_cell,
    reconciled_costs,
)

SEED = int(os.environ.get("MARGINDASH_TEST_SEED", "18"))
# our price, USD per million tokens, per class: input 2.5, cache read 1.25, cache write 3.75, output 10
RATES = {
    "input": Fraction(25, 10),
    "cache_read": Fraction(125, 100),
    "cache_write_5m": Fraction(375, 100),
    "cache_write_1h": Fraction(5),
    "output": Fraction(10),
}


def price(vendor, model, day, v, tier):
    if model == "unknown-model":
        return None
    factor = Fraction(1, 2) if tier == "batch" else 1
    return sum(
        (RATES[k] * n * 10**6 * factor for k, n in v.items()), Fraction(0)
    )  # picodollars: USD/MTok x tokens x 1e6 / 1e6


def logged(priced, unpriced=None, model="gpt-4o", calls=10, unpriced_calls=0):
    side = LoggedSide(vendor="openai", model=model)
    tokens = {
        k: priced.get(k, 0) + (unpriced or {}).get(k, 0) for k in ("input", "cache_read", "cache_write", "output")
    }
    cost = int(
        price("openai", model, 0, {("cache_write_5m" if k == "cache_write" else k): n for k, n in priced.items()}, None)
        or 0
    )
    side.add(calls, unpriced_calls, cost, tokens, unpriced or {})
    return side


def billed(tokens, rate_factor=Fraction(1), tier=None, other=0, usage=True):
    side = BilledSide(model="gpt-4o-2024-08-06")
    for k, n in tokens.items():
        rate = RATES["cache_write_5m" if k == "cache_write" else k] * (Fraction(1, 2) if tier == "batch" else 1)
        side.add_cost(tier, k, int(rate * n * 10**6 * rate_factor))
        side.add_tokens(tier, k, n, usage=usage)
    side.other_cost += other
    return side


KEY = CellKey("openai", 20648, "gpt-4o")


def test_model_keys_match_snapshots_to_aliases():
    assert model_key("gpt-4o-2024-08-06") == model_key("gpt-4o") == "gpt-4o"
    assert (
        model_key("claude-opus-4-1-20250805")
        == model_key("anthropic.claude-opus-4-1-20250805-v1:0")
        == "claude-opus-4-1"
    )
    assert (
        model_key("Claude Sonnet 4.5")
        == model_key("us.anthropic.claude-sonnet-4-5-20250929-v1:0")
        == "claude-sonnet-4-5"
    )
    assert model_key("gpt-4o-mini-2024-07-18") == "gpt-4o-mini" != model_key("gpt-4o")
    assert model_key(None) is None and model_key("") is None


def test_a_bill_equal_to_our_price_has_no_gap():
    r = reconcile_cell(KEY, logged({"input": 1000, "output": 100}), billed({"input": 1000, "output": 100}), price)
    assert r.gap == 0 and set(r.parts.values()) == {0} and r.tokens_billed == r.tokens_logged == 1100


def test_a_discount_is_a_price_difference():
    r = reconcile_cell(
        KEY,
        logged({"input": 1_000_000, "output": 100_000}),
        billed({"input": 1_000_000, "output": 100_000}, Fraction(9, 10)),
        price,
    )
    assert r.computed == 3_500_000_000_000 and r.billed == 3_150_000_000_000
    assert r.parts["price_difference"] == -350_000_000_000 and r.parts["remaining"] == 0


def test_untracked_tokens_are_priced_at_our_rate_in_their_tier():
    side = billed({"input": 1_000_000, "output": 100_000})
    batch = billed({"input": 400_000}, tier="batch")
    for k, v in batch.cost[("batch")].items():
        side.add_cost("batch", k, v)
    for k, v in batch.usage["batch"].items():
        side.add_tokens("batch", k, v, usage=True)
    r = reconcile_cell(KEY, logged({"input": 800_000, "output": 100_000}), side, price)
    # 200k standard input at $2.5/M + 400k batch input at $1.25/M
    assert r.parts["untracked_usage"] == 500_000_000_000 + 500_000_000_000
    assert r.parts["price_difference"] == 0 and r.parts["remaining"] == 0


def test_unpriced_calls_take_the_bills_rate_and_web_search_is_unlogged():
    r = reconcile_cell(
        KEY, logged({"input": 1000}, {"input": 3000}, unpriced_calls=2), billed({"input": 4000}, other=7), price
    )
    assert (
        r.parts["unpriced_calls"] == 7_500_000_000
        and r.parts["unlogged_charges"] == 7
        and r.parts["untracked_usage"] == 0
    )


def test_a_model_the_catalog_does_not_know_is_reconciled_from_the_bill():
    side = billed({"input": 2000})
    side.model = "unknown-model"
    r = reconcile_cell(CellKey("openai", 1, "unknown-model"), LoggedSide(), side, price)
    assert r.parts["untracked_usage"] == r.billed and r.parts["remaining"] == 0


def test_logs_beyond_the_bill_remain_and_a_bill_with_no_tokens_remains_too():
    r = reconcile_cell(KEY, logged({"input": 2000}), billed({"input": 1000}), price)
    assert r.gap == -2_500_000_000 and r.parts["remaining"] == -2_500_000_000
    no_tokens = BilledSide(model="gpt-4o")
    no_tokens.add_cost(None, "input", 999)
    r = reconcile_cell(KEY, LoggedSide(), no_tokens, price)
    assert r.tokens_billed is None and r.parts["remaining"] == 999


def test_allocate_is_exact():
    assert allocate(10, [1, 1, 1]) == [4, 3, 3]
    assert allocate(-10, [1, 1, 1]) == [-4, -3, -3]
    assert allocate(5, [0, 0]) == [5, 0]
    assert sum(allocate(-181_250_000_000, [1_950_000_000_000, 922_500_000_000])) == -181_250_000_000


def _random_cell(rng):
    classes = ("input", "cache_read", "cache_write", "output")
    p = {k: rng.choice([0, rng.randrange(1, 10**7)]) for k in classes}
    u = {k: rng.choice([0, 0, rng.randrange(1, 10**6)]) for k in classes}
    t = {k: max(0, p[k] + u[k] + rng.randrange(-(10**6), 10**6)) for k in classes}
    side = billed(t, Fraction(rng.randrange(70, 130), 100), other=rng.randrange(0, 10**12))
    return logged(p, u, unpriced_calls=rng.randrange(0, 3)), side


def test_parts_always_add_up_to_the_gap_and_rows_to_the_totals():
    rng = random.Random(SEED)
    results = []
    try:
        for i in range(300):
            lg, bl = _random_cell(rng)
            r = reconcile_cell(CellKey("openai", 20000 + i % 40, "gpt-4o"), lg, bl, price)
            assert sum(r.parts.values()) == r.gap
            results.append(r)
        for by in ("day", "month", "model"):
            out = build_rows(results, by, Decimal(2))
            for field in ("computed", "billed"):
                assert sum(getattr(row, field) for row in out.rows) == getattr(out.totals, field)
            for p in PARTS:
                assert sum(row.parts[p] for row in out.rows) == out.totals.parts[p]
    except AssertionError:
        print(f"MARGINDASH_TEST_SEED={SEED}")
        raise


def test_reconciled_costs_add_up_to_the_bill():
    rng = random.Random(SEED)
    try:
        for _ in range(100):
            lg, bl = _random_cell(rng)
            r = reconcile_cell(KEY, lg, bl, price)
            costs = [rng.randrange(0, 10**9) for _ in range(rng.randrange(1, 6))]
            facts = [CostFact(KEY, c, rng.randrange(0, 2)) for c in costs]
            # the facts' computed costs are the cell's computed cost split over customers
            scale = allocate(r.computed, costs) if sum(costs) else [r.computed] + [0] * (len(costs) - 1)
            facts = [f._replace(cost_pico=c) for f, c in zip(facts, scale)]
            out, untracked = reconciled_costs(facts, {KEY: r})
            assert sum(out) + untracked[KEY] == r.billed
            other = CostFact(CellKey("openai", 1, "x"), 123, 0)  # a cell with no bill keeps its computed cost
            assert reconciled_costs([other], {KEY: r})[0] == [123]
    except AssertionError:
        print(f"MARGINDASH_TEST_SEED={SEED}")
        raise


def test_tolerance_is_per_provider_and_day():
    ok = reconcile_cell(KEY, logged({"input": 1000}), billed({"input": 1000}), price)
    off = reconcile_cell(
        KEY._replace(day=20649), logged({"input": 1000}), billed({"input": 1000}, Fraction(95, 100)), price
    )
    out = build_rows([ok, off], "day", Decimal(2))
    assert [r.period for r in out.over_tolerance] == ["2026-07-15"] and out.exit_code == 3
    assert build_rows([ok, off], "day", Decimal(6)).exit_code == 0
