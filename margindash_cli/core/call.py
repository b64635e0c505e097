"""`Call`: the one record of a billable AI call, as an app logs it and as `ingest` accepts it as-is.

Every field is documented once, here. Every other spelling of a call derives from `Call` or is held
equal to it by tests/test_call_record.py: `ingest/formats/base.CANONICAL_FIELDS` (the keys of a
format's partial events) is `CALL_FIELDS`; `core/event_schema` (`margindash schema event`) documents
these fields with these descriptions; `ingest/canonical.NormalizedEvent` (a validated call),
`pricing/reprice.StoredEvent` and the store's `WIDE_COLUMNS` carry its token fields under the same names.

The token invariant, which every log format is converted to:

- `input_tokens` counts ALL prompt tokens: uncached, cache reads and cache writes.
- `cached_input_tokens` (cache reads) and `cache_write_tokens` are parts of `input_tokens`;
  `cache_write_1h_tokens` is the part of `cache_write_tokens` written with a one-hour lifetime.
- `output_tokens` counts ALL generated tokens; `reasoning_tokens` is the part spent reasoning.
- `input_audio_tokens` is the audio part of the uncached prompt; `output_audio_tokens` and
  `output_image_tokens` are parts of `output_tokens` (besides reasoning), each at its own rate;
  `cached_audio_tokens` is the audio part of `cached_input_tokens`.

Money: `revenue_amount_in_cents` is integer minor units of `currency`; `cost_usd` is a decimal
amount (write it as a string to keep it exact) for non-token charges added to the call's cost.

Stdlib only: `Call` is a plain frozen dataclass (the hot ingest path works on dicts and NamedTuples).
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields
from decimal import Decimal
from typing import Any, Literal


def _f(doc: str, default: Any = MISSING) -> Any:
    return field(default=default, metadata={"doc": doc})


@dataclass(frozen=True, kw_only=True)
class Call:
    """One billable AI call, as an app logs it (one JSON object per line)."""

    timestamp: str | int | float = _f(
        "When the call happened: ISO 8601 with zone (no zone = UTC), or epoch seconds/milliseconds."
    )
    customer_id: str | None = _f("Your customer's id. Missing = unattributed (shown as its own row).", None)
    event_type: str | None = _f("The product feature (alias: feature), e.g. summarize, chat.", None)
    vendor: str | None = _f("Who served the call (alias: provider): openai, anthropic, google, bedrock, azure...", None)
    model: str = _f("The model id as the provider reports it, e.g. gpt-4o-2024-08-06.")
    input_tokens: int = _f("ALL prompt tokens, cached and cache-write ones included.", 0)
    output_tokens: int = _f("ALL output tokens, reasoning included.", 0)
    cached_input_tokens: int = _f("Prompt tokens read from cache (part of input_tokens).", 0)
    cache_write_tokens: int = _f("Prompt tokens written to cache (part of input_tokens).", 0)
    cache_write_1h_tokens: int = _f("Part of cache_write_tokens written with a 1-hour lifetime.", 0)
    reasoning_tokens: int = _f("Reasoning/thinking tokens (part of output_tokens).", 0)
    input_audio_tokens: int = _f(
        "Audio prompt tokens (part of input_tokens, not cached), billed at the audio input rate.", 0
    )
    output_audio_tokens: int = _f("Generated audio tokens (part of output_tokens), billed at the audio output rate.", 0)
    output_image_tokens: int = _f("Generated image tokens (part of output_tokens), billed at the image output rate.", 0)
    cached_audio_tokens: int = _f(
        "Audio prompt tokens read from cache (part of cached_input_tokens), billed at the cached-audio rate.", 0
    )
    request_id: str | None = _f("Unique id of the call; re-ingesting the same id never double counts.", None)
    revenue_amount_in_cents: int | None = _f("Revenue this call earned, in minor units of currency.", None)
    currency: str | None = _f("ISO 4217 code of the revenue (default usd).", None)
    cost_usd: Decimal | str | None = _f(
        "A pre-computed extra cost in USD for non-token charges, added to the call's cost.", None
    )
    units: dict[str, int | Decimal] | None = _f(
        'Per-unit charges, e.g. {"requests": 1, "images": 2, "web_searches": 1}.', None
    )
    service_tier: Literal["default", "batch", "flex", "priority"] | None = _f("The tier that served the call.", None)
    segment: str | None = _f("Customer segment or plan, for grouping.", None)
    tags: dict[str, str | int | bool | None] | None = _f("Any other dimensions to group by (tag:NAME).", None)


CALL_FIELDS: tuple[str, ...] = tuple(
    f.name for f in fields(Call)
)  # in the order `margindash schema event` documents them
REQUIRED_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Call) if f.default is MISSING)
TOKEN_COUNT_FIELDS: tuple[str, ...] = tuple(
    name for name in CALL_FIELDS if name.endswith("_tokens")
)  # non-negative integers
FIELD_DOCS: dict[str, str] = {f.name: f.metadata["doc"] for f in fields(Call)}
FIELD_DEFAULTS: dict[str, Any] = {f.name: f.default for f in fields(Call) if f.default is not MISSING}
