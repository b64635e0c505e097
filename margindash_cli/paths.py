"""Where the store lives: `--db` flag > `MARGINDASH_DB` > `$MARGINDASH_HOME/margindash.db` > user data dir."""

from __future__ import annotations

import os
from pathlib import Path

STORE_FILENAME = "margindash.db"  # the store's file name inside the data directory
QUARANTINE_FILENAME = "quarantine.jsonl"  # rejected lines, next to the store unless --quarantine says otherwise
DEMO_STORE = ("demo", "demo.db")  # `margindash demo`'s own store, under the data directory (never the user's)


def data_dir() -> Path:
    """The folder that holds the store: $MARGINDASH_HOME, else the platform's user data dir."""
    home = os.environ.get("MARGINDASH_HOME")
    if home:
        return Path(home).expanduser()
    import platformdirs  # imported here: only needed when no home is set  # lazy: start-up

    return Path(platformdirs.user_data_dir("margindash", appauthor=False))


def store_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The store in use: the explicit path (flag), else MARGINDASH_DB, else the data dir's store."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get("MARGINDASH_DB")
    if env:
        return Path(env).expanduser()
    return data_dir() / STORE_FILENAME


def demo_store_path() -> Path:
    """Where `margindash demo` builds its store (with the log and revenue CSV it is built from)."""
    return data_dir().joinpath(*DEMO_STORE)


def default_quarantine_path(db_path: Path) -> Path:
    """Rejected lines go next to the store, so a user finds them where the data is."""
    return db_path.with_name(db_path.stem + "." + QUARANTINE_FILENAME)
