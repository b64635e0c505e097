"""Langfuse observations, export rows and ingestion batches -> canonical usage (fixtures/langfuse/)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from margindash_cli.errors import LineRejected
from margindash_cli.ingest.formats import langfuse
from margindash_cli.ingest.formats.base import CANONICAL_FIELDS

FIXTURES = Path(__file__).parent.parent / "fixtures" / "langfuse"


def load(name: str) -> dict:
    return orjson.loads((FIXTURES / name).read_bytes())


def observation() -> dict:
    return load("langfuse_docs_observations_v2_sample_response.json")["data"][0]


def generation(usage_details: dict, **fields) -> dict:
    obs = observation()
    obs["usageDetails"] = usage_details
    obs.update(fields)
    return obs


def test_v2_api_page():
    assert langfuse.parse(load("langfuse_docs_observations_v2_sample_response.json")) == [
        {
            "vendor": "openai",
            "model": "gpt-4o",
            "input_tokens": 98,
            "output_tokens": 68,
            "cached_input_tokens": 0,
            "cache_write_tokens": 0,
            "cache_write_1h_tokens": 0,
            "reasoning_tokens": 0,
            "response_id": "support-chat-7-950dc53a-gen",
            "cost_usd": "0.00253",
            "timestamp": "2025-12-17T16:09:00.875Z",
        }
    ]


def test_single_observation_line_is_the_same_event():
    assert langfuse.parse(observation()) == langfuse.parse(load("langfuse_docs_observations_v2_sample_response.json"))


def test_litellm_ingestion_batch():
    assert langfuse.parse(load("litellm_langfuse_ingestion_completion_with_bedrock_call.json")) == [
        {
            "vendor": "bedrock",
            "model": "bedrock/anthropic.claude-haiku-4-5-20251001-v1:0",
            "input_tokens": 10,
            "output_tokens": 10,
            "cached_input_tokens": 0,
            "cache_write_tokens": 0,
            "cache_write_1h_tokens": 0,
            "reasoning_tokens": 0,
            "response_id": "time-14-13-16-469836_chatcmpl-3803a9e9-aa68-4493-94d9-247f354830d6",
            "cost_usd": "0.00018",
            "timestamp": "2025-05-26T14:13:16.469836-07:00",
        }
    ]


def test_trace_user_goes_to_its_generations_and_usage_less_bodies_are_skipped():
    batch = load("litellm_langfuse_ingestion_completion_with_bedrock_call.json")
    batch["batch"][0]["body"]["userId"] = "cust_9"
    gen = batch["batch"][1]
    batch["batch"].append({"id": "e3", "type": "generation-update", "body": {"id": gen["body"]["id"], "output": "hi"}})
    batch["batch"].append({"id": "e4", "type": "span-create", "body": {"id": "s1", "traceId": gen["body"]["traceId"]}})
    second = orjson.loads(orjson.dumps(gen))
    second["body"]["id"] = "gen-2"
    batch["batch"].append(second)
    events = langfuse.parse(batch)
    assert [(e["response_id"], e["customer_id"]) for e in events] == [
        (gen["body"]["id"], "cust_9"),
        ("gen-2", "cust_9"),
    ]


# The usage-details rule, one case per producer convention (see the module docstring).


def test_langfuse_sdk_buckets_are_disjoint():
    # langfuse-python turns prompt 1000 (600 cached, 100 written) / completion 50 (10 reasoning) into:
    obs = generation(
        {
            "input": 300,
            "input_cached_tokens": 600,
            "input_cache_creation": 100,
            "output": 40,
            "output_reasoning_tokens": 10,
            "total": 1050,
        }
    )
    [event] = langfuse.parse(obs)
    assert [
        event[k]
        for k in ("input_tokens", "output_tokens", "cached_input_tokens", "cache_write_tokens", "reasoning_tokens")
    ] == [1000, 50, 600, 100, 10]


def test_disjoint_without_total():
    obs = generation({"input": 300, "input_cached_tokens": 600, "output": 40, "output_reasoning_tokens": 10})
    [event] = langfuse.parse(obs)
    assert [event[k] for k in ("input_tokens", "output_tokens", "cached_input_tokens", "reasoning_tokens")] == [
        900,
        50,
        600,
        10,
    ]


def test_litellm_after_16203_writes_inside_input_reads_outside():
    # input = prompt_tokens - cache_read; LiteLLM's prompt_tokens includes the 100 written tokens.
    obs = generation(
        {"input": 400, "output": 50, "total": 1050, "cache_creation_input_tokens": 100, "cache_read_input_tokens": 600}
    )
    [event] = langfuse.parse(obs)
    assert [event[k] for k in ("input_tokens", "output_tokens", "cached_input_tokens", "cache_write_tokens")] == [
        1000,
        50,
        600,
        100,
    ]


def test_litellm_before_16203_every_cache_key_inside_input():
    obs = generation(
        {"input": 1000, "output": 50, "total": 1050, "cache_creation_input_tokens": 100, "cache_read_input_tokens": 600}
    )
    [event] = langfuse.parse(obs)
    assert [event[k] for k in ("input_tokens", "output_tokens", "cached_input_tokens", "cache_write_tokens")] == [
        1000,
        50,
        600,
        100,
    ]


def test_reasoning_inside_output_when_total_says_so():
    obs = generation({"input": 100, "output": 50, "output_reasoning_tokens": 30, "total": 150})
    [event] = langfuse.parse(obs)
    assert (event["output_tokens"], event["reasoning_tokens"]) == (50, 30)


def test_one_hour_cache_write_keys():
    obs = generation({"input": 10, "input_cache_creation_5m": 100, "input_cache_creation_1h": 200, "output": 5})
    [event] = langfuse.parse(obs)
    assert [event[k] for k in ("input_tokens", "cache_write_tokens", "cache_write_1h_tokens")] == [310, 300, 200]


def test_blob_export_row_with_json_text_details():
    row = {
        "id": "obs-1",
        "trace_id": "t-1",
        "type": "GENERATION",
        "start_time": "2025-12-17 16:09:00.875000",
        "provided_model_name": "claude-sonnet-4-5-20250929",
        "user_id": "cust_3",
        "usage_details": '{"input": 5, "input_cached_tokens": 95, "output": 7, "total": 107}',
        "cost_details": '{"input": 0.0001, "input_cached_tokens": 0.00002, "output": 0.0003}',
    }
    assert langfuse.parse(row) == [
        {
            "vendor": "anthropic",
            "model": "claude-sonnet-4-5-20250929",
            "input_tokens": 100,
            "output_tokens": 7,
            "cached_input_tokens": 95,
            "cache_write_tokens": 0,
            "cache_write_1h_tokens": 0,
            "reasoning_tokens": 0,
            "response_id": "obs-1",
            "cost_usd": "0.00042",
            "timestamp": "2025-12-17 16:09:00.875000",
            "customer_id": "cust_3",
        }
    ]


def test_spans_are_not_calls():
    span = observation()
    span["type"] = "SPAN"
    span["usageDetails"] = {}
    assert langfuse.parse(span) == []


def test_only_usage_metadata_leaves_the_format():
    event = langfuse.parse(observation())[0]
    assert set(event) <= set(CANONICAL_FIELDS) | {"response_id"}
    assert "Perfect" not in repr(event) and "great day" not in repr(event)


def test_generation_without_usage_or_cost_is_rejected():
    obs = observation()
    for key in ("usageDetails", "costDetails", "totalCost"):
        obs.pop(key)
    with pytest.raises(LineRejected) as exc:
        langfuse.parse(obs)
    assert (exc.value.field, exc.value.reason) == ("usageDetails", "no usage block")


@pytest.mark.parametrize(
    ("details", "field"),
    [
        ({"input": "98"}, "usageDetails.input"),
        ({"input_cached_tokens": -1}, "usageDetails.input_cached_tokens"),
        ({"output": 1.5}, "usageDetails.output"),
    ],
)
def test_bad_usage_details_are_rejected_naming_the_field(details, field):
    obs = observation()
    obs["usageDetails"].update(details)
    with pytest.raises(LineRejected) as exc:
        langfuse.parse(obs)
    assert exc.value.field == field


def test_bad_field_in_a_batch_names_its_place_in_the_line():
    batch = load("litellm_langfuse_ingestion_completion_with_bedrock_call.json")
    batch["batch"][1]["body"]["usageDetails"]["output"] = "ten"
    with pytest.raises(LineRejected) as exc:
        langfuse.parse(batch)
    assert exc.value.field == "batch.1.body.usageDetails.output"


def test_bad_cost_is_rejected():
    obs = observation()
    obs["totalCost"] = "free"
    with pytest.raises(LineRejected) as exc:
        langfuse.parse(obs)
    assert exc.value.field == "totalCost"


def test_matches():
    assert langfuse.matches(observation())
    assert langfuse.matches(load("langfuse_docs_observations_v2_sample_response.json"))
    assert langfuse.matches(load("litellm_langfuse_ingestion_completion_with_bedrock_call.json"))
    assert not langfuse.matches({"data": [1], "meta": {}})
    assert not langfuse.matches({"model": "gpt-4o", "input_tokens": 3})
