"""The demo's synthetic bill: what OpenAI and Anthropic would bill for the demo's calls, with the differences a
real bill has, so `margindash demo` shows reconciliation. Deterministic (derived from the logged calls):

- gpt-4o-mini: 6% more tokens billed than logged (a batch script that does not log: untracked usage);
- claude-sonnet-4: billed 8% under our catalog price (a negotiated discount: the price difference);
- OpenAI web search tool calls on every day (a charge no log line carries).
"""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction

from margindash_cli.reconcile.compute import PriceFn, _round
from margindash_cli.store.rows import BilledCostRow, BilledUsageRow, LoggedCellRow

SNAPSHOTS = {"gpt-4o": "gpt-4o-2024-08-06", "gpt-4o-mini": "gpt-4o-mini-2024-07-18", "o3-mini": "o3-mini-2025-01-31"}
UNTRACKED_SHARE = {"gpt-4o-mini": Fraction(6, 100)}
DISCOUNT = {"claude-sonnet-4-20250514": Fraction(8, 100)}
WEB_SEARCH_USD = Fraction(1, 100)  # per call
LABELS = {"input": "input", "cache_read": "cached input", "cache_write_5m": "cache write", "output": "output"}
ANTHROPIC_TYPES = {
    "input": "uncached_input_tokens",
    "cache_read": "cache_read_input_tokens",
    "cache_write_5m": "cache_creation.ephemeral_5m_input_tokens",
    "output": "output_tokens",
}


def demo_bill(
    cells: Iterable[LoggedCellRow], price: PriceFn
) -> tuple[list[BilledCostRow], list[BilledUsageRow], set[tuple[str, int]]]:
    """Billed cost lines, billed usage and the (provider, day)s billed, for the OpenAI and Anthropic calls."""
    costs: list[BilledCostRow] = []
    usage: list[BilledUsageRow] = []
    days: set[tuple[str, int]] = set()
    for c in cells:
        if c.vendor not in ("openai", "anthropic"):
            continue
        days.add((c.vendor, c.day))
        extra = UNTRACKED_SHARE.get(c.model, Fraction(0))
        logged = {
            "input": c.input_tokens - c.cached_input_tokens - c.cache_write_tokens,
            "cache_read": c.cached_input_tokens,
            "cache_write_5m": c.cache_write_tokens,
            "output": c.output_tokens,
        }
        billed = {k: n + _round(n * extra) for k, n in logged.items()}
        name = SNAPSHOTS.get(c.model, c.model)
        for k, n in billed.items():
            if not n:
                continue
            ours = price(c.vendor, c.model, c.day, {k: n}, None)
            if ours is None:
                continue
            amount = _round(Fraction(ours) * (1 - DISCOUNT.get(c.model, Fraction(0))))
            if c.vendor == "openai":
                label, ref = f"{name}, {LABELS[k]}", f"{c.day}|{name}|{k}"
            else:
                label, ref = f"{name} Usage - {k}", f"{c.day}|{name}|{k}"
            costs.append(
                BilledCostRow(c.vendor, c.day, name, k, "tokens", label, "demo", None, amount, str(n), "tokens", ref)
            )
        usage.append(
            BilledUsageRow(
                c.vendor,
                c.day,
                name,
                "demo",
                None,
                0,
                billed["input"],
                billed["cache_read"],
                billed["cache_write_5m"],
                0,
                billed["output"],
                None,
                f"{c.day}|{name}|usage",
            )
        )
    for provider, day in sorted(days):
        if provider == "openai":
            calls = 20 + day % 13
            costs.append(
                BilledCostRow(
                    "openai",
                    day,
                    None,
                    None,
                    "web_search",
                    "web search tool calls",
                    "demo",
                    None,
                    _round(WEB_SEARCH_USD * calls * 10**12),
                    str(calls),
                    None,
                    f"{day}|web_search",
                )
            )
    return costs, usage, days
