"""Recompute stored costs after a price was added or corrected, keeping the rollups equal to the events.

Each chunk of events is re-priced and written in one transaction, with its rollup contribution
removed at the old cost and added at the new one, so a crash leaves every event either at its old
or its new cost and the rollups always equal the events. Re-running converges: events whose cost
does not change are not written.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, NamedTuple

from margindash_cli.core.money import MAX_CALL_PICO
from margindash_cli.errors import MarginDashError
from margindash_cli.store.db import Store
from margindash_cli.store.schema import WIDE_COLUMNS

CHUNK = 20_000  # events re-priced per transaction
CHUNK_ENV = "MARGINDASH_BATCH_LINES"  # overrides CHUNK, as it overrides ingest's batch: tests force many transactions
_COST = WIDE_COLUMNS.index("cost")
_PRICE_ID = WIDE_COLUMNS.index("price_id")
_MODEL = WIDE_COLUMNS.index("model")


class StoredEvent(NamedTuple):
    """The fields of a stored event that pricing reads (the same names as NormalizedEvent; core/call.py documents them)."""

    vendor: str
    model: str
    ts_ms: int
    input_tokens: int
    output_tokens: int
    cached_input_tokens: int
    cache_write_tokens: int
    cache_write_1h_tokens: int
    reasoning_tokens: int
    service_tier: str | None
    units: Any
    extra_cost: int | None
    reported_cost: str | None
    input_audio_tokens: int = 0
    output_audio_tokens: int = 0
    output_image_tokens: int = 0
    cached_audio_tokens: int = 0


@dataclass
class RepriceResult:
    events_seen: int = 0
    events_changed: int = 0
    newly_priced: int = 0
    newly_unpriced: int = 0
    old_total_pico: int = 0  # of the changed events (unpriced counts as 0)
    new_total_pico: int = 0
    dry_run: bool = False


def stored_event(row: tuple[Any, ...], vendor: str, model: str) -> StoredEvent:
    r = dict(zip(WIDE_COLUMNS, row))
    return StoredEvent(
        vendor,
        model,
        r["ts"],
        r["input_tokens"],
        r["output_tokens"],
        r["cached_input_tokens"],
        r["cache_write_tokens"],
        r["cache_write_1h_tokens"],
        r["reasoning_tokens"],
        r["service_tier"],
        r["units"],
        r["extra_cost"],
        r["reported_cost"],
        r.get("input_audio_tokens") or 0,
        r.get("output_audio_tokens") or 0,
        r.get("output_image_tokens") or 0,
        r.get("cached_audio_tokens") or 0,
    )


def reprice(
    store: Store,
    pricer: Any,
    *,
    start_ms: int | None = None,
    end_ms: int | None = None,
    only_unpriced: bool = False,
    price_ids: set[int] | None = None,
    dry_run: bool = False,
) -> RepriceResult:
    """Re-price stored events in [start_ms, end_ms) with `pricer`; write the changes unless `dry_run`.
    `price_ids`: only the events priced by one of these price versions (`prices rm`)."""
    result = RepriceResult(dry_run=dry_run)
    models = store.events.model_names()
    after_id: int | None = None
    chunk = _chunk()
    while True:
        rows = store.events.event_rows(
            start_ms=start_ms, end_ms=end_ms, only_unpriced=only_unpriced, after_id=after_id, limit=chunk
        )
        if not rows:
            break
        after_id = rows[-1][0]
        old_rows, new_rows = [], []
        for row in rows:
            if price_ids is not None and row[_PRICE_ID] not in price_ids:
                continue
            result.events_seen += 1
            if row[_MODEL] not in models:  # a model an ingest added after this run read the names
                models = store.events.model_names()
            vendor, model = models[row[_MODEL]]
            cost, price_id = pricer.price(stored_event(row, vendor, model))
            if cost is not None and not -MAX_CALL_PICO <= cost <= MAX_CALL_PICO:  # would not fit the store's integers
                raise MarginDashError(
                    f"a call of {vendor}/{model} would cost ${cost // 10**12:,}, more than $9,000,000 for one call;"
                    f" nothing more was re-priced",
                    "check the price set for that model (margindash prices show)",
                )
            if cost == row[_COST] and price_id == row[_PRICE_ID]:
                continue
            result.events_changed += 1
            result.old_total_pico += row[_COST] or 0
            result.new_total_pico += cost or 0
            result.newly_priced += row[_COST] is None and cost is not None
            result.newly_unpriced += row[_COST] is not None and cost is None
            new = list(row)
            new[_COST], new[_PRICE_ID] = cost, price_id
            old_rows.append(row)
            new_rows.append(tuple(new))
        if new_rows and not dry_run:
            store.events.replace_event_costs(old_rows, new_rows)
    return result


def _chunk() -> int:
    try:
        return max(1, int(os.environ.get(CHUNK_ENV, "")))
    except ValueError:
        return CHUNK
