"""Turn one parsed log line into validated usage events.

Invariants (the same as core/call.py's `Call`):
- `input_tokens` counts all prompt tokens; `cached_input_tokens` and `cache_write_tokens` are parts
  of it, and `cache_write_1h_tokens` is a part of `cache_write_tokens`.
- `output_tokens` counts all generated tokens; `reasoning_tokens` is a part of it.
- `input_audio_tokens` is a part of the uncached input; `output_audio_tokens` and `output_image_tokens`
  are parts of the output besides reasoning; `cached_audio_tokens` of the cache reads (each at its own rate).
- Timestamps become UTC epoch milliseconds. An ISO 8601 string without a zone is read as UTC;
  epoch numbers below 1e11 are seconds, below 1e14 milliseconds. Dates before 2000 or from 2100 on
  are refused as implausible (a zero or garbage clock, not a real call).
- Tokens are integers from 0 to 10^12; an integral float (12.0) is accepted, anything else is refused.
- Money is never float: a reported `cost_usd` is kept as an exact decimal string.

Two ways in, one answer: `decode_common` decodes and checks the common canonical call straight from its raw bytes
(msgspec, strict) and declines anything else; `normalize` takes any parsed line (orjson). A line the first takes
gives the event the second gives (tests/core/test_fast_path.py).

Only the fields listed in `base.CANONICAL_FIELDS` leave this module: prompts, completions and any
other field of a log line are never copied (privacy is a promise of the product).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, NamedTuple

import msgspec

from margindash_cli.core.periods import EPOCH
from margindash_cli.errors import LineRejected
from margindash_cli.ingest import registry
from margindash_cli.ingest.formats.base import CANONICAL_FIELDS, MEDIA_FIELDS, TOKEN_FIELDS

MAX_TOKENS = 10**12  # more tokens than any call has ever had: a corrupt or hostile number
MAX_CALL_USD = 9 * 10**6  # a cost a log states for one call, at most: 64-bit picodollars end at ~$9.22M
MAX_DECIMALS = 30  # decimal places of an amount; costs are kept to the picodollar (12)
MIN_TS_MS = 946_684_800_000  # 2000-01-01T00:00:00Z
MAX_TS_MS = 4_102_444_800_000  # 2100-01-01T00:00:00Z
ONE_MS = timedelta(milliseconds=1)
SERVICE_TIERS = {  # spellings seen in logs -> the tier we price
    "default": "default",
    "standard": "default",
    "auto": "default",
    "on_demand": "default",
    "batch": "batch",
    "flex": "flex",
    "priority": "priority",
    "scale": "priority",
    "reserved": "default",  # Bedrock reserved capacity: billed as capacity, priced here at the on-demand rates
}

# Accepted spellings of the canonical fields (aliases and camelCase) -> canonical name.
ALIASES = {
    "feature": "event_type",
    "provider": "vendor",
    "customerId": "customer_id",
    "eventType": "event_type",
    "inputTokens": "input_tokens",
    "outputTokens": "output_tokens",
    "cachedInputTokens": "cached_input_tokens",
    "cacheWriteTokens": "cache_write_tokens",
    "cacheWrite1hTokens": "cache_write_1h_tokens",
    "reasoningTokens": "reasoning_tokens",
    "inputAudioTokens": "input_audio_tokens",
    "outputAudioTokens": "output_audio_tokens",
    "outputImageTokens": "output_image_tokens",
    "cachedAudioTokens": "cached_audio_tokens",
    "requestId": "request_id",
    "revenueAmountInCents": "revenue_amount_in_cents",
    "costUsd": "cost_usd",
    "costUSD": "cost_usd",
    "serviceTier": "service_tier",
}
# App-level fields read from the top of a line that wraps a provider response.
APP_FIELDS = (
    (
        "timestamp",
        "customer_id",
        "event_type",
        "vendor",
        "model",
        "request_id",
        "revenue_amount_in_cents",
        "currency",
        "cost_usd",
        "units",
        "service_tier",
        "segment",
        "tags",
    )
    + TOKEN_FIELDS
    + MEDIA_FIELDS
)


class NormalizedEvent(NamedTuple):
    """One validated call, ready for the store. `dedupe_id` is None when the line has no id.

    The fields of core/call.py's `Call` (documented there), four of them renamed (`CALL_RENAMES`), plus
    `reported_cost` and `response_id`, which formats read from a provider's response (tests/test_call_record.py).
    """

    ts_ms: int
    customer_id: str | None
    event_type: str | None
    vendor: str
    model: str
    input_tokens: int
    output_tokens: int
    cached_input_tokens: int
    cache_write_tokens: int
    cache_write_1h_tokens: int
    reasoning_tokens: int
    dedupe_id: str | None
    revenue_minor: int | None
    currency: str | None
    extra_cost: str | None
    reported_cost: str | None
    units: dict[str, Any] | None
    service_tier: str | None
    segment: str | None
    tags: dict[str, Any] | None
    # Parts of input / output billed at their own rates (last, with defaults: most calls have none).
    input_audio_tokens: int = 0
    output_audio_tokens: int = 0
    output_image_tokens: int = 0
    cached_audio_tokens: int = 0
    response_id: str | None = None  # the provider's response id (dedupe_id is the request id when there is one)


# `Call` field -> its NormalizedEvent name: the timestamp parsed to UTC epoch ms, the id ingest deduplicates on,
# revenue in minor units, the extra cost as exact decimal text.
CALL_RENAMES = {
    "timestamp": "ts_ms",
    "request_id": "dedupe_id",
    "revenue_amount_in_cents": "revenue_minor",
    "cost_usd": "extra_cost",
}


def get_path(obj: Any, path: str) -> Any:
    """Follow a dotted path (`user.id`) through nested objects; None when any step is missing.

    Paths are data, never evaluated: only dict keys and list indexes are followed.
    """
    cur = obj
    for part in path.split("."):
        if isinstance(cur, dict):
            cur = cur.get(part)
        elif isinstance(cur, list) and part.isascii() and part.isdigit() and int(part) < len(cur):  # not "²"
            cur = cur[int(part)]
        else:
            return None
        if cur is None:
            return None
    return cur


RESPONSE_MAP = "response"  # `--map response=PATH`: where the app's line holds the provider response
# --format values whose lines hold a provider response (`--map response=PATH` names where; not whole-line formats).
RESPONSE_FORMATS = ("auto", "openai", "anthropic", "gemini", "bedrock")


def parse_maps(specs: list[str] | None, fmt: str = "auto") -> list[tuple[str, str]]:
    """Parse `--map FIELD=PATH` options (and `response=PATH`, where a wrapped provider response sits).

    Raises ValueError naming the bad spec."""
    out = []
    for spec in specs or []:
        field, sep, path = spec.partition("=")
        field, path = field.strip(), path.strip()
        field = ALIASES.get(field, field)
        if not sep or not field or not path:
            raise ValueError(f"--map {spec!r}: expected FIELD=PATH, e.g. customer_id=user.id")
        if "" in path.split("."):
            raise ValueError(f"--map {spec!r}: the path {path!r} has an empty step; write keys joined by dots")
        if field == RESPONSE_MAP:
            if fmt not in RESPONSE_FORMATS:
                raise ValueError(
                    f"--map {spec!r}: --format {fmt} reads whole lines, not a wrapped provider response; "
                    f"response=PATH works with --format {'|'.join(RESPONSE_FORMATS)}"
                )
            if any(f == RESPONSE_MAP for f, _ in out):
                raise ValueError(f"--map {spec!r}: response is mapped twice; give one path")
        elif field not in CANONICAL_FIELDS:
            raise ValueError(
                f"--map {spec!r}: unknown field {field!r}; fields: {', '.join(CANONICAL_FIELDS)}, "
                f"or {RESPONSE_MAP} (where a provider response sits)"
            )
        out.append((field, path))
    return out


def app_fields(line: dict[str, Any], maps: list[tuple[str, str]]) -> dict[str, Any]:
    """The canonical fields a line carries at its top level, under any accepted spelling or --map."""
    out: dict[str, Any] = {}
    for key, value in line.items():
        name = ALIASES.get(key, key)
        if name in APP_FIELDS_SET and value is not None and name not in out:
            out[name] = value
    for field, path in maps:
        if field == RESPONSE_MAP:
            continue
        value = get_path(line, path)
        if value is not None:
            out[field] = value
    return out


APP_FIELDS_SET = frozenset(APP_FIELDS)
CANONICAL_NAMES = frozenset(CANONICAL_FIELDS)  # a line with only these keys needs no detection or renaming


def partial_events(line: Any, fmt: str, maps: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Apply the line's format (given or detected) and return its partial events."""
    if type(line) is not dict:
        raise LineRejected("line is not a JSON object")
    if not maps and line.keys() <= CANONICAL_NAMES and fmt in ("auto", "events"):
        return [line]  # the common case: a canonical event, spelled canonically (no copy, no detection)
    if fmt == "events":
        return [app_fields(line, maps)]
    if maps:
        response_path = next((p for f, p in maps if f == RESPONSE_MAP), None)
        if response_path is not None:
            return [_mapped_response(line, fmt, response_path, maps)]
    if fmt == "auto":
        module = registry.detect(line)
        if module is None:
            return [app_fields(line, maps)]
    else:
        module = registry.resolve(fmt, line)
    if hasattr(module, "parse"):  # a whole-line format
        events = [_as_reported(e) for e in module.parse(line)]
        if maps:
            extra = {f: v for f, p in maps if (v := get_path(line, p)) is not None}
            events = [{**e, **extra} for e in events]
        return events
    payload = registry.find_payload(line)
    if payload is None:
        if fmt != "auto":
            raise LineRejected(f"no {module.NAME} response under response/message/body", "response")
        return [app_fields(line, maps)]
    return [_merge_response(app_fields(line, maps), _as_reported(module.extract(payload)))]


