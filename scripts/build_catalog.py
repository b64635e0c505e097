#!/usr/bin/env python3
"""Build margindash_cli/pricing/data/catalog.json from the public price lists. A maintainer script: run by hand.

    python scripts/build_catalog.py ../shared/data/pricing margindash_cli/pricing/data [--version 2026-11-23]

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
- genai-prices' `match` rules (equals, starts_with, ends_with, contains, regex, or, and; its model
  order, then its `fallback_model_providers`) are evaluated at build time against every LiteLLM key
  (and the older snapshot's), so no exact name in one list hides the other's price for the same id.
  A pattern clause counts only when what it leaves over is snapshot noise (see `_NOISE_AFTER`), so
  `starts_with claude-sonnet-5` never reaches `claude-sonnet-5-5`. Nothing fuzzy is left for run time:
  the catalog holds exact keys and exact aliases.
- Where both lists price an id (by its own name or through a rule) and their prices in force today
  differ by more than DISAGREEMENT_THRESHOLD on input or output, genai-prices wins (it is checked
  against the providers' pages and carries history), recorded with why; a LiteLLM entry that the same
  genai-prices rule reaches and that agrees with it completes what genai-prices lacks (Bedrock
  in-region ids get the long-context tier of the agreeing `us.` entry). Where they agree, genai-prices'
  versions are kept, the current one completed with what only LiteLLM lists (cache/reasoning rates,
  batch/flex/priority rates, per-unit prices, context window; LiteLLM's long-context tiers only when
  no genai-prices version of the model has tiers); a name genai-prices lists as an `equals` of the
  model, with nothing of its own, becomes an alias of it (`o3-2025-04-16` -> `o3`, which was 10/40 before
  2025-06-10); a name reached by a pattern keeps its own key, with genai-prices' versions.
- A hosted copy reached only through a fallback provider (Claude on Vertex through Anthropic's rules)
  keeps the host's own LiteLLM price when it differs, and takes its maker's missing rates when it agrees.
- genai-prices `equals` names no list prices under their own name become aliases; CURATED_ALIASES and
  DOCUMENTED_IDS (ids the providers document, priced by the genai-prices rule that reaches them).
- A model only in the older LiteLLM snapshot (since removed upstream, e.g. claude-3-5-sonnet-20241022)
  is kept at its last listed price unless a genai-prices rule reaches it.
- margindash_cli/pricing/data/overrides.json: prices reviewed by hand against the provider's page where the lists are
  wrong or lack history (DeepSeek's off-peak windows and history, the claude-sonnet-5 correction,
  gemini-1.5-pro-002's history...), each with its basis; applied last.
- Every decision (disagreement, rule match that changed a price, override) is in
  price_disagreements.json with its winner and why (`margindash prices diff`), and the build prints
  each price in force on the build date that changed against the previous catalog.json, and why.
- The OpenRouter sample (7 models, no licence file with it) is left out unless asked for: genai-prices
  already lists ~700 OpenRouter models. With the flag, OpenRouter's own list wins for its models.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from margindash_cli.pricing.catalog import Catalog, dump_catalog  # noqa: E402
from margindash_cli.pricing.model import RATE_FIELDS, SERVICE_TIERS, PriceVersion, Rates  # noqa: E402
from margindash_cli.pricing.resolve import canonical_vendor, normalize_model, price_at  # noqa: E402
from margindash_cli.pricing.sources import (  # noqa: E402
    BEDROCK_REGIONAL_PREFIX,
    ParseResult,
    read_genai_prices,
    read_litellm,
    read_openrouter,
)

# Catalog providers kept: the model makers and the clouds/gateways most apps call.
KEEP_PROVIDERS = frozenset(
    {
        "openai",
        "anthropic",
        "google",
        "bedrock",
        "azure",
        "mistral",
        "deepseek",
        "xai",
        "groq",
        "together",
        "fireworks",
        "cohere",
        "openrouter",
        "perplexity",
        "cerebras",
        "moonshot",
    }
)
DISAGREEMENT_THRESHOLD = Decimal("0.01")  # more than 1% apart on input or output = a disagreement
GENAI_FILE = "genai-prices/v2/data.json"
LITELLM_FILE = "litellm/model_prices_and_context_window_backup.json"
LITELLM_OLD_FILE = "litellm/model_prices_and_context_window_backup.v1.55.0.json"
OPENROUTER_FILE = "openrouter/models_sample.json"
SOURCES = {  # source name -> (folder, files used, licence, what we take)
    "genai-prices": (
        "genai-prices",
        [GENAI_FILE],
        "MIT",
        "token prices with their history (start dates), long-context tiers, `equals` aliases",
    ),
    "litellm": (
        "litellm",
        [LITELLM_FILE, LITELLM_OLD_FILE],
        "MIT (everything outside enterprise/)",
        "token prices, batch/flex/priority rates, long-context tiers, per-unit prices, context windows",
    ),
    "openrouter": (
        "openrouter",
        [OPENROUTER_FILE],
        "none supplied (a sample of a public API response)",
        "OpenRouter's own prices for the sampled models",
    ),
}

Key = tuple[str, str]

# Exact snapshot ids that neither list prices under their own name, mapped to the model they are a
# snapshot of, as the provider documents it. Exact pairs maintained by hand, never patterns; applied
# only when the id has no price of its own. (Ids no list names as a key are never reached by evaluating
# genai-prices' rules against LiteLLM's keys; LiteLLM dropped these when the models were deprecated.)
CURATED_ALIASES = (
    # https://docs.anthropic.com/en/docs/about-claude/models/overview (model aliases table)
    ("anthropic", "claude-3-7-sonnet-20250219", "claude-3-7-sonnet-latest"),
    ("anthropic", "claude-sonnet-4-20250514", "claude-sonnet-4-0"),
    ("anthropic", "claude-opus-4-1-20250805", "claude-opus-4-1"),
    # https://ai.google.dev/gemini-api/docs/models (stable version of each model code)
    ("google", "gemini-2.0-flash-001", "gemini-2.0-flash"),
    ("google", "gemini-2.0-flash-lite-001", "gemini-2.0-flash-lite"),
)


# Ids the providers document that neither list names as a key: the build prices each through the
# genai-prices rule that reaches it (and fails if none does), so the name is an exact alias at run time.
DOCUMENTED_IDS = (
    ("anthropic", "claude-3-5-sonnet-latest", "https://docs.anthropic.com/en/docs/about-claude/models/overview"),
    ("google", "gemini-2.5-flash-preview-05-20", "https://ai.google.dev/gemini-api/docs/changelog"),
    ("google", "gemini-2.5-pro-preview-03-25", "https://ai.google.dev/gemini-api/docs/changelog"),
    ("google", "gemini-2.0-flash-exp", "https://ai.google.dev/gemini-api/docs/changelog"),
    ("openai", "gpt-4.5-preview-2025-02-27", "https://platform.openai.com/docs/models/gpt-4.5-preview"),
)
OVERRIDES_FILE = REPO / "margindash_cli" / "pricing" / "data" / "overrides.json"


# ---- genai-prices match rules (build time only) ----------------------------------------------
#
# genai-prices reaches most ids through `match` rules (`equals`, `starts_with`, `ends_with`,
# `contains`, `regex`, and `or`/`and` of those), evaluated in the order the models are listed, the
# first match winning, then through the provider's `fallback_model_providers` (Vertex and Azure
# fall back to Anthropic's and OpenAI's own lists). The build evaluates those rules against every
# LiteLLM key and every documented id, so an exact LiteLLM name never hides the price genai-prices
# gives the same id; the catalog then holds exact keys only and the run-time resolver never matches
# patterns.


# A pattern clause (starts_with/contains/ends_with) reaches an id only when what the pattern leaves
# over is snapshot noise: nothing before it (a geo prefix is a price: Bedrock `eu.` costs more), and
# after it only a date, a 3-digit version (`-002`), `-latest`, Bedrock's API version `-v1:0` or a
# Vertex `@20250929`/`@default`. So `starts_with claude-sonnet-5` reaches `claude-sonnet-5-20260101`
# but never `claude-sonnet-5-5`, and `contains gemini-1.5-flash` never reaches `gemini-1.5-flash-8b`
# (another model, another price). Matching is case-sensitive, as genai-prices writes its ids (its
# `phi-4` is not Azure's `Phi-4`, which LiteLLM prices at Azure's own rate).
_NOISE_AFTER = re.compile(r"^(?:-\d{8}|-\d{4}-\d{2}-\d{2}|-\d{3}|-latest|-v1(?::0)?|@\d{8}|@\d{3}|@default|@latest)*$")


def rule_matches(rule: Any, name: str, *, strict: bool = True) -> str | None:
    """The clause of a genai-prices match rule that matches `name`, as text; None if none.
    `strict`: a pattern clause must leave over only routing/snapshot noise (see above)."""
    if not isinstance(rule, Mapping):
        return None
    text = name
    value = rule.get("equals")
    if isinstance(value, str) and text == value:
        return f"equals {value!r}"
    value = rule.get("starts_with")
    if isinstance(value, str) and text.startswith(value):
        rest = text[len(value) :]
        if not strict or _NOISE_AFTER.match(("-" + rest) if value.endswith("-") and rest else rest):
            return f"starts_with {value!r}"
    value = rule.get("ends_with")
    if isinstance(value, str) and text.endswith(value) and (not strict or len(text) == len(value)):
        return f"ends_with {value!r}"
    value = rule.get("contains")
    if (
        isinstance(value, str)
        and (i := text.find(value)) >= 0
        and (not strict or (i == 0 and _NOISE_AFTER.match(text[len(value) :])))
    ):
        return f"contains {value!r}"
    value = rule.get("regex")  # genai-prices' regexes are anchored shapes of one model's ids
    if isinstance(value, str) and re.search(value, name):
        return f"regex {value!r}"
    clauses = rule.get("or")
    if isinstance(clauses, list):
        for clause in clauses:
            hit = rule_matches(clause, name, strict=strict)
            if hit:
                return hit
    clauses = rule.get("and")
    if isinstance(clauses, list) and clauses:
        hits = [rule_matches(c, name, strict=strict) for c in clauses]
        if all(hits):
            return " and ".join(h for h in hits if h)
    return None


class Rules:
    """genai-prices' match rules per catalog provider, in the order genai-prices evaluates them."""

    def __init__(self, obj: Any, keep: frozenset[str]):
        providers = obj.get("providers", []) if isinstance(obj, Mapping) else obj
        self.own: dict[str, list[tuple[str, Any]]] = {}
        self.fallback: dict[str, list[str]] = {}
        for p in providers or ():
            provider = canonical_vendor(p.get("id")) or str(p.get("id"))
            rules = self.own.setdefault(provider, [])
            listed = {m.get("id") for m in p.get("models") or ()}
            for m in p.get("models") or ():
                mid = m.get("id")
                if not isinstance(mid, str) or not mid:
                    continue
                model = mid
                if provider == "bedrock" and mid.startswith(BEDROCK_REGIONAL_PREFIX):
                    model = mid[len(BEDROCK_REGIONAL_PREFIX) :]
                    if model in listed:
                        continue
                rules.append((model, m.get("match") if m.get("match") is not None else {"equals": mid}))
            fb = p.get("fallback_model_providers") or []
            self.fallback[provider] = [canonical_vendor(f) or f for f in fb if isinstance(f, str)]

    def match(self, provider: str, name: str, *, strict: bool = True) -> tuple[str, str, str] | None:
        """(genai provider, genai model, matching clause) of the first rule that matches; own provider first."""
        for where in [provider, *self.fallback.get(provider, [])]:
            for model, rule in self.own.get(where, ()):
                hit = rule_matches(rule, name, strict=strict)
                if hit:
                    return where, model, hit
        return None


