"""The shipped price catalog: every known price version keyed by (provider, model), plus aliases.

`margindash_cli/pricing/data/catalog.json` is built by hand with `scripts/build_catalog.py` from the public lists
(see `margindash_cli/pricing/data/ATTRIBUTION.md`) and read here through importlib.resources, so it works from a
source tree and from an installed wheel alike. Nothing here touches the network or the store.

File format (`format` 1):
    {"format": 1, "version": "<build date>", "sources": [{name, repository, commit, license, ...}],
     "prices": {provider: {model: [version, ...]}}, "aliases": [[provider, alias, model], ...]}
where each version is `PriceVersion.to_dict()` without its provider and model (the keys say them),
versions of a model ordered by start.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

from margindash_cli.errors import MarginDashError
from margindash_cli.pricing.model import PriceVersion
from margindash_cli.pricing.resolve import Resolution, Resolver, price_at

CATALOG_FORMAT = 1  # bump when the file layout changes incompatibly
CATALOG_PACKAGE = "margindash_cli.pricing.data"  # the package that ships the data files
CATALOG_FILE = "catalog.json"


class CatalogError(MarginDashError):
    """The price catalog is missing or unreadable."""


@dataclass(frozen=True)
class Catalog:
    """Price versions keyed by (provider, model), each tuple ordered by start; and aliases."""

    version: str
    sources: tuple[Mapping[str, Any], ...] = ()
    versions: Mapping[tuple[str, str], tuple[PriceVersion, ...]] = field(default_factory=dict)
    aliases: Mapping[tuple[str | None, str], tuple[str, str]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.versions)

    def keys(self) -> Iterable[tuple[str, str]]:
        return self.versions.keys()

    def all_versions(self) -> Iterable[PriceVersion]:
        for versions in self.versions.values():
            yield from versions

    def resolver(self) -> Resolver:
        """A Resolver over this catalog's keys and aliases (built once, then reused)."""
        r = self.__dict__.get("_resolver")
        if r is None:
            r = Resolver(self.versions.keys(), self.aliases)
            object.__setattr__(self, "_resolver", r)
        return r

    def resolve(self, vendor: str | None, model: str) -> Resolution | None:
        return self.resolver().resolve(vendor, model)

    def price_at(self, provider: str, model: str, ts_ms: int) -> PriceVersion | None:
        """The version of (provider, model) in force at UTC epoch milliseconds `ts_ms`."""
        return price_at(self.versions.get((provider, model), ()), ts_ms)

    def find(self, vendor: str | None, model: str, ts_ms: int) -> tuple[Resolution, PriceVersion] | None:
        """Resolve a logged (vendor, model) and pick the version in force at `ts_ms`; None = unpriced."""
        res = self.resolve(vendor, model)
        if res is None:
            return None
        version = self.price_at(res.provider, res.model, ts_ms)
        return None if version is None else (res, version.at_time(ts_ms))


def catalog_from_dict(d: Mapping[str, Any]) -> Catalog:
    """A Catalog from the parsed catalog.json."""
    if d.get("format") != CATALOG_FORMAT:
        raise CatalogError(f"price catalog format {d.get('format')!r} is not supported (expected {CATALOG_FORMAT})")
    versions: dict[tuple[str, str], tuple[PriceVersion, ...]] = {}
    for provider, models in d.get("prices", {}).items():
        for model, items in models.items():
            versions[(provider, model)] = tuple(
                PriceVersion.from_dict({**item, "provider": provider, "model": model}) for item in items
            )
    aliases = {
        (provider or None, alias): (p2, model) for provider, alias, p2, model in _alias_rows(d.get("aliases", []))
    }
    return Catalog(str(d.get("version", "")), tuple(d.get("sources", ())), versions, aliases)


def _alias_rows(rows: Iterable[Any]) -> Iterable[tuple[str | None, str, str, str]]:
    for row in rows:
        if len(row) == 3:  # [provider, alias, model]: an alias within one provider
            yield row[0], row[1], row[0], row[2]
        else:  # [vendor or null, alias, provider, model]
            yield row[0], row[1], row[2], row[3]


def catalog_to_dict(catalog: Catalog) -> dict[str, Any]:
    prices: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for (provider, model), versions in sorted(catalog.versions.items()):
        items = []
        for v in versions:
            item = v.to_dict()
            del item["provider"], item["model"]
            items.append(item)
        prices.setdefault(provider, {})[model] = items
    aliases = []
    for (vendor, alias), (provider, model) in sorted(
        catalog.aliases.items(), key=lambda kv: (kv[0][0] or "", kv[0][1])
    ):
        aliases.append([vendor, alias, model] if vendor == provider else [vendor, alias, provider, model])
    return {
        "format": CATALOG_FORMAT,
        "version": catalog.version,
        "sources": list(catalog.sources),
        "prices": prices,
        "aliases": aliases,
    }


def dump_catalog(catalog: Catalog) -> str:
    """catalog.json text: compact, but one model and one alias per line so diffs stay readable."""
    d = catalog_to_dict(catalog)
    out = ["{", f'"format":{d["format"]},', f'"version":{json.dumps(d["version"])},']
    out.append('"sources":' + json.dumps(d["sources"], separators=(",", ":"), sort_keys=True) + ",")
    out.append('"prices":{')
    providers = list(d["prices"].items())
    for pi, (provider, models) in enumerate(providers):
        out.append(json.dumps(provider) + ":{")
        items = list(models.items())
        for mi, (model, versions) in enumerate(items):
            comma = "," if mi < len(items) - 1 else ""
            out.append(json.dumps(model) + ":" + json.dumps(versions, separators=(",", ":")) + comma)
        out.append("}" + ("," if pi < len(providers) - 1 else ""))
    out.append("},")
    out.append('"aliases":[')
    for ai, row in enumerate(d["aliases"]):
        out.append(json.dumps(row, separators=(",", ":")) + ("," if ai < len(d["aliases"]) - 1 else ""))
    out.append("]")
    out.append("}")
    return "\n".join(out) + "\n"


def load_catalog_bytes(data: bytes) -> Catalog:
    try:
        import orjson  # lazy: start-up

        parsed = orjson.loads(data)
    except ImportError:  # pragma: no cover - orjson is a dependency; stay usable without it
        parsed = json.loads(data)
    except ValueError as e:
        raise CatalogError(f"the price catalog is not valid JSON: {e}") from None
    return catalog_from_dict(parsed)


@lru_cache(maxsize=1)
def load_shipped_catalog() -> Catalog:
    """The catalog shipped in the package (`margindash_cli/pricing/data/catalog.json`); parsed once per process."""
    try:
        data = resources.files(CATALOG_PACKAGE).joinpath(CATALOG_FILE).read_bytes()
    except (FileNotFoundError, ModuleNotFoundError) as e:
        raise CatalogError(
            "the shipped price catalog is missing",
            hint="reinstall margindash; maintainers: run scripts/build_catalog.py",
        ) from e
    return load_catalog_bytes(data)
