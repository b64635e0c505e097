"""What every command shares: opening the store named by the global --db option."""

from __future__ import annotations

from pathlib import Path

import typer

from ..paths import store_path
from ..store import Store


def db_path(ctx: typer.Context) -> Path:
    root = ctx.find_root()
    return store_path((root.obj or {}).get("db"))


def open_store(ctx: typer.Context, *, create: bool = True) -> Store:
    return Store.open(db_path(ctx), create=create)
