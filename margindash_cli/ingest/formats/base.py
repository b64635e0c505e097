"""The one small interface every log format implements, and the canonical field names they produce.

A *format* turns one parsed JSON line into zero or more *partial events*: plain dicts keyed by
CANONICAL_FIELDS (the fields of core/call.py's `Call`, plus `response_id`), raw values, with the
canonical token invariant (stated in full in core/call.py) already applied:

- `input_tokens` counts ALL prompt tokens: uncached + cache reads + cache writes.
- `cached_input_tokens` (cache reads) and `cache_write_tokens` are parts of `input_tokens`.
- `cache_write_1h_tokens` is the part of `cache_write_tokens` written with a one-hour lifetime.
- `output_tokens` counts ALL generated tokens, reasoning/thinking included.
- `reasoning_tokens` is the part of `output_tokens` spent reasoning.
- `input_audio_tokens` is the part of `input_tokens` that is audio (billed at its own rate);
  `output_audio_tokens` and `output_image_tokens` are parts of `output_tokens` besides reasoning;
  `cached_audio_tokens` is the audio part of `cached_input_tokens`.

`canonical.normalize` then validates types and ranges, parses the timestamp, and merges the
app's own fields (customer, feature, ...) that sit next to a wrapped provider response.
Formats never copy message content: only the usage metadata named here leaves a format.
"""

from __future__ import annotations

from typing import Any, Protocol

from margindash_cli.core.call import CALL_FIELDS

# Fields of the canonical usage event (core/call.py's `Call`), in the order `margindash schema event` documents them.
CANONICAL_FIELDS = CALL_FIELDS

# Token fields of the canonical vector.
TOKEN_FIELDS = (
    "input_tokens",
    "output_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "reasoning_tokens",
)


# Audio and image token fields (parts of input/output billed at their own rates; rare, so outside TOKEN_FIELDS).
MEDIA_FIELDS = ("input_audio_tokens", "output_audio_tokens", "output_image_tokens", "cached_audio_tokens")


class ProviderResponse(Protocol):
    """A raw provider response body (OpenAI, Anthropic, Gemini, Bedrock) that an app log wraps.

    `extract` returns the usage part of a partial event: model, vendor, token fields,
    `response_id`, and where the body carries them `service_tier`, `cost_usd`, `timestamp`.
    """

    NAME: str

    def matches(self, payload: dict[str, Any]) -> bool: ...

    def extract(self, payload: dict[str, Any]) -> dict[str, Any]: ...


class LineFormat(Protocol):
    """A whole-line log format (LiteLLM spend logs, Langfuse, Claude Code, OpenAI Batch output)."""

    NAME: str

    def matches(self, line: dict[str, Any]) -> bool: ...

    def parse(self, line: dict[str, Any]) -> list[dict[str, Any]]: ...
