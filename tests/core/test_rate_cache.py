"""Prices cached per (model, UTC day) give exactly the cost and price version of the whole path, every time: over
the judged pricing corpus, over every model of the shipped catalog at random token vectors (long-context cliffs at
their thresholds, cache writes, reasoning, batch/flex/priority, audio, units), at the starts of the catalog's price
versions and at a user's price that starts in the middle of a day.

Randomized: the seed comes from MARGINDASH_TEST_SEED (else a fixed one) and is printed on failure.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import orjson
import pytest

from margindash_cli.ingest import canonical
from margindash_cli.pricing.model import USER_SOURCE, PriceVersion, Rates, version_data
from margindash_cli.pricing.pricer import _CHANGES_IN_DAY, DAY_MS, Pricer
from margindash_cli.pricing.run import ensure_catalog
from margindash_cli.store.db import Store

SEED = int(os.environ.get("MARGINDASH_TEST_SEED", "2004"))
CORPUS = Path(__file__).parent.parent / "fixtures" / "pricing" / "pricing_cases.jsonl"
NOON_OCT_5 = 1_791_201_600_000  # 2026-10-05T12:00:00Z
MID_DAY = NOON_OCT_5 + 3_600_000 + 123  # 13:00:00.123: where the user's price below starts


@pytest.fixture(scope="module")
def catalog(tmp_path_factory) -> tuple[list, dict]:
    """The shipped catalog as a Pricer takes it (prices, aliases), plus a user's price of gpt-4o-mini that starts
    in the middle of 2026-10-05 and a user's price with a 300k long-context tier from the same instant."""
    store = Store.open(tmp_path_factory.mktemp("rates") / "store.db")
    ensure_catalog(store)
    prices = [(p, m, (pid, eff, source, data)) for pid, p, m, eff, source, data in store.prices.price_rows()]
    aliases = {(v or None, n): (p, m) for n, v, p, m in store.prices.alias_rows()}
    store.conn.close()
    user = PriceVersion("openai", "gpt-4o-mini", source=USER_SOURCE, base=Rates(input=1, output=7, cache_read=0))
    prices.append(("openai", "gpt-4o-mini", (10**6, MID_DAY, USER_SOURCE, version_data(user))))
    return prices, aliases


def _pair(catalog) -> tuple[Pricer, Pricer]:
    prices, aliases = catalog
    return Pricer(prices, aliases), Pricer(prices, aliases, cache_days=False)


def _event(rng: random.Random, vendor: str, model: str, ts_ms: int) -> canonical.NormalizedEvent:
    threshold = rng.choice([128_000, 200_000, 272_000])
    inp = rng.choice([0, rng.randint(1, 5000), rng.randint(1, 400_000), threshold, threshold + 1, threshold - 1])
    cached = rng.choice([0, 0, rng.randint(0, inp)])
    write = rng.choice([0, 0, rng.randint(0, inp - cached)])
    out = rng.choice([0, rng.randint(0, 3000)]) if inp else rng.randint(1, 3000)
    line = {
        "timestamp": ts_ms,
        "vendor": vendor,
        "model": model,
        "input_tokens": inp,
        "output_tokens": out,
        "cached_input_tokens": cached,
        "cache_write_tokens": write,
        "cache_write_1h_tokens": rng.choice([0, rng.randint(0, write)]),
        "reasoning_tokens": rng.choice([0, rng.randint(0, out)]),
    }
    twist = rng.randint(0, 9)
    if twist == 1:
        line["service_tier"] = rng.choice(["batch", "flex", "priority", "scale", "default"])
    elif twist == 2 and inp - cached - write:
        line["input_audio_tokens"] = rng.randint(0, inp - cached - write)
    elif twist == 3:
        line["units"] = {"requests": 1, "images": rng.randint(0, 3)}
    elif twist == 4:
        line["cost_usd"] = "0.25"
    return canonical.validate(line)


