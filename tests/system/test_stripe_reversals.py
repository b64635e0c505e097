"""#15: refunds and disputes on the right invoice, deleted customers, late changes, stale metadata.

The real `stripe` client against tests/support/stripe_server.py: invoice payments filtered by `payment[type]`,
`payment[payment_intent]` and `status` (or, with `ignore_payment_filter`, answered unfiltered as a proxy
might), a charge with a payment intent surfaced as the payment intent, deleted-customer stubs, disputes.
"""

from __future__ import annotations

import json
import os
import time

import pytest
from stripe_server import (
    TEST_KEY,
    StripeServer,
    charge,
    customer,
    dispute,
    invoice,
    invoice_payment,
    line,
    refund,
)

from margindash_cli.store.db import Store

pytestmark = pytest.mark.slow  # a local HTTP server per test

DAY = 86_400


def day(offset_days: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(time.time() + offset_days * DAY))


@pytest.fixture
def server(monkeypatch, _isolated_home):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    with StripeServer(max_page=2) as srv:
        monkeypatch.setenv("MARGINDASH_STRIPE_API_BASE", srv.base)
        monkeypatch.setenv("STRIPE_API_KEY", TEST_KEY)
        yield srv


def two_customers(srv):
    """acme paid 50.00 with pi_a (the newest payment), bravo paid 30.00 with pi_b."""
    a = invoice("in_a", "cus_a", [line("il_a", 5000, None, None)], created="2026-02-10")
    b = invoice("in_b", "cus_b", [line("il_b", 3000, None, None)], created="2026-02-01")
    srv.add(
        customer("cus_a", {"customer_id": "acme", "plan": "pro"}),
        customer("cus_b", {"customer_id": "bravo", "plan": "free"}),
        a,
        b,
        invoice_payment("inpay_a", a, payment_intent="pi_a"),
        invoice_payment("inpay_b", b, payment_intent="pi_b"),
        charge("ch_a", 5000, currency="usd", balance_transaction=None, payment_intent="pi_a", customer="cus_a"),
        charge("ch_b", 3000, currency="usd", balance_transaction=None, payment_intent="pi_b", customer="cus_b"),
    )
    return a, b


def sync(cli, *args):
    result = cli("sync-stripe", "--json", *args)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def revenue(cli):
    home = os.environ["MARGINDASH_HOME"]
    with Store.open(os.path.join(home, "margindash.db")) as store:
        return dict(
            store.conn.execute(
                "SELECT c.customer_id, sum(r.amount_minor) FROM revenue r JOIN customers c ON c.id = r.customer"
                " WHERE r.source = 'stripe' GROUP BY 1"
            ).fetchall()
        )


def refs(cli):
    home = os.environ["MARGINDASH_HOME"]
    with Store.open(os.path.join(home, "margindash.db")) as store:
        return dict(
            store.conn.execute(
                "SELECT ref, sum(amount_minor) FROM revenue WHERE source = 'stripe' GROUP BY ref"
            ).fetchall()
        )


def execute(sql, args=()):
    home = os.environ["MARGINDASH_HOME"]
    with Store.open(os.path.join(home, "margindash.db")) as store, store.write():
        store.conn.execute(sql, args)


# ---- defect 2: a refund is booked only on an invoice whose payment it reverses ----------------------


def test_a_refund_is_not_booked_on_the_first_payment_an_unfiltered_answer_lists(cli, server):
    two_customers(server)
    server.add(refund("re_b", 1000, payment_intent="pi_b", charge="ch_b", created="2026-02-15"))
    server.ignore_payment_filter = True  # inpay_a (another customer's) comes first
    sync(cli)
    assert revenue(cli) == {"acme": 5000, "bravo": 2000}


def test_a_refund_no_payment_matches_is_stored_unlinked_and_reported(cli, server):
    two_customers(server)
    server.add(refund("re_x", 700, payment_intent="pi_unknown", charge="ch_unknown", created="2026-02-15"))
    server.ignore_payment_filter = True
    summary = sync(cli)
    assert revenue(cli) == {"acme": 5000, "bravo": 3000}
    assert summary["unlinked"] == ["re_x"]
    assert any("re_x" in w and "7.00 USD" in w and "not counted" in w for w in summary["warnings"])


def test_full_derives_stored_links_again(cli, server):
    two_customers(server)
    server.add(refund("re_b", 1000, payment_intent="pi_b", charge="ch_b", created="2026-02-15"))
    sync(cli)
    assert revenue(cli) == {"acme": 5000, "bravo": 2000}
    # a wrong link stored by an earlier version survives an incremental run, not --full
    execute("UPDATE stripe_refunds SET invoice = 'in_a' WHERE id = 're_b'")
    execute("UPDATE stripe_reversal_shares SET invoice = 'in_a' WHERE reversal = 're_b'")
    sync(cli, "--full")
    assert revenue(cli) == {"acme": 5000, "bravo": 2000}


# ---- defect 3: refunds of charges without a payment intent --------------------------------------------