# ---- overrides (reviewed by hand) ------------------------------------------------------------


def read_overrides(path: Path | None) -> list[dict[str, Any]]:
    """The reviewed overrides (a missing file is none). Each names `provider`, `model` (or `models`, a list),
    its `basis` (the provider page and the date it was checked) and one action: `versions` (PriceVersion
    dicts that replace every version of the model) or `drop_versions_from` (a date: versions the sources
    start on or after it never took effect)."""
    if path is None or not path.exists():
        return []
    data = json.loads(path.read_text())
    out = []
    for n, o in enumerate(data.get("overrides", []), 1):
        models = o.get("models") or ([o["model"]] if o.get("model") else [])
        if not o.get("provider") or not models or not o.get("basis"):
            raise SystemExit(f"{path}: override {n} needs provider, model (or models) and basis")
        if bool(o.get("versions")) == bool(o.get("drop_versions_from")):
            raise SystemExit(f"{path}: override {n} needs one of versions or drop_versions_from")
        for model in models:
            out.append({**o, "model": model})
    return out


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


def _meta(g: PriceVersion, lit: PriceVersion | None) -> dict:
    if lit is None:
        return {}
    return {
        "context_window": g.context_window if g.context_window is not None else lit.context_window,
        "max_output": g.max_output if g.max_output is not None else lit.max_output,
    }


