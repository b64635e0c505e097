"""Parsers for the public price lists: already-parsed JSON in, `PriceVersion`s out.

`parse_litellm(obj)` and `parse_openrouter(obj)` return a list of versions; `parse_genai_prices(obj)`
returns (versions, aliases). The `read_*` twins return a `ParseResult` that also says what was
skipped or altered and why (and OpenRouter's slug aliases), for scripts/build_catalog.py.

Numbers. JSON numbers arrive as Python floats. A float is read through `Decimal(repr(x))`: repr is
the shortest text that round-trips to the same double, which for a price typed as `3e-06` is
exactly `0.000003`. Per-token prices are scaled to per-MTok with `Decimal.scaleb(6)` (exact).
Some list entries carry float noise from arithmetic done before they were written
(`2.9999900000000002e-06`, `0.30000000000000004`): every value is rounded to 12 significant
digits (`SIGNIFICANT_DIGITS`, half-even) and trailing zeros dropped. Real list prices have at most
~10 significant digits and float noise starts at the 16th, so this removes noise and nothing else;
a repeating price such as OpenRouter's `0.0000000833333333333333`/token becomes
0.0833333333333 USD/MTok (an error below 4e-14 USD per MTok). Strings (OpenRouter) take the same path.

LiteLLM (`model_prices_and_context_window.json`, USD per token):
- kept modes: chat, completion, responses, embedding, moderation, realtime, audio_speech (only entries
  with a token price: gpt-4o-mini-tts, realtime models), and entries with no mode that have a token
  price. Skipped: image/video generation, image edit, audio transcription, rerank, OCR, search, vector
  stores, guardrails, and speech models priced per character or second: a token vector cannot price them.
- fields: input_cost_per_token, output_cost_per_token, cache_read_input_token_cost (else
  input_cost_per_token_cache_hit), cache_creation_input_token_cost (5-minute write),
  cache_creation_input_token_cost_above_1hr (1-hour write), output_cost_per_reasoning_token,
  input_cost_per_audio_token, output_cost_per_audio_token, output_cost_per_image_token,
  cache_read_input_audio_token_cost;
  `<field>_batches|_flex|_priority` -> service-tier rates; `<field>_above_<N>k_tokens[_<service>]`
  -> a long-context tier at N*1000 prompt tokens, strictly above (`>`), except xAI (`>=`).
  Not read: image-input token prices, video prices, `*_above_12hr`, `_ultrafast`/`_balanced` modes,
  `tiered_pricing` ranges and `off_peak_pricing` windows (base price used), DBU prices.
- units: input_cost_per_request -> "requests", output_cost_per_image -> "images",
  input_cost_per_image -> "input_images", search_context_cost_per_query -> "web_searches" only
  when the low/medium/high sizes cost the same (else skipped: the size is not in the usage).
- ids: LiteLLM's routing prefix is dropped from the key (`gemini/gemini-2.5-pro` ->
  `gemini-2.5-pro`); LiteLLM providers map to catalog providers (`vertex_ai-*`/`gemini` -> google,
  `bedrock_converse` -> bedrock, `azure_ai` -> azure, ...). Bedrock keys with a region or commitment
  path (`bedrock/us-east-1/...`) and size-bucket pseudo-models (`fireworks-ai-up-to-4b`) are skipped.
  When two LiteLLM entries land on one (provider, model), the preferred LiteLLM provider wins
  (`LITELLM_PREFERENCE`), then the shorter key; the loser is reported in `skipped`.

genai-prices (pydantic/genai-prices `prices/data.json` (v1, frozen) and `prices/new_data/v2/data.json`
(live); same shape, v2 has more price keys, both parse here; USD per MTok):
- input_mtok, output_mtok, cache_read_mtok, cache_write_mtok (5-minute), cache_write_1h_mtok,
  output_reasoning_mtok, input_audio_mtok, output_audio_mtok, output_image_mtok, cache_audio_read_mtok;
  web_searches_kcount / requests_kcount -> per-unit "web_searches"/"requests" (divided by 1000).
- Tiered values {"base", "tiers": [{"start", "price"}]} become `Tier`s (a cliff on all prompt
  tokens, strictly above `start`; `>=` for xAI).
- A price list with `constraint.start_date` becomes one version per entry, effective from that date
  00:00 UTC; the entry without a constraint is in force since the beginning.
- Time-of-day constraints (start_time/end_time: DeepSeek off-peak) are NOT modelled. Note the data's
  shape: the unconstrained entry is the off-peak discount and the time window holds the standard
  rate, so we keep the STANDARD (higher) price list for the whole day. Off-peak calls are then
  over-stated by the discount, never under-stated. Each such model is reported in `skipped`.
- An empty price set is not a price (unpriced), except for `:free` ids, which are an explicit $0.
- `match` rules: explicit aliases are generated ONLY from `equals` clauses (at the top or inside
  `or`), returned as (provider, alias, canonical model). `contains`/`starts_with`/`ends_with`/
  `regex` patterns are never turned into aliases here (a price sync takes exact names only): fuzzy
  patterns at run time are how `claude-opus-4-7` got priced as `claude-opus-4`. The shipped catalog's
  build (scripts/build_catalog.py) evaluates them against the other list's exact keys instead.
- Provider ids map to catalog providers (aws -> bedrock, x-ai -> xai, moonshotai -> moonshot).
  genai-prices' synthetic Bedrock ids `regional.<id>` (its price for in-region and geo profiles)
  become `<id>` (the in-region id), unless that id is also listed.

OpenRouter (GET /api/v1/models, USD per token as decimal strings): prompt, completion,
input_cache_read, input_cache_write (5-minute), input_cache_write_1h, internal_reasoning; web_search
-> "web_searches", request -> "requests", image -> "input_images"; `overrides` with
min_prompt_tokens -> tiers, read as strictly above the threshold (the providers' own `>` rule).
A negative price (`-1`, variable pricing such as openrouter/auto) skips the model.
`canonical_slug` differing from `id` becomes an alias.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation
from typing import Any, NamedTuple

from margindash_cli.pricing.model import PriceVersion, Rates, Tier
from margindash_cli.pricing.resolve import canonical_vendor

SIGNIFICANT_DIGITS = 12  # float noise sits at the 16th-17th digit; list prices use at most ~10
_TIDY = Context(prec=SIGNIFICANT_DIGITS, rounding=ROUND_HALF_EVEN)
INCLUSIVE_TIER_PROVIDERS = frozenset({"xai"})  # providers whose long-context threshold is ">="

Alias = tuple[str, str, str]  # (provider, alias model id, canonical model id)


class ParseResult(NamedTuple):
    """What `read_*` returns; the `parse_*` functions return only the parts a price sync needs."""

    versions: list[PriceVersion]
    aliases: list[Alias]
    skipped: list[tuple[str, str]]  # (source key, why it was left out or altered)


# ---- numbers ---------------------------------------------------------------------------------


def decimal_of(value: Any) -> Decimal | None:
    """An exact Decimal of a JSON number or numeric string; None for null/NaN/non-numbers."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return Decimal(repr(value))
    if isinstance(value, (int, Decimal)):
        return Decimal(value)
    if isinstance(value, str):
        try:
            d = Decimal(value.strip())
        except InvalidOperation:
            return None
        return d if d.is_finite() else None
    return None


