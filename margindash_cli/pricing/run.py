"""Pricing's store side: the catalog inside a store (seeding, user prices and aliases, listings) and `load_pricer`.

- `load_pricer` / `LazyPricer`: a `Pricer` (pricer.py, pure) over the store's versions and aliases. Loading
  seeds the shipped catalog on first use (`ensure_catalog`); inside a caller's write transaction the seeding
  joins it, otherwise it is one write of its own.
- `PriceBook` records a price list into the store by the rules of merge.py (pure); sync.py and
  `merge_shipped` use it.

- The shipped catalog (margindash_cli/pricing/data/catalog.json) is copied into the store's `prices` table the first
  time a store is used. When another margindash ships another catalog, it is merged by the rules of
  `sync-prices` (pricing/merge.py): a changed price is a new version from the merge on, a version the
  store holds already is not news, so history already there never moves.
- User prices (`prices set`) are versions with source "user"; they win over every synced or shipped
  version in force at the same time (see `pricer`).
- Setting a price or an alias prices, at once, the stored calls that had no price.
- Removing a user price (`remove_user_price`) first re-prices the calls it priced with every other version
  (the same reprice path, so the rollups stay equal to the events), then deletes it: a crash in between
  leaves it stored and a second `prices rm` finishes.
"""

from __future__ import annotations

import hashlib
from contextlib import nullcontext
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from importlib import resources
from typing import TYPE_CHECKING, Any

import orjson

from margindash_cli.errors import UsageError
from margindash_cli.pricing import catalog as pricing_catalog
from margindash_cli.pricing import merge
from margindash_cli.pricing.benchmarks import load_benchmarks
from margindash_cli.pricing.catalog import CATALOG_FILE, CATALOG_PACKAGE, CatalogError
from margindash_cli.pricing.model import USER_SOURCE, PriceVersion, Rates, effective_ms, version_data
from margindash_cli.pricing.pricer import Pricer
from margindash_cli.pricing.reprice import reprice
from margindash_cli.pricing.resolve import Resolver
from margindash_cli.store.db import Store

if TYPE_CHECKING:
    from margindash_cli.ingest.canonical import NormalizedEvent

CATALOG_META_KEY = "catalog_digest"  # meta key: hash of the shipped catalog last merged into this store
DISAGREEMENTS_FILE = "price_disagreements.json"  # shipped next to catalog.json by scripts/build_catalog.py


def ensure_catalog(store: Store) -> None:
    """Merge the shipped catalog into the store when the store has not seen this catalog version."""
    digest = shipped_catalog_digest()
    if store.get_meta(CATALOG_META_KEY) == digest:
        return  # the usual case: a cheap check, no parsing of the catalog
    catalog = pricing_catalog.load_shipped_catalog()
    # Inside a caller's write transaction (a fresh store priced mid-write), the seeding joins it: SQLite
    # cannot open a transaction within a transaction. Otherwise it is a write of its own.
    with nullcontext() if store.conn.in_transaction else store.write():
        if store.get_meta(CATALOG_META_KEY) == digest:  # another process merged it meanwhile
            return
        if store.prices.price_rows():
            # A store that already prices calls (a newer or older margindash): merged by the rules of
            # `sync-prices`, so a changed price applies from now on and stored calls keep theirs.
            merge_shipped(store, catalog, datetime.now(UTC))
        else:
            for version in catalog.all_versions():
                record_version(store, version)
            for (vendor, name), (provider, model) in catalog.aliases.items():
                if store.prices.alias_source(name, vendor) in (None, "catalog"):
                    store.prices.set_alias(name, vendor, provider, model, "catalog")
        store.set_meta(CATALOG_META_KEY, digest)


def shipped_catalog_digest() -> str:
    """A hash of the shipped catalog file: a new margindash with new prices has a new digest."""

    data = resources.files(CATALOG_PACKAGE).joinpath(CATALOG_FILE).read_bytes()
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def holds_version(store: Store, version: PriceVersion) -> bool:
    return store.prices.has_price(
        version.provider, version.model, effective_ms(version), version.source, version_data(version)
    )


def record_version(store: Store, version: PriceVersion) -> bool:
    """Add a version unless the store holds the same one already. Returns True when added."""
    data = version_data(version)
    eff = effective_ms(version)
    if store.prices.has_price(version.provider, version.model, eff, version.source, data):
        return False
    store.prices.add_price(version.provider, version.model, eff, version.source, data)
    return True


def _versions(store: Store) -> list[tuple[int, PriceVersion]]:
    return [
        (pid, PriceVersion.from_dict(orjson.loads(data))) for pid, _p, _m, _e, _s, data in store.prices.price_rows()
    ]


def current_prices(store: Store, *, provider: str | None = None, search: str | None = None) -> list[PriceVersion]:
    """The version in force now of every (provider, model), user prices first, sorted by key."""
    ensure_catalog(store)
    now = effective_ms(PriceVersion("", "", effective_from=datetime.now(UTC)))
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


