"""Helpers every repository shares: the `Repository` base (the store's connection and write transaction) and
small SQL builders (time ranges, month boundaries, CASE folds)."""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from margindash_cli.store.schema import DAY_MS, EPOCH_DATE

if TYPE_CHECKING:
    from margindash_cli.store.db import Store


class Repository:
    """One table family of a `Store`: reads and writes through the store's connection and `write()` transaction."""

    def __init__(self, store: Store) -> None:
        self.store = store

    @property
    def conn(self) -> sqlite3.Connection:
        return self.store.conn

    def write(self) -> AbstractContextManager[sqlite3.Connection]:
        """The store's write transaction (`Store.write`)."""
        return self.store.write()


def _month_start(day: int, *, up: bool) -> int:
    """The first day (days since 1970-01-01) of the UTC month holding `day`, or with up=True of the first month
    starting on or after it."""
    d = EPOCH_DATE + timedelta(days=day)
    first = d.replace(day=1)
    if up and first != d:
        first = (first + timedelta(days=32)).replace(day=1)
    return (first - EPOCH_DATE).days


def _usage_rank(row: tuple[Any, ...]) -> tuple[int, ...]:
    """How large a staging row's usage is (output first: a streamed message's output grows, its input does not)."""
    return (row[7], row[6], row[10], row[8], row[9])


def _revenue_where(
    alias: str, start_ms: int | None, end_ms: int | None, customer: str | None
) -> tuple[list[str], list[Any]]:
    """WHERE terms of a revenue read: the UTC days of [start_ms, end_ms) on `alias`.day, and one customer id (as `c`)."""
    where: list[str] = []
    args: list[Any] = []
    if start_ms is not None:
        where.append(f"{alias}.day >= ?")
        args.append(start_ms // DAY_MS)
    if end_ms is not None:
        where.append(f"{alias}.day < ?")
        args.append(-(-end_ms // DAY_MS))
    if customer is not None:
        where.append("c.customer_id = ?")
        args.append(customer)
    return where, args


def _time_range(where: list[str], args: list[Any], column: str, start: int | None, end: int | None) -> None:
    """Add `column >= start` and `column < end` (each when given) to a WHERE clause being built."""
    if start is not None:
        where.append(f"{column} >= ?")
        args.append(start)
    if end is not None:
        where.append(f"{column} < ?")
        args.append(end)


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _window_plan(start_ms: int, end_ms: int) -> tuple[range, list[tuple[int, int, int]]]:
    """How to sum [start_ms, end_ms) from the daily rollups and as few events as possible: the UTC days (day
    numbers) to take from `rollup_daily`, and event ranges (start, end, sign) to add (+1) or take away (-1).

    A partial UTC day at an edge is read from the events when it is at most half a day; when it is more,
    its whole day comes from the rollups and the events of the other part are taken away. So no edge reads
    more than 12 hours of events (New York's day, 04:00 to 04:00 UTC, is one rollup day minus 4 hours plus 4 hours).
    """
    if start_ms >= end_ms:
        return range(0), []
    lo, hi = start_ms // DAY_MS, -(-end_ms // DAY_MS)  # the UTC days the window touches: [lo, hi)
    if hi - lo == 1 and start_ms % DAY_MS and end_ms % DAY_MS:
        return range(0), [(start_ms, end_ms, 1)]  # inside one UTC day: just its events
    edges = []
    first, last = lo, hi
    if start_ms % DAY_MS:
        head = (lo + 1) * DAY_MS - start_ms
        if head * 2 <= DAY_MS:
            edges.append((start_ms, (lo + 1) * DAY_MS, 1))
            first = lo + 1
        else:
            edges.append((lo * DAY_MS, start_ms, -1))
    if end_ms % DAY_MS:
        tail = end_ms - (hi - 1) * DAY_MS
        if tail * 2 <= DAY_MS:
            edges.append(((hi - 1) * DAY_MS, end_ms, 1))
            last = hi - 1
        else:
            edges.append((end_ms, hi * DAY_MS, -1))
    return range(first, last), edges


def _merge_ranges(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[list[int]] = []
    for a, z in sorted(ranges):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], z)
        else:
            merged.append([a, z])
    return [(a, z) for a, z in merged]


def _case_in(column: str, ids: dict[int, str]) -> tuple[str, list[int]]:
    """A SQL expression that keeps the ids asked for and folds every other into -1 (one group)."""
    if not ids:
        return "-1", []
    return f"CASE WHEN {column} IN ({','.join('?' * len(ids))}) THEN {column} ELSE -1 END", list(ids)
