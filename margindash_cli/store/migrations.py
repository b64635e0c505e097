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
            id INTEGER PRIMARY KEY,      -- insertion order: appends stay sequential, which keeps ingest fast
            key INTEGER NOT NULL,        -- 64-bit hash of the dedupe key (request id, response id, or source+line)
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
        CREATE UNIQUE INDEX events_key ON events (key);
        CREATE INDEX events_ts ON events (ts);
        CREATE INDEX events_unpriced ON events (model) WHERE cost IS NULL;  -- small: only calls with no price
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


@MIGRATIONS()
def m002_stripe(db: Database) -> None:
    """Why: revenue from Stripe is rebuilt per invoice from the Stripe objects it came from, so these are kept (ids and amounts only)."""
    db.executescript(
        """
        CREATE TABLE stripe_customers (
            id TEXT PRIMARY KEY,               -- cus_...
            app_customer_id TEXT,              -- value of the customer-id metadata key; NULL = none
            segment TEXT,                      -- values of the segment/plan metadata keys
            plan TEXT,
            deleted INTEGER NOT NULL DEFAULT 0,
            observed_at INTEGER NOT NULL       -- unix seconds of the sync or event that wrote this state
        );
        CREATE TABLE stripe_customer_map (     -- `margindash customers map`: wins over metadata
            stripe_customer TEXT PRIMARY KEY,
            app_customer_id TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE TABLE customer_attributes (     -- what reports group a customer by when its calls carry nothing
            customer INTEGER PRIMARY KEY,      -- customers.id
            segment TEXT,
            plan TEXT,
            source TEXT NOT NULL               -- 'stripe:cus_...'
        );
        CREATE TABLE stripe_invoices (
            id TEXT PRIMARY KEY,
            customer TEXT NOT NULL,            -- cus_...
            status TEXT NOT NULL,              -- draft|open|paid|uncollectible|void|deleted
            currency TEXT NOT NULL,
            created INTEGER NOT NULL,
            finalized_at INTEGER,
            total INTEGER NOT NULL,            -- minor units, tax included
            total_excluding_tax INTEGER,
            settle_rate TEXT,                  -- USD per unit of currency Stripe applied at settlement; NULL = none
            observed_at INTEGER NOT NULL
        );
        CREATE INDEX stripe_invoices_customer ON stripe_invoices (customer);
        CREATE INDEX stripe_invoices_status ON stripe_invoices (status, created);
        CREATE TABLE stripe_invoice_lines (
            id TEXT PRIMARY KEY,               -- il_... (the revenue rows' ref)
            invoice TEXT NOT NULL,
            amount_minor INTEGER NOT NULL,     -- net of discounts and pretax credits, tax excluded
            period_start INTEGER,              -- service period, unix seconds; NULL = none
            period_end INTEGER
        );
        CREATE INDEX stripe_invoice_lines_invoice ON stripe_invoice_lines (invoice);
        CREATE TABLE stripe_credit_notes (
            id TEXT PRIMARY KEY,
            invoice TEXT NOT NULL,
            status TEXT NOT NULL,              -- issued|void
            currency TEXT NOT NULL,
            effective_at INTEGER NOT NULL,
            amount_minor INTEGER NOT NULL,     -- total excluding tax, positive
            refunds TEXT NOT NULL,             -- JSON {refund id: amount refunded} the credit note covers
            observed_at INTEGER NOT NULL
        );
        CREATE INDEX stripe_credit_notes_invoice ON stripe_credit_notes (invoice);
        CREATE TABLE stripe_refunds (
            id TEXT PRIMARY KEY,
            invoice TEXT,                      -- NULL = not (yet) linked to an invoice: counts nothing
            charge TEXT,
            payment_intent TEXT,
            status TEXT NOT NULL,
            currency TEXT NOT NULL,
            created INTEGER NOT NULL,
            amount INTEGER NOT NULL,           -- minor units refunded, tax included
            settle_rate TEXT,
            observed_at INTEGER NOT NULL
        );
        CREATE INDEX stripe_refunds_invoice ON stripe_refunds (invoice);
        CREATE TABLE stripe_payments (         -- payment intent / charge id -> the invoice it paid
            payment TEXT PRIMARY KEY,
            invoice TEXT NOT NULL
        );
        CREATE TABLE stripe_cursors (
            object TEXT PRIMARY KEY,           -- invoices|credit_notes|refunds|customers
            created_gte INTEGER NOT NULL,      -- unix seconds: the next run lists from here minus the look-back
            synced_at TEXT NOT NULL
        );
        CREATE TABLE fx_rates (
            currency TEXT NOT NULL,
            day INTEGER NOT NULL,              -- UTC day number
            usd_per_unit TEXT NOT NULL,        -- exact decimal: USD for one major unit
            source TEXT NOT NULL,
            PRIMARY KEY (currency, day)
        ) WITHOUT ROWID;
        """
    )


