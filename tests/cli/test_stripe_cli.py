"""sync-stripe, stripe apply-event, customers and fx through the CLI, with the real `stripe` client talking
to a local Stripe API (tests/support/stripe_server.py) built from the API objects in tests/fixtures/stripe/."""

from __future__ import annotations

import json
import os
import time

import pytest
import stripe
from stripe_account import account
from stripe_server import (
    TEST_KEY,
    StripeServer,
    credit_note,
    customer,
    event,
    invoice,
    invoice_payment,
    line,
    refund,
)

from margindash_cli.store.db import Store

WHSEC = "whsec_test_margindash_fixture_secret_0123456789"


@pytest.fixture
def server(monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    with StripeServer(max_page=2, embedded_lines=2) as srv:  # every list spans pages; in_acme_jan's lines too
        srv.add(*account())
        monkeypatch.setenv("MARGINDASH_STRIPE_API_BASE", srv.base)
        monkeypatch.setenv("STRIPE_API_KEY", TEST_KEY)
        yield srv


def sync(cli, *args):
    result = cli("sync-stripe", "--json", *args)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def report(cli, *args):
    result = cli("report", "--json", *args)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def revenue_by_customer(cli, *args):
    data = report(cli, "--by", "customer", *args)
    return {r["group"]["customer"]: r["revenue_usd"] for r in data["rows"] if r["revenue_usd"] != "0.00"}, data


def store_rows(home, sql, args=()):
    with Store.open(home / "margindash.db") as store:
        return store.conn.execute(sql, args).fetchall()


def write_usage(tmp_path):
    path = tmp_path / "usage.jsonl"
    events = [
        {
            "timestamp": "2026-01-20T10:00:00Z",
            "customer_id": "acme",
            "event_type": "chat",
            "vendor": "openai",
            "model": "gpt-4o-2024-08-06",
            "input_tokens": 1000,
            "output_tokens": 200,
            "request_id": "r1",
        },
        {
            "timestamp": "2026-02-05T10:00:00Z",
            "customer_id": "globex",
            "event_type": "chat",
            "vendor": "openai",
            "model": "gpt-4o-2024-08-06",
            "input_tokens": 2000,
            "output_tokens": 300,
            "request_id": "r2",
        },
        {
            "timestamp": "2026-03-05T10:00:00Z",
            "customer_id": "initech",
            "event_type": "chat",
            "vendor": "openai",
            "model": "gpt-4o-2024-08-06",
            "input_tokens": 500,
            "output_tokens": 50,
            "request_id": "r3",
        },
    ]
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return path


# ---- a full sync -----------------------------------------------------------------------------------


def test_sync_counts_every_case_exactly_and_reports_show_it(cli, server, tmp_path, _isolated_home):
    assert cli("ingest", write_usage(tmp_path)).exit_code == 0
    result = cli("sync-stripe", "--json")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)

    assert summary["listed"] == {"customers": 4, "invoices": 9, "credit_notes": 1, "refunds": 2, "disputes": 0}
    assert summary["window_since"] is None  # the first run reads everything
    assert summary["revenue"] == {
        "eur": {"amount": "100.00", "usd": "0.00", "unconverted": "100.00"},
        "jpy": {"amount": "5000", "usd": "33.50", "unconverted": "0"},
        "usd": {"amount": "186.00", "usd": "186.00", "unconverted": "0.00"},
    }
    assert summary["invoices_counted"] == 5 and summary["unmapped_customers"] == ["cus_orphan"]
    assert "invoice in_orphan" in result.stderr and "30.00 USD" in result.stderr  # total mismatch, named

    # pagination really happened: several pages of invoices, and the third line of in_acme_jan
    invoice_pages = [r for r in server.requests if r.path == "/v1/invoices"]
    assert (
        len(invoice_pages) == 5
        and invoice_pages[1].params["starting_after"]
        and invoice_pages[0].params["expand[0]"] == "data.customer"
    )
    assert any(
        r.path == "/v1/invoices/in_acme_jan/lines" and r.params["starting_after"] == "il_acme_seats"
        for r in server.requests
    )

    by_customer, data = revenue_by_customer(cli, "--since", "2026-01-01", "--until", "2026-04-30")
    # acme 31.00 + 40.00 (50.00 less a 10.00 discount) + 20.00 setup - 10.00 credit note (its refund not again)
    # globex 100.00 (119.00 with VAT inside) - 20.00 refund without a credit note; void/uncollectible/open: nothing
    assert by_customer == {"acme": "81.00", "globex": "80.00", "tokyo-ai": "33.50", "cus_orphan": "25.00"}
    assert data["totals"]["revenue_usd"] == "219.50"
    assert data["unconverted_revenue"] == {"eur": 10000}  # reported separately, never dropped

    january, _ = revenue_by_customer(cli, "--period", "2026-01")
    february, _ = revenue_by_customer(cli, "--period", "2026-02")
    assert january == {"acme": "37.00"}  # 17 days of the month line + the setup line
    assert february == {"acme": "44.00", "globex": "80.00"}  # 14 days + seats - credit note; 100 - 20

    month = store_rows(
        _isolated_home,
        "SELECT strftime('%Y-%m', day * 86400, 'unixepoch'), sum(amount_minor), sum(usd_cents)"
        " FROM revenue WHERE ref = 'il_acme_month' GROUP BY 1",
    )
    assert month == [("2026-01", 1700, 1700), ("2026-02", 1400, 1400)]
    yen = store_rows(
        _isolated_home,
        "SELECT currency, sum(amount_minor), sum(usd_cents), count(*) FROM revenue WHERE ref = 'il_tokyo'",
    )
    assert yen == [("jpy", 5000, 3350, 31)]

    segments = report(cli, "--by", "segment", "--since", "2026-01-01", "--until", "2026-04-30")
    by_segment = {r["group"]["segment"]: r["revenue_usd"] for r in segments["rows"]}
    assert by_segment["enterprise"] == "81.00" and by_segment["smb"] == "80.00"  # from Stripe customer metadata


