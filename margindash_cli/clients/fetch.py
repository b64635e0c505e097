"""HTTP GET with timeouts, bounded retries with backoff, and ETag revalidation (for `sync-prices`).

Retries are retry.py's policy with these figures: connection errors, timeouts, 429 and 5xx, up to RETRIES
more times, waiting BACKOFF_S x 2^n (or the server's Retry-After), capped at MAX_WAIT_S. Any other status
fails at once. Nothing here writes anywhere:
the caller decides what to keep.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from margindash_cli.clients.retry import Policy, retryable_status
from margindash_cli.errors import MarginDashError

RETRIES = 3  # extra attempts after the first
BACKOFF_S = 0.5  # first wait between attempts; doubles each time
MAX_WAIT_S = 10.0  # cap on any single wait, including a server's Retry-After
TIMEOUT_S = 30.0  # per attempt: connect, read and write each
TOTAL_DEADLINE_S = 300.0  # the whole fetch, retries included, however slowly a server trickles its bytes (#22)
MAX_BYTES = 64 << 20  # a price list bigger than this is not a price list


class FetchError(MarginDashError):
    def __init__(self, message: str, hint: str | None = None, *, status: int | None = None, body: bytes = b""):
        super().__init__(message, hint)
        self.status = status  # the HTTP status that failed the request at once; None = retries ran out
        self.body = body  # the start of that response's body (callers decide whether it is safe to show)


@dataclass
class Fetched:
    url: str
    status: int  # 200 or 304
    body: bytes | None  # None when not modified
    etag: str | None


def fetch(
    url: str,
    *,
    etag: str | None = None,
    timeout: float | None = None,
    retries: int | None = None,
    backoff: float | None = None,
    headers: dict[str, str] | None = None,
    params: list[tuple[str, str]] | None = None,
    deadline: float | None = None,
    hint: str = "check the address (--source or its env variable)",
) -> Fetched:
    """GET `url` (revalidating with `etag` when given). Unset options take the module constants as they
    are at call time, so a test (or a caller) can shorten every wait by setting them. `headers` are added to
    the request (sync-costs: the admin key), `params` form its query string, and `deadline` (seconds) bounds
    the whole call, retries and waits included."""
    import httpx  # lazy: start-up

    timeout = TIMEOUT_S if timeout is None else timeout
    retries = RETRIES if retries is None else retries
    backoff = BACKOFF_S if backoff is None else backoff
    extra = headers
    headers = {"User-Agent": "margindash (+sync-prices)", "Accept": "application/json"}
    if etag:
        headers["If-None-Match"] = etag
    from margindash_cli.clients.deadline import Deadline, http_transport  # lazy: start-up

    policy = Policy(retries, backoff, MAX_WAIT_S)
    last = ""
    total_s = TOTAL_DEADLINE_S if deadline is None else min(deadline, TOTAL_DEADLINE_S)
    limit = Deadline(total_s)
    with (
        limit,
        httpx.Client(
            transport=http_transport(limit),
            timeout=timeout,
            follow_redirects=True,
            headers={**headers, **(extra or {})},
        ) as client,
    ):
        for attempt in range(retries + 1):
            if limit.expired:
                break
            wait = policy.wait_s(attempt)
            try:
                with client.stream(
                    "GET", url, params=params, timeout=max(0.001, min(timeout, limit.remaining()))
                ) as resp:
                    if resp.status_code == 304:
                        return Fetched(url, 304, None, etag)
                    if resp.status_code == 200:
                        chunks, size = [], 0
                        for chunk in resp.iter_bytes():
                            size += len(chunk)
                            if size > MAX_BYTES:
                                raise FetchError(f"{url}: response larger than {MAX_BYTES >> 20} MB; not a price list")
                            chunks.append(chunk)
                        return Fetched(url, 200, b"".join(chunks), resp.headers.get("etag"))
                    last = f"HTTP {resp.status_code}"
                    if not retryable_status(resp.status_code):
                        raise FetchError(f"{url}: {last}", hint, status=resp.status_code, body=resp.read()[:4096])
                    wait = policy.wait_s(attempt, resp.headers.get("retry-after"))
            except httpx.TimeoutException:
                last = f"timed out after {timeout:g} s"
            except httpx.TransportError as exc:
                last = f"connection failed ({type(exc).__name__})"
            if limit.expired:
                raise FetchError(
                    f"{url}: no complete answer within the total deadline of {total_s:g} s (a stalled"
                    " or trickling server)",
                    "the catalog was left as it was; try again later",
                )
            if not policy.exhausted(failed=attempt + 1):
                if wait > limit.remaining():
                    last += f"; the {total_s:g} s deadline would pass before the next attempt"
                    retries = attempt
                    break
                time.sleep(wait)
    raise FetchError(f"{url}: {last} (after {retries + 1} attempts)", "the catalog was left as it was; try again later")