def tidy(d: Decimal) -> Decimal:
    """Round to SIGNIFICANT_DIGITS (removes float noise), drop trailing zeros, no exponent form."""
    d = _TIDY.plus(d) if len(d.as_tuple().digits) > SIGNIFICANT_DIGITS else d
    d = d.normalize()
    if d.as_tuple().exponent > 0:  # 3E+1 -> 30
        d = d.quantize(Decimal(1))
    return d


def per_token_to_mtok(value: Any) -> Decimal | None:
    """USD per token (3e-06) -> USD per MTok (3), exactly; None for missing or negative values."""
    d = decimal_of(value)
    if d is None or d < 0:
        return None
    return tidy(d.scaleb(6))


def usd(value: Any) -> Decimal | None:
    """A plain USD amount (per MTok or per unit), tidied; None for missing or negative values."""
    d = decimal_of(value)
    if d is None or d < 0:
        return None
    return tidy(d)


def _int_or_none(value: Any) -> int | None:
    d = decimal_of(value)
    if d is None or d <= 0 or d != d.to_integral_value():
        return None
    return int(d)


# ---- LiteLLM ---------------------------------------------------------------------------------

LITELLM_MODES = frozenset(
    {"chat", "completion", "responses", "embedding", "moderation", "realtime", "audio_speech", None}
)
LITELLM_RATE_FIELDS = {  # LiteLLM field -> Rates field
    "input_cost_per_token": "input",
    "output_cost_per_token": "output",
    "cache_read_input_token_cost": "cache_read",
    "cache_creation_input_token_cost": "cache_write_5m",
    "cache_creation_input_token_cost_above_1hr": "cache_write_1h",
    "output_cost_per_reasoning_token": "reasoning",
    "input_cost_per_audio_token": "input_audio",
    "output_cost_per_audio_token": "output_audio",
    "output_cost_per_image_token": "output_image",
    "cache_read_input_audio_token_cost": "cache_read_audio",
}
LITELLM_SERVICE_SUFFIXES = {"batches": "batch", "flex": "flex", "priority": "priority"}
LITELLM_UNIT_FIELDS = {  # LiteLLM per-unit field (USD) -> unit name
    "input_cost_per_request": "requests",
    "output_cost_per_image": "images",
    "input_cost_per_image": "input_images",
}
# When two LiteLLM providers give the same (provider, model), the earlier one here wins.
LITELLM_PREFERENCE = (
    "openai",
    "anthropic",
    "gemini",
    "vertex_ai-language-models",
    "vertex_ai",
    "bedrock_converse",
    "bedrock",
    "azure",
    "azure_ai",
    "xai",
    "mistral",
    "deepseek",
    "cohere_chat",
    "cohere",
)
_LITELLM_TIER = re.compile(r"^(?P<field>.+?)_above_(?P<k>\d+)k_tokens(?:_(?P<svc>batches|flex|priority))?$")
_PSEUDO_MODEL = re.compile(r"^(fireworks-ai|together-ai)-")  # LiteLLM's size-bucket fallbacks, not model ids


