"""--period forms (core/periods.py): today, yesterday, Nd for any N >= 1, mtd, last-month, YYYY-MM."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from margindash_cli.core.periods import resolve_range
from margindash_cli.errors import UsageError

NOW = datetime(2026, 10, 6, 12, 0, tzinfo=UTC)


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


@pytest.mark.parametrize(
    ("period", "label"),
    [
        ("1d", "2026-10-06 to 2026-10-06"),
        ("7d", "2026-09-30 to 2026-10-06"),
        ("30d", "2026-09-07 to 2026-10-06"),
        ("90d", "2026-07-09 to 2026-10-06"),
        ("14D", "2026-09-23 to 2026-10-06"),
        ("yesterday", "2026-10-05 to 2026-10-05"),
        ("today", "2026-10-06 to 2026-10-06"),
        ("mtd", "2026-10-01 to 2026-10-06"),
        ("last-month", "2026-09-01 to 2026-09-30"),
        ("2026-02", "2026-02-01 to 2026-02-28"),
    ],
)
def test_period_forms(period, label):
    assert resolve_range(None, None, period, None, NOW).label == label


def test_yesterday_is_the_whole_previous_day_in_the_zone():
    # 12:00 UTC on Oct 6 is 21:00 in Tokyo: yesterday there is Oct 5, 00:00 to 24:00 Tokyo time (UTC+9)
    rng = resolve_range(None, None, "yesterday", "Asia/Tokyo", NOW)
    assert (rng.start_ms, rng.end_ms) == (ms("2026-10-05T00:00:00+09:00"), ms("2026-10-06T00:00:00+09:00"))
    # 23:30 UTC on Oct 6 is already Oct 7 in Tokyo, so yesterday there is Oct 6
    late = datetime(2026, 10, 6, 23, 30, tzinfo=UTC)
    assert resolve_range(None, None, "yesterday", "Asia/Tokyo", late).label == "2026-10-06 to 2026-10-06"


def test_n_days_ends_with_today_in_the_zone():
    rng = resolve_range(None, None, "3d", "America/New_York", NOW)
    assert (rng.start_ms, rng.end_ms) == (ms("2026-10-04T00:00:00-04:00"), ms("2026-10-07T00:00:00-04:00"))


@pytest.mark.parametrize(
    ("period", "message"),
    [
        ("0d", "must be 1 or more"),
        ("-3d", "must be 1 or more"),
        ("abc", "unknown --period 'abc'"),
        ("d", "unknown --period"),
        ("7days", "unknown --period"),
        ("1.5d", "unknown --period"),
        ("2026-13", "unknown --period"),
        ("99999999999d", "before year 1"),
    ],
)
def test_bad_periods_name_the_accepted_forms(period, message):
    with pytest.raises(UsageError) as err:
        resolve_range(None, None, period, None, NOW)
    assert message in str(err.value)
    text = str(err.value) + " " + str(getattr(err.value, "hint", "") or "")
    for form in ("today", "yesterday", "Nd", "mtd", "last-month", "YYYY-MM"):
        assert form in text, (period, form)


@pytest.mark.parametrize(
    ("since", "until", "start", "end"),
    [
        ("2026-10", "2026-10", "2026-10-01T00:00:00+00:00", "2026-11-01T00:00:00+00:00"),
        ("2026-02", "2026-02", "2026-02-01T00:00:00+00:00", "2026-03-01T00:00:00+00:00"),
        ("2026-12", "2026-12", "2026-12-01T00:00:00+00:00", "2027-01-01T00:00:00+00:00"),
        ("2026-09", "2026-10-15", "2026-09-01T00:00:00+00:00", "2026-10-16T00:00:00+00:00"),
    ],
)
def test_since_and_until_take_a_month_as_export_does(since, until, start, end):
    rng = resolve_range(since, until, None, None, NOW)
    assert (rng.start_ms, rng.end_ms) == (ms(start), ms(end))


def test_a_month_is_read_in_the_zone():
    rng = resolve_range("2026-10", "2026-10", None, "Asia/Tokyo", NOW)
    assert (rng.start_ms, rng.end_ms) == (ms("2026-10-01T00:00:00+09:00"), ms("2026-11-01T00:00:00+09:00"))


@pytest.mark.parametrize("text", ["2026-13", "2026-00", "9999-12x", "26-10"])
def test_a_bad_month_is_a_usage_error_naming_the_forms(text):
    with pytest.raises(UsageError) as err:
        resolve_range(text, None, None, None, NOW)
    assert "is not a date" in str(err.value) and "YYYY-MM" in err.value.hint


def test_sync_stripe_since_takes_a_month():
    from margindash_cli.revenue.stripe_math import parse_since

    assert parse_since("2026-10") == parse_since("2026-10-01") == int(datetime(2026, 10, 1, tzinfo=UTC).timestamp())
    with pytest.raises(UsageError):
        parse_since("2026-13")
