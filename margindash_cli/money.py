"""Exact money. Costs are integer picodollars (1e-12 USD); revenue is integer minor units of its currency.

Nothing here uses float. Rounding happens once, for display, half-even to the cent.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

PICO_PER_USD = 10**12  # picodollars in one US dollar
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
ZERO_DECIMAL_CURRENCIES = frozenset(
    "bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf".split()
)
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
    from decimal import InvalidOperation

    try:
        value = Decimal(amount.strip())
    except InvalidOperation:
        raise ValueError(f"{amount!r} is not a number") from None
    if not value.is_finite():
        raise ValueError(f"{amount!r} is not a finite number")
    scaled = value.scaleb(minor_exponent(currency))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount!r} has more decimals than {currency.upper()} allows")
    return int(scaled)


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
