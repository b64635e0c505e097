"""OpenAI Chat Completions and Responses bodies -> canonical usage, on real responses (fixtures/openai/)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from margindash_cli.errors import LineRejected
from margindash_cli.ingest.formats import openai
from margindash_cli.ingest.formats.base import CANONICAL_FIELDS

FIXTURES = Path(__file__).parent.parent / "fixtures" / "openai"


def load(name: str) -> dict:
    return orjson.loads((FIXTURES / name).read_bytes())


def test_chat_cached_tokens_are_part_of_prompt_tokens():
    assert openai.extract(load("chat/openai_chat__cached_tokens.json")) == {
        "vendor": "openai",
        "model": "gpt-5.6-sol",
        "input_tokens": 4020,
        "output_tokens": 4,
        "cached_input_tokens": 4012,
        "cache_write_tokens": 0,
        "cache_write_1h_tokens": 0,
        "reasoning_tokens": 0,
        "response_id": "chatcmpl-E1mBQt42vYTsKNd5wnyJlT0db7v9S",
        "service_tier": "default",
        "timestamp": 1784092252,
    }


def test_chat_gpt4o_basic():
    assert openai.extract(load("chat/openai_chat__gpt4o_basic.json")) == {
        "vendor": "openai",
        "model": "gpt-4o-2024-08-06",
        "input_tokens": 14,
        "output_tokens": 7,
        "cached_input_tokens": 0,
        "cache_write_tokens": 0,
        "cache_write_1h_tokens": 0,
        "reasoning_tokens": 0,
        "response_id": "chatcmpl-Bu8vBIrB8kIWKRyTcpEEPncjhHtMU",
        "service_tier": "default",
        "timestamp": 1752720361,
    }


def test_chat_gpt4o_mini_basic():
    assert openai.extract(load("chat/openai_chat__gpt4o_mini_basic.json")) == {
        "vendor": "openai",
        "model": "gpt-4o-mini-2024-07-18",
        "input_tokens": 8,
        "output_tokens": 9,
        "cached_input_tokens": 0,
        "cache_write_tokens": 0,
        "cache_write_1h_tokens": 0,
        "reasoning_tokens": 0,
        "response_id": "chatcmpl-Dr3KONlJHqM2OKkn7IPxwgC3ZIEZw",
        "service_tier": "default",
        "timestamp": 1781536548,
    }


def test_chat_reasoning_tokens_are_part_of_completion_tokens():
    assert openai.extract(load("chat/openai_chat__o3_mini_reasoning_tokens.json")) == {
        "vendor": "openai",
        "model": "o3-mini-2025-01-31",
        "input_tokens": 7,
        "output_tokens": 87,
        "cached_input_tokens": 0,
        "cache_write_tokens": 0,
        "cache_write_1h_tokens": 0,
        "reasoning_tokens": 64,
        "response_id": "chatcmpl-Dr3KNfXKBS1oDOrhqYDuLYdjX9PM4",
        "service_tier": "default",
        "timestamp": 1781536547,
    }


def test_openrouter_body_keeps_its_routed_model_and_has_no_tier():
    assert openai.extract(load("chat/openai_chat__openrouter_cost_cached_reasoning.json")) == {
        "vendor": "openai",
        "model": "x-ai/grok-4",
        "input_tokens": 687,
        "output_tokens": 240,
        "cached_input_tokens": 682,
        "cache_write_tokens": 0,
        "cache_write_1h_tokens": 0,
        "reasoning_tokens": 165,
        "response_id": "gen-1759509677-MpJiZ3ZkiGU3lnbM8QKo",
        "timestamp": 1759509677,
    }


def test_openrouter_usage_cost_is_an_exact_decimal_string():
    body = load("chat/openai_chat__openrouter_cost_cached_reasoning.json")
    body["usage"]["cost"] = orjson.loads(b"0.00022500000000000002")  # a float, as orjson parses it
    event = openai.extract(body)
    assert event["cost_usd"] == "0.00022500000000000002"
    body["usage"]["cost"] = 1e-05
    assert openai.extract(body)["cost_usd"] == "0.00001"
    body["usage"]["cost"] = 0
    assert openai.extract(body)["cost_usd"] == "0"


def test_openapi_chat_examples():
    default = openai.extract(load("chat/openai_openapi_example__default.json"))
    image = openai.extract(load("chat/openai_openapi_example__image_input.json"))
    assert default == {
        "vendor": "openai",
        "model": "gpt-5.4",
        "input_tokens": 19,
        "output_tokens": 10,
        "cached_input_tokens": 0,
        "cache_write_tokens": 0,
        "cache_write_1h_tokens": 0,
        "reasoning_tokens": 0,
        "response_id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
        "service_tier": "default",
        "timestamp": 1741569952,
    }
    assert image == {
        "vendor": "openai",
        "model": "gpt-5.4",
        "input_tokens": 1117,
        "output_tokens": 46,
        "cached_input_tokens": 0,
        "cache_write_tokens": 0,
        "cache_write_1h_tokens": 0,
        "reasoning_tokens": 0,
        "response_id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
        "service_tier": "default",
        "timestamp": 1741570283,
    }


def test_responses_cached_tokens():
    assert openai.extract(load("responses/openai_responses__cached_tokens.json")) == {
        "vendor": "openai",
        "model": "gpt-5.6-sol",
        "input_tokens": 4020,
        "output_tokens": 5,
        "cached_input_tokens": 4012,
        "cache_write_tokens": 0,
        "cache_write_1h_tokens": 0,
        "reasoning_tokens": 0,
        "response_id": "resp_0dec647b9ff1df8d006a5716666d8c8199aaf0491f9a22e34d",
        "service_tier": "default",
        "timestamp": 1784092262,
    }


def test_responses_gpt4o_cached_tokens_without_tier():
    assert openai.extract(load("responses/openai_responses__gpt4o_cached_tokens.json")) == {
        "vendor": "openai",
        "model": "gpt-4o-2024-08-06",
        "input_tokens": 1349,
        "output_tokens": 10,
        "cached_input_tokens": 1024,
        "cache_write_tokens": 0,
        "cache_write_1h_tokens": 0,
        "reasoning_tokens": 0,
        "response_id": "resp_67e53e7416808191a407bcab0af8377b03c28585ba97a132",
        "timestamp": 1743076980,
    }


def test_responses_reasoning_tokens():
    assert openai.extract(load("responses/openai_responses__o3_mini_reasoning_tokens.json")) == {
        "vendor": "openai",
        "model": "o3-mini-2025-01-31",
        "input_tokens": 13,
        "output_tokens": 227,
        "cached_input_tokens": 0,
        "cache_write_tokens": 0,
        "cache_write_1h_tokens": 0,
        "reasoning_tokens": 192,
        "response_id": "resp_684891844d0481a28f2d4ed6ea21aa8a0a1b41b457712f86",
        "service_tier": "default",
        "timestamp": 1749586308,
    }


def test_openapi_responses_examples():
    assert openai.extract(load("responses/openai_openapi_example__reasoning.json")) == {
        "vendor": "openai",
        "model": "o1-2024-12-17",
        "input_tokens": 81,
        "output_tokens": 1035,
        "cached_input_tokens": 0,
        "cache_write_tokens": 0,
        "cache_write_1h_tokens": 0,
        "reasoning_tokens": 832,
        "response_id": "resp_67ccd7eca01881908ff0b5146584e408072912b2993db808",
        "timestamp": 1741477868,
    }
    assert openai.extract(load("responses/openai_openapi_example__text_input.json")) == {
        "vendor": "openai",
        "model": "gpt-5.4",
        "input_tokens": 36,
        "output_tokens": 87,
        "cached_input_tokens": 0,
        "cache_write_tokens": 0,
        "cache_write_1h_tokens": 0,
        "reasoning_tokens": 0,
        "response_id": "resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b",
        "timestamp": 1741476542,
    }


def test_cache_write_tokens_are_part_of_input():
    body = load("responses/openai_responses__cached_tokens.json")
    body["usage"]["input_tokens_details"] = {"cached_tokens": 1000, "cache_write_tokens": 3000}
    event = openai.extract(body)
    assert (event["input_tokens"], event["cached_input_tokens"], event["cache_write_tokens"]) == (4020, 1000, 3000)


@pytest.mark.parametrize(
    ("tier", "expected"),
    [
        ("auto", "default"),
        ("default", "default"),
        ("standard", "default"),
        ("flex", "flex"),
        ("priority", "priority"),
        ("PRIORITY", "priority"),
    ],
)
def test_service_tier_is_normalized(tier, expected):
    body = load("chat/openai_chat__gpt4o_basic.json")
    body["service_tier"] = tier
    assert openai.extract(body)["service_tier"] == expected


def test_deepseek_style_cache_hit_tokens_are_read_as_cached():
    body = {
        "id": "x",
        "model": "deepseek-chat",
        "usage": {
            "prompt_tokens": 100,
            "completion_tokens": 5,
            "prompt_cache_hit_tokens": 60,
            "prompt_cache_miss_tokens": 40,
        },
    }
    assert openai.extract(body)["cached_input_tokens"] == 60


def test_null_details_and_integral_floats_are_accepted():
    body = {
        "model": "gpt-4o",
        "usage": {
            "prompt_tokens": 10.0,
            "completion_tokens": 20,
            "prompt_tokens_details": None,
            "completion_tokens_details": None,
        },
    }
    event = openai.extract(body)
    assert (event["input_tokens"], event["output_tokens"], event["cached_input_tokens"], event["reasoning_tokens"]) == (
        10,
        20,
        0,
        0,
    )
    assert type(event["input_tokens"]) is int
    assert "response_id" not in event and "timestamp" not in event and "service_tier" not in event


def test_only_usage_metadata_leaves_the_format():
    event = openai.extract(load("chat/openai_chat__openrouter_cost_cached_reasoning.json"))
    assert set(event) <= set(CANONICAL_FIELDS) | {"response_id"}
    assert "Grok" not in repr(event)


def test_absent_usage_block_is_rejected():
    body = load("chat/openai_chat__gpt4o_basic.json")
    del body["usage"]
    with pytest.raises(LineRejected) as exc:
        openai.extract(body)
    assert exc.value.field == "usage"
    assert exc.value.reason == "no usage block"


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"prompt_tokens": True}, "usage.prompt_tokens"),
        ({"prompt_tokens": 1.5}, "usage.prompt_tokens"),
        ({"prompt_tokens": "14"}, "usage.prompt_tokens"),
        ({"completion_tokens": -1}, "usage.completion_tokens"),
        ({"prompt_tokens_details": {"cached_tokens": "4"}}, "usage.prompt_tokens_details.cached_tokens"),
        ({"completion_tokens_details": {"reasoning_tokens": 2.5}}, "usage.completion_tokens_details.reasoning_tokens"),
        ({"prompt_tokens_details": [1]}, "usage.prompt_tokens_details"),
        ({"cost": "abc"}, "usage.cost"),
        ({"cost": True}, "usage.cost"),
    ],
)
def test_bad_chat_usage_fields_are_rejected_naming_the_field(patch, field):
    body = load("chat/openai_chat__gpt4o_basic.json")
    body["usage"].update(patch)
    with pytest.raises(LineRejected) as exc:
        openai.extract(body)
    assert exc.value.field == field


def test_bad_responses_usage_field_is_rejected_naming_the_field():
    body = load("responses/openai_responses__o3_mini_reasoning_tokens.json")
    body["usage"]["output_tokens_details"]["reasoning_tokens"] = float("nan")
    with pytest.raises(LineRejected) as exc:
        openai.extract(body)
    assert exc.value.field == "usage.output_tokens_details.reasoning_tokens"


def test_bad_service_tier_is_rejected():
    body = load("chat/openai_chat__gpt4o_basic.json")
    body["service_tier"] = 3
    with pytest.raises(LineRejected) as exc:
        openai.extract(body)
    assert exc.value.field == "service_tier"


def test_matches_openai_bodies_only():
    assert openai.matches(load("chat/openai_chat__gpt4o_basic.json"))
    assert openai.matches(load("responses/openai_openapi_example__reasoning.json"))
    assert openai.matches({"object": "response", "usage": {"input_tokens": 1, "output_tokens": 2}})
    assert not openai.matches({"type": "message", "usage": {"input_tokens": 1, "output_tokens": 2}})
    assert not openai.matches({"usage": None})
