"""Anthropic's Admin API cost and usage reports, read into billed rows (`x-api-key` + `anthropic-version`).

- `GET /v1/organizations/cost_report`, grouped by `description` (gives `model` and `token_type`) and
  `workspace_id`: `amount` is a decimal STRING in cents ("12.3456" is $0.123456); web search and code execution
  are rows with `model: null`, charges no log line carries.
- `GET /v1/organizations/usage_report/messages`, grouped by `model`, `service_tier`, `workspace_id`: uncached
  input, cache reads, `cache_creation: {ephemeral_5m_input_tokens, ephemeral_1h_input_tokens}` and output.
Buckets are RFC 3339 UTC days (`starting_at` inclusive, `ending_at` exclusive).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from margindash_cli.clients.http import Pages, Shape, iter_pages
from margindash_cli.core.money import usd_to_pico
from margindash_cli.core.periods import EPOCH_DATE as EPOCH
from margindash_cli.store.rows import BilledCostRow, BilledUsageRow

PROVIDER = "anthropic"
KEY_ENV = "ANTHROPIC_ADMIN_KEY"
BASE_ENV = "MARGINDASH_ANTHROPIC_API_BASE"
DEFAULT_BASE = "https://api.anthropic.com"
API_VERSION = "2023-06-01"
MAX_LIMIT = 31  # buckets per page at 1d, both reports
TOKEN_TYPES = {
    "uncached_input_tokens": "input",
    "output_tokens": "output",
    "cache_read_input_tokens": "cache_read",
    "cache_creation.ephemeral_5m_input_tokens": "cache_write_5m",
    "cache_creation.ephemeral_1h_input_tokens": "cache_write_1h",
}


def headers(key: str) -> dict[str, str]:
    return {"x-api-key": key, "anthropic-version": API_VERSION}


def _rfc3339(day: int) -> str:
    return (EPOCH + timedelta(days=day)).isoformat() + "T00:00:00Z"


def _params(start_day: int, end_day: int, groups: list[str]) -> list[tuple[str, str]]:
    return [
        ("starting_at", _rfc3339(start_day)),
        ("ending_at", _rfc3339(end_day)),
        ("bucket_width", "1d"),
        ("limit", str(max(1, min(MAX_LIMIT, end_day - start_day)))),
    ] + [("group_by[]", g) for g in groups]


def read_costs(base: str, key: str, start_day: int, end_day: int) -> tuple[list[BilledCostRow], int]:
    shape = Shape(PROVIDER, "/v1/organizations/cost_report")
    rows: list[BilledCostRow] = []
    url = base + "/v1/organizations/cost_report"
    pages = Pages(
        iter_pages(PROVIDER, KEY_ENV, url, _params(start_day, end_day, ["description", "workspace_id"]), headers(key))
    )
    for day, i, at, result in pages.results(shape, _bucket_day, lambda d: _rfc3339(d)[:10]):
        amount, currency = result.get("amount"), result.get("currency")
        if not isinstance(amount, str):
            raise shape.fail(at, f"`amount` is {amount!r}, not a decimal string of cents")
        try:
            cents = Decimal(amount)
        except InvalidOperation:
            raise shape.fail(at, f"`amount` {amount!r} is not a decimal") from None
        if not cents.is_finite():
            raise shape.fail(at, f"`amount` {amount!r} is not a finite decimal")
        if not isinstance(currency, str) or currency.upper() != "USD":
            raise shape.fail(at, f"billed in {currency!r}, not USD: margindash reconciles USD bills only")
        cost_type = shape.text(result, "cost_type", at) or "other"
        token_type = shape.text(result, "token_type", at)
        model = shape.text(result, "model", at)
        kind = (
            "tokens"
            if cost_type == "tokens"
            else cost_type
            if cost_type in ("web_search", "code_execution")
            else "other"
        )
        rows.append(
            BilledCostRow(
                PROVIDER,
                day,
                model if kind == "tokens" else None,
                TOKEN_TYPES.get(token_type or "") if kind == "tokens" else None,
                kind,
                shape.text(result, "description", at) or cost_type,
                shape.text(result, "workspace_id", at),
                shape.text(result, "service_tier", at),
                usd_to_pico(cents.scaleb(-2)),
                None,
                None,
                f"{day}|c{i}",
            )
        )
    return rows, pages.count


def read_usage(base: str, key: str, start_day: int, end_day: int) -> tuple[list[BilledUsageRow], int]:
    shape = Shape(PROVIDER, "/v1/organizations/usage_report/messages")
    rows: list[BilledUsageRow] = []
    url = base + "/v1/organizations/usage_report/messages"
    groups = ["model", "service_tier", "workspace_id"]
    pages = Pages(iter_pages(PROVIDER, KEY_ENV, url, _params(start_day, end_day, groups), headers(key)))
    for day, i, at, result in pages.results(shape, _bucket_day, lambda d: _rfc3339(d)[:10]):
        creation = result.get("cache_creation")
        creation = {} if creation is None else shape.obj(creation, at + " cache_creation")
        tier = shape.text(result, "service_tier", at)
        rows.append(
            BilledUsageRow(
                PROVIDER,
                day,
                shape.text(result, "model", at) or "",
                shape.text(result, "workspace_id", at),
                tier,
                None if tier is None else int(tier == "batch"),
                shape.count(result, "uncached_input_tokens", at),
                shape.count(result, "cache_read_input_tokens", at, required=False),
                shape.count(creation, "ephemeral_5m_input_tokens", at + " cache_creation", required=False),
                shape.count(creation, "ephemeral_1h_input_tokens", at + " cache_creation", required=False),
                shape.count(result, "output_tokens", at),
                None,
                f"{day}|u{i}",
            )
        )
    return rows, pages.count


def _bucket_day(shape: Shape, bucket: Any, where: str) -> int:
    bucket = shape.obj(bucket, where)
    text = bucket.get("starting_at")
    try:
        dt = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        raise shape.fail(where, f"`starting_at` {text!r} is not an RFC 3339 time") from None
    if dt.tzinfo is None:
        raise shape.fail(where, f"`starting_at` {text!r} has no zone")
    dt = dt.astimezone(UTC)
    if (dt.hour, dt.minute, dt.second, dt.microsecond) != (0, 0, 0, 0):
        raise shape.fail(where, f"`starting_at` {text!r} is not the start of a UTC day")
    return (dt.date() - EPOCH).days