def _litellm_model_id(key: str, litellm_provider: str) -> str:
    head, slash, rest = key.partition("/")
    if slash and rest:
        family = {litellm_provider, litellm_provider.split("-")[0]}
        if litellm_provider.startswith("bedrock"):
            family.add("bedrock")
        if head in family:
            return rest
    return key


def _litellm_rates(entry: Mapping[str, Any], suffix: str = "") -> Rates | None:
    values = {}
    for src, dst in LITELLM_RATE_FIELDS.items():
        v = per_token_to_mtok(entry.get(src + suffix))
        if v is not None:
            values[dst] = v
    if not suffix and "cache_read" not in values:
        hit = per_token_to_mtok(entry.get("input_cost_per_token_cache_hit"))
        if hit is not None:
            values["cache_read"] = hit
    return Rates(**values) if values else None


def _litellm_tiers(entry: Mapping[str, Any], inclusive: bool) -> tuple[Tier, ...]:
    by_threshold: dict[int, dict[str | None, dict[str, Decimal]]] = {}
    for name, value in entry.items():
        m = _LITELLM_TIER.match(name)
        if not m or m["field"] not in LITELLM_RATE_FIELDS:
            continue
        v = per_token_to_mtok(value)
        if v is None:
            continue
        svc = LITELLM_SERVICE_SUFFIXES.get(m["svc"]) if m["svc"] else None
        by_threshold.setdefault(int(m["k"]) * 1000, {}).setdefault(svc, {})[LITELLM_RATE_FIELDS[m["field"]]] = v
    tiers = []
    for threshold, groups in sorted(by_threshold.items()):
        tiers.append(
            Tier(
                threshold=threshold,
                inclusive=inclusive,
                rates=Rates(**groups.get(None, {})),
                **{svc: Rates(**groups[svc]) for svc in ("batch", "flex", "priority") if svc in groups},
            )
        )
    return tuple(tiers)