@MIGRATIONS()
def m003_budgets(db: Database) -> None:
    """Why: budgets turn the numbers into control; alert claims make each alert go out once, ever."""
    db.executescript(
        """
        CREATE TABLE budgets (
            name TEXT PRIMARY KEY,
            scope TEXT NOT NULL,               -- org | feature | customer
            scope_id TEXT NOT NULL DEFAULT '', -- feature name (event_type) or customer id; '' for org
            limit_usd TEXT NOT NULL,           -- exact decimal USD (text: no float, no 64-bit ceiling)
            period TEXT NOT NULL,              -- day | week | month, calendar-aligned in tz
            tz TEXT NOT NULL,                  -- IANA zone of the period boundaries
            warn_pct TEXT NOT NULL,            -- exact decimal percentages of the limit
            critical_pct TEXT NOT NULL,
            emails TEXT NOT NULL DEFAULT '[]', -- JSON array of alert recipients
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE TABLE budget_alerts (
            budget TEXT NOT NULL,
            level TEXT NOT NULL,               -- warning | critical | exceeded
            period_start INTEGER NOT NULL,     -- epoch ms (UTC) of the period's start
            channel TEXT NOT NULL,             -- email | webhook (never the address or URL: those are secrets)
            state TEXT NOT NULL,               -- pending (claimed, being sent) | sent | failed (retried next run)
            claimed_at INTEGER NOT NULL,       -- epoch ms of the latest claim; an old pending claim is a crashed run's
            sent_at INTEGER,
            attempts INTEGER NOT NULL DEFAULT 1,
            last_error TEXT,                   -- redacted: no password, no webhook URL
            PRIMARY KEY (budget, level, period_start, channel)  -- the alert's unique key
        );
        """
    )


