"""Run budgets against a store: spend of each current period, alerts sent once, the blocklist file.

The glue between `store` (SQLite), `budgets` (pure) and `alerts` (SMTP and webhook).

Each alert goes out once per budget, level, period and channel, ever, in three steps:
1. claim: the row (budget, level, period start, channel) is written as `pending` in a write transaction,
   unless it, or a higher level of the same period, is already `sent`, or `pending` and fresh. Runs that
   overlap (two cron jobs, a CI job) serialize on that transaction, so only one of them sends.
2. send.
3. record: the row becomes `sent`; a failed send becomes `failed`, which the next run claims again.

Claiming before sending means nothing is lost for good: a `pending` row older than CLAIM_STALE_MS
belongs to a run that crashed, and the next run sends it. The one duplicate this allows: a run that
dies after the mail server accepted the email and before step 3 commits (a window of milliseconds)
makes a run at least CLAIM_STALE_MS later send it once more. Recording before sending would close
that window by losing the email instead; a rare duplicate (with the same Message-ID, which mail
clients can fold) is better than a breach nobody hears about. It can never become a storm: each
later run finds the row `sent`, or `pending` and fresh.

The blocklist file is written whole to a temporary file in its own folder and renamed over the old
one, so a reader (the guard) sees the old list or the new one, never half of one.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from margindash_cli.budgets import compute as core
from margindash_cli.budgets.compute import Budget, BudgetStatus, Period, Spend
from margindash_cli.clients.alerts import AlertError, SmtpConfig, check_webhook_url, post_webhook, send_email
from margindash_cli.errors import MarginDashError
from margindash_cli.store.db import Store

SCHEMA_VERSION = 1  # of the JSON that `budget list` and `budget check` print
CLAIM_STALE_MS = 10 * 60 * 1000  # a pending claim this old belongs to a run that crashed; the next run sends it
DEFAULT_BLOCKLIST_TTL = 60  # seconds a reader may cache the blocklist (the guard re-reads at most this often)


@dataclass
class AlertOutcome:
    budget: str
    level: str
    channel: str  # email | webhook
    status: str  # sent | already_sent | in_progress | failed
    error: str | None = None
    note: str | None = None


ALERT_FAILED_EXIT = 6  # `budget check`: an alert could not be delivered (and no level code applies)


@dataclass
class SavedBudget:
    """`budget set`: the budget as stored, and whether it is new."""

    budget: Budget
    created: bool

    def to_json(self) -> dict[str, Any]:
        return {**core.budget_json(self.budget), "created": self.created}


@dataclass
class BudgetList:
    """`budget list`: every budget's status at `now`."""

    statuses: list[BudgetStatus]
    now: datetime

    def to_json(self) -> dict[str, Any]:
        return list_json(self.statuses, self.now)


@dataclass
class CheckResult:
    generated_at_ms: int
    fail_on: str
    statuses: list[BudgetStatus]
    alerts: list[AlertOutcome] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    blocklist_path: str | None = None
    blocked: int = 0

    blocklist_failed: bool = False

    def to_json(self) -> dict[str, Any]:
        return check_json(self)

    @property
    def exit_code(self) -> int:
        """3/4/5 for the highest level at or above --fail-on; else 1 when the blocklist could not be written; else
        ALERT_FAILED_EXIT (6) when an alert could not be delivered; else 0. A delivery failure has its own code, so
        a CI job can tell "an alert is stuck" from "a budget is breached" and from a broken run."""
        code = core.exit_code(self.statuses, self.fail_on)
        if code:
            return code
        if self.blocklist_failed:
            return 1
        return ALERT_FAILED_EXIT if any(a.status == "failed" for a in self.alerts) else 0


# ---- definitions ---------------------------------------------------------------------------------


def save_budget(store: Store, budget: Budget) -> bool:
    """Create or replace a budget; True when it is new."""
    return store.budgets.save_budget(
        budget.name,
        budget.scope,
        budget.scope_id,
        format(budget.limit_usd, "f"),
        budget.period,
        budget.tz,
        format(budget.warn_pct, "f"),
        format(budget.critical_pct, "f"),
        orjson.dumps(list(budget.emails)).decode(),
    )


def load_budgets(store: Store) -> list[Budget]:
    return [
        Budget(
            name,
            scope,
            scope_id,
            Decimal(limit),
            period,
            tz,
            Decimal(warn),
            Decimal(critical),
            tuple(orjson.loads(emails)),
        )
        for name, scope, scope_id, limit, period, tz, warn, critical, emails in store.budgets.budget_rows()
    ]


def remove_budget(store: Store, name: str) -> None:
    if not store.budgets.delete_budget(name):
        raise MarginDashError(f"no budget named {name!r}", "margindash budget list shows the budgets")


# ---- spend ---------------------------------------------------------------------------------------