def _rates_text(r: Rates) -> dict[str, str]:
    return {f: format(getattr(r, f), "f") for f in ("input", "output") if getattr(r, f) is not None}


def _adds(lit: PriceVersion, cur: PriceVersion) -> bool:
    """Whether a LiteLLM entry lists something the merged price lacks (a rate, tier, service tier, unit)."""
    if any(getattr(lit.base, f) is not None and getattr(cur.base, f) is None for f in RATE_FIELDS):
        return True
    if lit.tiers and not cur.tiers:
        return True
    if any(getattr(lit, s) is not None and getattr(cur, s) is None for s in SERVICE_TIERS):
        return True
    return bool(set(lit.units) - set(cur.units))


def _fill(lit: PriceVersion, maker: PriceVersion) -> PriceVersion:
    """A host's LiteLLM entry with the rates, tiers and units it lacks taken from its maker's agreeing price."""
    base = Rates(
        **{f: getattr(lit.base, f) if getattr(lit.base, f) is not None else getattr(maker.base, f) for f in RATE_FIELDS}
    )
    return replace(lit, base=base, tiers=lit.tiers or maker.tiers, units={**maker.units, **lit.units})


def _complete(g: list[PriceVersion], lit: PriceVersion | None, key: Key, today_ms: int) -> list[PriceVersion]:
    """genai-prices' versions of a model, under `key`, with the current one completed from `lit` (a LiteLLM
    entry that agrees with it); earlier versions take only LiteLLM's context window and max output."""
    i = _current_index(g, today_ms)
    take_tiers = not any(v.tiers for v in g)
    out = []
    for n, v in enumerate(g):
        v = replace(v, provider=key[0], model=key[1])
        if lit is not None:
            v = _enrich(v, lit, take_tiers=take_tiers) if n == i else replace(v, **_meta(v, lit))
        out.append(v)
    return out