def _mapped_response(line: dict[str, Any], fmt: str, path: str, maps: list[tuple[str, str]]) -> dict[str, Any]:
    """The partial event of a line whose provider response sits at `--map response=PATH`: the path must hold one
    (a rejection names the path as its field, so the quarantine says file, line and where)."""
    payload = get_path(line, path)
    hint = f"(--map response={path})"
    if payload is None:
        raise LineRejected(f"missing: no provider response at this path {hint}", path)
    if type(payload) is not dict or not registry.has_usage(payload):
        what = "an object with no usage or usageMetadata object" if type(payload) is dict else _show(payload)
        raise LineRejected(f"not a provider response: {what} {hint}", path)
    module = registry.detect_response(payload) if fmt == "auto" else registry.FORMATS[fmt]
    if module is None:
        raise LineRejected(f"a usage object of no known provider (openai, anthropic, gemini, bedrock) {hint}", path)
    return _merge_response(app_fields(line, maps), _as_reported(module.extract(payload)))


def _merge_response(app: dict[str, Any], usage: dict[str, Any]) -> dict[str, Any]:
    """The provider's own answer wins on what it served (model, tokens, tier); the app's line wins on
    who and what for (customer, feature, its request id, its clock)."""
    merged = {**app, **{k: v for k, v in usage.items() if v is not None}}
    for key in ("timestamp", "vendor", "request_id"):
        if key in app:
            merged[key] = app[key]
    if "model" not in usage or not usage.get("model"):
        if "model" in app:
            merged["model"] = app["model"]
    return merged


