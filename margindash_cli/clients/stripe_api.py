"""Talking to Stripe through the official `stripe` package: the key, the address, the client, paging, retries.

`connect` builds a `stripe.StripeClient` with telemetry and the SDK's own retries off; `StripeApi` wraps
it with retry.py's policy (429s back off and retry up to RATE_LIMIT_RETRIES times, 5xx and dropped
connections up to RETRIES times, waits from BACKOFF_S doubling or the server's Retry-After, capped at
MAX_WAIT_S), pages list endpoints, and turns every failure into a StripeSyncError of our own words.
Every request has a total deadline of DEADLINE_S (120 s; `MARGINDASH_STRIPE_DEADLINE_S` sets another number
of seconds): the per-read TIMEOUT_S never ends a server that trickles a byte at a time (#22), so the requests
go through an httpx client on deadline.py's transport, which shuts the connection down when the deadline
passes. That request then fails at once (no retry: a server that slow is not answering) with an error that
says so, and the run writes nothing. `verify_event` checks a webhook's signature. The API key and the
webhook secret stay here: never printed, logged or stored; error messages are built from status codes and
scrubbed of both anyway.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from margindash_cli.clients.retry import Policy
from margindash_cli.clients.secrets import read_secret
from margindash_cli.errors import InputError, MarginDashError, UsageError

PAGE_LIMIT = 100  # objects per list request (Stripe's maximum)
TIMEOUT_S = 30  # per read, connect and write of a request
DEADLINE_S = 120.0  # one request, answer included, however slowly its bytes come (#22)
DEADLINE_ENV = "MARGINDASH_STRIPE_DEADLINE_S"  # another DEADLINE_S, in seconds
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
    found = read_secret(env, KEY_ENV, key_file, hint=KEY_HINT)
    if found is None:
        raise UsageError("no Stripe API key", KEY_HINT)
    key, origin = found
    if not key or any(c.isspace() for c in key) or not key.startswith(("sk_", "rk_")):
        what = "a publishable key (pk_...)" if key.startswith("pk_") else "not a Stripe secret or restricted key"
        raise UsageError(
            f"{origin} holds {what}", "use a restricted key (rk_...) with read access, or a secret key (sk_...)"
        )
    return key


def api_base(env: Mapping[str, str]) -> str | None:
    base = (env.get(API_BASE_ENV) or "").strip().rstrip("/")
    if not base:
        return None
    if not base.startswith(("https://", "http://")):
        raise UsageError(f"{API_BASE_ENV} must be an http(s) address, not {base!r}")
    return base


def request_deadline_s(env: Mapping[str, str]) -> float:
    """DEADLINE_S, or the seconds MARGINDASH_STRIPE_DEADLINE_S gives."""
    text = (env.get(DEADLINE_ENV) or "").strip()
    if not text:
        return DEADLINE_S
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds < float("inf"):
        raise UsageError(
            f"{DEADLINE_ENV} must be a number of seconds above 0, not {text!r}",
            f"unset it for the default of {DEADLINE_S:g} s",
        )
    return seconds


def connect(api_key: str, base: str | None, *, deadline_s: float | None = None) -> Any:
    """A StripeClient with telemetry off and no SDK retries (StripeApi retries, 429s included), whose every
    request ends within `deadline_s` (default: `request_deadline_s` of the environment)."""
    import stripe  # lazy: start-up

    stripe.enable_telemetry = False
    return stripe.StripeClient(
        api_key,
        base_addresses={"api": base} if base else None,
        max_network_retries=0,
        http_client=_deadline_client_class()(
            timeout=TIMEOUT_S, deadline_s=request_deadline_s(os.environ) if deadline_s is None else deadline_s
        ),
    )


_DEADLINE_CLIENT: Any = None


def _deadline_client_class() -> Any:
    """stripe.HTTPXClient with each request on its own httpx client over deadline.py's transport (defined on
    first use: `stripe` and `httpx` are imported only by the commands that talk to Stripe)."""
    global _DEADLINE_CLIENT
    if _DEADLINE_CLIENT is not None:
        return _DEADLINE_CLIENT
    import ssl  # lazy: start-up
    import urllib.request  # lazy: start-up
    from urllib.parse import urlsplit  # lazy: start-up

    import httpx  # lazy: start-up
    import stripe  # lazy: start-up

    from margindash_cli.clients.deadline import Deadline, http_transport  # lazy: start-up

    class DeadlineHTTPXClient(stripe.HTTPXClient):
        name = "httpx+deadline"

        def __init__(self, *, timeout: float, deadline_s: float):
            super().__init__(timeout=timeout)
            self.deadline_s = deadline_s
            self._ssl = ssl.create_default_context(cafile=stripe.ca_bundle_path) if self._verify_ssl_certs else False

        def request(
            self, method: str, url: str, headers: Mapping[str, str], post_data: Any = None
        ) -> tuple[bytes, int, Mapping[str, str]]:
            args, kwargs = self._get_request_args_kwargs(method, url, headers, post_data)
            limit = Deadline(self.deadline_s)
            try:
                with (
                    limit,
                    httpx.Client(transport=http_transport(limit, verify=self._ssl, proxy=_env_proxy(url))) as client,
                ):
                    response = client.request(*args, **kwargs)  # reads the whole body
                    return response.content, response.status_code, response.headers
            except Exception as exc:
                if limit.expired:
                    err = stripe.APIConnectionError(
                        f"no complete answer within {self.deadline_s:g} s", should_retry=False
                    )
                    err.deadline_s = self.deadline_s  # type: ignore[attr-defined]
                    raise err from None
                self._handle_request_error(exc)

        def request_stream(self, method: str, url: str, headers: Mapping[str, str], post_data: Any = None) -> Any:
            raise NotImplementedError("margindash reads no streamed Stripe response")

    def _env_proxy(url: str) -> str | None:
        """The proxy HTTPS_PROXY/HTTP_PROXY name for `url`, unless NO_PROXY exempts its host (what the SDK's
        requests client did; httpx ignores them when given a transport)."""
        parts = urlsplit(url)
        proxy = urllib.request.getproxies().get(parts.scheme)
        return None if not proxy or urllib.request.proxy_bypass(parts.hostname or "") else proxy

    _DEADLINE_CLIENT = DeadlineHTTPXClient
    return _DEADLINE_CLIENT


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
        import stripe  # lazy: start-up

        policy = Policy(RETRIES, BACKOFF_S, MAX_WAIT_S, rate_limit_retries=RATE_LIMIT_RETRIES)  # as set at call time
        attempt = rate_limited = failed = 0
        while True:
            self.requests += 1
            try:
                return fn(*args, **kwargs)
            except stripe.AuthenticationError as exc:
                raise StripeSyncError(
                    f"Stripe rejected the API key while {what} (HTTP 401{_req(exc)}); nothing was written", KEY_HINT
                ) from None
            except stripe.PermissionError as exc:
                raise StripeSyncError(
                    f"the API key may not read what {what} needs (HTTP 403{_req(exc)}); nothing was written",
                    f"give the restricted key Read access to {READ_SCOPES}",
                ) from None
            except stripe.InvalidRequestError as exc:
                if missing_ok and exc.http_status == 404:
                    return None
                code = getattr(exc, "code", None) or "invalid_request"
                raise StripeSyncError(
                    self.scrub(f"Stripe refused a request while {what} (HTTP {exc.http_status}, {code}{_req(exc)})"),
                    "nothing was written; report this with the request id",
                ) from None
            except (stripe.RateLimitError, stripe.APIError, stripe.APIConnectionError, stripe.StripeError) as exc:
                deadline_s = getattr(exc, "deadline_s", None)
                if deadline_s is not None:  # DeadlineHTTPXClient: a server that slow is not answering; no retry
                    raise StripeSyncError(
                        f"Stripe sent no complete answer within the {deadline_s:g} s deadline while {what} (a stalled"
                        f" or trickling server or proxy), after {attempt + 1} attempt(s); nothing was written",
                        f"try again later; if Stripe is this slow from here, set {DEADLINE_ENV} to more seconds",
                    ) from None
                status = getattr(exc, "http_status", None)
                headers = getattr(exc, "headers", None) or {}
                if isinstance(exc, stripe.RateLimitError) or status == 429:
                    rate_limited += 1
                    give_up = policy.exhausted(failed=failed, rate_limited=rate_limited)
                    why = "rate limited (HTTP 429)"
                elif (
                    isinstance(exc, stripe.APIConnectionError)
                    or (status or 0) >= 500
                    or (isinstance(exc, stripe.APIError) and status is None)
                ):
                    failed += 1
                    give_up = (
                        policy.exhausted(failed=failed, rate_limited=rate_limited)
                        or str(headers.get("stripe-should-retry", "")).lower() == "false"
                    )
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

    def iterate(
        self, what: str, list_fn: Callable[..., Any], params: dict[str, Any], *args: Any
    ) -> Iterator[dict[str, Any]]:
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
    import stripe  # lazy: start-up

    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(
            "the webhook payload is not UTF-8", "pass the request body exactly as Stripe sent it"
        ) from None
    try:
        stripe.WebhookSignature.verify_header(text, signature, secret, WEBHOOK_TOLERANCE_S)
    except stripe.SignatureVerificationError as exc:
        why = "is older than 5 minutes" if "tolerance" in str(exc).lower() else "does not match the payload"
        raise InputError(
            f"the webhook signature {why}; nothing was applied",
            "pass the Stripe-Signature header and the raw body of the same request; check STRIPE_WEBHOOK_SECRET",
        ) from None
    try:
        event = json.loads(text)
    except ValueError:
        raise InputError("the webhook payload is not JSON; nothing was applied") from None
    if (
        not isinstance(event, dict)
        or event.get("object") != "event"
        or not isinstance((event.get("data") or {}).get("object"), dict)
    ):
        raise InputError("the webhook payload is not a Stripe event; nothing was applied")
    return event


def webhook_secret(env: Mapping[str, str]) -> str:
    secret = (env.get(WEBHOOK_SECRET_ENV) or "").strip()
    if not secret:
        raise UsageError(
            f"no webhook secret: set {WEBHOOK_SECRET_ENV}",
            "copy the endpoint's signing secret (whsec_...) from the Stripe dashboard",
        )
    return secret
