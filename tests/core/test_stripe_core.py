"""The money math of sync-stripe, on its own: line nets, the per-second spread, conversion, what counts."""

from __future__ import annotations

import json
import os
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from margindash_cli.clients.stripe_api import load_api_key
from margindash_cli.core.money import day_weights, round_half_even_div, spread_over_days
from margindash_cli.errors import InputError, UsageError
from margindash_cli.revenue.fx import decimal_rate, parse_fx_csv, usd_cents
from margindash_cli.revenue.stripe_math import credit_note_net, family_revenue, line_net, total_mismatch

JAN15 = 1768435200  # 2026-01-15T00:00:00Z
FEB15 = 1771113600  # 2026-02-15T00:00:00Z
DAY = 86_400


def no_fx(currency, day):
    return None


def by_month(entries_or_pairs):
    out: dict[str, int] = {}
    for item in entries_or_pairs:
        day, amount = (item.day, item.amount_minor) if hasattr(item, "day") else item
        key = day.strftime("%Y-%m")
        out[key] = out.get(key, 0) + amount
    return out


# ---- the spread ----------------------------------------------------------------------------------


def test_a_31_dollar_month_from_jan_15_gives_17_to_january_and_14_to_february():
    parts = spread_over_days(3100, JAN15, FEB15)
    assert by_month(parts) == {"2026-01": 1700, "2026-02": 1400}
    assert len(parts) == 31 and {p for _, p in parts} == {100}


def test_partial_days_get_their_share_of_seconds():
    start = JAN15 + DAY // 2  # noon Jan 15 to noon Jan 17: half a day, a day, half a day
    assert spread_over_days(1000, start, start + 2 * DAY) == [
        (date(2026, 1, 15), 250),
        (date(2026, 1, 16), 500),
        (date(2026, 1, 17), 250),
    ]


def test_remainders_follow_the_cumulative_share_not_the_first_days_and_sum_exactly():
    parts = spread_over_days(1000, JAN15, JAN15 + 3 * DAY)  # 333.33 each: cumulative 333.33 -> 333, 666.67 -> 667, 1000
    assert [p for _, p in parts] == [333, 334, 333]
    assert sum(p for _, p in spread_over_days(-1000, JAN15, JAN15 + 3 * DAY)) == -1000


def test_a_period_with_no_length_counts_on_its_day():
    assert spread_over_days(2500, JAN15 + 5, JAN15 + 5) == [(date(2026, 1, 15), 2500)]


@given(
    amount=st.integers(min_value=-(10**9), max_value=10**9),
    start=st.integers(min_value=1_600_000_000, max_value=1_900_000_000),
    length=st.integers(min_value=1, max_value=400 * DAY),
)
def test_the_spread_always_sums_to_the_line_and_follows_the_seconds(amount, start, length):
    parts = spread_over_days(amount, start, start + length)
    assert sum(p for _, p in parts) == amount
    first, weights = day_weights(start, start + length)
    assert sum(weights) == length
    for d, p in parts:
        w = weights[(d - first).days]
        exact = Decimal(amount) * w / length
        assert abs(Decimal(p) - exact) < 1  # within one minor unit of its exact share


# ---- line, credit note and refund amounts --------------------------------------------------------


def test_line_net_subtracts_a_discount_once_even_when_listed_twice():
    line = {
        "amount": 5000,
        "discount_amounts": [{"amount": 1000}],
        "pretax_credit_amounts": [{"amount": 1000, "type": "discount"}],
    }
    assert line_net(line) == 4000
    assert line_net({"amount": 5000, "discount_amounts": [{"amount": 1000}], "pretax_credit_amounts": None}) == 4000


def test_line_net_excludes_inclusive_tax_and_ignores_exclusive_tax():
    assert line_net({"amount": 11900, "taxes": [{"amount": 1900, "tax_behavior": "inclusive"}]}) == 10000
    assert line_net({"amount": 3100, "taxes": [{"amount": 310, "tax_behavior": "exclusive"}]}) == 3100


