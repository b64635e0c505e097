"""Budget alerts through a real SMTP server (aiosmtpd on 127.0.0.1) and a real webhook server: one alert per
budget, level and period, ever; failures reported and retried; secrets never shown or stored."""

from __future__ import annotations

import asyncio
import email.policy
import json
import os
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from margindash_cli.store.db import Store

ROOT = Path(__file__).resolve().parent.parent.parent
NOW = "2026-10-16T12:00:00Z"


# ---- servers -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mailbox:
    """An aiosmtpd handler that keeps every message it accepts (optionally slowly, to make runs overlap)."""

    def __init__(self, delay: float = 0.0):
        self.delay = delay
        self.messages: list[tuple[str, list[str], object]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.lock:
            self.messages.append(
                (
                    envelope.mail_from,
                    list(envelope.rcpt_tos),
                    message_from_bytes(envelope.original_content, policy=email.policy.default),
                )
            )
        return "250 Message accepted for delivery"

    def subjects(self) -> list[str]:
        return sorted(str(m["Subject"]) for _, _, m in self.messages)


@contextmanager
def smtp_server(handler, port=None, **kwargs):
    port = port or free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


class Hook:
    """A webhook receiver on 127.0.0.1: records POSTed JSON bodies, answers with scripted statuses."""

    def __init__(self, statuses=(200,)):
        self.statuses = list(statuses)
        self.bodies: list[dict] = []
        self.paths: list[str] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.paths.append(self.path)
                hook.bodies.append(json.loads(body))
                status = hook.statuses.pop(0) if len(hook.statuses) > 1 else hook.statuses[0]
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self, path):
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


# ---- data ----------------------------------------------------------------------------------------


def ev(ts, customer, feature, usd, rid, model="budget-llm"):
    """A call that costs exactly `usd` dollars at the test price ($1 per million input tokens)."""
    return {
        "timestamp": ts,
        "customer_id": customer,
        "event_type": feature,
        "vendor": "custom",
        "model": model,
        "input_tokens": int(usd * 1_000_000),
        "output_tokens": 0,
        "request_id": rid,
    }


def seed(cli, tmp_path, events, name="usage.jsonl"):
    assert cli("prices", "set", "custom/budget-llm", "--input", "1", "--output", "0").exit_code == 0
    path = tmp_path / name
    with open(path, "a") as fh:
        for e in events:
            fh.write(json.dumps(e) + "\n")
    result = cli("ingest", path)
    assert result.exit_code == 0, result.stderr


def check(cli, *args):
    result = cli("budget", "check", "--json", *args)
    return result, json.loads(result.stdout)


@pytest.fixture
def store_with_budgets(cli, tmp_path, monkeypatch):
    """October 2026: acme spent $70 (chat $40, summarize $30), globex $5; two budgets with alert emails."""
    monkeypatch.setenv("MARGINDASH_NOW", NOW)
    monkeypatch.setenv("MARGINDASH_ALERT_FROM", "margindash@example.com")
    seed(
        cli,
        tmp_path,
        [
            ev("2026-10-01T10:00:00Z", "acme", "chat", 40, "r1"),
            ev("2026-10-15T23:30:00Z", "acme", "summarize", 30, "r2"),
            ev("2026-10-16T01:00:00Z", "globex", "chat", 5, "r3"),
        ],
    )
    assert (
        cli(
            "budget",
            "set",
            "acme-monthly",
            "--scope",
            "customer:acme",
            "--limit-usd",
            "80",
            "--period",
            "month",
            "--email",
            "ops@example.com",
            "--email",
            "cfo@example.com",
        ).exit_code
        == 0
    )  # 87.5%: warning
    assert (
        cli(
            "budget",
            "set",
            "org-monthly",
            "--scope",
            "org",
            "--limit-usd",
            "100",
            "--period",
            "month",
            "--warn",
            "50",
            "--critical",
            "70",
            "--email",
            "ops@example.com",
        ).exit_code
        == 0
    )  # 75%: critical
    assert (
        cli(
            "budget",
            "set",
            "quiet",
            "--scope",
            "feature:chat",
            "--limit-usd",
            "1000",
            "--period",
            "month",
            "--email",
            "ops@example.com",
        ).exit_code
        == 0
    )  # 4.5%: ok, never alerts
    return tmp_path


