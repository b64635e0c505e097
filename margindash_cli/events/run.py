"""`margindash events`: the stored calls, newest first, in the canonical field names (JSON's one spelling)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from margindash_cli.core import suggest
from margindash_cli.errors import UsageError
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
    period: str | None = None  # --period, as report's (today|yesterday|Nd|mtd|last-month|YYYY-MM)
    tz: str = "UTC"  # the zone of --since/--until/--period days, and of the table's times (JSON stays UTC)
    now: datetime | None = None  # "now" of --period; None = the clock
    start_ms: int | None = field(init=False, default=None)  # since/until/period, resolved (days in tz)
    end_ms: int | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        from margindash_cli.core.periods import resolve_range  # lazy: start-up

        # a bad date or zone fails here, before the store is opened
        rng = resolve_range(self.since, self.until, self.period, self.tz, self.now)
        self.start_ms, self.end_ms = rng.start_ms, rng.end_ms


TABLE_MAX_ROWS = 10_000  # the most calls `events` lays out as a table; --json and --nl stream any number


@dataclass
class EventList:
    """The calls of a table: at most TABLE_MAX_ROWS, held in memory to be laid out."""

    records: list[dict[str, Any]]  # event_record of each row, newest first
    ids: list[int]  # the store's row id of each record
    text_from: int  # rows with a smaller id were stored before request ids were kept as text (migration m005)
    tz: str = "UTC"  # the zone of `times`
    times: list[str] = field(default_factory=list)  # each record's time in tz, "YYYY-MM-DD HH:MM:SS" (the table's)

    def to_json(self) -> list[dict[str, Any]]:
        return self.records


@dataclass
class EventStream:
    """The calls of `--json`/`--nl`, newest first, read from the store as they are written out: memory stays flat
    in their number (500,000 calls are one row at a time, never a list)."""

    records: Iterator[dict[str, Any]]  # event_record of each row, read lazily

    def to_json(self) -> Iterator[dict[str, Any]]:
        return self.records


def check_filters(store: Store, q: EventsQuery) -> None:
    """A --customer/--feature/--model naming no stored id is a usage error with the closest ids (core/suggest.py),
    not "No events match." (#17). Read before any output, so a streamed --json never starts on a typo."""
    asked = {"customer": q.customer, "feature": q.event_type, "model": q.model}
    if any(v is not None for v in asked.values()):
        suggest.check_filter_ids(asked, suggest.stored_ids(store.events.dimension_names()))


def stream_events(store: Store, q: EventsQuery) -> EventStream:
    """Every matching call (`--limit 0` = all), to be written out as it is read."""
    check_filters(store, q)
    return EventStream(event_record(r) for r in _rows(store, q, q.limit or None))


def table_events(store: Store, q: EventsQuery) -> EventList:
    """The matching calls for a table; more than TABLE_MAX_ROWS is refused (a table of 500,000 rows took over ten
    minutes and 3 GB to lay out) with a pointer to the streamed outputs. One row past the cap is read to know."""
    check_filters(store, q)
    want = min(q.limit, TABLE_MAX_ROWS + 1) if q.limit else TABLE_MAX_ROWS + 1
    rows = list(_rows(store, q, want))
    if len(rows) > TABLE_MAX_ROWS:
        asked = "--limit 0 = all" if not q.limit else f"--limit {q.limit:,}"
        raise UsageError(
            f"more than {TABLE_MAX_ROWS:,} events match ({asked}): too many for a table",
            f"--json or --nl print every one (streamed), or use --limit {TABLE_MAX_ROWS:,} or less,"
            " or narrow with --since/--until/--customer/--feature/--model",
        )
    return EventList(
        [event_record(r) for r in rows],
        [r["id"] for r in rows],
        store.events.request_id_text_from(),
        q.tz,
        [local_time(r["ts"], q.tz) for r in rows],
    )


def local_time(ts_ms: int, tz_name: str) -> str:
    """A stored call's time in a zone, to the second, as the table shows it (JSON keeps the UTC `timestamp`)."""
    from margindash_cli.core.periods import zone  # lazy: start-up

    return datetime.fromtimestamp(ts_ms // 1000, zone(tz_name)).strftime("%Y-%m-%d %H:%M:%S")


def _rows(store: Store, q: EventsQuery, limit: int | None) -> Iterator[dict[str, Any]]:
    return store.events.list_events(
        customer=q.customer,
        event_type=q.event_type,
        model=q.model,
        request_id=q.request_id,
        start_ms=q.start_ms,
        end_ms=q.end_ms,
        limit=limit,
    )


def event_record(row: dict[str, Any]) -> dict[str, Any]:
    """A stored event in the canonical field names, cost as an exact decimal string (null = unpriced)."""
    import orjson  # lazy: start-up

    from margindash_cli.core.money import usd_text  # lazy: start-up

    ts = row["ts"]
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
