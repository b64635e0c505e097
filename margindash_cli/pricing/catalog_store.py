"""The price catalog inside a store: seeding from the shipped catalog, user prices and aliases, listings.

- The shipped catalog (margindash_cli/pricing/data/catalog.json) is copied into the store's `prices` table the first
  time a store is used. When another margindash ships another catalog, it is merged by the rules of
  `sync-prices` (pricing/sync.py): a changed price is a new version from the merge on, a version the
  store holds already is not news, so history already there never moves.
- User prices (`prices set`) are versions with source "user"; they win over every synced or shipped
  version in force at the same time (see `pricer`).
- Setting a price or an alias prices, at once, the stored calls that had no price.
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from margindash_cli.errors import UsageError
from margindash_cli.store.db import Store
from margindash_cli.pricing.model import PriceVersion, Rates
from margindash_cli.pricing.pricer import USER_SOURCE, load_pricer

CATALOG_META_KEY = "catalog_digest"  # meta key: hash of the shipped catalog last merged into this store
DISAGREEMENTS_FILE = "price_disagreements.json"  # shipped next to catalog.json by scripts/build_catalog.py


def ensure_catalog(store: Store) -> None:
    """Merge the shipped catalog into the store when the store has not seen this catalog version."""
    from margindash_cli.pricing.catalog import load_shipped_catalog

    digest = shipped_catalog_digest()
    if store.get_meta(CATALOG_META_KEY) == digest:
        return  # the usual case: a cheap check, no parsing of the catalog
    catalog = load_shipped_catalog()
    with store.write():
        if store.get_meta(CATALOG_META_KEY) == digest:  # another process merged it meanwhile
            return
        if store.prices.price_rows():
            # A store that already prices calls (a newer or older margindash): merged by the rules of
            # `sync-prices`, so a changed price applies from now on and stored calls keep theirs.
            from margindash_cli.pricing.sync import merge_shipped

            merge_shipped(store, catalog, datetime.now(timezone.utc))
        else:
            for version in catalog.all_versions():
                record_version(store, version)
            for (vendor, name), (provider, model) in catalog.aliases.items():
                if store.prices.alias_source(name, vendor) in (None, "catalog"):
                    store.prices.set_alias(name, vendor, provider, model, "catalog")
        store.set_meta(CATALOG_META_KEY, digest)


def shipped_catalog_digest() -> str:
    """A hash of the shipped catalog file: a new margindash with new prices has a new digest."""
    import hashlib
    from importlib import resources

    from margindash_cli.pricing.catalog import CATALOG_FILE, CATALOG_PACKAGE

    data = resources.files(CATALOG_PACKAGE).joinpath(CATALOG_FILE).read_bytes()
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def effective_ms(version: PriceVersion) -> int:
    return version.effective_from_ms or 0


def version_data(version: PriceVersion) -> str:
    """A version as the store keeps it: its JSON, keys sorted, so equal versions are equal text."""
    return orjson.dumps(version.to_dict(), option=orjson.OPT_SORT_KEYS).decode()


def holds_version(store: Store, version: PriceVersion) -> bool:
    return store.prices.has_price(version.provider, version.model, effective_ms(version), version.source, version_data(version))


def record_version(store: Store, version: PriceVersion) -> bool:
    """Add a version unless the store holds the same one already. Returns True when added."""
    data = version_data(version)
    eff = effective_ms(version)
    if store.prices.has_price(version.provider, version.model, eff, version.source, data):
        return False
    store.prices.add_price(version.provider, version.model, eff, version.source, data)
    return True


def _versions(store: Store) -> list[tuple[int, PriceVersion]]:
    return [(pid, PriceVersion.from_dict(orjson.loads(data))) for pid, _p, _m, _e, _s, data in store.prices.price_rows()]


def current_prices(store: Store, *, provider: str | None = None, search: str | None = None) -> list[PriceVersion]:
    """The version in force now of every (provider, model), user prices first, sorted by key."""
    ensure_catalog(store)
    now = effective_ms(PriceVersion("", "", effective_from=datetime.now(timezone.utc)))
    best: dict[tuple[str, str], tuple[tuple[int, int, int], PriceVersion]] = {}
    for pid, v in _versions(store):
        if provider and v.provider != provider.lower():
            continue
        if search and search.lower() not in v.model.lower():
            continue
        eff = effective_ms(v)
        if eff > now:
            continue
        rank = (v.source == USER_SOURCE, eff, pid)
        key = (v.provider, v.model)
        if key not in best or rank > best[key][0]:
            best[key] = (rank, v)
    return [best[k][1] for k in sorted(best)]


def price_json(v: PriceVersion) -> dict[str, Any]:
    return v.to_dict()


def show_model(store: Store, name: str) -> dict[str, Any]:
    """How `name` (or PROVIDER/MODEL) resolves, and every version of what it resolves to."""
    pricer = load_pricer(store)
    vendor, model = _split_key(name, required=False)
    res = pricer.resolve(vendor or "unknown", model) if vendor else pricer.resolve("unknown", model)
    out: dict[str, Any] = {"query": name, "resolved": None, "versions": []}
    if res is None:
        return out
    out["resolved"] = {"provider": res.provider, "model": res.model, "how": res.how}
    timeline = pricer.timeline(res.provider, res.model)
    for sp in sorted(timeline.user + timeline.other, key=lambda s: (s.effective_from, s.id)):
        out["versions"].append({"id": sp.id, "source": sp.source, **sp.version.to_dict()})
    out["benchmarks"] = _benchmarks(res.provider, res.model, pricer.resolver.aliases)
    return out


def _benchmarks(provider: str, model: str, aliases: Any) -> dict[str, Any] | None:
    """The model's benchmark scores (margindash_cli/pricing/data/benchmarks.csv), each with its source; None = none."""
    from margindash_cli.pricing.benchmarks import load_benchmarks

    found = load_benchmarks().find(provider, model, aliases)
    if found is None:
        return None
    (p, m), scores = found
    return {"scores_of": f"{p}/{m}", "scores": [s.to_json() for _, s in sorted(scores.items())]}


