"""The exact cost of a whole mix of calls on one price version: what `simulate` re-prices, fast.

A mix is the calls of one feature, model and service tier, given as distinct per-call token vectors
with how many calls had each (the store groups them with SQL). Pricing it on a version gives exactly
the sum of `cost_of` over every call, in integer picodollars, without calling `cost_of` per call:

- A call's cost is linear in its token classes once its long-context tier is chosen (the tier is a
  cliff decided by the call's own prompt size, so it is decided per distinct vector, never from sums).
  With integer picodollar rates (`scale == 1`: every rate with at most 6 decimals in USD/MTok), the
  cost of all calls in one tier is sum(class tokens) x rate, exactly what `cost_of` adds call by call.
- Vectors are kept sorted by prompt size and by total size, so the calls above a version's first
  long-context threshold or above its context window are found by bisection; usually there are none
  and a version is priced in a few multiplications whatever the number of calls.
- Where per-call rounding could matter (a rate finer than a picodollar, `scale > 1`), where a class
  has tokens but the version has no rate for it, or where a call carries units, each distinct vector
  is priced with `cost_of` and multiplied by its count: the same rules, the same result.

`output_ratio` scales each call's output and reasoning tokens (rounded half-even, per call) to try a
model that writes more (or less) than the one that served the calls.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any, NamedTuple

import orjson

from margindash_cli.pricing.cost import STANDARD_TIERS, _rates, cost_of
from margindash_cli.pricing.model import PriceVersion

N_CLASSES = 6  # uncached input, cache read, 5-minute write, 1-hour write, plain output, reasoning


class VectorRow(NamedTuple):
    """One distinct per-call token vector (canonical fields, see core/call.py's `Call`) and its call count."""

    input_tokens: int
    output_tokens: int
    cached_input_tokens: int
    cache_write_tokens: int
    cache_write_1h_tokens: int
    reasoning_tokens: int
    units: str | None  # JSON object of per-unit counts, as stored
    calls: int


class MixCost(NamedTuple):
    cost: int  # picodollars of the calls priced (those that fit the context window)
    calls: int  # calls priced
    unpriced_calls: int  # calls that fit but that the version cannot bill (a rate it lacks); not in `cost`
    too_long: tuple[int, ...]  # indices of the rows above the version's context window (not priced)
    too_long_calls: int


class Mix:
    """The calls of one service tier as distinct vectors, ready to be priced on any version."""

    def __init__(self, rows: Sequence[VectorRow], service_tier: str | None, output_ratio: Decimal | int = 1):
        ratio = None if output_ratio == 1 else Fraction(output_ratio)
        self.rows = list(rows)
        self.service_tier = service_tier
        self.service = "default" if service_tier in STANDARD_TIERS else service_tier
        self.calls = sum(r.calls for r in self.rows)
        self._outputs: list[tuple[int, int]] = []  # (output, reasoning) of each row, scaled by the ratio
        self._units: dict[int, dict[str, Any]] = {}  # rows that carry units -> their parsed units
        prompts, sizes, weighted = [], [], []
        for i, (inp, out, cached, write, write_1h, reasoning, units, c) in enumerate(self.rows):
            if ratio is not None:
                out, reasoning = round(out * ratio), round(reasoning * ratio)  # round() of a Fraction is half-even
            self._outputs.append((out, reasoning))
            if units:
                parsed = orjson.loads(units)
                if parsed:
                    self._units[i] = parsed
            # The same normalization as cost_of: a part above its whole makes the whole the sum of parts.
            if write_1h > write:
                write_1h = write
            prompt = inp if inp >= cached + write else cached + write
            plain_out = (out if out >= reasoning else reasoning) - reasoning
            prompts.append(prompt)
            sizes.append(prompt + plain_out + reasoning)
            weighted.append(
                (
                    (prompt - cached - write) * c,
                    cached * c,
                    (write - write_1h) * c,
                    write_1h * c,
                    plain_out * c,
                    reasoning * c,
                    c,
                )
            )
        self._prompt, self._size, self._weighted = prompts, sizes, weighted
        plain = [w for i, w in enumerate(weighted) if i not in self._units] if self._units else weighted
        self._totals = tuple(sum(col) for col in zip(*plain)) if plain else (0,) * (N_CLASSES + 1)
        self._unit_rows = sorted(self._units)
        self._unit_set = set(self._unit_rows)
        order = range(len(self.rows)) if not self._units else [i for i in range(len(self.rows)) if i not in self._units]
        self._by_prompt = sorted(order, key=prompts.__getitem__)
        self._prompts_sorted = [prompts[i] for i in self._by_prompt]
        self._by_size = sorted(range(len(self.rows)), key=sizes.__getitem__)
        self._sizes_sorted = [sizes[i] for i in self._by_size]

    def _kwargs(self, i: int) -> dict[str, Any]:
        """The cost_of arguments of row i (output scaled by the ratio)."""
        r = self.rows[i]
        out, reasoning = self._outputs[i]
        kwargs: dict[str, Any] = {
            "input_tokens": r.input_tokens,
            "output_tokens": out,
            "cached_input_tokens": r.cached_input_tokens,
            "cache_write_tokens": r.cache_write_tokens,
            "cache_write_1h_tokens": r.cache_write_1h_tokens,
            "reasoning_tokens": reasoning,
            "service_tier": self.service_tier,
        }
        if i in self._units:
            kwargs["units"] = self._units[i]
        return kwargs

    def too_long(self, context_window: int | None) -> list[int]:
        """Rows whose prompt plus output exceed `context_window` (none when it is unknown)."""
        if context_window is None:
            return []
        k = bisect_right(self._sizes_sorted, context_window)
        return self._by_size[k:]

    def cost(self, price: PriceVersion, *, check_window: bool = True) -> MixCost:
        """What these calls cost on `price`; calls above its context window are left out and listed."""
        too_long = self.too_long(price.context_window) if check_window else []
        skip = set(too_long)
        too_long_calls = sum(self.rows[i].calls for i in too_long)
        buckets = self._buckets(price, skip)
        cost, unpriced, slow = 0, 0, False
        for tier_index, sums in buckets.items():
            r = _rates(price, tier_index, self.service)
            rates = r[1:7]
            if r.scale != 1 or any(s and rate is None for s, rate in zip(sums, rates)):
                slow = True
                break
            cost += sum(s * rate for s, rate in zip(sums, rates) if s)
        calls = sum(sums[N_CLASSES] for sums in buckets.values())
        if slow:  # price every distinct vector with cost_of: per-call rounding, or calls it cannot bill
            cost, calls, unpriced = self._cost_each(
                price, (i for i in range(len(self.rows)) if i not in skip and i not in self._unit_set)
            )
        for i in self._unit_rows:  # calls with units: always per vector (unit prices, their own rounding)
            if i in skip:
                continue
            c, n, u = self._cost_each(price, (i,))
            cost, calls, unpriced = cost + c, calls + n, unpriced + u
        return MixCost(cost, calls, unpriced, tuple(too_long), too_long_calls)

    def cost_of_rows(self, price: PriceVersion, indices: Iterable[int]) -> tuple[int, int, int]:
        """(picodollars, calls priced, calls unpriced) of some rows on `price`, vector by vector."""
        return self._cost_each(price, indices)

    def _buckets(self, price: PriceVersion, skip: set[int]) -> dict[int, list[int]]:
        """Summed token classes (and calls) per long-context tier index (-1 = base rates)."""
        tiers = price.tiers
        special: list[int] = []
        if tiers:
            first = tiers[0]
            k = (bisect_left if first.inclusive else bisect_right)(self._prompts_sorted, first.threshold)
            special = self._by_prompt[k:]
        if not special and not skip:
            return {-1: list(self._totals)}
        base = list(self._totals)
        buckets: dict[int, list[int]] = {}
        for i in set(special) | (skip - self._unit_set):
            w = self._weighted[i]
            for j in range(N_CLASSES + 1):
                base[j] -= w[j]
            if i in skip:
                continue
            prompt = self._prompt[i]
            tier_index = -1
            for t_i, t in enumerate(tiers):
                if (prompt >= t.threshold) if t.inclusive else (prompt > t.threshold):
                    tier_index = t_i
            b = buckets.setdefault(tier_index, [0] * (N_CLASSES + 1))
            for j in range(N_CLASSES + 1):
                b[j] += w[j]
        b = buckets.setdefault(-1, [0] * (N_CLASSES + 1))
        for j in range(N_CLASSES + 1):
            b[j] += base[j]
        return {k: v for k, v in buckets.items() if v[N_CLASSES]}

    def _cost_each(self, price: PriceVersion, indices: Iterable[int]) -> tuple[int, int, int]:
        cost = calls = unpriced = 0
        for i in indices:
            n = self.rows[i].calls
            b = cost_of(price, **self._kwargs(i))
            if b is None:
                unpriced += n
            else:
                cost += b.total * n
                calls += n
        return cost, calls, unpriced
