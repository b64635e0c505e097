"""OpenAI Batch output lines -> canonical usage (fixtures/openai_batch/)."""

from __future__ import annotations

import copy
from pathlib import Path

import orjson
import pytest

from margindash_cli.errors import LineRejected
from margindash_cli.ingest.formats import openai_batch

FIXTURES = Path(__file__).parent.parent / "fixtures" / "openai_batch"
OUTPUT_LINE = orjson.loads((FIXTURES / "batch_output_example.jsonl").read_bytes().splitlines()[0])


def line() -> dict:
    return copy.deepcopy(OUTPUT_LINE)


def test_output_line_is_one_batch_tier_event_keyed_by_the_request_id():
    assert openai_batch.parse(line()) == [
        {
            "vendor": "openai",
            "model": "gpt-4o-mini",
            "input_tokens": 24,
            "output_tokens": 15,
            "cached_input_tokens": 0,
            "cache_write_tokens": 0,
            "cache_write_1h_tokens": 0,
            "reasoning_tokens": 0,
            "response_id": "chatcmpl-9758Iw",
            "request_id": "req_c187b3",
            "service_tier": "batch",
            "timestamp": 1711475054,
        }
    ]


def test_batch_tier_wins_over_the_body_tier_and_body_id_stands_in_for_request_id():
    data = line()
    data["response"]["body"]["service_tier"] = "default"
    del data["response"]["request_id"]
    [event] = openai_batch.parse(data)
    assert (event["service_tier"], event["request_id"]) == ("batch", "chatcmpl-9758Iw")


def test_cached_and_reasoning_tokens_of_the_body_are_read():
    data = line()
    data["response"]["body"]["usage"] = {
        "prompt_tokens": 2000,
        "completion_tokens": 300,
        "prompt_tokens_details": {"cached_tokens": 1024},
        "completion_tokens_details": {"reasoning_tokens": 256},
    }
    [event] = openai_batch.parse(data)
    assert [event[k] for k in ("input_tokens", "output_tokens", "cached_input_tokens", "reasoning_tokens")] == [
        2000,
        300,
        1024,
        256,
    ]


def test_error_line_is_rejected():
    data = {
        "id": "batch_req_1",
        "custom_id": "request-3",
        "response": None,
        "error": {
            "code": "batch_expired",
            "message": "This request could not be executed before the completion window expired.",
        },
    }
    with pytest.raises(LineRejected) as exc:
        openai_batch.parse(data)
    assert exc.value.field == "error"
    assert "batch_expired" in exc.value.reason


def test_non_200_status_is_rejected():
    data = line()
    data["response"]["status_code"] = 400
    data["response"]["body"] = {"error": {"message": "Invalid model", "type": "invalid_request_error"}}
    with pytest.raises(LineRejected) as exc:
        openai_batch.parse(data)
    assert exc.value.field == "response.status_code"


def test_missing_usage_is_rejected_with_its_place_in_the_line():
    data = line()
    del data["response"]["body"]["usage"]
    with pytest.raises(LineRejected) as exc:
        openai_batch.parse(data)
    assert (exc.value.field, exc.value.reason) == ("response.body.usage", "no usage block")


def test_bad_token_count_is_rejected_with_its_place_in_the_line():
    data = line()
    data["response"]["body"]["usage"]["prompt_tokens"] = "24"
    with pytest.raises(LineRejected) as exc:
        openai_batch.parse(data)
    assert exc.value.field == "response.body.usage.prompt_tokens"


def test_no_response_is_rejected():
    with pytest.raises(LineRejected) as exc:
        openai_batch.parse({"custom_id": "r", "response": None, "error": None})
    assert exc.value.field == "response"


def test_matches_output_lines_not_input_lines():
    assert openai_batch.matches(line())
    input_line = orjson.loads((FIXTURES / "batch_input_example.jsonl").read_bytes().splitlines()[0])
    assert not openai_batch.matches(input_line)
