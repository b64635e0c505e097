"""Secrets never leak: a run of every command that handles the Stripe key, the Stripe webhook secret, the SMTP
password or a webhook URL, as real processes with known fake secrets (the Stripe SDK's debug log on), on the
happy path and on every failure we can provoke; then every byte produced (output, errors, logs, the store and
its WAL, the quarantine, the blocklist) is searched for them. Also: key files readable by others are refused,
SQL takes hostile values as data, and `--map` paths are never evaluated."""

from __future__ import annotations

import base64
import json
import os
import socket
import time
from pathlib import Path
from urllib.parse import quote

import pytest
import stripe
from hypothesis import example, given, settings
from hypothesis import strategies as st
from processes import env, run

from margindash_cli.ingest.canonical import get_path

MARKER = "LEAKMARKER"  # in every secret: finding it anywhere is a leak
STRIPE_KEY = f"rk_test_51{MARKER}stripekey0123456789abcdef"
WEBHOOK_SECRET = f"whsec_{MARKER}webhooksecret0123456789"
SMTP_PASSWORD = f"{MARKER}-smtp/p@ss word"
HOOK_PATH = f"/services/T000/B000/{MARKER}hookpath"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def every_byte_produced(root: Path, exclude: set[Path]) -> list[tuple[Path, bytes]]:
    return [(p, p.read_bytes()) for p in sorted(root.rglob("*")) if p.is_file() and p not in exclude]


