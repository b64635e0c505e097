"""Pure, no store: model, cost, resolve, mix, merge, catalog, benchmarks, sources, pricer (`Pricer`).
Run-side, read or write the store: run (the catalog in a store, `load_pricer`), sync (`sync-prices`),
reprice (re-cost stored calls), drift (`prices drift`), explain (`events --explain`).
Imports go one way: sync -> run -> reprice, pricer -> the pure modules; no pure module imports a run-side one.

Price catalog, model-name resolution and the exact cost function:
- `model`: PriceVersion / Rates / Tier (USD per MTok, Decimal; frozen dataclasses).
- `sources`: parsers for LiteLLM, genai-prices and OpenRouter lists (used by scripts/build_catalog.py).
- `catalog`: the shipped catalog (`margindash_cli/pricing/data/catalog.json`).
- `resolve`: (vendor, model as logged) -> catalog key; `price_at` picks the version in force.
- `cost`: `cost_of` -> integer picodollars per token class.
- `merge`: the rules of merging a price list into held prices without moving history.
"""

from margindash_cli.pricing.cost import CostBreakdown, cost_of, format_usd
from margindash_cli.pricing.model import PriceVersion, Rates, Tier
from margindash_cli.pricing.resolve import Resolution, Resolver, price_at

__all__ = [
    "CostBreakdown",
    "PriceVersion",
    "Rates",
    "Resolution",
    "Resolver",
    "Tier",
    "cost_of",
    "format_usd",
    "price_at",
]
