"""The demo's synthetic data: deterministic, ending on the day it is given, customers signing up over time, and
revenue only inside the data's days, exact to the cent (#17)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from margindash_cli.demo import synthetic

END = date(2026, 12, 1)


def test_the_data_ends_on_the_given_day_and_covers_the_demo_days():
    events = list(synthetic.demo_events(7, END))
    days = sorted({e["timestamp"][:10] for e in events})
    assert days[-1] == END.isoformat()
    assert days[0] == synthetic.first_day(END).isoformat() == (END - timedelta(days=89)).isoformat()


def test_the_same_seed_gives_the_same_calls_whatever_the_last_day():
    a = list(synthetic.demo_events(7, END))
    b = list(synthetic.demo_events(7, date(2026, 10, 31)))
    strip = [{k: v for k, v in e.items() if k != "timestamp"} for e in a]
    assert strip == [{k: v for k, v in e.items() if k != "timestamp"} for e in b]
    assert list(synthetic.demo_events(7, END)) == a
    assert list(synthetic.demo_events(8, END)) != a


def test_customers_sign_up_over_at_least_three_months_whatever_the_last_day():
    for end in (date(2026, 12, 1), date(2027, 3, 31), date(2027, 2, 28), date(2026, 1, 15)):
        first_call: dict[str, str] = {}
        for e in synthetic.demo_events(7, end):
            first_call.setdefault(e["customer_id"], e["timestamp"][:10])
        assert len(first_call) == len(synthetic.CUSTOMERS)
        start = synthetic.first_day(end)
        for c in synthetic.CUSTOMERS:  # no call before the sign-up; the first within a few days of it
            signup = start + timedelta(days=c.signup_day)
            assert signup.isoformat() <= first_call[c.customer_id] <= (signup + timedelta(days=3)).isoformat()
        assert len({d[:7] for d in first_call.values()}) >= 3, (end, first_call)


def test_revenue_falls_inside_each_customers_days_and_is_prorated_exactly():
    start = synthetic.first_day(END)
    rows = list(synthetic.demo_revenue(END))
    per_customer = defaultdict(list)
    for r in rows:
        per_customer[r["customer_id"]].append(r)
        assert type(r["amount"]) is int and r["amount"] > 0
    paying = {c.customer_id: c for c in synthetic.CUSTOMERS if c.monthly_fee_cents}
    assert set(per_customer) == set(paying)
    for cid, mine in per_customer.items():
        c = paying[cid]
        assert mine[0]["period_start"] == (start + timedelta(days=c.signup_day)).isoformat()
        assert mine[-1]["period_end"] == END.isoformat()
        for r in mine:
            first, last = date.fromisoformat(r["period_start"]), date.fromisoformat(r["period_end"])
            assert first.month == last.month and first <= last
            month_days = ((first.replace(day=28) + timedelta(days=4)).replace(day=1) - first.replace(day=1)).days
            days = (last - first).days + 1
            exact = c.monthly_fee_cents * days / month_days
            assert abs(r["amount"] - exact) <= 0.5
            if days == month_days:
                assert r["amount"] == c.monthly_fee_cents  # a whole month is the whole fee
