"""Revenue from a CSV file, for any billing system. Pure: text in, per-day revenue rows out.

Columns: `customer_id`, `amount` (a decimal in major units: 499.00 USD, 5000 JPY; thousands separated by commas
as `amount_text` defines, 1,234.56, quoted in the CSV), `currency` (default usd), and either `date` or
`period_start` + `period_end` (inclusive dates: both days count). A period's amount
is spread evenly over its days, exactly: the per-day minor units add up to the amount and every month
is within one minor unit of its exact share (cumulative rounding, `money.allocate`). Any bad row stops the import with an error naming its line; nothing is half-imported.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from margindash_cli.core.money import minor_exponent, spread_over_dates, to_minor
from margindash_cli.errors import InputError
from margindash_cli.revenue.csvinput import field_error, read_rows
from margindash_cli.revenue.fx import decimal_rate, usd_cents

MAX_PERIOD_DAYS = 3660  # ten years: a longer period is a typo
MAX_AMOUNT_MINOR = 10**13  # one row at most 100 billion USD (in minor units): more is a typo, and sums must fit 64 bits
MAX_ID_CHARS = 256  # a customer id longer than this is not an id


_GROUPED = re.compile(r"[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?")  # 1,234 / 1,234,567.89 / -12,345.6
THOUSANDS_RULE = (
    "a comma may only separate thousands: groups of exactly three digits after a first group of one to three, "
    "before the '.' or the end (1,234.56; 1,234,567); a decimal comma is not accepted: write the decimals after a '.'"
)


def amount_text(raw: str, currency: str) -> str:
    """The amount with its thousands separators removed, else ValueError. The rule, so that a decimal comma is
    never misread as a thousands separator: a value with no comma is taken as it is; a value with a comma must be
    `[sign]D{1,3}(,DDD)+[.D+]`: a first group of one to three digits, then groups of exactly three digits each
    after a comma, then an optional '.' and decimals. Anything else with a comma (`1,5`, `12,3456`, `1.234,56`,
    `1,234,5`, `,123`) is refused. In a currency with three decimals (KWD, BHD...) `1,234` (one group, no '.')
    could be a decimal comma as well as a thousand: it is refused too; write `1234` or `1,234.000` there."""
    text = raw.strip()
    if "," not in text:
        return text
    shown = repr(text if len(text) <= 40 else text[:40] + "...")
    if not _GROUPED.fullmatch(text):
        raise ValueError(f"{shown} is not a number: {THOUSANDS_RULE}")
    if "." not in text and text.count(",") == 1 and minor_exponent(currency) == 3:
        raise ValueError(
            f"{shown} is ambiguous in {currency.upper()} (three decimals): a thousand or a decimal comma; "
            f"write {text.replace(',', '')} or {text}.000"
        )
    return text.replace(",", "")


@dataclass(frozen=True)
class RevenueDay:
    customer_id: str
    day: date
    amount_minor: int
    currency: str
    ref: str  # "line N" of the file


def parse_revenue_csv(text: str, filename: str) -> list[RevenueDay]:
    fields, rows = read_rows(text, filename)
    missing = {"customer_id", "amount"} - fields
    if missing or not ({"date"} <= fields or {"period_start", "period_end"} <= fields):
        raise InputError(
            f"{filename}: the header must have customer_id, amount, and date or period_start/period_end"
            + (f" (missing: {', '.join(sorted(missing))})" if missing else ""),
            "example header: customer_id,amount,currency,period_start,period_end",
        )
    out: list[RevenueDay] = []
    for line, row in rows:

        def fail(field: str, why: str, line: int = line) -> InputError:
            return field_error(filename, line, field, why)

        customer = row.get("customer_id", "")
        if not customer:
            raise fail("customer_id", "missing")
        if len(customer) > MAX_ID_CHARS:
            raise fail(
                "customer_id", f"{len(customer)} characters is longer than the {MAX_ID_CHARS} a customer id may have"
            )
        currency = (row.get("currency") or "usd").lower()
        if len(currency) != 3 or not currency.isalpha():
            raise fail("currency", f"{currency!r} is not a 3-letter ISO code")
        try:
            amount = to_minor(amount_text(row.get("amount", ""), currency), currency)
        except ValueError as exc:
            raise fail("amount", str(exc)) from None
        if abs(amount) > MAX_AMOUNT_MINOR:
            raise fail(
                "amount",
                f"{_short(row.get('amount', ''))} is out of range (at most {MAX_AMOUNT_MINOR:.0e} minor units a row)",
            )
        try:
            if row.get("date"):
                start = end = date.fromisoformat(row["date"])
            else:
                start = date.fromisoformat(row.get("period_start", ""))
                end = date.fromisoformat(row.get("period_end", ""))
        except ValueError:
            which = "date" if row.get("date") else "period_start/period_end"
            given = row["date"] if row.get("date") else f"{row.get('period_start', '')}/{row.get('period_end', '')}"
            raise fail(which, f"{_short(given)} is not a YYYY-MM-DD date") from None
        days = (end - start).days + 1
        if days < 1:
            raise fail("period_end", "is before period_start")
        if days > MAX_PERIOD_DAYS:
            raise fail("period_end", f"a period of {days} days is too long")
        for day, part in spread_over_dates(amount, start, end):
            out.append(RevenueDay(customer, day, part, currency, f"line {line}"))
    return out


def _short(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


def revenue_rows(
    days: list[RevenueDay], rate: Callable[[str, date], object]
) -> list[tuple[str, date, int, str, int | None, str]]:
    """Store rows (customer, day, minor, currency, usd cents, ref): USD as is, other currencies at `rate`
    (USD per unit on that day, from `fx import`), else left unconverted (None) and reported as such."""
    out = []
    for d in days:
        usd = d.amount_minor if d.currency == "usd" else None
        if usd is None:
            r = decimal_rate(rate(d.currency, d.day))
            usd = None if r is None else usd_cents(d.amount_minor, d.currency, r)
        out.append((d.customer_id, d.day, d.amount_minor, d.currency, usd, d.ref))
    return out
