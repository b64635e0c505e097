"""Built-in synthetic data for `margindash demo`: deterministic, offline, about 90 days.

Customers of different sizes on different plans; several features on several models. A few heavy
users on cheap plans sit at negative margins, as they do in real AI products.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

DEMO_DAYS = 90  # days of history the demo covers
DEMO_END = date(2026, 10, 31)  # the demo's last day: fixed, so the demo prints the same numbers everywhere


@dataclass(frozen=True)
class DemoCustomer:
    customer_id: str
    plan: str
    monthly_fee_cents: int
    calls_per_day: int
    heavy: bool


CUSTOMERS = [
    DemoCustomer("acme-corp", "enterprise", 250_000, 160, False),
    DemoCustomer("globex", "enterprise", 180_000, 120, False),
    DemoCustomer("initech", "pro", 49_900, 45, False),
    DemoCustomer("umbrella", "pro", 49_900, 380, True),
    DemoCustomer("hooli", "pro", 49_900, 30, False),
    DemoCustomer("stark-labs", "starter", 9_900, 100, True),
    DemoCustomer("wayne-ent", "starter", 9_900, 8, False),
    DemoCustomer("tyrell", "starter", 9_900, 12, False),
    DemoCustomer("cyberdyne", "starter", 9_900, 90, True),
    DemoCustomer("soylent", "free", 0, 5, False),
]
# feature -> [(vendor, model, share)], typical prompt and completion sizes
FEATURES = {
    "chat": ([("openai", "gpt-4o", 0.5), ("anthropic", "claude-sonnet-4-20250514", 0.5)], 1800, 350),
    "summarize": ([("openai", "gpt-4o-mini", 0.8), ("google", "gemini-2.5-flash", 0.2)], 6000, 300),
    "translate": ([("openai", "gpt-4o-mini", 1.0)], 900, 900),
    "agent": ([("anthropic", "claude-opus-4-1-20250805", 0.3), ("openai", "o3-mini", 0.7)], 12000, 1500),
}
FEATURE_MIX = {"chat": 0.45, "summarize": 0.3, "translate": 0.15, "agent": 0.10}
HEAVY_FEATURE_MIX = {"chat": 0.3, "summarize": 0.2, "translate": 0.1, "agent": 0.4}


def _pick(rng: random.Random, weighted: dict[str, float] | list[tuple[str, str, float]]) -> object:
    items = list(weighted.items()) if isinstance(weighted, dict) else [((v, m), w) for v, m, w in weighted]
    r, acc = rng.random(), 0.0
    for item, w in items:
        acc += w
        if r <= acc:
            return item
    return items[-1][0]


def demo_events(seed: int = 7) -> Iterator[dict[str, object]]:
    """Canonical usage events, time-ordered."""
    rng = random.Random(seed)
    start = DEMO_END - timedelta(days=DEMO_DAYS - 1)
    n = 0
    for day_index in range(DEMO_DAYS):
        day = start + timedelta(days=day_index)
        growth = 0.6 + 0.8 * day_index / DEMO_DAYS
        day_events = []
        for c in CUSTOMERS:
            calls = max(0, int(rng.gauss(c.calls_per_day * growth, c.calls_per_day * 0.15)))
            for _ in range(calls):
                feature = _pick(rng, HEAVY_FEATURE_MIX if c.heavy else FEATURE_MIX)
                models, prompt, completion = FEATURES[feature]
                vendor, model = _pick(rng, models)
                inp = max(50, int(rng.lognormvariate(0, 0.5) * prompt))
                out = max(10, int(rng.lognormvariate(0, 0.5) * completion))
                cached = (inp // 1024) * 1024 if vendor == "openai" and rng.random() < 0.3 and inp >= 1024 else 0
                reasoning = int(out * 0.6) if model == "o3-mini" else 0
                secs = rng.randrange(86_400)
                ts = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(seconds=secs)
                n += 1
                day_events.append(
                    {
                        "timestamp": ts.isoformat().replace("+00:00", "Z"),
                        "request_id": f"demo-{n:07d}",
                        "customer_id": c.customer_id,
                        "event_type": feature,
                        "vendor": vendor,
                        "model": model,
                        "input_tokens": inp,
                        "output_tokens": out,
                        "cached_input_tokens": cached,
                        "reasoning_tokens": reasoning,
                        "segment": c.plan,
                    }
                )
        day_events.sort(key=lambda e: e["timestamp"])
        yield from day_events


def demo_revenue() -> Iterator[dict[str, object]]:
    """Monthly subscription revenue per customer, one row per calendar month the demo touches."""
    start = DEMO_END - timedelta(days=DEMO_DAYS - 1)
    month = start.replace(day=1)
    while month <= DEMO_END:
        nxt = date(month.year + (month.month == 12), month.month % 12 + 1, 1)
        for c in CUSTOMERS:
            if c.monthly_fee_cents:
                yield {
                    "customer_id": c.customer_id,
                    "amount": c.monthly_fee_cents,
                    "currency": "usd",
                    "period_start": month.isoformat(),
                    "period_end": (nxt - timedelta(days=1)).isoformat(),
                }
        month = nxt
