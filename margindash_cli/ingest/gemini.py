"""Gemini `generateContent` responses (Gemini API and Vertex AI), read from `usageMetadata`.

Token semantics:
- `promptTokenCount` counts the whole prompt; `cachedContentTokenCount` is a part of it.
- `toolUsePromptTokenCount` (prompts built by built-in tools such as search) is NOT in
  `promptTokenCount` and is billed as input, so canonical input = prompt + tool-use prompt.
- `candidatesTokenCount` EXCLUDES `thoughtsTokenCount`, which is billed as output on top, so
  canonical output = candidates + thoughts and reasoning = thoughts.
  (Check: promptTokenCount + candidatesTokenCount + thoughtsTokenCount = totalTokenCount in every sample.)
The model is `modelVersion`, the id `responseId`, the tier `usageMetadata.serviceTier`
("standard" -> "default"), and Vertex's `createTime`, where present, the timestamp. vendor "google".
"""

from __future__ import annotations

from typing import Any

from ..errors import LineRejected
from .fields import read_tokens, service_tier

NAME = "gemini"


def matches(payload: dict[str, Any]) -> bool:
    return "usageMetadata" in payload


def extract(payload: dict[str, Any]) -> dict[str, Any]:
    """The usage part of a partial event from one Gemini response body."""
    meta = payload.get("usageMetadata")
    if type(meta) is not dict:
        raise LineRejected("no usage block", "usageMetadata")
    candidates = read_tokens(meta, "candidatesTokenCount", "usageMetadata")
    thoughts = read_tokens(meta, "thoughtsTokenCount", "usageMetadata")
    event: dict[str, Any] = {
        "vendor": "google",
        "model": payload.get("modelVersion"),
        "input_tokens": read_tokens(meta, "promptTokenCount", "usageMetadata")
        + read_tokens(meta, "toolUsePromptTokenCount", "usageMetadata"),
        "output_tokens": candidates + thoughts,
        "cached_input_tokens": read_tokens(meta, "cachedContentTokenCount", "usageMetadata"),
        "cache_write_tokens": 0,
        "cache_write_1h_tokens": 0,
        "reasoning_tokens": thoughts,
    }
    response_id = payload.get("responseId")
    if response_id is not None:
        event["response_id"] = response_id
    tier = service_tier(meta.get("serviceTier"), "usageMetadata.serviceTier")
    if tier is not None:
        event["service_tier"] = tier
    created = payload.get("createTime")
    if created is not None:
        event["timestamp"] = created
    return event
