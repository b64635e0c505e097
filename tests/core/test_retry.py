"""clients/retry.py: the one retry policy of fetch.py (sync-prices, sync-costs) and the Stripe client."""

from __future__ import annotations

from margindash_cli.clients.retry import Policy, retry_after_s, retryable_status


def test_which_statuses_retry():
    assert [s for s in (200, 304, 400, 401, 403, 404, 429, 500, 502, 503) if retryable_status(s)] == [
        429,
        500,
        502,
        503,
    ]


def test_retry_after_is_whole_seconds_only():
    assert retry_after_s("3") == 3.0 and retry_after_s(" 7 ") == 7.0
    for bad in (None, "", "1.5", "-1", "\u00b2", "Wed, 21 Oct 2026 07:28:00 GMT"):  # "²" is a digit to str.isdigit()
        assert retry_after_s(bad) is None


def test_waits_double_or_follow_the_server_and_are_capped():
    p = Policy(retries=3, backoff_s=0.5, max_wait_s=10.0)
    assert [p.wait_s(n) for n in range(6)] == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0]
    assert p.wait_s(0, "3") == 3.0 and p.wait_s(0, "600") == 10.0 and p.wait_s(2, "x") == 2.0


def test_one_budget_or_a_separate_one_for_429s():
    shared = Policy(retries=3, backoff_s=0.5, max_wait_s=10.0)
    assert not shared.exhausted(failed=2, rate_limited=1) and shared.exhausted(failed=2, rate_limited=2)
    stripe_like = Policy(retries=4, backoff_s=0.5, max_wait_s=20.0, rate_limit_retries=8)
    assert not stripe_like.exhausted(failed=4, rate_limited=8)
    assert stripe_like.exhausted(failed=5, rate_limited=0) and stripe_like.exhausted(failed=0, rate_limited=9)