def test_a_refund_of_a_legacy_charge_is_linked_by_charge(cli, server):
    two_customers(server)
    legacy = invoice("in_legacy", "cus_b", [line("il_legacy", 4000, None, None)], created="2026-01-20")
    server.add(
        legacy,
        invoice_payment("inpay_legacy", legacy, charge="ch_legacy"),
        charge("ch_legacy", 4000, currency="usd", balance_transaction=None, customer="cus_b"),
        refund("re_legacy", 1500, payment_intent=None, charge="ch_legacy", created="2026-02-20"),
    )
    summary = sync(cli)
    assert revenue(cli) == {"acme": 5000, "bravo": 3000 + 4000 - 1500}
    assert summary["unlinked"] == []


def test_a_refund_that_cannot_be_linked_is_never_dropped_without_a_word(cli, server):
    two_customers(server)
    server.add(refund("re_orphan", 900, payment_intent=None, charge="ch_gone", created="2026-02-20"))
    result = cli("sync-stripe")
    assert result.exit_code == 0
    assert "re_orphan" in result.stderr and "not counted" in result.stderr
    again = sync(cli)  # retried on every run, and reported again
    assert again["unlinked"] == ["re_orphan"]


# ---- defect 4: a payment intent paying several invoices ----------------------------------------------


def test_a_refund_of_a_payment_that_paid_two_invoices_is_split_by_amount_paid(cli, server):
    one = invoice("in_one", "cus_a", [line("il_one", 3000, None, None)], created="2026-02-01")
    two = invoice("in_two", "cus_a", [line("il_two", 1000, None, None)], created="2026-02-02")
    server.add(
        customer("cus_a", {"customer_id": "acme"}),
        one,
        two,
        invoice_payment("inpay_one", one, payment_intent="pi_both", amount_paid=3000),
        invoice_payment("inpay_two", two, payment_intent="pi_both", amount_paid=1000),
        refund("re_both", 2000, payment_intent="pi_both", created="2026-02-20"),
    )
    sync(cli)
    assert refs(cli) == {"il_one": 3000, "il_two": 1000, "re_both@in_one": -1500, "re_both@in_two": -500}
    assert sync(cli)["refs_changed"] == 0


# ---- defect 5: deleted customers keep their mapping -----------------------------------------------------


def test_a_deleted_customer_keeps_its_mapping_segment_and_plan(cli, server):
    two_customers(server)
    sync(cli)
    server.delete_customer("cus_a")
    summary = sync(cli, "--full")
    assert revenue(cli) == {"acme": 5000, "bravo": 3000} and "cus_a" not in summary["unmapped_customers"]
    listed = json.loads(cli("customers", "list", "--json").stdout)["customers"]
    a = next(c for c in listed if c["stripe_customer"] == "cus_a")
    assert (a["customer_id"], a["plan"], a["deleted"]) == ("acme", "pro", True)


# ---- defect 6: late changes outside the look-back window ---------------------------------------------


def test_an_uncollectible_invoice_paid_on_a_later_run_counts(cli, server):
    old = day(-100)
    unc = invoice("in_late", "cus_a", [line("il_late", 6000, None, None)], status="uncollectible", created=old)
    server.add(customer("cus_a", {"customer_id": "acme"}), unc)
    sync(cli)
    assert revenue(cli) == {}
    paid = invoice("in_late", "cus_a", [line("il_late", 6000, None, None)], status="paid", created=old)
    server.add(paid)
    sync(cli)  # the listing window (35 days) does not reach it: it is re-read by id
    assert revenue(cli) == {"acme": 6000}


def test_a_pending_refund_that_fails_later_stops_counting(cli, server):
    two_customers(server)
    server.add(refund("re_p", 1000, payment_intent="pi_b", created=day(-200), status="pending"))
    sync(cli)
    assert revenue(cli) == {"acme": 5000, "bravo": 2000}
    server.add(refund("re_p", 1000, payment_intent="pi_b", created=day(-200), status="failed"))
    sync(cli)
    assert revenue(cli) == {"acme": 5000, "bravo": 3000}


def test_sync_help_says_what_full_is_still_needed_for(cli):
    text = cli("sync-stripe", "--help").stdout
    assert "--full" in text and "400 days" in text and "120 days" in text


# ---- defect 7: disputes -----------------------------------------------------------------------------------


