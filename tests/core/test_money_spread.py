"""Spreading money over days (money.allocate / spread_over_days): no drift towards the start of a period.

The month-end property: for random service periods and amounts, every calendar month gets within one minor
unit of its exact share, every day within one unit, and the sum is exact. Seeded from MARGINDASH_TEST_SEED
(else a fixed seed), printed on failure.
"""

from __future__ import annotations

import os
import random
from datetime import UTC, date, datetime
from fractions import Fraction

from margindash_cli.core.money import allocate, day_weights, spread_over_dates, spread_over_days
from margindash_cli.reports import compute as reports
from margindash_cli.revenue.csv_import import parse_revenue_csv

SEED = int(os.environ.get("MARGINDASH_TEST_SEED", "20261201"))
DAY = 86_400


def ts(d: date) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp())


def by_month(pairs):
    out: dict[str, int] = {}
    for day, amount in pairs:
        out[day.strftime("%Y-%m")] = out.get(day.strftime("%Y-%m"), 0) + amount
    return out


def exact_by_month(amount: int, start: int, end: int) -> dict[str, Fraction]:
    first, weights = day_weights(start, end)
    total = sum(weights)
    out: dict[str, Fraction] = {}
    for i, w in enumerate(weights):
        key = date.fromordinal(first.toordinal() + i).strftime("%Y-%m")
        out[key] = out.get(key, Fraction(0)) + Fraction(amount * w, total)
    return out


def test_a_120_dollar_annual_plan_gives_january_and_december_their_exact_share():
    parts = spread_over_days(12000, ts(date(2026, 1, 1)), ts(date(2027, 1, 1)))
    months = by_month(parts)
    assert sum(months.values()) == 12000
    assert months["2026-01"] == 1019  # 31/365 of 120.00 = 10.1918; the old split gave 10.23
    assert months["2026-12"] == 1019  # the old split gave 9.92
    for key, exact in exact_by_month(12000, ts(date(2026, 1, 1)), ts(date(2027, 1, 1))).items():
        assert abs(months[key] - exact) < 1, key


def test_a_monthly_line_puts_no_extra_cents_in_its_first_month():
    # 10.00 over Jan 20 - Feb 20 (31 days, 32.26 cents a day): January's exact share is 387.10
    parts = spread_over_days(1000, ts(date(2026, 1, 20)), ts(date(2026, 2, 20)))
    assert by_month(parts) == {"2026-01": 387, "2026-02": 613}


def test_reports_allocate_is_the_money_allocate():
    assert reports.allocate is allocate


def test_csv_periods_use_the_same_split():
    text = "customer_id,amount,period_start,period_end\nacme,120.00,2026-01-01,2026-12-31\n"
    days = parse_revenue_csv(text, "rev.csv")
    months = by_month((d.day, d.amount_minor) for d in days)
    assert months["2026-01"] == 1019 and months["2026-12"] == 1019 and sum(months.values()) == 12000
    assert [(d.day, d.amount_minor) for d in days] == spread_over_dates(12000, date(2026, 1, 1), date(2026, 12, 31))


def test_month_totals_stay_within_one_unit_of_their_exact_share_for_random_periods():
    rng = random.Random(SEED)
    for case in range(400):
        amount = rng.choice([rng.randint(-(10**6), 10**6), rng.randint(1, 99), rng.randint(-(10**12), 10**12)])
        start = rng.randint(1_700_000_000, 1_900_000_000)
        if rng.random() < 0.5:
            start -= start % DAY  # whole days as often as not
        length = rng.choice([rng.randint(1, 3 * DAY), rng.randint(DAY, 40 * DAY), rng.randint(300 * DAY, 800 * DAY)])
        parts = spread_over_days(amount, start, start + length)
        context = f"MARGINDASH_TEST_SEED={SEED} case {case}: amount={amount} start={start} length={length}"
        assert sum(p for _, p in parts) == amount, context
        months = by_month(parts)
        for key, exact in exact_by_month(amount, start, start + length).items():
            assert abs(months.get(key, 0) - exact) < 1, f"{context} month {key}: {months.get(key, 0)} vs {float(exact)}"
        first, weights = day_weights(start, start + length)
        got = dict(parts)
        for i, w in enumerate(weights):
            d = date.fromordinal(first.toordinal() + i)
            assert abs(got.get(d, 0) - Fraction(amount * w, length)) < 1, f"{context} day {d}"


def test_allocate_any_run_of_parts_is_within_one_unit():
    rng = random.Random(SEED + 1)
    for case in range(300):
        weights = [rng.randint(0, 50) for _ in range(rng.randint(1, 40))]
        total = rng.randint(-(10**6), 10**6)
        parts = allocate(total, weights)
        context = f"MARGINDASH_TEST_SEED={SEED} case {case}: total={total} weights={weights}"
        assert sum(parts) == total, context
        if sum(weights) == 0:
            continue
        i, j = sorted(rng.sample(range(len(weights) + 1), 2)) if len(weights) > 1 else (0, 1)
        exact = Fraction(total * sum(weights[i:j]), sum(weights))
        assert abs(sum(parts[i:j]) - exact) < 1, context
        assert allocate(-total, weights) == [-p for p in parts], context
