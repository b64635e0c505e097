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
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from margindash_cli.clients.fetch import FetchError, fetch
from margindash_cli.errors import MarginDashError
from margindash_cli.pricing.merge import SOURCE_RANK, by_key
from margindash_cli.pricing.model import PriceVersion
from margindash_cli.pricing.reprice import reprice
from margindash_cli.pricing.run import PriceBook, ensure_catalog, load_pricer
from margindash_cli.store.db import Store

# Named sources: default address and the env variable that overrides it (mirrors, tests).
SOURCES = {
    "litellm": (
        "https://raw.githubusercontent.com/BerriAI/litellm/main/model_prices_and_context_window.json",
        "MARGINDASH_PRICES_URL_LITELLM",
    ),
    "genai-prices": (
        "https://raw.githubusercontent.com/pydantic/genai-prices/refs/heads/main/prices/new_data/v2/data.json",
        "MARGINDASH_PRICES_URL_GENAI_PRICES",
    ),
    "openrouter": ("https://openrouter.ai/api/v1/models", "MARGINDASH_PRICES_URL_OPENROUTER"),
}
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
    from margindash_cli.pricing import sources  # lazy: start-up

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
            raise SyncError(
                f"{source}: not a known source, an http(s) URL or a readable file",
                "use litellm, genai-prices, openrouter, a URL or a FILE",
            )
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


def sync(store: Store, sources: list[str], *, now: datetime | None = None) -> dict[str, Any]:
    """Fetch, validate and record; all or nothing. Returns a JSON-ready summary."""
    now = now or datetime.now(UTC)
    loaded = []
    for source in sources:
        kind, address, obj, etag, not_modified = _load(source, store)
        if not_modified:
            loaded.append((source, kind, address, [], {}, etag, True))
            continue
        try:
            versions, aliases = parse(kind, obj)
        except (KeyError, TypeError, ValueError, ArithmeticError, AttributeError) as exc:
            raise SyncError(
                f"{source}: {address} could not be read as a {kind} list ({type(exc).__name__}: {exc})",
                "the catalog was left as it was",
            ) from None
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
        book = PriceBook(store, now)
        for i in order:
            source, kind, address, versions, aliases, etag, not_modified = loaded[i]
            r = SourceResult(source, address, kind, "not-modified" if not_modified else "unchanged", len(versions))
            for key, incoming in by_key(versions).items():
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
    repriced = reprice(store, load_pricer(store), only_unpriced=True)
    ordered = [results[i] for i in range(len(loaded))]
    return {
        "synced_at": now.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "sources": [r.__dict__ for r in ordered],
        "versions_added": sum(r.versions_added for r in ordered),
        "newly_priced_events": repriced.events_changed,
    }