def _litellm_units(entry: Mapping[str, Any]) -> dict[str, Decimal]:
    units = {}
    for src, name in LITELLM_UNIT_FIELDS.items():
        v = usd(entry.get(src))
        if v is not None:
            units[name] = v
    search = entry.get("search_context_cost_per_query")
    if isinstance(search, Mapping) and search:
        values = {usd(v) for v in search.values()}
        if len(values) == 1 and None not in values:
            units["web_searches"] = values.pop()
    return units


def parse_litellm(obj: Mapping[str, Any]) -> list[PriceVersion]:
    """LiteLLM's model map (the parsed JSON object) -> one version per (provider, model)."""
    return read_litellm(obj).versions


def read_litellm(obj: Mapping[str, Any]) -> ParseResult:
    """`parse_litellm` with what was skipped and why (for the catalog build)."""
    chosen: dict[tuple[str, str], tuple[tuple[int, int, str], PriceVersion, str]] = {}
    skipped: list[tuple[str, str]] = []
    rank_of = {p: i for i, p in enumerate(LITELLM_PREFERENCE)}
    for key, entry in obj.items():
        if key == "sample_spec" or not isinstance(entry, Mapping):
            continue
        lp = entry.get("litellm_provider")
        if not isinstance(lp, str) or not lp:
            skipped.append((key, "no litellm_provider"))
            continue
        mode = entry.get("mode")
        if mode not in LITELLM_MODES:
            skipped.append((key, f"mode {mode}: not billed per token"))
            continue
        provider = canonical_vendor(lp) or lp
        model = _litellm_model_id(key, lp)
        if provider == "bedrock" and "/" in model:
            skipped.append((key, "region- or commitment-specific Bedrock entry"))
            continue
        if _PSEUDO_MODEL.match(key):
            skipped.append((key, "size-bucket pseudo-model"))
            continue
        base = _litellm_rates(entry)
        if base is None or (base.input is None and base.output is None):
            skipped.append((key, "no token price"))
            continue
        version = PriceVersion(
            provider=provider,
            model=model,
            effective_from=None,
            source="litellm",
            base=base,
            tiers=_litellm_tiers(entry, provider in INCLUSIVE_TIER_PROVIDERS),
            **{svc: r for sfx, svc in LITELLM_SERVICE_SUFFIXES.items() if (r := _litellm_rates(entry, "_" + sfx))},
            units=_litellm_units(entry),
            context_window=_int_or_none(entry.get("max_input_tokens")),
            max_output=_int_or_none(entry.get("max_output_tokens")),
        )
        rank = (rank_of.get(lp, len(rank_of)), len(key), key)
        k = (provider, model)
        if k in chosen:
            other_rank, _, other_key = chosen[k]
            if rank < other_rank:
                skipped.append((other_key, f"duplicate of {key} for {provider}/{model}"))
                chosen[k] = (rank, version, key)
            else:
                skipped.append((key, f"duplicate of {other_key} for {provider}/{model}"))
            continue
        chosen[k] = (rank, version, key)
    versions = [v for _, v, _ in chosen.values()]
    return ParseResult(versions, [], skipped)


# ---- genai-prices ----------------------------------------------------------------------------

GENAI_RATE_FIELDS = {
    "input_mtok": "input",
    "output_mtok": "output",
    "cache_read_mtok": "cache_read",
    "cache_write_mtok": "cache_write_5m",
    "cache_write_1h_mtok": "cache_write_1h",
    "output_reasoning_mtok": "reasoning",
    "input_audio_mtok": "input_audio",
    "output_audio_mtok": "output_audio",
    "output_image_mtok": "output_image",
    "cache_audio_read_mtok": "cache_read_audio",
}
GENAI_UNIT_FIELDS = {"requests_kcount": "requests", "web_searches_kcount": "web_searches"}  # USD per 1000 units
BEDROCK_REGIONAL_PREFIX = "regional."  # genai-prices' synthetic id for in-region and geo profiles