def evaluate_all(store: Store, now: datetime) -> list[BudgetStatus]:
    """Every budget's current period, spend, level and projection, from one batch of queries."""
    budgets = load_budgets(store)
    if not budgets:
        return []
    periods: dict[str, Period] = {b.name: core.current_period(b.period, b.tz, now) for b in budgets}
    windows = sorted({(p.start_ms, p.end_ms) for p in periods.values()})
    facts = store.budgets.budget_spend(windows, customers={b.scope_id for b in budgets if b.scope == "customer"})
    now_ms = core.epoch_ms(now)
    out = []
    for b in budgets:
        p = periods[b.name]
        spend = facts[(p.start_ms, p.end_ms)]
        if b.scope == "org":
            cost, unpriced, events = spend.total
        else:
            cost, unpriced, events = (spend.customers if b.scope == "customer" else spend.features).get(
                b.scope_id, (0, 0, 0)
            )
        out.append(core.evaluate(b, p, Spend(cost, unpriced, events), now_ms))
    return out


def top_contributors(store: Store, s: BudgetStatus) -> list[tuple[str | None, int]]:
    """The customers (or, for a customer budget, the features) with the most spend in the budget's period."""
    b = s.budget
    rows = store.budgets.budget_breakdown(
        s.period.start_ms,
        s.period.end_ms,
        core.contributors_kind(b),
        customer=b.scope_id if b.scope == "customer" else None,
        feature=b.scope_id if b.scope == "feature" else None,
    )
    return rows[: core.TOP_N]


# ---- check ---------------------------------------------------------------------------------------


def run_check(
    store: Store,
    now: datetime,
    *,
    fail_on: str,
    webhook_url: str | None = None,
    blocklist_path: Path | None = None,
    blocklist_ttl: int = DEFAULT_BLOCKLIST_TTL,
    env: dict[str, str] | None = None,
) -> CheckResult:
    """Evaluate every budget, write the blocklist, and send each alert that has not gone out yet."""
    if webhook_url is not None:
        check_webhook_url(webhook_url)
    statuses = evaluate_all(store, now)
    result = CheckResult(core.epoch_ms(now), fail_on, statuses)
    if blocklist_path is not None:
        payload = core.blocklist_payload(statuses, result.generated_at_ms, blocklist_ttl)
        try:
            write_blocklist(blocklist_path, payload)
        except OSError as exc:
            result.errors.append(f"blocklist {blocklist_path}: cannot write ({exc.strerror or exc})")
            result.blocklist_failed = True
        else:
            result.blocklist_path = str(blocklist_path)
            result.blocked = len(payload["blocked"])
    smtp: SmtpConfig | None = None
    smtp_error: str | None = None
    if any(s.level != "ok" and s.budget.emails for s in statuses):
        try:
            smtp = SmtpConfig.from_env(env)
        except AlertError as exc:
            smtp_error = exc.message
        else:
            if smtp is None:
                smtp_error = "MARGINDASH_SMTP_URL is not set"
    for s in statuses:
        if s.level == "ok":
            continue
        sender = _Sender(store, s)
        if s.budget.emails:
            if smtp is None:
                outcome = AlertOutcome(s.budget.name, s.level, "email", "failed", smtp_error)
            else:
                config = smtp
                outcome = sender.deliver(
                    "email",
                    lambda m, config=config, s=s: send_email(
                        config, list(s.budget.emails), m.subject, m.text, m.message_id
                    ),
                )
            _record(result, outcome)
        if webhook_url is not None:
            url = webhook_url
            _record(
                result, sender.deliver("webhook", lambda m, url=url, s=s: post_webhook(url, core.webhook_payload(s, m)))
            )
    return result


def _record(result: CheckResult, outcome: AlertOutcome) -> None:
    result.alerts.append(outcome)
    if outcome.status == "failed":
        result.errors.append(f"{outcome.channel} alert for budget {outcome.budget} ({outcome.level}): {outcome.error}")


class _Sender:
    """Claims, sends and records one budget's alerts; builds its message once, only if something is sent."""

    def __init__(self, store: Store, status: BudgetStatus):
        self.store = store
        self.status = status
        self._message: core.AlertMessage | None = None

    def message(self) -> core.AlertMessage:
        if self._message is None:
            s = self.status
            self._message = core.alert_message(s, top_contributors(self.store, s), core.alert_key(s))
        return self._message

    def deliver(self, channel: str, send: Any) -> AlertOutcome:
        s = self.status
        if self.store.readonly:  # no claim can be recorded: a send now would go again on every run, so none goes
            return AlertOutcome(s.budget.name, s.level, channel, "failed", READONLY_NOT_SENT)
        key = (s.budget.name, s.level, s.period.start_ms, channel)
        claim = self.store.budgets.claim_alert(
            *key, blocking_levels=core.alert_levels_at_or_above(s.level), now_ms=_clock_ms(), stale_ms=CLAIM_STALE_MS
        )
        if claim != "claimed":
            return AlertOutcome(s.budget.name, s.level, channel, "already_sent" if claim == "sent" else "in_progress")
        try:
            refused = send(self.message())
        except AlertError as exc:
            error: str | None = exc.message
        except Exception as exc:  # noqa: BLE001 - one broken alert must not stop the others; the claim is released for a retry
            error = f"unexpected {type(exc).__name__}"
        else:
            error = None
        self.store.budgets.finish_alert(*key, error=error, now_ms=_clock_ms())
        if error is not None:
            return AlertOutcome(s.budget.name, s.level, channel, "failed", error)
        note = f"refused by the server: {', '.join(refused)}" if refused else None
        return AlertOutcome(s.budget.name, s.level, channel, "sent", note=note)


READONLY_NOT_SENT = "not sent: the store is read-only (permissions or mount), so the alert could not be recorded as sent"  # the error of an alert due on a read-only store (#17); it goes out on the next run where the store can be written


def readonly_warning(store: Store, result: CheckResult) -> str | None:
    """What a check on a read-only store could not do: record (and so send) the alerts that were due."""
    unsent = sum(a.error == READONLY_NOT_SENT for a in result.alerts)
    if not store.readonly or not unsent:
        return None
    return (
        f"the store {store.path} is read-only (permissions or mount): the budgets were checked, but {unsent} alert(s)"
        " due could not be recorded, so none was sent; run budget check as a user who can write the store"
    )


def _clock_ms() -> int:
    """The wall clock for claims (never MARGINDASH_NOW: staleness is about real time)."""
    return time.time_ns() // 1_000_000


def write_blocklist(path: Path, payload: dict[str, Any]) -> None:
    """Write the file atomically: a temporary file in the same folder, flushed to disk, then renamed over it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(orjson.dumps(payload, option=orjson.OPT_INDENT_2) + b"\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


# ---- output --------------------------------------------------------------------------------------


def list_json(statuses: list[BudgetStatus], now: datetime) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_at": core.iso_utc(core.epoch_ms(now)),
        "currency": "USD",
        "budgets": [core.status_json(s) for s in statuses],
    }


def check_json(result: CheckResult) -> dict[str, Any]:
    alerts: dict[str, list[dict[str, Any]]] = {}
    for a in result.alerts:
        alerts.setdefault(a.budget, []).append(
            {"channel": a.channel, "level": a.level, "status": a.status, "error": a.error, "note": a.note}
        )
    counts = core.LevelCounts.of(result.statuses).counts
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_at": core.iso_utc(result.generated_at_ms),
        "currency": "USD",
        "fail_on": result.fail_on,
        "exit_code": result.exit_code,
        "highest_level": core.highest_level(result.statuses),
        "levels": counts,
        "budgets": [{**core.status_json(s), "alerts": alerts.get(s.budget.name, [])} for s in result.statuses],
        "blocklist": None
        if result.blocklist_path is None
        else {"path": result.blocklist_path, "blocked": result.blocked},
        "errors": result.errors,
    }


def summary_line(result: CheckResult) -> str:
    """One line for CI logs: levels, alerts, blocklist and the exit code."""
    counts = core.LevelCounts.of(result.statuses).counts
    n = len(result.statuses)
    parts = [
        f"budget check: {n} budget{'s' if n != 1 else ''}: " + ", ".join(f"{counts[lv]} {lv}" for lv in core.LEVELS)
    ]
    sent = sum(a.status == "sent" for a in result.alerts)
    failed = sum(a.status == "failed" for a in result.alerts)
    if result.alerts:
        parts.append(f"{sent} alert{'s' if sent != 1 else ''} sent, {failed} failed")
    if result.blocklist_path is not None:
        parts.append(f"{result.blocked} blocked")
    parts.append(f"exit {result.exit_code}")
    return "; ".join(parts)


# ---- scopes that can never see spend (#17) ---------------------------------------------------------


def scope_warning(store: Store, budget: Budget) -> str | None:
    """Why a budget would stay at $0: its customer or feature has no stored call (with the closest known ids)."""
    if budget.scope == "org" or store.budgets.scope_has_calls(budget.scope, budget.scope_id):
        return None
    known = store.budgets.scope_ids_with_calls(budget.scope)
    import difflib  # lazy: start-up

    what = "customer" if budget.scope == "customer" else "feature"
    text = f"budget {budget.name}: no stored call has {what} {budget.scope_id!r}; its spend stays $0 until one does"
    close = difflib.get_close_matches(budget.scope_id, known, n=3, cutoff=0.6)
    if close:
        text += f" (did you mean {', '.join(f'{budget.scope}:{c}' for c in close)}?)"
    elif not known:
        text += f" (no call of any {what} is stored yet)"
    return text


def email_warning(budget: Budget) -> str | None:
    """Why this budget's alert emails cannot be sent: no (or a bad) MARGINDASH_SMTP_URL."""
    if not budget.emails:
        return None
    from margindash_cli.clients.alerts import SMTP_URL_ENV, AlertError, SmtpConfig  # lazy: start-up

    try:
        config = SmtpConfig.from_env()
    except AlertError as exc:
        return f"budget {budget.name}: its alert emails cannot be sent: {exc.message}"
    if config is None:
        return (
            f"budget {budget.name}: its alert emails cannot be sent: {SMTP_URL_ENV} is not set"
            f" (set it where `budget check` runs; a failed alert makes it exit {ALERT_FAILED_EXIT})"
        )
    return None