def _as_reported(event: dict[str, Any]) -> dict[str, Any]:
    """A cost that a provider or gateway log states is its price for the whole call, not an extra charge."""
    if "cost_usd" in event:
        event = dict(event)
        event["reported_cost_usd"] = event.pop("cost_usd")
    return event


def to_int_tokens(value: Any, field: str) -> int:
    if value is None:
        return 0
    if type(value) is int:
        n = value
    elif isinstance(value, float) and math.isfinite(value) and value.is_integer():
        n = int(value)
    else:
        raise LineRejected(f"must be a non-negative integer, got {_show(value)}", field)
    if n < 0:
        raise LineRejected(f"must be a non-negative integer, got {n}", field)
    if n > MAX_TOKENS:
        raise LineRejected(f"implausibly large ({n} > 10^12)", field)
    return n


def parse_timestamp(value: Any) -> int:
    """Epoch milliseconds (UTC) of an ISO 8601 string or an epoch number in seconds or milliseconds."""
    if type(value) is str:
        try:
            dt = datetime.fromisoformat(value)  # Python 3.11 reads "Z" and offsets itself: the fast path
        except ValueError:
            pass
        else:
            if dt.tzinfo is None:
                dt = dt.replace(tzinfo=UTC)
            try:
                ms = (dt - EPOCH) // ONE_MS
            except OverflowError:
                ms = -1
            if MIN_TS_MS <= ms < MAX_TS_MS:
                return ms
            raise LineRejected(f"implausible date (before 2000 or after 2099): {_show(value)}", "timestamp")
    if value is None or value == "":
        raise LineRejected("missing", "timestamp")
    if isinstance(value, bool):
        raise LineRejected(f"not a timestamp: {_show(value)}", "timestamp")
    if isinstance(value, (int, float)):
        if not math.isfinite(value) or value < 0:
            raise LineRejected(f"not a timestamp: {_show(value)}", "timestamp")
        ms = int(value * 1000) if value < 1e11 else int(value) if value < 1e14 else -1
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            raise LineRejected(f"not an ISO 8601 timestamp: {_show(value)}", "timestamp") from None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        try:
            ms = (dt - EPOCH) // ONE_MS  # integer arithmetic: no float rounding of the milliseconds
        except (OverflowError, ValueError):
            ms = -1
    else:
        raise LineRejected(f"not a timestamp: {_show(value)}", "timestamp")
    if not MIN_TS_MS <= ms < MAX_TS_MS:
        raise LineRejected(f"implausible date (before 2000 or after 2099): {_show(value)}", "timestamp")
    return ms


