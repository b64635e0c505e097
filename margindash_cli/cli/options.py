"""What every command shares: the options declared once (`Annotated` types), the clock, and opening the
store named by the global --db option."""

from __future__ import annotations

import os
import shlex
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from margindash_cli.paths import store_path

if TYPE_CHECKING:
    from margindash_cli.store.db import Store


NOW_ENV = "MARGINDASH_NOW"  # an ISO date-time that stands in for the clock (--period, generated_at): reproducible reports and tests

# Options every report command shares.
Since = Annotated[
    Optional[str], typer.Option("--since", help="From this day or month (YYYY-MM-DD or YYYY-MM, in --tz).")
]
Until = Annotated[Optional[str], typer.Option("--until", help="Up to and including this day or month.")]
Period = Annotated[
    Optional[str],
    typer.Option("--period", help="today|yesterday|Nd (the last N days with today: 7d, 90d)|mtd|last-month|YYYY-MM."),
]
TZ_FLAGS = ("-z", "--timezone", "--tz")  # -z/--timezone as in ccusage; --tz last, so help reads "--tz ZONE"
Tz = Annotated[str, typer.Option(*TZ_FLAGS, help="Time zone of dates and days, e.g. Asia/Tokyo.")]
Format = Annotated[str, typer.Option("--format", help="table|json|csv|markdown.")]
ReportFormat = Annotated[str, typer.Option("--format", help="table|json|csv|markdown|html (html needs -o FILE).")]
AsJson = Annotated[bool, typer.Option("--json", help="Same as --format json.")]
Totals = Annotated[
    bool,
    typer.Option(
        "--totals", help="CSV: add the totals row (first cell '(total)'); left out by default so a column sums once."
    ),
]
# --json of the commands with one output besides the table.
JsonOption = Annotated[bool, typer.Option("--json", help="Print as JSON.")]
JsonSummaryOption = Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")]
JsonResultOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
UtcSince = Annotated[
    Optional[str], typer.Option("--since", help="From this day or month (YYYY-MM-DD or YYYY-MM, UTC).")
]  # commands on UTC days
# Options of the commands that group usage by feature or model.
Customer = Annotated[Optional[str], typer.Option("--customer", help="Only this customer.")]
Feature = Annotated[
    Optional[str], typer.Option("--feature", help="Only this feature (its share of each customer's revenue).")
]
Model = Annotated[
    Optional[str], typer.Option("--model", help="Only this model (its share of each customer's revenue).")
]
Allocate = Annotated[
    str, typer.Option("--allocate", help="Spread a customer's revenue over its features/models by events|tokens|cost.")
]
Band = Annotated[str, typer.Option("--band", help="Margin % band for break-even: within +-BAND is break-even.")]
RevenueBasis = Annotated[
    str,
    typer.Option(
        "--revenue-basis",
        help="recognized: spread over each invoice line's service period "
        "(default); billed: whole on the invoice's finalization day, as in your Stripe balance.",
    ),
]


def now() -> datetime | None:
    """The clock, or MARGINDASH_NOW when set (naive = UTC)."""

    from margindash_cli.errors import UsageError  # lazy: start-up

    text = os.environ.get(NOW_ENV)
    if not text:
        return None
    try:
        now = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"{NOW_ENV}={text!r} is not an ISO 8601 date-time", f"unset {NOW_ENV}, or use e.g. 2026-10-15T12:00:00Z"
        ) from None
    return now if now.tzinfo else now.replace(tzinfo=UTC)


def clock() -> datetime:
    """now(), else the real clock (UTC): for a command that needs a moment, not "the core's default"."""

    return now() or datetime.now(UTC)


def percent(text: str, option: str, what: str = "a number of percent") -> Any:
    """A percent option (--band, --tolerance) as a Decimal, 0 or more."""
    from decimal import Decimal, InvalidOperation  # lazy: start-up

    from margindash_cli.errors import UsageError  # lazy: start-up

    try:
        value = Decimal(text)
    except InvalidOperation:
        raise UsageError(f"{option} {text!r} is not a number") from None
    if not value.is_finite() or value < 0:
        raise UsageError(f"{option} {text!r} must be {what}, 0 or more")
    return value


def band_pct(band: str) -> Any:
    """--band as a Decimal number of percent, 0 or more."""
    return percent(band, "--band")


def db_path(ctx: typer.Context) -> Path:
    root = ctx.find_root()
    return store_path((root.obj or {}).get("db"))


