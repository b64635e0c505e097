"""The shipped catalog (pricing_data/catalog.json) and the merge rules of scripts/build_catalog.py."""

from __future__ import annotations

import importlib.util
import json
from datetime import datetime, timezone
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

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "fixtures" / "pricing"


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp() * 1000)


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
    data = ROOT / "pricing_data"
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
    res, version, cost = priced(catalog, "bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
                                input_tokens=100_000, output_tokens=10_000)  # fmt: skip
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


@pytest.fixture(scope="module")
def merged():
    build = build_module()
    genai = read_genai_prices(json.loads((FIXTURES / "genai_prices_v2_excerpt.json").read_text()))
    litellm = read_litellm(json.loads((FIXTURES / "litellm_excerpt.json").read_text()))
    old = read_litellm(json.loads((FIXTURES / "litellm_v1.55.0_excerpt.json").read_text()))
    return build.merge(genai, litellm, old, today=datetime(2026, 11, 23, tzinfo=timezone.utc))


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


def test_merge_alias_never_overrides_a_differently_priced_dated_entry(merged):
    versions, aliases, disagreements = merged
    assert versions[("openai", "gpt-4o-2024-05-13")][0].base.input == D("5")
    assert ("openai", "gpt-4o-2024-05-13") not in aliases
    assert any(
        d["kind"] == "alias" and d["model"] == "gpt-4o-2024-05-13" and d["winner"] == "litellm" for d in disagreements
    )


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