# ---- email ---------------------------------------------------------------------------------------


def test_alert_emails_carry_recipients_subject_and_figures(cli, store_with_budgets, monkeypatch):
    box = Mailbox()
    with smtp_server(box) as port:
        monkeypatch.setenv("MARGINDASH_SMTP_URL", f"smtp://127.0.0.1:{port}")
        result, data = check(cli)
    assert result.exit_code == 0  # critical is below the default --fail-on exceeded
    assert [(b["name"], b["level"], b["spend_usd"], b["pct_used"]) for b in data["budgets"]] == [
        ("acme-monthly", "warning", "70", 87.5),
        ("org-monthly", "critical", "75", 75.0),
        ("quiet", "ok", "45", 4.5),
    ]
    assert [b["alerts"] for b in data["budgets"]] == [
        [{"channel": "email", "level": "warning", "status": "sent", "error": None, "note": None}],
        [{"channel": "email", "level": "critical", "status": "sent", "error": None, "note": None}],
        [],
    ]
    assert len(box.messages) == 2
    by_subject = {str(m["Subject"]): (sender, rcpts, m) for sender, rcpts, m in box.messages}
    sender, rcpts, msg = by_subject["[margindash] WARNING: budget acme-monthly at 87.5% ($70.00 of $80.00, 2026-10)"]
    assert sender == "margindash@example.com" and msg["From"] == "margindash@example.com"
    assert sorted(rcpts) == ["cfo@example.com", "ops@example.com"]
    body = msg.get_content().replace("\r\n", "\n")
    assert "Spend:   $70.00 of $80.00 (87.5% used)" in body
    assert "Period:  2026-10 (UTC), 2026-10-01T00:00:00Z to 2026-11-01T00:00:00Z" in body
    assert "Top features behind it:\n  chat: $40.00\n  summarize: $30.00" in body
    assert "Projected at the current burn rate: $140.00 (175.0%)" in body
    assert "margindash report --by feature --customer acme --since 2026-10-01 --until 2026-10-31" in body
    _, rcpts, msg = by_subject["[margindash] CRITICAL: budget org-monthly at 75.0% ($75.00 of $100.00, 2026-10)"]
    assert rcpts == ["ops@example.com"]
    assert "Top customers behind it:\n  acme: $70.00\n  globex: $5.00" in msg.get_content().replace("\r\n", "\n")
    assert "stderr" not in result.stdout
    assert result.stderr.strip().endswith(
        "budget check: 3 budgets: 1 ok, 1 warning, 1 critical, 0 exceeded; 2 alerts sent, 0 failed; exit 0"
    )


