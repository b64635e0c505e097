"""The pure cores of `report trend`, `cohorts` and `concentration`: boundaries, and nothing lost on random data."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from margindash_cli.reports.compute import (
    Measures,
    RevenueFact,
    UsageFact,
    buckets_between,
    build_cohorts,
    build_concentration,
    build_trend,
    period_index,
    pick_granularity,
    tier_size,
)

CENT = 10**10  # picodollars per cent
D = date(2026, 10, 1)


def fact(customer, day=D, cost_cents=0, groups=(), events=1, rev=0):
    return UsageFact(customer, tuple(groups), day, events, 10, 1, cost_cents * CENT, 0, rev)


def test_auto_granularity_thresholds():
    assert pick_granularity(D, D) == "day"
    assert pick_granularity(D, D + timedelta(days=30)) == "day"  # 31 days
    assert pick_granularity(D, D + timedelta(days=31)) == "week"
    assert pick_granularity(D, D + timedelta(days=26 * 7 - 1)) == "week"  # 26 weeks
    assert pick_granularity(D, D + timedelta(days=26 * 7)) == "month"


def test_buckets_between_and_period_index():
    assert buckets_between(date(2026, 11, 30), date(2027, 2, 1), "month") == [
        date(2026, 11, 1),
        date(2026, 12, 1),
        date(2027, 1, 1),
        date(2027, 2, 1),
    ]
    assert buckets_between(date(2026, 10, 1), date(2026, 10, 12), "week") == [
        date(2026, 9, 28),
        date(2026, 10, 5),
        date(2026, 10, 12),
    ]
    assert period_index(date(2026, 11, 1), date(2027, 1, 1), "month") == 3
    assert period_index(date(2026, 11, 1), date(2026, 10, 1), "month") == 0
    assert period_index(date(2026, 9, 28), date(2026, 10, 12), "week") == 3


def test_tier_size_rounds_up():
    assert [tier_size(n, 10) for n in (0, 1, 9, 10, 11, 20, 21)] == [0, 1, 1, 1, 2, 2, 3]
    assert [tier_size(n, 20) for n in (1, 5, 6, 100)] == [1, 1, 2, 20]


def test_trend_without_any_data_has_no_rows():
    r = build_trend("customer", [], [])
    assert (r.rows, r.periods, r.granularity, r.totals.change) == ([], [], "day", None)


def test_concentration_with_no_cost_has_no_shares():
    r = build_concentration([], [RevenueFact("a", D, 100)])
    assert [c.customer for c in r.customers] == ["a"]
    assert r.tiers[0].cost_share_pct is None and r.customers[0].cost_share_pct is None
    assert r.tiers[0].revenue_share_pct == 100


usage_facts = st.lists(
    st.builds(
        fact,
        st.sampled_from(["a", "b", "c", "d", None]),
        st.integers(0, 120).map(lambda n: D + timedelta(days=n)),
        st.integers(0, 10_000),
        st.tuples(st.sampled_from(["chat", "search", None])),
        st.integers(0, 5),
        st.integers(0, 500),
    ),
    max_size=40,
)
revenue_facts = st.lists(
    st.builds(
        RevenueFact,
        st.sampled_from(["a", "b", "e", None]),
        st.integers(-10, 130).map(lambda n: D + timedelta(days=n)),
        st.integers(-1_000, 100_000),
    ),
    max_size=20,
)


def total(items):
    m = Measures()
    for x in items:
        m.add(x)
    return m


@settings(max_examples=150, deadline=None)
@given(
    usage_facts,
    revenue_facts,
    st.sampled_from(["auto", "day", "week", "month"]),
    st.sampled_from(["customer", "feature"]),
)
def test_trend_points_add_up_to_rows_and_rows_to_totals(usage, revenue, granularity, dim):
    r = build_trend(dim, usage, revenue, granularity=granularity)
    assert r.periods == sorted(set(r.periods))
    for row in r.rows:
        assert len(row.points) == len(r.periods)
        assert total(row.points).__dict__ == row.total.__dict__
    for i, t in enumerate(r.totals.points):
        assert total(row.points[i] for row in r.rows).__dict__ == t.__dict__
    assert total(row.total for row in r.rows).__dict__ == r.totals.total.__dict__
    assert r.totals.total.cost_pico == sum(f.cost_pico for f in usage)
    assert r.totals.total.revenue_cents == sum(f.event_revenue_cents for f in usage) + sum(x.cents for x in revenue)


@settings(max_examples=150, deadline=None)
@given(usage_facts, revenue_facts, st.sampled_from(["month", "week"]))
def test_cohorts_lose_nothing(usage, revenue, granularity):
    first_calls = {}
    for f in usage:
        if f.customer is not None:
            first_calls[f.customer] = min(first_calls.get(f.customer, f.day), f.day)
    r = build_cohorts(usage, revenue, first_calls, granularity=granularity)
    in_cohorts = total(c.measures for row in r.cohorts for c in row.cells)
    assert in_cohorts.cost_pico + r.unattributed.cost_pico == sum(f.cost_pico for f in usage)
    assert in_cohorts.events + r.unattributed.events == sum(f.events for f in usage)
    all_revenue = sum(f.event_revenue_cents for f in usage) + sum(x.cents for x in revenue)
    assert (
        in_cohorts.revenue_cents
        + r.unattributed.revenue_cents
        + r.revenue_without_usage_cents
        + r.revenue_before_first_call_cents
    ) == all_revenue
    assert sum(row.customers for row in r.cohorts) == len(first_calls)
    for row in r.cohorts:
        assert [c.index for c in row.cells] == list(range(row.cells[0].index, row.cells[0].index + len(row.cells)))
        assert row.cells[0].index >= 1
        assert all(c.active_customers <= row.customers for c in row.cells)


@settings(max_examples=150, deadline=None)
@given(usage_facts, revenue_facts)
def test_concentration_tiers_rest_and_unattributed_make_the_whole(usage, revenue):
    r = build_concentration(usage, revenue)
    costs = [c.measures.cost_pico for c in r.customers]
    assert costs == sorted(costs, reverse=True)
    top10, top20 = r.tiers
    assert top20.customers[: len(top10.customers)] == top10.customers
    whole = total([top20.measures, r.rest, r.unattributed])
    assert whole.__dict__ == r.totals.__dict__
    assert set(top20.negative_margin) == {
        c.customer for c in r.customers[: len(top20.customers)] if c.measures.margin_pico < 0
    }
    if r.totals.cost_pico and r.customers:
        shares = r.customers[-1].cumulative_cost_share_pct + r.unattributed_cost_share_pct
        assert abs(shares - 100) <= Decimal("0.01")  # each share is rounded once, to 2 decimals
