"""Budgets core (pure): validation, calendar periods in a zone, levels, projection, exit codes, blocklist, alert text."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from margindash_cli.budgets import compute as core
from margindash_cli.errors import UsageError

HOUR = 3_600_000


def utc(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def ms(text):
    return core.epoch_ms(utc(text))


def test_make_budget_accepts_the_documented_options():
    b = core.make_budget(
        "acme-monthly",
        scope="customer:acme",
        limit_usd="500.50",
        period="month",
        tz="Europe/Paris",
        warn="70",
        critical="85.5",
        emails=["ops@example.com", "cfo@example.com,ops@example.com"],
    )
    assert (b.scope, b.scope_id, b.limit_usd, b.period, b.tz) == (
        "customer",
        "acme",
        Decimal("500.50"),
        "month",
        "Europe/Paris",
    )
    assert (b.warn_pct, b.critical_pct) == (Decimal(70), Decimal("85.5"))
    assert b.emails == ("ops@example.com", "cfo@example.com")
    assert b.limit_pico == 500_500_000_000_000
    assert core.make_budget("o", scope="org", limit_usd="1", period="day").scope_text == "org"
    assert (
        core.make_budget("f", scope="feature:summarize", limit_usd="1", period="week").scope_text == "feature:summarize"
    )


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"limit_usd": "-5"}, "--limit-usd -5 must be more than 0"),
        ({"limit_usd": "0"}, "--limit-usd 0 must be more than 0"),
        ({"limit_usd": "ten"}, "--limit-usd 'ten' is not a number"),
        ({"limit_usd": "NaN"}, "is not a finite number"),
        ({"limit_usd": "0.0000000000001"}, "more than 12 decimals"),
        ({"scope": "team:x"}, "unknown --scope 'team:x'"),
        ({"scope": "customer:"}, "unknown --scope 'customer:'"),
        ({"scope": "org:acme"}, "unknown --scope 'org:acme'"),
        ({"period": "quarter"}, "unknown --period 'quarter'"),
        ({"warn": "95", "critical": "90"}, "--warn 95 is above --critical 90"),
        ({"warn": "0"}, "--warn 0 must be a percentage above 0"),
        ({"critical": "150"}, "--critical 150 must be a percentage above 0 and at most 100"),
        ({"tz": "Mars/Olympus"}, "unknown time zone 'Mars/Olympus'"),
        ({"emails": ["not-an-address"]}, "--email 'not-an-address' is not an email address"),
    ],
)
def test_bad_values_are_refused_with_a_clear_message(kwargs, message):
    args = {"scope": "org", "limit_usd": "100", "period": "month"} | kwargs
    with pytest.raises(UsageError) as exc:
        core.make_budget("b", **args)
    assert message in exc.value.message


def test_bad_names_are_refused():
    for name in ("", "has space", "-dash-first", "x" * 65, "a/b"):
        with pytest.raises(UsageError):
            core.make_budget(name, scope="org", limit_usd="1", period="day")


def test_a_month_is_calendar_aligned_in_its_zone():
    # 2026-11-01 03:30 UTC is still Oct 31 (23:30) in New York: the October period.
    p = core.current_period("month", "America/New_York", utc("2026-11-01T03:30:00Z"))
    assert (p.first_day, p.last_day, p.label) == (date(2026, 10, 1), date(2026, 10, 31), "2026-10")
    assert p.start_ms == ms("2026-10-01T04:00:00Z")  # midnight EDT
    assert p.end_ms == ms("2026-11-01T04:00:00Z")  # midnight EDT (DST ends later, on Nov 1 at 2:00)
    # One hour later it is November there: the period resets on the 1st, not after 30 days.
    q = core.current_period("month", "America/New_York", utc("2026-11-01T04:30:00Z"))
    assert (q.first_day, q.start_ms, q.end_ms) == (
        date(2026, 11, 1),
        ms("2026-11-01T04:00:00Z"),
        ms("2026-12-01T05:00:00Z"),
    )
    # February, December -> January.
    assert core.current_period("month", "UTC", utc("2028-02-29T12:00:00Z")).last_day == date(2028, 2, 29)
    dec = core.current_period("month", "UTC", utc("2026-12-31T23:59:59Z"))
    assert (dec.first_day, dec.end_ms) == (date(2026, 12, 1), ms("2027-01-01T00:00:00Z"))


def test_a_day_in_tokyo_and_a_25_hour_day_in_paris():
    p = core.current_period("day", "Asia/Tokyo", utc("2026-10-15T16:00:00Z"))  # 01:00 on Oct 16 in Tokyo
    assert p.first_day == date(2026, 10, 16)
    assert (p.start_ms, p.end_ms) == (ms("2026-10-15T15:00:00Z"), ms("2026-10-16T15:00:00Z"))
    # Summer time ends in Paris on 2026-10-25: that day has 25 hours.
    d = core.current_period("day", "Europe/Paris", utc("2026-10-25T12:00:00Z"))
    assert (d.start_ms, d.end_ms) == (ms("2026-10-24T22:00:00Z"), ms("2026-10-25T23:00:00Z"))
    assert d.end_ms - d.start_ms == 25 * HOUR


def test_a_week_runs_monday_to_sunday_in_its_zone():
    # Sunday 2026-10-18 23:30 in Paris (21:30 UTC) is still the week of Monday Oct 12.
    p = core.current_period("week", "Europe/Paris", utc("2026-10-18T21:30:00Z"))
    assert (p.first_day, p.last_day) == (date(2026, 10, 12), date(2026, 10, 18))
    assert p.label == "2026-W42 (2026-10-12 to 2026-10-18)"
    assert (p.start_ms, p.end_ms) == (ms("2026-10-11T22:00:00Z"), ms("2026-10-18T22:00:00Z"))
    # 30 minutes later it is Monday there: a new week.
    q = core.current_period("week", "Europe/Paris", utc("2026-10-18T22:30:00Z"))
    assert q.first_day == date(2026, 10, 19)
    # The week that contains the end of summer time is 169 hours long.
    r = core.current_period("week", "Europe/Paris", utc("2026-10-22T12:00:00Z"))
    assert r.end_ms - r.start_ms == 169 * HOUR


def budget(limit="100", warn="75", critical="90", scope="org"):
    return core.make_budget("b", scope=scope, limit_usd=limit, period="month", warn=warn, critical=critical)


@pytest.mark.parametrize(
    "spend_usd, level",
    [
        ("0", "ok"),
        ("74.999999999999", "ok"),
        ("75", "warning"),
        ("89.99", "warning"),
        ("90", "critical"),
        ("99.999999999999", "critical"),
        ("100", "exceeded"),
        ("250", "exceeded"),
    ],
)
def test_levels_are_exact_at_their_thresholds(spend_usd, level):
    spend = int(Decimal(spend_usd) * 10**12)
    assert core.level_for(budget(), spend) == level


def test_projection_is_the_burn_rate_so_far_carried_to_the_period_end():
    b = budget(limit="310")
    p = core.current_period("month", "UTC", utc("2026-10-11T00:00:00Z"))  # 10 of 31 days gone
    s = core.evaluate(b, p, core.Spend(cost_pico=100 * 10**12, unpriced_events=3, events=9), ms("2026-10-11T00:00:00Z"))
    assert s.projected_pico == 310 * 10**12
    assert s.projected_pct == 100
    assert s.pct_used == Decimal(100) * 100 / 310
    assert s.level == "ok"
    data = core.status_json(s)
    assert (data["spend_usd"], data["projected_usd"], data["unpriced_events"], data["pct_used"]) == (
        "100",
        "310",
        3,
        32.26,
    )


def test_exit_codes_per_highest_level_and_fail_on():
    p = core.current_period("month", "UTC", utc("2026-10-11T00:00:00Z"))

    def st(level_spend):
        return core.evaluate(budget(), p, core.Spend(cost_pico=level_spend * 10**12), 0)

    ok, warning, critical, exceeded = st(10), st(80), st(95), st(120)
    assert [s.level for s in (ok, warning, critical, exceeded)] == ["ok", "warning", "critical", "exceeded"]
    table = {
        (): {"warning": 0, "critical": 0, "exceeded": 0},
        (ok,): {"warning": 0, "critical": 0, "exceeded": 0},
        (ok, warning): {"warning": 3, "critical": 0, "exceeded": 0},
        (warning, critical): {"warning": 4, "critical": 4, "exceeded": 0},
        (ok, exceeded, warning): {"warning": 5, "critical": 5, "exceeded": 5},
    }
    for statuses, expected in table.items():
        assert {f: core.exit_code(list(statuses), f) for f in core.FAIL_ON} == expected


def test_blocklist_names_customers_and_features_over_budget_until_their_period_end():
    p = core.current_period("month", "Europe/Paris", utc("2026-10-11T00:00:00Z"))
    statuses = [
        core.evaluate(budget(limit="10", scope="customer:acme"), p, core.Spend(cost_pico=11 * 10**12), 0),
        core.evaluate(budget(limit="10", scope="feature:chat"), p, core.Spend(cost_pico=10 * 10**12), 0),
        core.evaluate(
            budget(limit="10", scope="customer:globex"), p, core.Spend(cost_pico=9 * 10**12), 0
        ),  # critical: not blocked
        core.evaluate(
            budget(limit="10", scope="org"), p, core.Spend(cost_pico=50 * 10**12), 0
        ),  # org budgets only alert
    ]
    payload = core.blocklist_payload(statuses, ms("2026-10-11T00:00:00Z"), 30)
    assert payload == {
        "version": 1,
        "generated_at": "2026-10-11T00:00:00Z",
        "ttl_seconds": 30,
        "blocked": [
            {"scope": "customer", "id": "acme", "budget": "b", "period_end": "2026-10-31T23:00:00Z"},
            {"scope": "feature", "id": "chat", "budget": "b", "period_end": "2026-10-31T23:00:00Z"},
        ],
    }


def test_alert_text_names_budget_spend_limit_pct_period_contributors_and_next_command():
    b = core.make_budget("acme-monthly", scope="customer:acme", limit_usd="80", period="month", tz="Europe/Paris")
    p = core.current_period("month", "Europe/Paris", utc("2026-10-16T12:00:00Z"))
    s = core.evaluate(b, p, core.Spend(cost_pico=84 * 10**12, unpriced_events=2, events=10), ms("2026-10-16T12:00:00Z"))
    msg = core.alert_message(s, [("summarize", 50 * 10**12), ("chat", 34 * 10**12)], core.alert_key(s))
    assert msg.subject == "[margindash] EXCEEDED: budget acme-monthly at 105.0% ($84.00 of $80.00, 2026-10)"
    assert "Spend:   $84.00 of $80.00 (105.0% used)" in msg.text
    assert "Period:  2026-10 (Europe/Paris), 2026-09-30T22:00:00Z to 2026-10-31T23:00:00Z" in msg.text
    assert "  summarize: $50.00\n  chat: $34.00" in msg.text
    assert "2 call(s) in scope have no price" in msg.text
    assert (
        "margindash report --by feature --customer acme --since 2026-10-01 --until 2026-10-31 --tz Europe/Paris"
        in msg.text
    )
    assert core.alert_key(s) == "acme-monthly/exceeded/2026-09-30T22:00:00Z"
    assert msg.message_id == core.alert_message(s, [], core.alert_key(s)).message_id  # stable per alert key
