"""The small Stripe account the Stripe tests sync: every case #15 lists, with amounts easy to check by hand.
Shared by tests/cli/test_stripe_cli.py and the system tests (crash safety, concurrency, secrets)."""

from __future__ import annotations

from stripe_server import (
    balance_transaction,
    charge,
    credit_note,
    customer,
    invoice,
    invoice_payment,
    line,
    payment_intent,
    refund,
)


def account() -> list[dict]:
    """A small Stripe account: every case the issue lists, with amounts easy to check by hand."""
    acme_jan = invoice(
        "in_acme_jan",
        "cus_acme",
        [
            line(
                "il_acme_month", 3100, "2026-01-15", "2026-02-15", taxes=((310, "exclusive"),)
            ),  # 31 days, exclusive tax
            line("il_acme_seats", 5000, "2026-02-01", "2026-03-01", discounts=(1000,)),  # a 10.00 discount
            line("il_acme_setup", 2000, None, None),  # no period: counts on the finalization date
        ],
        created="2026-01-15",
    )
    globex_feb = invoice(
        "in_globex_feb",
        "cus_globex",
        [
            line("il_globex_api", 11900, "2026-02-01", "2026-03-01", taxes=((1900, "inclusive"),)),  # 19% VAT inside
        ],
        created="2026-02-01",
    )
    tokyo = invoice(
        "in_tokyo_mar",
        "cus_tokyo",
        [line("il_tokyo", 5000, "2026-03-01", "2026-04-01")],
        currency="jpy",
        created="2026-03-01",
    )
    euro = invoice(
        "in_euro",
        "cus_globex",
        [line("il_euro", 10000, "2026-03-02", "2026-04-02")],
        currency="eur",
        created="2026-03-02",
    )
    orphan = invoice(
        "in_orphan",
        "cus_orphan",
        [line("il_orphan", 2500, "2026-03-10", "2026-03-11")],
        created="2026-03-10",
        extra_excl_tax=500,
    )  # shipping outside the lines: a total mismatch
    return [
        customer("cus_acme", {"customer_id": "acme", "segment": "enterprise", "plan": "pro"}),
        customer("cus_globex", {"customer_id": "globex", "segment": "smb"}),
        customer("cus_tokyo", {"customer_id": "tokyo-ai"}),
        customer("cus_orphan", {}),
        acme_jan,
        globex_feb,
        tokyo,
        euro,
        orphan,
        invoice(
            "in_void",
            "cus_acme",
            [line("il_void", 9999, "2026-02-01", "2026-03-01")],
            status="void",
            created="2026-02-03",
        ),
        invoice(
            "in_uncollectible",
            "cus_globex",
            [line("il_unc", 4000, None, None)],
            status="uncollectible",
            created="2026-02-04",
        ),
        invoice(
            "in_open",
            "cus_globex",
            [line("il_open", 5000, "2026-03-05", "2026-04-05")],
            status="open",
            created="2026-03-05",
        ),
        invoice("in_draft", "cus_acme", [line("il_draft", 7000, None, None)], status="draft", created="2026-03-06"),
        # a credit note with the refund it paid out: counted once, as the credit note
        credit_note("cn_acme", acme_jan, 1000, effective="2026-02-10", refunds=(("re_acme", 1000),)),
        refund("re_acme", 1000, payment_intent="pi_acme", created="2026-02-10"),
        invoice_payment("inpay_acme", acme_jan, payment_intent="pi_acme"),
        # a refund with no credit note: 2380 of 11900 paid, tax included -> 2000 of revenue
        refund("re_globex", 2380, payment_intent="pi_globex", created="2026-02-20"),
        invoice_payment("inpay_globex", globex_feb, payment_intent="pi_globex"),
        # the yen invoice settled in USD at Stripe's rate
        invoice_payment("inpay_tokyo", tokyo, payment_intent="pi_tokyo"),
        payment_intent("pi_tokyo", 5000, currency="jpy", latest_charge="ch_tokyo"),
        charge("ch_tokyo", 5000, currency="jpy", balance_transaction="txn_tokyo", payment_intent="pi_tokyo"),
        balance_transaction("txn_tokyo", 3350, exchange_rate=0.0067, created="2026-03-01"),
        # the euro invoice was paid outside Stripe: no balance transaction, so no Stripe rate
        invoice_payment("inpay_euro", euro),
    ]