def _genai_version(
    provider: str, model: str, prices: Mapping[str, Any], effective_from: datetime | None, context_window: int | None
) -> PriceVersion:
    base: dict[str, Decimal] = {}
    tiered: dict[int, dict[str, Decimal]] = {}
    for src, dst in GENAI_RATE_FIELDS.items():
        value = prices.get(src)
        if isinstance(value, Mapping):
            b = usd(value.get("base"))
            if b is not None:
                base[dst] = b
            for t in value.get("tiers") or ():
                p = usd(t.get("price"))
                start = _int_or_none(t.get("start"))
                if p is not None and start is not None:
                    tiered.setdefault(start, {})[dst] = p
        else:
            v = usd(value)
            if v is not None:
                base[dst] = v
    # A field without a tier at some threshold keeps the price of its own highest lower tier there.
    tiers = []
    carried: dict[str, Decimal] = {}
    for start in sorted(tiered):
        carried.update(tiered[start])
        tiers.append(Tier(threshold=start, inclusive=provider in INCLUSIVE_TIER_PROVIDERS, rates=Rates(**carried)))
    units = {}
    for src, name in GENAI_UNIT_FIELDS.items():
        v = usd(prices.get(src))
        if v is not None:
            units[name] = tidy(v / 1000)
    return PriceVersion(
        provider=provider,
        model=model,
        effective_from=effective_from,
        source="genai-prices",
        base=Rates(**base),
        tiers=tuple(tiers),
        units=units,
        context_window=context_window,
    )


def _has_token_price(prices: Mapping[str, Any]) -> bool:
    return prices.get("input_mtok") is not None or prices.get("output_mtok") is not None


def _base_input(prices: Mapping[str, Any]) -> Decimal:
    v = prices.get("input_mtok")
    if isinstance(v, Mapping):
        v = v.get("base")
    return usd(v) or Decimal(0)


def _equals_clauses(match: Any) -> Iterable[str]:
    """`equals` values at the top of a match rule or inside `or` (never inside `and`, never patterns)."""
    if not isinstance(match, Mapping):
        return
    if isinstance(match.get("equals"), str):
        yield match["equals"]
    for clause in match.get("or") or ():
        yield from _equals_clauses(clause)


def _genai_price_list(prices: Any) -> tuple[list[tuple[datetime | None, Mapping[str, Any]]], bool]:
    """[(effective_from, prices)] sorted by start, and whether a time-of-day window was dropped."""
    if isinstance(prices, Mapping):
        return [(None, prices)], False
    dated: list[tuple[datetime | None, Mapping[str, Any]]] = []
    windows: list[Mapping[str, Any]] = []
    for entry in prices or ():
        constraint = entry.get("constraint") or {}
        p = entry.get("prices") or {}
        if "start_time" in constraint or "end_time" in constraint:
            windows.append(p)
        elif "start_date" in constraint:
            d = date.fromisoformat(str(constraint["start_date"]))
            dated.append((datetime(d.year, d.month, d.day, tzinfo=UTC), p))
        else:
            dated.append((None, p))
    if windows:
        # Keep the standard (highest) rate for the whole day; see the module docstring.
        always = [p for eff, p in dated if eff is None]
        candidates = always + windows
        best = max(candidates, key=_base_input)
        dated = [(eff, p) for eff, p in dated if eff is not None] + [(None, best)]
    dated.sort(key=lambda e: (e[0] is not None, e[0] or datetime.min.replace(tzinfo=UTC)))
    return dated, bool(windows)


def parse_genai_prices(obj: Any) -> tuple[list[PriceVersion], list[Alias]]:
    """genai-prices data.json (v1) or v2/data.json -> (versions, aliases from `equals` clauses)."""
    result = read_genai_prices(obj)
    return result.versions, result.aliases


