"""Talking to Stripe through the official `stripe` package: the key, the address, the client, paging, retries.

`connect` builds a `stripe.StripeClient` with telemetry and the SDK's own retries off; `StripeApi` wraps
it with retry.py's policy (429s back off and retry up to RATE_LIMIT_RETRIES times, 5xx and dropped
connections up to RETRIES times, waits from BACKOFF_S doubling or the server's Retry-After, capped at
MAX_WAIT_S), pages list endpoints, and turns every failure into a StripeSyncError of our own words.
`verify_event` checks a webhook's signature. The API key and the webhook secret stay here: never printed,
logged or stored; error messages are built from status codes and scrubbed of both anyway.
"""

from __future__ import annotations

import json
import stat
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from margindash_cli.clients.retry import Policy
from margindash_cli.errors import InputError, MarginDashError, UsageError

PAGE_LIMIT = 100  # objects per list request (Stripe's maximum)
TIMEOUT_S = 30  # per request
RETRIES = 4  # extra attempts after a 5xx or a connection error
RATE_LIMIT_RETRIES = 8  # extra attempts after a 429 (the SDK itself never retries one)
BACKOFF_S = 0.5  # first wait; doubles per attempt
MAX_WAIT_S = 20.0  # cap on one wait, a server's Retry-After included
API_BASE_ENV = "MARGINDASH_STRIPE_API_BASE"  # a proxy or a test server instead of api.stripe.com
KEY_ENV = "STRIPE_API_KEY"
WEBHOOK_SECRET_ENV = "STRIPE_WEBHOOK_SECRET"
WEBHOOK_TOLERANCE_S = 300  # a signature older than this is stale (Stripe's default)
KEY_HINT = "set STRIPE_API_KEY (a restricted key with read access is enough) or pass --api-key-file FILE"
READ_SCOPES = "invoices, invoice payments, credit notes, customers, charges, refunds, disputes, payment intents and balance transactions"


class StripeSyncError(MarginDashError):
    """Stripe refused or failed a request; nothing was written."""


# ---- configuration: the key, the address, the client ---------------------------------------------


def load_api_key(env: Mapping[str, str], key_file: Path | None) -> str:
    """The secret or restricted key from a file that only its owner can read, else from STRIPE_API_KEY."""
    if key_file is not None:
        try:
            st = key_file.stat()
        except OSError as exc:
            raise InputError(f"cannot read the key file {key_file}: {exc.strerror}", KEY_HINT) from None
        if st.st_mode & 0o077:
            raise InputError(
                f"refusing the key file {key_file}: group or others may access it (mode {stat.S_IMODE(st.st_mode):04o})",
                f"chmod 600 {key_file}",
            )
        key = key_file.read_text(encoding="utf-8", errors="replace").strip()
        origin = f"the key file {key_file}"
    else:
        key = (env.get(KEY_ENV) or "").strip()
        origin = KEY_ENV
        if not key:
            raise UsageError("no Stripe API key", KEY_HINT)
    if not key or any(c.isspace() for c in key) or not key.startswith(("sk_", "rk_")):
        what = "a publishable key (pk_...)" if key.startswith("pk_") else "not a Stripe secret or restricted key"
        raise UsageError(f"{origin} holds {what}", "use a restricted key (rk_...) with read access, or a secret key (sk_...)")
    return key


def api_base(env: Mapping[str, str]) -> str | None:
    base = (env.get(API_BASE_ENV) or "").strip().rstrip("/")
    if not base:
        return None
    if not base.startswith(("https://", "http://")):
        raise UsageError(f"{API_BASE_ENV} must be an http(s) address, not {base!r}")
    return base


def connect(api_key: str, base: str | None) -> Any:
    """A StripeClient with telemetry off and no SDK retries (StripeApi retries, 429s included)."""
    import stripe

    stripe.enable_telemetry = False
    return stripe.StripeClient(
        api_key,
        base_addresses={"api": base} if base else None,
        max_network_retries=0,
        http_client=stripe.RequestsClient(timeout=TIMEOUT_S),
    )


def as_dict(obj: Any) -> dict[str, Any]:
    """Plain data of a Stripe object (stripe 15+ objects are not dicts)."""
    if obj is None:
        return {}
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    return dict(obj)


