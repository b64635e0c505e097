"""`export --schema focus`: the cost of each call under FOCUS 1.2 column names, and revenue beside it.

Tables (month-partitioned like the default schema: OUTDIR/<table>/month=YYYY-MM/part-0.{parquet,csv}):
- `costs`: one row per call. FOCUS 1.2 columns where one applies (ChargePeriodStart/End are the call's UTC day,
  BillingPeriodStart/End its UTC month, BilledCost = EffectiveCost = ListCost = the call's cost at the price in
  force at its timestamp), our own with FOCUS's `x_` prefix. One deviation, on purpose: an unpriced call has a
  null BilledCost (and x_Unpriced true), never $0, because $0 would be a wrong number a sum cannot tell apart.
- `revenue`: one row per revenue row of the store (Stripe invoice lines, imported CSV lines; x_Source says which)
  and one per customer-day of revenue the calls themselves carried (x_Source 'events', already in USD cents).
- `revenue_allocation`: the report's own revenue allocation, exported rather than re-derived: one row per finest
  cell (UTC day, customer, feature, vendor, model, segment, plan) with the revenue `report --allocate events`
  gives it (event revenue plus the customer-day revenue split over the day's cells by events with exact
  remainders, `money.allocate`), so the warehouse SQL sums revenue to the cent as `report --by feature` does.
  Portable SQL cannot reproduce the cumulative-rounding split exactly, so margindash computes it once here.
  Revenue of a customer-day with no calls is a cell whose feature, vendor, model and segment read '(no usage)'.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, timedelta
from typing import Any

from margindash_cli.core.periods import DAY_MS, EPOCH_DATE
from margindash_cli.reports import compute as reports
from margindash_cli.store.db import Store

INT, TEXT, JSON, TIMESTAMP, DAY, USD, BOOL = "int", "text", "json", "timestamp", "day", "usd", "bool"
FOCUS_VERSION = "1.2"
SERVICE_CATEGORY = "AI and Machine Learning"  # FOCUS 1.2 ServiceCategory allowed value

COSTS_COLUMNS = (
    ("ChargePeriodStart", TIMESTAMP, "UTC", "FOCUS: start of the charge period, the UTC day of the call (inclusive)"),
    ("ChargePeriodEnd", TIMESTAMP, "UTC", "FOCUS: end of the charge period, the next UTC midnight (exclusive)"),
    ("BillingPeriodStart", TIMESTAMP, "UTC", "FOCUS: the call's UTC month, first instant (inclusive)"),
    ("BillingPeriodEnd", TIMESTAMP, "UTC", "FOCUS: the next UTC month, first instant (exclusive)"),
    ("ChargeCategory", TEXT, None, "FOCUS: always 'Usage'"),
    ("ChargeDescription", TEXT, None, "FOCUS: '<input> input + <output> output tokens, <model>'"),
    (
        "BilledCost",
        USD,
        "USD",
        "FOCUS: the call's cost at the price in force at its timestamp; null = unpriced (x_Unpriced), never 0",
    ),
    ("EffectiveCost", USD, "USD", "FOCUS: equal to BilledCost (margindash knows no commitments or credits per call)"),
    ("ListCost", USD, "USD", "FOCUS: equal to BilledCost (list prices are what margindash prices with)"),
    ("BillingCurrency", TEXT, None, "FOCUS: always 'USD'"),
    ("ProviderName", TEXT, None, "FOCUS: the vendor as logged (openai, anthropic, ...)"),
    ("PublisherName", TEXT, None, "FOCUS: the vendor as logged"),
    ("InvoiceIssuerName", TEXT, None, "FOCUS: the vendor as logged"),
    ("ServiceName", TEXT, None, "FOCUS: the vendor as logged (its model API)"),
    ("ServiceCategory", TEXT, None, f"FOCUS: always {SERVICE_CATEGORY!r}"),
    ("ConsumedQuantity", INT, "tokens", "FOCUS: input + output tokens of the call"),
    ("ConsumedUnit", TEXT, None, "FOCUS: always 'Tokens'"),
    ("SkuId", TEXT, None, "FOCUS: '<vendor>/<model>' as logged"),
    ("SkuPriceId", TEXT, None, "FOCUS: the id of the price version that priced the call; null = unpriced"),
    ("Tags", JSON, None, "FOCUS: the call's tags as a JSON object; null = none"),
    ("x_CallId", INT, None, "the call's id in the store (ingest order): unique, stable; merge on it"),
    ("x_Timestamp", TIMESTAMP, "UTC", "when the call was made"),
    ("x_Day", DAY, "UTC", "the UTC day of x_Timestamp"),
    ("x_CustomerId", TEXT, None, "your customer id; null = unattributed (reports say '(unattributed)')"),
    ("x_Feature", TEXT, None, "the feature (event_type); null = none"),
    ("x_Model", TEXT, None, "the model as logged"),
    ("x_Segment", TEXT, None, "the call's own segment; null = none"),
    ("x_InputTokens", INT, "tokens", "all prompt tokens (cached and cache-write tokens are parts of it)"),
    ("x_OutputTokens", INT, "tokens", "all output tokens (reasoning tokens are part of it)"),
    ("x_CachedInputTokens", INT, "tokens", "cache reads, part of x_InputTokens"),
    ("x_CacheWriteTokens", INT, "tokens", "cache writes, part of x_InputTokens"),
    ("x_ReasoningTokens", INT, "tokens", "part of x_OutputTokens"),
    ("x_ServiceTier", TEXT, None, "default|batch|flex|priority"),
    (
        "x_PriceVersion",
        TEXT,
        None,
        "the price version: '<provider>/<model>@<effective from, UTC> (<source>)'; null = unpriced",
    ),
    ("x_Unpriced", BOOL, None, "true when no price was in force for the call: BilledCost is null"),
    ("x_CostBasis", TEXT, None, "'computed': tokens x the price list in force at the call's timestamp"),
    ("x_ReportedCost", TEXT, "USD", "the cost the provider's or gateway's log stated, exact decimal text as logged"),
    ("x_SourceFile", TEXT, None, "the file the call was read from ('-' = stdin)"),
    ("x_SourceLine", INT, None, "its line in that file"),
)
REVENUE_COLUMNS = (
    ("x_Day", DAY, "UTC", "the UTC day the revenue counts on (recognized over its service period)"),
    ("x_CustomerId", TEXT, None, "your customer id (Stripe customers mapped to it); null = unattributed"),
    ("x_Amount", INT, "minor units of x_Currency", "the amount in its own currency (cents for USD)"),
    ("x_Currency", TEXT, None, "ISO 4217 code, lower case"),
    (
        "x_UsdCents",
        INT,
        "US cents",
        "the amount in US cents; null = no exchange rate yet (reports leave it out and say so)",
    ),
    (
        "x_Source",
        TEXT,
        None,
        "'stripe', 'csv:<file>' (revenue import) or 'events' (revenue the calls carried, summed per customer-day)",
    ),
    ("x_Ref", TEXT, None, "the row it came from: invoice line id, file line; null for 'events'"),
)
ALLOCATION_COLUMNS = (
    ("x_Day", DAY, "UTC", "the UTC day"),
    ("x_CustomerId", TEXT, None, "null = unattributed"),
    ("x_Feature", TEXT, None, "null = none; '(no usage)' = revenue of a customer-day with no calls"),
    ("x_Vendor", TEXT, None, "'(no usage)' = revenue of a customer-day with no calls"),
    ("x_Model", TEXT, None, "'(no usage)' = revenue of a customer-day with no calls"),
    ("x_Segment", TEXT, None, "the calls' segment, else the customer's (Stripe metadata); null = none"),
    ("x_Plan", TEXT, None, "the customer's plan (Stripe metadata); null = none"),
    ("x_Events", INT, "calls", "calls in the cell"),
    ("x_Cost", USD, "USD", "cost of the cell's priced calls (equals the sum of BilledCost in `costs`)"),
    ("x_UnpricedEvents", INT, "calls", "calls with no price, not in x_Cost"),
    (
        "x_RevenueUsdCents",
        INT,
        "US cents",
        "revenue of the cell: the calls' own plus its exact share of the customer-day's revenue (by events)",
    ),
)
COLUMNS = {"costs": COSTS_COLUMNS, "revenue": REVENUE_COLUMNS, "revenue_allocation": ALLOCATION_COLUMNS}
TABLES = tuple(COLUMNS)

# (month first day, export columns of the chunk, accounting: rows, events, cost_pico, unpriced_events,
#  input_tokens, output_tokens, revenue_usd_cents, first_day, last_day)
Chunk = tuple[date, list[list[Any]], dict[str, Any]]


def _month(day: int) -> date:
    return (EPOCH_DATE + timedelta(days=day)).replace(day=1)


def _next_month_ms(first: date) -> int:
    nxt = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    return (nxt - EPOCH_DATE).days * DAY_MS


def _iso(day: int) -> str:
    return (EPOCH_DATE + timedelta(days=day)).isoformat()


def chunks(
    store: Store,
    table: str,
    *,
    start_ms: int | None,
    end_ms: int | None,
    dims: dict[str, dict[int, Any]],
    chunk_rows: int,
) -> Iterator[Chunk]:
    """The rows of one focus table in [start_ms, end_ms) (whole UTC days), a month at a time, months in order."""
    if table == "costs":
        yield from _cost_chunks(store, start_ms, end_ms, dims, chunk_rows)
    elif table == "revenue":
        yield from _by_month(_revenue_rows(store, start_ms, end_ms), REVENUE_COLUMNS, chunk_rows, _revenue_acct)
    elif table == "revenue_allocation":
        yield from _by_month(
            _allocation_rows(store, start_ms, end_ms), ALLOCATION_COLUMNS, chunk_rows, _allocation_acct
        )
    else:
        raise ValueError(f"unknown table {table!r}")


def _cost_chunks(
    store: Store, start_ms: int | None, end_ms: int | None, dims: dict[str, dict[int, Any]], chunk_rows: int
) -> Iterator[Chunk]:
    names, raw_chunks = store.events.export_rows("events", start_ms=start_ms, end_ms=end_ms, chunk_rows=chunk_rows)
    ix = {n: i for i, n in enumerate(names)}
    versions = store.prices.price_version_labels()
    models, customers, features = dims["model"], dims["customer"], dims["feature"]
    segments, sources = dims["segment"], dims["source"]
    for rows in raw_chunks:  # a chunk never spans two months (Events.export_rows)
        c = {n: [r[i] for r in rows] for n, i in ix.items()}
        ts = c["ts"]
        days = [t // DAY_MS for t in ts]
        month = _month(days[0])
        month_ms = (month - EPOCH_DATE).days * DAY_MS
        next_ms = _next_month_ms(month)
        vm = [models[m] for m in c["model"]]
        vendors = [v for v, _ in vm]
        model_names = [m for _, m in vm]
        cost = c["cost"]
        n = len(rows)
        consumed = [a + b for a, b in zip(c["input_tokens"], c["output_tokens"])]
        cols = [
            [d * DAY_MS for d in days],
            [d * DAY_MS + DAY_MS for d in days],
            [month_ms] * n,
            [next_ms] * n,
            ["Usage"] * n,
            [
                f"{a} input + {b} output tokens, {m}"
                for a, b, m in zip(c["input_tokens"], c["output_tokens"], model_names)
            ],
            cost,
            cost,
            cost,
            ["USD"] * n,
            vendors,
            vendors,
            vendors,
            vendors,
            [SERVICE_CATEGORY] * n,
            consumed,
            ["Tokens"] * n,
            [f"{v}/{m}" for v, m in vm],
            [None if p is None or k is None else str(p) for p, k in zip(c["price_id"], cost)],
            c["tags"],
            c["id"],
            ts,
            days,
            [customers.get(i) for i in c["customer"]],
            [features.get(i) for i in c["feature"]],
            model_names,
            [segments.get(i) for i in c["segment"]],
            c["input_tokens"],
            c["output_tokens"],
            c["cached_input_tokens"],
            c["cache_write_tokens"],
            c["reasoning_tokens"],
            [t or "default" for t in c["service_tier"]],
            [None if p is None or k is None else versions.get(p) for p, k in zip(c["price_id"], cost)],
            [k is None for k in cost],
            ["computed"] * n,
            c["reported_cost"],
            [sources.get(i) for i in c["source"]],
            c["line"],
        ]
        acct = {
            "rows": n,
            "events": n,
            "cost_pico": sum(k for k in cost if k is not None),
            "unpriced_events": cost.count(None),
            "input_tokens": sum(c["input_tokens"]),
            "output_tokens": sum(c["output_tokens"]),
            "revenue_usd_cents": 0,
            "first_day": _iso(min(days)),
            "last_day": _iso(max(days)),
        }
        yield month, cols, acct


def _by_month(
    rows: list[tuple[Any, ...]], columns: tuple[tuple[str, str, str | None, str], ...], chunk_rows: int, acct_of: Any
) -> Iterator[Chunk]:
    """Rows sorted by their first value (the day number), cut into chunks that never span two months."""
    i = 0
    while i < len(rows):
        month = _month(rows[i][0])
        limit = _next_month_ms(month) // DAY_MS
        j = i
        while j < len(rows) and j - i < chunk_rows and rows[j][0] < limit:
            j += 1
        part = rows[i:j]
        cols = [list(col) for col in zip(*part)]
        assert len(cols) == len(columns)
        acct = acct_of(part)
        acct.update(rows=len(part), first_day=_iso(part[0][0]), last_day=_iso(part[-1][0]))
        yield month, cols, acct
        i = j


def _revenue_acct(part: list[tuple[Any, ...]]) -> dict[str, Any]:
    return {
        "events": 0,
        "cost_pico": 0,
        "unpriced_events": 0,
        "input_tokens": 0,
        "output_tokens": 0,
        "revenue_usd_cents": sum(r[4] or 0 for r in part),
    }


def _allocation_acct(part: list[tuple[Any, ...]]) -> dict[str, Any]:
    return {
        "events": sum(r[7] for r in part),
        "cost_pico": sum(r[8] for r in part),
        "unpriced_events": sum(r[9] for r in part),
        "input_tokens": 0,
        "output_tokens": 0,
        "revenue_usd_cents": sum(r[10] for r in part),
    }


def _day_bounds(start_ms: int | None, end_ms: int | None) -> tuple[int | None, int | None]:
    return (None if start_ms is None else start_ms // DAY_MS, None if end_ms is None else -(-end_ms // DAY_MS))


def _revenue_rows(store: Store, start_ms: int | None, end_ms: int | None) -> list[tuple[Any, ...]]:
    lo, hi = _day_bounds(start_ms, end_ms)
    rows = store.revenue.focus_revenue_rows(lo, hi)
    return sorted(rows, key=lambda r: (r[0], r[1] is not None, r[1] or "", r[5], r[6] or ""))


def _allocation_rows(store: Store, start_ms: int | None, end_ms: int | None) -> list[tuple[Any, ...]]:
    """The finest cells with their allocated revenue: `reports._allocate_cells`, as `report` runs it (UTC days)."""
    lo, hi = _day_bounds(start_ms, end_ms)
    dims = list(reports.CELL_DIMS)
    s_ms, e_ms = (None if lo is None else lo * DAY_MS), (None if hi is None else hi * DAY_MS)
    cells: dict[tuple[str | None, date, tuple[str | None, ...]], list[int]] = {}
    for customer, groups, day, events, inp, out, cost, unpriced, rev in store.events.cell_facts(
        dims, start_ms=s_ms, end_ms=e_ms, tz=UTC
    ):
        k = (customer, day, groups)
        v = cells.get(k)
        if v is None:
            cells[k] = [events, inp, out, cost, unpriced, rev, 0, 0]
        else:
            for i, x in enumerate((events, inp, out, cost, unpriced, rev)):
                v[i] += x
    weights = {k: v[0] for k, v in cells.items()}  # --allocate events, the report's default
    facts, _unconverted = store.revenue.revenue_facts(start_ms=s_ms, end_ms=e_ms)
    revenue = [reports.RevenueFact(c, d, cents) for c, d, cents in facts]
    attributes = {d: store.events.customer_attribute(d) for d in ("segment", "plan")}
    seg_i, plan_i = dims.index("segment"), dims.index("plan")

    def no_usage(customer: str | None) -> tuple[str | None, ...]:  # as reports.build_report labels it
        groups: list[str | None] = [reports.NO_USAGE] * len(dims)
        if customer in attributes["segment"]:
            groups[seg_i] = attributes["segment"][customer]
        groups[plan_i] = attributes["plan"].get(customer)
        return tuple(groups)

    reports._allocate_cells(cells, weights, revenue, len(dims), len(dims), no_usage)
    epoch = EPOCH_DATE
    out_rows = []
    for (customer, day, g), v in cells.items():
        if not (v[0] or v[3] or v[4] or v[5] or v[6]):
            continue  # an unconverted-revenue flag alone: nothing to sum
        feature, vendor, model, segment, plan = g
        out_rows.append(
            ((day - epoch).days, customer, feature, vendor, model, segment, plan, v[0], v[3], v[4], v[5] + v[6])
        )
    out_rows.sort(key=lambda r: (r[0], *((x is not None, x or "") for x in r[1:7])))
    return out_rows
