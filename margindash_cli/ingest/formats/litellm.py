"""LiteLLM proxy logs: `LiteLLM_SpendLogs` rows and `StandardLoggingPayload` objects, one per line.

Token semantics: LiteLLM normalises every provider to OpenAI's convention, so `prompt_tokens`
already counts cache reads AND cache writes (its Anthropic transformation adds both
`cache_read_input_tokens` and `cache_creation_input_tokens` to `prompt_tokens`), and
`completion_tokens` includes reasoning. The breakdown comes from the provider usage object LiteLLM
keeps: `metadata.usage_object` (SpendLogs; `metadata` is a JSON string in the table, an object in
exports) or `response.usage` (StandardLoggingPayload):
- cached = `prompt_tokens_details.cached_tokens`, else `cache_read_input_tokens`;
- cache writes = `cache_creation_input_tokens`, else `prompt_tokens_details.cache_creation_tokens`;
  their one-hour part = `cache_creation_token_details.ephemeral_1h_input_tokens` (either level);
- reasoning = `completion_tokens_details.reasoning_tokens`;
- audio = `prompt_tokens_details.audio_tokens` / `completion_tokens_details.audio_tokens`.

Other fields: request_id = `request_id` (SpendLogs) or `id` (payload); model = `model`, else
`model_group`; vendor = `custom_llm_provider` (`gemini` -> "google"), else guessed from the model;
cost_usd = `spend` / `response_cost` as an exact decimal string; timestamp = `startTime`;
customer_id = `end_user`, else `user` (SpendLogs) or the key's end-user/user id (payload).
A `status: failure` row is rejected. A LiteLLM cache hit (`cache_hit` true) made no provider call
and billed nothing: it yields no event.
"""

from __future__ import annotations

from typing import Any

import orjson

from margindash_cli.errors import LineRejected
from margindash_cli.ingest.formats.fields import (
    EMPTY,
    VENDOR_PREFIXES,
    cost_text,
    read_object,
    read_tokens,
    service_tier,
    vendor_of_model,
)

NAME = "litellm"

# `cache_hit` values meaning LiteLLM answered from its own cache (the table stores the text "True").
CACHE_HIT_VALUES = (True, "True", "true")


def matches(line: dict[str, Any]) -> bool:
    return "call_type" in line and ("spend" in line or "response_cost" in line)


def parse(line: dict[str, Any]) -> list[dict[str, Any]]:
    """The one event of a spend-log row or logging payload ([] for a LiteLLM cache hit)."""
    if line.get("status") == "failure":
        raise LineRejected("failed call (status 'failure')", "status")
    if line.get("cache_hit") in CACHE_HIT_VALUES:
        return []
    usage, where = _usage_object(line)
    details = read_object(usage, "prompt_tokens_details", where)
    if details.get("cached_tokens") is not None:
        cached = read_tokens(details, "cached_tokens", f"{where}.prompt_tokens_details")
    else:
        cached = read_tokens(usage, "cache_read_input_tokens", where)
    if usage.get("cache_creation_input_tokens") is not None:
        cache_write = read_tokens(usage, "cache_creation_input_tokens", where)
    else:
        cache_write = read_tokens(details, "cache_creation_tokens", f"{where}.prompt_tokens_details")
    split = read_object(details, "cache_creation_token_details", f"{where}.prompt_tokens_details")
    split_where = f"{where}.prompt_tokens_details.cache_creation_token_details"
    if not split:
        split = read_object(usage, "cache_creation_token_details", where)
        split_where = f"{where}.cache_creation_token_details"
    out_details = read_object(usage, "completion_tokens_details", where)
    event: dict[str, Any] = {
        "input_tokens": read_tokens(line, "prompt_tokens", ""),
        "output_tokens": read_tokens(line, "completion_tokens", ""),
        "cached_input_tokens": cached,
        "cache_write_tokens": cache_write,
        "cache_write_1h_tokens": read_tokens(split, "ephemeral_1h_input_tokens", split_where) if split else 0,
        "reasoning_tokens": read_tokens(out_details, "reasoning_tokens", f"{where}.completion_tokens_details"),
    }
    audio_in = read_tokens(details, "audio_tokens", f"{where}.prompt_tokens_details")
    if audio_in:
        event["input_audio_tokens"] = min(audio_in, max(event["input_tokens"] - cached - cache_write, 0))
    audio_out = read_tokens(out_details, "audio_tokens", f"{where}.completion_tokens_details")
    if audio_out:
        event["output_audio_tokens"] = audio_out
    model = line.get("model") or line.get("model_group")
    event["model"] = model
    provider = line.get("custom_llm_provider")
    if type(provider) is str and provider:
        event["vendor"] = VENDOR_PREFIXES.get(provider, provider.lower())
    else:
        vendor = vendor_of_model(model)
        if vendor is not None:
            event["vendor"] = vendor
    request_id = line.get("request_id") or line.get("id")
    if request_id is not None:
        event["request_id"] = request_id
    if "spend" in line:
        cost = cost_text(line.get("spend"), "spend")
    else:
        cost = cost_text(line.get("response_cost"), "response_cost")
    if cost is not None:
        event["cost_usd"] = cost
    start = line.get("startTime")
    if start is not None:
        event["timestamp"] = start
    customer = _customer(line)
    if customer is not None:
        event["customer_id"] = customer
    response = line.get("response")
    if type(response) is dict:
        tier = service_tier(response.get("service_tier"), "response.service_tier")
        if tier is not None:
            event["service_tier"] = tier
    return [event]


def _usage_object(line: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The provider usage object LiteLLM kept, and its dotted path (EMPTY when there is none)."""
    response = line.get("response")
    if type(response) is dict and type(response.get("usage")) is dict:
        return response["usage"], "response.usage"
    metadata = line.get("metadata")
    if type(metadata) is str:
        if "usage_object" not in metadata:  # skip parsing kilobytes of metadata that cannot help
            return EMPTY, "metadata.usage_object"
        try:
            metadata = orjson.loads(metadata)
        except orjson.JSONDecodeError:
            raise LineRejected("not valid JSON", "metadata") from None
    if type(metadata) is not dict:
        return EMPTY, "metadata.usage_object"
    return read_object(metadata, "usage_object", "metadata"), "metadata.usage_object"


def _customer(line: dict[str, Any]) -> str | None:
    for value in (line.get("end_user"), line.get("user")):
        if value:
            return value
    metadata = line.get("metadata")
    if type(metadata) is dict:
        for key in ("user_api_key_end_user_id", "user_api_key_user_id"):
            if metadata.get(key):
                return metadata[key]
    return None