def set_user_price(
    store: Store,
    key: str,
    *,
    rates: dict[str, str | None],
    per_request: str | None,
    per_unit: list[str],
    context_window: int | None,
    effective_from: str | None,
) -> dict[str, Any]:
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
    # A token price needs both rates: a forgotten --output would bill every output token at $0 without a word.
    missing = [f"--{k}" for k in ("input", "output") if parsed and k not in parsed]
    if missing:
        raise UsageError(
            f"{' and '.join(missing)} not given: a token price needs both --input and --output",
            f"pass {missing[0]} RATE, or {missing[0]} 0 if the model really bills nothing for those tokens",
        )
    eff = None
    if effective_from:
        try:
            eff = datetime.fromisoformat(effective_from).replace(tzinfo=UTC)
        except ValueError:
            raise UsageError(f"--effective-from {effective_from!r} is not a date", "use YYYY-MM-DD") from None
    version = PriceVersion(
        provider=provider,
        model=model,
        effective_from=eff,
        source=USER_SOURCE,
        base=Rates(**parsed),
        units=units,
        context_window=context_window,
    )
    with store.write():
        record_version(store, version)
    repriced = _price_unpriced(store)
    pricer = load_pricer(store)
    matched = any(
        (res := pricer.resolve(vendor, name)) is not None and (res.provider, res.model) == (provider, model)
        for vendor, name in store.events.model_names().values()
    )
    return {**version.to_dict(), "effective_from": effective_from, "repriced": repriced, "stored_calls": matched}


def remove_user_price(store: Store, key: str, *, effective_from: str | None) -> dict[str, Any]:
    """Remove the user versions of PROVIDER/MODEL (only the one from `effective_from` when given), re-pricing
    the calls they priced with the versions left. Shipped and synced versions are refused."""
    provider, model = _split_key(key)
    assert provider is not None
    eff_ms = None
    if effective_from:
        try:
            eff_ms = int(datetime.fromisoformat(effective_from).replace(tzinfo=UTC).timestamp() * 1000)
        except ValueError:
            raise UsageError(f"--effective-from {effective_from!r} is not a date", "use YYYY-MM-DD") from None
    ensure_catalog(store)
    rows = [r for r in store.prices.price_rows() if (r.provider, r.model) == (provider, model)]
    user = [r for r in rows if r.source == USER_SOURCE and (eff_ms is None or r.effective_from == eff_ms)]
    if not user:
        if any(r.source == USER_SOURCE for r in rows):
            raise UsageError(
                f"no price of yours for {provider}/{model} takes effect on {effective_from}",
                f"see its versions with `margindash prices show {provider}/{model}`",
            )
        if rows:
            raise UsageError(
                f"the prices of {provider}/{model} are {', '.join(sorted({r.source for r in rows}))} prices, not set"
                " with `prices set`: only your own can be removed",
                f"set your own with `margindash prices set {provider}/{model} ...`; it wins over them",
            )
        raise UsageError(f"no price for {provider}/{model}", "see the prices you set with `margindash prices list`")
    gone = {r.id for r in user}
    prices = [(r.provider, r.model, (r.id, r.effective_from, r.source, r.data)) for r in store.prices.price_rows()]
    aliases = {(vendor or None, name): (p, m) for name, vendor, p, m in store.prices.alias_rows()}
    without = Pricer([x for x in prices if x[2][0] not in gone], aliases)
    r = reprice(store, without, price_ids=gone)
    with store.write():
        store.prices.remove_prices(sorted(gone))
    return {
        "provider": provider,
        "model": model,
        "removed": [
            {
                "effective_from": None
                if v.effective_from == 0
                else datetime.fromtimestamp(v.effective_from / 1000, UTC).date().isoformat()
            }
            for v in user
        ],
        "repriced": {
            "events_changed": r.events_changed,
            "newly_unpriced": r.newly_unpriced,
            "old_total_pico": r.old_total_pico,
            "new_total_pico": r.new_total_pico,
        },
    }


def set_user_alias(store: Store, name: str, target: str, vendor: str | None) -> dict[str, Any]:
    """Price `name` as the catalog model `target` (PROVIDER/MODEL), then price the calls that had no price."""
    provider, model = _split_key(target)
    assert provider is not None
    ensure_catalog(store)
    if not any(p == provider and m == model for _pid, p, m, _e, _s, _d in store.prices.price_rows()):
        # The resolver ignores an alias to a key with no price: refuse it rather than record a dead alias.
        raise UsageError(
            f"no price for {provider}/{model}",
            "pick a PROVIDER/MODEL from `margindash prices list`, or set one with `margindash prices set`",
        )
    with store.write():
        store.prices.set_alias(name, (vendor or "").lower() or None, provider, model, USER_SOURCE)
    return {"name": name, "provider": provider, "model": model, "repriced": _price_unpriced(store)}


