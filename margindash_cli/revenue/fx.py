"""Exchange rates to US dollars, for revenue in other currencies. Pure: text and numbers in, numbers out.

Invariants:
- A rate is a Decimal: US dollars for ONE major unit of the currency (1 EUR -> 1.08, 1 JPY -> 0.0067).
  It is never a float; a rate that arrives as a JSON number is read back through its shortest repr.
- A conversion rounds once, half-even, to the US cent: `usd_cents(5000, "jpy", 0.0067)` is 3350.
- A rate applies to its UTC date; a date without one takes the latest earlier rate up to FX_MAX_AGE_DAYS
  old (markets close at weekends); older than that, the amount stays unconverted and is reported, never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from margindash_cli.core.money import minor_exponent
from margindash_cli.errors import InputError
from margindash_cli.revenue.csvinput import field_error, read_rows

FX_MAX_AGE_DAYS = 7  # a rate stands in for the days after it, up to this many (weekends, holidays)
# USD for one unit of any currency lies far inside this (KWD ~3.3 USD, the weakest units ~1e-5 USD); a rate
# outside it is a typo (or units_per_usd given as usd_per_unit) and would turn revenue into nonsense.
MIN_USD_PER_UNIT = Decimal("1e-9")
MAX_USD_PER_UNIT = Decimal("1e4")


@dataclass(frozen=True)
class FxRate:
    currency: str  # lower-case ISO 4217
    day: date
    usd_per_unit: Decimal


def usd_cents(minor: int, currency: str, usd_per_unit: Decimal) -> int:
    """US cents of an amount in minor units of `currency`, at USD per major unit, rounded half-even."""
    value = Decimal(minor).scaleb(-minor_exponent(currency)) * usd_per_unit * 100
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def decimal_rate(value: object) -> Decimal | None:
    """A positive Decimal from a rate as Stripe or a file gives it (str, int, Decimal or a JSON float); else None."""
    if value is None or isinstance(value, bool):
        return None
    try:
        d = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return d if d.is_finite() and d > 0 else None


def _short(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


def parse_fx_csv(text: str, filename: str) -> list[FxRate]:
    """Rates from CSV: `date`, `currency`, and `usd_per_unit` (USD for one unit) or `units_per_usd`
    (units one USD buys). A bad row stops the import with its line; nothing is half-imported."""
    fields, rows = read_rows(text, filename)
    rate_cols = fields & {"usd_per_unit", "units_per_usd"}
    if not {"date", "currency"} <= fields or len(rate_cols) != 1:
        raise InputError(
            f"{filename}: the header must have date, currency and one of usd_per_unit or units_per_usd",
            "example: date,currency,usd_per_unit / 2026-01-15,eur,1.0835",
        )
    col = rate_cols.pop()
    out: list[FxRate] = []
    for line, row in rows:

        def fail(field: str, why: str, line: int = line) -> InputError:
            return field_error(filename, line, field, why)

        try:
            day = date.fromisoformat(row.get("date", ""))
        except ValueError:
            raise fail("date", f"{_short(row.get('date', ''))} is not a YYYY-MM-DD date") from None
        currency = row.get("currency", "").lower()
        if len(currency) != 3 or not currency.isalpha():
            raise fail("currency", f"{currency!r} is not a 3-letter ISO code")
        if currency == "usd":
            raise fail("currency", "usd needs no rate")
        rate = decimal_rate(row.get(col))
        if rate is None:
            raise fail(col, f"{_short(row.get(col, ''))} is not a positive number")
        if col == "units_per_usd":
            if not MIN_USD_PER_UNIT <= 1 / rate <= MAX_USD_PER_UNIT:
                raise fail(
                    col,
                    f"{_short(row.get(col, ''))} units per USD is out of range ({1 / MAX_USD_PER_UNIT:g} to {1 / MIN_USD_PER_UNIT:g})",
                )
            rate = Decimal(1) / rate
        elif not MIN_USD_PER_UNIT <= rate <= MAX_USD_PER_UNIT:
            raise fail(
                col,
                f"{_short(row.get(col, ''))} USD per unit is out of range ({MIN_USD_PER_UNIT:g} to {MAX_USD_PER_UNIT:g})",
            )
        out.append(FxRate(currency, day, rate))
    if not out:
        raise InputError(f"{filename}: no rates", "add rows: date,currency,usd_per_unit")
    return out
