"""Exact money. Costs are integer picodollars (1e-12 USD); revenue is integer minor units of its currency.

Nothing here uses float. Rounding happens once, for display, half-even to the cent.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, DecimalException, InvalidOperation

from margindash_cli.core.periods import EPOCH_DATE as EPOCH

PICO_PER_USD = 10**12  # picodollars in one US dollar
MAX_CALL_PICO = 9 * 10**18  # $9,000,000: the most one call may cost; 64-bit picodollars end at ~$9.22M
CENT = Decimal("0.01")


def pico_to_usd(pico: int) -> Decimal:
    """The exact USD amount of a picodollar integer (up to 12 decimals, trailing zeros dropped)."""
    d = Decimal(pico).scaleb(-12)
    return d.normalize() if d else Decimal(0)


def usd_text(pico: int | None) -> str | None:
    """Exact decimal string of a picodollar amount, e.g. 138000000000 -> '0.138'; None stays None.

    Integer arithmetic: exact at any size (no Decimal context precision) and fast for millions of cells."""
    if pico is None:
        return None
    whole, frac = divmod(abs(pico), PICO_PER_USD)
    text = f"{whole}.{frac:012d}".rstrip("0") if frac else str(whole)
    return "-" + text if pico < 0 else text


def usd_to_pico(amount: Decimal | str) -> int:
    """Picodollars of a USD amount, rounded half-even at the twelfth decimal."""
    return int((Decimal(amount) * PICO_PER_USD).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def display_usd(amount: Decimal | int, *, pico: bool = False) -> str:
    """'$1,234.57' / '-$12.00': rounded half-even to the cent, with thousands separators."""
    value = pico_to_usd(amount) if pico else Decimal(amount)
    cents = value.quantize(CENT, rounding=ROUND_HALF_EVEN)
    sign = "-" if cents < 0 else ""
    return f"{sign}${abs(cents):,.2f}"


# ISO 4217 currencies that Stripe and most billing systems treat as having no minor unit.
ZERO_DECIMAL_CURRENCIES = frozenset("bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf".split())
# Currencies with three decimal places.
THREE_DECIMAL_CURRENCIES = frozenset("bhd jod kwd omr tnd".split())


def minor_exponent(currency: str) -> int:
    """Decimal places of a currency's minor unit: 0 for JPY, 3 for KWD, else 2."""
    c = currency.lower()
    if c in ZERO_DECIMAL_CURRENCIES:
        return 0
    if c in THREE_DECIMAL_CURRENCIES:
        return 3
    return 2


def to_minor(amount: str, currency: str) -> int:
    """Integer minor units of a decimal amount; raises ValueError if it has more decimals than the currency."""
    shown = repr(amount if len(amount) <= 40 else amount[:40] + "...")
    try:
        value = Decimal(amount.strip())
    except InvalidOperation:
        raise ValueError(f"{shown} is not a number") from None
    if not value.is_finite():
        raise ValueError(f"{shown} is not a finite number")
    if value and value.adjusted() > 30:  # 1E+999999999 would overflow the scaling below; no amount is that large
        raise ValueError(f"{shown} is out of range")
    try:
        scaled = value.scaleb(minor_exponent(currency))
    except DecimalException:
        raise ValueError(f"{shown} is out of range") from None
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount!r} has more decimals than {currency.upper()} allows")
    return int(scaled)


# ---- splitting an amount (over days, over groups) ------------------------------------------------


