"""The guard: refuse a call for a customer or feature that is over budget, and spool its usage. No proxy.

    from margindash_cli.budgets.guard import Guard, BudgetExceeded

    guard = Guard(blocklist="blocklist.json", spool="usage.jsonl", ttl_seconds=30)
    try:
        reply = guard.guarded_call(client.chat.completions.create, customer_id="acme", event_type="chat", model=..., messages=...)
    except BudgetExceeded as exc:
        ...  # tell the user; exc.scope, exc.id, exc.budget, exc.period_end
    guard.add_usage(vendor="openai", model=reply.model, input_tokens=reply.usage.prompt_tokens,
                    output_tokens=reply.usage.completion_tokens)
    guard.track(customer_id="acme", event_type="chat")

Invariants:
- Standard library only: importing this module never loads the CLI stack (Typer, Rich, Click,
  sqlite-utils, pydantic), so it is cheap to import in an app.
- The blocklist (written by `margindash budget check --blocklist FILE`) is read at most once per
  TTL: the guard's `ttl_seconds`, or the file's own `ttl_seconds` when that is shorter. An entry
  stops blocking when its `period_end` has passed, even before the file is rewritten. A missing or
  unreadable blocklist fails open: calls go through, with one warning (logger `margindash_cli.budgets.guard`)
  until it is readable again. Unreadable includes anything but a regular file (a FIFO is opened
  non-blocking and never read), a file over MAX_BLOCKLIST_BYTES, JSON nested past the parser's
  recursion limit, and any value of the wrong type or size: the guard never raises or hangs
  inside the app's call for its blocklist.
- The spool gets canonical usage events, one JSON object per line, each with a unique `request_id`
  (a uuid4 unless you pass your own), so `margindash ingest` never counts one twice. Each `track()`
  appends its lines with one write() under an exclusive flock on an O_APPEND descriptor, so lines
  from many threads and processes never interleave: a reader sees whole lines only (a line still
  being written has no newline yet, and ingest waits for it).
- Usage added with `add_usage()` is buffered per thread and per asyncio task (a ContextVar) until
  `track()` names the customer and feature it belongs to.
"""

from __future__ import annotations

import contextvars
import fcntl
import json
import logging
import os
import stat
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

__all__ = ["BudgetExceeded", "Guard"]

LOG = logging.getLogger("margindash_cli.budgets.guard")
BLOCKLIST_VERSION = 1  # the blocklist format this guard reads
MAX_BLOCKLIST_BYTES = 16 << 20  # a bigger blocklist is refused (fails open): `budget check` writes ~100 bytes per entry
MAX_TTL_SECONDS = 86_400.0  # a file's ttl_seconds above this (or not finite) is read as this
T = TypeVar("T")


class BudgetExceeded(Exception):
    """A call was refused because its customer or feature is over a budget."""

    def __init__(self, scope: str, id: str, budget: str, period_end: str):  # noqa: A002 - the blocklist's own field name
        super().__init__(f"{scope} {id!r} is over budget {budget!r} until {period_end}")
        self.scope = scope
        self.id = id
        self.budget = budget
        self.period_end = period_end


