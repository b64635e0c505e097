"""A filter naming an id that is stored nowhere (`--customer`, `--feature`, `--model`): a usage error that names the
closest stored ids ("did you mean ...?"), or, when none is close, how to list them (#17). Pure: the caller reads the
stored ids; `report`, `events` and `simulate` say it in the same words with the same exit code (2, a usage error).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from margindash_cli.core.textsafe import safe
from margindash_cli.errors import UsageError

FILTER_DIMS = ("customer", "feature", "model")  # the ids a filter may name; each has a --by that lists them
CLOSE_IDS = 3  # at most this many ids in "did you mean"


def unknown_id_error(dim: str, value: str, known: Iterable[str], option: str | None = None) -> UsageError | None:
    """None when `value` is one of the stored `known` ids of `dim`; else the usage error to raise.

    `option` is the flag as the user typed it (default `--DIM`)."""
    ids = known if isinstance(known, (set, frozenset, dict)) else set(known)
    if value in ids:
        return None
    what = "call or revenue" if dim == "customer" else "call"  # a customer may have revenue and no call
    message = f"no stored {what} has {dim} {safe(repr(value))} ({option or '--' + dim})"
    close = difflib.get_close_matches(value, sorted(ids), n=CLOSE_IDS)
    if close:
        return UsageError(message, "did you mean " + " or ".join(safe(repr(c)) for c in close) + "?")
    return UsageError(message, f"list the {dim}s with: margindash report --by {dim}")


def stored_ids(names: dict[str, dict[int, object]]) -> dict[str, set[str]]:
    """The ids a filter may name, from the store's `dimension_names()` (a model by its name, as logs give it)."""
    return {
        "customer": {str(v) for v in names["customer"].values()},
        "feature": {str(v) for v in names["feature"].values()},
        "model": {str(m[1]) if isinstance(m, tuple) else str(m) for m in names["model"].values()},
    }


def check_filter_ids(
    asked: dict[str, str | None], known: dict[str, set[str]], options: dict[str, str] | None = None
) -> None:
    """Raise the usage error of the first filter (dim -> value; None = not given) naming no stored id.
    `options`: dim -> the flag as typed, where it is not `--DIM` (`events --event-type`)."""
    for dim, value in asked.items():
        if value is None:
            continue
        error = unknown_id_error(dim, value, known[dim], (options or {}).get(dim))
        if error is not None:
            raise error