def merge(
    genai: ParseResult,
    litellm: ParseResult,
    litellm_old: ParseResult | None = None,
    openrouter: ParseResult | None = None,
    *,
    today: datetime,
    keep: frozenset[str] = KEEP_PROVIDERS,
    rules: Rules | None = None,
    overrides: list[dict[str, Any]] | None = None,
    documented: tuple[tuple[str, str, str], ...] = (),
) -> tuple[dict[Key, list[PriceVersion]], dict[Key, Key], list[dict]]:
    """(versions by key, aliases (provider, alias) -> (provider, model), decisions).

    `decisions` lists every place where the sources disagree, or where a hand-reviewed override
    replaced them, with the winner and why (`prices diff` shows them)."""
    today_ms = int(today.timestamp() * 1000)
    G: dict[Key, list[PriceVersion]] = {}
    for v in genai.versions:
        if v.provider in keep:
            G.setdefault((v.provider, v.model), []).append(v)
    for versions in G.values():
        versions.sort(key=lambda v: (v.effective_from_ms is not None, v.effective_from_ms or 0))
    L = {(v.provider, v.model): v for v in litellm.versions if v.provider in keep}
    OLD = {}
    if litellm_old is not None:
        OLD = {
            (v.provider, v.model): v
            for v in litellm_old.versions
            if v.provider in keep and (v.provider, v.model) not in L
        }

    def target_of(key: Key, strict: bool = True) -> tuple[Key, str] | None:
        """The genai-prices model whose rule reaches `key`, and the clause; None when none does."""
        if key in G:
            return key, "its own id"
        if rules is None:
            return None
        hit = rules.match(key[0], key[1], strict=strict)
        if hit is None or (hit[0], hit[1]) not in G:
            return None
        return (hit[0], hit[1]), f"{hit[2]} of genai-prices' {hit[0]}/{hit[1]}"

    # Which LiteLLM entries each genai-prices model reaches (for completing a price from a sibling).
    reached: dict[Key, list[Key]] = {}
    targets: dict[Key, tuple[Key, str] | None] = {}
    for key in sorted(L.keys() | OLD.keys()):
        targets[key] = t = target_of(key)
        if t is not None:
            reached.setdefault(t[0], []).append(key)

    def agrees(gkey: Key, lit: PriceVersion) -> bool:
        g = G[gkey]
        return not _compare(g[_current_index(g, today_ms)].base, lit.base)

    def sibling(gkey: Key, key: Key) -> PriceVersion | None:
        """A LiteLLM entry the same genai-prices rule reaches that agrees with it, same normalized name first."""
        name = normalize_model(key[1]).names[0]
        cands = [k for k in reached.get(gkey, ()) if k != key and k in L and agrees(gkey, L[k])]
        if not cands:
            return None
        best = min(cands, key=lambda k: (normalize_model(k[1]).names[0] != name, k[0] != key[0], len(k[1]), k[1]))
        return L[best]

    catalog: dict[Key, list[PriceVersion]] = {}
    aliases: dict[Key, Key] = {}
    decisions: list[dict] = []
    for key in sorted(G):
        g = G[key]
        lit = L.get(key)
        if lit is not None and not agrees(key, lit):
            i = _current_index(g, today_ms)
            sib = sibling(key, key)
            decisions.append(
                {
                    "provider": key[0],
                    "model": key[1],
                    "kind": "price",
                    "fields": _compare(g[i].base, lit.base),
                    "winner": "genai-prices",
                    "genai-prices": _rates_text(g[i].base),
                    "litellm": _rates_text(lit.base),
                    "why": "both list this id; genai-prices is checked against the provider's page and keeps price history"
                    + (f"; completed from LiteLLM's agreeing {sib.model}" if sib else ""),
                }
            )
            catalog[key] = _complete(g, sib, key, today_ms) if sib else [replace(v, **_meta(v, lit)) for v in g]
        else:
            catalog[key] = _complete(g, lit if lit is not None else sibling(key, key), key, today_ms)

    for key in sorted(L.keys() | OLD.keys()):
        if key in G:
            continue
        lit = L.get(key) or OLD[key]
        t = targets[key]
        if t is None:
            catalog[key] = [lit]
            continue
        gkey, how = t
        g = G[gkey]
        cur = catalog[gkey][_current_index(catalog[gkey], today_ms)]
        fields = _compare(G[gkey][_current_index(G[gkey], today_ms)].base, lit.base)
        fallback = gkey[0] != key[0]  # reached through genai-prices' fallback to the maker's list
        old = key not in L
        if not fields:
            if how.startswith("equals") and not fallback and not _adds(lit, cur):
                aliases[key] = (
                    gkey  # genai-prices names it as this model and it adds nothing: the model's whole history
                )
            elif fallback:  # a hosted copy at its maker's price: the host's own entry, its gaps filled by the maker's
                catalog[key] = [_fill(lit, cur)]
            else:
                catalog[key] = _complete(g, lit, key, today_ms)
            continue
        if fallback:
            catalog[key] = [lit]  # a hosted copy may be priced apart from its maker: LiteLLM's own entry stands
            winner, why = "litellm", "a hosted copy may be priced apart from its maker; LiteLLM lists this host's price"
        else:
            sib = sibling(gkey, key)
            catalog[key] = _complete(g, sib, key, today_ms) if sib else [replace(v, **_meta(v, lit)) for v in g]
            winner = "genai-prices"
            why = (
                ("LiteLLM's entry is from an old snapshot; " if old else "")
                + "genai-prices' rule reaches this id and is checked against the provider's page"
                + (f"; completed from LiteLLM's agreeing {sib.model}" if sib else "")
            )
        decisions.append(
            {
                "provider": key[0],
                "model": key[1],
                "kind": "rule",
                "fields": fields,
                "winner": winner,
                "match": how,
                "genai-prices": _rates_text(G[gkey][_current_index(G[gkey], today_ms)].base),
                "litellm": _rates_text(lit.base),
                "why": why,
            }
        )

    # genai-prices `equals` names that no list prices under their own name: aliases of the model whose
    # rule reaches them first (normally the model that lists them).
    for provider, alias, model in genai.aliases:
        own = (provider, alias)
        if provider not in keep or own in catalog or own in aliases:
            continue
        t = target_of(own) if rules is not None else ((provider, model), "")
        target = t[0] if t else (provider, model)
        if target in catalog:
            aliases[own] = target

    for provider, alias, model in CURATED_ALIASES:
        own, target = (provider, alias), (provider, model)
        if provider in keep and own not in catalog and own not in aliases and target in catalog:
            aliases[own] = target

    # Ids the providers document that neither list names: priced by the genai-prices rule that reaches them.
    for provider, name, url in documented:
        own = (provider, name)
        if provider not in keep or own in catalog or own in aliases:
            continue
        t = target_of(own, strict=False)  # reviewed by hand: any clause of the rule counts
        if t is None or t[0] not in catalog:
            raise SystemExit(f"documented id {provider}/{name} ({url}): no genai-prices rule reaches it")
        aliases[own] = t[0]

    if openrouter is not None:
        for v in openrouter.versions:
            key = (v.provider, v.model)
            if key in catalog:
                old = catalog[key][_current_index(catalog[key], today_ms)]
                fields = _compare(old.base, v.base)
                if fields:
                    decisions.append(
                        {
                            "provider": key[0],
                            "model": key[1],
                            "kind": "price",
                            "fields": fields,
                            "winner": "openrouter",
                            old.source: _rates_text(old.base),
                            "openrouter": _rates_text(v.base),
                            "why": "OpenRouter's own list is the price it charges",
                        }
                    )
            catalog[key] = [v]
            aliases.pop(key, None)
        for provider, alias, model in openrouter.aliases:
            if (provider, alias) not in catalog and (provider, model) in catalog:
                aliases[(provider, alias)] = (provider, model)

    for o in overrides or ():
        key = (o["provider"], o["model"])
        # The override's record replaces what the merge decided for the key, quoting both sources.
        prior = [d for d in decisions if (d["provider"], d["model"]) == key]
        decisions[:] = [d for d in decisions if (d["provider"], d["model"]) != key]
        quotes = {s: d[s] for d in prior for s in ("genai-prices", "litellm") if isinstance(d.get(s), dict)}
        before = catalog.get(key) or (catalog.get(aliases[key]) if key in aliases else None)
        meta = before[-1] if before else None
        if o.get("drop_versions_from"):
            if key not in catalog:
                raise SystemExit(f"override of {key[0]}/{key[1]}: no such model in the catalog")
            cut = int(datetime.fromisoformat(o["drop_versions_from"]).replace(tzinfo=UTC).timestamp() * 1000)
            kept = [v for v in catalog[key] if v.effective_from_ms is None or v.effective_from_ms < cut]
            if not kept or len(kept) == len(catalog[key]):
                raise SystemExit(
                    f"override of {key[0]}/{key[1]}: drop_versions_from {o['drop_versions_from']} drops none or all"
                )
            dropped = catalog[key][len(kept)]
            catalog[key] = kept
            decisions.append(
                {
                    "provider": key[0],
                    "model": key[1],
                    "kind": "override",
                    "fields": ["input", "output"],
                    "winner": "override",
                    "override": _rates_text(kept[-1].base),
                    **quotes,
                    dropped.source: _rates_text(dropped.base),
                    "why": o["basis"],
                }
            )
            continue
        versions = []
        for d in o["versions"]:
            v = PriceVersion.from_dict(
                {**d, "provider": key[0], "model": key[1], "source": d.get("source", "override")}
            )
            if meta is not None:
                v = replace(
                    v,
                    context_window=v.context_window or meta.context_window,
                    max_output=v.max_output or meta.max_output,
                )
            versions.append(v)
        versions.sort(key=lambda v: (v.effective_from_ms is not None, v.effective_from_ms or 0))
        aliases.pop(key, None)
        catalog[key] = versions
        was = before[_current_index(before, today_ms)] if before else None
        decisions.append(
            {
                "provider": key[0],
                "model": key[1],
                "kind": "override",
                "fields": ["input", "output"],
                "winner": "override",
                "override": _rates_text(versions[_current_index(versions, today_ms)].base),
                **(
                    {was.source: _rates_text(was.base)}
                    if was is not None and was.source in ("genai-prices", "litellm")
                    else {}
                ),
                **quotes,
                "why": o["basis"],
            }
        )
    return catalog, aliases, decisions


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
        (
            f"- {stats['models']} models ({stats['versions']} price versions) from {stats['providers']} providers:"
            f" {', '.join(sorted(KEEP_PROVIDERS))}."
        ),
        (
            f"- {stats['aliases']} aliases: genai-prices' `equals` names and {len(CURATED_ALIASES) + len(DOCUMENTED_IDS)}"
            " documented ids curated in scripts/build_catalog.py. genai-prices' match rules (patterns included) are"
            " evaluated at build time against LiteLLM's keys: the catalog holds exact names only."
        ),
        f"- {stats['overrides']} prices reviewed by hand in `overrides.json`, each with its basis (provider page and date).",
        (
            f"- {stats['disagreements']} decisions (disagreements between sources, overrides), each with its winner and why,"
            " in `price_disagreements.json`."
        ),
        "- How each list is read (float handling, skipped modes and constraints): margindash_cli/pricing/sources.py;",
        "  how they are merged: scripts/build_catalog.py.",
        "",
    ]
    return "\n".join(lines)


