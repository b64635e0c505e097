"""The store's schema, as numbered, append-only migrations. Never edit one that has shipped.

Units and conventions every table follows:
- Timestamps are UTC epoch milliseconds (`ts`); days are UTC days since 1970-01-01 (`day`).
- Costs are integer picodollars (1e-12 USD); NULL cost means unpriced, never $0.
- Revenue is integer minor units of its currency (cents for USD, yen for JPY).
- Dimensions (customer, feature, model, segment) are small integers; 0 means "none"
  (an unattributed call has customer 0), so rollup keys never hold NULL.
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

MIGRATIONS = Migrations("margindash")


@MIGRATIONS()
def m001_initial(db: Database) -> None:
    """Why: the first schema: integer-encoded dimensions keep 10M events small; rollups keep reports fast."""
    db.executescript(
        """
        CREATE TABLE customers (id INTEGER PRIMARY KEY, customer_id TEXT NOT NULL UNIQUE);
        CREATE TABLE features (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
        CREATE TABLE segments (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
        CREATE TABLE models (
            id INTEGER PRIMARY KEY,
            vendor TEXT NOT NULL,
            model TEXT NOT NULL,
            UNIQUE (vendor, model)
        );
        CREATE TABLE sources (
            id INTEGER PRIMARY KEY,
            path TEXT NOT NULL,          -- absolute path as given, or '-' for stdin
            identity TEXT,               -- hash of the file's first line: survives rename and rotation
            dev INTEGER, ino INTEGER,
            offset INTEGER NOT NULL DEFAULT 0,   -- bytes consumed (whole lines only)
            line INTEGER NOT NULL DEFAULT 0,     -- lines consumed
            size INTEGER, mtime_ns INTEGER,
            updated_at TEXT,
            UNIQUE (path, identity)      -- a path read again after rotation is a new source; the old one stays findable
        );
        CREATE TABLE events (
            key INTEGER PRIMARY KEY,     -- 64-bit hash of the dedupe key (request id, response id, or source+line)
            request_id TEXT,             -- the id the key came from; NULL when derived from source and line
            ts INTEGER NOT NULL,
            customer INTEGER NOT NULL,
            feature INTEGER NOT NULL,
            model INTEGER NOT NULL,
            segment INTEGER NOT NULL,
            input_tokens INTEGER NOT NULL,
            output_tokens INTEGER NOT NULL,
            cached_input_tokens INTEGER NOT NULL,
            cache_write_tokens INTEGER NOT NULL,
            cache_write_1h_tokens INTEGER NOT NULL,
            reasoning_tokens INTEGER NOT NULL,
            service_tier TEXT,
            revenue_minor INTEGER,
            currency TEXT,
            extra_cost INTEGER,          -- picodollars of the event's own cost_usd (non-token charges)
            reported_cost TEXT,          -- the cost a provider/gateway log stated for the call (decimal USD)
            units TEXT,                  -- JSON object of per-unit counts
            tags TEXT,                   -- JSON object
            cost INTEGER,                -- picodollars; NULL = unpriced
            price_id INTEGER,            -- prices.id that priced it
            source INTEGER,
            line INTEGER
        );
        CREATE INDEX events_ts ON events (ts);
        CREATE INDEX events_request_id ON events (request_id) WHERE request_id IS NOT NULL;
        CREATE TABLE rollup_daily (
            day INTEGER NOT NULL,
            customer INTEGER NOT NULL,
            feature INTEGER NOT NULL,
            model INTEGER NOT NULL,
            segment INTEGER NOT NULL,
            events INTEGER NOT NULL,
            input_tokens INTEGER NOT NULL,
            output_tokens INTEGER NOT NULL,
            cached_input_tokens INTEGER NOT NULL,
            cache_write_tokens INTEGER NOT NULL,
            reasoning_tokens INTEGER NOT NULL,
            cost INTEGER NOT NULL,            -- picodollars of the priced events
            unpriced_events INTEGER NOT NULL,
            revenue_usd_cents INTEGER NOT NULL,   -- per-event revenue in USD
            PRIMARY KEY (day, customer, feature, model, segment)
        ) WITHOUT ROWID;
        CREATE TABLE prices (
            id INTEGER PRIMARY KEY,
            provider TEXT NOT NULL,
            model TEXT NOT NULL,
            effective_from INTEGER NOT NULL,   -- epoch ms; 0 = since the beginning
            source TEXT NOT NULL,
            data TEXT NOT NULL,                -- PriceVersion.to_dict() as JSON
            recorded_at TEXT NOT NULL
        );
        CREATE INDEX prices_key ON prices (provider, model, effective_from);
        CREATE TABLE price_aliases (
            name TEXT NOT NULL,
            vendor TEXT NOT NULL DEFAULT '',   -- '' = any vendor
            provider TEXT NOT NULL,
            model TEXT NOT NULL,
            source TEXT NOT NULL,
            PRIMARY KEY (vendor, name)
        );
        CREATE TABLE revenue (
            id INTEGER PRIMARY KEY,
            customer INTEGER NOT NULL,
            day INTEGER NOT NULL,              -- UTC day the revenue counts on
            amount_minor INTEGER NOT NULL,     -- minor units of currency
            currency TEXT NOT NULL,
            usd_cents INTEGER,                 -- the amount in US cents; NULL = not converted (never dropped)
            source TEXT NOT NULL,              -- 'csv:<file name>', 'stripe', ...
            ref TEXT NOT NULL                  -- the row it came from (file line, invoice line id)
        );
        CREATE INDEX revenue_day ON revenue (day, customer);
        CREATE INDEX revenue_source ON revenue (source, ref);
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
        """
    )
