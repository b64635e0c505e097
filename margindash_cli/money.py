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