class StripeApi:
    """The client plus retry.py's policy: 429s back off and retry, 5xx and dropped connections retry a few
    times, 401/403 fail at once with our own message. Counts requests and retries for the summary."""

    def __init__(self, client: Any, *, secrets: tuple[str, ...] = (), sleep: Callable[[float], None] = time.sleep):
        self.client = client
        self.secrets = tuple(s for s in secrets if s)
        self.sleep = sleep
        self.requests = 0
        self.retries = 0

    def scrub(self, text: str) -> str:
        for s in self.secrets:
            text = text.replace(s, "[redacted]")
        return text

    def call(self, what: str, fn: Callable[..., Any], *args: Any, missing_ok: bool = False, **kwargs: Any) -> Any:
        import stripe

        policy = Policy(RETRIES, BACKOFF_S, MAX_WAIT_S, rate_limit_retries=RATE_LIMIT_RETRIES)  # as set at call time
        attempt = rate_limited = failed = 0
        while True:
            self.requests += 1
            try:
                return fn(*args, **kwargs)
            except stripe.AuthenticationError as exc:
                raise StripeSyncError(f"Stripe rejected the API key while {what} (HTTP 401{_req(exc)}); nothing was written", KEY_HINT) from None
            except stripe.PermissionError as exc:
                raise StripeSyncError(
                    f"the API key may not read what {what} needs (HTTP 403{_req(exc)}); nothing was written",
                    f"give the restricted key Read access to {READ_SCOPES}",
                ) from None
            except stripe.InvalidRequestError as exc:
                if missing_ok and exc.http_status == 404:
                    return None
                code = getattr(exc, "code", None) or "invalid_request"
                raise StripeSyncError(self.scrub(f"Stripe refused a request while {what} (HTTP {exc.http_status}, {code}{_req(exc)})"),
                                      "nothing was written; report this with the request id") from None  # fmt: skip
            except (stripe.RateLimitError, stripe.APIError, stripe.APIConnectionError, stripe.StripeError) as exc:
                status = getattr(exc, "http_status", None)
                headers = getattr(exc, "headers", None) or {}
                if isinstance(exc, stripe.RateLimitError) or status == 429:
                    rate_limited += 1
                    give_up = policy.exhausted(failed=failed, rate_limited=rate_limited)
                    why = "rate limited (HTTP 429)"
                elif isinstance(exc, stripe.APIConnectionError) or (status or 0) >= 500 or (isinstance(exc, stripe.APIError) and status is None):
                    failed += 1
                    give_up = policy.exhausted(failed=failed, rate_limited=rate_limited) or str(headers.get("stripe-should-retry", "")).lower() == "false"
                    why = "the connection failed" if isinstance(exc, stripe.APIConnectionError) else f"HTTP {status}"
                else:
                    give_up = True
                    why = f"HTTP {status}"
                if give_up:
                    raise StripeSyncError(
                        f"Stripe failed while {what}: {why}, after {attempt + 1} attempt(s){_req(exc)}; nothing was written",
                        "try again later; every run re-reads what it needs",
                    ) from None
                wait = policy.wait_s(attempt, headers.get("retry-after"))
                attempt += 1
                self.retries += 1
                self.sleep(wait)

    def iterate(self, what: str, list_fn: Callable[..., Any], params: dict[str, Any], *args: Any) -> Iterator[dict[str, Any]]:
        """Every object of a list endpoint, page by page (`starting_after`), each page retried on its own."""
        after: str | None = None
        while True:
            page_params = dict(params, limit=PAGE_LIMIT, **({"starting_after": after} if after else {}))
            page = self.call(what, list_fn, *args, params=page_params)
            data = [as_dict(o) for o in page.data]
            yield from data
            if not page.has_more or not data:
                return
            after = data[-1]["id"]


def _req(exc: Any) -> str:
    rid = getattr(exc, "request_id", None)
    return f", request {rid}" if rid else ""


def verify_event(payload: bytes, signature: str, secret: str) -> dict[str, Any]:
    """The event of a webhook payload whose Stripe-Signature header verifies (HMAC-SHA256, at most 5 minutes old)."""
    import stripe

    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("the webhook payload is not UTF-8", "pass the request body exactly as Stripe sent it") from None
    try:
        stripe.WebhookSignature.verify_header(text, signature, secret, WEBHOOK_TOLERANCE_S)
    except stripe.SignatureVerificationError as exc:
        why = "is older than 5 minutes" if "tolerance" in str(exc).lower() else "does not match the payload"
        raise InputError(f"the webhook signature {why}; nothing was applied",
                         "pass the Stripe-Signature header and the raw body of the same request; check STRIPE_WEBHOOK_SECRET") from None  # fmt: skip
    try:
        event = json.loads(text)
    except ValueError:
        raise InputError("the webhook payload is not JSON; nothing was applied") from None
    if not isinstance(event, dict) or event.get("object") != "event" or not isinstance((event.get("data") or {}).get("object"), dict):
        raise InputError("the webhook payload is not a Stripe event; nothing was applied")
    return event


def webhook_secret(env: Mapping[str, str]) -> str:
    secret = (env.get(WEBHOOK_SECRET_ENV) or "").strip()
    if not secret:
        raise UsageError(f"no webhook secret: set {WEBHOOK_SECRET_ENV}", "copy the endpoint's signing secret (whsec_...) from the Stripe dashboard")
    return secret

