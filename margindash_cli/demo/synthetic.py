"""Built-in synthetic data for `margindash demo`: deterministic, offline, 90 days to a given last day.

Customers of different sizes on different plans, signing up over the first two and a half months (so
`report cohorts` has a row per month); several features on several models. A few heavy users on cheap
plans sit at negative margins, as they do in real AI products. The seed fixes the calls; the last day
moves their dates (the command passes yesterday, so `--period 7d`/`30d`/`mtd` show data) and with them the
month boundaries over which a fee is prorated.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

DEMO_DAYS = 90  # days of history the demo covers
DEMO_END = date(2026, 10, 31)  # the last day when none is given (tests of the data alone); the command's is yesterday


@dataclass(frozen=True)
class DemoCustomer:
    customer_id: str
    plan: str
    monthly_fee_cents: int
    calls_per_day: int
    heavy: bool
    signup_day: int  # days after the demo's first day that the customer starts (its first calls and revenue)


# Sign-ups spread over 78 of the 90 days: whatever the last day, they fall in at least three calendar months.
CUSTOMERS = [
    DemoCustomer("acme-corp", "enterprise", 250_000, 160, False, 0),
    DemoCustomer("globex", "enterprise", 180_000, 120, False, 0),
    DemoCustomer("initech", "pro", 49_900, 45, False, 5),
    DemoCustomer("umbrella", "pro", 49_900, 380, True, 12),
    DemoCustomer("hooli", "pro", 49_900, 30, False, 26),
    DemoCustomer("stark-labs", "starter", 9_900, 100, True, 34),
    DemoCustomer("wayne-ent", "starter", 9_900, 8, False, 47),
    DemoCustomer("tyrell", "starter", 9_900, 12, False, 58),
    DemoCustomer("cyberdyne", "starter", 9_900, 90, True, 66),
    DemoCustomer("soylent", "free", 0, 5, False, 78),
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


def first_day(end: date = DEMO_END) -> date:
    """The demo's first day, for data that ends on `end`."""
    return end - timedelta(days=DEMO_DAYS - 1)


def demo_events(seed: int = 7, end: date = DEMO_END) -> Iterator[dict[str, object]]:
    """Canonical usage events, time-ordered, from `first_day(end)` to `end` (UTC days)."""
    rng = random.Random(seed)
    start = first_day(end)
    n = 0
    for day_index in range(DEMO_DAYS):
        day = start + timedelta(days=day_index)
        growth = 0.6 + 0.8 * day_index / DEMO_DAYS
        day_events = []
        for c in CUSTOMERS:
            if day_index < c.signup_day:
                continue
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


def demo_revenue(end: date = DEMO_END) -> Iterator[dict[str, object]]:
    """Monthly subscription revenue per customer, one row per calendar month from its sign-up to `end`: a month
    the demo covers in part is billed for its days only (the fee times the days, over the month's days, rounded
    to the cent), so no revenue falls outside the data's days."""
    start = first_day(end)
    for c in CUSTOMERS:
        if not c.monthly_fee_cents:
            continue
        since = start + timedelta(days=c.signup_day)
        month = since.replace(day=1)
        while month <= end:
            nxt = date(month.year + (month.month == 12), month.month % 12 + 1, 1)
            first, last = max(month, since), min(nxt - timedelta(days=1), end)
            days, month_days = (last - first).days + 1, (nxt - month).days
            yield {
                "customer_id": c.customer_id,
                "amount": (c.monthly_fee_cents * days * 2 + month_days) // (2 * month_days),  # half up, exact
                "currency": "usd",
                "period_start": first.isoformat(),
                "period_end": last.isoformat(),
            }
            month = nxt
