"""Amazon Bedrock Converse / ConverseStream responses (`usage` in camelCase).

Token semantics (botocore `bedrock-runtime` TokenUsage shape):
- `inputTokens` EXCLUDES the cache: canonical input = `inputTokens` + `cacheReadInputTokens` +
  `cacheWriteInputTokens` (the older spellings `cacheReadInputTokenCount` /
  `cacheWriteInputTokenCount` are read when the current ones are absent).
- `cacheDetails` is a list of `{ttl, inputTokens}` cache writes by TTL; the `1h` entries make
  `cache_write_1h_tokens`. `outputTokens` is all output (no reasoning split is reported).
- `serviceTier` (`{"type": "priority"|"default"|"flex"|"reserved"}`, or a bare string) is the tier.

A Converse response names no model and has no id: `extract` returns neither, and the canonical
merge takes `model` (and any `request_id`) from the app line that wraps the response. vendor "bedrock".
"""

from __future__ import annotations

from typing import Any

from margindash_cli.errors import LineRejected
from margindash_cli.ingest.formats.fields import read_tokens, service_tier, show

NAME = "bedrock"


def matches(payload: dict[str, Any]) -> bool:
    usage = payload.get("usage")
    return type(usage) is dict and ("inputTokens" in usage or "outputTokens" in usage)


def extract(payload: dict[str, Any]) -> dict[str, Any]:
    """The usage part of a partial event from one Converse response (no model: the app line has it)."""
    usage = payload.get("usage")
    if type(usage) is not dict:
        raise LineRejected("no usage block", "usage")
    if usage.get("cacheReadInputTokens") is not None:
        cache_read = read_tokens(usage, "cacheReadInputTokens", "usage")
    else:
        cache_read = read_tokens(usage, "cacheReadInputTokenCount", "usage")
    if usage.get("cacheWriteInputTokens") is not None:
        cache_write = read_tokens(usage, "cacheWriteInputTokens", "usage")
    else:
        cache_write = read_tokens(usage, "cacheWriteInputTokenCount", "usage")
    event: dict[str, Any] = {
        "vendor": "bedrock",
        "input_tokens": read_tokens(usage, "inputTokens", "usage") + cache_read + cache_write,
        "output_tokens": read_tokens(usage, "outputTokens", "usage"),
        "cached_input_tokens": cache_read,
        "cache_write_tokens": cache_write,
        "cache_write_1h_tokens": _write_1h(usage.get("cacheDetails")),
        "reasoning_tokens": 0,
    }
    tier = payload.get("serviceTier")
    if type(tier) is dict:
        tier = service_tier(tier.get("type"), "serviceTier.type")
    else:
        tier = service_tier(tier, "serviceTier")
    if tier is not None:
        event["service_tier"] = tier
    return event


def _write_1h(details: Any) -> int:
    if details is None:
        return 0
    if type(details) is not list:
        raise LineRejected(f"must be a list, got {show(details)}", "usage.cacheDetails")
    total = 0
    for i, entry in enumerate(details):
        if type(entry) is not dict:
            raise LineRejected(f"must be an object, got {show(entry)}", f"usage.cacheDetails.{i}")
        if entry.get("ttl") == "1h":
            total += read_tokens(entry, "inputTokens", f"usage.cacheDetails.{i}")
    return total
