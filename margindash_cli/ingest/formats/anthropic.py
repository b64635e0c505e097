"""Anthropic Messages API responses (direct, or the same body returned by Bedrock InvokeModel).

Token semantics: Anthropic's `usage.input_tokens` EXCLUDES cache reads and writes, so
canonical input = `input_tokens` + `cache_read_input_tokens` + `cache_creation_input_tokens`.
`cache_creation.ephemeral_1h_input_tokens` is the one-hour part of the writes (the rest is 5-minute);
when a proxy drops `cache_creation_input_tokens` but keeps the split, the split's sum is used.
`output_tokens` already includes extended thinking, which Anthropic does not report separately,
so `reasoning_tokens` is 0. `usage.service_tier`: "standard" -> "default", "priority", "batch".

Vendor rule: "bedrock" when the body says it came from Bedrock, else "anthropic". Bedrock is recognised by
- a Bedrock model id: an optional geo prefix (`us.`, `eu.`, `apac.`, `jp.`, `au.`, `ca.`, `us-gov.`,
  `global.`) then `anthropic.` (`eu.anthropic.claude-haiku-4-5-20251001-v1:0`), or an ARN, or `bedrock/`;
- or a Bedrock message id, `msg_bdrk_...`: InvokeModel bodies carry the bare model name
  (`claude-haiku-4-5-20251001`) but keep this id prefix.
The model string is always kept as given; a wrapping app line's own `vendor` still wins in the merge.
"""

from __future__ import annotations

from typing import Any

from margindash_cli.errors import LineRejected
from margindash_cli.ingest.formats.fields import is_bedrock_model, read_object, read_tokens, service_tier

NAME = "anthropic"


def matches(payload: dict[str, Any]) -> bool:
    """An Anthropic-shaped body. Checked after OpenAI, whose Responses usage also has `input_tokens`."""
    usage = payload.get("usage")
    return type(usage) is dict and ("input_tokens" in usage or "output_tokens" in usage)


def extract(payload: dict[str, Any]) -> dict[str, Any]:
    """The usage part of a partial event from one Anthropic Messages body."""
    usage = payload.get("usage")
    if type(usage) is not dict:
        raise LineRejected("no usage block", "usage")
    event = read_usage(usage, "usage")
    model = payload.get("model")
    response_id = payload.get("id")
    bedrock = (type(model) is str and is_bedrock_model(model)) or (
        type(response_id) is str and response_id.startswith("msg_bdrk_")
    )
    event["vendor"] = "bedrock" if bedrock else "anthropic"
    event["model"] = model
    if response_id is not None:
        event["response_id"] = response_id
    return event


def read_usage(usage: dict[str, Any], path: str) -> dict[str, Any]:
    """Canonical token fields (and `service_tier`) of an Anthropic usage block found at `path`.

    Shared with the Claude Code format, whose assistant lines carry the same block.
    """
    uncached = read_tokens(usage, "input_tokens", path)
    cache_read = read_tokens(usage, "cache_read_input_tokens", path)
    cache_write = read_tokens(usage, "cache_creation_input_tokens", path)
    split = read_object(usage, "cache_creation", path)
    write_1h = 0
    if split:
        write_1h = read_tokens(split, "ephemeral_1h_input_tokens", f"{path}.cache_creation")
        write_5m = read_tokens(split, "ephemeral_5m_input_tokens", f"{path}.cache_creation")
        if not cache_write:
            cache_write = write_1h + write_5m
    event: dict[str, Any] = {
        "input_tokens": uncached + cache_read + cache_write,
        "output_tokens": read_tokens(usage, "output_tokens", path),
        "cached_input_tokens": cache_read,
        "cache_write_tokens": cache_write,
        "cache_write_1h_tokens": write_1h,
        "reasoning_tokens": 0,
    }
    tier = service_tier(usage.get("service_tier"), f"{path}.service_tier")
    if tier is not None:
        event["service_tier"] = tier
    return event
