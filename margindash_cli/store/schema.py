"""What the store's tables look like to the code that reads and writes them: column lists, day numbers, keys.

The migrations (migrations.py) define the tables; these constants must agree with them (tests hold them equal).
"""

from __future__ import annotations

import hashlib

from margindash_cli.core.periods import DAY_MS, EPOCH_DATE  # noqa: F401 (the one epoch, re-exported for store readers)

SQLITE_HEADER = b"SQLite format 3\x00"
MIGRATION_NAMES = (
    "m001_initial",
    "m002_stripe",
    "m003_budgets",
    "m004_compact_events",
    "m005_request_ids",
    "m006_media_tokens",
    "m007_stripe_reversals",
    "m008_billed_costs",
    "m009_checkpoint_tail",
    "m010_customer_monthly",
)  # migrations.py's (a test holds them equal)
LATEST_MIGRATION = MIGRATION_NAMES[-1]
BUSY_TIMEOUT_MS = 60_000  # overlapping cron jobs wait for each other this long before failing
DIMENSIONS = ("customers", "features", "segments")  # name-keyed dimension tables
# The columns ingest writes to `events` (its id is assigned on insert). The rare fields go in `extra`, a JSON
# object of EXTRA_FIELDS that is NULL for the common call that has none of them.
EVENT_COLUMNS = (
    "ts",
    "customer",
    "feature",
    "model",
    "segment",
    "input_tokens",
    "output_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "cost",
    "price_id",
    "source",
    "line",
    "extra",
    "request_id",
    "response_id",  # m005: the ids as text (response_id only when it differs from request_id)
)
EXTRA_FIELDS = (
    "cache_write_1h_tokens",
    "service_tier",
    "revenue_minor",
    "currency",
    "extra_cost",
    "reported_cost",
    "units",
    "tags",
    "input_audio_tokens",
    "output_audio_tokens",
    "output_image_tokens",
    "cached_audio_tokens",
)
# What readers see (the `events_wide` view): every field under its own name, the rare ones out of `extra`.
WIDE_COLUMNS = (
    "id",
    "ts",
    "customer",
    "feature",
    "model",
    "segment",
    "input_tokens",
    "output_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "reasoning_tokens",
    "service_tier",
    "revenue_minor",
    "currency",
    "extra_cost",
    "reported_cost",
    "units",
    "tags",
    "cost",
    "price_id",
    "source",
    "line",
    "input_audio_tokens",
    "output_audio_tokens",
    "output_image_tokens",
    "cached_audio_tokens",  # m006 (#14)
)
EVENT_COLUMN_LIST = ", ".join(EVENT_COLUMNS)
BLOCK_BITS = 12  # event_blocks: the time span of each 4,096 consecutive event ids
MAX_ID_RANGES = 64  # a time range spread over more id ranges than this reads the table whole (still filtered on ts)
ROLLUP_COLUMNS = """rollup_daily (day, customer, feature, model, segment, events, input_tokens, output_tokens,
    cached_input_tokens, cache_write_tokens, reasoning_tokens, cost, unpriced_events, revenue_usd_cents)"""
CUSTOMER_ROLLUP_COLUMNS = """rollup_customer_daily (customer, day, events, input_tokens, output_tokens,
    cached_input_tokens, cache_write_tokens, reasoning_tokens, cost_micro, cost_rest, unpriced_events, revenue_usd_cents)"""
# A cell's cost past 2^63 picodollars (~$9.2M) would turn into an inexact float (SQLite's `+` does that on overflow):
# abs() of the smallest integer raises "integer overflow" instead, so the batch fails whole and nothing goes inexact.
_ADD_TOKENS = """
    events = events + excluded.events,
    input_tokens = input_tokens + excluded.input_tokens,
    output_tokens = output_tokens + excluded.output_tokens,
    cached_input_tokens = cached_input_tokens + excluded.cached_input_tokens,
    cache_write_tokens = cache_write_tokens + excluded.cache_write_tokens,
    reasoning_tokens = reasoning_tokens + excluded.reasoning_tokens,
    unpriced_events = unpriced_events + excluded.unpriced_events,
    revenue_usd_cents = revenue_usd_cents + excluded.revenue_usd_cents,"""