def _opt_str(value: Any, field: str, max_len: int = 512) -> str | None:
    if value is None:
        return None
    if type(value) is str and len(value) <= max_len and "\x00" not in value:
        return value.strip() or None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise LineRejected(f"must be a string, got {_show(value)}", field)
    text = str(value).strip()
    if len(text) > max_len:
        raise LineRejected(f"longer than {max_len} characters", field)
    if "\x00" in text:
        raise LineRejected("contains a NUL character", field)
    return text or None


def _decimal_text(value: Any, field: str, limit: int = 10**9, limit_text: str = "10^9") -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise LineRejected(f"must be a number, got {_show(value)}", field)
    try:
        # repr() of a float is its shortest exact round-trip text: 0.1 stays "0.1", not 0.1000000000000000055.
        number = Decimal(repr(value) if isinstance(value, float) else str(value))
    except (InvalidOperation, ValueError):
        raise LineRejected(f"must be a number, got {_show(value)}", field) from None
    if not number.is_finite() or number < 0 or number > limit:
        raise LineRejected(f"must be a finite amount from 0 to {limit_text}, got {_show(value)}", field)
    number = number.normalize()
    if number.as_tuple().exponent < -MAX_DECIMALS:  # 1e-999999999 would be a gigabyte of zeros as text
        raise LineRejected(f"more than {MAX_DECIMALS} decimal places: {_show(value)}", field)
    return format(number, "f")


