"""#17: `budget check` on a read-only store (permissions or a `ro` mount). It evaluates every budget and writes the
blocklist (a file of its own) as on a writable store; what it cannot do is record an alert's claim and sending, so an
alert that is due is not sent (sent unrecorded, it would go again on every run) and stderr says why, with a warning
naming the read-only store. With no alert due there is nothing to record and nothing to say.

As in test_readonly_store.py, the store's permission probe (`_writable`) answers "no" (tests run as root, where
chmod does not bite); SQLite then really opens the file read-only."""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from margindash_cli.store.db import _writable as REAL_WRITABLE  # noqa: N812 (the probe, restored by name)

CALLS = [
    {"timestamp": "2026-10-01T10:00:00Z", "customer_id": "acme", "vendor": "openai", "model": "gpt-4o",
     "input_tokens": 100000, "output_tokens": 5000, "request_id": "r1"},
]  # fmt: skip


class Hook:
    """A webhook receiver on 127.0.0.1 that records the bodies POSTed to it."""

    def __init__(self):
        self.bodies: list[dict] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                hook.bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def hook():
    h = Hook()
    yield h
    h.close()


@pytest.fixture
def db(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("MARGINDASH_NOW", "2026-10-05T00:00:00Z")
    log = tmp_path / "calls.jsonl"
    log.write_text("".join(json.dumps(c) + "\n" for c in CALLS))
    db = tmp_path / "s.db"
    assert cli("--db", db, "ingest", log).exit_code == 0
    # gpt-4o: 100,000 input and 5,000 output tokens are about $0.30: over a $0.10 budget, under a $100 one
    assert (
        cli(
            "--db", db, "budget", "set", "tight", "--scope", "org", "--limit-usd", "0.10", "--period", "month"
        ).exit_code
        == 0
    )
    return db


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_only(monkeypatch) -> None:
    from margindash_cli.store import db as store_module

    monkeypatch.setattr(store_module, "_writable", lambda path: False)


def writable(monkeypatch) -> None:
    from margindash_cli.store import db as store_module

    monkeypatch.setattr(store_module, "_writable", REAL_WRITABLE)


def test_an_alert_due_on_a_read_only_store_is_not_sent_and_stderr_says_why(cli, db, hook, monkeypatch, tmp_path):
    before = digest(db)
    blocklist = tmp_path / "blocked.json"
    read_only(monkeypatch)
    result = cli("--db", db, "budget", "check", "--webhook", hook.url(), "--blocklist", blocklist)
    assert result.exit_code == 5, result.stderr  # exceeded, as on a writable store
    assert hook.bodies == []  # unrecorded, it would go again on every run
    assert "error: webhook alert for budget tight (exceeded): not sent: the store is read-only" in result.stderr
    assert f"warning: the store {db} is read-only (permissions or mount)" in result.stderr
    assert "1 alert(s) due could not be recorded, so none was sent" in result.stderr
    for wrong in ("corrupt", "damaged", "backup", "Traceback"):
        assert wrong not in result.stderr
    assert "blocked" in json.loads(blocklist.read_text())  # the blocklist is its own file: written
    assert digest(db) == before
    data = json.loads(cli("--db", db, "budget", "check", "--webhook", hook.url(), "--json").stdout)
    assert [a["status"] for b in data["budgets"] for a in b["alerts"]] == ["failed"]  # retried on the next run
    writable(monkeypatch)  # the alert goes, once
    assert cli("--db", db, "budget", "check", "--webhook", hook.url()).exit_code == 5
    assert cli("--db", db, "budget", "check", "--webhook", hook.url()).exit_code == 5
    assert len(hook.bodies) == 1


def test_an_unsent_alert_below_fail_on_exits_6_the_code_of_an_alert_not_delivered(cli, db, hook, monkeypatch):
    # about $0.30 of $100 is 0.3%: past a warning at 0.1% and a critical level at 0.2%, under --fail-on exceeded
    args = ("--scope", "org", "--limit-usd", "100", "--period", "month", "--warn", "0.1", "--critical", "0.2")
    assert cli("--db", db, "budget", "set", "tight", *args).exit_code == 0
    read_only(monkeypatch)
    result = cli("--db", db, "budget", "check", "--webhook", hook.url())
    assert result.exit_code == 6, result.stderr
    assert "webhook alert for budget tight (critical): not sent: the store is read-only" in result.stderr
    assert hook.bodies == []


def test_with_no_alert_due_a_read_only_check_has_nothing_to_record(cli, db, hook, monkeypatch):
    assert (
        cli("--db", db, "budget", "set", "tight", "--scope", "org", "--limit-usd", "100", "--period", "month").exit_code
        == 0
    )
    before = digest(db)
    read_only(monkeypatch)
    result = cli("--db", db, "budget", "check", "--webhook", hook.url())
    assert result.exit_code == 0, result.stderr
    assert "read-only" not in result.stderr and "warning:" not in result.stderr
    assert hook.bodies == [] and digest(db) == before
