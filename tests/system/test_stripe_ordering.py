"""#22 item 5: a Stripe object never moves backwards, whatever order its webhooks and syncs arrive in."""

from __future__ import annotations

import json
import time

import pytest
import stripe
from stripe_server import TEST_KEY, StripeServer, customer, event, invoice, line

from margindash_cli.revenue.stripe_sync import Settings, apply_event
from margindash_cli.store.db import Store

pytestmark = pytest.mark.slow

WHSEC = "whsec_test_margindash_fixture_secret_0123456789"


def signed(payload: str) -> str:
    return stripe.WebhookSignature.generate_signature_header(payload, WHSEC)


def revenue(home) -> dict[str, int]:
    with Store.open(home / "margindash.db") as store:
        return dict(
            store.conn.execute(
                "SELECT ref, sum(amount_minor) FROM revenue WHERE source = 'stripe' GROUP BY ref"
            ).fetchall()
        )


def apply(cli, ev):
    body = json.dumps(ev)
    result = cli("stripe", "apply-event", "-", "--signature", signed(body), "--json", input=body)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_a_late_finalized_event_of_the_same_second_does_not_undo_paid(cli, monkeypatch, _isolated_home):
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", WHSEC)
    now = int(time.time())
    paid = invoice("in_hook", "cus_hook", [line("il_hook", 4200, None, None)], created="2026-03-01")
    opened = invoice("in_hook", "cus_hook", [line("il_hook", 4200, None, None)], status="open", created="2026-03-01")
    assert apply(cli, event("invoice.paid", paid, created=now, id="evt_paid"))["applied"]
    late = apply(cli, event("invoice.finalized", opened, created=now, id="evt_fin"))  # same second, delivered after
    assert late["applied"] is False and "newer state" in late["reason"]
    assert revenue(_isolated_home) == {"il_hook": 4200}
    # an event a second *later* carrying an earlier state is refused too
    later = apply(cli, event("invoice.finalized", opened, created=now + 1, id="evt_fin2"))
    assert later["applied"] is False and revenue(_isolated_home) == {"il_hook": 4200}


def test_sync_stripe_does_not_overwrite_a_webhook_applied_while_it_fetched(cli, monkeypatch, _isolated_home):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    opened = invoice("in_race", "cus_r", [line("il_race", 4200, None, None)], status="open", created="2026-03-01")
    paid = invoice("in_race", "cus_r", [line("il_race", 4200, None, None)], status="paid", created="2026-03-01")
    with StripeServer() as srv:
        srv.add(customer("cus_r", {"customer_id": "racer"}), opened)
        monkeypatch.setenv("MARGINDASH_STRIPE_API_BASE", srv.base)
        monkeypatch.setenv("STRIPE_API_KEY", TEST_KEY)

        def webhook_arrives() -> None:  # the sync has read the invoice as open; now it is paid, and the webhook lands
            srv.add(paid)
            with Store.open(_isolated_home / "margindash.db") as store:
                out = apply_event(
                    store, event("invoice.paid", paid, created=int(time.time()) + 1), None, default_settings=Settings()
                )
            assert out.applied

        srv.on_request("/v1/credit_notes", webhook_arrives)  # listed after the invoices
        result = cli("sync-stripe", "--json")
        assert result.exit_code == 0, result.stderr
    assert revenue(_isolated_home) == {"il_race": 4200}
    with Store.open(_isolated_home / "margindash.db") as store:
        assert store.stripe.stripe_invoice("in_race")["status"] == "paid"
