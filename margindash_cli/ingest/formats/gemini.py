"""Gemini `generateContent` responses (Gemini API and Vertex AI), read from `usageMetadata`.

Token semantics:
- `promptTokenCount` counts the whole prompt; `cachedContentTokenCount` is a part of it.
- `toolUsePromptTokenCount` (prompts built by built-in tools such as search) is NOT in
  `promptTokenCount` and is billed as input, so canonical input = prompt + tool-use prompt.
- `candidatesTokenCount` EXCLUDES `thoughtsTokenCount`, which is billed as output on top, so
  canonical output = candidates + thoughts and reasoning = thoughts.
  (Check: promptTokenCount + candidatesTokenCount + thoughtsTokenCount = totalTokenCount in every sample.)
- `promptTokensDetails` / `candidatesTokensDetails` split the counts by modality: AUDIO prompt tokens
  become `input_audio_tokens`, less the cached audio of `cacheTokensDetails` (`cached_audio_tokens`), AUDIO and IMAGE candidates
  `output_audio_tokens` / `output_image_tokens`, each billed at its own rate (AUDIO input is $1.00/MTok
  on gemini-2.5-flash against $0.30 for text).
The model is `modelVersion`, the id `responseId`, the tier `usageMetadata.serviceTier`
("standard" -> "default"), and Vertex's `createTime`, where present, the timestamp. vendor "google".
"""

from __future__ import annotations

from typing import Any

from margindash_cli.errors import LineRejected
from margindash_cli.ingest.formats.fields import read_tokens, service_tier, show

NAME = "gemini"


def matches(payload: dict[str, Any]) -> bool:
    return "usageMetadata" in payload


def _modality(meta: dict[str, Any], key: str, modality: str) -> int:
    """The tokens of one modality in a `*TokensDetails` list of usageMetadata (0 when absent)."""
    details = meta.get(key)
    if details is None:
        return 0
    if type(details) is not list:
        raise LineRejected(f"must be a list, got {show(details)}", f"usageMetadata.{key}")
    total = 0
    for i, d in enumerate(details):
        if type(d) is not dict:
            raise LineRejected(f"must be an object, got {show(d)}", f"usageMetadata.{key}.{i}")
        if d.get("modality") == modality:
            total += read_tokens(d, "tokenCount", f"usageMetadata.{key}.{i}")
    return total


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
    # promptTokensDetails / candidatesTokensDetails: [{"modality": "TEXT"|"AUDIO"|"IMAGE"|"VIDEO", "tokenCount": n}]
    audio_in = _modality(meta, "promptTokensDetails", "AUDIO")
    if audio_in:  # the cached part of the audio (cacheTokensDetails) is cached audio, at its own rate
        audio_read = min(_modality(meta, "cacheTokensDetails", "AUDIO"), audio_in, event["cached_input_tokens"])
        if audio_read:
            event["cached_audio_tokens"] = audio_read
        audio_in -= audio_read
        if audio_in:
            event["input_audio_tokens"] = min(audio_in, event["input_tokens"] - event["cached_input_tokens"])
    audio_out = _modality(meta, "candidatesTokensDetails", "AUDIO")
    if audio_out:
        event["output_audio_tokens"] = audio_out
    image_out = _modality(meta, "candidatesTokensDetails", "IMAGE")
    if image_out:
        event["output_image_tokens"] = image_out
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
