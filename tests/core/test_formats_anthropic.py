"""Anthropic Messages bodies -> canonical usage, on real responses (fixtures/anthropic/)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from margindash_cli.errors import LineRejected
from margindash_cli.ingest.formats import anthropic
from margindash_cli.ingest.formats.base import CANONICAL_FIELDS

FIXTURES = Path(__file__).parent.parent / "fixtures" / "anthropic"


def load(name: str) -> dict:
    return orjson.loads((FIXTURES / name).read_bytes())


def test_cache_reads_are_added_to_uncached_input():
    assert anthropic.extract(load("anthropic_messages__cache_read.json")) == {
        "vendor": "anthropic",
        "model": "claude-sonnet-4-5-20250929",
        "input_tokens": 3 + 1111,
        "output_tokens": 406,
        "cached_input_tokens": 1111,
        "cache_write_tokens": 0,
        "cache_write_1h_tokens": 0,
        "reasoning_tokens": 0,
        "response_id": "msg_01UUPT9QdZnZSRzcQJkjG25U",
        "service_tier": "default",
    }


def test_cache_writes_and_reads_are_added_to_uncached_input():
    assert anthropic.extract(load("anthropic_messages__cache_write_and_read.json")) == {
        "vendor": "anthropic",
        "model": "claude-sonnet-4-5-20250929",
        "input_tokens": 3 + 1111 + 418,
        "output_tokens": 33,
        "cached_input_tokens": 1111,
        "cache_write_tokens": 418,
        "cache_write_1h_tokens": 0,
        "reasoning_tokens": 0,
        "response_id": "msg_01KPaKTJSqAKoZri7Ujrny58",
        "service_tier": "default",
    }


def test_claude3_opus_basic():
    assert anthropic.extract(load("anthropic_messages__claude3_opus_basic.json")) == {
        "vendor": "anthropic",
        "model": "claude-3-opus-20240229",
        "input_tokens": 20,
        "output_tokens": 10,
        "cached_input_tokens": 0,
        "cache_write_tokens": 0,
        "cache_write_1h_tokens": 0,
        "reasoning_tokens": 0,
        "response_id": "msg_01Fg1JVgvCYUHWsxrj9GkpEv",
        "service_tier": "default",
    }


def test_bedrock_invoke_body_keeps_its_model_and_is_vendor_bedrock_by_its_message_id():
    assert anthropic.extract(load("anthropic_messages__via_bedrock_invoke_cache_write_and_read.json")) == {
        "vendor": "bedrock",
        "model": "claude-haiku-4-5-20251001",
        "input_tokens": 3 + 9511 + 1956,
        "output_tokens": 44,
        "cached_input_tokens": 9511,
        "cache_write_tokens": 1956,
        "cache_write_1h_tokens": 0,
        "reasoning_tokens": 0,
        "response_id": "msg_bdrk_01PwGjqAJE4R8ZBE8KCtMEjG",
    }


@pytest.mark.parametrize(
    ("model", "vendor"),
    [
        ("eu.anthropic.claude-haiku-4-5-20251001-v1:0", "bedrock"),
        ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "bedrock"),
        ("global.anthropic.claude-sonnet-4-5-20250929-v1:0", "bedrock"),
        ("anthropic.claude-3-haiku-20240307-v1:0", "bedrock"),
        ("arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc", "bedrock"),
        ("claude-sonnet-4-5-20250929", "anthropic"),
        ("claude-sonnet-4-5@20250929", "anthropic"),
    ],
)
def test_vendor_rule_keeps_the_model_string(model, vendor):
    body = load("anthropic_messages__claude3_opus_basic.json")
    body["model"] = model
    event = anthropic.extract(body)
    assert (event["vendor"], event["model"]) == (vendor, model)


def test_one_hour_cache_writes_come_from_the_ttl_split():
    body = load("anthropic_messages__cache_write_and_read.json")
    body["usage"]["cache_creation"] = {"ephemeral_5m_input_tokens": 118, "ephemeral_1h_input_tokens": 300}
    event = anthropic.extract(body)
    assert (event["input_tokens"], event["cache_write_tokens"], event["cache_write_1h_tokens"]) == (1532, 418, 300)


def test_split_stands_in_for_a_missing_cache_creation_total():
    body = load("anthropic_messages__cache_write_and_read.json")
    del body["usage"]["cache_creation_input_tokens"]
    body["usage"]["cache_creation"] = {"ephemeral_5m_input_tokens": 100, "ephemeral_1h_input_tokens": 50}
    event = anthropic.extract(body)
    assert (event["input_tokens"], event["cache_write_tokens"], event["cache_write_1h_tokens"]) == (
        3 + 1111 + 150,
        150,
        50,
    )


@pytest.mark.parametrize(("tier", "expected"), [("standard", "default"), ("priority", "priority"), ("batch", "batch")])
def test_service_tier(tier, expected):
    body = load("anthropic_messages__claude3_opus_basic.json")
    body["usage"]["service_tier"] = tier
    assert anthropic.extract(body)["service_tier"] == expected


def test_only_usage_metadata_leaves_the_format():
    event = anthropic.extract(load("anthropic_messages__cache_read.json"))
    assert set(event) <= set(CANONICAL_FIELDS) | {"response_id"}
    assert "Python" not in repr(event)


def test_absent_usage_block_is_rejected():
    body = load("anthropic_messages__claude3_opus_basic.json")
    body["usage"] = None
    with pytest.raises(LineRejected) as exc:
        anthropic.extract(body)
    assert (exc.value.field, exc.value.reason) == ("usage", "no usage block")


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"input_tokens": False}, "usage.input_tokens"),
        ({"cache_read_input_tokens": 2.5}, "usage.cache_read_input_tokens"),
        ({"cache_creation_input_tokens": "418"}, "usage.cache_creation_input_tokens"),
        ({"output_tokens": -3}, "usage.output_tokens"),
        ({"cache_creation": {"ephemeral_1h_input_tokens": -1}}, "usage.cache_creation.ephemeral_1h_input_tokens"),
        ({"cache_creation": "418"}, "usage.cache_creation"),
        ({"service_tier": ["standard"]}, "usage.service_tier"),
    ],
)
def test_bad_usage_fields_are_rejected_naming_the_field(patch, field):
    body = load("anthropic_messages__cache_write_and_read.json")
    body["usage"].update(patch)
    with pytest.raises(LineRejected) as exc:
        anthropic.extract(body)
    assert exc.value.field == field


def test_matches():
    assert anthropic.matches(load("anthropic_messages__cache_read.json"))
    assert not anthropic.matches({"usageMetadata": {}})
    assert not anthropic.matches({"usage": {"inputTokens": 1}})
