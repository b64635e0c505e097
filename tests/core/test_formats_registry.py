"""Format registry: `--format` names, wrapped-payload lookup, and per-line auto-detection."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from margindash_cli.errors import LineRejected
from margindash_cli.ingest import registry
from margindash_cli.ingest.formats import (
    anthropic,
    bedrock,
    claude_code,
    fields,
    gemini,
    langfuse,
    litellm,
    openai,
    openai_batch,
)

FIXTURES = Path(__file__).parent.parent / "fixtures"


def load(name: str) -> dict:
    return orjson.loads((FIXTURES / name).read_bytes())


def test_every_cli_format_name_has_a_module():
    for name in ("openai", "anthropic", "gemini", "bedrock", "litellm", "langfuse", "claude-code", "openai-batch"):
        module = registry.FORMATS[name]
        assert module.NAME == name


def test_modules_satisfy_their_protocol():
    for module in registry.PROVIDER_RESPONSES:
        assert callable(module.matches) and callable(module.extract) and isinstance(module.NAME, str)
    for module in registry.LINE_FORMATS:
        assert callable(module.matches) and callable(module.parse) and isinstance(module.NAME, str)


@pytest.mark.parametrize(
    ("name", "module"),
    [
        ("openai/chat/openai_chat__cached_tokens.json", openai),
        ("openai/responses/openai_responses__o3_mini_reasoning_tokens.json", openai),
        ("openai/responses/openai_openapi_example__reasoning.json", openai),
        ("anthropic/anthropic_messages__cache_read.json", anthropic),
        ("anthropic/anthropic_messages__via_bedrock_invoke_cache_write_and_read.json", anthropic),
        ("gemini/gemini_generatecontent__cached_content.json", gemini),
        ("bedrock/bedrock_converse__cache_write.json", bedrock),
    ],
)
def test_wrapped_provider_responses_are_detected(name, module):
    payload = load(name)
    for key in ("response", "message", "body"):
        line = {"timestamp": "2025-06-01T00:00:00Z", "customer_id": "c1", key: payload}
        assert registry.find_payload(line) is payload
        assert registry.detect(line) is module
    batch_like = {"customer_id": "c1", "response": {"status": 200, "body": payload}}
    assert registry.find_payload(batch_like) is payload
    assert registry.detect(payload) is module  # a bare logged response body is its own payload


def test_payload_precedence_is_response_message_body_then_response_body():
    a, b, c, d = ({"usage": {"input_tokens": i}} for i in range(4))
    assert registry.find_payload({"body": c, "message": b, "response": a}) is a
    assert registry.find_payload({"body": c, "message": b}) is b
    assert registry.find_payload({"body": c, "response": {"body": d}}) is c
    assert registry.find_payload({"response": {"body": d}}) is d


def test_a_payload_needs_a_usage_block():
    assert registry.find_payload({"response": {"usage": None}, "message": "hi"}) is None
    assert registry.find_payload({"response": "text", "body": {"model": "gpt-4o"}}) is None
    assert registry.detect({"timestamp": 1, "model": "gpt-4o", "input_tokens": 3}) is None  # a canonical event


@pytest.mark.parametrize(
    ("name", "module"),
    [
        ("openai_batch/batch_output_example.jsonl", openai_batch),
        ("litellm/spend_logs_payload.json", litellm),
        ("litellm/example_standard_logging_payload.json", litellm),  # also wraps a chat completion under `response`
        ("langfuse/langfuse_docs_observations_v2_sample_response.json", langfuse),
        ("langfuse/litellm_langfuse_ingestion_completion_with_bedrock_call.json", langfuse),
    ],
)
def test_line_formats_are_detected_before_wrapped_payloads(name, module):
    assert registry.detect(load(name)) is module


def test_claude_code_lines_are_detected_before_their_anthropic_message():
    raw = (FIXTURES / "claude_code/claude-code-log/sidechain_integrated.jsonl").read_bytes().splitlines()[0]
    assert registry.detect(orjson.loads(raw)) is claude_code


def test_format_openai_also_reads_batch_lines():
    batch_line = load("openai_batch/batch_output_example.jsonl")
    assert registry.resolve("openai", batch_line) is openai_batch
    assert registry.resolve("openai", {"response": load("openai/chat/openai_chat__gpt4o_basic.json")}) is openai
    assert registry.resolve("gemini", batch_line) is gemini


# The shared field readers.


@pytest.mark.parametrize(("value", "expected"), [(None, 0), (0, 0), (7, 7), (7.0, 7)])
def test_read_tokens_accepts_non_negative_integers(value, expected):
    got = fields.read_tokens({"n": value}, "n", "usage")
    assert got == expected and type(got) is int


@pytest.mark.parametrize("value", [True, False, 1.5, -1, -1.0, "7", float("inf"), float("nan"), [7], {"n": 7}])
def test_read_tokens_refuses_everything_else(value):
    with pytest.raises(LineRejected) as exc:
        fields.read_tokens({"n": value}, "n", "usage.details")
    assert exc.value.field == "usage.details.n"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        (0, "0"),
        (0.1, "0.1"),
        (0.00022500000000000002, "0.00022500000000000002"),
        (1e-05, "0.00001"),
        ("0.00253", "0.00253"),
        (12, "12"),
    ],
)
def test_cost_text_is_exact(value, expected):
    assert fields.cost_text(value, "cost") == expected


@pytest.mark.parametrize("value", [True, "abc", float("inf"), "NaN", [1]])
def test_cost_text_refuses_non_numbers(value):
    with pytest.raises(LineRejected):
        fields.cost_text(value, "cost")


def test_sum_costs_is_exact():
    assert fields.sum_costs([0.1, 0.2, None], "cost") == "0.3"
    assert fields.sum_costs([None], "cost") is None


@pytest.mark.parametrize(
    ("model", "vendor"),
    [
        ("gpt-4o", "openai"),
        ("o3-mini-2025-01-31", "openai"),
        ("claude-sonnet-4-5", "anthropic"),
        ("gemini-2.5-flash", "google"),
        ("eu.anthropic.claude-haiku-4-5-20251001-v1:0", "bedrock"),
        ("bedrock/anthropic.claude-haiku-4-5-20251001-v1:0", "bedrock"),
        ("openai/gpt-4o", "openai"),
        ("x-ai/grok-4", "x-ai"),
        ("llama-3-70b", None),
        (None, None),
    ],
)
def test_vendor_of_model(model, vendor):
    assert fields.vendor_of_model(model) == vendor
