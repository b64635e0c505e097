"""The one retry policy of every network client (fetch.py and its cost API pages, stripe_api.py).

What retries: a 429, a 5xx, a timeout or a dropped connection; any other status fails at once. How long to
wait before the next attempt: BACKOFF x 2^n after the n-th retry (n from 0), or the server's Retry-After when
it is a plain number of seconds, either capped at the client's MAX_WAIT. When to stop: after the client's
number of retries (Stripe keeps a separate, larger budget for 429s). Each client keeps its own figures, the
ones its users see (docs and messages): this module holds only how they are applied.
"""

from __future__ import annotations

from dataclasses import dataclass


def retryable_status(status: int) -> bool:
    """Whether an HTTP status is worth another attempt: rate limited, or the server failed."""
    return status == 429 or status >= 500


def retry_after_s(value: object) -> float | None:
    """The seconds of a Retry-After header that is a whole number; None for a date, garbage or nothing.
    ASCII digits only: "²" is a digit to str.isdigit(), not to float()."""
    text = str(value if value is not None else "").strip()
    return float(text) if text.isascii() and text.isdigit() else None


@dataclass(frozen=True)
class Policy:
    retries: (
        int  # extra attempts after a 5xx, a timeout or a dropped connection (and a 429 when rate_limit_retries is None)
    )
    backoff_s: float  # first wait; doubles per retry
    max_wait_s: float  # cap on one wait, a server's Retry-After included
    rate_limit_retries: int | None = None  # extra attempts after a 429, when they have a budget of their own

    def wait_s(self, attempt: int, retry_after: object = None) -> float:
        """The wait before the attempt after `attempt` (0 = the first retry): the server's Retry-After when it
        gives seconds, else the doubling backoff; capped either way."""
        told = retry_after_s(retry_after)
        return min(self.backoff_s * 2**attempt if told is None else told, self.max_wait_s)

    def exhausted(self, *, failed: int, rate_limited: int = 0) -> bool:
        """Whether the budget is spent after `failed` failures and `rate_limited` 429s (each counted so far)."""
        if self.rate_limit_retries is None:
            return failed + rate_limited > self.retries
        return failed > self.retries or rate_limited > self.rate_limit_retries