def test_a_rerun_changes_nothing(cli, server, _isolated_home):
    sync(cli)
    before = store_rows(
        _isolated_home,
        "SELECT customer, day, amount_minor, currency, usd_cents, source, ref FROM revenue ORDER BY ref, day",
    )
    n = len(server.requests)
    again = sync(cli)
    after = store_rows(
        _isolated_home,
        "SELECT customer, day, amount_minor, currency, usd_cents, source, ref FROM revenue ORDER BY ref, day",
    )
    assert again["refs_changed"] == 0 and after == before and len(before) > 100
    # the rerun listed a look-back window from the cursor, not everything
    lists = [r for r in server.requests[n:] if r.path == "/v1/invoices"]
    assert lists and all("created[gte]" in r.params for r in lists)
    assert again["window_since"] is not None
    text = cli("sync-stripe")
    assert (
        text.exit_code == 0 and "Revenue changed for 0 Stripe object(s)" in text.stdout and "cus_orphan" in text.stdout
    )


def test_include_open_counts_open_invoices(cli, server):
    sync(cli)
    summary = sync(cli, "--include-open")
    assert summary["refs_changed"] == 1 and summary["invoices_counted"] == 6
    by_customer, _ = revenue_by_customer(cli, "--since", "2026-01-01", "--until", "2026-04-30")
    assert by_customer["globex"] == "130.00"


def test_objects_that_change_after_creation_are_picked_up_by_the_look_back(cli, server):
    now = int(time.time())
    day = time.strftime("%Y-%m-%d", time.gmtime(now - 2 * 86400))
    recent = invoice("in_recent", "cus_globex", [line("il_recent", 4000, None, None)], status="open", created=day)
    server.add(recent)
    sync(cli)
    assert "in_recent" not in json.dumps(store_rows_for(cli))
    paid = invoice("in_recent", "cus_globex", [line("il_recent", 4000, None, None)], status="paid", created=day)
    server.add(
        paid,
        invoice_payment("inpay_recent", paid, payment_intent="pi_recent"),
        refund("re_recent", 1000, payment_intent="pi_recent", created=day),
    )
    summary = sync(cli)
    assert summary["refs_changed"] == 2  # the line now counts, and its refund subtracts
    assert store_rows_for(cli)["il_recent"] == 4000 and store_rows_for(cli)["re_recent"] == -1000


