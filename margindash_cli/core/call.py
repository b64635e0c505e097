"""Pydantic models shared by every layer.

`UsageEvent` is the canonical usage event: what an app logs and what `ingest` accepts as-is.
Its token invariant, which every log format is converted to:

- `input_tokens` counts ALL prompt tokens: uncached, cache reads and cache writes.
- `cached_input_tokens` (cache reads) and `cache_write_tokens` are parts of `input_tokens`;
  `cache_write_1h_tokens` is the part of `cache_write_tokens` written with a one-hour lifetime.
- `output_tokens` counts ALL generated tokens; `reasoning_tokens` is the part spent reasoning.
- `input_audio_tokens` is the audio part of the uncached prompt; `output_audio_tokens` and
  `output_image_tokens` are parts of `output_tokens` (besides reasoning), each at its own rate.

Money: `revenue_amount_in_cents` is integer minor units of `currency`; `cost_usd` is a decimal
amount (write it as a string to keep it exact) for non-token charges added to the call's cost.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class UsageEvent(BaseModel):
    """One billable AI call, as an app logs it (one JSON object per line)."""

    model_config = ConfigDict(extra="allow", title="margindash usage event")

    timestamp: str | int | float = Field(
        description="When the call happened: ISO 8601 with zone (no zone = UTC), or epoch seconds/milliseconds."
    )
    customer_id: str | None = Field(None, description="Your customer's id. Missing = unattributed (shown as its own row).")
    event_type: str | None = Field(None, description="The product feature (alias: feature), e.g. summarize, chat.")
    vendor: str | None = Field(None, description="Who served the call (alias: provider): openai, anthropic, google, bedrock, azure...")
    model: str = Field(description="The model id as the provider reports it, e.g. gpt-4o-2024-08-06.")
    input_tokens: int = Field(0, ge=0, description="ALL prompt tokens, cached and cache-write ones included.")
    output_tokens: int = Field(0, ge=0, description="ALL output tokens, reasoning included.")
    cached_input_tokens: int = Field(0, ge=0, description="Prompt tokens read from cache (part of input_tokens).")
    cache_write_tokens: int = Field(0, ge=0, description="Prompt tokens written to cache (part of input_tokens).")
    cache_write_1h_tokens: int = Field(0, ge=0, description="Part of cache_write_tokens written with a 1-hour lifetime.")
    reasoning_tokens: int = Field(0, ge=0, description="Reasoning/thinking tokens (part of output_tokens).")
    input_audio_tokens: int = Field(0, ge=0, description="Audio prompt tokens (part of input_tokens, not cached), billed at the audio input rate.")
    output_audio_tokens: int = Field(0, ge=0, description="Generated audio tokens (part of output_tokens), billed at the audio output rate.")
    output_image_tokens: int = Field(0, ge=0, description="Generated image tokens (part of output_tokens), billed at the image output rate.")
    cached_audio_tokens: int = Field(0, ge=0, description="Audio prompt tokens read from cache (part of cached_input_tokens), billed at the cached-audio rate.")
    request_id: str | None = Field(None, description="Unique id of the call; re-ingesting the same id never double counts.")
    revenue_amount_in_cents: int | None = Field(None, description="Revenue this call earned, in minor units of currency.")
    currency: str | None = Field(None, description="ISO 4217 code of the revenue (default usd).")
    cost_usd: Decimal | str | None = Field(None, description="A pre-computed extra cost in USD for non-token charges, added to the call's cost.")
    units: dict[str, int | Decimal] | None = Field(None, description='Per-unit charges, e.g. {"requests": 1, "images": 2, "web_searches": 1}.')
    service_tier: Literal["default", "batch", "flex", "priority"] | None = Field(None, description="The tier that served the call.")
    segment: str | None = Field(None, description="Customer segment or plan, for grouping.")
    tags: dict[str, str | int | bool | None] | None = Field(None, description="Any other dimensions to group by (tag:NAME).")


def event_json_schema() -> dict[str, Any]:
    """The JSON Schema of `UsageEvent`, with camelCase spellings noted."""
    schema = UsageEvent.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["description"] = (
        (UsageEvent.__doc__ or "").strip()
        + " Field names may also be written in camelCase (customerId, inputTokens, ...);"
        " `feature` and `provider` are accepted for event_type and vendor. Unknown fields are ignored and never stored."
    )
    return schema
