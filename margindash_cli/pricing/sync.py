"""`sync-prices`: fetch public price lists and record what changed, without ever moving history.

- Every source is fetched (timeouts, retries with backoff, ETag revalidation) and parsed before
  anything is written (the shipped catalog is not even seeded before that); if any fetch or parse
  fails, nothing is recorded and the error says why.
- Per (provider, model), a source's current price is compared with the price in force now (whatever
  source it came from), on what the source states. If it differs, it is recorded as a new version
  effective from the sync time, so calls before it keep the price they had. A version never goes in
  before one the store holds: a source's corrected past price is ignored, its current one counts.
- A dated version the source publishes (genai-prices history) that starts after every version the
  store holds for the model is recorded at its own date.
- A model the store has no price for is recorded with all its versions at their own dates: its price
  applies to all its calls.
- Sources rank genai-prices > LiteLLM > OpenRouter, as in the shipped catalog: a lower-ranked source
  never overrides the price of a better-ranked one, and none overrides a reviewed override of the
  shipped catalog (source "override"). A user's own prices are never touched.
- After recording, calls that had no price are priced with what arrived.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import orjson

from margindash_cli.errors import MarginDashError
from margindash_cli.clients.fetch import FetchError, fetch
from margindash_cli.store.db import Store
from margindash_cli.pricing.catalog_store import effective_ms, ensure_catalog, holds_version, record_version
from margindash_cli.pricing.model import RATE_FIELDS, SERVICE_TIERS, PriceVersion, Rates
from margindash_cli.pricing.pricer import USER_SOURCE

# Named sources: default address and the env variable that overrides it (mirrors, tests).
SOURCES = {
    "litellm": ("https://raw.githubusercontent.com/BerriAI/litellm/main/model_prices_and_context_window.json",
                "MARGINDASH_PRICES_URL_LITELLM"),
    "genai-prices": ("https://raw.githubusercontent.com/pydantic/genai-prices/refs/heads/main/prices/new_data/v2/data.json",
                     "MARGINDASH_PRICES_URL_GENAI_PRICES"),
    "openrouter": ("https://openrouter.ai/api/v1/models", "MARGINDASH_PRICES_URL_OPENROUTER"),
}  # fmt: skip
MIN_PRICES = 1  # a parsed list with fewer prices than this is refused as empty


class SyncError(MarginDashError):
    pass


@dataclass
class SourceResult:
    source: str
    address: str
    kind: str
    status: str  # "updated", "unchanged" (nothing differed), "not-modified" (304)
    prices_read: int = 0
    versions_added: int = 0
    changed_models: list[str] = field(default_factory=list)


def _address(source: str) -> tuple[str, str]:
    """(kind hint or '', address) of a --source value."""
    if source in SOURCES:
        default, env = SOURCES[source]
        return source, os.environ.get(env) or default
    return "", source


def detect_kind(obj: Any) -> str:
    """Which public list a parsed JSON document is."""
    if isinstance(obj, list) and obj and isinstance(obj[0], dict) and "models" in obj[0]:
        return "genai-prices"
    if isinstance(obj, dict) and isinstance(obj.get("providers"), list):
        return "genai-prices"
    if isinstance(obj, dict) and isinstance(obj.get("data"), list):
        return "openrouter"
    if isinstance(obj, dict) and any(isinstance(v, dict) and "litellm_provider" in v for v in list(obj.values())[:50]):
        return "litellm"
    raise SyncError("not a known price list (LiteLLM map, genai-prices data or OpenRouter models)")


def parse(kind: str, obj: Any) -> tuple[list[PriceVersion], dict[tuple[str | None, str], tuple[str, str]]]:
    from margindash_cli.pricing import sources

    if kind == "litellm":
        return sources.parse_litellm(obj), {}
    if kind == "genai-prices":
        versions, aliases = sources.parse_genai_prices(obj)
        return versions, {(provider, alias): (provider, model) for provider, alias, model in aliases}
    return sources.parse_openrouter(obj), {}


def _load(source: str, store: Store) -> tuple[str, str, Any, str | None, bool]:
    """(kind, address, parsed JSON or None when not modified, new etag, not_modified)."""
    kind, address = _address(source)
    if address.startswith(("http://", "https://")):
        etag = store.get_meta(f"etag:{address}")
        try:
            got = fetch(address, etag=etag)
        except FetchError as exc:
            raise SyncError(f"{source}: {exc.message}", exc.hint) from None
        if got.status == 304:
            return kind, address, None, etag, True
        body, new_etag = got.body or b"", got.etag
    else:
        path = Path(address)
        if not path.is_file():
            raise SyncError(f"{source}: not a known source, an http(s) URL or a readable file",
                            "use litellm, genai-prices, openrouter, a URL or a FILE")  # fmt: skip
        body, new_etag = path.read_bytes(), None
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise SyncError(f"{source}: {address} is not valid JSON ({exc})", "the catalog was left as it was") from None
    try:
        detected = detect_kind(obj)
    except SyncError as exc:
        raise SyncError(f"{source}: {address}: {exc.message}") from None
    if kind and kind != detected:
        raise SyncError(f"{source}: {address} looks like a {detected} list, not {kind}")
    return detected, address, obj, new_etag, False


# Which source's price stands when two sources disagree on a model: genai-prices, then LiteLLM, then
# OpenRouter (the shipped catalog's rule); OpenRouter's own list wins for OpenRouter's own models. A price
# the shipped catalog took from its reviewed overrides (margindash_cli/pricing/data/overrides.json, source "override") was
# checked by hand against the provider's page where the lists are wrong: no list replaces it.
SOURCE_RANK = {"override": 5, "genai-prices": 3, "litellm": 2, "openrouter": 1}


def _rank(source: str, provider: str) -> int:
    if source == "openrouter" and provider == "openrouter":
        return 4
    return SOURCE_RANK.get(source, 0)


def sync(store: Store, sources: list[str], *, now: datetime | None = None) -> dict[str, Any]:
    """Fetch, validate and record; all or nothing. Returns a JSON-ready summary."""
    now = now or datetime.now(timezone.utc)
    loaded = []
    for source in sources:
        kind, address, obj, etag, not_modified = _load(source, store)
        if not_modified:
            loaded.append((source, kind, address, [], {}, etag, True))
            continue
        try:
            versions, aliases = parse(kind, obj)
        except (KeyError, TypeError, ValueError, ArithmeticError, AttributeError) as exc:
            raise SyncError(f"{source}: {address} could not be read as a {kind} list ({type(exc).__name__}: {exc})",
                            "the catalog was left as it was") from None  # fmt: skip
        if len(versions) < MIN_PRICES:
            raise SyncError(f"{source}: {address} holds no prices", "the catalog was left as it was")
        loaded.append((source, kind, address, versions, aliases, etag, False))

    # Seeded only once every source has been fetched and read: a failed sync leaves the store as it was.
    ensure_catalog(store)
    results: dict[int, SourceResult] = {}
    # The best-ranked source is recorded first, so a model new to the store that two sources list
    # gets the better source's price from the beginning, and the other one cannot override it.
    order = sorted(range(len(loaded)), key=lambda i: -SOURCE_RANK.get(loaded[i][1], 0))
    with store.write():
        book = _PriceBook(store, now)
        for i in order:
            source, kind, address, versions, aliases, etag, not_modified = loaded[i]
            r = SourceResult(source, address, kind, "not-modified" if not_modified else "unchanged", len(versions))
            for key, incoming in _by_key(versions).items():
                for v in book.to_record(key, incoming):
                    if book.record(v):
                        r.versions_added += 1
                        if f"{v.provider}/{v.model}" not in r.changed_models:
                            r.changed_models.append(f"{v.provider}/{v.model}")
            for (vendor, name), target in aliases.items():
                book.set_alias(vendor, name, target)
            if r.versions_added:
                r.status = "updated"
            if etag:
                store.set_meta(f"etag:{address}", etag)
            results[i] = r
        store.set_meta("last_price_sync", now.isoformat(timespec="seconds"))
    from margindash_cli.pricing.reprice import reprice
    from margindash_cli.pricing.pricer import load_pricer

    repriced = reprice(store, load_pricer(store), only_unpriced=True)
    ordered = [results[i] for i in range(len(loaded))]
    return {
        "synced_at": now.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "sources": [r.__dict__ for r in ordered],
        "versions_added": sum(r.versions_added for r in ordered),
        "newly_priced_events": repriced.events_changed,
    }


def merge_shipped(store: Store, catalog: Any, now: datetime) -> int:
    """Merge a shipped catalog into a store that already holds prices (inside a write transaction), by
    the rules of a sync. A model whose every shipped version the store holds already is skipped: an
    older margindash's catalog is not news. Returns how many versions were added."""
    book = _PriceBook(store, now)
    added = 0
    for key, versions in catalog.versions.items():
        incoming = sorted(versions, key=effective_ms)
        if all(holds_version(store, v) for v in incoming):
            continue
        for v in book.to_record(key, incoming):
            added += book.record(v)
    for (vendor, name), target in catalog.aliases.items():
        book.set_alias(vendor, name, target)
    return added


