"""Billing exports into billed-cost rows: AWS CUR 2.0 (CSV, gzipped CSV, Parquet) and FOCUS 1.x (CSV). Pure parsing.

A file is read whole before anything is stored: a bad row (an amount that is not a number, a currency other than
USD, a date that is not one) fails the file with its path, line and column, and nothing is written. Rows of other
services (EC2 in a CUR, a VM in a FOCUS export) are skipped and counted.

- CUR 2.0: the Amazon Bedrock lines, found by `product_product_family` "Amazon Bedrock", product code
  `AmazonBedrock`, or a product name "(Amazon Bedrock Edition)" (Anthropic models bill through AWS Marketplace
  under an opaque product code). Money is `line_item_net_unblended_cost` when the export has it (after
  discounts), else `line_item_unblended_cost`. The model is `product['model']`, else the product name; the token
  class comes from the usage type (`...InputTokenCount...`, `...-output-tokens`, `...CacheReadInputTokenCount...`).
  `line_item_usage_amount` is a quantity whose unit is not stated: the rate (cost / amount) says whether it counts
  tokens (under $0.0005 each), thousands (under $0.50) or millions. Key: `identity_line_item_id` and
  `identity_time_interval`, so the same file (or an overlapping later export) replaces its lines, never adds them.
- FOCUS 1.x: `BilledCost` in `BillingCurrency` (must be USD), on the day of `ChargePeriodStart`; the provider from
  `ProviderName`; the model from `x_Model` (LiteLLM's and our sample's extension) or a `model` tag, since SKU names
  are not structured; the token class from the charge description (input/inp, output/outp, cached/cache read).
  A row's key is a digest of its content (and its position among identical rows).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from margindash_cli.core.money import usd_to_pico
from margindash_cli.core.periods import EPOCH_DATE as EPOCH
from margindash_cli.errors import InputError, UsageError
from margindash_cli.store.rows import BilledCostRow, BilledUsageRow

CUR_REQUIRED = (
    "identity_line_item_id",
    "identity_time_interval",
    "line_item_line_item_type",
    "line_item_usage_start_date",
    "line_item_product_code",
    "line_item_usage_type",
    "line_item_usage_amount",
    "line_item_unblended_cost",
    "line_item_currency_code",
)
FOCUS_REQUIRED = ("BillingCurrency", "ChargePeriodStart", "BilledCost", "ChargeCategory", "ProviderName")
PROVIDER_NAMES = {
    "google cloud": "gcp",
    "google": "gcp",
    "gcp": "gcp",
    "microsoft": "azure",
    "azure": "azure",
    "microsoft azure": "azure",
    "aws": "aws",
    "amazon web services": "aws",
    "openai": "openai",
    "anthropic": "anthropic",
}
KINDS = {"credit": "credit", "tax": "tax"}
# the column families of a CUR 2.0 export (any other column is reported: a renamed or foreign column)
CUR_PREFIXES = (
    "identity_",
    "bill_",
    "line_item_",
    "product",
    "pricing_",
    "reservation_",
    "savings_plan_",
    "discount_",
    "split_line_item_",
    "resource_tags",
    "cost_category",
    "capacity_reservation_",
)
# FOCUS 1.0-1.2 columns (provider extensions start with x_)
FOCUS_COLUMNS = frozenset(
    """AvailabilityZone BilledCost BillingAccountId BillingAccountName BillingAccountType BillingCurrency
    BillingPeriodEnd BillingPeriodStart CapacityReservationId CapacityReservationStatus ChargeCategory ChargeClass
    ChargeDescription ChargeFrequency ChargePeriodEnd ChargePeriodStart CommitmentDiscountCategory CommitmentDiscountId
    CommitmentDiscountName CommitmentDiscountQuantity CommitmentDiscountStatus CommitmentDiscountType CommitmentDiscountUnit
    ConsumedQuantity ConsumedUnit ContractedCost ContractedUnitPrice EffectiveCost InvoiceId InvoiceIssuerName ListCost
    ListUnitPrice PricingCategory PricingCurrency PricingCurrencyContractedUnitPrice PricingCurrencyEffectiveCost
    PricingCurrencyListUnitPrice PricingQuantity PricingUnit ProviderName PublisherName RegionId RegionName ResourceId
    ResourceName ResourceType ServiceCategory ServiceName ServiceSubcategory SkuId SkuMeter SkuPriceDetails SkuPriceId
    SubAccountId SubAccountName SubAccountType Tags""".split()
)


@dataclass
class ParsedBill:
    format: str  # cur | focus
    costs: list[BilledCostRow]
    usage: list[BilledUsageRow] = field(default_factory=list)
    skipped: int = 0
    warnings: list[str] = field(default_factory=list)


def read_bill_file(path: Path, fmt: str = "auto") -> ParsedBill:
    if fmt not in ("auto", "cur", "focus"):
        raise UsageError(f"unknown --format {fmt!r}", "use auto, cur or focus")
    rows, columns = _read_rows(path)
    if fmt == "auto":
        if "identity_line_item_id" in columns or "line_item_usage_type" in columns:
            fmt = "cur"
        elif "BilledCost" in columns or "ChargePeriodStart" in columns:
            fmt = "focus"
        else:
            raise InputError(
                f"{path}: neither an AWS CUR 2.0 export nor a FOCUS file (its columns: {', '.join(list(columns)[:6])}...)",
                "pass --format cur or --format focus, or export CUR 2.0 / FOCUS 1.x",
            )
    required = CUR_REQUIRED if fmt == "cur" else FOCUS_REQUIRED
    missing = [c for c in required if c not in columns]
    if missing:
        raise InputError(
            f"{path}: not a {'CUR 2.0' if fmt == 'cur' else 'FOCUS 1.x'} file: missing column(s) {', '.join(missing)}",
            "export with the standard column names (CUR 2.0 snake case, FOCUS 1.x)",
        )
    parsed = _parse_cur(path, rows) if fmt == "cur" else _parse_focus(path, rows)
    unknown = [
        c
        for c in columns
        if not (c.startswith(CUR_PREFIXES) if fmt == "cur" else c in FOCUS_COLUMNS or c.startswith("x_"))
    ]
    if unknown:
        shown = ", ".join(unknown[:5]) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
        parsed.warnings.append(
            f"{path}: column(s) not in the {'CUR 2.0' if fmt == 'cur' else 'FOCUS 1.x'} schema were ignored: {shown}"
        )
    return parsed


def _read_rows(path: Path) -> tuple[list[tuple[int, dict[str, Any]]], list[str]]:
    """(line or row number, row) pairs and the column names, from CSV (plain or gzip) or Parquet."""
    name = path.name.lower()
    if name.endswith(".parquet"):
        try:
            import pyarrow.parquet as pq  # lazy: start-up (an optional dependency)
        except ImportError:
            raise InputError(
                f"{path}: reading Parquet needs pyarrow", "pip install 'margindash[parquet]', or export CSV"
            ) from None
        try:
            table = pq.read_table(path)
        except Exception as exc:  # pyarrow raises its own error types
            raise InputError(f"{path}: not a readable Parquet file ({exc})") from None
        columns = table.column_names
        out = []
        for i, rec in enumerate(table.to_pylist(), 1):
            out.append((i, {k: _parquet_value(v) for k, v in rec.items()}))
        return out, columns
    try:
        raw = gzip.open(path).read() if name.endswith(".gz") else path.read_bytes()
    except (OSError, EOFError) as exc:
        raise InputError(f"{path}: cannot be read ({exc})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text", "export the file as UTF-8 CSV") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    columns = list(reader.fieldnames or [])
    out = []
    for rec in reader:
        if None in rec:
            raise InputError(f"{path}, line {reader.line_num}: more fields than the header has columns")
        out.append((reader.line_num, rec))
    return out, columns


def _parquet_value(v: Any) -> Any:
    if isinstance(v, list) and all(isinstance(x, tuple) and len(x) == 2 for x in v):  # a Parquet map
        return json.dumps(dict(v))
    if isinstance(v, datetime):
        return (v if v.tzinfo else v.replace(tzinfo=UTC)).isoformat()
    return "" if v is None else str(v) if not isinstance(v, str) else v


def _decimal(path: Path, line: int, column: str, value: Any, *, required: bool = True) -> Decimal | None:
    text = ("" if value is None else str(value)).strip()
    if not text:
        if required:
            raise InputError(f"{path}, line {line}, column {column}: empty", "nothing was imported")
        return None
    try:
        d = Decimal(text)
    except InvalidOperation:
        raise InputError(
            f"{path}, line {line}, column {column}: {text!r} is not a number", "nothing was imported"
        ) from None
    if not d.is_finite():
        raise InputError(
            f"{path}, line {line}, column {column}: {text!r} is not a finite number", "nothing was imported"
        )
    return d


def _day(path: Path, line: int, column: str, value: Any) -> int:
    text = ("" if value is None else str(value)).strip()
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(
            f"{path}, line {line}, column {column}: {text!r} is not a date-time", "nothing was imported"
        ) from None
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC)
    return (dt.date() - EPOCH).days


def _usd(path: Path, line: int, column: str, value: Any) -> None:
    cur = ("" if value is None else str(value)).strip().upper()
    if cur != "USD":
        raise InputError(
            f"{path}, line {line}, column {column}: billed in {cur or '(empty)'}, not USD",
            "margindash reconciles USD bills only; nothing was imported",
        )


def _json_map(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    text = ("" if value is None else str(value)).strip()
    if not text:
        return {}
    try:
        got = json.loads(text)
    except ValueError:
        return {}
    return got if isinstance(got, dict) else {}


def _class_of(text: str) -> str | None:
    t = re.sub(r"[\s_\-:]+", "", text.lower())
    if "cacheread" in t or "cachedinput" in t or "cached" in t:
        return "cache_read"
    if "cachewrite" in t or "cachecreation" in t:
        return "cache_write_5m"
    if "output" in t or "outp" in t:
        return "output"
    if "input" in t or "inp" in t:
        return "input"
    return None


def _unit_of(cost: Decimal, amount: Decimal | None) -> tuple[str | None, str | None]:
    """(quantity text, unit) of a token line, the unit told by the rate (cost per unit)."""
    if amount is None or amount <= 0:
        return None, None
    rate = abs(cost) / amount
    unit = "tokens" if rate < Decimal("0.0005") else "1000_tokens" if rate < Decimal("0.5") else "1m_tokens"
    return format(amount, "f"), unit


def _parse_cur(path: Path, rows: list[tuple[int, dict[str, Any]]]) -> ParsedBill:
    out: list[BilledCostRow] = []
    skipped = 0
    net = any(r.get("line_item_net_unblended_cost") not in (None, "") for _, r in rows)
    for line, r in rows:
        product = _json_map(r.get("product"))
        name = str(product.get("product_name") or "")
        family = str(r.get("product_product_family") or "")
        code = str(r.get("line_item_product_code") or "")
        if not (
            family == "Amazon Bedrock"
            or code == "AmazonBedrock"
            or "Bedrock Edition" in name
            or "Amazon Bedrock" in name
        ):
            skipped += 1
            continue
        _usd(path, line, "line_item_currency_code", r.get("line_item_currency_code"))
        column = (
            "line_item_net_unblended_cost"
            if net and r.get("line_item_net_unblended_cost") not in (None, "")
            else "line_item_unblended_cost"
        )
        cost = _decimal(path, line, column, r.get(column))
        assert cost is not None
        day = _day(path, line, "line_item_usage_start_date", r.get("line_item_usage_start_date"))
        item_type = str(r.get("line_item_line_item_type") or "")
        usage_type = str(r.get("line_item_usage_type") or "")
        token_class = (
            _class_of(usage_type) or _class_of(str(product.get("inference_type") or ""))
            if item_type in ("Usage", "DiscountedUsage")
            else None
        )
        kind = "tokens" if token_class else KINDS.get(item_type.lower(), "other")
        model = (
            (str(product.get("model") or "") or re.sub(r"\s*\(Amazon Bedrock Edition\)$", "", name))
            if kind == "tokens"
            else None
        )
        amount = _decimal(path, line, "line_item_usage_amount", r.get("line_item_usage_amount"), required=False)
        qty, unit = (
            _unit_of(cost, amount) if kind == "tokens" else (None if amount is None else format(amount, "f"), None)
        )
        tier = "batch" if "batch" in usage_type.lower() else None
        label = str(r.get("line_item_line_item_description") or usage_type or item_type)
        out.append(
            BilledCostRow(
                "aws",
                day,
                model or None,
                token_class,
                kind,
                label,
                str(r.get("line_item_usage_account_id") or "") or None,
                tier,
                usd_to_pico(cost),
                qty,
                unit,
                f"{r.get('identity_line_item_id')}|{r.get('identity_time_interval')}",
            )
        )
    return ParsedBill("cur", out, skipped=skipped)


def _parse_focus(path: Path, rows: list[tuple[int, dict[str, Any]]]) -> ParsedBill:
    out: list[BilledCostRow] = []
    skipped = 0
    seen: dict[str, int] = {}
    for line, r in rows:
        tags = _json_map(r.get("Tags"))
        model = str(r.get("x_Model") or r.get("x_model") or tags.get("model") or "").strip() or None
        category = str(r.get("ServiceCategory") or "")
        if model is None and category and category != "AI and Machine Learning":
            skipped += 1
            continue
        _usd(path, line, "BillingCurrency", r.get("BillingCurrency"))
        cost = _decimal(path, line, "BilledCost", r.get("BilledCost"))
        assert cost is not None
        day = _day(path, line, "ChargePeriodStart", r.get("ChargePeriodStart"))
        provider_name = str(r.get("ProviderName") or "").strip()
        provider = PROVIDER_NAMES.get(
            provider_name.lower(), re.sub(r"[^a-z0-9]+", "-", provider_name.lower()).strip("-") or "unknown"
        )
        charge = str(r.get("ChargeCategory") or "")
        description = str(r.get("ChargeDescription") or r.get("SkuId") or charge)
        token_class = _class_of(description) if charge == "Usage" else None
        kind = "tokens" if charge == "Usage" and (token_class or model) else KINDS.get(charge.lower(), "other")
        qty = _decimal(path, line, "ConsumedQuantity", r.get("ConsumedQuantity"), required=False)
        unit = str(r.get("ConsumedUnit") or "").strip() or None
        digest = hashlib.blake2b(
            json.dumps([r.get(k) for k in sorted(r)], default=str).encode(), digest_size=12
        ).hexdigest()
        seen[digest] = seen.get(digest, 0) + 1
        out.append(
            BilledCostRow(
                provider,
                day,
                model if kind == "tokens" else None,
                token_class,
                kind,
                description,
                str(r.get("SubAccountId") or "") or None,
                None,
                usd_to_pico(cost),
                None if qty is None else format(qty, "f"),
                unit,
                f"{digest}|{seen[digest]}",
            )
        )
    return ParsedBill("focus", out, skipped=skipped)
