"""`margindash doctor`: is the store sound, and does anything in it need a person? For cron: a non-zero exit is
the alert.

Each check ends `ok`, `info` (worth knowing, nothing to do), `warn` (needs attention: numbers are incomplete or
going stale) or `fail` (the store itself is damaged or inconsistent). Exit code: 1 when a check fails, 3 when
the worst is a warning, else 0. Every check reads only; a check that cannot run (a damaged file) fails, and the
others still run.

- integrity: SQLite's quick_check (integrity_check with `full`).
- rollups: `rollup_daily` equals the sum of `events` in every (UTC day, customer, feature, model, segment) cell.
- unpriced: models of stored calls with no price (their cost is unknown, never $0).
- prices: the newest price information (last sync-prices, else the shipped catalog's build date) is older
  than `price_max_age_days`.
- stripe: the last completed sync-stripe is older than `stripe_max_age_hours` (only once Stripe was synced).
- costs: the last sync-costs (or costs import) per source, and the provider days of the last COSTS_RECENT_DAYS
  whose gap with the bill is over reconcile's default tolerance; a warning when there are some, or when an API
  sync is older than COSTS_MAX_AGE_HOURS.
- alerts: budget alerts that failed to send, or were claimed by a run that crashed.
- checkpoints: how far each ingested file has been read, against the file on disk now (information only).
- schema: the migrations the store has had.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from margindash_cli.core.periods import EPOCH_DATE
from margindash_cli.errors import MarginDashError
from margindash_cli.store.db import DatabaseError, Store

LEVELS = ("ok", "info", "warn", "fail")  # in order of severity
EXIT_CODES = {"ok": 0, "info": 0, "warn": 3, "fail": 1}  # exit code of the worst level reached
DEFAULT_PRICE_MAX_AGE_DAYS = 30  # prices older than this are stale (providers change prices every few weeks)
DEFAULT_STRIPE_MAX_AGE_HOURS = 48  # sync-stripe runs hourly from cron: two days without one means it stopped
COSTS_RECENT_DAYS = 35  # #18: days over tolerance older than this are history, not news
COSTS_MAX_AGE_HOURS = 48  # sync-costs runs daily from cron: two days without one means it stopped
ALERT_STALE_MS = 10 * 60 * 1000  # a pending alert claim older than this belongs to a crashed run (as in budgeting)


@dataclass
class Check:
    name: str
    status: str  # ok | info | warn | fail
    summary: str
    details: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class DoctorResult:
    store: str
    checks: list[Check]

    @property
    def worst(self) -> str:
        return max((c.status for c in self.checks), key=LEVELS.index, default="ok")

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.worst]

    def to_json(self) -> dict[str, Any]:
        return {
            "store": self.store,
            "status": self.worst,
            "exit_code": self.exit_code,
            "checks": [c.__dict__ for c in self.checks],
        }


def run_checks(
    store: Store,
    *,
    now: datetime,
    full: bool = False,
    price_max_age_days: int = DEFAULT_PRICE_MAX_AGE_DAYS,
    stripe_max_age_hours: int = DEFAULT_STRIPE_MAX_AGE_HOURS,
) -> DoctorResult:
    """Run every check against the store."""
    checks = [
        _guard("integrity", lambda: _integrity(store, full)),
        _guard("rollups", lambda: _rollups(store)),
        _guard("unpriced", lambda: _unpriced(store)),
        _guard("prices", lambda: _prices(store, now, price_max_age_days)),
        _guard("stripe", lambda: _stripe(store, now, stripe_max_age_hours)),
        _guard("costs", lambda: _costs(store, now)),
        _guard("alerts", lambda: _alerts(store, now)),
        _guard("checkpoints", lambda: _checkpoints(store)),
        _guard("schema", lambda: _schema(store)),
    ]
    return DoctorResult(str(store.path), checks)


def _guard(name: str, fn: Callable[[], Check]) -> Check:
    try:
        return fn()
    except (DatabaseError, MarginDashError) as exc:  # a damaged page met by this check's query
        return Check(name, "fail", f"could not be checked: {exc}")


def _integrity(store: Store, full: bool) -> Check:
    problems = store.health.integrity_problems(full=full)
    what = "integrity_check" if full else "quick_check"
    if problems:
        return Check(
            "integrity",
            "fail",
            f"{what} found damage: the file is corrupt; restore it from a backup",
            [{"message": m} for m in problems],
        )
    return Check("integrity", "ok", f"{what}: ok")


def _rollups(store: Store) -> Check:
    count, cells = store.health.rollup_mismatches()
    if not count:
        return Check("rollups", "ok", "the daily rollups equal the events")
    names = store.events.dimension_names()
    details = []
    for d, c, f, m, s in cells:
        cell = {"day": (EPOCH_DATE + timedelta(days=d)).isoformat(), "customer": names["customer"].get(c)}
        if m == -1:  # a cell of the per-customer rollup (customer x day), against the five-dimension one
            cell["rollup"] = "rollup_customer_daily"
        elif m == -2:  # a month of the per-customer monthly rollup (m010), against its days
            cell.update(day=cell["day"][:7], rollup="rollup_customer_monthly")
        else:
            cell.update(
                rollup="rollup_daily",
                feature=names["feature"].get(f),
                model="/".join(names["model"].get(m, ("?", "?"))),
                segment=names["segment"].get(s),
            )
        details.append(cell)
    return Check("rollups", "fail", f"{count} rollup cell(s) differ from their events: reports would be wrong", details)


def _unpriced(store: Store) -> Check:
    rows = store.events.unpriced_models()
    if not rows:
        return Check("unpriced", "ok", "every stored call has a price")
    calls = sum(r[2] for r in rows)
    details = [
        {"vendor": v, "model": m, "calls": n, "input_tokens": i, "output_tokens": o} for v, m, n, i, o in rows[:20]
    ]
    return Check(
        "unpriced",
        "warn",
        f"{calls:,} call(s) of {len(rows)} model(s) have no price: their cost is unknown"
        " (margindash prices set / prices alias, then margindash reprice)",
        details,
    )


def _prices(store: Store, now: datetime, max_age_days: int) -> Check:
    from margindash_cli.pricing.catalog import load_shipped_catalog  # lazy: start-up

    synced = store.get_meta("last_price_sync")
    shipped = load_shipped_catalog().version
    candidates = [(_parse_time(shipped), "the shipped catalog")]
    if synced:
        candidates.append((_parse_time(synced), "sync-prices"))
    when, source = max(((t, s) for t, s in candidates if t is not None), default=(None, ""), key=lambda x: x[0])
    if when is None:
        return Check("prices", "warn", "the age of the prices is unknown; run margindash sync-prices")
    age = now - when
    text = f"prices as of {when.date().isoformat()} ({source}), {age.days} day(s) old"
    if age > timedelta(days=max_age_days):
        return Check(
            "prices", "warn", f"{text}: older than {max_age_days} days; run margindash sync-prices (cron it daily)"
        )
    return Check("prices", "ok", text)


def _stripe(store: Store, now: datetime, max_age_hours: int) -> Check:
    last = store.stripe.last_stripe_sync()
    if last is None:
        return Check("stripe", "info", "sync-stripe has never run on this store")
    when = _parse_time(last)
    if when is None:
        return Check("stripe", "warn", f"the last sync-stripe time {last!r} cannot be read")
    hours = (now - when) / timedelta(hours=1)
    text = f"last sync-stripe {when.isoformat().replace('+00:00', 'Z')}, {hours:.0f} hour(s) ago"
    if hours > max_age_hours:
        return Check("stripe", "warn", f"{text}: older than {max_age_hours} hours; is its cron job running?")
    return Check("stripe", "ok", text)


def _costs(store: Store, now: datetime) -> Check:
    """#18: the billed side: when each source last synced, and recent provider days off their bill."""
    from margindash_cli.reconcile.compute import DEFAULT_TOLERANCE_PCT, day_iso  # lazy: start-up
    from margindash_cli.reconcile.run import over_tolerance_days  # lazy: start-up

    syncs = store.costs.cost_sync_rows()
    if not syncs:
        return Check("costs", "info", "no bill synced yet (margindash sync-costs, or margindash costs import FILE)")
    details: list[dict[str, Any]] = []
    stale = []
    for s in syncs:
        details.append({"source": s.source, "last_sync": s.synced_at, "through": day_iso(s.last_end_day - 1)})
        when = _parse_time(s.synced_at)
        if (
            s.source in ("openai", "anthropic")
            and when is not None
            and now - when > timedelta(hours=COSTS_MAX_AGE_HOURS)
        ):
            stale.append(s.source)
    today = (now.astimezone(UTC).date() - EPOCH_DATE).days
    recent = over_tolerance_days(store, today - COSTS_RECENT_DAYS)
    for r in recent[:20]:
        pct = r.gap_pct()
        details.append({"provider": r.provider, "day": r.period, "gap_pct": None if pct is None else format(pct, "f")})
    last = ", ".join(f"{s.source} {s.synced_at}" for s in syncs)
    if stale:
        return Check(
            "costs",
            "warn",
            f"sync-costs last ran over {COSTS_MAX_AGE_HOURS} hours ago for {', '.join(stale)}; is its cron job"
            f" running? (last: {last})",
            details,
        )
    if recent:
        return Check(
            "costs",
            "warn",
            f"{len(recent)} provider day(s) of the last {COSTS_RECENT_DAYS} are off their bill by more than"
            f" {DEFAULT_TOLERANCE_PCT}% (margindash reconcile --period 30d shows why); last sync: {last}",
            details,
        )
    return Check(
        "costs", "ok", f"last sync: {last}; no recent day off its bill by more than {DEFAULT_TOLERANCE_PCT}%", details
    )