def store_rows_for(cli):
    home = os.environ["MARGINDASH_HOME"]
    with Store.open(os.path.join(home, "margindash.db")) as store:
        return dict(
            store.conn.execute(
                "SELECT ref, sum(amount_minor) FROM revenue WHERE source = 'stripe' GROUP BY ref"
            ).fetchall()
        )


# ---- faults ------------------------------------------------------------------------------------------


def test_a_429_backs_off_and_retries_then_succeeds(cli, server):
    server.fail("/v1/invoices", 429)
    server.fail("/v1/credit_notes", 500)
    server.fail("/v1/refunds", drop=True)
    summary = sync(cli)
    assert summary["retries"] == 3
    first_pages = [
        r.path
        for r in server.requests
        if r.path in ("/v1/invoices", "/v1/credit_notes", "/v1/refunds") and "starting_after" not in r.params
    ]
    assert (
        first_pages.count("/v1/invoices") == 2
        and first_pages.count("/v1/credit_notes") == 2
        and first_pages.count("/v1/refunds") == 2
    )
    assert summary["revenue"]["usd"]["amount"] == "186.00"


def test_a_bad_key_fails_clearly_writes_nothing_and_never_shows_the_key(cli, server, monkeypatch, _isolated_home):
    bad = "rk_test_51WrongKeyForMarginDashTests9876543210"
    monkeypatch.setenv("STRIPE_API_KEY", bad)
    result = cli("sync-stripe")
    assert result.exit_code == 1
    assert "HTTP 401" in result.stderr and "hint:" in result.stderr
    for text in (result.stdout, result.stderr):
        assert bad not in text and bad[-6:] not in text
    assert store_rows(_isolated_home, "SELECT count(*) FROM revenue")[0][0] == 0
    assert store_rows(_isolated_home, "SELECT count(*) FROM stripe_cursors")[0][0] == 0
    with open(_isolated_home / "margindash.db", "rb") as fh:
        assert bad.encode() not in fh.read()


def test_a_403_names_the_access_the_key_needs(cli, server):
    server.fail("/v1/invoice_payments", 403)
    result = cli("sync-stripe")
    assert result.exit_code == 1 and "HTTP 403" in result.stderr and "invoice payments" in result.stderr


@pytest.mark.slow
def test_a_trickling_server_ends_in_an_error_not_a_hang(cli, server, monkeypatch, _isolated_home):
    """#22: a byte every 0.2 s resets every per-read timeout; the request's total deadline ends it."""
    monkeypatch.setenv("MARGINDASH_STRIPE_DEADLINE_S", "1.5")
    server.fail("/v1/invoices", trickle=0.2)
    result = cli("sync-stripe")
    assert result.exit_code == 1  # catch_exceptions=False: a traceback would fail the test itself
    assert "error:" in result.stderr and "hint:" in result.stderr and "Traceback" not in result.stderr
    assert "no complete answer within the 1.5 s deadline while listing invoices" in result.stderr
    assert "MARGINDASH_STRIPE_DEADLINE_S" in result.stderr
    assert store_rows(_isolated_home, "SELECT count(*) FROM revenue")[0][0] == 0
    assert store_rows(_isolated_home, "SELECT count(*) FROM stripe_cursors")[0][0] == 0
    server.faults.clear()
    assert sync(cli)["revenue"]["usd"]["amount"] == "186.00"  # the next run does it all


def test_a_bad_deadline_setting_is_a_usage_error(cli, server, monkeypatch):
    monkeypatch.setenv("MARGINDASH_STRIPE_DEADLINE_S", "soon")
    result = cli("sync-stripe")
    assert (
        result.exit_code != 0 and "MARGINDASH_STRIPE_DEADLINE_S" in result.stderr and "Traceback" not in result.stderr
    )


