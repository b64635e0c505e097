"""PriceVersion: frozen, exact, and a lossless JSON round trip."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal as D

import pytest

from margindash_cli.pricing.model import PriceVersion, Rates, Tier

FULL = PriceVersion(
    provider="google",
    model="gemini-2.5-pro",
    effective_from=datetime(2025, 6, 10, tzinfo=UTC),
    source="https://ai.google.dev/pricing",
    base=Rates(
        input=D("1.25"),
        output=D("10"),
        cache_read=D("0.125"),
        cache_write_5m=D("0.0833333333333"),
        cache_write_1h=D("4.5"),
        reasoning=D("10"),
    ),
    tiers=(
        Tier(200_000, inclusive=False, rates=Rates(input=D("2.5"), output=D("15")), batch=Rates(input=D("1.25"))),
        Tier(1_000_000, inclusive=True, rates=Rates(input=D("5"))),
    ),
    batch=Rates(input=D("0.625"), output=D("5")),
    flex=Rates(input=D("0.625")),
    priority=Rates(input=D("2.25"), output=D("18"), cache_read=D("0.225")),
    units={"web_searches": D("0.035"), "requests": D("0.0000001")},
    context_window=1_048_576,
    max_output=65_536,
)


def test_round_trip_is_lossless_through_json():
    d = FULL.to_dict()
    text = json.dumps(d)  # JSON-safe: no Decimal, no datetime
    back = PriceVersion.from_dict(json.loads(text))
    assert back == FULL
    assert back.to_dict() == d
    assert back.units["requests"] == D("0.0000001")
    assert back.effective_from == datetime(2025, 6, 10, tzinfo=UTC)


def test_to_dict_is_plain_decimal_text_and_iso_utc():
    d = FULL.to_dict()
    assert d["effective_from"] == "2025-06-10T00:00:00Z"
    assert d["base"]["cache_write_5m"] == "0.0833333333333"
    assert d["units"]["requests"] == "0.0000001"  # never '1E-7'
    assert d["tiers"][1] == {"threshold": 1_000_000, "inclusive": True, "rates": {"input": "5"}}


def test_minimal_version_round_trips_and_omits_empty_fields():
    p = PriceVersion("openai", "gpt-4o", base=Rates(input=D("2.5"), output=D("10")), source="litellm")
    assert p.to_dict() == {
        "provider": "openai",
        "model": "gpt-4o",
        "source": "litellm",
        "base": {"input": "2.5", "output": "10"},
    }
    assert PriceVersion.from_dict(p.to_dict()) == p


def test_effective_from_must_be_aware_and_is_kept_in_utc():
    with pytest.raises(ValueError):
        PriceVersion("openai", "o3", effective_from=datetime(2025, 6, 10))
    paris = timezone(timedelta(hours=2))
    p = PriceVersion("openai", "o3", effective_from=datetime(2025, 6, 10, 2, 0, tzinfo=paris))
    assert p.effective_from == datetime(2025, 6, 10, tzinfo=UTC)
    assert p.effective_from.tzinfo == UTC
    assert p.effective_from_ms == 1_749_513_600_000
    assert PriceVersion("openai", "o3").effective_from_ms is None


def test_versions_are_frozen_hashable_and_units_read_only():
    with pytest.raises(AttributeError):
        FULL.model = "other"  # type: ignore[misc]
    assert hash(FULL) == hash(PriceVersion.from_dict(FULL.to_dict()))
    with pytest.raises(TypeError):
        FULL.units["images"] = D(1)  # type: ignore[index]


def test_tiers_are_kept_sorted_by_threshold():
    p = PriceVersion("x", "m", tiers=(Tier(272_000), Tier(128_000)))
    assert [t.threshold for t in p.tiers] == [128_000, 272_000]


def test_from_dict_refuses_floats_and_unknown_fields():
    with pytest.raises(TypeError):
        PriceVersion.from_dict({"provider": "x", "model": "m", "base": {"input": 0.1}})
    with pytest.raises(ValueError):
        PriceVersion.from_dict({"provider": "x", "model": "m", "colour": "red"})
    with pytest.raises(ValueError):
        Rates.from_dict({"inptu": "1"})
