"""What `sync-costs`, `costs import`, `reconcile` and `report --cost-basis reconciled` call: the store, the
provider clients and the pure reconciliation (compute.py) put together.

Idempotency: a sync re-reads a window of UTC days and replaces that window of its source whole (a revised day
is replaced, never added); the window is the last synced day minus LOOKBACK_DAYS up to today, DEFAULT_FIRST_DAYS
back on the first run, from the first day ever synced with --full, or from --since. All providers of a run are
fetched first and written in one transaction: a failed run writes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from margindash_cli.core.money import fixed_usd, usd_text
from margindash_cli.core.periods import DAY_MS
from margindash_cli.core.periods import EPOCH_DATE as EPOCH
from margindash_cli.errors import UsageError
from margindash_cli.reconcile import compute
from margindash_cli.reconcile.compute import (
    BILL_CLASSES,
    BilledSide,
    CellKey,
    LoggedSide,
    model_key,
    provider_of_vendor,
)
from margindash_cli.store.db import Store
from margindash_cli.store.rows import BilledCostRow, BilledUsageRow

LOOKBACK_DAYS = 7  # providers revise recent days: every run re-reads the last week before its last synced day
DEFAULT_FIRST_DAYS = 90  # the first sync reads this many days back
PROVIDERS = ("openai", "anthropic")
# the catalog's vendor name for a provider that bills (pricing untracked tokens at our rate)
PRICING_VENDORS = {"aws": "bedrock", "gcp": "google", "azure": "azure"}


def today_day(now: datetime | None = None) -> int:
    now = now or datetime.now(UTC)
    return (now.astimezone(UTC).date() - EPOCH).days


def _now_iso(now: datetime | None) -> str:
    return (now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# ---- sync-costs ---------------------------------------------------------------------------------------------------


@dataclass
class ProviderAccess:
    name: str  # openai | anthropic
    key: str
    base: str


def load_key(provider: str, env: Mapping[str, str], key_file: Path | None) -> str | None:
    """The admin key of a provider: from a file only its owner can read, else its environment variable; None when
    neither is given."""
    from margindash_cli.clients import anthropic_costs, openai_costs  # lazy: start-up
    from margindash_cli.clients.secrets import read_secret  # lazy: start-up

    env_name = openai_costs.KEY_ENV if provider == "openai" else anthropic_costs.KEY_ENV
    found = read_secret(env, env_name, key_file)
    if found is None:
        return None
    key, origin = found
    if not key or any(c.isspace() for c in key):
        raise UsageError(
            f"{origin} does not hold an API key (empty, or with spaces inside)", f"put the admin key alone in {origin}"
        )
    return key


def api_base(provider: str, env: Mapping[str, str]) -> str:
    from margindash_cli.clients import anthropic_costs, openai_costs  # lazy: start-up

    mod = openai_costs if provider == "openai" else anthropic_costs
    base = (env.get(mod.BASE_ENV) or "").strip().rstrip("/")
    if not base:
        return mod.DEFAULT_BASE
    if not base.startswith(("https://", "http://")):
        raise UsageError(f"{mod.BASE_ENV} must be an http(s) address, not {base!r}")
    return base


def providers_to_sync(
    env: Mapping[str, str], asked: list[str] | None, key_files: Mapping[str, Path | None]
) -> list[ProviderAccess]:
    """The providers a run syncs: those asked for (each must have a key), else every one with a key."""
    for p in asked or []:
        if p not in PROVIDERS:
            raise UsageError(
                f"unknown --provider {p!r}", "use openai or anthropic (other clouds: margindash costs import FILE)"
            )
    out = []
    for p in asked or PROVIDERS:
        key = load_key(p, env, key_files.get(p))
        if key is None:
            if asked:
                raise UsageError(f"no admin key for {p}", f"set {p.upper()}_ADMIN_KEY or pass --{p}-key-file FILE")
            continue
        out.append(ProviderAccess(p, key, api_base(p, env)))
    if not out:
        raise UsageError(
            "no admin key: set OPENAI_ADMIN_KEY and/or ANTHROPIC_ADMIN_KEY (or pass --openai-key-file / --anthropic-key-file)",
            "an organization Owner creates admin keys; a normal API key cannot read costs",
        )
    return out


@dataclass
class ProviderSync:
    provider: str
    first_day: int
    end_day: int
    cost_lines: int
    usage_rows: int
    requests: int
    billed_pico: int
    days_changed: list[int]

    def to_json(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "since": compute.day_iso(self.first_day),
            "until": compute.day_iso(self.end_day - 1),
            "days": self.end_day - self.first_day,
            "cost_lines": self.cost_lines,
            "usage_rows": self.usage_rows,
            "requests": self.requests,
            "billed_usd": usd_text(self.billed_pico),
            "days_changed": [compute.day_iso(d) for d in self.days_changed],
        }


@dataclass
class SyncCostsResult:
    providers: list[ProviderSync]
    synced_at: str
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "synced_at": self.synced_at,
            "providers": [p.to_json() for p in self.providers],
            "warnings": self.warnings,
        }


def sync_window(store: Store, provider: str, *, since_day: int | None, full: bool, today: int) -> tuple[int, int]:
    """[start, end) UTC days to read. The end is today, excluded: today's bill is still filling in (the APIs lag
    by hours), so reconciling it would show a gap that is only lag; it is read on the next day's run."""
    state = store.costs.cost_sync_state(provider)
    end = today
    if since_day is not None:
        start = since_day
    elif full:
        start = state.first_day if state else today - DEFAULT_FIRST_DAYS
    elif state:
        start = state.last_end_day - 1 - LOOKBACK_DAYS
    else:
        start = today - DEFAULT_FIRST_DAYS
    if start >= end:
        raise UsageError(f"--since {compute.day_iso(start)} is not before today (UTC)", "today's bill is read tomorrow")
    return start, end


