"""`sync-prices`: fetch public price lists and record what changed, without ever moving history.

- Every source is fetched (timeouts, retries with backoff, ETag revalidation) and parsed before
  anything is written; if any fetch or parse fails, nothing is recorded and the error says why.
- A price that differs from the latest version of the same (provider, model, source) is recorded
  as a new version effective from the sync time, so calls before it keep the price they had.
  A dated version the source publishes (genai-prices history) is recorded at its own date when the
  store has nothing at that date.
- After recording, calls that had no price are priced with what arrived.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import orjson

from ..errors import MarginDashError
from ..fetch import FetchError, fetch
from ..store import Store
from .catalog_store import effective_ms, ensure_catalog, record_version
from .model import PriceVersion

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
    from . import sources

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


def _content(v: PriceVersion) -> dict[str, Any]:
    d = v.to_dict()
    d.pop("effective_from", None)
    return d


def sync(store: Store, sources: list[str], *, now: datetime | None = None) -> dict[str, Any]:
    """Fetch, validate and record; all or nothing. Returns a JSON-ready summary."""
    ensure_catalog(store)
    now = now or datetime.now(timezone.utc)
    loaded = []
    for source in sources:
        kind, address, obj, etag, not_modified = _load(source, store)
        if not_modified:
            loaded.append((source, kind, address, [], {}, etag, True))
            continue
        try:
            versions, aliases = parse(kind, obj)
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            raise SyncError(f"{source}: {address} could not be read as a {kind} list ({type(exc).__name__}: {exc})",
                            "the catalog was left as it was") from None  # fmt: skip
        if len(versions) < MIN_PRICES:
            raise SyncError(f"{source}: {address} holds no prices", "the catalog was left as it was")
        loaded.append((source, kind, address, versions, aliases, etag, False))

    results: list[SourceResult] = []
    with store.write():
        latest = _latest_by_key(store)
        for source, kind, address, versions, aliases, etag, not_modified in loaded:
            r = SourceResult(source, address, kind, "not-modified" if not_modified else "unchanged", len(versions))
            for v in versions:
                key = (v.provider, v.model, v.source)
                known = latest.get(key)
                if v.effective_from is not None:  # a dated version the source publishes
                    if known and effective_ms(v) in known[1]:
                        if _content(known[1][effective_ms(v)]) == _content(v):
                            continue
                        v = _from_now(v, now)  # the source corrected a past price: record it from now on
                    elif known and effective_ms(v) <= known[0]:
                        continue  # never insert a version before the latest one: that would move history
                elif known:  # the source's current price
                    if _content(known[2]) == _content(v):
                        continue
                    v = _from_now(v, now)
                # else: a model this store has never had a price for: its price applies to all its calls
                if record_version(store, v):
                    r.versions_added += 1
                    r.changed_models.append(f"{v.provider}/{v.model}")
            for (vendor, name), (provider, model) in aliases.items():
                if store.alias_source(name, vendor) in (None, "catalog"):
                    store.set_alias(name, vendor, provider, model, "catalog")
            if r.versions_added:
                r.status = "updated"
            if etag:
                store.set_meta(f"etag:{address}", etag)
            results.append(r)
        store.set_meta("last_price_sync", now.isoformat(timespec="seconds"))
    from ..repricing import reprice
    from .pricer import load_pricer

    repriced = reprice(store, load_pricer(store), only_unpriced=True)
    return {
        "synced_at": now.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "sources": [r.__dict__ for r in results],
        "versions_added": sum(r.versions_added for r in results),
        "newly_priced_events": repriced.events_changed,
    }


def _from_now(v: PriceVersion, now: datetime) -> PriceVersion:
    from dataclasses import replace

    return replace(v, effective_from=now)


def _latest_by_key(store: Store) -> dict[tuple[str, str, str], tuple[int, dict[int, PriceVersion], PriceVersion]]:
    """Per (provider, model, source): (latest start, versions by start, the latest version)."""
    out: dict[tuple[str, str, str], tuple[int, dict[int, PriceVersion], PriceVersion]] = {}
    for _pid, provider, model, eff, source, data in sorted(store.price_rows(), key=lambda r: (r[3], r[0])):
        v = PriceVersion.from_dict(orjson.loads(data))
        key = (provider, model, source)
        _, by_start, _ = out.get(key, (0, {}, v))
        by_start[eff] = v
        out[key] = (eff, by_start, v)
    return out