M004_STATEMENTS = (
    # Rare fields move into one JSON column (one header byte for a call that has none of them, not eight), with
    # only the members that are set (a tag whose value is null stays in `tags`: only top-level nulls go).
    """
    CREATE TABLE events_slim (
        id INTEGER PRIMARY KEY,      -- insertion order: appends stay sequential, which keeps ingest fast
        ts INTEGER NOT NULL,
        customer INTEGER NOT NULL,
        feature INTEGER NOT NULL,
        model INTEGER NOT NULL,
        segment INTEGER NOT NULL,
        input_tokens INTEGER NOT NULL,
        output_tokens INTEGER NOT NULL,
        cached_input_tokens INTEGER NOT NULL,
        cache_write_tokens INTEGER NOT NULL,
        reasoning_tokens INTEGER NOT NULL,
        cost INTEGER,                -- picodollars; NULL = unpriced
        price_id INTEGER,            -- prices.id that priced it
        source INTEGER,
        line INTEGER,
        extra TEXT                   -- JSON object of the rare fields (EXTRA_FIELDS in store.py); NULL = none
    )
    """,
    """
    INSERT INTO events_slim
    SELECT id, ts, customer, feature, model, segment, input_tokens, output_tokens, cached_input_tokens,
        cache_write_tokens, reasoning_tokens, cost, price_id, source, line,
        CASE WHEN cache_write_1h_tokens != 0 OR service_tier IS NOT NULL OR revenue_minor IS NOT NULL
            OR currency IS NOT NULL OR extra_cost IS NOT NULL OR reported_cost IS NOT NULL OR units IS NOT NULL
            OR tags IS NOT NULL THEN nullif((
            SELECT json_group_object(key, CASE WHEN type IN ('object', 'array') THEN json(value) ELSE value END)
            FROM json_each(json_object(
                'cache_write_1h_tokens', nullif(cache_write_1h_tokens, 0), 'service_tier', service_tier,
                'revenue_minor', revenue_minor, 'currency', currency, 'extra_cost', extra_cost,
                'reported_cost', reported_cost, 'units', json(units), 'tags', json(tags)))
            WHERE type != 'null'), '{}') END
    FROM events ORDER BY id
    """,
    # The dedupe key lives only here: (key -> event id), one B-tree instead of a column plus a unique index.
    "CREATE TABLE event_keys (key INTEGER PRIMARY KEY, id INTEGER NOT NULL) WITHOUT ROWID",
    "INSERT INTO event_keys SELECT key, id FROM events ORDER BY key",
    "DROP TABLE events",
    "ALTER TABLE events_slim RENAME TO events",
    "CREATE INDEX events_unpriced ON events (model) WHERE cost IS NULL",
    # A zone map instead of an index on ts: the time span of each block of 4,096 event ids. A time range
    # reads the id ranges of the blocks it overlaps (few: logs arrive roughly in time order).
    """
    CREATE TABLE event_blocks (
        block INTEGER PRIMARY KEY,   -- id >> 12
        min_ts INTEGER NOT NULL,
        max_ts INTEGER NOT NULL
    )
    """,
    "INSERT INTO event_blocks SELECT id >> 12, min(ts), max(ts) FROM events GROUP BY 1",
    # Per customer and UTC day: `report --by customer` and customer budgets read ~60x fewer rows than rollup_daily.
    """
    CREATE TABLE rollup_customer_daily (
        customer INTEGER NOT NULL,
        day INTEGER NOT NULL,
        events INTEGER NOT NULL,
        input_tokens INTEGER NOT NULL,
        output_tokens INTEGER NOT NULL,
        cached_input_tokens INTEGER NOT NULL,
        cache_write_tokens INTEGER NOT NULL,
        reasoning_tokens INTEGER NOT NULL,
        cost_micro INTEGER NOT NULL,  -- the priced calls' cost as whole micro-dollars plus picodollars (cost_rest):
        cost_rest INTEGER NOT NULL,   -- a customer's day may pass 2^63 picodollars (~$9.2M) where no rollup_daily cell does;
                                      -- only cost_micro * 10^6 + cost_rest is the cost (the split is not unique)
        unpriced_events INTEGER NOT NULL,
        revenue_usd_cents INTEGER NOT NULL,
        PRIMARY KEY (customer, day)
    ) WITHOUT ROWID
    """,
    """
    INSERT INTO rollup_customer_daily
    SELECT customer, day, sum(events), sum(input_tokens), sum(output_tokens), sum(cached_input_tokens),
        sum(cache_write_tokens), sum(reasoning_tokens), sum(cost / 1000000), sum(cost % 1000000), sum(unpriced_events),
        sum(revenue_usd_cents)
    FROM rollup_daily GROUP BY customer, day
    """,
    # Every stored field under its own name, for readers (the rare ones out of `extra`); one row per event.
    """
    CREATE VIEW events_wide AS SELECT id, ts, customer, feature, model, segment, input_tokens, output_tokens,
        cached_input_tokens, cache_write_tokens, coalesce(json_extract(extra, '$.cache_write_1h_tokens'), 0) AS cache_write_1h_tokens,
        reasoning_tokens, json_extract(extra, '$.service_tier') AS service_tier,
        json_extract(extra, '$.revenue_minor') AS revenue_minor, json_extract(extra, '$.currency') AS currency,
        json_extract(extra, '$.extra_cost') AS extra_cost, json_extract(extra, '$.reported_cost') AS reported_cost,
        json_extract(extra, '$.units') AS units, json_extract(extra, '$.tags') AS tags, cost, price_id, source, line
    FROM events
    """,
)


@MIGRATIONS()
def m004_compact_events(db: Database) -> None:
    """Why: 142 bytes per event was over the 80-byte budget (#8). The request id text (the key is its hash: a call
    is still found by its id), the ts index (a zone map serves time ranges) and eight mostly-empty columns go;
    a per-customer daily rollup makes the most common report read thousands of rows, not millions."""
    for sql in M004_STATEMENTS:
        db.execute(sql)


