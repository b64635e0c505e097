"""The shipped catalog (margindash_cli/pricing/data/catalog.json) and the merge rules of scripts/build_catalog.py."""

from __future__ import annotations

import importlib.util
import json
from datetime import UTC, datetime
from decimal import Decimal as D
from pathlib import Path

import pytest

from margindash_cli.pricing.catalog import (
    Catalog,
    catalog_from_dict,
    catalog_to_dict,
    dump_catalog,
    load_shipped_catalog,
)
from margindash_cli.pricing.cost import cost_of, format_usd
from margindash_cli.pricing.model import PriceVersion, Rates
from margindash_cli.pricing.resolve import Resolution
from margindash_cli.pricing.sources import read_genai_prices, read_litellm

ROOT = Path(__file__).resolve().parent.parent.parent
FIXTURES = Path(__file__).parent.parent / "fixtures" / "pricing"


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_shipped_catalog()


def priced(catalog: Catalog, vendor, model, when="2026-11-01T00:00:00", **tokens):
    found = catalog.find(vendor, model, ms(when))
    assert found is not None, (vendor, model)
    res, version = found
    return res, version, cost_of(version, **tokens)


# ---- the shipped file ------------------------------------------------------------------------


def test_shipped_catalog_loads_with_sources_and_models(catalog):
    assert len(catalog) > 1000
    assert catalog.version
    names = {s["name"] for s in catalog.sources}
    assert {"genai-prices", "litellm"} <= names
    assert all(s.get("commit") and s.get("license") for s in catalog.sources)
    providers = {p for p, _ in catalog.keys()}
    assert {"openai", "anthropic", "google", "bedrock", "azure", "xai", "deepseek", "mistral"} <= providers
    assert load_shipped_catalog() is catalog  # parsed once per process


def test_shipped_files_are_attributed():
    data = ROOT / "margindash_cli" / "pricing" / "data"
    assert (data / "LICENSE.genai-prices").exists() and (data / "LICENSE.litellm").exists()
    text = (data / "ATTRIBUTION.md").read_text()
    assert "pydantic/genai-prices" in text and "BerriAI/litellm" in text and "MIT" in text
    assert (data / "catalog.json").stat().st_size < 3_000_000
    report = json.loads((data / "price_disagreements.json").read_text())
    assert report["threshold"] == "0.01" and report["disagreements"]


def test_catalog_round_trips(catalog):
    again = catalog_from_dict(json.loads(dump_catalog(catalog)))
    assert again.versions == catalog.versions and again.aliases == catalog.aliases
    assert catalog_to_dict(again) == catalog_to_dict(catalog)


# ---- resolution paths on the shipped catalog -------------------------------------------------


def test_o3_price_change_on_2025_06_10(catalog):
    before = priced(catalog, "openai", "o3", "2025-06-01T00:00:00", input_tokens=10_000_000, output_tokens=1_000_000)
    after = priced(catalog, "openai", "o3", "2025-06-11T00:00:00", input_tokens=10_000_000, output_tokens=1_000_000)
    assert before[0] == Resolution("openai", "o3", "exact")
    assert (format_usd(before[2].total), format_usd(after[2].total)) == ("140", "28")


def test_dated_o3_name_gets_o3_history_through_its_alias(catalog):
    res, _, cost = priced(
        catalog, "openai", "o3-2025-04-16", "2025-06-01T00:00:00", input_tokens=10_000_000, output_tokens=1_000_000
    )
    assert res == Resolution("openai", "o3", "alias")
    assert format_usd(cost.total) == "140"


def test_gpt_4o_2024_05_13_is_not_gpt_4o(catalog):
    dated = priced(catalog, "openai", "gpt-4o-2024-05-13", input_tokens=1_000_000, output_tokens=1_000_000)
    plain = priced(catalog, "openai", "gpt-4o", input_tokens=1_000_000, output_tokens=1_000_000)
    assert dated[0] == Resolution("openai", "gpt-4o-2024-05-13", "exact")
    assert (dated[1].base.input, dated[1].base.output) == (D("5"), D("15"))
    assert (plain[1].base.input, plain[1].base.output) == (D("2.5"), D("10"))
    assert (format_usd(dated[2].total), format_usd(plain[2].total)) == ("20", "12.5")