def open_store(ctx: typer.Context, *, create: bool = True, scratch: tuple[str, ...] = ()) -> Store:
    """Open the store; a new one is said on stderr ("created new store at ..."). A store named by --db or
    MARGINDASH_DB is never created in a folder that does not exist: a typo in a folder name must not quietly
    make the folders and an empty store (only the default data folder is created as needed).

    A new store is removed again when the command fails holding no data; `scratch` names the tables a failing
    command may have written that are not data (ingest's checkpoints of files whose every line was rejected)."""
    path = db_path(ctx)
    if not create and str(path) != ":memory:" and not os.path.lexists(path):
        _refuse_missing_store(path)
    new = create and str(path) != ":memory:" and not os.path.lexists(path)
    if new and not path.parent.is_dir() and ((ctx.find_root().obj or {}).get("db") or os.environ.get("MARGINDASH_DB")):
        from margindash_cli.errors import StoreError  # lazy: start-up

        raise StoreError(
            f"cannot create a store at {path}: the folder {path.parent} does not exist",
            "check the path for a typo, or create the folder first",
        )
    from margindash_cli.store.db import Store  # lazy: start-up

    store = Store.open(path, create=create)
    return _NewStore(store, scratch) if new else store


def _refuse_missing_store(path: Path) -> None:
    """A read of a store that does not exist: say how to make one, and where the demo's is once it was built
    (`margindash demo` never touches the user's store, so a plain `report` after it must not send the user back
    to `demo` in a loop)."""
    from margindash_cli.errors import StoreError  # lazy: start-up
    from margindash_cli.paths import demo_store_path  # lazy: start-up

    demo = demo_store_path()
    if demo.is_file() and demo != path:
        hint = (
            f"run `margindash ingest FILE` for your own; to read the demo's store: `export MARGINDASH_DB={shlex.quote(str(demo))}`"
            f" (or `margindash --db {shlex.quote(str(demo))} report`)"
        )
    else:
        hint = "run `margindash ingest FILE` or `margindash demo` first"
    raise StoreError(f"no store at {path}", hint)


class _NewStore:
    """A store this command created: announced when the command ends well; removed again when it fails before
    writing anything (`prices set` with a bad value, `ingest` of a bad path), so a failed command leaves no empty
    store behind. Removal only when the file still holds no data row: never another process's data."""

    def __init__(self, store: Store, scratch: tuple[str, ...] = ()):
        self.store = store
        self.scratch = scratch  # tables that do not count as data (see open_store)

    def __enter__(self) -> Store:
        return self.store

    def __exit__(self, exc_type: object, *rest: object) -> None:
        store, path = self.store, self.store.path
        empty = exc_type is not None and _holds_nothing(store, self.scratch)
        store.close()
        if empty:
            for suffix in ("-wal", "-shm", "-journal", ".lock", ""):
                try:
                    os.unlink(f"{path}{suffix}")
                except OSError:
                    pass
        elif os.path.exists(path):
            print(f"created new store at {path}", file=sys.stderr)


def _holds_nothing(store: Store, scratch: tuple[str, ...] = ()) -> bool:
    # The shipped price catalog (prices, price_aliases) is loaded into every new store: not the user's data.
    checks = [
        f"SELECT 1 FROM {t} LIMIT 1"
        for t in (
            "events",
            "sources",
            "budgets",
            "revenue",
            "stripe_invoices",
            "stripe_customers",
            "billed_costs",
            "fx_rates",
            "customer_attributes",
        )
        if t not in scratch
    ]
    checks += [
        "SELECT 1 FROM prices WHERE source = 'user' LIMIT 1",
        "SELECT 1 FROM price_aliases WHERE source = 'user' LIMIT 1",
    ]
    try:
        for sql in checks:
            if store.conn.execute(sql).fetchone():
                return False
    except Exception:  # noqa: BLE001 - a table missing or unreadable: keep the file
        return False
    return True


TERMINAL_TOP = 50  # rows of a table on a terminal (then one "(other N)" row), unless --top or --all says otherwise


def rows_to_show(top: int | None, every: bool, output: str) -> int | None:
    """The rows to show: --top N; all with --all or --top 0; else TERMINAL_TOP in a table on a terminal and all
    anywhere else (a pipe, a file, CSV, JSON, a time series), so a script never gets a cut list by surprise. The one
    rule of every --top/--all pair (reports, `prices list`)."""
    from margindash_cli.errors import UsageError  # lazy: start-up

    if every and top not in (None, 0):
        raise UsageError(f"--all and --top {top} ask for different rows", "give one of them")
    if every or top == 0:
        return None
    if top is None and output == "table":
        from margindash_cli.cli.render.kit import stdout_is_terminal  # lazy: start-up

        return TERMINAL_TOP if stdout_is_terminal() else None
    return top