# The events_wide view of m004 with the two id columns of m005 added at its end.
M005_EVENTS_WIDE = M004_STATEMENTS[-1].replace(
    "cost, price_id, source, line\n    FROM events",
    "cost, price_id, source, line, request_id, response_id\n    FROM events",
)


@MIGRATIONS()
def m005_request_ids(db: Database) -> None:
    """Why: a row must lead back to the request that made it (#16): "confirm the events for request_id X arrived"
    is the first debugging step. The request id text is stored again, and the provider's response id when it
    differs (NULL otherwise: no byte spent twice). Calls stored before this migration keep NULL: m004 kept only
    the ids' 64-bit hash, which still finds them (`events --request-id`), but their text is gone for good.
    Adding NULL columns rewrites nothing: old rows cost no byte."""
    columns = {c.name for c in db["events"].columns}
    for name in ("request_id", "response_id"):
        if name not in columns:
            db.execute(f"ALTER TABLE events ADD COLUMN {name} TEXT")
    db.execute("DROP VIEW IF EXISTS events_wide")
    db.execute(M005_EVENTS_WIDE)
    # calls with a smaller id were stored before the ids were kept as text (`events` says so)
    db.execute(
        "INSERT OR REPLACE INTO meta (key, value) SELECT 'request_id_text_from_event', coalesce(max(id), 0) + 1 FROM events"
    )


M006_COLUMNS = ("input_audio_tokens", "output_audio_tokens", "output_image_tokens", "cached_audio_tokens")


@MIGRATIONS()
def m006_media_tokens(db: Database) -> None:
    """Why: audio and image tokens are billed at their own rates (#14). They are rare, so they live in `extra` like
    the other rare fields (no table rebuild; a stored call has none of them, so it reads as zero), and `events_wide`
    shows them under their own names. The view is extended from its stored definition, so columns another migration
    added to it stay; a view that already has them is left alone."""
    import re  # lazy: start-up

    row = db.execute("SELECT sql FROM sqlite_master WHERE type = 'view' AND name = 'events_wide'").fetchone()
    if row is None:
        raise RuntimeError("m006: the events_wide view (m004) is missing")
    sql = row[0]
    missing = [c for c in M006_COLUMNS if not re.search(rf"\bAS {c}\b", sql)]
    if not missing:
        return
    ends = list(re.finditer(r"\s+FROM\s+events\s*$", sql))
    if not ends:
        raise RuntimeError("m006: the events_wide view does not end in FROM events")
    cut = ends[-1].start()
    columns = ", ".join(f"coalesce(json_extract(extra, '$.{c}'), 0) AS {c}" for c in missing)
    db.execute("DROP VIEW events_wide")
    db.execute(f"{sql[:cut]},\n        {columns}{sql[cut:]}")


@MIGRATIONS()
def m007_stripe_reversals(db: Database) -> None:
    """Why (#15): a refund of a payment that paid several invoices is split over them by amount paid, a refund or
    dispute is booked only on an invoice whose payment it verifiably reverses, and disputes count (lost ones are
    subtracted, open ones shown at risk). Refund links stored before this are kept as shares until `--full`."""
    db.executescript(
        """
        CREATE TABLE IF NOT EXISTS stripe_reversal_shares (   -- the part of a refund or dispute on each invoice it reverses
            reversal TEXT NOT NULL,            -- re_... or dp_...
            invoice TEXT NOT NULL,
            amount INTEGER NOT NULL,           -- minor units of the reversal's currency, tax included
            PRIMARY KEY (reversal, invoice)
        ) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS stripe_reversal_shares_invoice ON stripe_reversal_shares (invoice);
        INSERT OR IGNORE INTO stripe_reversal_shares (reversal, invoice, amount)
            SELECT id, invoice, amount FROM stripe_refunds WHERE invoice IS NOT NULL;
        CREATE TABLE IF NOT EXISTS stripe_disputes (
            id TEXT PRIMARY KEY,               -- dp_...
            charge TEXT,
            payment_intent TEXT,
            status TEXT NOT NULL,              -- warning_needs_response|warning_under_review|warning_closed|needs_response|under_review|won|lost|prevented
            currency TEXT NOT NULL,
            created INTEGER NOT NULL,
            amount INTEGER NOT NULL,           -- minor units disputed, tax included
            closed_at INTEGER,                 -- unix seconds it was first seen lost (counts on that UTC day); NULL = not lost
            settle_rate TEXT,
            observed_at INTEGER NOT NULL
        );
        """
    )