def sync_costs(
    store: Store,
    access: list[ProviderAccess],
    *,
    since_day: int | None = None,
    full: bool = False,
    now: datetime | None = None,
) -> SyncCostsResult:
    """Fetch every provider's costs and usage of its window, then replace those days in one transaction."""
    from margindash_cli.clients import anthropic_costs, openai_costs  # lazy: start-up

    today = today_day(now)
    fetched = []
    for a in access:
        start, end = sync_window(store, a.name, since_day=since_day, full=full, today=today)
        mod = openai_costs if a.name == "openai" else anthropic_costs
        costs, n1 = mod.read_costs(a.base, a.key, start, end)
        usage, n2 = mod.read_usage(a.base, a.key, start, end)
        costs = [r for r in costs if start <= r.day < end]
        usage = [r for r in usage if start <= r.day < end]
        fetched.append((a.name, start, end, costs, usage, n1 + n2))
    synced_at = _now_iso(now)
    out = []
    with store.write():
        for name, start, end, costs, usage, requests in fetched:
            changed = store.costs.replace_billed_days(
                name, [(name, d) for d in range(start, end)], costs, usage, synced_at=synced_at
            )
            store.costs.save_cost_sync(name, start, end, synced_at)
            out.append(
                ProviderSync(
                    name,
                    start,
                    end,
                    len(costs),
                    len(usage),
                    requests,
                    sum(r.amount_pico for r in costs),
                    [d for _, d in changed],
                )
            )
    return SyncCostsResult(out, synced_at)


# ---- costs import -------------------------------------------------------------------------------------------------


@dataclass
class ImportCostsResult:
    file: str
    format: str
    lines: int
    usage_rows: int
    billed_pico: int
    days_changed: list[tuple[str, int]]
    skipped: int
    warnings: list[str]

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "format": self.format,
            "cost_lines": self.lines,
            "usage_rows": self.usage_rows,
            "billed_usd": usd_text(self.billed_pico),
            "skipped_rows": self.skipped,
            "days_changed": [{"provider": p, "day": compute.day_iso(d)} for p, d in self.days_changed],
            "warnings": self.warnings,
        }


