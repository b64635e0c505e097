"""OpenAI's organization cost and usage APIs, read into billed rows (admin key, `Authorization: Bearer`).

- `GET /v1/organization/costs`: daily buckets grouped by `line_item` and `project_id`; `amount.value` is US
  dollars in a JSON number, read as an exact decimal. The model only appears inside the free-text line item
  ("gpt-4o-2024-08-06, cached input", "batch | gpt-5-mini-2025-08-07, output", "web search tool calls"),
  parsed defensively: a label without a model is a charge no log line carries.
- `GET /v1/organization/usage/completions`: tokens per model, batch, service tier and project.
  `input_tokens` includes cached and cache-write tokens; `input_uncached_tokens` excludes cache writes.
Timestamps are Unix seconds, start inclusive, end exclusive; every bucket is a UTC day.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from margindash_cli.clients.http import Pages, Shape, iter_pages
from margindash_cli.core.money import usd_to_pico
from margindash_cli.core.periods import EPOCH_DATE
from margindash_cli.store.rows import BilledCostRow, BilledUsageRow

PROVIDER = "openai"
KEY_ENV = "OPENAI_ADMIN_KEY"
BASE_ENV = "MARGINDASH_OPENAI_API_BASE"
DEFAULT_BASE = "https://api.openai.com"
COSTS_MAX_LIMIT = 180  # buckets per page, /costs at 1d
USAGE_MAX_LIMIT = 31  # buckets per page, /usage/* at 1d
DAY_S = 86_400
# the words after the model in a line item -> our token class
TOKEN_CLASSES = {
    "input": "input",
    "cached input": "cache_read",
    "cache read": "cache_read",
    "output": "output",
    "cache write": "cache_write_5m",
    "cached write": "cache_write_5m",
    "input cache write": "cache_write_5m",
}


def headers(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def parse_line_item(label: str) -> tuple[str | None, str | None, str | None, str]:
    """(model, token class, service tier, kind) of a line item label. Not a contract: unknown words leave the
    class None; a label whose first part has a space ("web search tool calls") has no model."""
    tier = None
    text = label.strip()
    if " | " in text:
        prefix, text = text.split(" | ", 1)
        tier = prefix.strip().lower() or None
    parts = [p.strip() for p in text.split(",")]
    head = parts[0]
    if not head or " " in head:
        low = label.lower()
        kind = (
            "web_search"
            if "web search" in low
            else "code_execution"
            if "code interpreter" in low or "code execution" in low
            else "other"
        )
        return None, None, tier, kind
    words = [p.lower() for p in parts[1:]]
    token_class = next((TOKEN_CLASSES[w] for w in words if w in TOKEN_CLASSES), None)
    return head, token_class, tier, "tokens"


def read_costs(base: str, key: str, start_day: int, end_day: int) -> tuple[list[BilledCostRow], int]:
    """The billed cost lines of [start_day, end_day) and the number of requests made."""
    shape = Shape(PROVIDER, "/v1/organization/costs")
    params = [
        ("start_time", str(start_day * DAY_S)),
        ("end_time", str(end_day * DAY_S)),
        ("bucket_width", "1d"),
        ("limit", str(max(1, min(COSTS_MAX_LIMIT, end_day - start_day)))),
        ("group_by[]", "line_item"),
        ("group_by[]", "project_id"),
    ]
    rows: list[BilledCostRow] = []
    pages = Pages(iter_pages(PROVIDER, KEY_ENV, base + "/v1/organization/costs", params, headers(key)))
    for day, i, at, result in pages.results(shape, _bucket_day, _iso):
        amount = shape.obj(result.get("amount"), at + " amount")
        value, currency = amount.get("value"), amount.get("currency")
        if not isinstance(value, (int, Decimal)) or isinstance(value, bool):
            raise shape.fail(at, f"`amount.value` is {value!r}, not a number")
        if not isinstance(currency, str) or currency.lower() != "usd":
            raise shape.fail(at, f"billed in {currency!r}, not USD: margindash reconciles USD bills only")
        label = shape.text(result, "line_item", at) or ""
        model, token_class, tier, kind = parse_line_item(label) if label else (None, None, None, "other")
        qty = result.get("quantity")
        if qty is not None and (isinstance(qty, bool) or not isinstance(qty, (int, Decimal))):
            raise shape.fail(at, f"`quantity` is {qty!r}, not a number")
        rows.append(
            BilledCostRow(
                PROVIDER,
                day,
                model,
                token_class,
                kind,
                label or "(no line item)",
                shape.text(result, "project_id", at),
                tier,
                usd_to_pico(Decimal(value)),
                None if qty is None else format(Decimal(qty), "f"),
                shape.text(result, "quantity_unit", at),
                f"{day}|c{i}",
            )
        )
    return rows, pages.count


def read_usage(base: str, key: str, start_day: int, end_day: int) -> tuple[list[BilledUsageRow], int]:
    """Tokens billed per model, batch, service tier and project in [start_day, end_day)."""
    shape = Shape(PROVIDER, "/v1/organization/usage/completions")
    params = [
        ("start_time", str(start_day * DAY_S)),
        ("end_time", str(end_day * DAY_S)),
        ("bucket_width", "1d"),
        ("limit", str(max(1, min(USAGE_MAX_LIMIT, end_day - start_day)))),
        ("group_by[]", "model"),
        ("group_by[]", "batch"),
        ("group_by[]", "service_tier"),
        ("group_by[]", "project_id"),
    ]
    rows: list[BilledUsageRow] = []
    pages = Pages(iter_pages(PROVIDER, KEY_ENV, base + "/v1/organization/usage/completions", params, headers(key)))
    for day, i, at, result in pages.results(shape, _bucket_day, _iso):
        prompt = shape.count(result, "input_tokens", at)
        cached = shape.count(result, "input_cached_tokens", at, required=False)
        write = shape.count(result, "input_cache_write_tokens", at, required=False)
        uncached = result.get("input_uncached_tokens")
        uncached = (
            shape.count(result, "input_uncached_tokens", at)
            if uncached is not None
            else max(0, prompt - cached - write)
        )
        batch = result.get("batch")
        if batch is not None and not isinstance(batch, bool):
            raise shape.fail(at, f"`batch` is {batch!r}, not true, false or null")
        requests_n = result.get("num_model_requests")
        rows.append(
            BilledUsageRow(
                PROVIDER,
                day,
                shape.text(result, "model", at) or "",
                shape.text(result, "project_id", at),
                shape.text(result, "service_tier", at),
                None if batch is None else int(batch),
                uncached,
                cached,
                write,
                0,
                shape.count(result, "output_tokens", at),
                requests_n if type(requests_n) is int else None,
                f"{day}|u{i}",
            )
        )
    return rows, pages.count


def _bucket_day(shape: Shape, bucket: Any, where: str) -> int:
    bucket = shape.obj(bucket, where)
    start = bucket.get("start_time")
    if type(start) is not int or start % DAY_S:
        raise shape.fail(where, f"`start_time` {start!r} is not the start of a UTC day")
    return start // DAY_S


def _iso(day: int) -> str:
    from datetime import timedelta  # lazy: start-up

    return (EPOCH_DATE + timedelta(days=day)).isoformat()