def test_a_failure_mid_run_writes_nothing(cli, server, monkeypatch, _isolated_home):
    monkeypatch.setattr("margindash_cli.clients.stripe_api.BACKOFF_S", 0.01)
    server.fail("/v1/refunds", 500, times=20)
    result = cli("sync-stripe")
    assert result.exit_code == 1 and "HTTP 500, after 5 attempt(s)" in result.stderr
    assert store_rows(_isolated_home, "SELECT count(*) FROM revenue")[0][0] == 0
    assert store_rows(_isolated_home, "SELECT count(*) FROM stripe_invoices")[0][0] == 0
    server.faults.clear()
    assert sync(cli)["revenue"]["usd"]["amount"] == "186.00"  # the next run does it all


def test_the_key_can_come_from_a_private_file_only(cli, server, monkeypatch, tmp_path):
    monkeypatch.delenv("STRIPE_API_KEY")
    assert "no Stripe API key" in cli("sync-stripe").stderr
    key_file = tmp_path / "stripe.key"
    key_file.write_text(TEST_KEY + "\n")
    os.chmod(key_file, 0o644)
    refused = cli("sync-stripe", "--api-key-file", key_file)
    assert refused.exit_code == 1 and "chmod 600" in refused.stderr and TEST_KEY not in refused.stderr
    os.chmod(key_file, 0o600)
    assert cli("sync-stripe", "--api-key-file", key_file).exit_code == 0


# ---- customers and fx ----------------------------------------------------------------------------


def test_unmatched_customers_and_mapping(cli, server, tmp_path):
    assert cli("ingest", write_usage(tmp_path)).exit_code == 0
    sync(cli)
    listed = json.loads(cli("customers", "list", "--json").stdout)["customers"]
    acme = next(c for c in listed if c["stripe_customer"] == "cus_acme")
    assert acme == {
        "stripe_customer": "cus_acme",
        "customer_id": "acme",
        "mapped_by": "metadata",
        "segment": "enterprise",
        "plan": "pro",
        "deleted": False,
        "stripe_revenue_usd": "81.00",
        "unconverted_revenue_rows": 0,
        "events": 1,
    }
    unmatched = json.loads(cli("customers", "list", "--unmatched", "--json").stdout)
    assert [c["stripe_customer"] for c in unmatched["stripe_without_usage"]] == ["cus_orphan", "cus_tokyo"]
    assert [c["customer_id"] for c in unmatched["usage_without_revenue"]] == ["initech"]
    table = cli("customers", "list", "--unmatched")
    assert "cus_orphan" in table.stdout and "initech" in table.stdout

    mapped = cli("customers", "map", "cus_orphan", "initech")
    assert mapped.exit_code == 0 and "revenue refs moved: 1" in mapped.stdout
    by_customer, _ = revenue_by_customer(cli, "--since", "2026-01-01", "--until", "2026-04-30")
    assert by_customer["initech"] == "25.00" and "cus_orphan" not in by_customer
    unmatched = json.loads(cli("customers", "list", "--unmatched", "--json").stdout)
    assert [c["stripe_customer"] for c in unmatched["stripe_without_usage"]] == ["cus_tokyo"] and unmatched[
        "usage_without_revenue"
    ] == []
    assert sync(cli)["refs_changed"] == 0  # the map survives a sync
    assert cli("customers", "map", "cus_orphan", "--remove").exit_code == 0
    assert revenue_by_customer(cli, "--since", "2026-01-01", "--until", "2026-04-30")[0]["cus_orphan"] == "25.00"


def test_customer_key_option_maps_by_another_metadata_key(cli, server):
    server.add(customer("cus_acme", {"customer_id": "acme", "app_id": "acme-corp"}))
    sync(cli, "--customer-key", "app_id")
    by_customer, _ = revenue_by_customer(cli, "--since", "2026-01-01", "--until", "2026-04-30")
    assert by_customer["acme-corp"] == "81.00" and by_customer["cus_globex"] == "80.00"


