"""Parsers of the public price lists, on verbatim excerpts in tests/fixtures/pricing/."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal as D
from pathlib import Path

import pytest

from margindash_cli.pricing.model import PriceVersion
from margindash_cli.pricing.sources import (
    decimal_of,
    parse_genai_prices,
    parse_litellm,
    parse_openrouter,
    per_token_to_mtok,
    read_genai_prices,
    read_litellm,
    read_openrouter,
    tidy,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "pricing"


def load(name: str):
    return json.loads((FIXTURES / name).read_text())


def by_key(versions: list[PriceVersion]) -> dict[tuple[str, str], list[PriceVersion]]:
    out: dict[tuple[str, str], list[PriceVersion]] = {}
    for v in versions:
        out.setdefault((v.provider, v.model), []).append(v)
    return out


# ---- numbers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "mtok"),
    [
        (3e-06, "3"),
        (1.25e-07, "0.125"),
        (6.25e-08, "0.0625"),
        (1.875e-06, "1.875"),
        (2.9999900000000002e-06, "2.99999"),  # float noise in the source text is removed
        (0.30001999999999996e-06, "0.30002"),
        (0.0, "0"),
        ("0.0000000833333333333333", "0.0833333333333"),  # OpenRouter's repeating decimal, 12 significant digits
        ("0.000003", "3"),
    ],
)
def test_per_token_to_mtok_is_exact(value, mtok):
    assert per_token_to_mtok(value) == D(mtok)
    assert format(per_token_to_mtok(value), "f") == mtok


def test_number_edge_cases():
    assert decimal_of(None) is None and decimal_of(True) is None and decimal_of(float("nan")) is None
    assert decimal_of("abc") is None
    assert per_token_to_mtok(-1) is None  # a negative price is not a price
    assert decimal_of(0.1) == D("0.1")  # repr, not the binary expansion 0.1000000000000000055...
    assert format(tidy(D("3E+1")), "f") == "30"


# ---- LiteLLM ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def litellm():
    return read_litellm(load("litellm_excerpt.json"))


def test_litellm_fields_map_to_rates(litellm):
    k = by_key(litellm.versions)
    [sonnet] = k[("anthropic", "claude-sonnet-4-5-20250929")]
    assert sonnet.base.to_dict() == {
        "input": "3",
        "output": "15",
        "cache_read": "0.3",
        "cache_write_5m": "3.75",
        "cache_write_1h": "6",
    }
    assert sonnet.batch.to_dict() == {"input": "1.5", "output": "7.5", "cache_read": "0.15", "cache_write_5m": "1.875"}
    assert (sonnet.source, sonnet.effective_from, sonnet.context_window, sonnet.max_output) == (
        "litellm",
        None,
        200_000,
        64_000,
    )
    [flash] = k[("google", "gemini-2.5-flash")]
    assert flash.base.reasoning == D("2.5")
    [o3] = k[("openai", "o3")]
    assert (o3.batch.input, o3.flex.cache_read, o3.priority.output) == (D("1"), D("0.25"), D("14"))


def test_litellm_long_context_tiers(litellm):
    k = by_key(litellm.versions)
    [pro] = k[("google", "gemini-2.5-pro")]
    [tier] = pro.tiers
    assert (tier.threshold, tier.inclusive) == (200_000, False)
    assert tier.rates.to_dict() == {"input": "2.5", "output": "15", "cache_read": "0.25"}
    assert tier.batch.to_dict() == {"input": "1.25", "output": "7.5", "cache_read": "0.25"}
    assert tier.priority.input == D("4.5")
    [bedrock] = k[("bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0")]
    assert bedrock.tiers[0].rates.cache_write_1h == D(
        "13.2"
    )  # cache_creation_input_token_cost_above_1hr_above_200k_tokens
    [grok] = k[("xai", "grok-4.3")]
    assert grok.tiers[0].inclusive is True  # xAI counts the threshold itself as long context


def test_litellm_units(litellm):
    k = by_key(litellm.versions)
    assert dict(k[("openai", "gpt-4o-search-preview")][0].units) == {"web_searches": D("0.025")}
    assert dict(k[("perplexity", "pplx-70b-online")][0].units) == {"requests": D("0.005")}
    assert dict(k[("openai", "gpt-4o")][0].units) == {}


def test_litellm_ids_and_providers(litellm):
    keys = set(by_key(litellm.versions))
    assert ("google", "gemini-2.5-pro") in keys  # `gemini/` routing prefix dropped, gemini -> google
    assert ("azure", "eu/gpt-4o") in keys
    assert ("deepseek", "deepseek-chat") in keys
    assert ("openai", "gpt-4o-2024-05-13") in keys and ("openai", "gpt-4o") in keys


def test_litellm_skips_what_it_cannot_price(litellm):
    reasons = dict(litellm.skipped)
    assert reasons["gpt-image-1.5"].startswith("mode image_generation")
    assert "region" in reasons["bedrock/ap-northeast-1/anthropic.claude-v1"]
    assert "pseudo-model" in reasons["fireworks-ai-up-to-4b"]
    # two LiteLLM providers for google/gemini-2.5-pro: the Gemini API entry wins, the loser is reported
    assert reasons["gemini-2.5-pro"].startswith("duplicate of gemini/gemini-2.5-pro")
    assert "sample_spec" not in reasons and ("sample_spec", "x") not in litellm.versions


def test_litellm_float_noise_is_removed(litellm):
    [v] = by_key(litellm.versions)[("databricks", "databricks-claude-sonnet-4-1")]
    assert v.base.input == D("2.99999") and v.base.output == D("15.00002")


def test_litellm_old_snapshot_parses():
    old = by_key(parse_litellm(load("litellm_v1.55.0_excerpt.json")))
    assert old[("anthropic", "claude-3-5-sonnet-20241022")][0].base.input == D("3")


# ---- genai-prices ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def genai():
    return read_genai_prices(load("genai_prices_v2_excerpt.json"))


def test_genai_start_dates_become_versions(genai):
    o3 = by_key(genai.versions)[("openai", "o3")]
    assert [(v.effective_from, v.base.input, v.base.output) for v in o3] == [
        (None, D("10"), D("40")),
        (datetime(2025, 6, 10, tzinfo=UTC), D("2"), D("8")),
    ]
    opus = by_key(genai.versions)[("anthropic", "claude-opus-4-6")]
    assert [len(v.tiers) for v in opus] == [1, 0]  # the long-context premium dropped on 2026-03-13


def test_genai_tiered_prices(genai):
    [sonnet] = by_key(genai.versions)[("anthropic", "claude-sonnet-4-5")]
    [tier] = sonnet.tiers
    assert (tier.threshold, tier.inclusive) == (200_000, False)
    assert tier.rates.to_dict() == {
        "input": "6",
        "output": "22.5",
        "cache_read": "0.6",
        "cache_write_5m": "7.5",
        "cache_write_1h": "12",
    }
    assert sonnet.units["web_searches"] == D("0.01")  # web_searches_kcount 10 = $0.01 each


def test_genai_time_of_day_windows_keep_the_standard_price(genai):
    [chat] = by_key(genai.versions)[("deepseek", "deepseek-chat")]
    # the unconstrained entry is the off-peak discount (0.135); the 00:30-16:30 UTC window is the standard rate
    assert (chat.base.input, chat.base.output, chat.effective_from) == (D("0.27"), D("1.1"), None)
    assert (
        "deepseek/deepseek-chat",
        "time-of-day price window not modelled: standard price used all day",
    ) in genai.skipped


def test_genai_aliases_only_from_equals(genai):
    aliases = set(genai.aliases)
    assert ("openai", "o3-2025-04-16", "o3") in aliases
    assert ("openai", "gpt-4o-2024-05-13", "gpt-4o") in aliases
    assert ("anthropic", "claude-opus-4", "claude-opus-4-0") in aliases
    assert ("xai", "grok-4.3-latest", "grok-4.3") in aliases
    # starts_with/contains/regex never become aliases
    assert not [a for a in aliases if a[2] in ("claude-opus-4-7", "claude-sonnet-4-5", "gemini-2.5-pro")]
    assert not [a for a in aliases if a[1] in ("claude-opus-4-7", "claude-4-opus", "claude-opus-4-0")]


def test_genai_provider_ids_and_bedrock_regional_ids(genai):
    keys = set(by_key(genai.versions))
    assert ("bedrock", "anthropic.claude-sonnet-4-5-20250929-v1:0") in keys  # regional. -> in-region id
    assert ("bedrock", "global.anthropic.claude-sonnet-4-5-20250929-v1:0") in keys
    assert ("xai", "grok-4.3") in keys and ("google", "gemini-2.5-pro") in keys


def test_genai_empty_prices_are_unpriced_except_free_ids(genai):
    k = by_key(genai.versions)
    assert ("openai", "moderation") not in k
    assert ("openai/moderation", "no token price") in genai.skipped
    [free] = k[("openrouter", "x-ai/grok-4.1-fast:free")]
    assert (free.base.input, free.base.output) == (D(0), D(0))


def test_genai_v1_and_v2_parse_alike():
    v1 = by_key(parse_genai_prices(load("genai_prices_v1_excerpt.json"))[0])
    v2 = by_key(parse_genai_prices(load("genai_prices_v2_excerpt.json"))[0])
    assert v1[("openai", "o3")] == v2[("openai", "o3")]
    assert v1[("openai", "gpt-4o")][0].base == v2[("openai", "gpt-4o")][0].base
    assert v1[("google", "gemini-1.5-pro")][0].tiers[0].threshold == 128_000


# ---- OpenRouter ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def openrouter():
    return read_openrouter(load("openrouter_models_sample.json"))


def test_openrouter_prices(openrouter):
    k = by_key(openrouter.versions)
    [flash] = k[("openrouter", "google/gemini-2.5-flash")]
    assert flash.base.to_dict() == {
        "input": "0.3",
        "output": "2.5",
        "cache_read": "0.03",
        "cache_write_5m": "0.0833333333333",
        "reasoning": "2.5",
    }
    assert flash.units["web_searches"] == D("0.014")
    assert (flash.context_window, flash.max_output, flash.source) == (1_048_576, 65_535, "openrouter")
    [sonnet] = k[("openrouter", "anthropic/claude-sonnet-4")]
    assert sonnet.base.cache_write_1h == D("6")
    assert (sonnet.tiers[0].threshold, sonnet.tiers[0].rates.output) == (200_000, D("22.5"))
    assert k[("openrouter", "deepseek/deepseek-chat")][0].base.input == D("0.2574")


def test_openrouter_slug_aliases(openrouter):
    assert ("openrouter", "anthropic/claude-4-sonnet-20250522", "anthropic/claude-sonnet-4") in openrouter.aliases
    assert all(alias != model for _, alias, model in openrouter.aliases)


def test_openrouter_variable_price_is_skipped():
    r = read_openrouter({"data": [{"id": "openrouter/auto", "pricing": {"prompt": "-1", "completion": "-1"}}]})
    assert r.versions == [] and r.skipped == [("openrouter/auto", "variable price")]


def test_parse_functions_return_what_a_price_sync_needs():
    litellm = parse_litellm(load("litellm_excerpt.json"))
    assert isinstance(litellm, list) and all(isinstance(v, PriceVersion) for v in litellm)
    versions, aliases = parse_genai_prices(load("genai_prices_v2_excerpt.json"))
    assert all(isinstance(v, PriceVersion) for v in versions)
    assert all(len(a) == 3 for a in aliases)
    assert [v.model for v in parse_openrouter(load("openrouter_models_sample.json"))][:2] == [
        "google/gemini-2.5-flash",
        "anthropic/claude-sonnet-4",
    ]
