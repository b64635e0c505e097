"""`prices drift`: where our computed cost and the cost a provider or gateway reported for the same calls differ.

Some logs state each call's cost: OpenRouter `usage.cost`, xAI `usage.cost_in_usd_ticks`, LiteLLM `spend` /
`response_cost`, Langfuse `totalCost`, Claude Code `costUSD`. They are stored exactly as `reported_cost_usd`.
For every stored call that has one, the call is priced again from the catalog (always the computed cost,
whatever `--cost-source` stored), and the calls are summed per (vendor, model). A model whose computed and
reported totals differ by more than the threshold (default 1% of the reported total) is listed: that is a
catalog price that is wrong (or a provider discount or surcharge we do not model), showing itself. Calls we
cannot price are counted apart (`unpriced_calls`), never as $0. Sums are exact (integer picodollars and
Decimal); the call that differs most, by relative difference, is named by its source file and line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from margindash_cli.core.money import usd_text, usd_to_pico
from margindash_cli.pricing.reprice import stored_event
from margindash_cli.pricing.run import load_pricer
from margindash_cli.store.db import Store
from margindash_cli.store.schema import WIDE_COLUMNS

DEFAULT_THRESHOLD_PCT = Decimal("1")
_MODEL = WIDE_COLUMNS.index("model")
_LINE = WIDE_COLUMNS.index("line")
_REPORTED = WIDE_COLUMNS.index("reported_cost")
CHUNK = 20_000


@dataclass
class _Model:
    calls: int = 0
    priced_calls: int = 0
    unpriced_calls: int = 0
    computed_pico: int = 0
    reported_pico: int = 0  # of the priced calls: the two totals cover the same calls
    worst: tuple[Decimal, str | None, int | None] | None = field(default=None)  # (relative diff, file, line)


def drift(
    store: Store,
    *,
    start_ms: int | None = None,
    end_ms: int | None = None,
    threshold_pct: Decimal = DEFAULT_THRESHOLD_PCT,
) -> dict[str, Any]:
    """Per (vendor, model) with reported costs: calls, computed and reported totals and their difference;
    `drifting` lists the models past the threshold, biggest absolute difference first."""
    pricer = load_pricer(store, "computed")
    names = store.events.model_names()
    models: dict[tuple[str, str], _Model] = {}
    after = None
    while True:
        rows = store.events.reported_cost_rows(start_ms=start_ms, end_ms=end_ms, after_id=after, limit=CHUNK)
        if not rows:
            break
        after = rows[-1][0]
        for row in rows:
            vendor, model = names[row[_MODEL]]
            m = models.setdefault((vendor, model), _Model())
            m.calls += 1
            computed, _ = pricer.price(stored_event(row[: len(WIDE_COLUMNS)], vendor, model))
            if computed is None:
                m.unpriced_calls += 1
                continue
            reported = usd_to_pico(row[_REPORTED])
            m.priced_calls += 1
            m.computed_pico += computed
            m.reported_pico += reported
            rel = _relative(computed, reported)
            if rel is not None and (m.worst is None or rel > m.worst[0]):
                m.worst = (rel, row[-1], row[_LINE])
    out = []
    for (vendor, model), m in sorted(models.items()):
        diff = m.computed_pico - m.reported_pico
        rel = _relative(m.computed_pico, m.reported_pico)
        out.append(
            {
                "vendor": vendor,
                "model": model,
                "calls": m.calls,
                "priced_calls": m.priced_calls,
                "unpriced_calls": m.unpriced_calls,
                "computed_usd": usd_text(m.computed_pico),
                "reported_usd": usd_text(m.reported_pico),
                "difference_usd": usd_text(diff),
                "difference_pct": None if not m.reported_pico else _pct(diff, m.reported_pico),
                "drifting": m.priced_calls > 0 and (rel is None or rel * 100 > threshold_pct) and diff != 0,
                "worst_call": None
                if m.worst is None or m.worst[0] == 0
                else {"file": m.worst[1], "line": m.worst[2], "difference_pct": format(_round(m.worst[0] * 100), "f")},
            }
        )
    out.sort(key=lambda r: (not r["drifting"], -abs(Decimal(r["difference_usd"])), r["vendor"], r["model"]))
    return {"threshold_pct": format(threshold_pct, "f"), "models": out, "drifting": sum(r["drifting"] for r in out)}


def _relative(computed: int, reported: int) -> Decimal | None:
    """|computed - reported| / reported; None when reported is 0 (any difference from $0 is infinite)."""
    if reported == 0:
        return Decimal(0) if computed == 0 else None
    return abs(Decimal(computed - reported) / Decimal(reported))


def _round(d: Decimal) -> Decimal:
    return d.quantize(Decimal("0.01"))


def _pct(diff: int, reported: int) -> str:
    return format(_round(Decimal(diff) * 100 / Decimal(reported)), "f")