def load_disagreements() -> list[dict[str, Any]]:
    """The shipped list of models whose price differs between the sources (margindash_cli/pricing/data/price_disagreements.json)."""

    try:
        data = resources.files(CATALOG_PACKAGE).joinpath(DISAGREEMENTS_FILE).read_bytes()
        return list(orjson.loads(data)["disagreements"])
    except (FileNotFoundError, ModuleNotFoundError, KeyError, orjson.JSONDecodeError) as exc:
        raise CatalogError(
            f"the shipped list of price disagreements is missing or unreadable ({type(exc).__name__})",
            "reinstall margindash; maintainers: run scripts/build_catalog.py",
        ) from None


def _price_unpriced(store: Store) -> dict[str, Any]:
    r = reprice(store, load_pricer(store), only_unpriced=True)
    return {"events_changed": r.events_changed, "new_total_pico": r.new_total_pico}


def merge_shipped(store: Store, catalog: Any, now: datetime) -> int:
    """Merge a shipped catalog into a store that already holds prices (inside a write transaction), by
    the rules of a sync. A model whose every shipped version the store holds already is skipped: an
    older margindash's catalog is not news. Returns how many versions were added."""
    book = PriceBook(store, now)
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


class PriceBook:
    """The store's synced and shipped versions per (provider, model), kept up to date while a sync records."""

    def __init__(self, store: Store, now: datetime):
        self.store, self.now = store, now
        self.now_ms = effective_ms(merge.from_now(PriceVersion("", ""), now))
        self.timelines: dict[tuple[str, str], list[tuple[int, PriceVersion]]] = {}
        keys = set()
        # Ordered by start, then by when recorded: the order the pricer reads them in.
        for _pid, provider, model, eff, source, data in sorted(store.prices.price_rows(), key=lambda r: (r[3], r[0])):
            keys.add((provider, model))
            if source != USER_SOURCE:  # a user's own prices are theirs: a sync never compares with them
                self.timelines.setdefault((provider, model), []).append(
                    (eff, PriceVersion.from_dict(orjson.loads(data)))
                )
        self.user_only = keys - self.timelines.keys()
        aliases = {
            (vendor or None, name): (provider, model) for name, vendor, provider, model in store.prices.alias_rows()
        }
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
            return merge.changes(timeline, incoming, self.now, self.now_ms)
        if key in self.user_only:
            return []
        res = self.resolver.resolve(*key)
        held_key = None if res is None else (res.provider, res.model)
        if held_key is None or held_key == key:
            return list(incoming)
        if held_key not in self.timelines:  # priced by a user's own price only
            return []
        held_timeline = self.timelines[held_key]
        held = merge.in_force(held_timeline, self.now_ms)
        current = merge.current(incoming, self.now_ms)
        if res.how == "alias":
            alias_source = self.store.prices.alias_source(key[1], key[0]) or self.store.prices.alias_source(
                key[1], None
            )
            if alias_source == USER_SOURCE or merge.rank(current.source, key[0]) < merge.rank(held.source, key[0]):
                return []
        if merge.same_price(current, held):
            return []
        copies = [replace(v, provider=key[0], model=key[1]) for _, v in held_timeline]
        return copies + [merge.from_now(current, self.now, held)]

    def set_alias(self, vendor: str | None, name: str, target: tuple[str, str]) -> None:
        """A source's alias, unless the user set that name, or it would re-price calls already priced otherwise."""
        if self.store.prices.alias_source(name, vendor) not in (None, "catalog"):
            return
        res = self.resolver.resolve(vendor, name)
        if res is not None and (res.provider, res.model) != tuple(target):
            return
        self.store.prices.set_alias(name, vendor, target[0], target[1], "catalog")


class LazyPricer:
    """A Pricer loaded on the first call that needs one: a cron re-run with nothing new never loads prices."""

    def __init__(self, store: Store, cost_source: str = "auto"):
        self._store = store
        self._cost_source = cost_source
        self._pricer: Pricer | None = None

    def load(self) -> None:
        if self._pricer is None:
            self._pricer = load_pricer(self._store, self._cost_source)

    def price(self, ev: NormalizedEvent) -> tuple[int | None, int | None]:
        if self._pricer is None:
            self.load()
        return self._pricer.price(ev)  # type: ignore[union-attr]


def load_pricer(store: Store, cost_source: str = "auto") -> Pricer:
    """A Pricer over every price version and alias in the store (seeding the shipped catalog on first use)."""
    ensure_catalog(store)
    prices = [
        (provider, model, (pid, eff, source, data))
        for pid, provider, model, eff, source, data in store.prices.price_rows()
    ]
    aliases = {(vendor or None, name): (provider, model) for name, vendor, provider, model in store.prices.alias_rows()}
    return Pricer(prices, aliases, cost_source)