def test_fx_import_converts_what_stripe_could_not(cli, server, tmp_path):
    sync(cli)
    rates = tmp_path / "rates.csv"
    rates.write_text("date,currency,usd_per_unit\n2026-02-27,eur,1.0835\n")
    result = cli("fx", "import", rates, "--json")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (
        summary["stripe_refs_changed"] == 1 and summary["unconverted"] == {}
    )  # in_euro was finalized 3 days after the rate
    by_customer, data = revenue_by_customer(cli, "--since", "2026-01-01", "--until", "2026-04-30")
    assert by_customer["globex"] == "188.35" and data["unconverted_revenue"] == {}  # 80.00 + 100.00 EUR at 1.0835
    assert sync(cli)["revenue"]["eur"] == {"amount": "100.00", "usd": "108.35", "unconverted": "0.00"}
    yen = store_rows_for(cli)["il_tokyo"]
    assert yen == 5000


# ---- webhooks --------------------------------------------------------------------------------------


def signed(payload: str, secret: str = WHSEC, timestamp: int | None = None) -> str:
    return stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp=timestamp)


def test_apply_event_verifies_and_applies_an_invoice_and_a_credit_note(cli, server, monkeypatch, tmp_path):
    monkeypatch.delenv("STRIPE_API_KEY")  # webhooks alone, no API
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", WHSEC)
    now = int(time.time())
    inv = invoice("in_hook", "cus_hook", [line("il_hook", 4200, "2026-03-01", "2026-03-08")], created="2026-03-01")
    body = json.dumps(event("invoice.paid", inv, created=now - 60, id="evt_paid"))
    path = tmp_path / "event.json"
    path.write_text(body)

    result = cli("stripe", "apply-event", path, "--signature", signed(body), "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["refs_changed"] == 1
    assert revenue_by_customer(cli, "--period", "2026-03")[0] == {"cus_hook": "42.00"}
    replay = json.loads(cli("stripe", "apply-event", path, "--signature", signed(body), "--json").stdout)
    assert replay["refs_changed"] == 0  # a replayed webhook changes nothing

    cn = credit_note("cn_hook", inv, 1200, effective="2026-03-05")
    cn_body = json.dumps(event("credit_note.created", cn, created=now - 30, id="evt_cn"))
    assert cli("stripe", "apply-event", "-", "--signature", signed(cn_body), input=cn_body).exit_code == 0
    assert revenue_by_customer(cli, "--period", "2026-03")[0] == {"cus_hook": "30.00"}

    voided = json.dumps(
        event(
            "credit_note.voided",
            credit_note("cn_hook", inv, 1200, effective="2026-03-05", status="void"),
            created=now - 10,
            id="evt_void",
        )
    )
    assert cli("stripe", "apply-event", "-", "--signature", signed(voided), input=voided).exit_code == 0
    assert revenue_by_customer(cli, "--period", "2026-03")[0] == {"cus_hook": "42.00"}
    # the older event, delivered late, does not bring the credit back
    late = json.loads(cli("stripe", "apply-event", "-", "--signature", signed(cn_body), "--json", input=cn_body).stdout)
    assert late["applied"] is False and "newer state" in late["reason"]


def test_apply_event_rejects_bad_and_stale_signatures(cli, server, monkeypatch, _isolated_home):
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", WHSEC)
    inv = invoice("in_hook", "cus_hook", [line("il_hook", 4200, None, None)], created="2026-03-01")
    body = json.dumps(event("invoice.paid", inv, created=int(time.time())))
    forged = cli("stripe", "apply-event", "-", "--signature", signed(body, secret="whsec_wrong"), input=body)
    assert forged.exit_code == 1 and "does not match" in forged.stderr
    stale = cli("stripe", "apply-event", "-", "--signature", signed(body, timestamp=int(time.time()) - 600), input=body)
    assert stale.exit_code == 1 and "older than 5 minutes" in stale.stderr
    tampered = cli("stripe", "apply-event", "-", "--signature", signed(body), input=body.replace("4200", "9999"))
    assert tampered.exit_code == 1
    for r in (forged, stale, tampered):
        assert WHSEC not in r.stdout + r.stderr
    assert store_rows(_isolated_home, "SELECT count(*) FROM stripe_invoices")[0][0] == 0
    monkeypatch.delenv("STRIPE_WEBHOOK_SECRET")
    missing = cli("stripe", "apply-event", "-", "--signature", signed(body), input=body)
    assert missing.exit_code == 2 and "STRIPE_WEBHOOK_SECRET" in missing.stderr


def test_apply_event_with_a_key_reads_what_the_payload_lacks(cli, server, monkeypatch):
    """A refund event: its invoice is found through the payment intent, then read from the API."""
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", WHSEC)
    r = refund("re_globex", 2380, payment_intent="pi_globex", created="2026-02-20")
    body = json.dumps(event("refund.created", r, created=int(time.time())))
    result = cli("stripe", "apply-event", "-", "--signature", signed(body), "--json", input=body)
    assert result.exit_code == 0, result.stderr
    rows = store_rows_for(cli)
    assert rows == {"il_globex_api": 10000, "re_globex": -2000}


def test_apply_event_acknowledges_events_that_carry_no_revenue(cli, monkeypatch):
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", WHSEC)
    from stripe_server import template

    plan_created = template("event")  # the fixture event, as Stripe sends it (a plan.created)
    plan_created["created"] = int(time.time())
    body = json.dumps(plan_created)
    result = cli("stripe", "apply-event", "-", "--signature", signed(body), "--json", input=body)
    assert result.exit_code == 0 and json.loads(result.stdout)["applied"] is False


def test_telemetry_is_off_and_requests_are_authenticated_gets(cli, server):
    sync(cli)
    assert server.requests and all("X-Stripe-Client-Telemetry" not in r.headers for r in server.requests)
    assert all(r.headers["Authorization"] == f"Bearer {TEST_KEY}" for r in server.requests)
    assert all(r.headers["Stripe-Version"] == stripe.api_version for r in server.requests)


def test_imported_revenue_uses_and_waits_for_fx_rates(cli, tmp_path, _isolated_home):
    csv_file = tmp_path / "eu.csv"
    csv_file.write_text("customer_id,amount,currency,date\nacme,100.00,eur,2026-03-03\n")
    assert cli("revenue", "import", csv_file).exit_code == 0
    assert report(cli, "--by", "customer", "--period", "2026-03")["unconverted_revenue"] == {"eur": 10000}
    rates = tmp_path / "rates.csv"
    rates.write_text("date,currency,units_per_usd\n2026-03-02,eur,0.8\n")
    summary = json.loads(cli("fx", "import", rates, "--json").stdout)
    assert summary["revenue_rows_converted"] == 1 and summary["unconverted"] == {}
    assert revenue_by_customer(cli, "--period", "2026-03")[0] == {"acme": "125.00"}
    assert cli("revenue", "import", csv_file).exit_code == 0  # re-importing converts at once
    assert revenue_by_customer(cli, "--period", "2026-03")[0] == {"acme": "125.00"}


def test_retries_wait_as_told_and_stop_when_stripe_says_not_to(server):
    from margindash_cli.clients.stripe_api import StripeApi, StripeSyncError, connect

    waits: list[float] = []
    api = StripeApi(connect(TEST_KEY, server.base), sleep=waits.append)
    server.fail("/v1/customers", 429)
    server.fail("/v1/customers", 429, headers={"Retry-After": "3"})
    server.fail("/v1/customers", 503)
    server.fail("/v1/customers", 429, headers={"Retry-After": "\u00b2"})  # a digit to str.isdigit(), not to float()
    listed = [c["id"] for c in api.iterate("listing customers", api.client.v1.customers.list, {})]
    assert sorted(listed) == ["cus_acme", "cus_globex", "cus_orphan", "cus_tokyo"]  # two pages of two
    assert waits == [0.5, 3.0, 2.0, 4.0] and api.retries == 4  # 0.5 s doubling per attempt, or the server's Retry-After
    server.fail("/v1/customers", 500, headers={"Stripe-Should-Retry": "false"})
    with pytest.raises(StripeSyncError) as exc:
        list(api.iterate("listing customers", api.client.v1.customers.list, {}))
    assert "HTTP 500, after 1 attempt(s)" in exc.value.message and len(waits) == 4


def test_the_key_is_not_in_the_store(cli, server, _isolated_home):
    sync(cli)
    for path in _isolated_home.iterdir():
        if path.is_file():
            assert TEST_KEY.encode() not in path.read_bytes(), path
