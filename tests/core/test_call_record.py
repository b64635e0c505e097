"""`Call` (core/call.py) is the one record of a call: every other spelling derives from it or is held equal here,
so a field added to `Call` cannot silently miss a place."""

from __future__ import annotations

import ast
import json
from dataclasses import fields
from pathlib import Path

from margindash_cli.core import event_schema
from margindash_cli.core.call import CALL_FIELDS, FIELD_DOCS, REQUIRED_FIELDS, TOKEN_COUNT_FIELDS, Call
from margindash_cli.core.event_schema import event_json_schema
from margindash_cli.ingest.canonical import CALL_RENAMES, NormalizedEvent
from margindash_cli.ingest.formats.base import CANONICAL_FIELDS, MEDIA_FIELDS, TOKEN_FIELDS
from margindash_cli.pricing.reprice import StoredEvent
from margindash_cli.store.schema import WIDE_COLUMNS

CORE = Path(__file__).resolve().parent.parents[1] / "margindash_cli" / "core"
PRICING_READS = set(TOKEN_COUNT_FIELDS) | {"timestamp", "vendor", "model", "cost_usd", "units", "service_tier"}


def test_canonical_fields_are_calls_fields_in_order():
    assert CANONICAL_FIELDS == CALL_FIELDS == tuple(f.name for f in fields(Call))
    assert set(TOKEN_FIELDS) | set(MEDIA_FIELDS) == set(TOKEN_COUNT_FIELDS)


def test_every_field_is_documented_once():
    assert all(FIELD_DOCS[name].strip() for name in CALL_FIELDS)
    assert REQUIRED_FIELDS == ("timestamp", "model")


def test_event_schema_documents_exactly_calls_fields():
    schema = event_json_schema()
    assert list(schema["properties"]) == list(CALL_FIELDS)
    assert set(event_schema._JSON_TYPES) == set(CALL_FIELDS)
    assert schema["required"] == list(REQUIRED_FIELDS)
    assert {k: v["description"] for k, v in schema["properties"].items()} == FIELD_DOCS
    json.dumps(schema)  # JSON-ready


def test_normalized_event_is_call_renamed_plus_what_formats_read_from_responses():
    renamed = {CALL_RENAMES.get(name, name) for name in CALL_FIELDS}
    assert set(CALL_RENAMES) <= set(CALL_FIELDS)
    assert set(NormalizedEvent._fields) - renamed == {"reported_cost", "response_id"}
    assert renamed <= set(NormalizedEvent._fields)


def test_stored_event_carries_what_pricing_reads_under_normalized_event_names():
    expected = {CALL_RENAMES.get(name, name) for name in PRICING_READS} | {"reported_cost"}
    assert set(StoredEvent._fields) == expected
    assert set(StoredEvent._fields) <= set(NormalizedEvent._fields)


def test_store_wide_columns_hold_every_token_count():
    assert set(TOKEN_COUNT_FIELDS) <= set(WIDE_COLUMNS)


def test_core_is_stdlib_only():
    allowed_own = ("margindash_cli.core", "margindash_cli.errors")
    for path in CORE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else ([node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else [])
            )
            for name in names:
                top = name.split(".")[0]
                if top == "margindash_cli":
                    assert name.startswith(allowed_own), (path.name, name)
                else:
                    assert top in __import__("sys").stdlib_module_names or top == "__future__", (path.name, name)