_OVERFLOW = "abs(-9223372036854775807 - 1)"
ROLLUP_ADD = f"""
ON CONFLICT (day, customer, feature, model, segment) DO UPDATE SET{_ADD_TOKENS}
    cost = CASE WHEN typeof(cost + excluded.cost) = 'integer' THEN cost + excluded.cost ELSE {_OVERFLOW} END"""
CUSTOMER_ROLLUP_ADD = f"""
ON CONFLICT (customer, day) DO UPDATE SET{_ADD_TOKENS}
    cost_micro = CASE WHEN typeof(cost_micro + excluded.cost_micro) = 'integer' THEN cost_micro + excluded.cost_micro ELSE {_OVERFLOW} END,
    cost_rest = CASE WHEN typeof(cost_rest + excluded.cost_rest) = 'integer' THEN cost_rest + excluded.cost_rest ELSE {_OVERFLOW} END"""
UPSERT_ROLLUP = f"INSERT INTO {ROLLUP_COLUMNS} VALUES ({', '.join('?' * 14)}){ROLLUP_ADD}"
UPSERT_CUSTOMER_ROLLUP = f"INSERT INTO {CUSTOMER_ROLLUP_COLUMNS} VALUES ({', '.join('?' * 12)}){CUSTOMER_ROLLUP_ADD}"
CUSTOMER_CELL_COLUMNS = """customer, day, events, input_tokens, output_tokens, cached_input_tokens, cache_write_tokens,
    reasoning_tokens, cost_micro, cost_rest, unpriced_events, revenue_usd_cents"""
# A batch's customer cells (temp.customer_cells, in key order) added in one statement (see Events.insert_new_events)
UPSERT_CUSTOMER_ROLLUP_FROM_CELLS = (
    f"INSERT INTO {CUSTOMER_ROLLUP_COLUMNS} SELECT {CUSTOMER_CELL_COLUMNS} FROM temp.customer_cells WHERE true"
    f" ORDER BY customer, day{CUSTOMER_ROLLUP_ADD}"
)
# #20: a batch is stored without a staging table. Its new keys go in first, in key order, with INSERT OR IGNORE, and
# the change count says whether any was stored already (then STORED_KEYS finds which, and the new ids are closed up);
# the events follow in id order and each rollup cell, summed in Python, is one upsert in primary-key order.
INSERT_EVENT_KEY = "INSERT OR IGNORE INTO main.event_keys (key, id) VALUES (?, ?)"
# Bound to a whole row (key, *EVENT_COLUMNS): ?1, the key, is left out, so no row is copied to drop it. The id is not
# given: SQLite gives each new row the largest id plus one, so the events get the ids base+1, base+2, ... in order.
INSERT_EVENT = f"INSERT INTO main.events ({EVENT_COLUMN_LIST}) VALUES ({', '.join(f'?{i}' for i in range(2, len(EVENT_COLUMNS) + 2))})"
STORED_KEYS_CHUNK = 500  # keys looked up per STORED_KEYS statement
# A key lookup per listed key (SEARCH ... USING PRIMARY KEY), never a scan of event_keys (a test holds the plan): a
# scan costs time in proportion to the store on every batch of every cron run.
STORED_KEYS = f"SELECT key, id FROM main.event_keys WHERE key IN ({', '.join('?' * STORED_KEYS_CHUNK)})"
# Index of each rollup measure in a rollup value list, and of the fields of a WIDE_COLUMNS row.
R_EVENTS, R_IN, R_OUT, R_CACHED, R_CW, R_REASON, R_COST, R_UNPRICED, R_REV = range(9)
_W = {name: i for i, name in enumerate(WIDE_COLUMNS)}
_W_TS, _W_CUSTOMER, _W_FEATURE, _W_MODEL, _W_SEGMENT = (
    _W["ts"],
    _W["customer"],
    _W["feature"],
    _W["model"],
    _W["segment"],
)
_W_IN, _W_OUT, _W_CACHED, _W_CW, _W_REASON = (
    _W[c] for c in ("input_tokens", "output_tokens", "cached_input_tokens", "cache_write_tokens", "reasoning_tokens")
)
_W_COST, _W_PRICE_ID, _W_REVENUE, _W_CURRENCY = _W["cost"], _W["price_id"], _W["revenue_minor"], _W["currency"]


def event_key(dedupe_id: str) -> int:
    """The 64-bit signed key of a dedupe id; `event_keys` maps it to the stored call."""
    return int.from_bytes(
        hashlib.blake2b(dedupe_id.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big", signed=True
    )
