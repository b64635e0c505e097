"""GET one page of a provider's cost API as exact JSON: decimals stay decimals, nothing goes through a float.

Each page is one fetch.fetch: retry.py's policy with fetch.py's figures (429, 5xx and dropped connections,
backoff doubling from BACKOFF_S or the server's Retry-After, capped at MAX_WAIT_S), within DEADLINE_S. A 401
or 403 is an error that names the provider and the key's environment variable, never the key; the response body
is not shown for them (OpenAI's 401 quotes a masked key). Nothing here writes anywhere.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from margindash_cli.clients import fetch as fetch_module
from margindash_cli.errors import MarginDashError

DEADLINE_S = 120.0  # one page, retries and waits included


class ProviderError(MarginDashError):
    """A provider refused or failed a request, or answered something that is not its documented shape."""


def get_page(
    provider: str, key_env: str, url: str, params: list[tuple[str, str]], headers: dict[str, str]
) -> dict[str, Any]:
    """The decoded JSON object of one GET, numbers with a fraction as Decimal (exact), or a ProviderError."""
    try:
        got = fetch_module.fetch(
            url,
            headers=headers,
            params=params,
            deadline=DEADLINE_S,
            hint=f"check {key_env} and the {provider} API address",
        )
    except fetch_module.FetchError as exc:
        if exc.status in (401, 403):
            raise ProviderError(
                f"{provider} refused the admin key (HTTP {exc.status}) at {url}",
                f"set {key_env} to an admin key of your organization (an Owner makes one); nothing was written",
            ) from None
        if exc.status is not None:
            raise ProviderError(
                f"{provider} answered HTTP {exc.status} at {url}: {_error_message(exc.body)}",
                "nothing was written; check the options (--since) and try again",
            ) from None
        raise ProviderError(f"{provider}: {exc.message}", "nothing was written; try again later") from None
    try:
        data = json.loads(got.body or b"", parse_float=Decimal)
    except ValueError as exc:
        raise ProviderError(
            f"{provider} answered {url} with something that is not JSON ({exc})", "nothing was written"
        ) from None
    if not isinstance(data, dict):
        raise ProviderError(
            f"{provider} answered {url} with a JSON {type(data).__name__}, not an object", "nothing was written"
        )
    return data


def _error_message(body: bytes) -> str:
    """The `error.message` of an OpenAI or Anthropic error body, else the start of the body."""
    try:
        data = json.loads(body)
        msg = data["error"]["message"]
        if isinstance(msg, str):
            return msg[:300]
    except (ValueError, KeyError, TypeError):
        pass
    return body[:200].decode("utf-8", "replace") or "(empty body)"


def iter_pages(provider: str, key_env: str, url: str, params: list[tuple[str, str]], headers: dict[str, str]) -> Any:
    """Every page of a cursor-paged list: the original parameters again with `page=<next_page>` until `has_more`
    is false. A cursor that repeats, or `has_more` without a cursor, is an error (never an endless loop)."""
    seen: set[str] = set()
    cursor: str | None = None
    while True:
        page = get_page(provider, key_env, url, params + ([("page", cursor)] if cursor else []), headers)
        yield page
        more = page.get("has_more")
        if more is False or more is None and page.get("next_page") is None:
            return
        cursor = page.get("next_page")
        if more is not True or not isinstance(cursor, str) or not cursor:
            raise ProviderError(
                f"{provider} answered {url} with has_more={more!r} and next_page={cursor!r}",
                "nothing was written; this is not the documented page shape",
            )
        if cursor in seen:
            raise ProviderError(f"{provider} answered {url} with the cursor {cursor!r} twice", "nothing was written")
        seen.add(cursor)


class Shape:
    """Reads fields of a provider's JSON with errors that say where: endpoint, bucket and result."""

    def __init__(self, provider: str, endpoint: str):
        self.provider = provider
        self.endpoint = endpoint

    def fail(self, where: str, message: str) -> ProviderError:
        return ProviderError(
            f"{self.provider} {self.endpoint}: {where}: {message}",
            "nothing was written; the API answered a shape margindash does not know",
        )

    def list(self, obj: Any, key: str, where: str) -> list[Any]:
        value = obj.get(key) if isinstance(obj, dict) else None
        if not isinstance(value, list):
            raise self.fail(where, f"`{key}` is {type(value).__name__}, not a list")
        return value

    def obj(self, value: Any, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, f"expected an object, got {type(value).__name__}")
        return value

    def count(self, obj: dict[str, Any], key: str, where: str, *, required: bool = True) -> int:
        value = obj.get(key)
        if value is None and not required:
            return 0
        if type(value) is not int or value < 0:
            raise self.fail(where, f"`{key}` is {value!r}, not a count of tokens")
        return value

    def text(self, obj: dict[str, Any], key: str, where: str) -> str | None:
        value = obj.get(key)
        if value is not None and not isinstance(value, str):
            raise self.fail(where, f"`{key}` is {value!r}, not text or null")
        return value


class Pages:
    """The pages of one listing, and the results of their daily buckets; `count` is the requests made so far."""

    def __init__(self, pages: Any):
        self._pages = pages
        self.count = 0

    def results(self, shape: Shape, bucket_day: Any, label: Any) -> Any:
        """(UTC day, index, where, result object) of every result of every bucket of every page; `where` names the
        bucket and result for an error message (`label(day)` names the bucket)."""
        for page in self._pages:
            self.count += 1
            for b, bucket in enumerate(shape.list(page, "data", "page")):
                day = bucket_day(shape, bucket, f"bucket {b}")
                where = f"bucket {label(day)}"
                for i, result in enumerate(shape.list(bucket, "results", where)):
                    at = f"{where} result {i}"
                    yield day, i, at, shape.obj(result, at)
