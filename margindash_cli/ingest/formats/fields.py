"""Strict, cheap readers for the usage numbers a log line carries, shared by every format module.

- A token count is a non-negative int. An integral float (`12.0`, as some JSON writers emit) becomes
  an int; a bool, a fractional or non-finite float, a string or a negative number is refused with
  `LineRejected` naming the dotted source field. An absent or null count is 0.
- An absent or null details object reads as empty; any other non-object is refused.
- A cost is an exact decimal string, never a float: a float is read through `repr()`, its shortest
  round-trip text, so `0.1` stays "0.1" and `0.00022500000000000002` keeps every digit.
These run once per field of every line: plain type checks, no pydantic.
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from typing import Any

from margindash_cli.errors import LineRejected

EMPTY: dict[str, Any] = {}  # the value of an absent details object; read-only by convention

# Provider `service_tier` spellings that all mean the standard, on-demand rate.
DEFAULT_TIERS = frozenset({"auto", "default", "standard", "on_demand"})

# Bedrock cross-region inference-profile prefixes (`eu.anthropic.claude-...`).
BEDROCK_GEO_PREFIXES = ("us.", "eu.", "apac.", "jp.", "au.", "ca.", "us-gov.", "global.")
# Bedrock base model ids are `<origin>.<model>`; these are the origins Bedrock hosts.
BEDROCK_ORIGINS = frozenset(
    {
        "anthropic",
        "amazon",
        "meta",
        "mistral",
        "cohere",
        "ai21",
        "deepseek",
        "openai",
        "qwen",
        "writer",
        "twelvelabs",
        "stability",
        "moonshot",
        "minimax",
    }
)
# Routing prefixes (`provider/model`, as LiteLLM and OpenRouter write them) -> our vendor name.
VENDOR_PREFIXES = {
    "openai": "openai",
    "azure": "azure",
    "anthropic": "anthropic",
    "bedrock": "bedrock",
    "gemini": "google",
    "google": "google",
    "vertex_ai": "vertex_ai",
}


def read_tokens(obj: dict[str, Any], key: str, where: str) -> int:
    """The token count `obj[key]` (0 when absent or null) of the object found at dotted path `where`.

    Raises LineRejected naming the field `where.key`; the name is only built for a rejection.
    """
    value = obj.get(key)
    if value is None:
        return 0
    if type(value) is int:
        if value >= 0:
            return value
    elif type(value) is float and value.is_integer() and value >= 0:
        return int(value)
    raise LineRejected(f"must be a non-negative integer, got {show(value)}", f"{where}.{key}" if where else key)


def read_object(obj: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    """The details object `obj[key]` (EMPTY when absent or null); `where` as for `read_tokens`."""
    value = obj.get(key)
    if value is None:
        return EMPTY
    if type(value) is not dict:
        raise LineRejected(f"must be an object, got {show(value)}", f"{where}.{key}" if where else key)
    return value


def cost_text(value: Any, field: str) -> str | None:
    """An exact decimal string of a reported USD amount (None when absent). Never goes through float math."""
    if value is None:
        return None
    if type(value) is int:
        return str(value)
    if type(value) is float:
        if not math.isfinite(value):
            raise LineRejected(f"must be a finite number, got {show(value)}", field)
        return format(Decimal(repr(value)), "f")
    if isinstance(value, (str, Decimal)):
        try:
            number = Decimal(value.strip()) if isinstance(value, str) else value
        except InvalidOperation:
            raise LineRejected(f"must be a number, got {show(value)}", field) from None
        if not number.is_finite():
            raise LineRejected(f"must be a finite number, got {show(value)}", field)
        return format(number, "f")
    raise LineRejected(f"must be a number, got {show(value)}", field)


def sum_costs(values: list[Any], field: str) -> str | None:
    """The exact sum of several reported USD amounts (None when all are absent)."""
    total = None
    for value in values:
        text = cost_text(value, field)
        if text is not None:
            total = Decimal(text) if total is None else total + Decimal(text)
    return None if total is None else format(total, "f")


def service_tier(value: Any, field: str) -> str | None:
    """A provider's served tier, lower-cased; the spellings of the standard rate become "default"."""
    if value is None:
        return None
    if type(value) is not str:
        raise LineRejected(f"must be a string, got {show(value)}", field)
    tier = value.strip().lower()
    if not tier:
        return None
    return "default" if tier in DEFAULT_TIERS else tier


def is_bedrock_model(model: str) -> bool:
    """True for a Bedrock model id: `anthropic.claude-...`, `eu.anthropic.claude-...`, an ARN, `bedrock/...`."""
    if model.startswith(("arn:aws", "bedrock/")):
        return True
    if model.startswith(BEDROCK_GEO_PREFIXES):
        model = model.partition(".")[2]
    origin, dot, _ = model.partition(".")
    return bool(dot) and origin in BEDROCK_ORIGINS


def vendor_of_model(model: Any) -> str | None:
    """Best guess of who served a model from its name alone, for formats that do not say; None when unsure.

    A routing prefix wins (`bedrock/...`, `openai/...`, `x-ai/grok-4` -> "x-ai"); then Bedrock ids;
    then the families whose names are unambiguous (gpt-/o-series, claude, gemini).
    """
    if type(model) is not str or not model:
        return None
    prefix, slash, _ = model.partition("/")
    if slash:
        return VENDOR_PREFIXES.get(prefix, prefix.lower())
    if is_bedrock_model(model):
        return "bedrock"
    name = model.lower()
    if name.startswith(("gpt-", "o1", "o3", "o4", "chatgpt-", "text-embedding-", "codex-", "computer-use-")):
        return "openai"
    if name.startswith("claude"):
        return "anthropic"
    if name.startswith(("gemini", "gemma")):
        return "google"
    return None


def show(value: Any) -> str:
    """A short repr of a bad value for a rejection message (never a whole payload)."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