def test_a_lost_dispute_is_subtracted_when_it_closes_and_an_open_one_is_at_risk(cli, server):
    two_customers(server)
    server.add(dispute("dp_b", 3000, charge="ch_b", payment_intent="pi_b", created=day(-3)))
    sync(cli)
    assert revenue(cli) == {"acme": 5000, "bravo": 3000}  # open: not subtracted
    data = json.loads(cli("report", "--json", "--by", "customer").stdout)
    assert data["at_risk"]["disputes"] == [{"customer": "bravo", "currency": "usd", "amount": "30.00", "disputes": 1}]
    server.add(dispute("dp_b", 3000, charge="ch_b", payment_intent="pi_b", created=day(-3), status="lost"))
    before = int(time.time())
    sync(cli)
    assert revenue(cli) == {"acme": 5000, "bravo": 0}
    home = os.environ["MARGINDASH_HOME"]
    with Store.open(os.path.join(home, "margindash.db")) as store:
        (day_n,) = store.conn.execute("SELECT day FROM revenue WHERE ref = 'dp_b'").fetchone()
    assert day_n in (before // DAY, int(time.time()) // DAY)  # the day it was seen closed, not the day it opened
    data = json.loads(cli("report", "--json", "--by", "customer").stdout)
    assert data["at_risk"]["disputes"] == []


def test_a_won_dispute_counts_nothing(cli, server):
    two_customers(server)
    server.add(dispute("dp_a", 5000, charge="ch_a", payment_intent="pi_a", created=day(-3), status="won"))
    sync(cli)
    assert revenue(cli) == {"acme": 5000, "bravo": 3000}


# ---- defect 8: customer metadata changes with no invoice in the window ------------------------------------


def test_a_metadata_change_of_a_customer_without_new_invoices_is_picked_up(cli, server):
    two_customers(server)
    sync(cli)
    server.add(customer("cus_b", {"customer_id": "bravo", "plan": "enterprise"}))
    sync(cli)
    listed = json.loads(cli("customers", "list", "--json").stdout)["customers"]
    assert next(c for c in listed if c["stripe_customer"] == "cus_b")["plan"] == "enterprise"


# ---- also: --by plan, --revenue-basis billed --------------------------------------------------------------


def test_report_by_plan_groups_by_the_stripe_customers_plan(cli, server, tmp_path):
    two_customers(server)
    server.add(
        customer("cus_c", {"customer_id": "carol"}),
        invoice("in_c", "cus_c", [line("il_c", 1000, None, None)], created="2026-02-05"),
    )
    usage = tmp_path / "usage.jsonl"
    usage.write_text(
        "".join(
            json.dumps(
                {
                    "timestamp": "2026-02-10T10:00:00Z",
                    "customer_id": c,
                    "event_type": "chat",
                    "vendor": "openai",
                    "model": "gpt-4o-2024-08-06",
                    "input_tokens": 1000,
                    "output_tokens": 100,
                    "request_id": f"r{c}",
                }
            )
            + "\n"
            for c in ("acme", "bravo", "carol")
        )
    )
    assert cli("ingest", usage).exit_code == 0
    sync(cli)
    data = json.loads(cli("report", "--json", "--by", "plan", "--period", "2026-02").stdout)
    got = {r["group"]["plan"]: (r["revenue_usd"], r["events"]) for r in data["rows"]}
    assert got == {"pro": ("50.00", 1), "free": ("30.00", 1), "(none)": ("10.00", 1)}
    assert data["totals"]["revenue_usd"] == "90.00"


def test_revenue_basis_billed_counts_an_annual_plan_on_its_invoice_day(cli, server):
    annual = invoice("in_year", "cus_a", [line("il_year", 12000, "2026-01-01", "2027-01-01")], created="2026-01-01")
    server.add(customer("cus_a", {"customer_id": "acme"}), annual)
    sync(cli)

    def jan(*args):
        data = json.loads(cli("report", "--json", "--period", "2026-01", *args).stdout)
        return data["totals"]["revenue_usd"], data["query"]["revenue_basis"]

    assert jan() == ("10.19", "recognized")  # 31/365 of 120.00
    assert jan("--revenue-basis", "billed") == ("120.00", "billed")
    dec = json.loads(cli("report", "--json", "--period", "2026-12", "--revenue-basis", "billed").stdout)
    assert dec["totals"]["revenue_usd"] == "0.00"
    bad = cli("report", "--revenue-basis", "cash")
    assert bad.exit_code == 2 and "--revenue-basis" in bad.stderr


def test_m007_keeps_the_refund_links_of_a_store_at_m004_as_shares(tmp_path):
    from sqlite_utils import Database

    from margindash_cli.store.migrations import MIGRATIONS

    path = tmp_path / "m004.db"
    db = Database(path)
    MIGRATIONS.apply(db, stop_before="m007_stripe_reversals")
    db.conn.execute(
        "INSERT INTO stripe_refunds (id, invoice, charge, payment_intent, status, currency, created, amount, observed_at)"
        " VALUES ('re_old', 'in_old', NULL, 'pi_old', 'succeeded', 'usd', 0, 700, 0),"
        " ('re_none', NULL, NULL, 'pi_x', 'succeeded', 'usd', 0, 100, 0)"
    )
    db.conn.commit()
    db.conn.close()
    with Store.open(path) as store:
        assert "m007_stripe_reversals" in store.health.applied_migrations()  # later migrations (m008+) follow it
        assert store.stripe.stripe_reversal_shares("re_old") == {"in_old": 700}
        assert store.stripe.stripe_reversal_shares("re_none") == {}
        assert [r["id"] for r in store.stripe.stripe_unlinked_reversals()[0]] == ["re_none"]