@MIGRATIONS()
def m008_billed_costs(db: Database) -> None:
    """Why: `reconcile` compares our computed costs with the providers' bills (#18): the billed side is kept per
    source, provider, UTC day and line, so a re-sync replaces a revised day and a re-import changes nothing."""
    db.executescript(
        """
        CREATE TABLE IF NOT EXISTS billed_costs (
            source TEXT NOT NULL,              -- 'openai', 'anthropic' (admin APIs), 'cur', 'focus' (file imports)
            ref TEXT NOT NULL,                 -- unique within the source: API: day|n; CUR: line item id|interval
            provider TEXT NOT NULL,            -- openai | anthropic | aws | gcp | azure | ... (who bills)
            day INTEGER NOT NULL,              -- UTC day number
            model TEXT,                        -- as billed (a dated snapshot); NULL = no model (web search, credit)
            token_class TEXT,                  -- input | cache_read | cache_write_5m | cache_write_1h | output; NULL = none
            kind TEXT NOT NULL,                -- tokens | web_search | code_execution | credit | tax | other
            line_item TEXT NOT NULL,           -- the provider's own label of the line
            project TEXT,                      -- OpenAI project, Anthropic workspace, cloud account; NULL = default
            service_tier TEXT,                 -- standard | batch | priority | ...; NULL = not stated
            amount INTEGER NOT NULL,           -- picodollars (USD only: other currencies are refused)
            quantity TEXT,                     -- exact decimal of `quantity_unit`s; NULL = not stated
            quantity_unit TEXT,
            PRIMARY KEY (source, ref)
        );
        CREATE INDEX IF NOT EXISTS billed_costs_day ON billed_costs (day, provider);
        CREATE TABLE IF NOT EXISTS billed_usage (
            source TEXT NOT NULL,
            ref TEXT NOT NULL,
            provider TEXT NOT NULL,
            day INTEGER NOT NULL,
            model TEXT NOT NULL,
            project TEXT,
            service_tier TEXT,
            batch INTEGER,                     -- 1 batch, 0 not, NULL not stated
            input_tokens INTEGER NOT NULL,     -- uncached, not cache writes
            cache_read_tokens INTEGER NOT NULL,
            cache_write_5m_tokens INTEGER NOT NULL,
            cache_write_1h_tokens INTEGER NOT NULL,
            output_tokens INTEGER NOT NULL,
            requests INTEGER,
            PRIMARY KEY (source, ref)
        );
        CREATE INDEX IF NOT EXISTS billed_usage_day ON billed_usage (day, provider);
        CREATE TABLE IF NOT EXISTS billed_days (  -- the days a bill is known for, even when nothing was billed
            source TEXT NOT NULL,
            provider TEXT NOT NULL,
            day INTEGER NOT NULL,
            synced_at TEXT NOT NULL,
            PRIMARY KEY (source, provider, day)
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS cost_syncs (   -- sync state of sync-costs and costs import, per source
            source TEXT PRIMARY KEY,
            first_day INTEGER NOT NULL,        -- earliest UTC day ever synced (where --full starts)
            last_end_day INTEGER NOT NULL,     -- the day after the last one synced (the next run re-reads from a week before)
            synced_at TEXT NOT NULL
        );
        """
    )


