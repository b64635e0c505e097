"""Which format reads a line: the `--format` names, and auto-detection by a few dict-key checks.

Detection runs on every line (hundreds of thousands a second), so it only looks at keys:
whole-line formats first (their lines can also hold a provider-shaped object, e.g. a Claude Code
`message`), then a provider response wrapped in an app's own line.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from margindash_cli.ingest.formats import (
    anthropic,
    bedrock,
    claude_code,
    gemini,
    langfuse,
    litellm,
    openai,
    openai_batch,
)

# Provider response formats, in detection order: OpenAI before Anthropic, because a Responses API
# usage block also has `input_tokens` (OpenAI's is recognised by its detail objects or `object`).
PROVIDER_RESPONSES: tuple[ModuleType, ...] = (gemini, bedrock, openai, anthropic)
# Whole-line formats, in detection order; each `matches` is a few key checks.
LINE_FORMATS: tuple[ModuleType, ...] = (openai_batch, litellm, langfuse, claude_code)
# `--format` value -> module.
FORMATS: dict[str, ModuleType] = {
    "openai": openai,
    "openai-batch": openai_batch,
    "anthropic": anthropic,
    "gemini": gemini,
    "bedrock": bedrock,
    "litellm": litellm,
    "langfuse": langfuse,
    "claude-code": claude_code,
}
# Keys of an app line under which a provider response may sit, in precedence order (then `response.body`);
# `ingest --map response=PATH` names another place. `ingest --help` and the README list them.
WRAPPER_KEYS = ("response", "message", "body")


def find_payload(line: dict[str, Any]) -> dict[str, Any] | None:
    """The provider response a line wraps: under `response`, `message`, `body`, then `response.body`.

    A payload is an object with a `usage` or `usageMetadata` object. A line that is itself a bare
    provider response (a logged response body) is its own payload, checked last.
    """
    for key in WRAPPER_KEYS:
        payload = line.get(key)
        if type(payload) is dict and has_usage(payload):
            return payload
    response = line.get("response")
    if type(response) is dict:
        body = response.get("body")
        if type(body) is dict and has_usage(body):
            return body
    if has_usage(line):
        return line
    return None


def detect(line: dict[str, Any]) -> ModuleType | None:
    """The format of one line, or None when it is a plain canonical event (or unrecognised)."""
    for fmt in LINE_FORMATS:
        if fmt.matches(line):
            return fmt
    payload = find_payload(line)
    return None if payload is None else detect_response(payload)


def detect_response(payload: dict[str, Any]) -> ModuleType | None:
    """The provider format of a response body (found under a wrapper key or at `--map response=PATH`)."""
    for fmt in PROVIDER_RESPONSES:
        if fmt.matches(payload):
            return fmt
    return None


def resolve(name: str, line: dict[str, Any]) -> ModuleType:
    """The module for `--format name` on this line: "openai" also reads OpenAI Batch output lines."""
    if name == "openai" and openai_batch.matches(line):
        return openai_batch
    return FORMATS[name]


def has_usage(obj: dict[str, Any]) -> bool:
    """Whether an object is a provider response: it has a `usage` (or Gemini's `usageMetadata`) object."""
    return type(obj.get("usage")) is dict or type(obj.get("usageMetadata")) is dict
