"""The pure report core: grouping, revenue allocation, classes, sorting, and exact totals."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from margindash_cli.reports.compute import RevenueFact, UsageFact, allocate, build_report

CENT = 10**10  # picodollars per cent
D1, D2 = date(2026, 10, 1), date(2026, 10, 2)


def fact(customer, groups=(), day=D1, events=1, cost_cents=0, unpriced=0, rev=0, inp=100, out=10):
    return UsageFact(customer, tuple(groups), day, events, inp, out, cost_cents * CENT, unpriced, rev)


def test_allocate_is_exact_and_deterministic():
    assert allocate(100, [1, 1, 1]) == [33, 34, 33]  # cumulative rounding: 33.3 -> 33, 66.7 -> 67, 100
    assert allocate(-100, [1, 1, 1]) == [-33, -34, -33]
    assert sum(allocate(99_999, [3, 7, 11, 13])) == 99_999
    assert allocate(5, [0, 0]) == [5, 0]


def test_margin_class_and_worst_first_sort():
    usage = [fact("a", cost_cents=900), fact("b", cost_cents=100), fact("c", cost_cents=50), fact("d", cost_cents=10)]
    revenue = [RevenueFact("a", D1, 500), RevenueFact("b", D1, 1000), RevenueFact("c", D1, 51)]
    r = build_report(["customer"], usage, revenue)
    assert [row.group["customer"] for row in r.rows] == ["a", "d", "c", "b"]
    by = {row.group["customer"]: row for row in r.rows}
    assert by["a"].cls == "unprofitable" and by["a"].measures.margin_usd == Decimal("-4")
    assert by["b"].cls == "profitable" and by["b"].measures.margin_pct == Decimal("90.00")
    assert by["c"].cls == "break-even"  # 1.96 %
    assert by["d"].cls == "no revenue" and by["d"].measures.margin_pct is None
    assert r.totals.revenue_cents == 1551 and r.totals.cost_pico == 1060 * CENT


def test_customer_revenue_is_spread_over_features_by_events_but_event_revenue_stays():
    usage = [
        fact("a", ["chat"], events=3, rev=0),
        fact("a", ["search"], events=1, rev=250),  # this feature's events carry their own revenue
    ]
    r = build_report(["feature"], usage, [RevenueFact("a", D1, 1000)])
    by = {row.group["feature"]: row.measures.revenue_cents for row in r.rows}
    assert by == {"chat": 750, "search": 250 + 250}
    r = build_report(["feature"], usage, [RevenueFact("a", D1, 1000)], allocation="tokens")
    assert sum(row.measures.revenue_cents for row in r.rows) == 1250


def test_feature_filter_shows_that_features_share_of_revenue():
    usage = [fact("a", ["chat"], events=3), fact("a", ["search"], events=1)]
    r = build_report(["customer"], usage, [RevenueFact("a", D1, 1000)], filters={"feature": "chat"})
    assert [(row.group, row.measures.revenue_cents, row.measures.events) for row in r.rows] == [
        ({"customer": "a"}, 750, 3)
    ]


def test_revenue_without_usage_is_kept_in_a_no_usage_row():
    r = build_report(["customer", "model"], [fact("a", ["gpt-4o"])], [RevenueFact("b", D1, 700)])
    groups = {(row.group["customer"], row.group["model"]): row.measures.revenue_cents for row in r.rows}
    assert groups == {("a", "gpt-4o"): 0, ("b", "(no usage)"): 700}


def test_unattributed_calls_have_their_own_row():
    r = build_report(["customer"], [fact(None, cost_cents=5), fact("a")], [])
    assert {row.group["customer"] for row in r.rows} == {"(unattributed)", "a"}


def test_time_buckets_and_nested_groups_stay_together():
    usage = [
        fact("a", ["m1"], D1, cost_cents=10),
        fact("a", ["m2"], D2, cost_cents=1),
        fact("b", ["m1"], D2, cost_cents=500),
    ]
    r = build_report(["customer", "model"], usage, [])
    assert [(row.group["customer"], row.group["model"]) for row in r.rows] == [("b", "m1"), ("a", "m1"), ("a", "m2")]
    r = build_report(["day"], usage, [RevenueFact("a", D2, 100)])
    assert [(row.group["day"], row.measures.revenue_cents) for row in r.rows] == [
        ("2026-10-01", 0),
        ("2026-10-02", 100),
    ]


def test_top_n_folds_the_rest_into_one_row_and_totals_still_match():
    usage = [fact(f"c{i}", cost_cents=i) for i in range(10)]
    r = build_report(["customer"], usage, [], top=3, sort="cost")
    assert [row.group["customer"] for row in r.rows] == ["c9", "c8", "c7", "(other 7)"]
    assert sum(row.measures.cost_pico for row in r.rows) == r.totals.cost_pico


facts = st.lists(
    st.builds(
        fact,
        st.sampled_from(["a", "b", "c", None]),
        st.tuples(st.sampled_from(["chat", "search", None]), st.sampled_from(["m1", "m2"])),
        st.sampled_from([D1, D2]),
        st.integers(1, 50),
        st.integers(0, 10**6),
        st.integers(0, 3),
        st.integers(0, 10**5),
    ),
    max_size=30,
)
revenues = st.lists(
    st.builds(
        RevenueFact, st.sampled_from(["a", "b", "d", None]), st.sampled_from([D1, D2]), st.integers(-(10**5), 10**7)
    ),
    max_size=10,
)


@settings(max_examples=200, deadline=None)
@given(
    facts,
    revenues,
    st.sampled_from([["customer"], ["feature"], ["model"], ["customer", "model"], ["day"], ["feature", "week"]]),
    st.sampled_from(["events", "tokens", "cost"]),
)
def test_rows_add_up_to_totals_exactly_for_any_grouping(usage, revenue, dims, allocation):
    r = build_report(dims, usage, revenue, allocation=allocation)
    assert sum(row.measures.cost_pico for row in r.rows) == r.totals.cost_pico == sum(f.cost_pico for f in usage)
    total_revenue = sum(f.event_revenue_cents for f in usage) + sum(x.cents for x in revenue)
    assert sum(row.measures.revenue_cents for row in r.rows) == r.totals.revenue_cents == total_revenue
    assert sum(row.measures.margin_usd for row in r.rows) == r.totals.margin_usd
    assert sum(row.measures.events for row in r.rows) == r.totals.events
