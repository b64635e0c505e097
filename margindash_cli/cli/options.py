"""What every command shares: opening the store named by the global --db option."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from margindash_cli.paths import store_path
from margindash_cli.store.db import Store


def db_path(ctx: typer.Context) -> Path:
    root = ctx.find_root()
    return store_path((root.obj or {}).get("db"))


def open_store(ctx: typer.Context, *, create: bool = True) -> Store:
    """Open the store; a new one is said on stderr ("created new store at ..."). A store named by --db or
    MARGINDASH_DB is never created in a folder that does not exist: a typo in a folder name must not quietly
    make the folders and an empty store (only the default data folder is created as needed)."""
    path = db_path(ctx)
    new = create and str(path) != ":memory:" and not os.path.lexists(path)
    if new and not path.parent.is_dir() and ((ctx.find_root().obj or {}).get("db") or os.environ.get("MARGINDASH_DB")):
        from margindash_cli.errors import StoreError

        raise StoreError(f"cannot create a store at {path}: the folder {path.parent} does not exist",
                         "check the path for a typo, or create the folder first")  # fmt: skip
    store = Store.open(path, create=create)
    return _NewStore(store) if new else store


class _NewStore:
    """A store this command created: announced when the command ends well; removed again when it fails before
    writing anything (`prices set` with a bad value, `ingest` of a bad path), so a failed command leaves no empty
    store behind. Removal only when the file still holds no data row: never another process's data."""

    def __init__(self, store: Store):
        self.store = store

    def __enter__(self) -> Store:
        return self.store

    def __exit__(self, exc_type: object, *rest: object) -> None:
        store, path = self.store, self.store.path
        empty = exc_type is not None and _holds_nothing(store)
        store.close()
        if empty:
            for suffix in ("-wal", "-shm", "-journal", ".lock", ""):
                try:
                    os.unlink(f"{path}{suffix}")
                except OSError:
                    pass
        elif os.path.exists(path):
            print(f"created new store at {path}", file=sys.stderr)


def _holds_nothing(store: Store) -> bool:
    # The shipped price catalog (prices, price_aliases) is loaded into every new store: not the user's data.
    checks = [f"SELECT 1 FROM {t} LIMIT 1" for t in ("events", "sources", "budgets", "revenue", "stripe_invoices",
                                                       "stripe_customers", "billed_costs", "fx_rates", "customer_attributes")]  # fmt: skip
    checks += ["SELECT 1 FROM prices WHERE source = 'user' LIMIT 1", "SELECT 1 FROM price_aliases WHERE source = 'user' LIMIT 1"]
    try:
        for sql in checks:
            if store.conn.execute(sql).fetchone():
                return False
    except Exception:  # noqa: BLE001 - a table missing or unreadable: keep the file
        return False
    return True
