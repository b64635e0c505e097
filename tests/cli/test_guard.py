"""The guard: blocks from the blocklist (TTL-cached, failing open), whole-line spool appends from many
threads and processes, and a spool that round-trips through `margindash ingest` with nothing lost or doubled."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import request_id_of

from margindash_cli.budgets.guard import BudgetExceeded, Guard

ROOT = Path(__file__).resolve().parent.parent.parent


class FakeClock:
    def __init__(self, t=1000.0):
        self.t = t

    def __call__(self):
        return self.t


def write_blocklist(path, blocked, ttl=60):
    path.write_text(
        json.dumps({"version": 1, "generated_at": "2026-10-16T12:00:00Z", "ttl_seconds": ttl, "blocked": blocked})
    )


FAR = "2099-01-01T00:00:00Z"


def test_importing_the_guard_loads_no_cli_stack():
    code = (
        "import sys, margindash_cli.budgets.guard as g; g.Guard(blocklist='nope.json').check(customer_id='x');"
        "bad = [m for m in ('typer', 'rich', 'click', 'sqlite_utils', 'pydantic', 'httpx', 'orjson', 'margindash_cli.store.db',"
        " 'margindash_cli.cli') if m in sys.modules]; assert not bad, bad"
    )
    subprocess.run(
        [sys.executable, "-c", code], check=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True
    )


def test_blocked_calls_raise_before_fn_and_allowed_calls_return_its_result(tmp_path):
    bl = tmp_path / "blocklist.json"
    write_blocklist(
        bl,
        [
            {"scope": "customer", "id": "acme", "budget": "acme-monthly", "period_end": FAR},
            {"scope": "feature", "id": "image-gen", "budget": "images", "period_end": FAR},
        ],
    )
    guard = Guard(blocklist=bl, ttl_seconds=30)
    calls = []

    def llm(prompt, temperature=0):
        calls.append(prompt)
        return f"reply to {prompt} at {temperature}"

    with pytest.raises(BudgetExceeded) as exc:
        guard.guarded_call(llm, "hi", customer_id="acme", event_type="chat")
    assert (exc.value.scope, exc.value.id, exc.value.budget, exc.value.period_end) == (
        "customer",
        "acme",
        "acme-monthly",
        FAR,
    )
    assert str(exc.value) == f"customer 'acme' is over budget 'acme-monthly' until {FAR}"
    with pytest.raises(BudgetExceeded) as exc:
        guard.guarded_call(llm, "draw", customer_id="globex", event_type="image-gen")
    assert exc.value.scope == "feature"
    assert calls == []
    assert guard.guarded_call(llm, "hi", customer_id="globex", event_type="chat", temperature=1) == "reply to hi at 1"
    assert guard.guarded_call(llm, "anon") == "reply to anon at 0"  # no customer, no feature: nothing to block
    assert calls == ["hi", "anon"]


def test_an_entry_stops_blocking_when_its_period_ends(tmp_path):
    bl = tmp_path / "blocklist.json"
    write_blocklist(bl, [{"scope": "customer", "id": "acme", "budget": "b", "period_end": "2026-11-01T00:00:00Z"}])
    wall = FakeClock(1_793_491_199.0)  # 2026-10-31T23:59:59Z
    guard = Guard(blocklist=bl, ttl_seconds=3600, wall_clock=wall)
    with pytest.raises(BudgetExceeded):
        guard.check(customer_id="acme")
    wall.t += 1  # 2026-11-01T00:00:00Z: a new period, even if cron has not rewritten the file yet
    guard.check(customer_id="acme")


def test_the_blocklist_is_read_at_most_once_per_ttl(tmp_path, monkeypatch):
    bl = tmp_path / "blocklist.json"
    write_blocklist(bl, [{"scope": "customer", "id": "acme", "budget": "b", "period_end": FAR}], ttl=3600)
    clock = FakeClock()
    guard = Guard(blocklist=bl, ttl_seconds=30, clock=clock)
    reads = []
    real_open = os.open

    def counting_open(path, *args, **kwargs):
        if str(path) == str(bl):
            reads.append(path)
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", counting_open)  # the guard opens it with os.open (non-blocking)
    for _ in range(1000):
        with pytest.raises(BudgetExceeded):
            guard.check(customer_id="acme")
    assert len(reads) == 1
    write_blocklist(bl, [], ttl=3600)  # acme is unblocked on disk...
    clock.t += 29.9
    with pytest.raises(BudgetExceeded):  # ...but the cached list stands until the TTL is over
        guard.check(customer_id="acme")
    clock.t += 0.1
    guard.check(customer_id="acme")
    assert len(reads) == 2
    # A file TTL shorter than the guard's wins.
    write_blocklist(bl, [{"scope": "customer", "id": "acme", "budget": "b", "period_end": FAR}], ttl=5)
    clock.t += 30
    with pytest.raises(BudgetExceeded):
        guard.check(customer_id="acme")
    write_blocklist(bl, [], ttl=5)
    clock.t += 5
    guard.check(customer_id="acme")
    assert len(reads) == 4


def test_a_missing_or_unreadable_blocklist_fails_open_with_one_warning(tmp_path, caplog):
    bl = tmp_path / "blocklist.json"
    clock = FakeClock()
    guard = Guard(blocklist=bl, ttl_seconds=1, clock=clock)
    with caplog.at_level(logging.WARNING, logger="margindash_cli.budgets.guard"):
        for _ in range(5):
            assert guard.guarded_call(lambda: "called", customer_id="acme") == "called"
            clock.t += 2  # re-read each time: still missing
        bl.write_text("{not json")
        for _ in range(5):
            assert guard.guarded_call(lambda: "called", customer_id="acme") == "called"
            clock.t += 2
    warnings = [r.getMessage() for r in caplog.records if r.name == "margindash_cli.budgets.guard"]
    assert len(warnings) == 1
    assert "blocklist" in warnings[0] and "no such file" in warnings[0] and "failing open" in warnings[0]
    # Readable again: blocks again, and a later outage warns again (once).
    write_blocklist(bl, [{"scope": "customer", "id": "acme", "budget": "b", "period_end": FAR}])
    with pytest.raises(BudgetExceeded):
        guard.check(customer_id="acme")
    bl.write_text(json.dumps({"version": 99, "blocked": []}))
    clock.t += 2
    with caplog.at_level(logging.WARNING, logger="margindash_cli.budgets.guard"):
        guard.check(customer_id="acme")
        clock.t += 2
        guard.check(customer_id="acme")
    assert len([r for r in caplog.records if r.name == "margindash_cli.budgets.guard"]) == 2


def test_budget_check_blocklist_drives_the_guard(cli, tmp_path, monkeypatch):
    spool = tmp_path / "usage.jsonl"
    assert cli("prices", "set", "custom/budget-llm", "--input", "1", "--output", "0").exit_code == 0
    oct16 = datetime(2026, 10, 16, 12, tzinfo=UTC).timestamp()
    guard = Guard(blocklist=tmp_path / "blocklist.json", spool=spool, ttl_seconds=0, wall_clock=lambda: oct16)
    guard.add_usage(
        vendor="custom",
        model="budget-llm",
        input_tokens=120_000_000,
        output_tokens=0,
        timestamp=datetime(2026, 10, 10, 12, tzinfo=UTC),
    )
    guard.track(customer_id="acme", event_type="chat")
    assert cli("ingest", spool).exit_code == 0
    monkeypatch.setenv("MARGINDASH_NOW", "2026-10-16T12:00:00Z")
    assert (
        cli("budget", "set", "acme", "--scope", "customer:acme", "--limit-usd", "100", "--period", "month").exit_code
        == 0
    )
    assert cli("budget", "check", "--blocklist", tmp_path / "blocklist.json").exit_code == 5
    with pytest.raises(BudgetExceeded) as exc:
        guard.guarded_call(lambda: None, customer_id="acme", event_type="chat")
    assert (exc.value.budget, exc.value.period_end) == ("acme", "2026-11-01T00:00:00Z")
    assert guard.guarded_call(lambda: "ok", customer_id="globex", event_type="chat") == "ok"


# ---- the spool -----------------------------------------------------------------------------------


def test_spool_round_trips_through_ingest_with_nothing_lost_or_doubled(cli, tmp_path):
    spool = tmp_path / "spool" / "usage.jsonl"
    spool.parent.mkdir()
    guard = Guard(spool=spool)
    guard.add_usage(
        vendor="openai", model="gpt-4o-mini", input_tokens=1200, output_tokens=300, cached_input_tokens=1024
    )
    ids = guard.track(customer_id="acme", event_type="summarize", revenue_amount_in_cents=250, request_id="req-1")
    assert ids == ["req-1"]
    # Two calls behind one feature use: two events, revenue on the first only.
    guard.add_usage(vendor="anthropic", model="claude-sonnet-4-5", input_tokens=500, output_tokens=50)
    guard.add_usage(vendor="openai", model="gpt-4o-mini", input_tokens=100, output_tokens=10, reasoning_tokens=5)
    ids2 = guard.track(customer_id="globex", event_type="chat", revenue_amount_in_cents=100)
    assert len(ids2) == 2 and ids2[0].endswith(":1") and ids2[1].endswith(":2")
    with pytest.raises(ValueError, match="nothing to track"):
        guard.track(customer_id="acme", event_type="chat")
    lines = [json.loads(x) for x in spool.read_text().splitlines()]
    assert lines[0] | {"timestamp": None} == {
        "timestamp": None,
        "model": "gpt-4o-mini",
        "vendor": "openai",
        "input_tokens": 1200,
        "output_tokens": 300,
        "cached_input_tokens": 1024,
        "customer_id": "acme",
        "event_type": "summarize",
        "request_id": "req-1",
        "revenue_amount_in_cents": 250,
    }
    assert "revenue_amount_in_cents" not in lines[2]

    r = cli("ingest", spool, "--json")
    summary = json.loads(r.stdout)
    assert (summary["events_stored"], summary["rejected"]) == (3, 0)
    guard.add_usage(model="gpt-4o-mini", input_tokens=10, output_tokens=1)
    guard.track(customer_id="acme", event_type="chat")
    r = cli("ingest", spool, "--json")
    assert (json.loads(r.stdout)["events_stored"], json.loads(r.stdout)["lines_read"]) == (
        1,
        1,
    )  # only the new line is read
    # Re-reading the whole spool (from stdin: no checkpoint) stores nothing twice: every event has its request id.
    r = cli("ingest", "-", "--json", input=spool.read_text())
    assert (json.loads(r.stdout)["lines_read"], json.loads(r.stdout)["events_stored"]) == (4, 0)
    events = json.loads(cli("events", "--json", "--limit", "0").stdout)
    assert len(events) == 4
    by_id = {request_id_of(e): e for e in events}  # each call's id, from the spool line it was read from
    assert len(by_id) == 4 and all(e["source"]["file"] == str(spool.resolve()) for e in events)
    assert by_id["req-1"]["customer_id"] == "acme" and by_id["req-1"]["event_type"] == "summarize"
    assert by_id[ids2[0]]["revenue_amount_in_cents"] == 100 and by_id[ids2[1]]["revenue_amount_in_cents"] is None


def test_buffered_usage_belongs_to_its_own_thread(tmp_path):
    guard = Guard(spool=tmp_path / "usage.jsonl")
    guard.add_usage(model="m", input_tokens=1, output_tokens=1)
    errors = []

    def other():
        try:
            guard.track(customer_id="b", event_type="chat")
        except ValueError as exc:
            errors.append(str(exc))

    t = threading.Thread(target=other)
    t.start()
    t.join()
    assert errors == ["nothing to track: call add_usage() first"]
    assert len(guard.track(customer_id="a", event_type="chat")) == 1


WRITER = """
import sys, threading, time
from margindash_cli.budgets.guard import Guard
spool, proc, threads, per_thread = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
guard = Guard(spool=spool)
big = {f"t{i}": "x" * 400 for i in range(12)}  # ~5 KB per line: more than PIPE_BUF, so only the lock keeps lines whole
def work(t):
    for i in range(per_thread):
        guard.add_usage(vendor="openai", model="gpt-4o-mini", input_tokens=100 + i, output_tokens=7)
        guard.add_usage(vendor="openai", model="gpt-4o-mini", input_tokens=1, output_tokens=1)
        guard.track(customer_id=f"c{proc}", event_type=f"t{t}", request_id=f"p{proc}-t{t}-{i}", tags=big)
        time.sleep(0.01)  # a steady stream, so ingest runs while lines are still arriving
ts = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
[t.start() for t in ts]
[t.join() for t in ts]
"""


def test_concurrent_appends_from_processes_and_threads_are_whole_lines_and_ingest_keeps_up(cli, tmp_path):
    spool = tmp_path / "usage.jsonl"
    procs, threads, per_thread = 4, 4, 150
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(spool), str(p), str(threads), str(per_thread)], env=env)
        for p in range(procs)
    ]
    stored = 0
    runs = 0
    while any(w.poll() is None for w in writers):  # ingest incrementally while the writers are still appending
        if spool.exists():
            r = cli("ingest", spool, "--json")
            assert r.exit_code == 0, r.stderr
            data = json.loads(r.stdout)
            assert data["rejected"] == 0 and data["duplicates_skipped"] == 0
            stored += data["events_stored"]
            runs += 1
        time.sleep(0.05)
    assert [w.wait() for w in writers] == [0] * procs
    data = json.loads(cli("ingest", spool, "--json").stdout)
    stored += data["events_stored"]
    assert data["rejected"] == 0
    expected = procs * threads * per_thread * 2
    raw = spool.read_bytes()
    assert raw.endswith(b"\n")
    lines = raw.split(b"\n")[:-1]
    assert len(lines) == expected
    ids = [json.loads(line)["request_id"] for line in lines]  # every line is one whole JSON object
    assert len(set(ids)) == expected
    assert stored == expected, (stored, runs)
    assert runs >= 2
    print(f"{expected} events from {procs} processes x {threads} threads; {runs} ingest runs while writing")
    data = json.loads(cli("ingest", spool, "--json").stdout)
    assert data["events_stored"] == 0
    from margindash_cli.store.db import Store

    with Store.open(tmp_path / "home" / "margindash.db") as store:
        assert store.events.count_events() == expected


@pytest.mark.parametrize(
    "content",
    [
        "[" * 100_000 + "]" * 100_000,  # RecursionError inside json
        json.dumps(
            {"version": 1, "ttl_seconds": 0, "blocked": [{"scope": "customer", "id": "x", "period_end": FAR}]}
        ).replace('"ttl_seconds": 0', '"ttl_seconds": ' + "9" * 400),  # OverflowError in float()
        json.dumps({"version": 1, "blocked": [{"scope": {"deep": [[[["x"]]]]}, "id": "acme", "period_end": FAR}]}),
        json.dumps({"version": 1, "blocked": [["not", "an", "object"]]}),
        json.dumps({"version": 1, "blocked": [{"scope": "customer", "id": "acme", "period_end": "9" * 5000}]}),
    ],
)
def test_a_hostile_blocklist_never_raises_inside_the_call_and_fails_open_once(tmp_path, caplog, content):
    """#22: a deeply nested blocklist raised RecursionError, a 400-digit ttl_seconds OverflowError, in the app's call."""
    bl = tmp_path / "blocklist.json"
    bl.write_text(content)
    clock = FakeClock()
    guard = Guard(blocklist=bl, ttl_seconds=1, clock=clock)
    with caplog.at_level(logging.WARNING, logger="margindash_cli.budgets.guard"):
        for _ in range(3):
            assert guard.guarded_call(lambda: "called", customer_id="acme") == "called"
            clock.t += 2
    warnings = [r.getMessage() for r in caplog.records if r.name == "margindash_cli.budgets.guard"]
    if "ttl_seconds" in content and "9" * 400 in content:
        assert warnings == []  # a valid list with a silly ttl: read, the ttl capped
        assert guard._next_read is not None
    else:
        assert len(warnings) == 1 and "failing open" in warnings[0]


def test_a_fifo_or_an_oversized_blocklist_fails_open_without_blocking(tmp_path, caplog, monkeypatch):
    """A FIFO at the blocklist path blocked `open()` forever, holding the guard's lock."""
    import margindash_cli.budgets.guard as guard_module

    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    guard = Guard(blocklist=fifo, ttl_seconds=1, clock=FakeClock())
    with caplog.at_level(logging.WARNING, logger="margindash_cli.budgets.guard"):
        assert guard.guarded_call(lambda: "called", customer_id="acme") == "called"
    assert "not a regular file" in caplog.records[-1].getMessage()
    big = tmp_path / "big.json"
    write_blocklist(big, [{"scope": "customer", "id": "acme", "budget": "b", "period_end": FAR}])
    monkeypatch.setattr(guard_module, "MAX_BLOCKLIST_BYTES", 10)
    guard = Guard(blocklist=big, ttl_seconds=1, clock=FakeClock())
    assert guard.guarded_call(lambda: "called", customer_id="acme") == "called"
