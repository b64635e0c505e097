#!/usr/bin/env python3
"""Build pricing_data/catalog.json from the public price lists. A maintainer script: run by hand.

    python scripts/build_catalog.py ../shared/data/pricing pricing_data [--version 2026-11-23]

Inputs (SOURCE/ is the first argument; each folder holds SOURCE.txt and LICENSE):
  SOURCE/genai-prices/v2/data.json                               pydantic/genai-prices, live v2 feed
  SOURCE/litellm/model_prices_and_context_window_backup.json     BerriAI/litellm model map
  SOURCE/litellm/model_prices_and_context_window_backup.v1.55.0.json   older LiteLLM snapshot
  SOURCE/openrouter/models_sample.json                           only with --with-openrouter-sample

Outputs (OUT/ is the second argument):
  catalog.json                 the shipped catalog (see margindash_cli/pricing/catalog.py)
  price_disagreements.json     where the sources disagree and which one won (for `prices diff`)
  ATTRIBUTION.md               each source: repository, commit, licence; and what was taken
  LICENSE.<source>             each source's licence, copied verbatim

Merge rules, keyed by (provider, model):
- Only providers in KEEP_PROVIDERS (the ones most apps call; keeps the catalog at a few hundred KB).
- A model in both genai-prices and LiteLLM: if their prices in force today differ by more than
  DISAGREEMENT_THRESHOLD on input or output, genai-prices wins as it is (and the disagreement is
  recorded); otherwise genai-prices' versions are kept (they carry price history) and its version
  in force today is completed with what only LiteLLM lists (cache/reasoning rates it lacks,
  batch/flex/priority rates, per-unit prices, context window, max output; LiteLLM's long-context
  tiers only when no genai-prices version of the model has tiers). Tiers are never mixed.
- genai-prices `equals` aliases (provider, alias -> model). Where LiteLLM prices the alias name as a
  model of its own: same price today -> the LiteLLM entry is dropped and the alias kept, so the name
  gets the canonical model's price history (`o3-2025-04-16` -> `o3`, which was 10/40 before
  2025-06-10); different price -> the LiteLLM entry is kept and the alias dropped (`gpt-4o-2024-05-13`
  is 5/15, not gpt-4o's 2.50/10), recorded as an "alias" disagreement.
- CURATED_ALIASES: a handful of documented snapshot ids (claude-sonnet-4-20250514 ->
  claude-sonnet-4-0, ...) that no list prices under their own name; exact pairs, never patterns.
- A model only in the older LiteLLM snapshot (since removed upstream, e.g. claude-3-5-sonnet-20241022)
  is kept at its last listed price, so old logs still price.
- The OpenRouter sample (7 models, no licence file with it) is left out unless asked for: genai-prices
  already lists ~700 OpenRouter models. With the flag, OpenRouter's own list wins for its models.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from dataclasses import replace
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from margindash_cli.pricing.catalog import Catalog, dump_catalog  # noqa: E402
from margindash_cli.pricing.model import RATE_FIELDS, SERVICE_TIERS, PriceVersion, Rates  # noqa: E402
from margindash_cli.pricing.resolve import price_at  # noqa: E402
from margindash_cli.pricing.sources import (  # noqa: E402
    ParseResult,
    read_genai_prices,
    read_litellm,
    read_openrouter,
)

# Catalog providers kept: the model makers and the clouds/gateways most apps call.
KEEP_PROVIDERS = frozenset({
    "openai", "anthropic", "google", "bedrock", "azure", "mistral", "deepseek", "xai", "groq",
    "together", "fireworks", "cohere", "openrouter", "perplexity", "cerebras", "moonshot",
})  # fmt: skip
DISAGREEMENT_THRESHOLD = Decimal("0.01")  # more than 1% apart on input or output = a disagreement
GENAI_FILE = "genai-prices/v2/data.json"
LITELLM_FILE = "litellm/model_prices_and_context_window_backup.json"
LITELLM_OLD_FILE = "litellm/model_prices_and_context_window_backup.v1.55.0.json"
OPENROUTER_FILE = "openrouter/models_sample.json"
SOURCES = {  # source name -> (folder, files used, licence, what we take)
    "genai-prices": ("genai-prices", [GENAI_FILE], "MIT",
                     "token prices with their history (start dates), long-context tiers, `equals` aliases"),
    "litellm": ("litellm", [LITELLM_FILE, LITELLM_OLD_FILE], "MIT (everything outside enterprise/)",
                "token prices, batch/flex/priority rates, long-context tiers, per-unit prices, context windows"),
    "openrouter": ("openrouter", [OPENROUTER_FILE], "none supplied (a sample of a public API response)",
                   "OpenRouter's own prices for the sampled models"),
}  # fmt: skip

Key = tuple[str, str]

# Exact snapshot ids that neither list prices under their own name, mapped to the model they are a
# snapshot of, as the provider documents it. Exact pairs maintained by hand, never patterns; applied
# only when the id has no price of its own. (genai-prices matches these with `starts_with` rules,
# which we do not turn into aliases; LiteLLM dropped them when the models were deprecated.)
CURATED_ALIASES = (
    # https://docs.anthropic.com/en/docs/about-claude/models/overview (model aliases table)
    ("anthropic", "claude-3-7-sonnet-20250219", "claude-3-7-sonnet-latest"),
    ("anthropic", "claude-sonnet-4-20250514", "claude-sonnet-4-0"),
    ("anthropic", "claude-opus-4-1-20250805", "claude-opus-4-1"),
    # https://ai.google.dev/gemini-api/docs/models (stable version of each model code)
    ("google", "gemini-2.0-flash-001", "gemini-2.0-flash"),
    ("google", "gemini-2.0-flash-lite-001", "gemini-2.0-flash-lite"),
)


# ---- merge -----------------------------------------------------------------------------------


def _differs(a: Decimal | None, b: Decimal | None) -> bool:
    """More than DISAGREEMENT_THRESHOLD apart, relative to `a` (genai-prices); a missing side never differs."""
    if a is None or b is None:
        return False
    if a == 0:
        return b != 0
    return abs(a - b) / abs(a) > DISAGREEMENT_THRESHOLD


def _compare(a: Rates, b: Rates) -> list[str]:
    return [f for f in ("input", "output") if _differs(getattr(a, f), getattr(b, f))]


def _current_index(versions: list[PriceVersion], today_ms: int) -> int:
    current = price_at(versions, today_ms) or versions[0]
    return versions.index(current)


def _enrich(g: PriceVersion, lit: PriceVersion, *, take_tiers: bool) -> PriceVersion:
    """genai-prices' version completed with what only LiteLLM lists (never overriding a genai value).
    LiteLLM's long-context tiers are taken only when genai-prices has none in any version of the
    model: genai-prices' silence is not a statement, but a tier it dropped (Claude 4.6) is."""
    base = Rates(
        **{f: getattr(g.base, f) if getattr(g.base, f) is not None else getattr(lit.base, f) for f in RATE_FIELDS}
    )
    services = {s: getattr(g, s) if getattr(g, s) is not None else getattr(lit, s) for s in SERVICE_TIERS}
    units = {**lit.units, **g.units}
    tiers = lit.tiers if take_tiers and not g.tiers else g.tiers
    return replace(g, base=base, units=units, tiers=tiers, **services, **_meta(g, lit))


