"""Resolution of logged (vendor, model) names to catalog keys, on hand-built key sets."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

from margindash_cli.pricing.model import PriceVersion, Rates
from margindash_cli.pricing.resolve import (
    Resolution,
    Resolver,
    canonical_vendor,
    normalize_model,
    price_at,
)

KEYS = [
    ("openai", "gpt-4o"),
    ("openai", "gpt-4o-2024-05-13"),
    ("openai", "o3"),
    ("anthropic", "claude-opus-4"),
    ("anthropic", "claude-sonnet-4-5-20250929"),
    ("anthropic", "claude-3-5-sonnet-20241022"),
    ("bedrock", "anthropic.claude-3-5-sonnet-20241022-v2:0"),
    ("bedrock", "global.anthropic.claude-3-5-sonnet-20241022-v2:0"),
    ("google", "gemini-2.5-pro"),
    ("google", "claude-opus-4-1@20250805"),
    ("azure", "gpt-4o"),
    ("openrouter", "openai/gpt-4o"),
]
ALIASES = {
    ("openai", "o3-2025-04-16"): ("openai", "o3"),
    ("azure", "my-prod-deployment"): ("azure", "gpt-4o"),
    (None, "house-model"): ("openai", "gpt-4o"),
    ("openai", "points-nowhere"): ("openai", "no-such-model"),
}


@pytest.fixture
def resolver():
    return Resolver(KEYS, ALIASES)


@pytest.mark.parametrize(
    ("vendor", "model", "expected"),
    [
        ("openai", "gpt-4o", ("openai", "gpt-4o", "exact")),
        ("anthropic", "claude-opus-4", ("anthropic", "claude-opus-4", "exact")),
        ("openai", "o3-2025-04-16", ("openai", "o3", "alias")),
        ("azure", "my-prod-deployment", ("azure", "gpt-4o", "alias")),
        ("openai", "house-model", ("openai", "gpt-4o", "alias")),
        (None, "house-model", ("openai", "gpt-4o", "alias")),
        # routing noise
        ("openai", "openai/gpt-4o", ("openai", "gpt-4o", "normalized")),
        ("openai", "GPT-4o", ("openai", "gpt-4o", "normalized")),
        ("anthropic", "claude-3.5-sonnet-20241022", ("anthropic", "claude-3-5-sonnet-20241022", "normalized")),
        ("gemini", "gemini/gemini-2.5-pro", ("google", "gemini-2.5-pro", "normalized")),
        ("vertex_ai", "gemini-2.5-pro", ("google", "gemini-2.5-pro", "exact")),
        ("vertex_ai", "claude-opus-4-1-20250805", ("google", "claude-opus-4-1@20250805", "normalized")),
        ("vertex_ai", "claude-opus-4-1@20250805", ("google", "claude-opus-4-1@20250805", "exact")),
        # Bedrock ids: geo prefixes, vendor prefix, -v1:0; an in-region price before a global one
        (
            "bedrock",
            "us.anthropic.claude-3-5-sonnet-20241022-v2:0",
            ("bedrock", "anthropic.claude-3-5-sonnet-20241022-v2:0", "normalized"),
        ),
        (
            "bedrock",
            "bedrock/eu.anthropic.claude-3-5-sonnet-20241022-v2:0",
            ("bedrock", "anthropic.claude-3-5-sonnet-20241022-v2:0", "normalized"),
        ),
        (
            "bedrock",
            "global.anthropic.claude-3-5-sonnet-20241022-v2:0",
            ("bedrock", "global.anthropic.claude-3-5-sonnet-20241022-v2:0", "exact"),
        ),
        # hosted copy without its own price -> the maker's price
        (
            "bedrock",
            "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
            ("anthropic", "claude-sonnet-4-5-20250929", "origin"),
        ),
        ("azure", "gpt-4o-2024-05-13", ("openai", "gpt-4o-2024-05-13", "origin")),
        ("openrouter", "anthropic/claude-sonnet-4-5-20250929", ("anthropic", "claude-sonnet-4-5-20250929", "origin")),
        ("openrouter", "openai/gpt-4o", ("openrouter", "openai/gpt-4o", "exact")),
        # no vendor, or one the catalog does not know: the routing prefix or the family decides
        (None, "gpt-4o", ("openai", "gpt-4o", "normalized")),
        ("unknown", "claude-opus-4", ("anthropic", "claude-opus-4", "normalized")),
        (
            "litellm",
            "bedrock/us.anthropic.claude-3-5-sonnet-20241022-v2:0",
            ("bedrock", "anthropic.claude-3-5-sonnet-20241022-v2:0", "normalized"),
        ),
        # Bedrock system inference-profile ARNs and Gemini/Vertex resource names
        (
            "bedrock",
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-sonnet-20241022-v2:0",
            ("bedrock", "anthropic.claude-3-5-sonnet-20241022-v2:0", "normalized"),
        ),
        ("google", "models/gemini-2.5-pro", ("google", "gemini-2.5-pro", "normalized")),
    ],
)
def test_resolves(resolver, vendor, model, expected):
    assert resolver.resolve(vendor, model) == Resolution(*expected)


@pytest.mark.parametrize(
    ("vendor", "model"),
    [
        ("openai", "gpt-4o-2024-08-06"),  # a date suffix is never stripped
        ("openai", "gpt-4o-mini"),  # never a prefix match
        ("anthropic", "claude-opus-4-7"),  # never longest-substring: this is NOT claude-opus-4
        ("anthropic", "claude-opus-4-20250514"),
        ("openai", "points-nowhere"),  # an alias to a missing key is ignored
        ("unknown", "acme-llm-9000"),
        (None, "acme-llm-9000"),
        ("openai", ""),
        ("bedrock", "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3"),  # needs an alias
    ],
)
def test_unpriced(resolver, vendor, model):
    assert resolver.resolve(vendor, model) is None


def test_dated_snapshot_is_not_its_undated_model():
    r = Resolver([("openai", "gpt-4o")])
    assert r.resolve("openai", "gpt-4o-2024-05-13") is None
    both = Resolver([("openai", "gpt-4o"), ("openai", "gpt-4o-2024-05-13")])
    assert both.resolve("openai", "gpt-4o-2024-05-13") == Resolution("openai", "gpt-4o-2024-05-13", "exact")


def test_bedrock_us_profile_with_no_bedrock_price_uses_anthropic_price():
    r = Resolver([("anthropic", "claude-sonnet-4-5-20250929")])
    assert r.resolve("bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0") == Resolution(
        "anthropic", "claude-sonnet-4-5-20250929", "origin"
    )


def test_regional_call_never_picks_the_cheaper_global_price_when_a_regional_one_exists():
    r = Resolver(
        [
            ("bedrock", "global.anthropic.claude-x-v1:0"),
            ("bedrock", "eu.anthropic.claude-x-v1:0"),
            ("bedrock", "us.anthropic.claude-x-v1:0"),
        ]
    )
    assert r.resolve("bedrock", "jp.anthropic.claude-x-v1:0").model == "eu.anthropic.claude-x-v1:0"
    assert r.resolve("bedrock", "anthropic.claude-x-v1:0").model == "eu.anthropic.claude-x-v1:0"
    only_global = Resolver([("bedrock", "global.anthropic.claude-x-v1:0")])
    assert only_global.resolve("bedrock", "us.anthropic.claude-x-v1:0").model == "global.anthropic.claude-x-v1:0"


def test_results_are_memoized(resolver):
    first = resolver.resolve("bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0")
    assert resolver.resolve("bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0") is first
    assert ("bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0") in resolver._memo
    resolver.resolve("x", "nothing")
    assert resolver._memo[("x", "nothing")] is None


@pytest.mark.parametrize(
    ("vendor", "canonical"),
    [
        ("google", "google"),
        ("gemini", "google"),
        ("vertex_ai", "google"),
        ("vertex_ai-anthropic_models", "google"),
        ("Bedrock", "bedrock"),
        ("bedrock_converse", "bedrock"),
        ("aws", "bedrock"),
        ("azure_ai", "azure"),
        ("x-ai", "xai"),
        ("together_ai", "together"),
        ("fireworks_ai", "fireworks"),
        ("mistralai", "mistral"),
        ("acme", "acme"),
        ("unknown", None),
        ("", None),
        (None, None),
    ],
)
def test_vendor_names_normalize(vendor, canonical):
    assert canonical_vendor(vendor) == canonical


def test_normalize_model():
    n = normalize_model("bedrock/us.anthropic.claude-3-5-sonnet-20241022-v2:0")
    assert (n.names, n.geo, n.route, n.origin) == (("claude-3-5-sonnet-20241022",), "us", "bedrock", "anthropic")
    assert normalize_model("claude-sonnet-4-5@20250929").names == ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5")
    assert normalize_model("claude-opus-4-6@default").names == ("claude-opus-4-6",)
    assert normalize_model("gpt-4o-2024-05-13").names == ("gpt-4o-2024-05-13",)  # dates stay
    arn = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-sonnet-20241022-v2:0"
    assert normalize_model(arn)[:3] == (("claude-3-5-sonnet-20241022",), "us", "bedrock")
    fm = normalize_model("arn:aws:bedrock:eu-west-1::foundation-model/anthropic.claude-v2:1")
    assert (fm.names, fm.route, fm.origin) == (("claude-v2:1",), "bedrock", "anthropic")  # v2:1 is Claude 2.1
    app = normalize_model("arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3")
    assert app.route is None  # opaque: only an alias can price it
    vertex = normalize_model("projects/p/locations/us-central1/publishers/google/models/gemini-2.5-pro")
    assert (vertex.names, vertex.route) == (("gemini-2-5-pro",), "google")
    assert normalize_model("models/gemini-2.5-flash").names == ("gemini-2-5-flash",)
    assert normalize_model("amazon.titan-text-express-v1").names == (
        "titan-text-express-v1",
    )  # no ":N": not a Bedrock version suffix


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


def test_price_at_picks_the_version_in_force():
    always = PriceVersion("openai", "o3", None, "genai-prices", Rates(input=D("10")))
    later = PriceVersion("openai", "o3", datetime(2025, 6, 10, tzinfo=UTC), "genai-prices", Rates(input=D("2")))
    versions = [always, later]
    assert price_at(versions, ms("2025-06-09T23:59:59.999")) is always
    assert price_at(versions, ms("2025-06-10T00:00:00")) is later
    assert price_at(versions, ms("2030-01-01T00:00:00")) is later
    assert price_at([later], ms("2025-01-01T00:00:00")) is None  # before every version: not in force
    assert price_at([], 0) is None
