"""Budgets: limits, calendar periods, levels, projections, alert texts and the blocklist. Pure: no I/O.

Invariants:
- Money is exact: limits are Decimal USD, spend is integer picodollars, percentages are Decimal.
  Nothing is rounded until it is rendered.
- A period is calendar-aligned in the budget's time zone: a day starts at local midnight, a week on
  Monday at local midnight, a month on the 1st at local midnight. Bounds are UTC epoch ms, [start, end).
- Spend is the priced cost of the period; calls with no price are counted apart (`unpriced_events`)
  and shown as a risk, never added as $0 and never dropped.
- Levels, lowest first: ok < warning (spend >= warn % of the limit) < critical (>= critical %) <
  exceeded (spend >= the limit: the budget is used up, so the next call would go over it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from margindash_cli.core.money import PICO_PER_USD, display_usd, pico_to_usd
from margindash_cli.core.periods import EPOCH, zone
from margindash_cli.errors import UsageError

LEVELS = ("ok", "warning", "critical", "exceeded")  # lowest first
EXIT_CODES = {"ok": 0, "warning": 3, "critical": 4, "exceeded": 5}  # `budget check` exit code per highest level
FAIL_ON = ("warning", "critical", "exceeded")  # values of `budget check --fail-on`
PERIOD_KINDS = ("day", "week", "month")
SCOPES = ("org", "feature", "customer")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,63}$")  # budget names: safe in a shell, a file and a subject line
MAX_LIMIT_USD = Decimal(10) ** 12  # a limit above a trillion dollars is a typo
TOP_N = 5  # contributors named in an alert
BLOCKLIST_VERSION = 1  # of the blocklist file the guard reads


@dataclass(frozen=True)
class Budget:
    name: str
    scope: str  # org | feature | customer
    scope_id: str  # feature name or customer id; "" for org
    limit_usd: Decimal
    period: str  # day | week | month
    tz: str
    warn_pct: Decimal
    critical_pct: Decimal
    emails: tuple[str, ...] = ()

    @property
    def scope_text(self) -> str:
        return "org" if self.scope == "org" else f"{self.scope}:{self.scope_id}"

    @property
    def limit_pico(self) -> int:
        return int(self.limit_usd * PICO_PER_USD)


@dataclass(frozen=True)
class Period:
    kind: str
    tz: str
    start_ms: int
    end_ms: int
    first_day: date  # local dates, inclusive
    last_day: date

    @property
    def label(self) -> str:
        if self.kind == "day":
            return self.first_day.isoformat()
        if self.kind == "week":
            year, week, _ = self.first_day.isocalendar()
            return f"{year}-W{week:02d} ({self.first_day.isoformat()} to {self.last_day.isoformat()})"
        return self.first_day.strftime("%Y-%m")


@dataclass(frozen=True)
class Spend:
    cost_pico: int = 0  # priced cost
    unpriced_events: int = 0  # calls in scope with no price: their cost is unknown, not zero
    events: int = 0


@dataclass(frozen=True)
class BudgetStatus:
    budget: Budget
    period: Period
    spend: Spend
    pct_used: Decimal  # of the limit, exact
    level: str
    projected_pico: int | None  # spend at the period's end at the current burn rate; None before the period starts

    @property
    def projected_pct(self) -> Decimal | None:
        if self.projected_pico is None:
            return None
        return Decimal(self.projected_pico) * 100 / self.budget.limit_pico

    @property
    def blocks(self) -> bool:
        """Whether the guard should refuse calls in this budget's scope (org budgets only alert)."""
        return self.level == "exceeded" and self.budget.scope != "org"


@dataclass(frozen=True)
class AlertMessage:
    subject: str
    text: str
    message_id: str  # the same for the same alert key, so a mail client can fold a rare duplicate


# ---- definitions ---------------------------------------------------------------------------------


def parse_scope(text: str) -> tuple[str, str]:
    """('org', '') from `org`; ('feature', NAME) from `feature:NAME`; ('customer', ID) from `customer:ID`."""
    kind, sep, ident = text.strip().partition(":")
    kind = kind.lower()
    if kind == "org" and not sep:
        return "org", ""
    if kind in ("feature", "customer") and sep and ident.strip():
        return kind, ident.strip()
    raise UsageError(f"unknown --scope {text!r}", "use org, feature:NAME (an event_type) or customer:ID")


def make_budget(
    name: str,
    *,
    scope: str,
    limit_usd: str,
    period: str,
    tz: str = "UTC",
    warn: str = "75",
    critical: str = "90",
    emails: list[str] | tuple[str, ...] = (),
) -> Budget:
    """A validated budget from command-line text; raises UsageError naming the bad value."""
    if not NAME_RE.match(name):
        raise UsageError(
            f"budget name {name!r} is not allowed",
            "use letters, digits and . _ - : @ (up to 64), starting with a letter or digit",
        )
    kind, ident = parse_scope(scope)
    limit = _decimal(limit_usd, "--limit-usd")
    if limit <= 0:
        raise UsageError(
            f"--limit-usd {limit_usd} must be more than 0",
            "a limit is a positive amount of US dollars, e.g. 500 or 12.50",
        )
    if limit > MAX_LIMIT_USD:
        raise UsageError(f"--limit-usd {limit_usd} is implausibly large")
    if limit != limit.quantize(Decimal(1).scaleb(-12)):
        raise UsageError(f"--limit-usd {limit_usd} has more than 12 decimals")
    if period not in PERIOD_KINDS:
        raise UsageError(f"unknown --period {period!r}", "use day, week (Monday to Sunday) or month")
    zone(tz)  # raises on an unknown zone
    warn_pct, critical_pct = _decimal(warn, "--warn"), _decimal(critical, "--critical")
    for opt, value in (("--warn", warn_pct), ("--critical", critical_pct)):
        if not 0 < value <= 100:
            raise UsageError(f"{opt} {value} must be a percentage above 0 and at most 100")
    if warn_pct > critical_pct:
        raise UsageError(
            f"--warn {warn_pct} is above --critical {critical_pct}",
            "the warning threshold must be at or below the critical one",
        )
    clean_emails = []
    for raw in emails:
        for addr in raw.split(","):
            addr = addr.strip()
            if not addr:
                continue
            if not re.fullmatch(r"[^@\s<>,]+@[^@\s<>,]+\.[^@\s<>,]+", addr):
                raise UsageError(f"--email {addr!r} is not an email address")
            if addr not in clean_emails:
                clean_emails.append(addr)
    return Budget(
        name,
        kind,
        ident,
        limit,
        period,
        "UTC" if tz.upper() == "UTC" else tz,
        warn_pct,
        critical_pct,
        tuple(clean_emails),
    )


def _decimal(text: str, option: str) -> Decimal:
    try:
        value = Decimal(text.strip().removeprefix("$").replace(",", ""))
    except InvalidOperation:
        raise UsageError(f"{option} {text!r} is not a number") from None
    if not value.is_finite():
        raise UsageError(f"{option} {text!r} is not a finite number")
    return value


# ---- periods -------------------------------------------------------------------------------------


def epoch_ms(dt: datetime) -> int:
    return (dt - EPOCH) // timedelta(milliseconds=1)


def current_period(kind: str, tz_name: str, now: datetime) -> Period:
    """The calendar period (day, week from Monday, month) that contains `now`, in the zone `tz_name`."""
    tz = zone(tz_name)
    today = now.astimezone(tz).date()
    if kind == "day":
        first, end = today, today + timedelta(days=1)
    elif kind == "week":
        first = today - timedelta(days=today.weekday())
        end = first + timedelta(days=7)
    elif kind == "month":
        first = today.replace(day=1)
        end = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    else:
        raise ValueError(f"unknown period {kind!r}")
    start_ms = epoch_ms(datetime.combine(first, time(0), tzinfo=tz))
    end_ms = epoch_ms(datetime.combine(end, time(0), tzinfo=tz))
    return Period(kind, tz_name, start_ms, end_ms, first, end - timedelta(days=1))


def iso_utc(ms: int) -> str:
    """`2026-11-01T00:00:00Z` (milliseconds only when there are some)."""
    dt = EPOCH + timedelta(milliseconds=ms)
    text = dt.strftime("%Y-%m-%dT%H:%M:%S")
    if ms % 1000:
        text += f".{ms % 1000:03d}"
    return text + "Z"


# ---- evaluation ----------------------------------------------------------------------------------


def level_for(budget: Budget, spend_pico: int) -> str:
    limit = budget.limit_pico
    if spend_pico >= limit:
        return "exceeded"
    pct = Decimal(spend_pico) * 100 / limit
    if pct >= budget.critical_pct:
        return "critical"
    if pct >= budget.warn_pct:
        return "warning"
    return "ok"


def evaluate(budget: Budget, period: Period, spend: Spend, now_ms: int) -> BudgetStatus:
    """A budget's level, % used and projection to the period's end at the burn rate so far."""
    pct = Decimal(spend.cost_pico) * 100 / budget.limit_pico
    elapsed = min(now_ms, period.end_ms) - period.start_ms
    projected = None if elapsed <= 0 else spend.cost_pico * (period.end_ms - period.start_ms) // elapsed
    return BudgetStatus(budget, period, spend, pct, level_for(budget, spend.cost_pico), projected)


def highest_level(statuses: list[BudgetStatus]) -> str:
    return max((s.level for s in statuses), key=LEVELS.index, default="ok")


def exit_code(statuses: list[BudgetStatus], fail_on: str) -> int:
    """0 unless some budget is at or above `fail_on`; then 3, 4 or 5 for the highest level reached."""
    top = highest_level(statuses)
    return EXIT_CODES[top] if LEVELS.index(top) >= LEVELS.index(fail_on) else 0


def alert_levels_at_or_above(level: str) -> list[str]:
    """An alert is not sent when one at this level or higher was already sent in the period."""
    return list(LEVELS[LEVELS.index(level) :])


# ---- what is shown -------------------------------------------------------------------------------


def pct_text(pct: Decimal | None) -> str:
    if pct is None:
        return "-"
    return f"{pct.quantize(Decimal('0.1'))}%"


def pct_json(pct: Decimal | None, places: str = "0.01") -> float | None:
    """A percentage in JSON: a number, as `margin_pct` is in every report envelope (#16: one type)."""
    return None if pct is None else float(pct.quantize(Decimal(places)) if places else pct)


def status_json(s: BudgetStatus) -> dict[str, Any]:
    b, p = s.budget, s.period
    projected_pct = s.projected_pct
    return {
        "name": b.name,
        "scope": b.scope_text,
        "period": b.period,
        "tz": b.tz,
        "period_label": p.label,
        "period_start": iso_utc(p.start_ms),
        "period_end": iso_utc(p.end_ms),
        "limit_usd": format(b.limit_usd, "f"),
        "spend_usd": format(pico_to_usd(s.spend.cost_pico), "f"),
        "pct_used": pct_json(s.pct_used),
        "level": s.level,
        "warn_pct": pct_json(b.warn_pct, ""),
        "critical_pct": pct_json(b.critical_pct, ""),
        "events": s.spend.events,
        "unpriced_events": s.spend.unpriced_events,
        "projected_usd": None if s.projected_pico is None else format(pico_to_usd(s.projected_pico), "f"),
        "projected_pct": pct_json(projected_pct),
        "emails": list(b.emails),
    }


def budget_json(b: Budget) -> dict[str, Any]:
    return {
        "name": b.name,
        "scope": b.scope_text,
        "limit_usd": format(b.limit_usd, "f"),
        "period": b.period,
        "tz": b.tz,
        "warn_pct": pct_json(b.warn_pct, ""),
        "critical_pct": pct_json(b.critical_pct, ""),
        "emails": list(b.emails),
    }


def more_command(s: BudgetStatus) -> str:
    """The report that shows what is behind a budget's spend, for the period of the alert."""
    b, p = s.budget, s.period
    parts = ["margindash report"]
    if b.scope == "customer":
        parts += ["--by feature", f"--customer {_shell(b.scope_id)}"]
    else:
        parts += ["--by customer"]
        if b.scope == "feature":
            parts += [f"--feature {_shell(b.scope_id)}"]
    parts += [f"--since {p.first_day.isoformat()}", f"--until {p.last_day.isoformat()}"]
    if b.tz != "UTC":
        parts += [f"--tz {b.tz}"]
    return " ".join(parts)


