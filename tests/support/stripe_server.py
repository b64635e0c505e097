"""A small Stripe API on 127.0.0.1 that the real `stripe` client talks to, for the sync-stripe tests.

It speaks the wire format stripe-python 16.x uses (see tests/fixtures/stripe/README.md):
- bearer auth (`Authorization: Bearer <key>`); a wrong key gets a 401 error envelope;
- form-style query parameters, percent-encoded: `created[gte]`, `expand[0]`, `starting_after`,
  `invoice`, `customer`, `status`, `limit`, and on /v1/invoice_payments `payment[type]` (required with any
  other `payment[...]`, as the API requires) with `payment[payment_intent]` or `payment[payment_record]`;
  `ignore_payment_filter` makes the server answer as if it dropped the `payment[...]` filter (a proxy, an
  older API version), so a client that trusts the first result is caught;
- deleted customers: `delete_customer(id)` leaves the stub `{id, object, deleted: true}` that retrieve and
  `expand` return, and the list endpoint leaves them out;
- list envelopes `{"object": "list", "data": [...], "has_more": ..., "url": ...}`, newest first,
  paged with `starting_after`; `max_page` caps a page below `limit` so small scenarios span pages;
- nested invoice line lists: an invoice embeds its first `embedded_lines` lines, the rest come from
  GET /v1/invoices/{id}/lines;
- `expand` of ids to objects (`data.customer`, `data.balance_transaction`, `latest_charge.balance_transaction`);
- faults on demand: `fail(path_prefix, status=429)`, `fail(..., drop=True)` (connection closed unanswered),
  `fail(..., trickle=0.2)` (a 200 whose body comes one byte every 0.2 s: no read ever times out).

Objects are built from the real API objects in tests/fixtures/stripe/ (deep copies with fields set).
"""

from __future__ import annotations

import copy
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "stripe"
TEST_KEY = "rk_test_51MarginDashFixtureKeyDoNotUse0123456789"  # a restricted-key-shaped fake
COLLECTIONS = {  # URL collection -> object type it lists
    "invoices": "invoice",
    "credit_notes": "credit_note",
    "refunds": "refund",
    "customers": "customer",
    "invoice_payments": "invoice_payment",
    "charges": "charge",
    "payment_intents": "payment_intent",
    "balance_transactions": "balance_transaction",
    "disputes": "dispute",
}


def ts(text: str) -> int:
    """Unix seconds of an ISO date or date-time (UTC)."""
    if len(text) == 10:
        text += "T00:00:00"
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


