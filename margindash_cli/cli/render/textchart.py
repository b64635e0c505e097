"""Plain-text charts for the terminal: `report --by day|week|month --chart`. Pure: rows in, lines out.

No colour and no markup, only characters, so a chart survives NO_COLOR, pipes, logs and email. Every
row of a chart shares one scale, printed above it, so two rows can be compared by their bar lengths.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from margindash_cli.core.money import display_usd

EIGHTHS = " ▏▎▍▌▋▊▉"  # partial blocks: 0/8 .. 7/8 of a cell
FULL = "█"
ZERO = "│"


@dataclass(frozen=True)
class Point:
    """One period: its label and exact figures (None = unknown, e.g. no revenue for a margin %)."""

    label: str
    revenue: Decimal
    cost: Decimal
    margin_pct: Decimal | None
    unpriced: bool = False


def bar(value: Decimal, scale: Decimal, cells: int) -> str:
    """A bar of `value` where `scale` fills `cells` cells, in eighths of a cell; empty for value <= 0."""
    if value <= 0 or scale <= 0 or cells <= 0:
        return ""
    eighths = int(min(value / scale, Decimal(1)) * cells * 8)
    if eighths == 0:
        return EIGHTHS[1]  # a positive amount is never drawn as nothing
    full, rest = divmod(eighths, 8)
    return FULL * full + (EIGHTHS[rest] if rest else "")


def _usd(value: Decimal) -> str:
    if 0 < value < Decimal("0.01"):
        return "<$0.01"
    return display_usd(value)


def money_chart(points: list[Point], width: int) -> list[str]:
    """Revenue (R) and cost (C) per period as bars on one scale: the largest amount fills the bar area."""
    label_w = max((len(p.label) for p in points), default=4)
    amounts = [_usd(v) + ("+?" if p.unpriced and v is p.cost else "") for p in points for v in (p.revenue, p.cost)]
    value_w = max((len(a) for a in amounts), default=5)
    cells = max(10, width - label_w - value_w - 5)
    scale = max((max(p.revenue, p.cost) for p in points), default=Decimal(0))
    lines = [f"one scale: a full bar ({cells} cells) is {_usd(scale)}; R = revenue, C = cost"]
    for p in points:
        for tag, value in (("R", p.revenue), ("C", p.cost)):
            text = _usd(value) + ("+?" if p.unpriced and tag == "C" else "")
            name = p.label if tag == "R" else ""
            lines.append(f"{name:<{label_w}} {tag} {bar(value, scale, cells):<{cells}} {text:>{value_w}}")
    return lines


def margin_chart(points: list[Point], width: int) -> list[str]:
    """Margin % per period as bars left (loss) or right (profit) of one zero line, on one scale for every row."""
    label_w = max((len(p.label) for p in points), default=4)
    known = [p.margin_pct for p in points if p.margin_pct is not None]
    lo = min([Decimal(0), *known])
    hi = max([Decimal(0), *known])
    value_w = 8
    cells = max(10, width - label_w - value_w - 3)
    span = hi - lo
    if span == 0:
        span = Decimal(100)
        hi = Decimal(100) if not known or known[0] >= 0 else Decimal(0)
        lo = hi - span
    left = int((-lo / span) * cells) if lo < 0 else 0  # cells left of the zero line
    right = cells - left - 1
    lines = [f"one scale: {lo:.0f}% to {hi:.0f}%; {ZERO} is 0% (left of it: loss)"]
    for p in points:
        if p.margin_pct is None:
            body = " " * left + ZERO + " " * right
            text = "-"
        elif p.margin_pct >= 0:
            body = " " * left + ZERO + f"{bar(p.margin_pct, hi, right):<{right}}"
            text = f"{p.margin_pct:.1f}%"
        else:
            # whole cells only: a partial block character is left-aligned, so it cannot end a bar growing left
            n = max(1, min(left, int((-p.margin_pct / -lo * left).to_integral_value())))
            body = f"{FULL * n:>{left}}" + ZERO + " " * right
            text = f"{p.margin_pct:.1f}%"
        lines.append(f"{p.label:<{label_w}} {body} {text:>{value_w}}")
    return lines