@MIGRATIONS()
def m009_checkpoint_tail(db: Database) -> None:
    """Why (#22): a checkpoint found under another path, or a new file at the same path with the same first line
    (a shared header, a blank line), was resumed on the identity alone and the calls before its offset were lost.
    `tail_hash` is a hash of the bytes just before the checkpoint's offset: a file is resumed only where they match."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(sources)").fetchall()}
    if "tail_hash" not in columns:
        db.execute("ALTER TABLE sources ADD COLUMN tail_hash TEXT")


# #20: the month (its first UTC day, as days since 1970-01-01) of a rollup_customer_daily day number.
_MONTH_OF = "CAST(julianday(date({d} * 86400, 'unixepoch', 'start of month')) - 2440587.5 AS INTEGER)"
# a sum past 64 bits would turn into an inexact float inside a trigger: abs() of the smallest integer raises
# "integer overflow" instead (the ingest then stores the batch row by row and quarantines the row that overflows)
_GUARDED = "CASE WHEN typeof({a} + {b}) = 'integer' THEN {a} + {b} ELSE abs(-9223372036854775807 - 1) END"
_MONTHLY_MEASURES = (
    "events",
    "input_tokens",
    "output_tokens",
    "cost_micro",
    "cost_rest",
    "unpriced_events",
    "revenue_usd_cents",
)


def _monthly_trigger_sql() -> list[str]:
    cols = ", ".join(_MONTHLY_MEASURES)

    def upsert(row: str, sign: str, cells: str) -> str:
        values = ", ".join(f"{sign}{row}.{m}" for m in _MONTHLY_MEASURES)
        adds = ", ".join(f"{m} = " + _GUARDED.format(a=m, b=f"excluded.{m}") for m in _MONTHLY_MEASURES)
        return (
            f"INSERT INTO rollup_customer_monthly (customer, month, cells, {cols}) VALUES ({row}.customer,"
            f" {_MONTH_OF.format(d=row + '.day')}, {cells}, {values}) ON CONFLICT (customer, month) DO UPDATE SET"
            f" cells = cells + excluded.cells, {adds};"
        )

    def drop_empty(row: str) -> str:
        return (
            f"DELETE FROM rollup_customer_monthly WHERE customer = {row}.customer AND month = "
            f"{_MONTH_OF.format(d=row + '.day')} AND cells = 0;"
        )

    return [
        f"CREATE TRIGGER IF NOT EXISTS rollup_customer_monthly_ins AFTER INSERT ON rollup_customer_daily BEGIN"
        f" {upsert('new', '', '1')} END",
        f"CREATE TRIGGER IF NOT EXISTS rollup_customer_monthly_del AFTER DELETE ON rollup_customer_daily BEGIN"
        f" {upsert('old', '-', '-1')} {drop_empty('old')} END",
        f"CREATE TRIGGER IF NOT EXISTS rollup_customer_monthly_upd AFTER UPDATE ON rollup_customer_daily BEGIN"
        f" {upsert('old', '-', '-1')} {upsert('new', '', '1')} {drop_empty('old')} END",
    ]


@MIGRATIONS()
def m010_customer_monthly(db: Database) -> None:
    """Why (#20): `report --by customer` over a 10M-call store read ~450k (customer, day) rows to sum 5,000 customers.
    `rollup_customer_monthly` holds the same sums per (customer, UTC month); the whole months of a range come from it
    and the days at its edges from rollup_customer_daily. Triggers on rollup_customer_daily keep it equal to the sum of
    that table's rows in the same transaction, whatever writes them; `cells` counts those rows, so a month exists here
    exactly when one of its days exists there."""
    db.execute(
        """
        CREATE TABLE IF NOT EXISTS rollup_customer_monthly (
            customer INTEGER NOT NULL,
            month INTEGER NOT NULL,  -- the month's first UTC day, in days since 1970-01-01
            cells INTEGER NOT NULL,  -- rows of rollup_customer_daily summed here
            events INTEGER NOT NULL,
            input_tokens INTEGER NOT NULL,
            output_tokens INTEGER NOT NULL,
            cost_micro INTEGER NOT NULL,
            cost_rest INTEGER NOT NULL,
            unpriced_events INTEGER NOT NULL,
            revenue_usd_cents INTEGER NOT NULL,
            PRIMARY KEY (customer, month)
        ) WITHOUT ROWID
        """
    )
    db.execute("DELETE FROM rollup_customer_monthly")
    db.execute(
        f"INSERT INTO rollup_customer_monthly SELECT customer, {_MONTH_OF.format(d='day')}, count(*), "
        + ", ".join(f"sum({m})" for m in _MONTHLY_MEASURES)
        + " FROM rollup_customer_daily GROUP BY 1, 2"
    )
    for sql in _monthly_trigger_sql():
        db.execute(sql)
