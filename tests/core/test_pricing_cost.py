"""The arithmetic of one call, on hand-built prices with the rates of PRICING_RULES.md.

Every worked number of PRICING_RULES.md is reproduced here to the exact decimal.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

from margindash_cli.pricing.cost import cost_of, effective_rates, format_usd
from margindash_cli.pricing.model import PriceVersion, Rates, Tier
from margindash_cli.pricing.resolve import price_at


def usd(breakdown) -> str:
    return format_usd(breakdown.total)


SONNET_45 = PriceVersion(
    "anthropic",
    "claude-sonnet-4-5",
    base=Rates(input=D("3"), output=D("15"), cache_read=D("0.30"), cache_write_5m=D("3.75"), cache_write_1h=D("6")),
)
GPT_5 = PriceVersion(
    "openai",
    "gpt-5",
    base=Rates(input=D("1.25"), output=D("10"), cache_read=D("0.125")),
    batch=Rates(input=D("0.625"), output=D("5"), cache_read=D("0.0625")),
    priority=Rates(input=D("2.5"), output=D("20"), cache_read=D("0.25")),
)
GEMINI_25_FLASH = PriceVersion(
    "google", "gemini-2.5-flash", base=Rates(input=D("0.30"), output=D("2.50"), cache_read=D("0.03"))
)
GEMINI_25_PRO = PriceVersion(
    "google",
    "gemini-2.5-pro",
    base=Rates(input=D("1.25"), output=D("10"), cache_read=D("0.125")),
    tiers=(Tier(200_000, inclusive=False, rates=Rates(input=D("2.50"), output=D("15"), cache_read=D("0.25"))),),
)


# ---- 1. the canonical vector ------------------------------------------------------------------


def test_anthropic_sonnet_45_cache_write_and_read_is_0_138():
    # Anthropic usage: input_tokens 1,000 (excludes cache), cache_creation 20,000 (5m), cache_read 100,000,
    # output 2,000. Canonical: input_tokens counts all 121,000 prompt tokens.
    b = cost_of(
        SONNET_45, input_tokens=121_000, cached_input_tokens=100_000, cache_write_tokens=20_000, output_tokens=2_000
    )
    assert usd(b) == "0.138"
    assert b.total == 138_000_000_000
    assert (b.uncached_input, b.cache_write_5m, b.cache_read, b.output) == (
        3_000_000_000,  # 0.003
        75_000_000_000,  # 0.075
        30_000_000_000,  # 0.030
        30_000_000_000,  # 0.030
    )
    assert b.cache_write_1h == b.reasoning == b.units == 0


def test_anthropic_bug_of_billing_cache_as_full_input_gives_0_498():
    # The 3.6x overcharge: 121,000 tokens at full price plus the cache charges.
    wrong = cost_of(SONNET_45, input_tokens=121_000, output_tokens=2_000).total + 75_000_000_000 + 30_000_000_000
    assert format_usd(wrong) == "0.498"


def test_anthropic_one_hour_cache_writes_bill_at_the_1h_rate():
    all_1h = cost_of(
        SONNET_45,
        input_tokens=121_000,
        cached_input_tokens=100_000,
        cache_write_tokens=20_000,
        cache_write_1h_tokens=20_000,
        output_tokens=2_000,
    )
    assert usd(all_1h) == "0.183"  # 0.003 + 20,000 x 6/MTok 0.12 + 0.03 + 0.03
    assert (all_1h.cache_write_5m, all_1h.cache_write_1h) == (0, 120_000_000_000)
    split = cost_of(
        SONNET_45,
        input_tokens=121_000,
        cached_input_tokens=100_000,
        cache_write_tokens=20_000,
        cache_write_1h_tokens=10_000,
        output_tokens=2_000,
    )
    assert usd(split) == "0.1605"  # 10,000 x 3.75 = 0.0375 and 10,000 x 6 = 0.06


def test_openai_gpt5_cached_and_reasoning_is_0_0475():
    b = cost_of(GPT_5, input_tokens=50_000, cached_input_tokens=40_000, output_tokens=3_000, reasoning_tokens=2_000)
    assert usd(b) == "0.0475"
    assert format_usd(b.uncached_input) == "0.0125"
    assert format_usd(b.cache_read) == "0.005"
    assert format_usd(b.output + b.reasoning) == "0.03"  # reasoning is part of the 3,000, billed once


def test_openai_gpt5_the_two_bugs():
    # Not subtracting the cache: all 50,000 at the input rate, and the 40,000 cached billed again on top.
    all_full_price = cost_of(GPT_5, input_tokens=50_000, output_tokens=3_000).total
    assert format_usd(all_full_price + 40_000 * 125_000) == "0.0975"
    on_top = cost_of(
        GPT_5, input_tokens=50_000, cached_input_tokens=40_000, output_tokens=5_000, reasoning_tokens=2_000
    )
    assert format_usd(on_top.total - 475 * 10**8) == "0.02"


def test_gemini_25_flash_thoughts_are_output_0_0080():
    # usageMetadata: promptTokenCount 10,000, candidatesTokenCount 500, thoughtsTokenCount 1,500 (on top).
    b = cost_of(GEMINI_25_FLASH, input_tokens=10_000, output_tokens=500 + 1_500, reasoning_tokens=1_500)
    assert usd(b) == "0.008"
    assert D(usd(b)) == D("0.0080")
    dropped = cost_of(GEMINI_25_FLASH, input_tokens=10_000, output_tokens=500)
    assert usd(dropped) == "0.00425"


def test_reasoning_rate_is_used_where_the_model_has_one():
    p = PriceVersion("x", "m", base=Rates(input=D("1"), output=D("10"), reasoning=D("20")))
    b = cost_of(p, output_tokens=3_000, reasoning_tokens=1_000)
    assert (format_usd(b.output), format_usd(b.reasoning)) == ("0.02", "0.02")
    same = PriceVersion("x", "m", base=Rates(input=D("1"), output=D("10")))
    assert usd(cost_of(same, output_tokens=3_000, reasoning_tokens=1_000)) == "0.03"


# ---- 2. cache rates ---------------------------------------------------------------------------


def test_cached_tokens_without_a_cache_price_bill_at_input_rate():
    p = PriceVersion("x", "m", base=Rates(input=D("2"), output=D("8")))
    b = cost_of(p, input_tokens=1_000_000, cached_input_tokens=600_000, cache_write_tokens=100_000)
    assert usd(b) == "2"
    assert (b.uncached_input, b.cache_read, b.cache_write_5m) == (600_000_000_000, 1_200_000_000_000, 200_000_000_000)


def test_one_hour_write_fallbacks():
    claude = PriceVersion(
        "bedrock", "us.anthropic.claude-x-v1:0", base=Rates(input=D("3"), output=D("15"), cache_write_5m=D("3.75"))
    )
    assert (
        usd(cost_of(claude, input_tokens=1_000_000, cache_write_tokens=1_000_000, cache_write_1h_tokens=1_000_000))
        == "6"
    )
    other = PriceVersion("google", "gemini-x", base=Rates(input=D("1"), output=D("4"), cache_write_5m=D("1.5")))
    assert (
        usd(cost_of(other, input_tokens=1_000_000, cache_write_tokens=1_000_000, cache_write_1h_tokens=1_000_000))
        == "1.5"
    )
    bare = PriceVersion("google", "gemini-y", base=Rates(input=D("1"), output=D("4")))
    assert (
        usd(cost_of(bare, input_tokens=1_000_000, cache_write_tokens=1_000_000, cache_write_1h_tokens=1_000_000)) == "1"
    )


# ---- 3. long-context tier: a cliff for the whole request --------------------------------------


def test_gemini_25_pro_above_200k_is_0_70():
    b = cost_of(GEMINI_25_PRO, input_tokens=250_000, output_tokens=5_000)
    assert usd(b) == "0.7"
    assert b.tier == 200_000
    assert (format_usd(b.uncached_input), format_usd(b.output)) == ("0.625", "0.075")


def test_gemini_25_pro_the_wrong_answers_differ():
    marginal = 200_000 * 1_250_000 + 50_000 * 2_500_000 + 5_000 * 10_000_000
    assert format_usd(marginal) == "0.425"
    no_tier = 250_000 * 1_250_000 + 5_000 * 10_000_000
    assert format_usd(no_tier) == "0.3625"


def test_exactly_200k_stays_in_the_lower_tier():
    b = cost_of(GEMINI_25_PRO, input_tokens=200_000, output_tokens=5_000)
    assert b.tier is None
    assert usd(b) == "0.3"
    assert cost_of(GEMINI_25_PRO, input_tokens=200_001, output_tokens=5_000).tier == 200_000


def test_inclusive_threshold_xai():
    p = PriceVersion(
        "xai",
        "grok",
        base=Rates(input=D("1"), output=D("2")),
        tiers=(Tier(200_000, inclusive=True, rates=Rates(input=D("2"), output=D("4"))),),
    )
    assert cost_of(p, input_tokens=200_000).tier == 200_000
    assert cost_of(p, input_tokens=199_999).tier is None


def test_cache_reads_count_toward_the_tier():
    # 20k uncached + 190k cache read = 210k prompt tokens: the long-context tier for every class.
    b = cost_of(GEMINI_25_PRO, input_tokens=210_000, cached_input_tokens=190_000, output_tokens=1_000)
    assert b.tier == 200_000
    assert format_usd(b.uncached_input) == "0.05"  # 20,000 x 2.50
    assert format_usd(b.cache_read) == "0.0475"  # 190,000 x 0.25
    assert format_usd(b.output) == "0.015"  # 1,000 x 15
    assert usd(b) == "0.1125"


def test_tier_rates_not_given_fall_back_to_base():
    p = PriceVersion(
        "x",
        "m",
        base=Rates(input=D("1"), output=D("2"), cache_read=D("0.1")),
        tiers=(Tier(100, rates=Rates(input=D("3"))),),
    )
    b = cost_of(p, input_tokens=1_000_000, cached_input_tokens=500_000, output_tokens=1_000_000)
    assert (format_usd(b.uncached_input), format_usd(b.cache_read), format_usd(b.output)) == ("1.5", "0.05", "2")


# ---- 4. service tiers -------------------------------------------------------------------------


def test_batch_uses_explicit_rates():
    b = cost_of(
        GPT_5,
        input_tokens=50_000,
        cached_input_tokens=40_000,
        output_tokens=3_000,
        reasoning_tokens=2_000,
        service_tier="batch",
    )
    assert usd(b) == "0.02375"
    assert (b.service_tier, b.service_rates) == ("batch", "explicit")


def test_batch_without_explicit_rates_is_half_including_cache():
    b = cost_of(
        SONNET_45,
        input_tokens=121_000,
        cached_input_tokens=100_000,
        cache_write_tokens=20_000,
        output_tokens=2_000,
        service_tier="batch",
    )
    assert usd(b) == "0.069"
    assert b.service_rates == "half"


def test_flex_without_explicit_rates_is_half():
    b = cost_of(SONNET_45, input_tokens=1_000_000, output_tokens=1_000_000, service_tier="flex")
    assert usd(b) == "9"
    assert b.service_rates == "half"


def test_explicit_batch_rates_missing_a_class_fall_back_to_half_for_that_class():
    p = PriceVersion(
        "x", "m", base=Rates(input=D("2"), output=D("8"), cache_read=D("0.5")), batch=Rates(input=D("1"), output=D("4"))
    )
    b = cost_of(p, input_tokens=2_000_000, cached_input_tokens=1_000_000, output_tokens=1_000_000, service_tier="batch")
    assert (format_usd(b.uncached_input), format_usd(b.cache_read), format_usd(b.output)) == ("1", "0.25", "4")


def test_priority_uses_its_rates_not_a_fixed_multiple():
    b = cost_of(GPT_5, input_tokens=50_000, cached_input_tokens=40_000, output_tokens=3_000, service_tier="priority")
    assert usd(b) == "0.095"  # gpt-5 priority is 2x
    gpt_4o = PriceVersion(
        "openai", "gpt-4o", base=Rates(input=D("2.5"), output=D("10")), priority=Rates(input=D("4.25"), output=D("17"))
    )
    assert (
        usd(cost_of(gpt_4o, input_tokens=1_000_000, output_tokens=1_000_000, service_tier="priority")) == "21.25"
    )  # 1.7x


def test_priority_without_rates_bills_standard_and_is_flagged():
    b = cost_of(SONNET_45, input_tokens=1_000_000, output_tokens=1_000_000, service_tier="priority")
    assert usd(b) == "18"
    assert b.service_rates == "standard-fallback"


def test_standard_tier_spellings_and_unknown_tiers():
    for tier in (None, "default", "standard", "auto"):
        b = cost_of(GPT_5, input_tokens=1_000_000, service_tier=tier)
        assert (usd(b), b.service_tier, b.service_rates) == ("1.25", "default", "standard")
    odd = cost_of(GPT_5, input_tokens=1_000_000, service_tier="turbo")
    assert (usd(odd), odd.service_rates) == ("1.25", "standard-fallback")


def test_batch_inside_a_long_context_tier():
    p = PriceVersion(
        "google",
        "gemini-2.5-pro",
        base=Rates(input=D("1.25"), output=D("10")),
        tiers=(
            Tier(200_000, rates=Rates(input=D("2.5"), output=D("15")), batch=Rates(input=D("1.25"), output=D("7.5"))),
        ),
        batch=Rates(input=D("0.625"), output=D("5")),
    )
    assert usd(cost_of(p, input_tokens=250_000, output_tokens=5_000, service_tier="batch")) == "0.35"
    no_tier_batch = PriceVersion(
        "google", "g", base=p.base, tiers=(Tier(200_000, rates=p.tiers[0].rates),), batch=p.batch
    )
    assert usd(cost_of(no_tier_batch, input_tokens=250_000, output_tokens=5_000, service_tier="batch")) == "0.35"


def test_bedrock_geo_profile_costs_ten_percent_more_than_global():
    us = PriceVersion(
        "bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", base=Rates(input=D("3.3"), output=D("16.5"))
    )
    glob = PriceVersion(
        "bedrock", "global.anthropic.claude-sonnet-4-5-20250929-v1:0", base=Rates(input=D("3"), output=D("15"))
    )
    assert usd(cost_of(us, input_tokens=1_000_000, output_tokens=100_000)) == "4.95"
    assert usd(cost_of(glob, input_tokens=1_000_000, output_tokens=100_000)) == "4.5"


# ---- 5. prices change -------------------------------------------------------------------------


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


O3 = [
    PriceVersion("openai", "o3", None, "genai-prices", Rates(input=D("10"), output=D("40"))),
    PriceVersion("openai", "o3", datetime(2025, 6, 10, tzinfo=UTC), "genai-prices", Rates(input=D("2"), output=D("8"))),
]


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ("2025-06-01T12:00:00", "140"),
        ("2025-06-09T23:59:59.999", "140"),
        ("2025-06-10T00:00:00", "28"),
        ("2026-01-01T00:00:00", "28"),
    ],
)
def test_o3_price_change_on_2025_06_10(when, expected):
    version = price_at(O3, ms(when))
    assert usd(cost_of(version, input_tokens=10_000_000, output_tokens=1_000_000)) == expected


def test_dated_snapshot_prices_differ():
    dated = PriceVersion("openai", "gpt-4o-2024-05-13", base=Rates(input=D("5"), output=D("15")))
    undated = PriceVersion("openai", "gpt-4o", base=Rates(input=D("2.50"), output=D("10")))
    assert usd(cost_of(dated, input_tokens=1_000_000, output_tokens=1_000_000)) == "20"
    assert usd(cost_of(undated, input_tokens=1_000_000, output_tokens=1_000_000)) == "12.5"


# ---- 6. unpriced is not free; 8. exact money --------------------------------------------------


def test_free_is_an_explicit_zero_and_missing_rates_are_unpriced():
    free = PriceVersion("openrouter", "x:free", base=Rates(input=D(0), output=D(0)))
    b = cost_of(free, input_tokens=10, output_tokens=10)
    assert b is not None and b.total == 0
    embeddings = PriceVersion("openai", "text-embedding-3-small", base=Rates(input=D("0.02")))
    assert usd(cost_of(embeddings, input_tokens=1_000_000)) == "0.02"
    assert cost_of(embeddings, input_tokens=1, output_tokens=1) is None


def test_units_are_priced_per_unit_and_unknown_units_flagged():
    p = PriceVersion(
        "openai",
        "gpt-4o-search-preview",
        base=Rates(input=D("2.5"), output=D("10")),
        units={"web_searches": D("0.025"), "requests": D("0.005")},
    )
    b = cost_of(p, input_tokens=1_000, output_tokens=100, units={"web_searches": 2, "requests": "1", "images": 3})
    assert format_usd(b.units) == "0.055"
    assert usd(b) == "0.0585"
    assert b.unpriced_units == ("images",)


def test_sub_picodollar_rates_round_the_total_once_half_even_and_classes_add_up():
    # OpenRouter lists Gemini 2.5 Flash cache writes at 0.0833333333333 USD/MTok: 83,333.3333333 pico/token.
    p = PriceVersion(
        "openrouter",
        "google/gemini-2.5-flash",
        base=Rates(input=D("0.3"), output=D("2.5"), cache_write_5m=D("0.0833333333333")),
    )
    b = cost_of(p, input_tokens=10, cache_write_tokens=3, output_tokens=1)
    # exact: 7 x 300,000 + 3 x 83,333.3333333 + 2,500,000 = 4,849,999.9999999 -> 4,850,000
    assert b.total == 4_850_000
    assert (
        b.uncached_input + b.cache_read + b.cache_write_5m + b.cache_write_1h + b.output + b.reasoning + b.units
        == b.total
    )
    half = PriceVersion("x", "m", base=Rates(input=D("0.000001"), output=D("0")))  # 1 pico/token; batch = 0.5
    assert cost_of(half, input_tokens=1, service_tier="batch").total == 0  # 0.5 -> 0 (half-even)
    assert cost_of(half, input_tokens=3, service_tier="batch").total == 2  # 1.5 -> 2


def test_ten_million_calls_add_up_to_the_cent():
    b = cost_of(GPT_5, input_tokens=1_234, cached_input_tokens=1_000, output_tokens=321, reasoning_tokens=100)
    assert b.total * 10_000_000 == 10_000_000 * (234 * 1_250_000 + 1_000 * 125_000 + 321 * 10_000_000)
    assert format_usd(b.total * 10_000_000) == "36275"


def test_parts_larger_than_the_whole_are_billed_in_full():
    b = cost_of(GPT_5, input_tokens=10, cached_input_tokens=100, output_tokens=1, reasoning_tokens=5)
    assert (b.uncached_input, b.cache_read) == (0, 100 * 125_000)
    assert b.output + b.reasoning == 5 * 10_000_000


def test_rates_are_cached_per_version_and_tier():
    p = PriceVersion("x", "m", base=Rates(input=D("1"), output=D("2")))
    cost_of(p, input_tokens=1)
    cost_of(p, input_tokens=1, service_tier="batch")
    assert set(p.__dict__["_int_rates"]) == {(-1, "default"), (-1, "batch")}
    rates, label = effective_rates(p, -1, "batch")
    assert (rates["uncached_input"], rates["output"], label) == (D("0.5"), D("1.0"), "half")


def test_format_usd():
    assert format_usd(0) == "0"
    assert format_usd(138_000_000_000) == "0.138"
    assert format_usd(140 * 10**12) == "140"
    assert format_usd(1) == "0.000000000001"
    assert format_usd(-2_500_000_000_000) == "-2.5"
