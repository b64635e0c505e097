"""Price stored and incoming calls from the price versions in the store.

Which version prices a call: the model is resolved to a catalog key (exact, alias, normalized id,
origin provider); among that key's versions, a user's own price (`prices set`) in force at the
call's time wins over synced and shipped ones; otherwise the latest synced or shipped version in
force at that time. A call before every version's start is priced by the earliest version (the
catalog's first-known price is the best information there is), and says so in `--explain`.

What a call costs (integer picodollars): its tokens and units at that version's rates, plus the
event's own `cost_usd` (non-token charges). A cost the log itself reports (a gateway's or
provider's own figure) is used per `cost_source`: `auto` = computed when a price exists, else
the reported one; `computed` = never the reported one; `reported` = the reported one when present.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from margindash_cli.core.money import usd_to_pico
from margindash_cli.pricing.cost import CostBreakdown, cost_of, token_total
from margindash_cli.pricing.model import USER_SOURCE, PriceVersion
from margindash_cli.pricing.resolve import Resolution, Resolver

if TYPE_CHECKING:
    from margindash_cli.ingest.canonical import NormalizedEvent

COST_SOURCES = ("auto", "computed", "reported")
DAY_MS = 86_400_000  # one UTC day in epoch milliseconds: the span of a cached (model, day) price
_CHANGES_IN_DAY = object()  # a (model, day) whose price changes inside the day (or by time of day): not cached


@dataclass(frozen=True)
class StoredPrice:
    id: int
    effective_from: int  # epoch ms; 0 = since the beginning
    source: str
    version: PriceVersion


@dataclass
class Explanation:
    resolution: Resolution | None
    price: StoredPrice | None
    breakdown: CostBreakdown | None
    cost_pico: int | None
    basis: str  # "computed", "reported", "extra-only", "unpriced"


class _Timeline:
    """The versions of one (provider, model), split into user ones and the rest, sorted by start."""

    def __init__(self, prices: list[StoredPrice]):
        self.user = sorted((p for p in prices if p.source == USER_SOURCE), key=lambda p: (p.effective_from, p.id))
        self.other = sorted((p for p in prices if p.source != USER_SOURCE), key=lambda p: (p.effective_from, p.id))
        self._user_starts = [p.effective_from for p in self.user]
        self._other_starts = [p.effective_from for p in self.other]

    def same_all_day(self, day_start: int) -> bool:
        """Whether `at` gives one version for every millisecond of the UTC day from `day_start`: no version of
        either list starts inside it (`at` depends on ts only through where it falls among the starts)."""
        last = day_start + DAY_MS - 1
        return bisect.bisect_right(self._user_starts, day_start) == bisect.bisect_right(
            self._user_starts, last
        ) and bisect.bisect_right(self._other_starts, day_start) == bisect.bisect_right(self._other_starts, last)

    def at(self, ts_ms: int) -> StoredPrice | None:
        i = bisect.bisect_right(self._user_starts, ts_ms)
        if i:
            return self.user[i - 1]
        i = bisect.bisect_right(self._other_starts, ts_ms)
        if i:
            return self.other[i - 1]
        if self.other:
            return self.other[0]
        return self.user[0] if self.user else None


class Pricer:
    """Prices events; built once per command from the store's price versions and aliases.

    Versions are parsed lazily, per (provider, model), the first time a call needs them: a command
    that prices a handful of models does not parse the whole catalog.
    """

    def __init__(
        self,
        prices: list[tuple[str, str, Any]],
        aliases: dict[tuple[str | None, str], tuple[str, str]],
        cost_source: str = "auto",
        *,
        cache_days: bool = True,
    ):
        self._raw: dict[tuple[str, str], list[Any]] = defaultdict(list)
        for provider, model, sp in prices:
            self._raw[(provider, model)].append(sp)
        self._timelines: dict[tuple[str, str], _Timeline] = {}
        self.resolver = Resolver(self._raw.keys(), aliases)
        self.cost_source = cost_source
        self._resolved: dict[tuple[str, str], Resolution | None] = {}
        # (vendor, model, UTC day) -> the StoredPrice in force all that day, None (unpriced all day) or
        # _CHANGES_IN_DAY. None as a whole: no cache (tests price with and without it and compare).
        self._days: dict[tuple[str, str, int], Any] | None = {} if cache_days else None

    def timeline(self, provider: str, model: str) -> _Timeline:
        key = (provider, model)
        t = self._timelines.get(key)
        if t is None:
            t = self._timelines[key] = _Timeline([_stored(x) for x in self._raw[key]])
        return t

    def resolve(self, vendor: str, model: str) -> Resolution | None:
        key = (vendor, model)
        if key not in self._resolved:
            self._resolved[key] = self.resolver.resolve(vendor, model)
        return self._resolved[key]

    def price(self, ev: NormalizedEvent) -> tuple[int | None, int | None]:
        """(cost in picodollars, or None when unpriced; id of the price version used, or None)."""
        if ev.reported_cost is None and not ev.extra_cost and (ev.input_tokens or ev.output_tokens):
            # The hot path of ingest: a token-priced call with no costs of its own.
            days = self._days
            if days is not None:
                key = (ev.vendor, ev.model, ev.ts_ms // DAY_MS)
                try:
                    sp = days[key]
                except KeyError:
                    sp = self._price_of_day(key)
                if sp is None:
                    return None, None
                if sp is not _CHANGES_IN_DAY:
                    if not (
                        ev.units
                        or ev.input_audio_tokens
                        or ev.output_audio_tokens
                        or ev.output_image_tokens
                        or ev.cached_audio_tokens
                    ):
                        total = token_total(
                            sp.version,
                            ev.input_tokens,
                            ev.output_tokens,
                            ev.cached_input_tokens,
                            ev.cache_write_tokens,
                            ev.cache_write_1h_tokens,
                            ev.reasoning_tokens,
                            ev.service_tier,
                        )
                        if total is not None:
                            return total, sp.id
            res = self.resolve(ev.vendor, ev.model)
            if res is None:
                return None, None
            sp = self.timeline(res.provider, res.model).at(ev.ts_ms)
            if sp is None:
                return None, None
            version = sp.version
            if version.windows:  # a daily window (off-peak) prices the call by its UTC time of day
                version = version.at_time(ev.ts_ms)
            b = cost_of(
                version,
                input_tokens=ev.input_tokens,
                output_tokens=ev.output_tokens,
                cached_input_tokens=ev.cached_input_tokens,
                cache_write_tokens=ev.cache_write_tokens,
                cache_write_1h_tokens=ev.cache_write_1h_tokens,
                reasoning_tokens=ev.reasoning_tokens,
                input_audio_tokens=ev.input_audio_tokens,
                output_audio_tokens=ev.output_audio_tokens,
                output_image_tokens=ev.output_image_tokens,
                cached_audio_tokens=ev.cached_audio_tokens,
                service_tier=ev.service_tier,
                units=_units(ev.units),
            )
            return (None, None) if b is None else (b.total, sp.id)
        e = self.explain(ev.vendor, ev.model, ev.ts_ms, ev, with_breakdown=False)
        return e.cost_pico, (e.price.id if e.price and e.basis == "computed" else None)

    def _price_of_day(self, key: tuple[str, str, int]) -> Any:
        """The version that prices every call of (vendor, model) on a UTC day, None when it is unpriced all day,
        or _CHANGES_IN_DAY when a version starts inside the day or has daily windows (each call then takes the
        whole path, which picks the version at the call's millisecond)."""
        vendor, model, day = key
        res = self.resolve(vendor, model)
        if res is None:
            sp = None
        else:
            timeline = self.timeline(res.provider, res.model)
            if not timeline.same_all_day(day * DAY_MS):
                sp = _CHANGES_IN_DAY
            else:
                sp = timeline.at(day * DAY_MS)
                if sp is not None and sp.version.windows:
                    sp = _CHANGES_IN_DAY
        assert self._days is not None
        self._days[key] = sp
        return sp

    def explain(self, vendor: str, model: str, ts_ms: int, ev: Any, *, with_breakdown: bool = True) -> Explanation:
        """How a call is priced. `ev` has the canonical token fields, service_tier, units, extra_cost, reported_cost."""
        res = self.resolve(vendor, model)
        sp = self.timeline(res.provider, res.model).at(ts_ms) if res else None
        extra = usd_to_pico(ev.extra_cost) if isinstance(ev.extra_cost, str) else (ev.extra_cost or 0)
        reported = usd_to_pico(ev.reported_cost) if ev.reported_cost is not None else None
        needs_price = bool(ev.input_tokens or ev.output_tokens or ev.units)
        breakdown = None
        if sp is not None and needs_price:
            breakdown = cost_of(
                sp.version.at_time(ts_ms),
                input_tokens=ev.input_tokens,
                output_tokens=ev.output_tokens,
                cached_input_tokens=ev.cached_input_tokens,
                cache_write_tokens=ev.cache_write_tokens,
                cache_write_1h_tokens=ev.cache_write_1h_tokens,
                reasoning_tokens=ev.reasoning_tokens,
                input_audio_tokens=getattr(ev, "input_audio_tokens", 0),
                output_audio_tokens=getattr(ev, "output_audio_tokens", 0),
                output_image_tokens=getattr(ev, "output_image_tokens", 0),
                cached_audio_tokens=getattr(ev, "cached_audio_tokens", 0),
                service_tier=ev.service_tier,
                units=_units(ev.units),
            )
        # cost_of returns None when the version lacks a rate this call needs: unpriced, never $0.
        if reported is not None and (
            self.cost_source == "reported" or (self.cost_source == "auto" and breakdown is None)
        ):
            return Explanation(res, sp, breakdown, reported + extra, "reported")
        if breakdown is not None:
            return Explanation(res, sp, breakdown, breakdown.total + extra, "computed")
        if not needs_price:
            return Explanation(res, sp, None, extra, "extra-only")
        return Explanation(res, sp, None, None, "unpriced")


def _units(units: Any) -> dict[str, Any] | None:
    if not units:
        return None
    if isinstance(units, str):
        return orjson.loads(units)
    return units


def _stored(raw: Any) -> StoredPrice:
    if isinstance(raw, StoredPrice):
        return raw
    pid, eff, source, data = raw
    return StoredPrice(pid, eff, source, PriceVersion.from_dict(orjson.loads(data)))