def test_line_net_subtracts_credit_grants():
    line = {"amount": 3000, "pretax_credit_amounts": [{"amount": 500, "type": "credit_balance_transaction"}]}
    assert line_net(line) == 2500


def test_credit_note_net_uses_total_excluding_tax_else_total_less_taxes():
    assert credit_note_net({"total_excluding_tax": 1000, "total": 1190}) == 1000
    assert credit_note_net({"total_excluding_tax": None, "total": 1190, "total_taxes": [{"amount": 190}]}) == 1000


def test_round_half_even_div():
    assert [round_half_even_div(n, 2) for n in (1, 3, 5, -1, -3)] == [0, 2, 2, 0, -2]
    assert round_half_even_div(2380 * 10000, 11900) == 2000


# ---- conversion ----------------------------------------------------------------------------------


def test_zero_decimal_currencies_are_not_divided_by_100():
    assert usd_cents(5000, "jpy", Decimal("0.0067")) == 3350  # 5000 yen, not 50.00
    assert usd_cents(1234, "eur", Decimal("1.0835")) == 1337
    assert usd_cents(1000, "kwd", Decimal("3.25")) == 325  # 1.000 KWD (three decimals)
    assert usd_cents(5, "eur", Decimal("0.5")) == 2  # 2.5 cents: half to even


def test_a_stripe_float_rate_is_read_back_exactly():
    assert decimal_rate(0.0067) == Decimal("0.0067")
    assert decimal_rate(1.234) == Decimal("1.234")
    assert decimal_rate(None) is None and decimal_rate(0) is None and decimal_rate("x") is None


# ---- what an invoice family counts ---------------------------------------------------------------


def invoice(status="paid", currency="usd", total=9100, excl=9100, settle_rate=None):
    return {
        "id": "in_1",
        "status": status,
        "currency": currency,
        "created": JAN15,
        "finalized_at": JAN15 + 3600,
        "total": total,
        "total_excluding_tax": excl,
        "settle_rate": settle_rate,
    }


def lines():
    return [
        {"id": "il_month", "amount_minor": 3100, "period_start": JAN15, "period_end": FEB15},
        {"id": "il_setup", "amount_minor": 2000, "period_start": None, "period_end": None},
    ]


def test_a_paid_invoice_counts_its_lines_over_their_periods_and_a_line_without_one_on_finalization():
    rows = family_revenue(invoice(excl=5100, total=5100), lines(), [], [], include_open=False, fx=no_fx)
    assert by_month(r for r in rows if r.ref == "il_month") == {"2026-01": 1700, "2026-02": 1400}
    assert [(r.day, r.amount_minor, r.usd_cents) for r in rows if r.ref == "il_setup"] == [
        (date(2026, 1, 15), 2000, 2000)
    ]


@pytest.mark.parametrize("status", ["void", "uncollectible", "draft", "open"])
def test_void_uncollectible_draft_and_open_invoices_add_nothing(status):
    assert family_revenue(invoice(status=status), lines(), [], [], include_open=False, fx=no_fx) == []


def test_open_invoices_count_with_include_open():
    assert (
        sum(r.amount_minor for r in family_revenue(invoice("open"), lines(), [], [], include_open=True, fx=no_fx))
        == 5100
    )