def import_costs(store: Store, path: Path, *, fmt: str = "auto", now: datetime | None = None) -> ImportCostsResult:
    """Read a CUR 2.0 or FOCUS file whole (a bad row fails the file, naming it), then upsert it in one transaction."""
    from margindash_cli.reconcile import files  # lazy: start-up

    parsed = files.read_bill_file(path, fmt)
    synced_at = _now_iso(now)
    with store.write():
        changed = store.costs.upsert_billed(parsed.format, parsed.costs, parsed.usage, synced_at=synced_at)
        days = sorted({r.day for r in parsed.costs})
        if days:
            store.costs.save_cost_sync(f"{parsed.format}:{path.name}", days[0], days[-1] + 1, synced_at)
    return ImportCostsResult(
        str(path),
        parsed.format,
        len(parsed.costs),
        len(parsed.usage),
        sum(r.amount_pico for r in parsed.costs),
        changed,
        parsed.skipped,
        parsed.warnings,
    )


def load_demo_bill(store: Store, now: datetime | None = None) -> None:
    """Store the demo's synthetic bill (reconcile/demo.py) as source `demo`, in one transaction."""
    from margindash_cli.reconcile.demo import demo_bill  # lazy: start-up

    costs, usage, days = demo_bill(store.costs.logged_cells(None, None), price_fn(store))
    synced_at = _now_iso(now)
    with store.write():
        store.costs.replace_billed_days("demo", days, costs, usage, synced_at=synced_at)
        if days:
            store.costs.save_cost_sync("demo", min(d for _, d in days), max(d for _, d in days) + 1, synced_at)


# ---- reconcile ----------------------------------------------------------------------------------------------------