def _by_key(versions: list[PriceVersion]) -> dict[tuple[str, str], list[PriceVersion]]:
    """A source's versions per (provider, model), ordered by start (since-the-beginning first)."""
    out: dict[tuple[str, str], list[PriceVersion]] = {}
    for v in versions:
        out.setdefault((v.provider, v.model), []).append(v)
    for vs in out.values():
        vs.sort(key=effective_ms)
    return out


def _in_force(timeline: list[tuple[int, PriceVersion]], ts_ms: int) -> PriceVersion:
    """The version in force at ts_ms, as the pricer picks it (the last to start, the latest recorded on a
    tie; before every start, the earliest)."""
    started = [v for eff, v in timeline if eff <= ts_ms]
    return started[-1] if started else timeline[0][1]


class _PriceBook:
    """The store's synced and shipped versions per (provider, model), kept up to date while a sync records."""

    def __init__(self, store: Store, now: datetime):
        from margindash_cli.pricing.resolve import Resolver

        self.store, self.now = store, now
        self.now_ms = effective_ms(_from_now(PriceVersion("", ""), now))
        self.timelines: dict[tuple[str, str], list[tuple[int, PriceVersion]]] = {}
        keys = set()
        # Ordered by start, then by when recorded: the order the pricer reads them in.
        for _pid, provider, model, eff, source, data in sorted(store.prices.price_rows(), key=lambda r: (r[3], r[0])):
            keys.add((provider, model))
            if source != USER_SOURCE:  # a user's own prices are theirs: a sync never compares with them
                self.timelines.setdefault((provider, model), []).append((eff, PriceVersion.from_dict(orjson.loads(data))))
        self.user_only = keys - self.timelines.keys()
        aliases = {(vendor or None, name): (provider, model) for name, vendor, provider, model in store.prices.alias_rows()}
        # How names resolved before this sync: what the calls already stored were priced with.
        self.resolver = Resolver(keys, aliases)

    def record(self, v: PriceVersion) -> bool:
        if not record_version(self.store, v):
            return False
        timeline = self.timelines.setdefault((v.provider, v.model), [])
        timeline.append((effective_ms(v), v))
        timeline.sort(key=lambda e: e[0])  # stable: on a tie the later-recorded stays last
        return True

    def to_record(self, key: tuple[str, str], incoming: list[PriceVersion]) -> list[PriceVersion]:
        """What to record of one source's versions of one model, so that no stored call changes price.

        - A model priced under its own key: see `_changes`.
        - A name already priced through another key (an alias, a normalized id, the maker's price): if
          the source's price differs, the versions that priced it so far are copied to its own key and the
          source's price follows from now; if not, nothing. A user's alias or a better-ranked source's
          alias stands. A name only the user prices is left to the user.
        - A name nothing prices: every version at its own start (its price applies to all its calls).
        """
        timeline = self.timelines.get(key)
        if timeline:
            return _changes(timeline, incoming, self.now, self.now_ms)
        if key in self.user_only:
            return []
        res = self.resolver.resolve(*key)
        held_key = None if res is None else (res.provider, res.model)
        if held_key is None or held_key == key:
            return list(incoming)
        if held_key not in self.timelines:  # priced by a user's own price only
            return []
        held_timeline = self.timelines[held_key]
        held = _in_force(held_timeline, self.now_ms)
        current = _current(incoming, self.now_ms)
        if res.how == "alias":
            alias_source = self.store.prices.alias_source(key[1], key[0]) or self.store.prices.alias_source(key[1], None)
            if alias_source == USER_SOURCE or _rank(current.source, key[0]) < _rank(held.source, key[0]):
                return []
        if _same_price(current, held):
            return []
        copies = [replace(v, provider=key[0], model=key[1]) for _, v in held_timeline]
        return copies + [_from_now(current, self.now, held)]

    def set_alias(self, vendor: str | None, name: str, target: tuple[str, str]) -> None:
        """A source's alias, unless the user set that name, or it would re-price calls already priced otherwise."""
        if self.store.prices.alias_source(name, vendor) not in (None, "catalog"):
            return
        res = self.resolver.resolve(vendor, name)
        if res is not None and (res.provider, res.model) != tuple(target):
            return
        self.store.prices.set_alias(name, vendor, target[0], target[1], "catalog")


