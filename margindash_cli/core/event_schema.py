"""The JSON Schema of a `Call` (core/call.py): what `margindash schema event` prints.

Names, order, descriptions, defaults and which fields are required all come from `Call`; this module
adds only each field's JSON type (`_JSON_TYPES`, held equal to `Call`'s fields by tests/test_call_record.py).
Keys are sorted as the schema has always been printed, `$schema` last.
"""

from __future__ import annotations

from typing import Any

from margindash_cli.core.call import CALL_FIELDS, FIELD_DEFAULTS, FIELD_DOCS, REQUIRED_FIELDS, TOKEN_COUNT_FIELDS, Call

_STR = {"type": "string"}
_NULL = {"type": "null"}
_OPT_STR = {"anyOf": [_STR, _NULL]}
_COUNT = {"type": "integer"}

# Each field's JSON type (a token count is a non-negative integer: `minimum` 0 is added for those).
_JSON_TYPES: dict[str, dict[str, Any]] = {
    "timestamp": {"anyOf": [_STR, {"type": "integer"}, {"type": "number"}]},
    "customer_id": _OPT_STR,
    "event_type": _OPT_STR,
    "vendor": _OPT_STR,
    "model": _STR,
    **{name: _COUNT for name in TOKEN_COUNT_FIELDS},
    "request_id": _OPT_STR,
    "revenue_amount_in_cents": {"anyOf": [{"type": "integer"}, _NULL]},
    "currency": _OPT_STR,
    "cost_usd": {"anyOf": [{"type": "number"}, _STR, _NULL]},
    "units": {
        "anyOf": [
            {"additionalProperties": {"anyOf": [{"type": "integer"}, {"type": "number"}, _STR]}, "type": "object"},
            _NULL,
        ]
    },
    "service_tier": {"anyOf": [{"enum": ["default", "batch", "flex", "priority"], "type": "string"}, _NULL]},
    "segment": _OPT_STR,
    "tags": {
        "anyOf": [
            {
                "additionalProperties": {"anyOf": [_STR, {"type": "integer"}, {"type": "boolean"}, _NULL]},
                "type": "object",
            },
            _NULL,
        ]
    },
}


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def _property(name: str) -> dict[str, Any]:
    prop: dict[str, Any] = dict(_JSON_TYPES[name])
    if name in FIELD_DEFAULTS:
        prop["default"] = FIELD_DEFAULTS[name]
    prop["description"] = FIELD_DOCS[name]
    if name in TOKEN_COUNT_FIELDS:
        prop["minimum"] = 0
    prop["title"] = name.replace("_", " ").title()
    return prop


def event_json_schema() -> dict[str, Any]:
    """The JSON Schema of `Call`, with camelCase spellings noted."""
    schema = _sorted(
        {
            "additionalProperties": True,
            "description": (Call.__doc__ or "").strip()
            + " Field names may also be written in camelCase (customerId, inputTokens, ...);"
            " `feature` and `provider` are accepted for event_type and vendor. Unknown fields are ignored and never stored.",
            "properties": {name: _property(name) for name in CALL_FIELDS},
            "required": list(REQUIRED_FIELDS),
            "title": "margindash usage event",
            "type": "object",
        }
    )
    schema["properties"] = {name: schema["properties"][name] for name in CALL_FIELDS}  # field order, not sorted
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema
