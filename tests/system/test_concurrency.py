"""Overlapping cron jobs: `ingest` (twice, on the same growing file), `sync-stripe`, `sync-prices`, `budget check`
and `report` as real processes at the same time on one store, from the very first run (the store does not
exist yet, so they also race to create and migrate it). Every one must succeed, none may print "database is
locked" or a traceback, and the calls stored must be exactly the lines of the file, each once.

An ingest reads a file only up to the size it had when it started (#22), so one never chases the writer; no
assertion depends on timing or on how the jobs happened to interleave on a loaded machine."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import orjson
import pytest
from invariants import LINE, check_store
from localserver import LocalServer, Reply
from processes import env, run, spawn

ROUNDS = 3
APPEND_EVERY_S = 0.02  # the app writes its log while the jobs run
LINES_PER_APPEND = 25


def line(i: int) -> str:
    e = {
        "timestamp": f"2026-10-{1 + i % 20:02d}T{i % 24:02d}:00:00Z",
        "customer_id": f"cust-{i % 9}",
        "event_type": "chat",
        "vendor": "openai",
        "model": "gpt-4o-2024-08-06" if i % 2 else "gpt-4o",
        "input_tokens": 500 + i,
        "output_tokens": 20 + i % 30,
    }
    if i % 4:
        e["request_id"] = f"req-{i}"  # one call in four has no id: keyed by the file and the line
    return json.dumps(e)


@pytest.fixture
def servers(monkeypatch):
    from stripe_account import account
    from stripe_server import TEST_KEY, StripeServer

    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    litellm = orjson.loads(
        (Path(__file__).parent.parent / "fixtures" / "pricing_sync" / "litellm_model_prices.json").read_bytes()
    )
    litellm["gpt-4o"]["input_cost_per_token"] = 2e-06  # a changed price: the first sync records a version
    with StripeServer(max_page=2, embedded_lines=2) as stripe_srv, LocalServer() as prices:
        stripe_srv.add(*account())
        prices.route("/litellm.json", [Reply(200, orjson.dumps(litellm))])
        monkeypatch.setenv("MARGINDASH_STRIPE_API_BASE", stripe_srv.base)
        monkeypatch.setenv("STRIPE_API_KEY", TEST_KEY)
        monkeypatch.setenv("MARGINDASH_PRICES_URL_LITELLM", prices.url("/litellm.json"))
        yield


@pytest.mark.slow
def test_cron_jobs_overlapping_on_one_store_all_succeed_and_count_once(tmp_path, servers):
    db = tmp_path / "store.db"
    log = tmp_path / "usage.jsonl"
    log.write_text("")
    logs = tmp_path / "logs"
    written = [0]
    stop = threading.Event()

    def writer() -> None:
        with open(log, "a") as fh:
            while not stop.is_set():
                fh.write("".join(line(written[0] + k) + "\n" for k in range(LINES_PER_APPEND)))
                fh.flush()
                written[0] += LINES_PER_APPEND
                time.sleep(APPEND_EVERY_S)

    jobs = {
        "ingest-1": ("ingest", log, "--json"),
        "ingest-2": ("ingest", log, "--json"),
        "sync-stripe": ("sync-stripe", "--json"),
        "sync-prices": ("sync-prices", "--source", "litellm", "--json"),
        "budget check": ("budget", "check", "--json"),
        "report": ("report", "--by", "customer", "--json"),
    }
    ok_codes = {name: {0} for name in jobs} | {"budget check": {0, 3, 4, 5}}
    e = env(MARGINDASH_BATCH_LINES=20)  # many short write transactions: the most interleaving
    thread = threading.Thread(target=writer)
    thread.start()
    outcomes = []
    try:
        for r in range(ROUNDS):
            if r == 1:  # a budget from the second round on (the store exists by then)
                assert (
                    run(
                        "--db",
                        db,
                        "budget",
                        "set",
                        "org",
                        "--scope",
                        "org",
                        "--limit-usd",
                        "0.01",
                        "--period",
                        "month",
                        env=e,
                        logs=logs,
                    ).popen.returncode
                    == 0
                )
            procs = {name: spawn("--db", db, *args, env=e, logs=logs) for name, args in jobs.items()}
            for name, p in procs.items():
                code = p.wait(600)  # generous: a loaded 2-core machine is slow, and no job may chase the writer
                err = p.stderr
                outcomes.append((r, name, code))
                if r == 0 and name in ("budget check", "report") and err.startswith("error: no store at"):
                    continue  # the readers may start before any writer has created the store: that is not a failure
                assert code in ok_codes[name], f"round {r}: {name} exited {code}: {err}"
                assert "locked" not in err and "Traceback" not in err and "busy" not in err.lower(), (
                    f"round {r}: {name}: {err}"
                )
    finally:
        stop.set()
        thread.join()

    final = run("--db", db, "ingest", log, "--json", env=env(), logs=logs)
    assert final.popen.returncode == 0, final.stderr
    stored = check_store(db)  # integrity ok and the rollups equal the events
    assert len(stored) == written[0], f"{written[0]} lines written, {len(stored)} calls stored"
    assert sorted(s[LINE] for s in stored.values()) == list(range(1, written[0] + 1))  # each line's call once
    report = json.loads(run("--db", db, "report", "--json", env=env(), logs=logs).stdout)
    assert report["totals"]["events"] == written[0] and report["totals"]["revenue_usd"] != "0.00"
    print(
        f"\n{ROUNDS} rounds of {len(jobs)} overlapping jobs, {written[0]} lines appended meanwhile, all stored once: {outcomes}"
    )