def _shell(text: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9._:@/+-]+", text):
        return text
    return "'" + text.replace("'", "'\"'\"'") + "'"


def contributors_kind(b: Budget) -> str:
    """What an alert lists as the spend behind a budget: features of a customer, else customers."""
    return "feature" if b.scope == "customer" else "customer"


def alert_message(s: BudgetStatus, top: list[tuple[str | None, int]], alert_key: str) -> AlertMessage:
    """The email (and webhook) text of an alert: budget, spend, limit, %, period, top contributors, next command."""
    import hashlib  # lazy: start-up

    b, p = s.budget, s.period
    spend, limit = display_usd(s.spend.cost_pico, pico=True), display_usd(b.limit_usd)
    subject = (
        f"[margindash] {s.level.upper()}: budget {b.name} at {pct_text(s.pct_used)} ({spend} of {limit}, {p.label})"
    )
    kind = contributors_kind(b)
    lines = [
        f"Budget {b.name} ({b.scope_text}, per {b.period}) is at level {s.level}.",
        "",
        f"Spend:   {spend} of {limit} ({pct_text(s.pct_used)} used)",
        f"Period:  {p.label} ({b.tz}), {iso_utc(p.start_ms)} to {iso_utc(p.end_ms)}",
        f"Levels:  warning at {b.warn_pct}%, critical at {b.critical_pct}%, exceeded at 100%",
    ]
    if s.projected_pico is not None:
        lines.append(
            f"Projected at the current burn rate: {display_usd(s.projected_pico, pico=True)} ({pct_text(s.projected_pct)}) by the end of the period"
        )
    if s.spend.unpriced_events:
        lines.append(
            f"Risk: {s.spend.unpriced_events:,} call(s) in scope have no price and are not in the spend; the real spend may be higher."
        )
    if top:
        lines += ["", f"Top {kind}s behind it:"]
        for name, pico in top:
            lines.append(
                f"  {name if name is not None else '(unattributed)' if kind == 'customer' else '(none)'}: {display_usd(pico, pico=True)}"
            )
    if s.blocks:
        lines += [
            "",
            f"Calls for {b.scope_text} are now on the blocklist until {iso_utc(p.end_ms)} (when --blocklist is used).",
        ]
    lines += ["", "See more:", f"  {more_command(s)}", "", "-- margindash budget check"]
    digest = hashlib.blake2b(alert_key.encode(), digest_size=12).hexdigest()
    return AlertMessage(subject, "\n".join(lines) + "\n", f"<alert-{digest}@margindash>")


def alert_key(s: BudgetStatus) -> str:
    """The unique key of an alert: budget, level and period start (one alert per key per channel, ever)."""
    return f"{s.budget.name}/{s.level}/{iso_utc(s.period.start_ms)}"


def webhook_payload(s: BudgetStatus, message: AlertMessage) -> dict[str, Any]:
    """A JSON body a Slack incoming webhook accepts (`text`), with the figures for other receivers."""
    return {"text": message.subject + "\n" + message.text, "margindash": {"alert_key": alert_key(s), **status_json(s)}}


def blocklist_payload(statuses: list[BudgetStatus], generated_at_ms: int, ttl_seconds: int) -> dict[str, Any]:
    """The blocklist file: customers and features over a budget, each until its period ends."""
    blocked = sorted(
        (
            {
                "scope": s.budget.scope,
                "id": s.budget.scope_id,
                "budget": s.budget.name,
                "period_end": iso_utc(s.period.end_ms),
            }
            for s in statuses
            if s.blocks
        ),
        key=lambda e: (e["scope"], e["id"], e["budget"]),
    )
    return {
        "version": BLOCKLIST_VERSION,
        "generated_at": iso_utc(generated_at_ms),
        "ttl_seconds": ttl_seconds,
        "blocked": blocked,
    }


@dataclass
class LevelCounts:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LEVELS, 0))

    @classmethod
    def of(cls, statuses: list[BudgetStatus]) -> LevelCounts:
        out = cls()
        for s in statuses:
            out.counts[s.level] += 1
        return out