def _meta(g: PriceVersion, lit: PriceVersion) -> dict:
    return {
        "context_window": g.context_window if g.context_window is not None else lit.context_window,
        "max_output": g.max_output if g.max_output is not None else lit.max_output,
    }


def _rates_text(r: Rates) -> dict[str, str]:
    return {f: format(getattr(r, f), "f") for f in ("input", "output") if getattr(r, f) is not None}


def merge(genai: ParseResult, litellm: ParseResult, litellm_old: ParseResult | None = None,
          openrouter: ParseResult | None = None, *, today: datetime,
          keep: frozenset[str] = KEEP_PROVIDERS) -> tuple[dict[Key, list[PriceVersion]], dict[Key, Key], list[dict]]:  # fmt: skip
    """(versions by key, aliases (provider, alias) -> (provider, model), disagreements)."""
    today_ms = int(today.timestamp() * 1000)
    G: dict[Key, list[PriceVersion]] = {}
    for v in genai.versions:
        if v.provider in keep:
            G.setdefault((v.provider, v.model), []).append(v)
    for versions in G.values():
        versions.sort(key=lambda v: (v.effective_from_ms is not None, v.effective_from_ms or 0))
    L = {(v.provider, v.model): v for v in litellm.versions if v.provider in keep}

    catalog: dict[Key, list[PriceVersion]] = {}
    disagreements: list[dict] = []
    for key in sorted(G.keys() | L.keys()):
        g, lit = G.get(key), L.get(key)
        if g and lit:
            i = _current_index(g, today_ms)
            fields = _compare(g[i].base, lit.base)
            if fields:
                disagreements.append({
                    "provider": key[0], "model": key[1], "kind": "price", "fields": fields, "winner": "genai-prices",
                    "genai-prices": _rates_text(g[i].base), "litellm": _rates_text(lit.base),
                })  # fmt: skip
                catalog[key] = [replace(v, **_meta(v, lit)) for v in g]
            else:
                take_tiers = not any(v.tiers for v in g)
                catalog[key] = [
                    _enrich(v, lit, take_tiers=take_tiers) if n == i else replace(v, **_meta(v, lit))
                    for n, v in enumerate(g)
                ]
        elif g:
            catalog[key] = g
        else:
            catalog[key] = [lit]

    aliases: dict[Key, Key] = {}
    for provider, alias, model in genai.aliases:
        target = (provider, model)
        if provider not in keep or target not in catalog or (provider, alias) in aliases:
            continue
        own = (provider, alias)
        if own in catalog:
            if own in G:
                continue  # genai-prices lists the name as a model of its own as well: that entry stands
            lit = catalog[own][0]
            cur = catalog[target][_current_index(catalog[target], today_ms)]
            fields = _compare(cur.base, lit.base)
            if fields:
                disagreements.append({
                    "provider": provider, "model": alias, "kind": "alias", "fields": fields, "winner": "litellm",
                    "note": f"genai-prices matches {alias!r} to {model!r} (an equals rule); LiteLLM prices it on its own",
                    "genai-prices": _rates_text(cur.base), "litellm": _rates_text(lit.base),
                })  # fmt: skip
                continue
            del catalog[own]
        aliases[own] = target

    for provider, alias, model in CURATED_ALIASES:
        own, target = (provider, alias), (provider, model)
        if provider in keep and own not in catalog and own not in aliases and target in catalog:
            aliases[own] = target

    if litellm_old is not None:
        for v in litellm_old.versions:
            key = (v.provider, v.model)
            if v.provider in keep and key not in catalog and key not in aliases:
                catalog[key] = [v]

    if openrouter is not None:
        for v in openrouter.versions:
            key = (v.provider, v.model)
            if key in catalog:
                old = catalog[key][_current_index(catalog[key], today_ms)]
                fields = _compare(old.base, v.base)
                if fields:
                    disagreements.append({
                        "provider": key[0], "model": key[1], "kind": "price", "fields": fields, "winner": "openrouter",
                        old.source: _rates_text(old.base), "openrouter": _rates_text(v.base),
                    })  # fmt: skip
            catalog[key] = [v]
            aliases.pop(key, None)
        for provider, alias, model in openrouter.aliases:
            if (provider, alias) not in catalog and (provider, model) in catalog:
                aliases[(provider, alias)] = (provider, model)
    return catalog, aliases, disagreements