def _split_key(key: str, *, required: bool = True) -> tuple[str | None, str]:
    provider, sep, model = key.partition("/")
    if not sep or not provider or not model:
        if required:
            raise UsageError(f"{key!r} is not PROVIDER/MODEL", "e.g. openai/gpt-4o or self-hosted/llama-3-70b")
        return None, key
    return provider.strip().lower(), model.strip()


def _decimal(value: str, option: str) -> Decimal:
    try:
        d = Decimal(value)
    except InvalidOperation:
        raise UsageError(f"{option} {value!r} is not a number") from None
    if not d.is_finite() or d < 0:
        raise UsageError(f"{option} must be a non-negative amount, got {value!r}")
    return d


def set_user_price(store: Store, key: str, *, rates: dict[str, str | None], per_request: str | None, per_unit: list[str],
                   context_window: int | None, effective_from: str | None) -> dict[str, Any]:  # fmt: skip
    """Record a user price version, then price the calls that had no price."""
    provider, model = _split_key(key)
    assert provider is not None
    parsed = {k: _decimal(v, "--" + k.replace("_5m", "").replace("_", "-")) for k, v in rates.items() if v is not None}
    units: dict[str, Decimal] = {}
    if per_request is not None:
        units["requests"] = _decimal(per_request, "--per-request")
    for spec in per_unit:
        unit, sep, amount = spec.partition("=")
        if not sep or not unit.strip():
            raise UsageError(f"--per-unit {spec!r}: expected UNIT=USD, e.g. images=0.04")
        units[unit.strip()] = _decimal(amount, "--per-unit")
    if not parsed and not units:
        raise UsageError("no price given", "pass at least --input/--output, --per-request or --per-unit")
    eff = None
    if effective_from:
        try:
            eff = datetime.fromisoformat(effective_from).replace(tzinfo=timezone.utc)
        except ValueError:
            raise UsageError(f"--effective-from {effective_from!r} is not a date", "use YYYY-MM-DD") from None
    version = PriceVersion(provider=provider, model=model, effective_from=eff, source=USER_SOURCE, base=Rates(**parsed),
                           units=units, context_window=context_window)  # fmt: skip
    with store.write():
        record_version(store, version)
    return {**version.to_dict(), "effective_from": effective_from, "repriced": _price_unpriced(store)}


def set_user_alias(store: Store, name: str, target: str, vendor: str | None) -> dict[str, Any]:
    """Price `name` as the catalog model `target` (PROVIDER/MODEL), then price the calls that had no price."""
    provider, model = _split_key(target)
    assert provider is not None
    ensure_catalog(store)
    if not any(p == provider and m == model for _pid, p, m, _e, _s, _d in store.prices.price_rows()):
        # The resolver ignores an alias to a key with no price: refuse it rather than record a dead alias.
        raise UsageError(f"no price for {provider}/{model}", "pick a PROVIDER/MODEL from `margindash prices list`, "
                         "or set one with `margindash prices set`")  # fmt: skip
    with store.write():
        store.prices.set_alias(name, (vendor or "").lower() or None, provider, model, USER_SOURCE)
    return {"name": name, "provider": provider, "model": model, "repriced": _price_unpriced(store)}


def load_disagreements() -> list[dict[str, Any]]:
    """The shipped list of models whose price differs between the sources (margindash_cli/pricing/data/price_disagreements.json)."""
    from importlib import resources

    from margindash_cli.pricing.catalog import CATALOG_PACKAGE, CatalogError

    try:
        data = resources.files(CATALOG_PACKAGE).joinpath(DISAGREEMENTS_FILE).read_bytes()
        return list(orjson.loads(data)["disagreements"])
    except (FileNotFoundError, ModuleNotFoundError, KeyError, orjson.JSONDecodeError) as exc:
        raise CatalogError(f"the shipped list of price disagreements is missing or unreadable ({type(exc).__name__})",
                           "reinstall margindash; maintainers: run scripts/build_catalog.py") from None  # fmt: skip


def _price_unpriced(store: Store) -> dict[str, Any]:
    from margindash_cli.pricing.reprice import reprice

    r = reprice(store, load_pricer(store), only_unpriced=True)
    return {"events_changed": r.events_changed, "new_total_pico": r.new_total_pico}