def test_no_secret_appears_in_anything_a_run_produces(tmp_path, monkeypatch):
    from stripe_account import account
    from stripe_server import StripeServer, event, invoice, line
    from test_budget_alerts import Hook, Mailbox, smtp_server

    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    logs, db = tmp_path / "logs", tmp_path / "store.db"
    key_file = tmp_path / "stripe.key"
    key_file.write_text(STRIPE_KEY + "\n")
    key_file.chmod(0o600)
    usage = tmp_path / "usage.jsonl"
    usage.write_text(
        json.dumps(
            {
                "timestamp": "2026-10-10T00:00:00Z",
                "customer_id": "acme",
                "vendor": "openai",
                "model": "gpt-4o",
                "input_tokens": 10**7,
                "output_tokens": 10**6,
                "request_id": "r1",
            }
        )
        + "\nnot json\n"
    )
    outcomes = []

    def margindash(*args, expect, **extra):
        p = run(
            "--db",
            db,
            *args,
            env=env(
                STRIPE_LOG="debug",
                MARGINDASH_NOW="2026-10-16T12:00:00Z",
                MARGINDASH_ALERT_FROM="margindash@example.com",
                **extra,
            ),
            logs=logs,
        )
        outcomes.append((" ".join(map(str, args))[:40], p.popen.returncode))
        assert p.popen.returncode in expect, (args, p.stdout, p.stderr)
        assert "Traceback" not in p.stderr, p.stderr
        return p

    assert margindash("ingest", usage, expect={0}).popen.returncode == 0
    with StripeServer(api_key=STRIPE_KEY, max_page=2) as srv:
        srv.add(*account())
        base = {"MARGINDASH_STRIPE_API_BASE": srv.base}
        margindash("sync-stripe", "--json", expect={0}, STRIPE_API_KEY=STRIPE_KEY, **base)
        margindash("sync-stripe", "--api-key-file", key_file, "--full", expect={0}, **base)
        margindash("sync-stripe", expect={1}, STRIPE_API_KEY=STRIPE_KEY[:-1] + "X", **base)  # a wrong key: 401
        for status in (
            400,
            403,
            429,
        ):  # refused, forbidden; and a 5xx Stripe says not to retry (no backoff to wait out)
            srv.fail("/v1/invoices", status, times=1)
        srv.fail("/v1/invoices", 500, headers={"Stripe-Should-Retry": "false"})
        for _ in range(3):
            margindash(
                "sync-stripe",
                expect={1} if not srv.faults or srv.faults[0].status != 429 else {0, 1},
                STRIPE_API_KEY=STRIPE_KEY,
                **base,
            )

        body = json.dumps(
            event(
                "invoice.paid",
                invoice("in_hook", "cus_acme", [line("il_hook", 4200, None, None)]),
                created=int(time.time()),
            )
        )
        payload = tmp_path / "event.json"
        payload.write_text(body)
        good = stripe.WebhookSignature.generate_signature_header(body, WEBHOOK_SECRET)
        margindash(
            "stripe",
            "apply-event",
            payload,
            "--signature",
            good,
            "--api-key-file",
            key_file,
            expect={0},
            STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
            **base,
        )
        margindash(
            "stripe",
            "apply-event",
            payload,
            "--signature",
            good.replace("v1=", "v1=0"),
            expect={1},
            STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
        )
        old = stripe.WebhookSignature.generate_signature_header(body, WEBHOOK_SECRET, timestamp=int(time.time()) - 3600)
        margindash(
            "stripe", "apply-event", payload, "--signature", old, expect={1}, STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET
        )
        margindash(
            "stripe",
            "apply-event",
            payload,
            "--signature",
            good,
            expect={1},
            STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET + "x",
        )

    margindash(
        "budget",
        "set",
        "org",
        "--scope",
        "org",
        "--limit-usd",
        "1",
        "--period",
        "month",
        "--email",
        "ops@example.com",
        expect={0},
    )
    user = quote("alerts@example.com", safe="")
    smtp_url = f"smtp://{user}:{quote(SMTP_PASSWORD, safe='')}@127.0.0.1:{{port}}"
    hook = Hook(statuses=(500,))
    try:
        with smtp_server(Mailbox(), auth_require_tls=False) as port:  # no STARTTLS: the password must not be sent
            margindash(
                "budget",
                "check",
                "--json",
                "--webhook",
                hook.url(HOOK_PATH),
                expect={1, 5},
                MARGINDASH_SMTP_URL=smtp_url.format(port=port),
            )
        margindash(
            "budget",
            "check",
            "--blocklist",
            tmp_path / "blocklist.json",
            expect={1, 5},
            MARGINDASH_SMTP_URL=smtp_url.format(port=free_port()),  # nobody listening
            MARGINDASH_WEBHOOK_URL=f"http://127.0.0.1:{free_port()}{HOOK_PATH}",
        )
        margindash(
            "budget",
            "check",
            expect={1, 2, 5},
            MARGINDASH_SMTP_URL=f"smtp://{user}:{quote(SMTP_PASSWORD, safe='')}@[bad",
            MARGINDASH_WEBHOOK_URL=f"ftp://127.0.0.1{HOOK_PATH}",
        )
    finally:
        hook.close()
    for command in (
        ("report", "--json"),
        ("events", "--json"),
        ("customers", "list", "--json"),
        ("budget", "list", "--json"),
        ("doctor", "--json"),
    ):
        margindash(*command, expect={0, 1, 3})

    forms = {s: {s, quote(s, safe=""), quote(s)} for s in (STRIPE_KEY, WEBHOOK_SECRET, SMTP_PASSWORD, HOOK_PATH)}
    plain = base64.b64encode(f"\0alerts@example.com\0{SMTP_PASSWORD}".encode()).decode()  # what AUTH PLAIN would carry
    produced = every_byte_produced(tmp_path, exclude={key_file, payload})
    assert len(produced) > 20 and any(p.name == "store.db" for p, _ in produced)
    leaks = [
        (p.name, form)
        for p, data in produced
        for variants in forms.values()
        for form in variants | {plain}
        if form.encode() in data
    ]
    leaks += [(p.name, MARKER) for p, data in produced if MARKER.encode() in data]
    assert leaks == [], leaks
    print(
        f"\nsecrets: {len(outcomes)} runs {outcomes}; {len(produced)} files searched, {sum(len(d) for _, d in produced):,} bytes"
    )


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o606])
def test_a_key_file_others_may_read_is_refused(cli, tmp_path, mode, monkeypatch):
    key_file = tmp_path / "stripe.key"
    key_file.write_text(STRIPE_KEY)
    key_file.chmod(mode)
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
    body = json.dumps(
        {
            "object": "event",
            "id": "evt_1",
            "type": "customer.updated",
            "created": int(time.time()),
            "data": {"object": {"object": "customer", "id": "cus_1"}},
        }
    )
    signature = stripe.WebhookSignature.generate_signature_header(body, WEBHOOK_SECRET)
    for args in (
        ("sync-stripe", "--api-key-file", key_file),
        ("stripe", "apply-event", "-", "--signature", signature, "--api-key-file", key_file),
    ):
        result = cli(*args, input=body)
        assert result.exit_code == 1
        assert f"refusing the key file {key_file}: group or others may access it (mode {mode:04o})" in result.stderr
        assert "hint: chmod 600" in result.stderr and MARKER not in result.stdout + result.stderr
    assert not (Path(os.environ["MARGINDASH_HOME"]) / "margindash.db").exists()  # refused before the store was opened