# ---- output ----------------------------------------------------------------------------------


def read_source_txt(folder: Path) -> dict[str, str]:
    """Repository, URL and commit named in a source folder's SOURCE.txt (empty when absent)."""
    path = folder / "SOURCE.txt"
    if not path.exists():
        return {}
    text = path.read_text()
    info: dict[str, str] = {}
    m = re.search(r"^Repository:\s*(\S+)\s*\((\S+)\)", text, re.M)
    if m:
        info["repository"], info["url"] = m.group(1), m.group(2)
    m = re.search(r"\b[0-9a-f]{40}\b", text)
    if m:
        info["commit"] = m.group(0)
    m = re.search(r"litellm-(\d+\.\d+\.\d+)-\S*\.whl", text)
    if m:
        info["package"] = f"litellm {m.group(1)} (PyPI wheel)"
    return info


def attribution_md(sources: list[dict], version: str, stats: dict[str, int]) -> str:
    lines = [
        "# Price data attribution",
        "",
        f"`catalog.json` (built {version} by `scripts/build_catalog.py`) is derived from the public price lists",
        "below. Prices are facts published by the providers; these projects collected them, and their",
        "licences are reproduced next to this file.",
        "",
    ]
    for s in sources:
        lines += [f"## {s['name']}", ""]
        if s.get("repository"):
            lines.append(f"- Repository: {s['repository']} ({s.get('url', '')})")
        if s.get("commit"):
            lines.append(f"- Commit: {s['commit']}")
        if s.get("package"):
            lines.append(f"- Obtained from: {s['package']}")
        lines.append(f"- Files: {', '.join(s['files'])}")
        lines.append(f"- Licence: {s['license']}" + (f" (see `{s['license_file']}`)" if s.get("license_file") else ""))
        lines.append(f"- Used for: {s['used_for']}")
        lines.append("")
    lines += [
        "## What the catalog holds",
        "",
        f"- {stats['models']} models ({stats['versions']} price versions) from {stats['providers']} providers:"
        f" {', '.join(sorted(KEEP_PROVIDERS))}.",
        f"- {stats['aliases']} aliases: genai-prices' exact `equals` rules (never its prefix/substring patterns)"
        f" and {len(CURATED_ALIASES)} documented snapshot ids curated in scripts/build_catalog.py.",
        f"- {stats['disagreements']} disagreements between sources, with the winner, in `price_disagreements.json`.",
        "- How each list is read (float handling, skipped modes and constraints): margindash_cli/pricing/sources.py;",
        "  how they are merged: scripts/build_catalog.py.",
        "",
    ]
    return "\n".join(lines)