def round_half_even_div(numerator: int, denominator: int) -> int:
    """numerator / denominator (denominator > 0) rounded half-even, in integers."""
    q, r = divmod(numerator, denominator)
    twice = 2 * r
    if twice > denominator or (twice == denominator and q % 2):
        q += 1
    return q


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Split an integer exactly by non-negative weights, by cumulative rounding: part i is
    round(total * C_i / W) - round(total * C_(i-1) / W), where C_i is the sum of the first i+1 weights.

    Every part is within one unit of its exact share, so is every run of consecutive parts (a month of
    days: its sum is round(total*C_end/W) - round(total*C_start/W)), and the parts add up to `total`.
    The error is not biased towards the first parts (the largest-remainder split gave them every extra
    unit). Rounding is half-even; a negative total is split as the mirror of its absolute value. All
    weights zero: the whole total goes to the first part."""
    if any(w < 0 for w in weights):
        raise ValueError("weights must not be negative")
    wsum = sum(weights)
    if wsum == 0:
        parts = [0] * len(weights)
        if parts:
            parts[0] = total
        return parts
    sign = -1 if total < 0 else 1
    t = abs(total)
    parts, cum, prev = [], 0, 0
    for w in weights:
        cum += w
        here = round_half_even_div(t * cum, wsum)
        parts.append(sign * (here - prev))
        prev = here
    return parts


def allocate_largest_remainder(total: int, weights: Sequence[int]) -> list[int]:
    """Split an integer exactly by non-negative weights (largest remainder, ties to the first); parts sum to `total`.
    With no weight at all, everything goes to the first part. Reconcile splits billed amounts with it."""
    wsum = sum(weights)
    if not weights:
        return []
    if wsum == 0:
        return [total] + [0] * (len(weights) - 1)
    sign = -1 if total < 0 else 1
    t = abs(total)
    parts = [t * w // wsum for w in weights]
    order = sorted(range(len(weights)), key=lambda i: (-(t * weights[i] % wsum), i))
    for i in order[: t - sum(parts)]:
        parts[i] += 1
    return [sign * p for p in parts]


DAY_S = 86_400


def day_of(ts: int) -> date:
    """The UTC date of a unix timestamp."""
    return EPOCH + timedelta(days=ts // DAY_S)


def day_weights(start: int, end: int) -> tuple[date, list[int]]:
    """The first UTC day of [start, end) and the seconds of the period in each day from it."""
    first, last = start // DAY_S, (end - 1) // DAY_S
    weights = [min(end, (d + 1) * DAY_S) - max(start, d * DAY_S) for d in range(first, last + 1)]
    return EPOCH + timedelta(days=first), weights


def spread_over_days(amount: int, start: int, end: int) -> list[tuple[date, int]]:
    """Split `amount` over the UTC days of [start, end) (unix seconds) by their seconds, exactly (`allocate`).
    A period with no length counts whole on the day of `start`. Days that get 0 are left out."""
    if end <= start:
        return [(day_of(start), amount)] if amount else []
    first, weights = day_weights(start, end)
    return [(first + timedelta(days=i), part) for i, part in enumerate(allocate(amount, weights)) if part]


def spread_over_dates(amount: int, first: date, last: date) -> list[tuple[date, int]]:
    """Split `amount` evenly over the whole days first..last (inclusive), exactly (`allocate`); zero days left out."""
    days = (last - first).days + 1
    return [(first + timedelta(days=i), part) for i, part in enumerate(allocate(amount, [1] * days)) if part]


# -- issue 16: one display rule for money --------------------------------------------------------------
# Tables and Markdown are for people: cents, with `<$0.01` for a positive amount under a cent (never a
# misleading $0.00), and a per-column precision where a whole column is sub-cent (events, --explain).
# CSV and JSON are for programs: exact decimal strings at a fixed scale per column.

COST_SCALE = 12  # decimals of cost and margin columns in CSV and JSON: exact picodollars
REVENUE_SCALE = 2  # decimals of revenue columns in CSV and JSON: exact cents
MAX_COLUMN_DECIMALS = 8  # a sub-cent table column shows at most this many decimals (JSON has every digit)


def fixed_usd(pico: int, scale: int = COST_SCALE) -> str:
    """Exact decimal string of a picodollar amount at `scale` decimals (12: exact), e.g. '-12.500000000000'."""
    if scale >= 12:
        whole, frac = divmod(abs(pico), PICO_PER_USD)
        text = f"{whole}.{frac:012d}" + "0" * (scale - 12)
    else:
        value = (Decimal(pico).scaleb(-12)).quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_EVEN)
        text = format(abs(value), "f")
    return "-" + text if pico < 0 else text


def fixed_cents(cents: int) -> str:
    """Exact decimal string of US cents, e.g. 1250 -> '12.50'."""
    return format(Decimal(cents).scaleb(-2), "f")


def _usd_decimals(pico: int, decimals: int) -> str:
    q = Decimal(1).scaleb(-decimals)
    value = Decimal(pico).scaleb(-12).quantize(q, rounding=ROUND_HALF_EVEN)
    if value == 0 and pico != 0:  # positive (or negative) but under the smallest shown unit: never a bare $0
        return ("-" if pico < 0 else "") + f"<${q}"
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value):,.{decimals}f}"


def table_usd(pico: int) -> str:
    """Money for a table or Markdown cell: '$1,234.57', '-$12.00', '<$0.01' for 0 < x < 0.005, '-<$0.01'."""
    return _usd_decimals(pico, 2)


def column_decimals(picos: list[int | None], max_decimals: int = MAX_COLUMN_DECIMALS) -> int:
    """Decimals for a table column of sub-cent amounts: 2 when every amount shows at cents, else the fewest
    (up to `max_decimals`) at which every non-zero amount shows at least two significant digits."""
    need = 2
    for p in picos:
        if not p:
            continue
        a = abs(p)
        d = 2
        while d < max_decimals and a * 10**d < 10 * PICO_PER_USD:  # fewer than two significant digits at d
            d += 1
        need = max(need, d)
    return need


def column_usd(pico: int, decimals: int) -> str:
    """Money at a column's precision (`column_decimals`), e.g. '$0.00110205'; '<$0.00000001' under it."""
    return _usd_decimals(pico, decimals)


def pct_text(pct: Decimal | None) -> str:
    """'-10.0%' (one decimal, half-even) or '-' when there is no percentage."""
    if pct is None:
        return "-"
    return f"{pct.quantize(Decimal('0.1'), rounding=ROUND_HALF_EVEN)}%"
