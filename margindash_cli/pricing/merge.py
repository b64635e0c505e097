"""The rules of merging a price list into the prices a store holds, without moving history (pure: no store).

Used by `sync-prices` (pricing/sync.py) and by seeding a newer shipped catalog (pricing/run.py's `PriceBook`).
- Sources rank genai-prices > LiteLLM > OpenRouter; a reviewed override of the shipped catalog outranks all.
- A source's price that differs from the price in force now is recorded from now on; a dated version
  that starts after every version held is recorded at its own date.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from margindash_cli.pricing.model import RATE_FIELDS, SERVICE_TIERS, PriceVersion, Rates, effective_ms

# Which source's price stands when two sources disagree on a model: genai-prices, then LiteLLM, then
# OpenRouter (the shipped catalog's rule); OpenRouter's own list wins for OpenRouter's own models. A price
# the shipped catalog took from its reviewed overrides (margindash_cli/pricing/data/overrides.json, source "override") was
# checked by hand against the provider's page where the lists are wrong: no list replaces it.
SOURCE_RANK = {"override": 5, "genai-prices": 3, "litellm": 2, "openrouter": 1}


def rank(source: str, provider: str) -> int:
    if source == "openrouter" and provider == "openrouter":
        return 4
    return SOURCE_RANK.get(source, 0)


def by_key(versions: list[PriceVersion]) -> dict[tuple[str, str], list[PriceVersion]]:
    """A source's versions per (provider, model), ordered by start (since-the-beginning first)."""
    out: dict[tuple[str, str], list[PriceVersion]] = {}
    for v in versions:
        out.setdefault((v.provider, v.model), []).append(v)
    for vs in out.values():
        vs.sort(key=effective_ms)
    return out


def in_force(timeline: list[tuple[int, PriceVersion]], ts_ms: int) -> PriceVersion:
    """The version in force at ts_ms, as the pricer picks it (the last to start, the latest recorded on a
    tie; before every start, the earliest)."""
    started = [v for eff, v in timeline if eff <= ts_ms]
    return started[-1] if started else timeline[0][1]


def current(incoming: list[PriceVersion], now_ms: int) -> PriceVersion:
    """A source's version of a model in force now (its earliest when all start later)."""
    return next((v for v in reversed(incoming) if effective_ms(v) <= now_ms), incoming[0])


def changes(
    timeline: list[tuple[int, PriceVersion]], incoming: list[PriceVersion], now: datetime, now_ms: int
) -> list[PriceVersion]:
    """What to record of one source's versions of a model the store prices under its own key.

    - Priced by a better-ranked source: nothing (that source's price stands).
    - A dated version the source publishes that starts after every version the store holds: at its own date.
    - Otherwise the source's current price, when it differs from the price in force now: from now on.
    """
    held = in_force(timeline, now_ms)
    provider = incoming[0].provider
    if rank(incoming[0].source, provider) < rank(held.source, provider):
        return []
    now_price = current(incoming, now_ms)
    latest = max(eff for eff, _ in timeline)
    out = [v for v in incoming if v.effective_from is not None and effective_ms(v) > latest]
    if now_price in out or same_price(now_price, held):
        return out
    return out + [from_now(now_price, now, held)]


def _same_rates(new: Rates | None, old: Rates | None) -> bool:
    """True when every rate `new` states is the rate `old` has (a rate `new` leaves out is not a change)."""
    if new is None:
        return True
    if old is None:
        return new.is_empty()
    return all(getattr(new, f) is None or getattr(new, f) == getattr(old, f) for f in RATE_FIELDS)


def same_price(new: PriceVersion, old: PriceVersion) -> bool:
    """Whether the store's version already bills what the source says.

    Only what the source states is compared: the shipped catalog completes a source's versions with
    what another source lists (batch rates, long-context tiers, context windows), and a source that is
    silent on those has not changed them. Context window and max output are not prices.
    """
    if not _same_rates(new.base, old.base):
        return False
    if any(not _same_rates(getattr(new, s), getattr(old, s)) for s in SERVICE_TIERS):
        return False
    if new.tiers:
        if [(t.threshold, t.inclusive) for t in new.tiers] != [(t.threshold, t.inclusive) for t in old.tiers]:
            return False
        for a, b in zip(new.tiers, old.tiers):
            if not _same_rates(a.rates, b.rates) or any(
                not _same_rates(getattr(a, s), getattr(b, s)) for s in SERVICE_TIERS
            ):
                return False
    return all(old.units.get(unit) == price for unit, price in new.units.items())


def from_now(v: PriceVersion, now: datetime, held: PriceVersion | None = None) -> PriceVersion:
    """`v` effective from `now`; a context window or max output it leaves out is kept from `held`."""
    if held is None:
        return replace(v, effective_from=now)
    return replace(
        v,
        effective_from=now,
        context_window=v.context_window or held.context_window,
        max_output=v.max_output or held.max_output,
    )