def build(source: Path, out: Path, version: str, *, with_openrouter: bool = False) -> dict[str, int]:
    today = datetime.fromisoformat(version).replace(tzinfo=timezone.utc)
    genai = read_genai_prices(json.loads((source / GENAI_FILE).read_text()))
    litellm = read_litellm(json.loads((source / LITELLM_FILE).read_text()))
    litellm_old = read_litellm(json.loads((source / LITELLM_OLD_FILE).read_text()))
    openrouter = read_openrouter(json.loads((source / OPENROUTER_FILE).read_text())) if with_openrouter else None
    versions, aliases, disagreements = merge(genai, litellm, litellm_old, openrouter, today=today)

    used = ["genai-prices", "litellm"] + (["openrouter"] if with_openrouter else [])
    sources = []
    out.mkdir(parents=True, exist_ok=True)
    for name in used:
        folder, files, licence, used_for = SOURCES[name]
        info = {
            "name": name,
            **read_source_txt(source / folder),
            "files": files,
            "license": licence,
            "used_for": used_for,
        }
        lic = source / folder / "LICENSE"
        if lic.exists():
            info["license_file"] = f"LICENSE.{name}"
            shutil.copyfile(lic, out / info["license_file"])
        sources.append(info)

    catalog = Catalog(
        version=version,
        sources=tuple({k: v for k, v in s.items() if k != "used_for"} for s in sources),
        versions={k: tuple(v) for k, v in versions.items()},
        aliases={k: v for k, v in aliases.items()},
    )
    (out / "catalog.json").write_text(dump_catalog(catalog))
    report = {"version": version, "threshold": str(DISAGREEMENT_THRESHOLD), "disagreements": disagreements}
    with (out / "price_disagreements.json").open("w") as f:
        f.write(
            '{"version":%s,"threshold":%s,"disagreements":[\n' % (json.dumps(version), json.dumps(report["threshold"]))
        )
        f.write(",\n".join(json.dumps(d, separators=(",", ":")) for d in disagreements))
        f.write("\n]}\n")
    stats = {
        "models": len(versions),
        "versions": sum(len(v) for v in versions.values()),
        "providers": len({p for p, _ in versions}),
        "aliases": len(aliases),
        "disagreements": len(disagreements),
    }
    attribution = out / "ATTRIBUTION.md"
    # Keep the benchmark section that scripts/build_benchmarks.py writes into the same file.
    old = attribution.read_text() if attribution.exists() else ""
    kept = old[old.find("<!-- benchmarks:start"):] if "<!-- benchmarks:start" in old else ""
    attribution.write_text(attribution_md(sources, version, stats) + ("\n" + kept if kept else ""))
    return stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="folder holding litellm/, genai-prices/, openrouter/")
    parser.add_argument("out", type=Path, help="output folder, normally pricing_data/")
    parser.add_argument("--version", default=datetime.now(timezone.utc).date().isoformat(),
                        help="build date (YYYY-MM-DD); also the 'today' that decides which price is current")  # fmt: skip
    parser.add_argument(
        "--with-openrouter-sample", action="store_true", help="also merge openrouter/models_sample.json"
    )
    args = parser.parse_args(argv)
    stats = build(args.source, args.out, args.version, with_openrouter=args.with_openrouter_sample)
    size = (args.out / "catalog.json").stat().st_size
    print(f"catalog.json: {stats['models']} models, {stats['versions']} versions, {stats['aliases']} aliases, "
          f"{stats['disagreements']} disagreements, {size:,} bytes", file=sys.stderr)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
