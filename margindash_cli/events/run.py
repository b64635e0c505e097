"""`margindash events`: the stored calls, newest first, in the canonical field names (JSON's one spelling)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

from margindash_cli.store.db import Store


@dataclass
class EventsQuery:
    customer: str | None = None
    event_type: str | None = None
    model: str | None = None
    request_id: str | None = None
    since: str | None = None
    until: str | None = None
    limit: int = 50  # 0 = all
    start_ms: int | None = field(init=False, default=None)  # since/until, resolved (UTC days)
    end_ms: int | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        from margindash_cli.core.periods import resolve_range  # lazy: start-up

        rng = resolve_range(self.since, self.until, None, None)  # a bad date fails here, before the store is opened
        self.start_ms, self.end_ms = rng.start_ms, rng.end_ms


@dataclass
class EventList:
    records: list[dict[str, Any]]  # event_record of each row, newest first
    ids: list[int]  # the store's row id of each record
    text_from: int  # rows with a smaller id were stored before request ids were kept as text (migration m005)

    def to_json(self) -> list[dict[str, Any]]:
        return self.records


def list_events(store: Store, q: EventsQuery) -> EventList:
    rows = store.events.list_events(
        customer=q.customer,
        event_type=q.event_type,
        model=q.model,
        request_id=q.request_id,
        start_ms=q.start_ms,
        end_ms=q.end_ms,
        limit=q.limit or None,
    )
    return EventList([event_record(r) for r in rows], [r["id"] for r in rows], store.events.request_id_text_from())


def event_record(row: dict[str, Any]) -> dict[str, Any]:
    """A stored event in the canonical field names, cost as an exact decimal string (null = unpriced)."""
    import orjson  # lazy: start-up

    from margindash_cli.core.money import usd_text  # lazy: start-up

    ts = row["ts"]
    from datetime import datetime  # lazy: start-up

    when = datetime.fromtimestamp(ts // 1000, tz=UTC).replace(microsecond=(ts % 1000) * 1000)
    return {
        "timestamp": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "request_id": row.get("request_id"),
        "response_id": row.get("response_id"),
        "customer_id": row["customer_id"],
        "event_type": row["event_type"],
        "vendor": row["vendor"],
        "model": row["model_name"],
        "input_tokens": row["input_tokens"],
        "output_tokens": row["output_tokens"],
        "cached_input_tokens": row["cached_input_tokens"],
        "cache_write_tokens": row["cache_write_tokens"],
        "cache_write_1h_tokens": row["cache_write_1h_tokens"],
        "reasoning_tokens": row["reasoning_tokens"],
        "input_audio_tokens": row.get("input_audio_tokens") or 0,
        "output_audio_tokens": row.get("output_audio_tokens") or 0,
        "output_image_tokens": row.get("output_image_tokens") or 0,
        "cached_audio_tokens": row.get("cached_audio_tokens") or 0,
        "service_tier": row["service_tier"] or "default",
        "revenue_amount_in_cents": row["revenue_minor"],
        "currency": row["currency"],
        "segment": row["segment_name"],
        "units": orjson.loads(row["units"]) if row["units"] else None,
        "tags": orjson.loads(row["tags"]) if row["tags"] else None,
        "cost_usd": usd_text(row["cost"]),
        "reported_cost_usd": row["reported_cost"],
        "source": {"file": row["source_path"], "line": row["line"]} if row["source_path"] else None,
    }