def test_no_fuzzy_match_for_claude_opus_4_7(catalog):
    res, version, _ = priced(catalog, "anthropic", "claude-opus-4-7")
    assert res == Resolution("anthropic", "claude-opus-4-7", "exact")
    assert (version.base.input, version.base.output) == (D("5"), D("25"))  # not claude-opus-4's 15 / 75
    assert catalog.resolve("anthropic", "claude-opus-4-9") is None  # an unknown sibling is unpriced, not claude-opus-4
    assert catalog.resolve("anthropic", "claude-opus-4-7-20991231") is None  # a date is never stripped


def test_bedrock_us_profile(catalog):
    res, version, cost = priced(
        catalog, "bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", input_tokens=100_000, output_tokens=10_000
    )
    assert res == Resolution("bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", "exact")
    assert format_usd(cost.total) == "0.495"  # 3.30 / 16.50: geo profiles cost 10% more than global
    glob = priced(
        catalog,
        "bedrock",
        "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
        input_tokens=100_000,
        output_tokens=10_000,
    )
    assert format_usd(glob[2].total) == "0.45"
    # the same geo id arriving through a LiteLLM-style routing prefix resolves to the same price
    assert catalog.resolve("bedrock", "bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0").model == res.model


def test_bedrock_profile_without_a_bedrock_price_uses_the_makers_price(catalog):
    assert catalog.resolve("bedrock", "us.anthropic.claude-opus-4-7-20260416-v1:0") == Resolution(
        "anthropic", "claude-opus-4-7-20260416", "origin"
    )


def test_routing_prefixes_and_vendor_spellings(catalog):
    assert catalog.resolve("gemini", "gemini-2.5-pro") == Resolution("google", "gemini-2.5-pro", "exact")
    assert catalog.resolve("vertex_ai", "claude-sonnet-4-5@20250929").provider == "google"
    assert catalog.resolve("openai", "openai/gpt-4.1") == Resolution("openai", "gpt-4.1", "normalized")
    assert catalog.resolve("anthropic", "claude-3.5-sonnet-20241022") == Resolution(
        "anthropic", "claude-3-5-sonnet-20241022", "normalized"
    )


def test_documented_claude_snapshots_are_priced_through_curated_aliases(catalog):
    res, version, _ = priced(catalog, "anthropic", "claude-sonnet-4-20250514")
    assert res == Resolution("anthropic", "claude-sonnet-4-0", "alias")
    assert (version.base.input, version.base.output) == (D("3"), D("15"))
    assert catalog.resolve("anthropic", "claude-sonnet-4-20250514-v9") is None  # an alias is exact, never a pattern


def test_gemini_25_pro_long_context_from_the_catalog(catalog):
    _, _, above = priced(catalog, "google", "gemini-2.5-pro", input_tokens=250_000, output_tokens=5_000)
    _, _, at = priced(catalog, "google", "gemini-2.5-pro", input_tokens=200_000, output_tokens=5_000)
    assert (format_usd(above.total), format_usd(at.total)) == ("0.7", "0.3")


def test_unknown_model_is_unpriced(catalog):
    assert catalog.resolve("acme", "acme-llm-9000") is None
    assert catalog.resolve(None, "acme-llm-9000") is None
    assert catalog.find("openai", "gpt-9-ultra", ms("2026-01-01T00:00:00")) is None


# ---- merge rules (scripts/build_catalog.py) on the fixture excerpts ---------------------------


def build_module():
    spec = importlib.util.spec_from_file_location("build_catalog", ROOT / "scripts" / "build_catalog.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GPT_4O_2024_05_13 = {
    "provider": "openai",
    "model": "gpt-4o-2024-05-13",
    "basis": "https://platform.openai.com/docs/pricing",
    "versions": [{"base": {"input": "5", "output": "15"}}],
}


@pytest.fixture(scope="module")
def merged():
    build = build_module()
    raw = json.loads((FIXTURES / "genai_prices_v2_excerpt.json").read_text())
    genai = read_genai_prices(raw)
    litellm = read_litellm(json.loads((FIXTURES / "litellm_excerpt.json").read_text()))
    old = read_litellm(json.loads((FIXTURES / "litellm_v1.55.0_excerpt.json").read_text()))
    return build.merge(
        genai,
        litellm,
        old,
        today=datetime(2026, 11, 23, tzinfo=UTC),
        rules=build.Rules(raw, build.KEEP_PROVIDERS),
        overrides=[GPT_4O_2024_05_13],
    )


def test_merge_genai_wins_a_disagreement_and_it_is_recorded(merged):
    versions, _, disagreements = merged
    [chat] = versions[("deepseek", "deepseek-chat")]
    assert (chat.source, chat.base.input) == ("genai-prices", D("0.27"))
    [d] = [d for d in disagreements if d["model"] == "deepseek-chat"]
    assert d["winner"] == "genai-prices" and d["litellm"] == {"input": "0.28", "output": "0.42"}