def test_check_twice_sends_once_and_a_higher_level_once_more(cli, store_with_budgets, monkeypatch, tmp_path):
    box = Mailbox()
    with smtp_server(box) as port:
        monkeypatch.setenv("MARGINDASH_SMTP_URL", f"smtp://127.0.0.1:{port}")
        check(cli)
        result, data = check(cli)
        assert len(box.messages) == 2
        assert [a["status"] for b in data["budgets"] for a in b["alerts"]] == ["already_sent", "already_sent"]
        # acme's spend crosses its limit: one more email (exceeded), once.
        seed(cli, tmp_path, [ev("2026-10-16T02:00:00Z", "acme", "chat", 15, "r4")])
        result, data = check(cli)
        assert result.exit_code == 5
        result, data = check(cli)
        assert result.exit_code == 5
        assert box.subjects() == [
            "[margindash] CRITICAL: budget org-monthly at 75.0% ($75.00 of $100.00, 2026-10)",
            "[margindash] EXCEEDED: budget acme-monthly at 106.2% ($85.00 of $80.00, 2026-10)",
            "[margindash] WARNING: budget acme-monthly at 87.5% ($70.00 of $80.00, 2026-10)",
        ]
        # The limit is raised so acme falls back to critical: a lower level than one already sent stays quiet.
        assert (
            cli(
                "budget",
                "set",
                "acme-monthly",
                "--scope",
                "customer:acme",
                "--limit-usd",
                "90",
                "--period",
                "month",
                "--email",
                "ops@example.com",
            ).exit_code
            == 0
        )
        result, data = check(cli)
        assert data["budgets"][0]["level"] == "critical" and data["budgets"][0]["alerts"][0]["status"] == "already_sent"
        # A new month is a new period: the alert goes out again, once.
        monkeypatch.setenv("MARGINDASH_NOW", "2026-11-02T12:00:00Z")
        seed(cli, tmp_path, [ev("2026-11-01T02:00:00Z", "acme", "chat", 85, "r5")])
        check(cli)
        check(cli)
    assert len(box.messages) == 5
    assert box.subjects()[:2] == [
        "[margindash] CRITICAL: budget acme-monthly at 94.4% ($85.00 of $90.00, 2026-11)",
        "[margindash] CRITICAL: budget org-monthly at 75.0% ($75.00 of $100.00, 2026-10)",
    ]
    assert "[margindash] CRITICAL: budget org-monthly at 85.0% ($85.00 of $100.00, 2026-11)" in box.subjects()


def test_concurrent_checks_send_exactly_one_email_per_budget_level_and_period(cli, store_with_budgets, monkeypatch):
    box = Mailbox(delay=0.5)  # slow server: the runs overlap while the first is still sending
    with smtp_server(box) as port:
        env = {**os.environ, "MARGINDASH_SMTP_URL": f"smtp://127.0.0.1:{port}", "PYTHONPATH": str(ROOT)}
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "margindash_cli", "budget", "check", "--json"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            for _ in range(6)
        ]
        outs = [p.communicate(timeout=120) for p in procs]
        # and twice more, one after the other
        for _ in range(2):
            subprocess.run(
                [sys.executable, "-m", "margindash_cli", "budget", "check"], env=env, capture_output=True, timeout=60
            )
    assert [p.returncode for p in procs] == [0] * 6, [o[1] for o in outs]
    statuses = sorted(a["status"] for out, _ in outs for b in json.loads(out)["budgets"] for a in b["alerts"])
    assert statuses.count("sent") == 2  # across all six runs
    assert set(statuses) <= {"sent", "in_progress", "already_sent"}
    assert box.subjects() == [
        "[margindash] CRITICAL: budget org-monthly at 75.0% ($75.00 of $100.00, 2026-10)",
        "[margindash] WARNING: budget acme-monthly at 87.5% ($70.00 of $80.00, 2026-10)",
    ]


def test_a_refused_connection_is_reported_retried_next_run_and_blocks_nothing(
    cli, store_with_budgets, monkeypatch, tmp_path
):
    port = free_port()  # nothing listens here yet
    monkeypatch.setenv("MARGINDASH_SMTP_URL", f"smtp://127.0.0.1:{port}")
    blocklist = tmp_path / "blocklist.json"
    result, data = check(cli, "--blocklist", blocklist)
    assert result.exit_code == 6  # no level at --fail-on, but alerts failed
    assert [a["status"] for b in data["budgets"] for a in b["alerts"]] == [
        "failed",
        "failed",
    ]  # both tried: one failure does not stop the other
    assert f"email via smtp://127.0.0.1:{port}: cannot connect" in data["budgets"][0]["alerts"][0]["error"]
    assert (
        f"error: email alert for budget acme-monthly (warning): email via smtp://127.0.0.1:{port}: cannot connect"
        in result.stderr
    )
    assert "2 failed" in result.stderr.splitlines()[-1]
    assert json.loads(blocklist.read_text())["blocked"] == []  # the blocklist was still written
    box = Mailbox()
    with smtp_server(box, port=port):
        result, data = check(cli)
        check(cli)
    assert result.exit_code == 0
    assert [a["status"] for b in data["budgets"] for a in b["alerts"]] == ["sent", "sent"]
    assert len(box.messages) == 2
    with Store.open(Path(os.environ["MARGINDASH_HOME"]) / "margindash.db") as store:
        rows = store.budgets.alert_rows()
    assert [(r[0], r[1], r[3], r[4], r[7]) for r in rows] == [
        ("acme-monthly", "warning", "email", "sent", 2),
        ("org-monthly", "critical", "email", "sent", 2),
    ]


