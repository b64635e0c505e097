"""The rows the store's reads return: named, so a reordered column cannot silently shift a figure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple


@dataclass
class SourceCheckpoint:
    """How far a file has been read: identity (hash of its first line), byte offset and line count."""

    id: int
    path: str
    identity: str | None
    dev: int | None
    ino: int | None
    offset: int
    line: int
    size: int | None
    mtime_ns: int | None
    tail_hash: str | None = None  # hash of the bytes before `offset` (m009); None on checkpoints saved before it


class BudgetSpend:
    """Spend of one window, each as [cost picodollars, unpriced calls, calls]: in all, per feature (None = no
    feature) and per customer asked for."""

    __slots__ = ("total", "features", "customers")

    def __init__(self) -> None:
        self.total = [0, 0, 0]
        self.features: dict[str | None, list[int]] = {}
        self.customers: dict[str, list[int]] = {}

    def add(self, customer: str | None, feature: str | None, cost: int, unpriced: int, n: int) -> None:
        """Count calls in the total and their feature, and in their customer when it is one asked for."""
        for acc in (self.total, self.features.setdefault(feature, [0, 0, 0])):
            acc[0] += cost
            acc[1] += unpriced
            acc[2] += n
        if customer is not None:
            self.customers_add(customer, cost, unpriced, n)

    def customers_add(self, customer: str, cost: int, unpriced: int, n: int) -> None:
        acc = self.customers.setdefault(customer, [0, 0, 0])
        acc[0] += cost
        acc[1] += unpriced
        acc[2] += n


class BilledCostRow(NamedTuple):
    """One line of a provider's bill: money of one provider, UTC day and line (see `billed_costs` in migrations)."""

    provider: str
    day: int  # UTC day number
    model: str | None  # as billed; None = no model (web search, a credit)
    token_class: str | None  # input | cache_read | cache_write_5m | cache_write_1h | output; None = not a token charge
    kind: str  # tokens | web_search | code_execution | credit | tax | other
    line_item: str
    project: str | None
    service_tier: str | None
    amount_pico: int
    quantity: str | None  # exact decimal text
    quantity_unit: str | None
    ref: str  # unique within its source (read back as "source:ref")


class BilledUsageRow(NamedTuple):
    """Tokens a provider billed for one model on one UTC day (its usage API)."""

    provider: str
    day: int
    model: str
    project: str | None
    service_tier: str | None
    batch: int | None
    input_tokens: int  # uncached prompt tokens, cache writes excluded
    cache_read_tokens: int
    cache_write_5m_tokens: int
    cache_write_1h_tokens: int
    output_tokens: int
    requests: int | None
    ref: str


class LoggedCellRow(NamedTuple):
    """Our logged calls of one (UTC day, vendor, model): canonical token fields (input includes cache)."""

    day: int
    vendor: str
    model: str
    calls: int
    unpriced_calls: int
    cost_pico: int  # of the priced calls
    input_tokens: int
    cached_input_tokens: int
    cache_write_tokens: int
    output_tokens: int
    unpriced_input_tokens: int
    unpriced_cached_input_tokens: int
    unpriced_cache_write_tokens: int
    unpriced_output_tokens: int


class CostSyncRow(NamedTuple):
    source: str
    first_day: int
    last_end_day: int
    synced_at: str