HOSTILE_TEXT = [
    "a'); DROP TABLE events; --",
    "x' OR '1'='1",
    'q"uote',
    "semi;colon",
    "back\\slash",
    "%_like",
    "ünï©ødé",
    "$.tags",
    'tag:x" OR 1=1 --',
]


def test_sql_takes_hostile_values_as_data(cli, tmp_path):
    log = tmp_path / "usage.jsonl"
    lines = []
    for i, text in enumerate(HOSTILE_TEXT):
        lines.append(
            json.dumps(
                {
                    "timestamp": "2026-10-01T00:00:00Z",
                    "customer_id": text,
                    "event_type": text,
                    "segment": text,
                    "vendor": "openai",
                    "model": f"gpt-4o{text}",
                    "input_tokens": 1000 + i,
                    "output_tokens": 1,
                    "request_id": text,
                    "tags": {text: text},
                }
            )
        )
    log.write_text("\n".join(lines) + "\n")
    assert json.loads(cli("ingest", log, "--json").stdout)["events_stored"] == len(HOSTILE_TEXT)
    for text in HOSTILE_TEXT:
        rows = json.loads(cli("events", "--json", "--customer", text).stdout)
        assert [(r["customer_id"], r["event_type"], r["model"], r["segment"]) for r in rows] == [
            (text, text, f"gpt-4o{text}", text)
        ]
        report = json.loads(cli("report", "--json", "--by", f"tag:{text}", "--customer", text).stdout)
        assert report["totals"]["events"] == 1 and report["rows"][0]["group"] == {f"tag:{text}": text}
        assert (
            cli(
                "budget",
                "set",
                f"b{HOSTILE_TEXT.index(text)}",
                "--scope",
                f"customer:{text}",
                "--limit-usd",
                "5",
                "--period",
                "day",
            ).exit_code
            == 0
        )
        assert json.loads(cli("events", "--json", "--explain", text).stdout)["request_id"] == text
    scopes = sorted(b["scope"] for b in json.loads(cli("budget", "list", "--json").stdout)["budgets"])
    assert scopes == sorted(f"customer:{t}" for t in HOSTILE_TEXT)
    assert json.loads(cli("report", "--json").stdout)["totals"]["events"] == len(HOSTILE_TEXT)  # nothing dropped


def test_map_paths_are_data_never_evaluated(cli, tmp_path):
    canary = tmp_path / "PWNED"
    log = tmp_path / "usage.jsonl"
    weird = {
        "__class__": {"__init__": "by-dunder"},
        "os.system('touch PWNED')": "by-call",
        "{__class__!r}": "by-format",
        "user": {"0": "by-index-key"},
        "list": ["by-list-index"],
    }
    log.write_text(
        json.dumps(
            {
                "timestamp": "2026-10-01T00:00:00Z",
                "vendor": "openai",
                "model": "gpt-4o",
                "input_tokens": 1,
                "output_tokens": 1,
                "request_id": "r1",
                **weird,
            }
        )
        + "\n"
    )
    for path, expected in [
        ("__class__.__init__", "by-dunder"),
        ("__class__.__init__.__globals__", None),
        (f"__import__('os').system('touch {canary}')", None),
        ("{__class__!r}", "by-format"),
        ("{0.__class__}", None),
        ("user.0", "by-index-key"),
        ("list.0", "by-list-index"),
        ("list.__len__", None),
    ]:
        db = tmp_path / f"{abs(hash(path))}.db"
        result = cli("--db", db, "ingest", log, "--map", f"customer_id={path}", "--json")
        assert result.exit_code == 0, result.stderr
        assert json.loads(cli("--db", db, "events", "--json").stdout)[0]["customer_id"] == expected, path
    assert not canary.exists()


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=4),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=4), c, max_size=3),
    max_leaves=10,
)


def reachable(obj) -> list:
    out = [obj]
    if isinstance(obj, dict):
        for v in obj.values():
            out.extend(reachable(v))
    elif isinstance(obj, list):
        for v in obj:
            out.extend(reachable(v))
    return out


@settings(max_examples=300, deadline=None)
@example(obj=[], path="²")  # isdigit() but not int(): found by this test
@given(
    obj=JSON,
    path=st.text(max_size=30)
    | st.lists(st.sampled_from(["a", "0", "1", "__class__", "", "__dict__", "items"]), min_size=1, max_size=4).map(
        ".".join
    ),
)
def test_get_path_only_follows_keys_and_indexes(obj, path):
    found = get_path(obj, path)
    assert found is None or any(found is v for v in reachable(obj))
