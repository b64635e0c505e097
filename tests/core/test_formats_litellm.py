"""LiteLLM spend-log rows and StandardLoggingPayload -> canonical usage (fixtures/litellm/)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from margindash_cli.errors import LineRejected
from margindash_cli.ingest.formats import litellm
from margindash_cli.ingest.formats.base import CANONICAL_FIELDS

FIXTURES = Path(__file__).parent.parent / "fixtures" / "litellm"


def load(name: str) -> dict:
    return orjson.loads((FIXTURES / name).read_bytes())


def spend_row_with_usage(usage: dict, **fields) -> dict:
    row = load("spend_logs_payload.json")
    metadata = orjson.loads(row["metadata"])
    metadata["usage_object"] = usage
    row["metadata"] = orjson.dumps(metadata).decode()  # the table stores metadata as JSON text
    row.update(fields)
    return row


def test_spend_log_row():
    assert litellm.parse(load("spend_logs_payload.json")) == [
        {
            "vendor": "openai",
            "model": "gpt-4o",
            "input_tokens": 10,
            "output_tokens": 20,
            "cached_input_tokens": 0,
            "cache_write_tokens": 0,
            "cache_write_1h_tokens": 0,
            "reasoning_tokens": 0,
            "request_id": "chatcmpl-2283081b-dc89-41f6-93e6-d4f914774027",
            "cost_usd": "0.00022500000000000002",
            "timestamp": "2025-01-24 09:20:46.847371",
        }
    ]


def test_standard_logging_payload():
    assert litellm.parse(load("example_standard_logging_payload.json")) == [
        {
            "vendor": "openai",
            "model": "gpt-4o",
            "input_tokens": 10,
            "output_tokens": 20,
            "cached_input_tokens": 0,
            "cache_write_tokens": 0,
            "cache_write_1h_tokens": 0,
            "reasoning_tokens": 0,
            "request_id": "chatcmpl-2299b6a2-82a3-465a-b47c-04e685a2227f",
            "cost_usd": "0.00022500000000000002",
            "timestamp": 1766000068.28466,
        }
    ]


def test_openai_cached_and_reasoning_tokens_come_from_the_usage_object():
    row = spend_row_with_usage(
        {
            "prompt_tokens": 5000,
            "completion_tokens": 700,
            "prompt_tokens_details": {"cached_tokens": 4096, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 512},
        },
        prompt_tokens=5000,
        completion_tokens=700,
    )
    [event] = litellm.parse(row)
    assert [
        event[k]
        for k in ("input_tokens", "output_tokens", "cached_input_tokens", "cache_write_tokens", "reasoning_tokens")
    ] == [5000, 700, 4096, 0, 512]


def test_anthropic_cache_reads_and_writes_are_already_in_prompt_tokens():
    # LiteLLM's Anthropic transformation: prompt_tokens = input_tokens + cache_creation + cache_read.
    row = spend_row_with_usage(
        {
            "prompt_tokens": 3 + 418 + 1111,
            "completion_tokens": 33,
            "prompt_tokens_details": {
                "cached_tokens": 1111,
                "cache_creation_tokens": 418,
                "cache_creation_token_details": {"ephemeral_5m_input_tokens": 118, "ephemeral_1h_input_tokens": 300},
            },
            "cache_creation_input_tokens": 418,
            "cache_read_input_tokens": 1111,
        },
        prompt_tokens=1532,
        completion_tokens=33,
        model="claude-sonnet-4-5-20250929",
        custom_llm_provider="anthropic",
    )
    assert litellm.parse(row) == [
        {
            "vendor": "anthropic",
            "model": "claude-sonnet-4-5-20250929",
            "input_tokens": 1532,
            "output_tokens": 33,
            "cached_input_tokens": 1111,
            "cache_write_tokens": 418,
            "cache_write_1h_tokens": 300,
            "reasoning_tokens": 0,
            "request_id": "chatcmpl-2283081b-dc89-41f6-93e6-d4f914774027",
            "cost_usd": "0.00022500000000000002",
            "timestamp": "2025-01-24 09:20:46.847371",
        }
    ]


def test_metadata_as_an_object_is_read_too():
    row = load("spend_logs_payload.json")
    row["metadata"] = {"usage_object": {"prompt_tokens_details": {"cached_tokens": 4}}}
    assert litellm.parse(row)[0]["cached_input_tokens"] == 4


def test_customer_is_the_end_user_else_the_user():
    row = load("spend_logs_payload.json")
    row["end_user"], row["user"] = "cust_42", "internal-user"
    assert litellm.parse(row)[0]["customer_id"] == "cust_42"
    row["end_user"] = ""
    assert litellm.parse(row)[0]["customer_id"] == "internal-user"
    payload = load("example_standard_logging_payload.json")
    payload["metadata"]["user_api_key_end_user_id"] = "cust_7"
    assert litellm.parse(payload)[0]["customer_id"] == "cust_7"


def test_vendor_falls_back_to_the_model_name_and_model_to_the_group():
    row = load("spend_logs_payload.json")
    row["custom_llm_provider"] = ""
    row["model"] = "bedrock/anthropic.claude-3-haiku-20240307-v1:0"
    assert litellm.parse(row)[0]["vendor"] == "bedrock"
    row["model"], row["model_group"], row["custom_llm_provider"] = "", "claude-fast", "gemini"
    [event] = litellm.parse(row)
    assert (event["model"], event["vendor"]) == ("claude-fast", "google")


def test_litellm_cache_hit_made_no_provider_call():
    row = load("spend_logs_payload.json")
    row["cache_hit"] = "True"
    assert litellm.parse(row) == []


def test_only_usage_metadata_leaves_the_format():
    event = litellm.parse(load("example_standard_logging_payload.json"))[0]
    assert set(event) <= set(CANONICAL_FIELDS)
    assert "Hello" not in repr(event)


def test_failed_call_is_rejected():
    row = load("spend_logs_payload.json")
    row["status"] = "failure"
    with pytest.raises(LineRejected) as exc:
        litellm.parse(row)
    assert exc.value.field == "status"


@pytest.mark.parametrize(
    ("key", "value"),
    [("prompt_tokens", "10"), ("completion_tokens", -1), ("prompt_tokens", 10.5), ("completion_tokens", True)],
)
def test_bad_token_counts_are_rejected_naming_the_field(key, value):
    row = load("spend_logs_payload.json")
    row[key] = value
    with pytest.raises(LineRejected) as exc:
        litellm.parse(row)
    assert exc.value.field == key


def test_bad_usage_object_count_is_rejected_naming_its_path():
    row = spend_row_with_usage({"prompt_tokens_details": {"cached_tokens": "4"}})
    with pytest.raises(LineRejected) as exc:
        litellm.parse(row)
    assert exc.value.field == "metadata.usage_object.prompt_tokens_details.cached_tokens"


def test_bad_spend_is_rejected():
    row = load("spend_logs_payload.json")
    row["spend"] = "lots"
    with pytest.raises(LineRejected) as exc:
        litellm.parse(row)
    assert exc.value.field == "spend"


def test_corrupt_metadata_json_is_rejected():
    row = load("spend_logs_payload.json")
    row["metadata"] = '{"usage_object": {'
    with pytest.raises(LineRejected) as exc:
        litellm.parse(row)
    assert exc.value.field == "metadata"


def test_matches():
    assert litellm.matches(load("spend_logs_payload.json"))
    assert litellm.matches(load("example_standard_logging_payload.json"))
    assert not litellm.matches({"request_id": "x", "model": "gpt-4o"})