def test_a_crashed_runs_claim_is_sent_later_and_a_live_one_is_left_alone(cli, store_with_budgets, monkeypatch):
    from margindash_cli.budgets.compute import LEVELS
    from margindash_cli.budgets.run import CLAIM_STALE_MS

    period_start = int(datetime(2026, 10, 1, tzinfo=UTC).timestamp() * 1000)
    now_ms = time.time_ns() // 1_000_000
    with Store.open(Path(os.environ["MARGINDASH_HOME"]) / "margindash.db") as store:
        # A run that is sending org-monthly's alert right now, and one that crashed 11 minutes ago sending acme's.
        assert (
            store.budgets.claim_alert(
                "org-monthly",
                "critical",
                period_start,
                "email",
                blocking_levels=list(LEVELS[2:]),
                now_ms=now_ms,
                stale_ms=CLAIM_STALE_MS,
            )
            == "claimed"
        )
        assert (
            store.budgets.claim_alert(
                "acme-monthly",
                "warning",
                period_start,
                "email",
                blocking_levels=list(LEVELS[1:]),
                now_ms=now_ms - 11 * 60_000,
                stale_ms=CLAIM_STALE_MS,
            )
            == "claimed"
        )
    box = Mailbox()
    with smtp_server(box) as port:
        monkeypatch.setenv("MARGINDASH_SMTP_URL", f"smtp://127.0.0.1:{port}")
        result, data = check(cli)
    assert [(b["name"], [a["status"] for a in b["alerts"]]) for b in data["budgets"][:2]] == [
        ("acme-monthly", ["sent"]),
        ("org-monthly", ["in_progress"]),
    ]
    assert box.subjects() == ["[margindash] WARNING: budget acme-monthly at 87.5% ($70.00 of $80.00, 2026-10)"]


def write_cert(tmp_path):
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            key,
            "-out",
            cert,
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return key, cert


@pytest.mark.skipif(
    not any((Path(p) / "openssl").exists() for p in os.environ.get("PATH", "").split(os.pathsep)),
    reason="needs openssl",
)
def test_starttls_and_login_and_the_password_never_shows_or_is_stored(cli, store_with_budgets, monkeypatch, tmp_path):
    import ssl

    key, cert = write_cert(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == b"alerts@example.com"
            and auth_data.password == b"s3cr3t/p@ss"
        )
        logins.append(ok)
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself

    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # trust the test certificate
    monkeypatch.delenv("MARGINDASH_ALERT_FROM")  # From defaults to the SMTP user
    box = Mailbox()
    with smtp_server(
        box, tls_context=server_tls, require_starttls=True, auth_required=True, authenticator=authenticator
    ) as port:
        monkeypatch.setenv("MARGINDASH_SMTP_URL", f"smtp://alerts%40example.com:WRONG-pass@127.0.0.1:{port}")
        bad, bad_data = check(cli)
        monkeypatch.setenv("MARGINDASH_SMTP_URL", f"smtp://alerts%40example.com:s3cr3t%2Fp%40ss@127.0.0.1:{port}")
        good, data = check(cli)
    assert bad.exit_code == 6 and "authentication failed (535)" in bad_data["errors"][0]
    assert [a["status"] for b in data["budgets"] for a in b["alerts"]] == ["sent", "sent"]
    assert logins[-2:] == [True, True] and not any(logins[:-2])  # smtplib tries PLAIN, then LOGIN
    assert {m["From"] for _, _, m in box.messages} == {"alerts@example.com"}
    db = (Path(os.environ["MARGINDASH_HOME"]) / "margindash.db").read_bytes()
    for secret in ("WRONG-pass", "s3cr3t", "p%40ss", "p@ss"):
        for text in (bad.stdout, bad.stderr, good.stdout, good.stderr):
            assert secret not in text
        assert secret.encode() not in db