def _check(cached: Pricer, whole: Pricer, ev: canonical.NormalizedEvent) -> None:
    assert cached.price(ev) == whole.price(ev), f"MARGINDASH_TEST_SEED={SEED} {ev}"


def test_the_judged_corpus_is_priced_the_same_with_and_without_the_cache(catalog) -> None:
    cached, whole = _pair(catalog)
    events = [ev for line in CORPUS.read_text().splitlines() for ev in canonical.normalize(json.loads(line)["event"])]
    for ev in events + events:  # the second time from the cache
        _check(cached, whole, ev)


def test_every_catalog_model_is_priced_the_same_with_and_without_the_cache(catalog) -> None:
    rng = random.Random(SEED)
    cached, whole = _pair(catalog)
    prices, _ = catalog
    models = sorted({(p, m) for p, m, _ in prices})
    starts = sorted({eff for _, _, (_, eff, _, _) in prices if eff})
    stamps = [NOON_OCT_5, NOON_OCT_5 + 9 * DAY_MS, MID_DAY - 1, MID_DAY, MID_DAY + 1, NOON_OCT_5 - 12 * 3_600_000]
    for start in starts:  # each version's start and the edges of its day, when that is after 2000
        day = start // DAY_MS * DAY_MS
        stamps += [t for t in (start - 1, start, start + 1, day, day + DAY_MS - 1) if t >= canonical.MIN_TS_MS]
    events = [
        _event(rng, rng.choice([provider, provider.upper(), "unknown"]), model, rng.choice(stamps))
        for provider, model in models
        for _ in range(6)
    ]
    rng.shuffle(events)
    for ev in events:
        _check(cached, whole, ev)
    days = cached._days
    assert days is not None
    assert sum(1 for v in days.values() if v is not None and v is not _CHANGES_IN_DAY) > 100  # the cache was used
    assert any(v is _CHANGES_IN_DAY for v in days.values())  # and a day whose price changes was not cached


def test_a_price_that_starts_in_the_middle_of_a_day_prices_each_call_at_its_millisecond(catalog) -> None:
    rng = random.Random(SEED)
    cached, whole = _pair(catalog)

    def call(ts_ms: int) -> canonical.NormalizedEvent:
        line = {"timestamp": ts_ms, "vendor": "openai", "model": "gpt-4o-mini", "input_tokens": 1_000_000}
        return canonical.validate(line)

    before, after = call(MID_DAY - 1), call(MID_DAY)
    for ev in [before, after, call(NOON_OCT_5), call(MID_DAY + DAY_MS)] * 3:
        _check(cached, whole, ev)
    assert cached.price(after) == (1_000_000 * 10**6, 10**6)  # the user's $1/MTok, from its millisecond on
    assert cached.price(before)[1] != 10**6
    assert cached._days is not None and cached._days[("openai", "gpt-4o-mini", MID_DAY // DAY_MS)] is _CHANGES_IN_DAY
    next_day = cached._days[("openai", "gpt-4o-mini", MID_DAY // DAY_MS + 1)]
    assert next_day is not _CHANGES_IN_DAY and next_day.id == 10**6
    for _ in range(2000):
        ev = call(MID_DAY + rng.randint(-DAY_MS, DAY_MS))
        _check(cached, whole, ev)


def test_off_peak_windows_are_never_cached(catalog) -> None:
    prices, _ = catalog
    windowed = [(p, m) for p, m, (_, _, _, data) in prices if orjson.loads(data).get("windows")]
    assert windowed  # the shipped catalog has off-peak prices (DeepSeek)
    cached, whole = _pair(catalog)
    rng = random.Random(SEED)
    for provider, model in windowed:
        for minute in range(0, 1440, 7):
            ev = _event(rng, provider, model, NOON_OCT_5 - 12 * 3_600_000 + minute * 60_000)
            _check(cached, whole, ev)