def test_merge_keeps_history_and_completes_the_current_version(merged):
    versions, _, _ = merged
    o3 = versions[("openai", "o3")]
    assert [v.base.input for v in o3] == [D("10"), D("2")]
    assert o3[0].batch is None  # today's batch rates are not pushed into the past
    assert o3[1].batch.to_dict() == {"input": "1", "output": "4"}  # from LiteLLM
    [gpt5] = versions[("openai", "gpt-5")]
    assert gpt5.source == "genai-prices" and gpt5.priority.output == D("20")


def test_merge_alias_folds_a_same_priced_dated_name_into_its_history(merged):
    versions, aliases, _ = merged
    assert ("openai", "o3-2025-04-16") not in versions
    assert aliases[("openai", "o3-2025-04-16")] == ("openai", "o3")


def test_merge_a_reviewed_override_pins_a_dated_entry_genai_prices_folds_into_its_model(merged):
    # genai-prices lists gpt-4o-2024-05-13 as an `equals` name of gpt-4o ($2.50/$10); OpenAI bills it $5/$15.
    versions, aliases, disagreements = merged
    assert versions[("openai", "gpt-4o-2024-05-13")][0].base.input == D("5")
    assert ("openai", "gpt-4o-2024-05-13") not in aliases
    [d] = [d for d in disagreements if d["model"] == "gpt-4o-2024-05-13"]
    assert d["kind"] == "override" and d["winner"] == "override" and "platform.openai.com" in d["why"]


def test_merge_takes_litellm_tiers_only_where_genai_has_none(merged):
    versions, _, _ = merged
    [grok] = versions[("xai", "grok-4.3")]
    assert grok.source == "genai-prices" and grok.tiers[0].threshold == 200_000 and grok.tiers[0].inclusive
    opus = versions[("anthropic", "claude-opus-4-6")]
    assert opus[-1].tiers == ()  # genai-prices dropped the premium: not re-added from elsewhere


def test_merge_keeps_models_only_in_the_old_snapshot_and_filters_providers(merged):
    versions, _, _ = merged
    assert ("anthropic", "claude-3-5-sonnet-20241022") in versions
    assert not [k for k in versions if k[0] == "databricks"]


def test_catalog_file_format_is_versioned():
    from margindash_cli.pricing.catalog import CatalogError

    with pytest.raises(CatalogError):
        catalog_from_dict({"format": 99})
    c = Catalog(
        "2026-01-01", (), {("x", "m"): (PriceVersion("x", "m", base=Rates(input=D("1"))),)}, {("x", "n"): ("x", "m")}
    )
    assert catalog_from_dict(json.loads(dump_catalog(c))).resolve("x", "n") == Resolution("x", "m", "alias")


# ---- issue #14: genai-prices match rules at build time, overrides, time windows ----------------


def test_rule_patterns_reach_snapshot_names_only():
    build = build_module()
    rule = {"or": [{"starts_with": "claude-sonnet-5"}, {"contains": "us.anthropic.claude-sonnet-5"}]}
    assert build.rule_matches(rule, "claude-sonnet-5-20260101") == "starts_with 'claude-sonnet-5'"
    assert build.rule_matches(rule, "us.anthropic.claude-sonnet-5-v1:0") == "contains 'us.anthropic.claude-sonnet-5'"
    assert build.rule_matches(rule, "claude-sonnet-5-5") is None  # another model, never a prefix guess
    assert build.rule_matches(rule, "claude-sonnet-5-5", strict=False) == "starts_with 'claude-sonnet-5'"
    assert build.rule_matches({"contains": "gemini-1.5-flash"}, "gemini-1.5-flash-8b") is None
    assert (
        build.rule_matches({"contains": "meta.llama3-2-1b"}, "eu.meta.llama3-2-1b") is None
    )  # a geo prefix is a price
    assert build.rule_matches({"equals": "phi-4"}, "Phi-4") is None  # case-sensitive, as genai-prices writes ids
    assert build.rule_matches({"regex": r"^grok-4\.3-\d{8}$"}, "grok-4.3-20260101")
    assert build.rule_matches({"and": [{"starts_with": "a"}, {"ends_with": "a"}]}, "a")