def build(
    source: Path,
    out: Path,
    version: str,
    *,
    with_openrouter: bool = False,
    overrides_path: Path | None = OVERRIDES_FILE,
) -> dict[str, Any]:
    today = datetime.fromisoformat(version).replace(tzinfo=UTC)
    genai_obj = json.loads((source / GENAI_FILE).read_text())
    genai = read_genai_prices(genai_obj)
    litellm = read_litellm(json.loads((source / LITELLM_FILE).read_text()))
    litellm_old = read_litellm(json.loads((source / LITELLM_OLD_FILE).read_text()))
    openrouter = read_openrouter(json.loads((source / OPENROUTER_FILE).read_text())) if with_openrouter else None
    previous = _read_previous(out / "catalog.json")
    versions, aliases, disagreements = merge(
        genai,
        litellm,
        litellm_old,
        openrouter,
        today=today,
        rules=Rules(genai_obj, KEEP_PROVIDERS),
        overrides=read_overrides(overrides_path),
        documented=DOCUMENTED_IDS,
    )

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
            '{"version":%s,"threshold":%s,"disagreements":[\n' % (json.dumps(version), json.dumps(report["threshold"]))  # noqa: UP031
        )
        f.write(",\n".join(json.dumps(d, separators=(",", ":")) for d in disagreements))
        f.write("\n]}\n")
    stats: dict[str, Any] = {
        "changes": changes(previous, catalog, disagreements, today),
        "models": len(versions),
        "versions": sum(len(v) for v in versions.values()),
        "providers": len({p for p, _ in versions}),
        "aliases": len(aliases),
        "disagreements": len(disagreements),
        "overrides": len({(d["provider"], d["model"]) for d in disagreements if d["kind"] == "override"}),
    }
    attribution = out / "ATTRIBUTION.md"
    # Keep the benchmark section that scripts/build_benchmarks.py writes into the same file.
    old = attribution.read_text() if attribution.exists() else ""
    kept = old[old.find("<!-- benchmarks:start") :] if "<!-- benchmarks:start" in old else ""
    attribution.write_text(attribution_md(sources, version, stats) + ("\n" + kept if kept else ""))
    return stats


