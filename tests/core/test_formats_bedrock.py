"""Bedrock Converse `usage` -> canonical usage, on real responses (fixtures/bedrock/)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from margindash_cli.errors import LineRejected
from margindash_cli.ingest.formats import bedrock
from margindash_cli.ingest.formats.base import CANONICAL_FIELDS

FIXTURES = Path(__file__).parent.parent / "fixtures" / "bedrock"


def load(name: str) -> dict:
    return orjson.loads((FIXTURES / name).read_bytes())


def test_cache_reads_are_added_to_input_tokens():
    assert bedrock.extract(load("bedrock_converse__cache_read.json")) == {
        "vendor": "bedrock",
        "input_tokens": 2 + 1322,
        "output_tokens": 5,
        "cached_input_tokens": 1322,
        "cache_write_tokens": 0,
        "cache_write_1h_tokens": 0,
        "reasoning_tokens": 0,
    }


def test_cache_writes_are_added_to_input_tokens():
    assert bedrock.extract(load("bedrock_converse__cache_write.json")) == {
        "vendor": "bedrock",
        "input_tokens": 2 + 1322,
        "output_tokens": 5,
        "cached_input_tokens": 0,
        "cache_write_tokens": 1322,
        "cache_write_1h_tokens": 0,
        "reasoning_tokens": 0,
    }


def test_inference_profile_basic_has_no_model_the_app_line_gives_it():
    event = bedrock.extract(load("bedrock_converse__inference_profile_basic.json"))
    assert event == {
        "vendor": "bedrock",
        "input_tokens": 8,
        "output_tokens": 2,
        "cached_input_tokens": 0,
        "cache_write_tokens": 0,
        "cache_write_1h_tokens": 0,
        "reasoning_tokens": 0,
    }
    assert "model" not in event and "response_id" not in event


def test_cache_details_give_the_one_hour_writes():
    body = load("bedrock_converse__cache_write.json")
    body["usage"]["cacheDetails"] = [{"ttl": "1h", "inputTokens": 1000}, {"ttl": "5m", "inputTokens": 322}]
    event = bedrock.extract(body)
    assert (event["cache_write_tokens"], event["cache_write_1h_tokens"]) == (1322, 1000)


def test_older_count_spellings_are_read_when_current_ones_are_absent():
    body = load("bedrock_converse__cache_read.json")
    del body["usage"]["cacheReadInputTokens"], body["usage"]["cacheWriteInputTokens"]
    assert bedrock.extract(body)["cached_input_tokens"] == 1322


@pytest.mark.parametrize(
    ("tier", "expected"),
    [
        ({"type": "priority"}, "priority"),
        ({"type": "flex"}, "flex"),
        ({"type": "default"}, "default"),
        ("priority", "priority"),
    ],
)
def test_service_tier(tier, expected):
    body = load("bedrock_converse__inference_profile_basic.json")
    body["serviceTier"] = tier
    assert bedrock.extract(body)["service_tier"] == expected


def test_only_usage_metadata_leaves_the_format():
    assert set(bedrock.extract(load("bedrock_converse__cache_read.json"))) <= set(CANONICAL_FIELDS)


def test_absent_usage_block_is_rejected():
    body = load("bedrock_converse__inference_profile_basic.json")
    del body["usage"]
    with pytest.raises(LineRejected) as exc:
        bedrock.extract(body)
    assert (exc.value.field, exc.value.reason) == ("usage", "no usage block")


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"inputTokens": "8"}, "usage.inputTokens"),
        ({"outputTokens": -2}, "usage.outputTokens"),
        ({"cacheReadInputTokens": 1.25}, "usage.cacheReadInputTokens"),
        ({"cacheWriteInputTokens": True}, "usage.cacheWriteInputTokens"),
        ({"cacheDetails": {"ttl": "1h"}}, "usage.cacheDetails"),
        ({"cacheDetails": [{"ttl": "1h", "inputTokens": "5"}]}, "usage.cacheDetails.0.inputTokens"),
    ],
)
def test_bad_usage_fields_are_rejected_naming_the_field(patch, field):
    body = load("bedrock_converse__cache_write.json")
    body["usage"].update(patch)
    with pytest.raises(LineRejected) as exc:
        bedrock.extract(body)
    assert exc.value.field == field


def test_matches():
    assert bedrock.matches(load("bedrock_converse__cache_read.json"))
    assert not bedrock.matches({"usage": {"input_tokens": 1}})