def _alerts(store: Store, now: datetime) -> Check:
    now_ms = int(now.timestamp() * 1000)
    stuck = []
    for budget, level, _start, channel, state, claimed_at, _sent, attempts, error in store.budgets.alert_rows():
        if state == "failed" or (state == "pending" and claimed_at < now_ms - ALERT_STALE_MS):
            stuck.append(
                {
                    "budget": budget,
                    "level": level,
                    "channel": channel,
                    "state": state,
                    "attempts": attempts,
                    "error": error,
                }
            )
    if stuck:
        return Check(
            "alerts", "warn", f"{len(stuck)} budget alert(s) not delivered yet (the next budget check retries)", stuck
        )
    return Check("alerts", "ok", "every budget alert claimed was delivered")


def _checkpoints(store: Store) -> Check:
    details = []
    for path, identity, offset, line, updated_at in store.sources.source_rows():
        if path == "-":
            continue
        entry: dict[str, Any] = {"path": path, "offset": offset, "line": line, "updated_at": updated_at}
        try:
            size = os.path.getsize(path)
        except OSError:
            entry["state"] = "file gone (rotated away or moved)"
        else:
            if path.endswith(".gz"):
                entry["state"] = "read"
            elif size > offset:
                entry["state"] = f"{size - offset:,} byte(s) not read yet"
            elif size < offset:
                entry["state"] = "smaller than what was read: the next ingest reads it from the start"
            else:
                entry["state"] = "read to the end"
        entry["identity"] = identity
        details.append(entry)
    if not details:
        return Check("checkpoints", "info", "no file has been ingested yet")
    return Check("checkpoints", "info", f"{len(details)} ingested file checkpoint(s)", details)


def _schema(store: Store) -> Check:
    names = store.health.applied_migrations()
    return Check(
        "schema",
        "ok",
        f"schema {names[-1] if names else '(none)'} ({len(names)} migration(s))",
        [{"migration": n} for n in names],
    )


def _parse_time(text: str | None) -> datetime | None:
    """A UTC datetime from an ISO date or date-time (naive = UTC); None when it is not one."""
    if not text:
        return None
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
