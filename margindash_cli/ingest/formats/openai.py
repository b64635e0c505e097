"""OpenAI response bodies: Chat Completions and the Responses API (and OpenAI-compatible gateways).

Token semantics (OpenAI's own, which are already the canonical ones):
- Chat: `usage.prompt_tokens` counts all prompt tokens; `prompt_tokens_details.cached_tokens` and
  `prompt_tokens_details.cache_write_tokens` are parts of it. `completion_tokens` includes
  `completion_tokens_details.reasoning_tokens`.
- Responses: the same with `input_tokens`, `input_tokens_details.{cached_tokens,cache_write_tokens}`,
  `output_tokens`, `output_tokens_details.reasoning_tokens`.
- Audio (gpt-4o-audio, realtime, gpt-4o-mini-tts): `prompt_tokens_details.audio_tokens` (a part of the
  prompt) and `completion_tokens_details.audio_tokens` (a part of the completion); Responses and realtime
  `input_tokens_details` / `output_tokens_details.audio_tokens` alike (realtime: `input_token_details`,
  `output_token_details`, its cached audio in `cached_tokens_details.audio_tokens`, which becomes
  `cached_audio_tokens`). Chat reports no cached-audio split: its audio beyond the uncached prompt bills
  as cached input.
- DeepSeek-style `prompt_cache_hit_tokens` (a part of `prompt_tokens`) is read as cached when
  `cached_tokens` is absent.

vendor is always "openai" and the model string is kept as given, so an OpenRouter body
(`x-ai/grok-4`) keeps its routed model name. OpenRouter's `usage.cost` becomes `cost_usd`, an exact
decimal string; so does xAI's `usage.cost_in_usd_ticks` (1 USD = 10^10 ticks: 37,500,000 ticks = $0.00375). `service_tier` is the tier the response says it served ("auto"/"standard" ->
"default"); `timestamp` is `created` (Chat) or `created_at` (Responses), epoch seconds.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from margindash_cli.errors import LineRejected
from margindash_cli.ingest.formats.fields import cost_text, read_object, read_tokens, service_tier, show

USD_TICKS = 10**10  # xAI reports a call's cost in ticks: 1 USD = 10^10 ticks


def ticks_text(value: Any, field: str) -> str | None:
    """xAI's `usage.cost_in_usd_ticks` (a whole number of 1e-10 USD) as an exact USD decimal string; None when absent."""
    if value is None:
        return None
    if type(value) is float and value.is_integer():
        value = int(value)
    if type(value) is not int or value < 0:
        raise LineRejected(f"must be a non-negative whole number of ticks, got {show(value)}", field)
    return format(Decimal(value).scaleb(-10).normalize(), "f") if value else "0"


NAME = "openai"

# `object` values of OpenAI bodies, for detection when the usage block alone is ambiguous.
OBJECT_TYPES = frozenset(
    {"chat.completion", "chat.completion.chunk", "response", "text_completion", "realtime.response"}
)


def matches(payload: dict[str, Any]) -> bool:
    """An OpenAI-shaped body: chat usage keys, Responses detail objects, or an OpenAI `object` type."""
    usage = payload.get("usage")
    if type(usage) is not dict:
        return False
    if (
        "prompt_tokens" in usage
        or "completion_tokens" in usage
        or "input_tokens_details" in usage
        or "input_token_details" in usage
    ):
        return True
    obj = payload.get("object")
    return type(obj) is str and obj in OBJECT_TYPES


def extract(payload: dict[str, Any]) -> dict[str, Any]:
    """The usage part of a partial event from one OpenAI body. Raises LineRejected on a bad usage block."""
    usage = payload.get("usage")
    if type(usage) is not dict:
        raise LineRejected("no usage block", "usage")
    if "prompt_tokens" in usage or "completion_tokens" in usage:
        inp = read_tokens(usage, "prompt_tokens", "usage")
        details = read_object(usage, "prompt_tokens_details", "usage")
        if details.get("cached_tokens") is not None:
            cached = read_tokens(details, "cached_tokens", "usage.prompt_tokens_details")
        else:
            cached = read_tokens(usage, "prompt_cache_hit_tokens", "usage")
        cache_write = read_tokens(details, "cache_write_tokens", "usage.prompt_tokens_details")
        out = read_tokens(usage, "completion_tokens", "usage")
        out_details = read_object(usage, "completion_tokens_details", "usage")
        reasoning = read_tokens(out_details, "reasoning_tokens", "usage.completion_tokens_details")
        audio_in = read_tokens(details, "audio_tokens", "usage.prompt_tokens_details")
        audio_out = read_tokens(out_details, "audio_tokens", "usage.completion_tokens_details")
        cached_audio = 0
    else:
        inp = read_tokens(usage, "input_tokens", "usage")
        # Realtime (`realtime.response`) spells them input_token_details / output_token_details.
        d_key = "input_tokens_details" if "input_token_details" not in usage else "input_token_details"
        o_key = "output_tokens_details" if "output_token_details" not in usage else "output_token_details"
        details = read_object(usage, d_key, "usage")
        cached = read_tokens(details, "cached_tokens", f"usage.{d_key}")
        cache_write = read_tokens(details, "cache_write_tokens", f"usage.{d_key}")
        out = read_tokens(usage, "output_tokens", "usage")
        out_details = read_object(usage, o_key, "usage")
        reasoning = read_tokens(out_details, "reasoning_tokens", f"usage.{o_key}")
        audio_in = read_tokens(details, "audio_tokens", f"usage.{d_key}")
        audio_out = read_tokens(out_details, "audio_tokens", f"usage.{o_key}")
        cached_audio = read_tokens(
            read_object(details, "cached_tokens_details", f"usage.{d_key}"),
            "audio_tokens",
            f"usage.{d_key}.cached_tokens_details",
        )
        cached_audio = min(cached_audio, audio_in, cached)  # cached audio: a part of the cache reads, at its rate
        audio_in -= cached_audio
    event: dict[str, Any] = {
        "vendor": "openai",
        "model": payload.get("model"),
        "input_tokens": inp,
        "output_tokens": out,
        "cached_input_tokens": cached,
        "cache_write_tokens": cache_write,
        "cache_write_1h_tokens": 0,
        "reasoning_tokens": reasoning,
    }
    if audio_in:  # audio prompt tokens: uncached ones at the audio rate
        event["input_audio_tokens"] = min(audio_in, max(inp - cached - cache_write, 0))
    if cached_audio:
        event["cached_audio_tokens"] = cached_audio
    if audio_out:
        event["output_audio_tokens"] = audio_out
    response_id = payload.get("id")
    if response_id is not None:
        event["response_id"] = response_id
    tier = service_tier(payload.get("service_tier"), "service_tier")
    if tier is not None:
        event["service_tier"] = tier
    cost = cost_text(usage.get("cost"), "usage.cost")
    if cost is None:
        cost = ticks_text(usage.get("cost_in_usd_ticks"), "usage.cost_in_usd_ticks")
    if cost is not None:
        event["cost_usd"] = cost
    created = payload.get("created")
    if created is None:
        created = payload.get("created_at")
    if created is not None:
        event["timestamp"] = created
    return event