def test_a_password_is_never_sent_without_tls(cli, store_with_budgets, monkeypatch):
    box = Mailbox()
    with smtp_server(box, auth_require_tls=False) as port:  # a server without STARTTLS
        monkeypatch.setenv("MARGINDASH_SMTP_URL", f"smtp://user:hunter2@127.0.0.1:{port}")
        result, data = check(cli)
    assert box.messages == []
    assert "the server does not offer STARTTLS; the password was not sent in clear" in data["errors"][0]
    assert "hunter2" not in result.stdout + result.stderr


def test_smtp_settings_missing_are_reported_not_a_crash(cli, store_with_budgets, monkeypatch):
    result, data = check(cli)
    assert result.exit_code == 6  # an alert could not be delivered: its own code (#17)
    assert data["errors"] == [
        "email alert for budget acme-monthly (warning): MARGINDASH_SMTP_URL is not set",
        "email alert for budget org-monthly (critical): MARGINDASH_SMTP_URL is not set",
    ]


# ---- webhook -------------------------------------------------------------------------------------


def test_webhook_gets_slack_text_once_and_a_failure_is_retried(cli, store_with_budgets, monkeypatch):
    hook = Hook(statuses=[500, 200])
    secret_path = "/services/T000/B000/XXXXSECRETXXXX"
    try:
        monkeypatch.setenv("MARGINDASH_WEBHOOK_URL", hook.url(secret_path))
        first, data1 = check(cli)
        second, data2 = check(cli)
        third, data3 = check(cli)
    finally:
        hook.close()
    assert first.exit_code == 6
    # Email is not configured (MARGINDASH_SMTP_URL unset): those errors are reported, the webhook still goes.
    hook_errors = [e for e in data1["errors"] if e.startswith("webhook")]
    assert hook_errors == ["webhook alert for budget acme-monthly (warning): webhook to 127.0.0.1: HTTP 500"]
    assert [a["status"] for b in data2["budgets"] for a in b["alerts"] if a["channel"] == "webhook"] == [
        "sent",
        "already_sent",
    ]
    assert [a["status"] for b in data3["budgets"] for a in b["alerts"] if a["channel"] == "webhook"] == [
        "already_sent",
        "already_sent",
    ]
    # 500 for acme, then org (200), then acme's retry (200): three POSTs, two delivered.
    assert len(hook.bodies) == 3 and set(hook.paths) == {secret_path}
    body = hook.bodies[-1]
    assert body["text"].startswith("[margindash] WARNING: budget acme-monthly at 87.5% ($70.00 of $80.00, 2026-10)\n")
    assert body["margindash"]["alert_key"] == "acme-monthly/warning/2026-10-01T00:00:00Z"
    assert body["margindash"]["spend_usd"] == "70" and body["margindash"]["limit_usd"] == "80"
    db = (Path(os.environ["MARGINDASH_HOME"]) / "margindash.db").read_bytes()
    for text in (first.stdout + first.stderr, second.stdout + second.stderr, third.stdout + third.stderr):
        assert "SECRET" not in text
    assert b"SECRET" not in db


def test_a_webhook_that_is_not_a_url_is_a_usage_error_without_echoing_it(cli, store_with_budgets):
    result = cli("budget", "check", "--webhook", "ftp://hooks.example.com/T0/SECRET")
    assert result.exit_code == 2
    assert "--webhook must be an http:// or https:// URL" in result.stderr and "SECRET" not in result.stderr