def test_merge_a_pattern_rule_gives_a_litellm_key_genai_prices_tier(merged):
    # LiteLLM lists claude-sonnet-4-5-20250929 with no long-context tier; genai-prices reaches it with
    # `starts_with claude-sonnet-4-5` (3/15, 6/22.50 above 200k): the same price today, so the key keeps
    # genai-prices' versions, tier included, completed with LiteLLM's batch rates.
    versions, aliases, _ = merged
    assert ("anthropic", "claude-sonnet-4-5-20250929") not in aliases
    [v] = versions[("anthropic", "claude-sonnet-4-5-20250929")]
    assert (v.source, v.tiers[0].rates.input, v.tiers[0].rates.output, v.batch.input) == (
        "genai-prices",
        D("6"),
        D("22.5"),
        D("1.5"),
    )


def test_merge_in_region_bedrock_id_takes_the_tier_of_the_agreeing_geo_entry(merged):
    versions, _, _ = merged
    [v] = versions[("bedrock", "anthropic.claude-sonnet-4-5-20250929-v1:0")]
    assert (v.base.input, v.base.output) == (D("3.3"), D("16.5"))
    assert (v.tiers[0].threshold, v.tiers[0].rates.input, v.tiers[0].rates.output) == (200_000, D("6.6"), D("24.75"))


def test_override_can_drop_a_raise_that_never_took_effect(merged):
    build = build_module()
    raw = json.loads((FIXTURES / "genai_prices_v2_excerpt.json").read_text())
    genai = read_genai_prices(raw)
    litellm = read_litellm(json.loads((FIXTURES / "litellm_excerpt.json").read_text()))
    o3 = {"provider": "openai", "model": "o3", "basis": "a test", "drop_versions_from": "2025-06-10"}
    versions, _, decisions = build.merge(
        genai,
        litellm,
        today=datetime(2026, 11, 23, tzinfo=UTC),
        rules=build.Rules(raw, build.KEEP_PROVIDERS),
        overrides=[o3],
    )
    assert [v.base.input for v in versions[("openai", "o3")]] == [D("10")]
    [d] = [d for d in decisions if d["model"] == "o3"]
    assert d["winner"] == "override" and d["why"] == "a test"


def test_shipped_overrides_each_have_a_basis_and_are_in_the_catalog(catalog):
    data = json.loads((ROOT / "margindash_cli" / "pricing" / "data" / "overrides.json").read_text())
    for o in data["overrides"]:
        assert "checked 20" in o["basis"] and "https://" in o["basis"]
        for model in o.get("models") or [o["model"]]:
            assert (o["provider"], model) in catalog.versions


def test_deepseek_off_peak_window_prices_by_utc_time_of_day(catalog):
    def cost(when):
        return format_usd(
            priced(catalog, "deepseek", "deepseek-chat", when, input_tokens=1_000_000, output_tokens=1_000_000)[2].total
        )

    assert cost("2025-06-01T16:29:59") == "1.37"
    assert cost("2025-06-01T16:30:00") == "0.685"  # the window wraps midnight
    assert cost("2025-06-02T00:29:59") == "0.685"
    assert cost("2025-06-02T00:30:00") == "1.37"
    assert cost("2026-11-16T17:00:00") == "0.7"  # no discount in the V3.2 era


def test_window_round_trips_and_refuses_a_bad_time():
    from margindash_cli.pricing.model import Window

    v = PriceVersion(
        "x", "m", base=Rates(input=D("1"), output=D("2")), windows=(Window(990, 30, Rates(input=D("0.5"))),)
    )
    assert PriceVersion.from_dict(v.to_dict()) == v
    assert v.to_dict()["windows"] == [{"start": "16:30", "end": "00:30", "rates": {"input": "0.5"}}]
    night = v.at_time(ms("2026-01-01T23:00:00"))
    assert (night.base.input, night.base.output) == (D("0.5"), D("2")) and night is v.at_time(
        ms("2026-01-01T01:00:00") - 3_600_000
    )
    assert v.at_time(ms("2026-01-01T12:00:00")) is v
    with pytest.raises(ValueError):
        Window.from_dict({"start": "25:00", "end": "01:00"})


def test_bedrock_in_region_id_without_version_prefers_the_v1_entry_over_a_vertex_style_key(catalog):
    res = catalog.resolve("bedrock", "anthropic.claude-haiku-4-5-20251001")
    assert res == Resolution("bedrock", "anthropic.claude-haiku-4-5-20251001-v1:0", "normalized")


def test_fireworks_model_path_without_a_vendor_is_priced_at_fireworks(catalog):
    res = catalog.resolve(None, "accounts/fireworks/models/llama-v3p1-8b-instruct")
    assert res == Resolution("fireworks", "accounts/fireworks/models/llama-v3p1-8b-instruct", "normalized")