def _day_bounds(start_ms: int | None, end_ms: int | None) -> tuple[int | None, int | None]:
    return (None if start_ms is None else start_ms // DAY_MS, None if end_ms is None else -(-end_ms // DAY_MS))


class Cells:
    """Both sides of every cell of a range, read from the store once."""

    def __init__(self, store: Store, start_day: int | None, end_day: int | None, provider: str | None = None):
        self.billed: dict[CellKey, BilledSide] = {}
        self.projects: dict[CellKey, dict[str | None, int]] = defaultdict(lambda: defaultdict(int))
        self.names: dict[str, str] = {}  # model key -> the name shown (the bill's, else the log's)
        self.billed_days = {(p, d) for p, d in store.costs.billed_days(start_day, end_day) if provider in (None, p)}
        for r in store.costs.billed_cost_rows(start_day, end_day, provider):
            self._add_cost(r)
        usage_seen: set[CellKey] = set()
        for u in store.costs.billed_usage_rows(start_day, end_day, provider):
            self._add_usage(u, usage_seen)
        self.logged: dict[CellKey, LoggedSide] = {}
        self.provisional: dict[str, set[int]] = defaultdict(set)
        for c in store.costs.logged_cells(start_day, end_day):
            prov = provider_of_vendor(c.vendor)
            if provider not in (None, prov):
                continue
            if (prov, c.day) not in self.billed_days:
                self.provisional[prov].add(c.day)
                continue
            key = CellKey(prov, c.day, model_key(c.model))
            side = self.logged.get(key)
            if side is None:
                side = self.logged[key] = LoggedSide(vendor=c.vendor, model=c.model)
            side.add(
                c.calls,
                c.unpriced_calls,
                c.cost_pico,
                _logged_classes(c.input_tokens, c.cached_input_tokens, c.cache_write_tokens, c.output_tokens),
                _logged_classes(
                    c.unpriced_input_tokens,
                    c.unpriced_cached_input_tokens,
                    c.unpriced_cache_write_tokens,
                    c.unpriced_output_tokens,
                ),
            )
            if key.model:
                self.names.setdefault(key.model, c.model)

    def _side(self, key: CellKey, model: str | None) -> BilledSide:
        side = self.billed.get(key)
        if side is None:
            side = self.billed[key] = BilledSide(model=model)
        return side

    def _add_cost(self, r: BilledCostRow) -> None:
        key = CellKey(r.provider, r.day, model_key(r.model) if r.kind == "tokens" else None)
        side = self._side(key, r.model)
        if key.model and r.model and (key.model not in self.names or self.names[key.model] > r.model):
            self.names[key.model] = r.model  # the bill's name is shown (the earliest snapshot when several)
        cls = BILL_CLASSES.get(r.token_class or "")
        tier = compute.tier_name(r.service_tier)
        if r.kind != "tokens":
            side.other_cost += r.amount_pico
        elif cls is None:
            side.unclassified_token_cost += r.amount_pico
        else:
            side.add_cost(tier, cls, r.amount_pico)
            n = _token_quantity(r.quantity, r.quantity_unit)
            if n is not None:
                side.add_tokens(tier, cls, n, usage=False)
                if r.token_class == "cache_write_1h" and side.usage is None:
                    side.write_1h_tokens += n
        self.projects[key][r.project] += r.amount_pico

    def _add_usage(self, u: BilledUsageRow, seen: set[CellKey]) -> None:
        key = CellKey(u.provider, u.day, model_key(u.model))
        side = self._side(key, u.model or None)
        if key not in seen:  # the usage API's tokens replace the cost lines' quantities
            seen.add(key)
            side.write_1h_tokens = 0
        tier = compute.tier_name(u.service_tier, u.batch)
        for cls, n in (
            ("input", u.input_tokens),
            ("cache_read", u.cache_read_tokens),
            ("cache_write", u.cache_write_5m_tokens + u.cache_write_1h_tokens),
            ("output", u.output_tokens),
        ):
            side.add_tokens(tier, cls, n, usage=True)
        side.write_1h_tokens += u.cache_write_1h_tokens


def _logged_classes(prompt: int, cached: int, write: int, output: int) -> dict[str, int]:
    """Canonical fields (input includes cache reads and writes) -> the comparison's classes."""
    return {"input": max(prompt - cached - write, 0), "cache_read": cached, "cache_write": write, "output": output}


def _token_quantity(quantity: str | None, unit: str | None) -> int | None:
    """Tokens in a cost line's quantity when its unit says tokens (per token, per 1K, per 1M); else None."""
    if quantity is None or not unit:
        return None
    u = unit.strip().lower().replace(" ", "_")
    scale = {
        "tokens": 1,
        "token": 1,
        "1000_tokens": 1000,
        "1k_tokens": 1000,
        "1m_tokens": 1_000_000,
        "1000000_tokens": 1_000_000,
    }.get(u)
    if scale is None:
        return None
    n = Decimal(quantity) * scale
    return int(n) if n == n.to_integral_value() else int(n.to_integral_value())


def price_fn(store: Store) -> compute.PriceFn:
    """Our catalog's price of a token vector of a (vendor, model) on a UTC day, per class at 1,000 tokens (so no
    long-context tier applies); None when the catalog has no price for a class that has tokens."""
    from margindash_cli.pricing.cost import cost_of  # lazy: start-up
    from margindash_cli.pricing.run import load_pricer  # lazy: start-up

    pricer = None
    rates: dict[tuple[str, str, int, str | None], dict[str, Fraction | None] | None] = {}
    probes = {
        "input": {"input_tokens": 1000},
        "cache_read": {"input_tokens": 1000, "cached_input_tokens": 1000},
        "cache_write_5m": {"input_tokens": 1000, "cache_write_tokens": 1000},
        "cache_write_1h": {"input_tokens": 1000, "cache_write_tokens": 1000, "cache_write_1h_tokens": 1000},
        "output": {"output_tokens": 1000},
    }

    def price(vendor: str, model: str, day: int, v: Mapping[str, int], tier: str | None = None) -> Fraction | None:
        nonlocal pricer
        k = (vendor, model, day, tier)
        if k not in rates:
            if pricer is None:
                pricer = load_pricer(store)
            res = pricer.resolve(PRICING_VENDORS.get(vendor, vendor), model)
            sp = pricer.timeline(res.provider, res.model).at(day * DAY_MS + DAY_MS // 2) if res else None
            if sp is None:
                rates[k] = None
            else:
                got = {}
                for cls, kw in probes.items():
                    b = cost_of(sp.version, service_tier=tier, **kw)
                    got[cls] = None if b is None else Fraction(b.total, 1000)
                rates[k] = got
        r = rates[k]
        if r is None:
            return None
        total = Fraction(0)
        for cls, n in v.items():
            if n:
                rate = r.get(cls)
                if rate is None:
                    return None
                total += rate * n
        return total

    return price


def reconcile(
    store: Store,
    *,
    start_ms: int | None,
    end_ms: int | None,
    provider: str | None = None,
    by: str = "day",
    tolerance_pct: Decimal = compute.DEFAULT_TOLERANCE_PCT,
    range_label: str = "",
) -> compute.ReconcileResult:
    if by not in compute.GROUPINGS:
        raise UsageError(f"unknown --by {by!r}", f"use one of {', '.join(compute.GROUPINGS)}")
    start_day, end_day = _day_bounds(start_ms, end_ms)
    cells = Cells(store, start_day, end_day, provider)
    results = compute.reconcile_cells(cells.logged, cells.billed, price_fn(store))
    provisional = {p: [compute.day_iso(d) for d in sorted(days)] for p, days in sorted(cells.provisional.items())}
    result = compute.build_rows(
        results.values(),
        by,
        tolerance_pct,
        project_shares=cells.projects,
        provisional_days=provisional,
        range_label=range_label,
    )
    for row in result.rows:
        if row.model:
            row.model = cells.names.get(row.model, row.model)
    return result


def over_tolerance_days(
    store: Store, since_day: int | None = None, tolerance_pct: Decimal = compute.DEFAULT_TOLERANCE_PCT
) -> list[compute.ReconcileRow]:
    """The (provider, day)s from `since_day` on whose gap is over the tolerance (for `doctor`)."""
    start = None if since_day is None else since_day * DAY_MS
    return reconcile(store, start_ms=start, end_ms=None, tolerance_pct=tolerance_pct).over_tolerance


# ---- report --cost-basis reconciled -------------------------------------------------------------------------------


def provisional_days(store: Store, start_ms: int | None, end_ms: int | None) -> dict[str, list[str]] | None:
    """Provider -> UTC days in [start_ms, end_ms) with logged calls and no known bill, for the computed reports'
    `provisional_costs`; None when no bill was ever synced or imported (one cheap query of cost_syncs)."""
    if not store.costs.cost_sync_rows():
        return None
    start_day, end_day = _day_bounds(start_ms, end_ms)
    billed = store.costs.billed_days(start_day, end_day)
    out: dict[str, set[int]] = defaultdict(set)
    for day, vendor in store.costs.logged_vendor_days(start_day, end_day):
        provider = provider_of_vendor(vendor)
        if (provider, day) not in billed:
            out[provider].add(day)
    return {p: [compute.day_iso(d) for d in sorted(days)] for p, days in sorted(out.items())}


@dataclass
class CostBasis:
    """What a reconciled report says about its cost: which days rest on a bill, which are provisional."""

    basis: str
    reconciled_days: dict[str, int]  # provider -> days with a bill in the range
    provisional_days: dict[str, list[str]]  # provider -> days with calls and no bill (computed cost stands)
    untracked_usd: str

    def to_json(self) -> dict[str, Any]:
        return {
            "basis": self.basis,
            "reconciled_days": self.reconciled_days,
            "provisional_days": self.provisional_days,
            "untracked_usd": self.untracked_usd,
        }


def reconciled_usage(
    store: Store,
    dims: list[str],
    customer: str | None,
    *,
    start_ms: int | None,
    end_ms: int | None,
    per_day: bool,
    time_dims: tuple[str, ...],
) -> tuple[list[Any], CostBasis]:
    """The report's usage facts with costs on the bill's basis, plus `(untracked)` facts (every group reads
    `(untracked)`, so they make one row per time bucket) for billed spend no logged call explains.

    Bills are per UTC day, so this reads UTC days; a customer filter keeps that customer's facts and no
    `(untracked)` row (untracked spend belongs to no customer)."""
    from margindash_cli.reports.compute import UsageFact  # lazy: start-up

    groups = [d for d in dims if d != "customer" and d not in time_dims]
    extra = [g for g in ("vendor", "model") if g not in groups]
    query_groups = groups + extra
    vi, mi = query_groups.index("vendor"), query_groups.index("model")
    # every customer's facts: a cell's price difference is spread over all who made its calls, then filtered
    rows = list(store.events.usage_facts(query_groups, start_ms=start_ms, end_ms=end_ms, tz=UTC, per_day=True))
    start_day, end_day = _day_bounds(start_ms, end_ms)
    cells = Cells(store, start_day, end_day)
    results = compute.reconcile_cells(cells.logged, cells.billed, price_fn(store))
    ng = len(groups)
    facts: list[tuple[Any, ...]] = []
    cost_facts: list[Any] = []
    day_numbers: dict[date, int] = {}
    for row in rows:
        values, day = row.groups, row.day
        ev, inp, out, cost = row.events, row.input_tokens, row.output_tokens, row.cost_pico
        unpriced, rev = row.unpriced_events, row.event_revenue_cents
        # a plain tuple equals (and hashes like) the CellKey it spells: no NamedTuple per row
        day_n = day_numbers.get(day)
        if day_n is None:
            day_n = day_numbers[day] = (day - EPOCH).days
        cost_facts.append(((provider_of_vendor(values[vi] or "unknown"), day_n, model_key(values[mi])), cost, unpriced))
        facts.append((row[0], values[:ng], day, ev, inp, out, unpriced, rev))
    costs, untracked = compute.reconciled_costs(cost_facts, results)
    # summed back to the report's own groups (and to the whole range when it has no time grouping)
    summed: dict[tuple[Any, ...], list[int]] = {}
    collapsed_day = EPOCH
    for (cust, g, day, ev, inp, out_t, unpriced, rev), cost, cf in zip(facts, costs, cost_facts):
        if customer is not None and cust != customer:
            continue
        r = results.get(cf[0]) if unpriced else None
        if r is not None and r.parts["unpriced_calls"]:
            unpriced = 0  # the bill priced those calls: their share of it is in the figures now
        k = (cust, g, day if per_day else collapsed_day)
        acc = summed.get(k)
        if acc is None:
            summed[k] = [ev, inp, out_t, cost, unpriced, rev]
        else:
            acc[0] += ev
            acc[1] += inp
            acc[2] += out_t
            acc[3] += cost
            acc[4] += unpriced
            acc[5] += rev
    out_facts = [UsageFact(cust, g, day, *m) for (cust, g, day), m in summed.items()]
    total_untracked = 0
    if customer is None:
        for cell, amount in sorted(untracked.items(), key=lambda kv: (kv[0].provider, kv[0].day, kv[0].model or "")):
            if not amount:
                continue
            total_untracked += amount
            g = tuple(
                compute.UNTRACKED for _ in groups
            )  # one row, whatever the grouping: it belongs to no customer or feature
            day = EPOCH + timedelta(days=cell.day) if per_day else collapsed_day
            out_facts.append(UsageFact(compute.UNTRACKED, g, day, 0, 0, 0, amount, 0, 0))
    reconciled: dict[str, int] = defaultdict(int)
    for p, d in cells.billed_days:
        if (start_day is None or d >= start_day) and (end_day is None or d < end_day):
            reconciled[p] += 1
    provisional = {p: [compute.day_iso(d) for d in sorted(days)] for p, days in sorted(cells.provisional.items())}
    # at the report's own fixed scale for cost (money.fixed_usd), like every cost in its JSON
    return out_facts, CostBasis("reconciled", dict(sorted(reconciled.items())), provisional, fixed_usd(total_untracked))