# ---- #22: a total deadline on every send -----------------------------------------------------------


class Trickler:
    """A TCP server on 127.0.0.1 that answers every connection one byte at a time, a byte every 0.2 s, from an
    endless script (an HTTP status line then header after header; or SMTP greeting continuation lines): per-read
    timeouts never fire. It stops when closed (or after 120 s, so a client without a deadline still ends)."""

    def __init__(self, script: bytes, repeat: bytes):
        import socket as socket_module

        self._stop = threading.Event()
        self.connections = 0
        self._srv = socket_module.socket()
        self._srv.bind(("127.0.0.1", 0))
        self._srv.listen(8)
        self.port = self._srv.getsockname()[1]
        self._script, self._repeat = script, repeat
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._srv.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._trickle, args=(conn,), daemon=True).start()

    def _trickle(self, conn) -> None:
        import itertools

        started = time.monotonic()
        data = itertools.chain(self._script, itertools.cycle(self._repeat))
        with conn:
            for byte in data:
                if self._stop.wait(0.2) or time.monotonic() - started > 120:
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return

    def close(self) -> None:
        self._stop.set()
        self._srv.close()


@pytest.mark.slow
def test_a_trickling_webhook_is_cut_at_the_total_deadline_and_later_budgets_still_alert(
    cli, store_with_budgets, monkeypatch
):
    """#22: a server sending a byte every few seconds kept `budget check` running forever; later budgets' alerts
    never went out. Each send has a total deadline; its alert fails and is retried on the next run."""
    from margindash_cli.clients import alerts

    monkeypatch.setattr(alerts, "SEND_DEADLINE_S", 1.5)
    monkeypatch.setattr(alerts, "SEND_TIMEOUT_S", 30)  # per read: never reached by a byte every 0.2 s
    slow = Trickler(b"HTTP/1.1 200 OK\r\n", b"X-Slow: yes\r\n")
    try:
        monkeypatch.setenv("MARGINDASH_WEBHOOK_URL", f"http://127.0.0.1:{slow.port}/hook")
        result, data = check(cli)
    finally:
        slow.close()
    hook = [a for b in data["budgets"] for a in b["alerts"] if a["channel"] == "webhook"]
    assert [a["status"] for a in hook] == ["failed", "failed"]  # both budgets tried: the first did not block the second
    assert all("total deadline of 1.5 s" in a["error"] for a in hook)
    good = Hook(statuses=[200])
    try:
        monkeypatch.setenv("MARGINDASH_WEBHOOK_URL", good.url("/hook"))
        again, data2 = check(cli)
        third, data3 = check(cli)
    finally:
        good.close()
    assert [a["status"] for b in data2["budgets"] for a in b["alerts"] if a["channel"] == "webhook"] == ["sent", "sent"]
    assert [a["status"] for b in data3["budgets"] for a in b["alerts"] if a["channel"] == "webhook"] == [
        "already_sent"
    ] * 2
    assert len(good.bodies) == 2  # each retried once, and never sent twice


@pytest.mark.slow
def test_a_trickling_mail_server_is_cut_at_the_total_deadline(monkeypatch):
    from margindash_cli.clients import alerts

    monkeypatch.setattr(alerts, "SEND_DEADLINE_S", 1.5)
    monkeypatch.setattr(alerts, "SEND_TIMEOUT_S", 30)
    slow = Trickler(b"220-", b"slow greeting\r\n220-")
    try:
        config = alerts.SmtpConfig("smtp", "127.0.0.1", slow.port, None, None, "margindash@example.com")
        with pytest.raises(alerts.AlertError) as info:
            alerts.send_email(config, ["ops@example.com"], "s", "t", "<id@x>")
    finally:
        slow.close()
    assert "total deadline of 1.5 s" in info.value.message and "email via smtp://127.0.0.1" in info.value.message