def _read_previous(path: Path) -> Catalog | None:
    from margindash_cli.pricing.catalog import load_catalog_bytes

    return load_catalog_bytes(path.read_bytes()) if path.exists() else None


def _price_text(catalog: Catalog, key: Key, today_ms: int) -> str | None:
    """The price in force at `today_ms` of a key or alias, as "input/output [tiers] [windows]"; None when absent."""
    target = key if key in catalog.versions else catalog.aliases.get(key)
    if target is None or target not in catalog.versions:
        return None
    v = price_at(catalog.versions[target], today_ms) or catalog.versions[target][0]
    text = f"{v.base.input if v.base.input is not None else '-'}/{v.base.output if v.base.output is not None else '-'}"
    media = [
        f"{f} {getattr(v.base, f)}"
        for f in ("input_audio", "output_audio", "output_image", "cache_read_audio")
        if getattr(v.base, f) is not None
    ]
    if media:
        text += f" ({', '.join(media)})"
    if v.tiers:
        t = v.tiers[0]
        text += f" (>{t.threshold // 1000}k: {t.rates.input}/{t.rates.output})"
    if len(catalog.versions[target]) > 1:
        text += f" [{len(catalog.versions[target])} versions]"
    return text


def changes(previous: Catalog | None, catalog: Catalog, decisions: list[dict], today: datetime) -> list[str]:
    """What this build changes in the price in force today of each id, and why (one line each)."""
    if previous is None:
        return []
    today_ms = int(today.timestamp() * 1000)
    why = {(d["provider"], d["model"]): f"{d['kind']}: {d.get('why', '')}" for d in decisions}
    lines = []
    keys = set(previous.versions) | set(previous.aliases) | set(catalog.versions) | set(catalog.aliases)
    for key in sorted(k for k in keys if k[0] is not None):
        old, new = _price_text(previous, key, today_ms), _price_text(catalog, key, today_ms)
        if old == new:
            continue
        reason = why.get(key)
        if reason is None:
            target = catalog.aliases.get(key)
            if new is None:
                reason = "no longer in the sources"
            elif target is not None:
                reason = f"alias of {target[0]}/{target[1]} (a genai-prices rule reaches it)"
            elif old is None:
                reason = "new in the sources"
            elif old.split(" (")[0] == new.split(" (")[0] and any(f in new for f in ("_audio ", "output_image ")):
                reason = "audio/image token rates are now read from the sources"
            elif (
                key in previous.versions
                and key in catalog.versions
                and previous.versions[key][-1].source == "litellm"
                and catalog.versions[key][-1].source == "genai-prices"
            ):
                reason = "a genai-prices rule reaches it at the same price today: its versions, tiers and history"
            else:
                reason = "the sources changed, or an agreeing entry now completes it"
        lines.append(f"{key[0]}/{key[1]}: {old or 'unpriced'} -> {new or 'unpriced'} ({reason})")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="folder holding litellm/, genai-prices/, openrouter/")
    parser.add_argument("out", type=Path, help="output folder, normally margindash_cli/pricing/data/")
    parser.add_argument(
        "--version",
        default=datetime.now(UTC).date().isoformat(),
        help="build date (YYYY-MM-DD); also the 'today' that decides which price is current",
    )
    parser.add_argument(
        "--with-openrouter-sample", action="store_true", help="also merge openrouter/models_sample.json"
    )
    parser.add_argument(
        "--overrides",
        type=Path,
        default=OVERRIDES_FILE,
        help="reviewed price overrides (default: margindash_cli/pricing/data/overrides.json)",
    )
    args = parser.parse_args(argv)
    stats = build(
        args.source, args.out, args.version, with_openrouter=args.with_openrouter_sample, overrides_path=args.overrides
    )
    for line in stats["changes"]:
        print(line)
    print(f"{len(stats['changes'])} price(s) in force on {args.version} changed", file=sys.stderr)
    size = (args.out / "catalog.json").stat().st_size
    print(
        f"catalog.json: {stats['models']} models, {stats['versions']} versions, {stats['aliases']} aliases, "
        f"{stats['disagreements']} disagreements, {size:,} bytes",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
