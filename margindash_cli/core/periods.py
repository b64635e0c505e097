"""Date ranges for --since/--until/--period, in a time zone (default UTC).

A bare date means that whole day in the zone: `--until 2026-10-31` includes all of Oct 31.
Ranges are half-open [start, end) in UTC epoch milliseconds; None means unbounded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from margindash_cli.errors import UsageError

PERIODS = ("today", "yesterday", "Nd", "mtd", "last-month", "YYYY-MM")  # Nd: the last N days, today included
PERIODS_HINT = "use today, yesterday, Nd (the last N days with today, N >= 1: 7d, 30d, 90d), mtd, last-month or YYYY-MM"
_N_DAYS = re.compile(r"^([+-]?\d+)d$")
_MONTH = re.compile(r"\d{4}-\d{2}")

# The one epoch of every time number: store timestamps are UTC epoch ms, store days count from EPOCH_DATE.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EPOCH_DATE = EPOCH.date()  # day 0 of the store's day numbers
DAY_MS = 86_400_000  # milliseconds in one UTC day


@dataclass(frozen=True)
class TimeRange:
    start_ms: int | None
    end_ms: int | None
    label: str
    tz: str

    @property
    def unbounded(self) -> bool:
        return self.start_ms is None and self.end_ms is None


def zone(name: str | None) -> tzinfo:
    if not name or name.upper() == "UTC":
        return UTC
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # lazy: start-up

    shown = repr(name) if len(name) <= 80 else repr(name[:77] + "...")
    try:
        if len(name) > 255:  # the longest IANA name is 32 characters; the OS refuses a longer file name anyway
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "Europe" is a folder of zones, not a zone
        raise UsageError(f"unknown time zone {shown}", "use an IANA name such as Europe/Paris or Asia/Tokyo") from None


def _ms(dt: datetime) -> int:
    return (dt - EPOCH) // timedelta(milliseconds=1)


def _parse_point(text: str, tz: tzinfo, option: str, *, end: bool) -> int:
    """Epoch ms of a date (start of that day, or start of the next day when `end`), a month `YYYY-MM` (its first
    day, or the first day of the next month when `end`: `--since 2026-10 --until 2026-10` is all of October, as in
    `export`) or an ISO datetime."""
    try:
        if _MONTH.fullmatch(text):
            first = date(int(text[:4]), int(text[5:]), 1)
            if end:
                first = (first + timedelta(days=31)).replace(day=1)
            return _ms(datetime.combine(first, time(0), tzinfo=tz))
        if len(text) == 10:
            d = date.fromisoformat(text)
            if end:
                d += timedelta(days=1)
            return _ms(datetime.combine(d, time(0), tzinfo=tz))
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, OverflowError):
        raise UsageError(
            f"{option} {text!r} is not a date", "use YYYY-MM-DD, a month YYYY-MM, or an ISO 8601 date-time"
        ) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=tz)
    return _ms(dt)


def resolve_range(
    since: str | None, until: str | None, period: str | None, tz_name: str | None, now: datetime | None = None
) -> TimeRange:
    tz = zone(tz_name)
    tz_label = tz_name or "UTC"
    if period and (since or until):
        raise UsageError("--period cannot be combined with --since/--until", "use one or the other")
    now = (now or datetime.now(UTC)).astimezone(tz)
    today = now.date()
    if period:
        start, end = _period_days(period, today)
        s = _ms(datetime.combine(start, time(0), tzinfo=tz))
        e = _ms(datetime.combine(end, time(0), tzinfo=tz))
        return TimeRange(s, e, f"{start.isoformat()} to {(end - timedelta(days=1)).isoformat()}", tz_label)
    s = _parse_point(since, tz, "--since", end=False) if since else None
    e = _parse_point(until, tz, "--until", end=True) if until else None
    if s is not None and e is not None and e <= s:
        raise UsageError("--until is before --since")
    if s is None and e is None:
        label = "all data"
    else:
        label = f"{since or 'the beginning'} to {until or 'now'}"
    return TimeRange(s, e, label, tz_label)


def _period_days(period: str, today: date) -> tuple[date, date]:
    """A --period as local days [start, end): today, yesterday, Nd (the N days ending today, N >= 1), mtd,
    last-month, YYYY-MM. Anything else is a UsageError naming the accepted forms."""
    p = period.strip().lower()
    if p == "today":
        return today, today + timedelta(days=1)
    if p == "yesterday":
        return today - timedelta(days=1), today
    if p == "mtd":
        return today.replace(day=1), today + timedelta(days=1)
    if p == "last-month":
        end = today.replace(day=1)
        return (end - timedelta(days=1)).replace(day=1), end
    m = _N_DAYS.match(p)
    if m:
        days = int(m.group(1))
        if days < 1:
            raise UsageError(f"--period {period!r}: the number of days must be 1 or more", PERIODS_HINT)
        try:
            return today - timedelta(days=days - 1), today + timedelta(days=1)
        except OverflowError:
            raise UsageError(f"--period {period!r} reaches back before year 1", PERIODS_HINT) from None
    if re.fullmatch(r"\d{4}-\d{1,2}", p):
        year, month = (int(x) for x in p.split("-"))
        if 1 <= month <= 12 and (year < 9999 or month < 12):
            return date(year, month, 1), date(year + (month == 12), month % 12 + 1, 1)
    raise UsageError(f"unknown --period {period!r}", PERIODS_HINT)
