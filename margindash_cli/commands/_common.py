"""What every command shares: opening the store named by the global --db option."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from ..paths import store_path
from ..store import Store


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
        from ..errors import StoreError

        raise StoreError(f"cannot create a store at {path}: the folder {path.parent} does not exist",
                         "check the path for a typo, or create the folder first")  # fmt: skip
    store = Store.open(path, create=create)
    if new:
        print(f"created new store at {path}", file=sys.stderr)
    return store