def template(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


# ---- object builders (from the fixture objects) ------------------------------------------------


def customer(id: str, metadata: dict[str, str] | None = None, created: str = "2025-12-01") -> dict[str, Any]:
    c = template("customer")
    c.update(id=id, metadata=metadata or {}, created=ts(created), discount=None)
    return c


def line(
    id: str,
    amount: int,
    start: str | None,
    end: str | None,
    *,
    currency: str = "usd",
    discounts: tuple[int, ...] = (),
    taxes: tuple[tuple[int, str], ...] = (),
) -> dict[str, Any]:
    """An invoice line: amount before discounts; taxes are (amount, 'inclusive'|'exclusive')."""
    inv = template("invoice")
    li = copy.deepcopy(inv["lines"]["data"][0])
    li.update(
        id=id,
        amount=amount,
        currency=currency,
        discount_amounts=[{"amount": d, "discount": f"di_{id}_{i}"} for i, d in enumerate(discounts)],
        pretax_credit_amounts=[
            {"amount": d, "discount": f"di_{id}_{i}", "type": "discount", "credit_balance_transaction": None}
            for i, d in enumerate(discounts)
        ],
        taxes=[
            {
                "amount": a,
                "tax_behavior": b,
                "taxability_reason": "standard_rated",
                "taxable_amount": amount,
                "type": "tax_rate_details",
                "tax_rate_details": {"tax_rate": "txr_1"},
            }
            for a, b in taxes
        ],
        period=None if start is None else {"start": ts(start), "end": ts(end or start)},
        subtotal=amount,
    )
    return li


def invoice(
    id: str,
    customer: str,
    lines: list[dict[str, Any]],
    *,
    status: str = "paid",
    currency: str = "usd",
    created: str = "2026-01-15",
    finalized: str | None = None,
    extra_excl_tax: int = 0,
) -> dict[str, Any]:
    """An invoice whose totals follow from its lines (extra_excl_tax adds e.g. shipping not in the lines)."""
    inv = template("invoice")
    net = 0
    tax = 0
    excl_tax = 0
    for li in lines:
        li["invoice"] = id
        li["currency"] = currency
        disc = sum(d["amount"] for d in li["discount_amounts"])
        incl = sum(t["amount"] for t in li["taxes"] if t["tax_behavior"] == "inclusive")
        excl = sum(t["amount"] for t in li["taxes"] if t["tax_behavior"] == "exclusive")
        net += li["amount"] - disc - incl
        tax += incl + excl
        excl_tax += excl
    total_excluding_tax = net + extra_excl_tax
    total = total_excluding_tax + tax
    fin = ts(finalized or created) + 3600 if status != "draft" else None
    inv.update(
        id=id,
        customer=customer,
        currency=currency,
        status=status,
        created=ts(created),
        effective_at=fin,
        subtotal=sum(li["amount"] for li in lines),
        subtotal_excluding_tax=net,
        total_excluding_tax=total_excluding_tax,
        total=total,
        amount_due=total,
        amount_paid=total if status == "paid" else 0,
        amount_remaining=0 if status == "paid" else total,
        status_transitions={
            "finalized_at": fin,
            "marked_uncollectible_at": fin if status == "uncollectible" else None,
            "paid_at": fin if status == "paid" else None,
            "voided_at": fin if status == "void" else None,
        },
        last_finalization_error=None,
        from_invoice=None,
        parent=None,
    )
    inv["lines"] = {"object": "list", "data": lines, "has_more": False, "url": f"/v1/invoices/{id}/lines"}
    return inv


def credit_note(
    id: str,
    invoice: dict[str, Any],
    amount_excl_tax: int,
    *,
    effective: str,
    status: str = "issued",
    refunds: tuple[tuple[str, int], ...] = (),
    tax: int = 0,
) -> dict[str, Any]:
    cn = template("credit_note")
    cn.update(
        id=id,
        invoice=invoice["id"],
        customer=invoice["customer"],
        currency=invoice["currency"],
        status=status,
        created=ts(effective),
        effective_at=ts(effective),
        subtotal=amount_excl_tax,
        subtotal_excluding_tax=amount_excl_tax,
        total_excluding_tax=amount_excl_tax,
        total=amount_excl_tax + tax,
        amount=amount_excl_tax + tax,
        total_taxes=[],
        voided_at=ts(effective) if status == "void" else None,
        refunds=[
            {"refund": r, "amount_refunded": a, "type": "refund", "payment_record_refund": None} for r, a in refunds
        ],
        type="post_payment" if refunds else "pre_payment",
        pre_payment_amount=0 if refunds else amount_excl_tax + tax,
        post_payment_amount=amount_excl_tax + tax if refunds else 0,
    )
    cn["lines"] = {"object": "list", "data": [], "has_more": False, "url": f"/v1/credit_notes/{id}/lines"}
    return cn


def refund(
    id: str,
    amount: int,
    *,
    payment_intent: str | None,
    created: str,
    currency: str = "usd",
    status: str = "succeeded",
    balance_transaction: str | None = None,
    charge: str | None = None,
) -> dict[str, Any]:
    """A refund; a legacy (source or charge API) payment has a charge and no payment intent."""
    r = template("refund")
    r.update(
        id=id,
        amount=amount,
        currency=currency,
        created=ts(created),
        status=status,
        payment_intent=payment_intent,
        charge=charge,
        balance_transaction=balance_transaction,
    )
    return r


def dispute(
    id: str,
    amount: int,
    *,
    charge: str,
    payment_intent: str | None,
    created: str,
    status: str = "needs_response",
    currency: str = "usd",
    balance_transactions: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Built from the Dispute fields stripe-python 16.1.0 declares (no fixture object ships for it): the balance
    transactions are embedded objects (the funds withdrawn when it opened, reinstated if won)."""
    return {
        "id": id,
        "object": "dispute",
        "amount": amount,
        "balance_transactions": balance_transactions or [],
        "charge": charge,
        "created": ts(created),
        "currency": currency,
        "evidence": {},
        "evidence_details": {
            "due_by": ts(created) + 14 * 86400,
            "has_evidence": False,
            "past_due": False,
            "submission_count": 0,
        },
        "is_charge_refundable": False,
        "livemode": False,
        "metadata": {},
        "payment_intent": payment_intent,
        "payment_method_details": None,
        "reason": "fraudulent",
        "status": status,
    }


def balance_transaction(
    id: str, amount: int, *, currency: str = "usd", exchange_rate: float | None = None, created: str = "2026-01-15"
) -> dict[str, Any]:
    bt = template("balance_transaction")
    bt.update(id=id, amount=amount, net=amount, currency=currency, exchange_rate=exchange_rate, created=ts(created))
    return bt


def charge(
    id: str,
    amount: int,
    *,
    currency: str,
    balance_transaction: str | None,
    payment_intent: str | None = None,
    customer: str | None = None,
) -> dict[str, Any]:
    c = template("charge")
    c.update(
        id=id,
        amount=amount,
        amount_captured=amount,
        currency=currency,
        balance_transaction=balance_transaction,
        payment_intent=payment_intent,
        captured=True,
        source=None,
        customer=customer,
    )
    return c


def payment_intent(id: str, amount: int, *, currency: str, latest_charge: str) -> dict[str, Any]:
    """Built from the PaymentIntent fields stripe-python 16.1.0 declares (no fixture object ships for it)."""
    return {
        "id": id,
        "object": "payment_intent",
        "amount": amount,
        "amount_received": amount,
        "currency": currency,
        "latest_charge": latest_charge,
        "status": "succeeded",
        "created": 0,
        "livemode": False,
        "metadata": {},
    }


def invoice_payment(
    id: str,
    invoice: dict[str, Any],
    *,
    payment_intent: str | None = None,
    charge: str | None = None,
    status: str = "paid",
    amount_paid: int | None = None,
) -> dict[str, Any]:
    """Built from the InvoicePayment fields stripe-python 16.1.0 declares. A charge that has a payment intent is
    surfaced as the payment intent (type payment_intent); only a charge without one is type charge."""
    kind = "payment_intent" if payment_intent else "charge" if charge else "payment_record"
    if kind == "payment_intent":
        charge = None
    paid = (invoice["total"] if amount_paid is None else amount_paid) if status == "paid" else None
    return {
        "id": id,
        "object": "invoice_payment",
        "invoice": invoice["id"],
        "amount_paid": paid,
        "amount_requested": invoice["total"],
        "created": invoice["created"],
        "currency": invoice["currency"],
        "is_default": True,
        "livemode": False,
        "status": status,
        "payment": {
            "type": kind,
            "payment_intent": payment_intent,
            "charge": charge,
            "payment_record": "pr_1" if kind == "payment_record" else None,
        },
        "status_transitions": {"canceled_at": None, "paid_at": invoice["status_transitions"]["paid_at"]},
    }


def event(type_: str, obj: dict[str, Any], *, created: int, id: str = "evt_1") -> dict[str, Any]:
    e = template("event")
    e.update(id=id, type=type_, created=created, api_version="2026-10-28.endive")
    e["data"] = {"object": copy.deepcopy(obj)}
    return e


# ---- the server ----------------------------------------------------------------------------------


@dataclass
class Fault:
    prefix: str
    status: int = 0
    drop: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    trickle: float = 0.0  # seconds between the bytes of a 200's body


@dataclass
class Request:
    path: str
    params: dict[str, str]
    headers: dict[str, str]


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        # A client killed mid-request (the crash tests) breaks the pipe: expected, not news.
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class StripeServer:
    def __init__(self, api_key: str = TEST_KEY, *, max_page: int = 100, embedded_lines: int = 10) -> None:
        self.api_key = api_key
        self.max_page = max_page
        self.embedded_lines = embedded_lines
        self.objects: dict[str, dict[str, Any]] = {}  # id -> object (invoices keep all their lines here)
        self.faults: list[Fault] = []
        self.requests: list[Request] = []
        self.delay = 0.0  # seconds every request waits before it is answered (the crash tests kill a sync mid-way)
        self.ignore_payment_filter = False  # answer /v1/invoice_payments as if `payment[...]` had not been sent
        self.hooks: list[
            tuple[str, Any]
        ] = []  # (path prefix, fn): fn() runs once, before the first such request is answered
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                server._handle(self)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def add(self, *objs: dict[str, Any]) -> None:
        for o in objs:
            self.objects[o["id"]] = copy.deepcopy(o)

    def on_request(self, prefix: str, fn: Any) -> None:
        """Run `fn()` once, before answering the first request whose path starts with `prefix` (e.g. apply a
        webhook while a sync is fetching)."""
        self.hooks.append((prefix, fn))

    def delete_customer(self, id: str) -> None:
        """What Stripe keeps of a deleted customer: a stub without metadata."""
        self.objects[id] = {"id": id, "object": "customer", "deleted": True}

    def fail(
        self,
        prefix: str,
        status: int = 0,
        *,
        drop: bool = False,
        times: int = 1,
        headers: dict[str, str] | None = None,
        trickle: float = 0.0,
    ) -> None:
        """The next `times` requests whose path starts with `prefix` fail with `status` (or a dropped connection, or
        their real answer trickled a byte every `trickle` seconds)."""
        for _ in range(times):
            self.faults.append(Fault(prefix, status, drop, headers or {}, trickle))

    def paths(self, prefix: str = "/v1/") -> list[str]:
        return [r.path for r in self.requests if r.path.startswith(prefix)]

    def __enter__(self) -> StripeServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # ---- request handling ----------------------------------------------------------------------

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        if self.delay:
            time.sleep(self.delay)
        url = urlsplit(h.path)
        params = dict(parse_qsl(url.query, keep_blank_values=True))
        with self.lock:
            self.requests.append(Request(url.path, params, dict(h.headers)))
            fault = next((f for f in self.faults if url.path.startswith(f.prefix)), None)
            if fault:
                self.faults.remove(fault)
            hook = next((h for h in self.hooks if url.path.startswith(h[0])), None)
            if hook:
                self.hooks.remove(hook)
        if hook:
            hook[1]()
        if fault and fault.drop:
            h.close_connection = True
            h.connection.shutdown(2)
            return
        if fault and not fault.trickle:
            kind = {401: "invalid_request_error", 429: "invalid_request_error"}.get(fault.status, "api_error")
            code = {429: "rate_limit"}.get(fault.status)
            return self._send(
                h,
                fault.status,
                {"error": {"type": kind, "code": code, "message": f"injected {fault.status}"}},
                fault.headers,
            )
        if h.headers.get("Authorization") != f"Bearer {self.api_key}":
            sent = (h.headers.get("Authorization") or "")[7:]
            masked = sent[:8] + "*" * 4 + sent[-4:] if sent else ""
            return self._send(
                h, 401, {"error": {"type": "invalid_request_error", "message": f"Invalid API Key provided: {masked}"}}
            )
        try:
            status, body = self._route(url.path, params)
        except KeyError as exc:
            status, body = (
                404,
                {
                    "error": {
                        "type": "invalid_request_error",
                        "code": "resource_missing",
                        "message": f"No such object: '{exc.args[0]}'",
                    }
                },
            )
        self._send(h, status, body, trickle=fault.trickle if fault else 0.0)

    def _send(
        self,
        h: BaseHTTPRequestHandler,
        status: int,
        body: Any,
        headers: dict[str, str] | None = None,
        *,
        trickle: float = 0.0,
    ) -> None:
        data = json.dumps(body).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Request-Id", f"req_test_{len(self.requests)}")
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        if not trickle:
            h.wfile.write(data)
            return
        h.wfile.flush()
        for i in range(len(data)):  # until the client gives up and the pipe breaks
            time.sleep(trickle)
            try:
                h.wfile.write(data[i : i + 1])
                h.wfile.flush()
            except OSError:
                h.close_connection = True
                return

    def _route(self, path: str, params: dict[str, str]) -> tuple[int, Any]:
        parts = path.strip("/").split("/")
        if len(parts) < 2 or parts[0] != "v1" or parts[1] not in COLLECTIONS:
            raise KeyError(path)
        expand = [v for k, v in sorted(params.items()) if k.startswith("expand[")]
        kind = COLLECTIONS[parts[1]]
        if len(parts) == 2:
            payment = {k[8:-1]: v for k, v in params.items() if k.startswith("payment[")}
            if payment and "type" not in payment:
                return 400, {
                    "error": {
                        "type": "invalid_request_error",
                        "code": "parameter_missing",
                        "param": "payment[type]",
                        "message": "Missing required param: payment[type].",
                    }
                }
            items = [
                o
                for o in self.objects.values()
                if o.get("object") == kind and not o.get("deleted") and self._matches(o, params)
            ]
            items.sort(key=lambda o: (o.get("created", 0), o["id"]), reverse=True)
            return 200, self._page(items, params, f"/v1/{parts[1]}", [e[5:] for e in expand if e.startswith("data.")])
        obj = self.objects[parts[2]]
        if len(parts) == 4 and parts[3] == "lines":
            return 200, self._page(obj["lines"]["data"], params, path, [])
        if len(parts) != 3:
            raise KeyError(path)
        out = self._present(obj)
        for e in expand:
            self._expand(out, e.split("."))
        return 200, out

    def _matches(self, o: dict[str, Any], params: dict[str, str]) -> bool:
        created = o.get("created", 0)
        for op, test in (
            ("gte", created.__ge__),
            ("gt", created.__gt__),
            ("lte", created.__le__),
            ("lt", created.__lt__),
        ):
            if f"created[{op}]" in params and not test(int(params[f"created[{op}]"])):
                return False
        for name in ("customer", "invoice", "status"):
            if name in params and o.get(name) != params[name]:
                return False
        if o.get("object") == "invoice_payment" and not self.ignore_payment_filter:
            pay = o.get("payment") or {}
            for name in ("type", "payment_intent", "payment_record"):
                if f"payment[{name}]" in params and pay.get(name) != params[f"payment[{name}]"]:
                    return False
        return True

    def _page(self, items: list[dict[str, Any]], params: dict[str, str], url: str, expand: list[str]) -> dict[str, Any]:
        limit = min(int(params.get("limit", 10)), 100, self.max_page)
        if "starting_after" in params:
            ids = [o["id"] for o in items]
            items = items[ids.index(params["starting_after"]) + 1 :]
        page = [self._present(o) for o in items[:limit]]
        for o in page:
            for e in expand:
                self._expand(o, e.split("."))
        return {"object": "list", "data": page, "has_more": len(items) > limit, "url": url}

    def _present(self, o: dict[str, Any]) -> dict[str, Any]:
        """What the API returns for an object: an invoice embeds only its first lines."""
        out = copy.deepcopy(o)
        if out.get("object") == "invoice":
            lines = out["lines"]["data"]
            out["lines"]["data"] = lines[: self.embedded_lines]
            out["lines"]["has_more"] = len(lines) > self.embedded_lines
        return out

    def _expand(self, obj: dict[str, Any], path: list[str]) -> None:
        key, rest = path[0], path[1:]
        value = obj.get(key)
        if isinstance(value, str) and value in self.objects:
            value = obj[key] = self._present(self.objects[value])
        if rest and isinstance(value, dict):
            self._expand(value, rest)