class Guard:
    """Checks calls against the blocklist file and appends usage events to the spool file."""

    def __init__(
        self,
        blocklist: str | os.PathLike[str] | None = None,
        spool: str | os.PathLike[str] | None = None,
        ttl_seconds: float = 30,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ):
        if ttl_seconds < 0:
            raise ValueError("ttl_seconds must be 0 or more")
        self.blocklist = None if blocklist is None else os.fspath(blocklist)
        self.spool = None if spool is None else os.fspath(spool)
        self.ttl_seconds = float(ttl_seconds)
        self._clock = clock
        self._wall_clock = wall_clock
        self._lock = threading.Lock()
        self._next_read: float | None = None
        self._blocked: dict[
            tuple[str, str], list[tuple[float, str, str]]
        ] = {}  # (scope, id) -> [(period end, budget, end text)]
        self._warned = False
        self._usage: contextvars.ContextVar[tuple[dict[str, Any], ...]] = contextvars.ContextVar(
            f"margindash_usage_{id(self)}", default=()
        )

    # ---- blocking ------------------------------------------------------------------------------

    def check(self, customer_id: str | None = None, event_type: str | None = None) -> None:
        """Raise BudgetExceeded when the customer or the feature is blocked; return otherwise."""
        if self.blocklist is None:
            return
        blocked = self._current_blocklist()
        if not blocked:
            return
        now = self._wall_clock()
        for key in (("customer", customer_id), ("feature", event_type)):
            if key[1] is None:
                continue
            for end, budget, end_text in blocked.get((key[0], str(key[1])), ()):
                if end > now:
                    raise BudgetExceeded(key[0], str(key[1]), budget, end_text)

    def guarded_call(
        self,
        fn: Callable[..., T],
        *args: Any,
        customer_id: str | None = None,
        event_type: str | None = None,
        **kwargs: Any,
    ) -> T:
        """Call fn(*args, **kwargs) and return its result, unless the customer or feature is blocked: then
        raise BudgetExceeded without calling it."""
        self.check(customer_id=customer_id, event_type=event_type)
        return fn(*args, **kwargs)

    def _current_blocklist(self) -> dict[tuple[str, str], list[tuple[float, str, str]]]:
        now = self._clock()
        if self._next_read is not None and now < self._next_read:
            return self._blocked
        with self._lock:
            if self._next_read is not None and now < self._next_read:  # another thread just read it
                return self._blocked
            ttl = self.ttl_seconds
            try:
                blocked, file_ttl = _read_blocklist(self.blocklist or "")
            except Exception as exc:  # noqa: BLE001 - whatever the file holds, the app's call goes on (fails open)
                if not self._warned:
                    LOG.warning(
                        "margindash guard: blocklist %s is unreadable (%s); failing open, calls are not blocked",
                        self.blocklist,
                        _reason(exc),
                    )
                    self._warned = True
                blocked = {}
            else:
                self._warned = False
                if file_ttl is not None:
                    ttl = min(ttl, file_ttl)
            self._blocked = blocked
            self._next_read = now + ttl
            return blocked

    # ---- usage ---------------------------------------------------------------------------------

    def add_usage(
        self,
        *,
        model: str,
        input_tokens: int = 0,
        output_tokens: int = 0,
        vendor: str | None = None,
        cached_input_tokens: int = 0,
        cache_write_tokens: int = 0,
        cache_write_1h_tokens: int = 0,
        reasoning_tokens: int = 0,
        service_tier: str | None = None,
        cost_usd: str | None = None,
        units: dict[str, Any] | None = None,
        timestamp: datetime | None = None,
    ) -> None:
        """Remember one LLM call's usage (tokens as the canonical event counts them) until the next track()."""
        if not isinstance(model, str) or not model:
            raise ValueError("model is required")
        for name, value in (
            ("input_tokens", input_tokens),
            ("output_tokens", output_tokens),
            ("cached_input_tokens", cached_input_tokens),
            ("cache_write_tokens", cache_write_tokens),
            ("cache_write_1h_tokens", cache_write_1h_tokens),
            ("reasoning_tokens", reasoning_tokens),
        ):
            if type(value) is not int or value < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
        usage: dict[str, Any] = {"timestamp": _iso(timestamp or datetime.now(UTC)), "model": model}
        if vendor:
            usage["vendor"] = vendor
        usage.update(input_tokens=input_tokens, output_tokens=output_tokens)
        for name, value in (
            ("cached_input_tokens", cached_input_tokens),
            ("cache_write_tokens", cache_write_tokens),
            ("cache_write_1h_tokens", cache_write_1h_tokens),
            ("reasoning_tokens", reasoning_tokens),
        ):
            if value:
                usage[name] = value
        if service_tier:
            usage["service_tier"] = service_tier
        if cost_usd is not None:
            usage["cost_usd"] = str(cost_usd)  # a string keeps it exact
        if units:
            usage["units"] = dict(units)
        self._usage.set((*self._usage.get(), usage))

    def track(
        self,
        *,
        customer_id: str | None,
        event_type: str | None,
        revenue_amount_in_cents: int | None = None,
        request_id: str | None = None,
        segment: str | None = None,
        tags: dict[str, Any] | None = None,
    ) -> list[str]:
        """Append the usage added since the last track() to the spool, as one canonical event per call, for this
        customer and feature. Revenue goes on the first event only. Returns the request ids written.

        With one call, `request_id` is its id; with several, they are `request_id:1`, `request_id:2`, ...
        """
        usages = self._usage.get()
        if not usages:
            raise ValueError("nothing to track: call add_usage() first")
        if self.spool is None:
            raise ValueError("this Guard has no spool file")
        if revenue_amount_in_cents is not None and type(revenue_amount_in_cents) is not int:
            raise ValueError("revenue_amount_in_cents must be an integer number of cents")
        base = request_id or uuid.uuid4().hex
        lines, ids = [], []
        for i, usage in enumerate(usages):
            rid = base if len(usages) == 1 else f"{base}:{i + 1}"
            event = {**usage, "customer_id": customer_id, "event_type": event_type, "request_id": rid}
            if i == 0 and revenue_amount_in_cents is not None:
                event["revenue_amount_in_cents"] = revenue_amount_in_cents
            if segment is not None:
                event["segment"] = segment
            if tags:
                event["tags"] = tags
            lines.append(
                json.dumps({k: v for k, v in event.items() if v is not None}, separators=(",", ":"), ensure_ascii=False)
            )
            ids.append(rid)
        append_lines(self.spool, lines)
        self._usage.set(())
        return ids


def append_lines(path: str, lines: list[str]) -> None:
    """Append whole lines with one write() under an exclusive flock, so writers never interleave."""
    data = ("\n".join(lines) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            view = memoryview(data)
            while view:  # write() may be short (a signal, a full pipe); the lock keeps the rest contiguous
                view = view[os.write(fd, view) :]
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _read_blocklist(path: str) -> tuple[dict[tuple[str, str], list[tuple[float, str, str]]], float | None]:
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)  # non-blocking: a FIFO must not hang the app
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ValueError("not a regular file")
        if st.st_size > MAX_BLOCKLIST_BYTES:
            raise ValueError(f"{st.st_size:,} bytes, more than {MAX_BLOCKLIST_BYTES:,}")
        chunks, left = [], MAX_BLOCKLIST_BYTES + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        raw = b"".join(chunks)
    finally:
        os.close(fd)
    if len(raw) > MAX_BLOCKLIST_BYTES:
        raise ValueError(f"more than {MAX_BLOCKLIST_BYTES:,} bytes")
    data = json.loads(raw)  # its nesting is bounded by the recursion limit: RecursionError fails open like the rest
    if (
        not isinstance(data, dict)
        or data.get("version") != BLOCKLIST_VERSION
        or not isinstance(data.get("blocked"), list)
    ):
        raise ValueError(f"not a version {BLOCKLIST_VERSION} margindash blocklist")
    out: dict[tuple[str, str], list[tuple[float, str, str]]] = {}
    for entry in data["blocked"]:
        if not isinstance(entry, dict):
            raise ValueError("a blocked entry is not an object")
        fields = [
            entry.get(name, "") if name == "budget" else entry[name] for name in ("scope", "id", "period_end", "budget")
        ]
        if any(not isinstance(v, (str, int)) or isinstance(v, bool) or len(str(v)) > 512 for v in fields):
            raise ValueError("a blocked entry's scope, id, budget or period_end is not a short string")
        scope, id_, end_text, budget = (str(v) for v in fields)
        end = datetime.fromisoformat(end_text.replace("Z", "+00:00")).timestamp()
        out.setdefault((scope, id_), []).append((end, budget, end_text))
    return out, _ttl(data.get("ttl_seconds"))


def _ttl(value: Any) -> float | None:
    """The file's own ttl_seconds: a number from 0, at most MAX_TTL_SECONDS (a 400-digit one is too big for a float)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return float(min(value, int(MAX_TTL_SECONDS))) if value >= 0 else None
    if value != value or value < 0:  # NaN
        return None
    return min(value, MAX_TTL_SECONDS)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    return f"{type(exc).__name__}: {exc}"


def _iso(dt: datetime) -> str:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