def test_credit_notes_subtract_and_the_refunds_they_cover_count_once():
    cn = {
        "id": "cn_1",
        "status": "issued",
        "effective_at": FEB15,
        "amount_minor": 1000,
        "refunds": json.dumps({"re_cn": 1000}),
    }
    void_cn = {"id": "cn_2", "status": "void", "effective_at": FEB15, "amount_minor": 700, "refunds": "{}"}
    covered = {"id": "re_cn", "status": "succeeded", "created": FEB15, "amount": 1000, "settle_rate": None}
    bare = {"id": "re_bare", "status": "succeeded", "created": FEB15 + DAY, "amount": 2380, "settle_rate": None}
    failed = {"id": "re_failed", "status": "failed", "created": FEB15, "amount": 500, "settle_rate": None}
    inv = invoice(total=11900, excl=10000)
    rows = family_revenue(inv, [], [cn, void_cn], [covered, bare, failed], include_open=False, fx=no_fx)
    assert [(r.ref, r.day, r.amount_minor) for r in rows] == [
        ("cn_1", date(2026, 2, 15), -1000),
        ("re_bare", date(2026, 2, 16), -2000),  # 2380 refunded of 11900 with tax: 2000 of revenue
    ]


def test_a_jpy_invoice_is_converted_at_the_settlement_rate_and_spread_with_its_yen():
    inv = invoice(currency="jpy", total=5000, excl=5000, settle_rate="0.0067")
    month = [{"id": "il_jp", "amount_minor": 5000, "period_start": JAN15, "period_end": JAN15 + 31 * DAY}]
    rows = family_revenue(inv, month, [], [], include_open=False, fx=no_fx)
    assert sum(r.amount_minor for r in rows) == 5000 and sum(r.usd_cents for r in rows) == 3350
    assert {r.currency for r in rows} == {"jpy"}


def test_without_any_rate_revenue_stays_unconverted_and_an_fx_rate_fills_in():
    inv = invoice(currency="eur", total=5100, excl=5100)
    rows = family_revenue(inv, lines(), [], [], include_open=False, fx=no_fx)
    assert rows and all(r.usd_cents is None for r in rows)
    seen = []

    def fx(currency, day):
        seen.append((currency, day))
        return Decimal("1.10")

    rows = family_revenue(inv, lines(), [], [], include_open=False, fx=fx)
    assert sum(r.usd_cents for r in rows) == 5610 and set(seen) == {("eur", date(2026, 1, 15))}


def test_a_total_mismatch_names_the_invoice():
    assert total_mismatch(invoice(excl=5100), lines()) is None
    warning = total_mismatch(invoice(excl=5600), lines())
    assert "in_1" in warning and "51.00 USD" in warning and "56.00 USD" in warning


# ---- key and rates files -------------------------------------------------------------------------


def test_a_key_file_readable_by_others_is_refused(tmp_path):
    f = tmp_path / "key"
    f.write_text("rk_test_abc123\n")
    os.chmod(f, 0o644)
    with pytest.raises(InputError) as exc:
        load_api_key({}, f)
    assert "0644" in exc.value.message and "rk_test_abc123" not in exc.value.message + (exc.value.hint or "")
    os.chmod(f, 0o600)
    assert load_api_key({}, f) == "rk_test_abc123"


def test_a_missing_or_publishable_key_is_refused_without_echoing_it():
    with pytest.raises(UsageError):
        load_api_key({}, None)
    with pytest.raises(UsageError) as exc:
        load_api_key({"STRIPE_API_KEY": "pk_live_secretish"}, None)
    assert "publishable" in exc.value.message and "pk_live_secretish" not in exc.value.message


def test_fx_csv_takes_usd_per_unit_or_units_per_usd():
    rates = parse_fx_csv("date,currency,usd_per_unit\n2026-03-02,EUR,1.0835\n", "r.csv")
    assert [(r.currency, r.day, r.usd_per_unit) for r in rates] == [("eur", date(2026, 3, 2), Decimal("1.0835"))]
    (jpy,) = parse_fx_csv("date,currency,units_per_usd\n2026-03-02,jpy,160\n", "r.csv")
    assert jpy.usd_per_unit == Decimal("0.00625")
    with pytest.raises(InputError) as exc:
        parse_fx_csv("date,currency,usd_per_unit\n2026-03-02,eur,-1\n", "r.csv")
    assert "line 2" in exc.value.message