def _units(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise LineRejected(f'must be an object like {{"images": 2}}, got {_show(value)}', "units")
    out: dict[str, Any] = {}
    for name, count in value.items():
        text = _decimal_text(count, f"units.{name}")
        if text is not None and Decimal(text) != 0:
            out[str(name)[:64]] = int(text) if "." not in text else text
    return out or None


MAX_TAGS = 64  # tags per call: 20 lines of 10,000 tags made a 130 MB store (#22)
MAX_TAG_KEY = 128
MAX_TAG_VALUE = 512


def _tags(value: Any) -> dict[str, Any] | None:
    """A call's tags: at most MAX_TAGS, keys of at most MAX_TAG_KEY characters and string values of at most
    MAX_TAG_VALUE; anything longer rejects the line (cut, two keys could merge into one)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise LineRejected(f"must be an object, got {_show(value)}", "tags")
    if len(value) > MAX_TAGS:
        raise LineRejected(f"{len(value):,} tags, more than {MAX_TAGS}", "tags")
    out = {}
    for name, tag in value.items():
        key = str(name)
        if len(key) > MAX_TAG_KEY or "\x00" in key:
            raise LineRejected(f"a tag name longer than {MAX_TAG_KEY} characters or with a NUL: {_show(key)}", "tags")
        if isinstance(tag, str) and (len(tag) > MAX_TAG_VALUE or "\x00" in tag):
            raise LineRejected(f"longer than {MAX_TAG_VALUE} characters or with a NUL", f"tags.{_show(key)}")
        if isinstance(tag, (str, int, bool)) or tag is None:
            out[key] = tag
        else:
            raise LineRejected(f"tag values must be strings or numbers, got {_show(tag)}", f"tags.{_show(key)}")
    return out or None


# The fields of the common call (who, what, when, tokens): `_validate_common` checks such a line in a few
# microseconds; anything else, and any value it does not accept as is, goes the whole way (`validate`).
_COMMON_FIELDS = frozenset(
    {"timestamp", "customer_id", "event_type", "vendor", "model", "request_id", "response_id", "segment", *TOKEN_FIELDS}
)
_TEXT_LIMITS = (
    ("customer_id", 512),
    ("event_type", 128),
    ("vendor", 64),
    ("segment", 128),
    ("request_id", 512),
    ("response_id", 512),
)


def _iso_ms(stamp: str) -> int | None:
    """Epoch ms of an ISO 8601 timestamp (no zone: UTC) inside the stored range; None for anything else, which the
    common paths hand to the whole way (`validate_fully` says why)."""
    try:
        dt = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    try:
        ts_ms = (dt - EPOCH) // ONE_MS
    except OverflowError:
        return None
    return ts_ms if MIN_TS_MS <= ts_ms < MAX_TS_MS else None


def _validate_common(p: dict[str, Any]) -> NormalizedEvent | None:
    """`validate` of a call that has only _COMMON_FIELDS, each well-formed: the same event, or None when the
    line needs the whole check (which also words the rejection)."""
    if not p.keys() <= _COMMON_FIELDS:
        return None
    model = p.get("model")
    if type(model) is not str or len(model) > 512 or "\x00" in model:
        return None
    model = model.strip()
    if not model:
        return None
    texts = []
    for name, limit in _TEXT_LIMITS:
        v = p.get(name)
        if v is not None:
            if type(v) is not str or len(v) > limit or "\x00" in v:
                return None
            v = v.strip() or None
        texts.append(v)
    tokens = []
    for name in TOKEN_FIELDS:
        v = p.get(name)
        if v is None:
            v = 0
        elif type(v) is not int or not 0 <= v <= MAX_TOKENS:
            return None
        tokens.append(v)
    inp, out, cached, cw, cw1h, reasoning = tokens
    if cached + cw > inp or cw1h > cw or reasoning > out or not (inp or out):
        return None
    stamp = p.get("timestamp")
    ts_ms = _iso_ms(stamp) if type(stamp) is str else None
    if ts_ms is None:
        return None
    customer, event_type, vendor, segment, request_id, response_id = texts
    return NormalizedEvent(
        ts_ms,
        customer,
        event_type,
        (vendor or "unknown").lower(),
        model,
        inp,
        out,
        cached,
        cw,
        cw1h,
        reasoning,
        request_id or response_id,
        None,
        None,
        None,
        None,
        None,
        None,
        segment,
        None,
        response_id=response_id,
    )


_Tokens = Annotated[int, msgspec.Meta(ge=0, le=MAX_TOKENS)]


def _text(limit: int) -> Any:
    return Annotated[str, msgspec.Meta(max_length=limit)] | None


class _CommonLine(msgspec.Struct, forbid_unknown_fields=True):
    """A canonical line of the common call, as JSON: only these keys (each spelled canonically), strings that are
    strings (or null) within `_TEXT_LIMITS`, token counts that are JSON integers from 0 to 10^12. `response_id`
    is left out: at the top of a line it is not a canonical field (`partial_events` sends it through detection)."""

    timestamp: str
    model: Annotated[str, msgspec.Meta(max_length=512)]
    customer_id: _text(512) = None
    event_type: _text(128) = None
    vendor: _text(64) = None
    segment: _text(128) = None
    request_id: _text(512) = None
    input_tokens: _Tokens = 0
    output_tokens: _Tokens = 0
    cached_input_tokens: _Tokens = 0
    cache_write_tokens: _Tokens = 0
    cache_write_1h_tokens: _Tokens = 0
    reasoning_tokens: _Tokens = 0


_COMMON_DECODER = msgspec.json.Decoder(_CommonLine)
_NO_EXTRAS = (None,) * 6  # revenue, currency, extra cost, reported cost, units, service tier
_NO_MEDIA = (0, 0, 0, 0, None)  # the four media token counts and response_id


def decode_common(text: bytes) -> NormalizedEvent | None:
    """The event of one raw JSONL line that is a common canonical call, decoded and checked in one pass (msgspec,
    strict: no float, bool or null token counts, no unknown or aliased key); None for any other line, which then
    takes the whole way (orjson, `normalize`). The event is exactly what that way gives (`_validate_common`'s
    checks on the same values; tests/core/test_fast_path.py holds the two equal): JSON both libraries accept decodes
    to the same values (duplicate keys: the last wins in both), and anything in doubt is declined, not guessed."""
    if b"\\" in text and b"\\u0000" in text:  # a NUL can only be escaped in JSON: the whole check words it
        return None
    try:
        c = _COMMON_DECODER.decode(text)
    except msgspec.DecodeError:  # also a ValidationError: a type, a limit, an unknown key
        return None
    model = c.model.strip()
    inp = c.input_tokens
    out = c.output_tokens
    cached = c.cached_input_tokens
    cw = c.cache_write_tokens
    cw1h = c.cache_write_1h_tokens
    reasoning = c.reasoning_tokens
    if not model or cached + cw > inp or cw1h > cw or reasoning > out or not (inp or out):
        return None
    ts_ms = _iso_ms(c.timestamp)
    if ts_ms is None:
        return None
    customer, event_type, vendor, segment, request_id = c.customer_id, c.event_type, c.vendor, c.segment, c.request_id
    return tuple.__new__(
        NormalizedEvent,
        (
            ts_ms,
            customer and customer.strip() or None,
            event_type and event_type.strip() or None,
            (vendor and vendor.strip() or "unknown").lower(),
            model,
            inp,
            out,
            cached,
            cw,
            cw1h,
            reasoning,
            request_id and request_id.strip() or None,
            *_NO_EXTRAS,
            segment and segment.strip() or None,
            None,
            *_NO_MEDIA,
        ),
    )


def validate(p: dict[str, Any]) -> NormalizedEvent:
    """Check one partial event against the canonical invariant. Raises LineRejected naming the field."""
    common = _validate_common(p)
    return common if common is not None else validate_fully(p)


def validate_fully(p: dict[str, Any]) -> NormalizedEvent:
    """`validate` without the shortcut for the common call (tests hold the two to the same answers)."""
    model = p.get("model")
    if not isinstance(model, str) or not model.strip():
        raise LineRejected("missing" if model in (None, "") else f"must be a string, got {_show(model)}", "model")
    if len(model) > 512 or "\x00" in model:  # a model id is a short name: this is a corrupt or hostile line
        raise LineRejected("longer than 512 characters" if len(model) > 512 else "contains a NUL character", "model")
    get = p.get
    inp, out, cached, cw, cw1h, reasoning = (
        v if type(v := get(f)) is int and 0 <= v <= MAX_TOKENS else to_int_tokens(v, f) for f in TOKEN_FIELDS
    )
    if cached + cw > inp:
        raise LineRejected(
            f"cached ({cached}) + cache-write ({cw}) tokens exceed input_tokens ({inp}); "
            "input_tokens must count all prompt tokens",
            "input_tokens",
        )
    if cw1h > cw:
        raise LineRejected(f"cache_write_1h_tokens ({cw1h}) exceed cache_write_tokens ({cw})", "cache_write_1h_tokens")
    if reasoning > out:
        raise LineRejected(
            f"reasoning_tokens ({reasoning}) exceed output_tokens ({out}); output_tokens must include reasoning",
            "reasoning_tokens",
        )
    audio_in, audio_out, image_out, audio_read = (
        v if type(v := get(f)) is int and 0 <= v <= MAX_TOKENS else to_int_tokens(v, f) for f in MEDIA_FIELDS
    )
    if audio_read > cached:
        raise LineRejected(
            f"cached_audio_tokens ({audio_read}) exceed cached_input_tokens ({cached})", "cached_audio_tokens"
        )
    if audio_in > inp - cached - cw:
        raise LineRejected(
            f"input_audio_tokens ({audio_in}) exceed the uncached input tokens ({inp - cached - cw})",
            "input_audio_tokens",
        )
    if audio_out + image_out + reasoning > out:
        raise LineRejected(
            f"output_audio_tokens ({audio_out}) + output_image_tokens ({image_out}) + reasoning_tokens "
            f"({reasoning}) exceed output_tokens ({out})",
            "output_audio_tokens",
        )
    units = _units(p.get("units"))
    cost = _decimal_text(p.get("cost_usd"), "cost_usd", MAX_CALL_USD, "9,000,000")
    reported = _decimal_text(p.get("reported_cost_usd"), "cost_usd", MAX_CALL_USD, "9,000,000")
    if not (inp or out or units or cost is not None or reported is not None):
        raise LineRejected("no usage: no tokens, units or cost_usd", "usage")
    ts_ms = parse_timestamp(p.get("timestamp"))
    tier = p.get("service_tier")
    if tier is not None:
        tier = SERVICE_TIERS.get(str(tier).lower())
        if tier is None:
            raise LineRejected(f"unknown service tier {_show(p.get('service_tier'))}", "service_tier")
        if tier == "default":
            tier = None
    revenue = p.get("revenue_amount_in_cents")
    if revenue is not None:
        if type(revenue) is not int and not (isinstance(revenue, float) and revenue.is_integer()):
            raise LineRejected(f"must be an integer number of cents, got {_show(revenue)}", "revenue_amount_in_cents")
        revenue = int(revenue)
        if abs(revenue) > 10**13:
            raise LineRejected("implausibly large", "revenue_amount_in_cents")
    currency = _opt_str(p.get("currency"), "currency", 8)
    if currency is not None:
        if len(currency) != 3 or not currency.isalpha():
            raise LineRejected(f"must be a 3-letter ISO code, got {_show(currency)}", "currency")
        currency = currency.lower()
    elif revenue is not None:
        currency = "usd"
    request_id = _opt_str(p.get("request_id"), "request_id")
    if request_id is None:  # the response id is the dedupe key: it must be valid
        response_id = dedupe = _opt_str(p.get("response_id"), "response_id")
    else:  # only shown beside the request id: a malformed one is dropped, never the call
        try:
            response_id = _opt_str(p.get("response_id"), "response_id")
        except LineRejected:
            response_id = None
        dedupe = request_id
    vendor = _opt_str(p.get("vendor"), "vendor", 64)
    return NormalizedEvent(
        ts_ms,
        _opt_str(p.get("customer_id"), "customer_id"),
        _opt_str(p.get("event_type"), "event_type", 128),
        (vendor or "unknown").lower(),
        model.strip(),
        inp,
        out,
        cached,
        cw,
        cw1h,
        reasoning,
        dedupe,
        revenue,
        currency,
        cost,
        reported,
        units,
        tier,
        _opt_str(p.get("segment"), "segment", 128),
        _tags(p.get("tags")),
        audio_in,
        audio_out,
        image_out,
        audio_read,
        response_id,
    )


def normalize(line: Any, fmt: str = "auto", maps: list[tuple[str, str]] | None = None) -> list[NormalizedEvent]:
    """Validated events of one parsed JSON line (often one; none for a line that is not a call)."""
    return [validate(p) for p in partial_events(line, fmt, maps or [])]


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