def read_genai_prices(obj: Any) -> ParseResult:
    """`parse_genai_prices` with what was skipped or altered and why (for the catalog build)."""
    providers = obj.get("providers", []) if isinstance(obj, Mapping) else obj
    versions: list[PriceVersion] = []
    aliases: list[Alias] = []
    skipped: list[tuple[str, str]] = []
    for p in providers or ():
        provider = canonical_vendor(p.get("id")) or str(p.get("id"))
        models = p.get("models") or ()
        listed = {m.get("id") for m in models}
        for m in models:
            mid = m.get("id")
            if not isinstance(mid, str) or not mid:
                continue
            source_key = f"{p.get('id')}/{mid}"
            model = mid
            if provider == "bedrock" and mid.startswith(BEDROCK_REGIONAL_PREFIX):
                model = mid[len(BEDROCK_REGIONAL_PREFIX) :]
                if model in listed:
                    skipped.append((source_key, f"regional id: {model} is listed itself"))
                    continue
            entries, had_window = _genai_price_list(m.get("prices"))
            if had_window:
                skipped.append((source_key, "time-of-day price window not modelled: standard price used all day"))
            if not entries or not all(_has_token_price(e) for _, e in entries):
                if mid.endswith(":free") and all(not e for _, e in entries):
                    entries = [(None, {"input_mtok": 0, "output_mtok": 0})]
                else:
                    skipped.append((source_key, "no token price"))
                    continue
            cw = _int_or_none(m.get("context_window"))
            for eff, prices in entries:
                versions.append(_genai_version(provider, model, prices, eff, cw))
            for name in dict.fromkeys(_equals_clauses(m.get("match"))):
                if name != model:
                    aliases.append((provider, name, model))
    return ParseResult(versions, aliases, skipped)


# ---- OpenRouter ------------------------------------------------------------------------------

OPENROUTER_RATE_FIELDS = {
    "prompt": "input",
    "completion": "output",
    "input_cache_read": "cache_read",
    "input_cache_write": "cache_write_5m",
    "input_cache_write_1h": "cache_write_1h",
    "internal_reasoning": "reasoning",
}
OPENROUTER_UNIT_FIELDS = {"web_search": "web_searches", "request": "requests", "image": "input_images"}


def _openrouter_rates(pricing: Mapping[str, Any]) -> dict[str, Decimal]:
    return {
        dst: v for src, dst in OPENROUTER_RATE_FIELDS.items() if (v := per_token_to_mtok(pricing.get(src))) is not None
    }


def parse_openrouter(obj: Any) -> list[PriceVersion]:
    """OpenRouter's /api/v1/models response ({"data": [...]}) -> one version per model."""
    return read_openrouter(obj).versions


def read_openrouter(obj: Any) -> ParseResult:
    """`parse_openrouter` with the `canonical_slug` aliases and what was skipped (for the catalog build)."""
    data = obj.get("data", []) if isinstance(obj, Mapping) else obj
    versions: list[PriceVersion] = []
    aliases: list[Alias] = []
    skipped: list[tuple[str, str]] = []
    for m in data or ():
        mid = m.get("id")
        pricing = m.get("pricing") or {}
        if not isinstance(mid, str) or not mid:
            continue
        numbers = [decimal_of(v) for k, v in pricing.items() if k != "overrides"]
        if any(d is not None and d < 0 for d in numbers):
            skipped.append((mid, "variable price"))
            continue
        base = _openrouter_rates(pricing)
        if "input" not in base and "output" not in base:
            skipped.append((mid, "no token price"))
            continue
        tiers = []
        for o in pricing.get("overrides") or ():
            threshold = _int_or_none(o.get("min_prompt_tokens"))
            if threshold is None:
                continue
            tiers.append(Tier(threshold=threshold, inclusive=False, rates=Rates(**_openrouter_rates(o))))
        units = {name: v for src, name in OPENROUTER_UNIT_FIELDS.items() if (v := usd(pricing.get(src))) is not None}
        top = m.get("top_provider") or {}
        versions.append(
            PriceVersion(
                provider="openrouter",
                model=mid,
                source="openrouter",
                base=Rates(**base),
                tiers=tuple(tiers),
                units=units,
                context_window=_int_or_none(m.get("context_length")),
                max_output=_int_or_none(top.get("max_completion_tokens")),
            )
        )
        slug = m.get("canonical_slug")
        if isinstance(slug, str) and slug and slug != mid:
            aliases.append(("openrouter", slug, mid))
    return ParseResult(versions, aliases, skipped)


__all__ = [
    "ParseResult",
    "decimal_of",
    "parse_genai_prices",
    "parse_litellm",
    "parse_openrouter",
    "per_token_to_mtok",
    "read_genai_prices",
    "read_litellm",
    "read_openrouter",
    "tidy",
    "usd",
]