def _current(incoming: list[PriceVersion], now_ms: int) -> PriceVersion:
    """A source's version of a model in force now (its earliest when all start later)."""
    return next((v for v in reversed(incoming) if effective_ms(v) <= now_ms), incoming[0])


def _changes(timeline: list[tuple[int, PriceVersion]], incoming: list[PriceVersion], now: datetime,
             now_ms: int) -> list[PriceVersion]:  # fmt: skip
    """What to record of one source's versions of a model the store prices under its own key.

    - Priced by a better-ranked source: nothing (that source's price stands).
    - A dated version the source publishes that starts after every version the store holds: at its own date.
    - Otherwise the source's current price, when it differs from the price in force now: from now on.
    """
    held = _in_force(timeline, now_ms)
    provider = incoming[0].provider
    if _rank(incoming[0].source, provider) < _rank(held.source, provider):
        return []
    current = _current(incoming, now_ms)
    latest = max(eff for eff, _ in timeline)
    out = [v for v in incoming if v.effective_from is not None and effective_ms(v) > latest]
    if current in out or _same_price(current, held):
        return out
    return out + [_from_now(current, now, held)]


def _same_rates(new: Rates | None, old: Rates | None) -> bool:
    """True when every rate `new` states is the rate `old` has (a rate `new` leaves out is not a change)."""
    if new is None:
        return True
    if old is None:
        return new.is_empty()
    return all(getattr(new, f) is None or getattr(new, f) == getattr(old, f) for f in RATE_FIELDS)


def _same_price(new: PriceVersion, old: PriceVersion) -> bool:
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
            if not _same_rates(a.rates, b.rates) or any(not _same_rates(getattr(a, s), getattr(b, s)) for s in SERVICE_TIERS):
                return False
    return all(old.units.get(unit) == price for unit, price in new.units.items())


def _from_now(v: PriceVersion, now: datetime, held: PriceVersion | None = None) -> PriceVersion:
    """`v` effective from `now`; a context window or max output it leaves out is kept from `held`."""
    if held is None:
        return replace(v, effective_from=now)
    return replace(v, effective_from=now, context_window=v.context_window or held.context_window,
                   max_output=v.max_output or held.max_output)  # fmt: skip
