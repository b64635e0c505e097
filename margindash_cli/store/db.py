"""Opening the store: the file, its migrations, its lock, and the write transaction every repository writes in.

Guarantees:
- Opening a store migrates it, so new and old files are handled alike; a file that is not SQLite (or a SQLite file
  of another program) is refused without being touched.
- The WAL journal and a busy timeout let cron jobs overlap; writers hold the lock only per `write()` transaction,
  taken at once (BEGIN IMMEDIATE), so it never fails half-way on a lock.
- A rolled-back transaction forgets the dimension ids it may have created.
- A store this user cannot write (the file, or its folder where SQLite keeps the -wal and -shm files; a `ro` mount)
  is opened read-only (`mode=ro`), so every command that only reads works; one that writes is refused before it
  starts, as "the store is read-only (permissions or mount)". SQLite reads a read-only WAL database when its -shm
  and -wal exist or can be created (sqlite.org/wal.html, "Read-Only Databases"); when neither can, and there is
  no -wal (so no write waits to be checkpointed), the file is opened `immutable` (no locks, no -shm).
- Each table family is a repository reached as an attribute: `store.events`, `store.sources`, `store.prices`,
  `store.revenue`, `store.stripe`, `store.budgets`, `store.health`, `store.costs`. What stays here is store-wide:
  the `meta` key/value table, the dimension ids (customers, features, segments, models) and read snapshots.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import stat
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from margindash_cli.errors import StoreError
from margindash_cli.store.budgets import Budgets
from margindash_cli.store.costs import Costs
from margindash_cli.store.events import Events
from margindash_cli.store.health import Health
from margindash_cli.store.prices import Prices
from margindash_cli.store.revenue import Revenue
from margindash_cli.store.schema import BUSY_TIMEOUT_MS, DIMENSIONS, MIGRATION_NAMES, SQLITE_HEADER
from margindash_cli.store.sources import Sources
from margindash_cli.store.stripe import Stripe


class Store:
    """A margindash store: a SQLite file, migrated on open."""

    def __init__(self, path: Path | str, conn: sqlite3.Connection, *, readonly: bool = False):
        self.path = Path(path)
        self.conn = conn
        self.readonly = readonly  # opened read-only: this user cannot write the file or its folder
        self._dim_cache: dict[str, dict[str, int]] = {name: {} for name in DIMENSIONS}
        self._model_cache: dict[tuple[str, str], int] = {}
        self._grouped = False  # inside grouped_writes: write() is a savepoint of the group's transaction
        self.sources = Sources(self)
        self.events = Events(self)
        self.prices = Prices(self)
        self.revenue = Revenue(self)
        self.stripe = Stripe(self)
        self.budgets = Budgets(self)
        self.health = Health(self)
        self.costs = Costs(self)

    @classmethod
    def open(cls, path: Path | str, *, create: bool = True) -> Store:
        """Open (and migrate) the store at `path`. Refuses, without touching it, a file that is not SQLite."""
        path = Path(path)
        if str(path) != ":memory:":
            if path.exists():
                if path.is_dir():
                    raise StoreError(f"{path} is a directory, not a margindash store", "pass --db FILE")
                if not stat.S_ISREG(os.stat(path).st_mode):  # a FIFO would block the open; /dev/null gains a journal
                    raise StoreError(
                        f"{path} is not a regular file (a device, FIFO or socket), not a margindash store",
                        "pass --db FILE naming a store file, or a new file",
                    )
                with open(path, "rb") as fh:
                    head = fh.read(16)
                if head and head != SQLITE_HEADER:
                    raise StoreError(
                        f"{path} is not a SQLite database (it was left untouched)",
                        "point --db or MARGINDASH_DB at a margindash store, or at a new file",
                    )
            elif not create:
                raise StoreError(f"no store at {path}", "run `margindash ingest FILE` or `margindash demo` first")
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
        readonly = str(path) != ":memory:" and path.exists() and not _writable(path)
        try:
            conn = sqlite3.connect(
                _readonly_uri(path) if readonly else str(path),
                timeout=BUSY_TIMEOUT_MS / 1000,
                isolation_level=None,
                check_same_thread=False,
                uri=readonly,
            )
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            _refuse_foreign_schema(conn, path)  # before anything below writes to the file
            if str(path) != ":memory:" and not readonly:
                conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA cache_size = -65536")
            conn.execute("PRAGMA temp_store = MEMORY")
            store = cls(path, conn, readonly=readonly)
            if readonly and not store._schema_is_current():
                conn.close()
                raise StoreError(
                    f"the store {path} is read-only (permissions or mount), and its schema needs an upgrade to this"
                    " version of margindash, which writes to it",
                    "run any margindash command on it once as a user who can write the file and its folder",
                )
            store._migrate()
        except sqlite3.DatabaseError as exc:
            hint = sqlite_hint(exc)
            if is_readonly_error(exc):
                raise StoreError(f"the store {path} is read-only (permissions or mount): {exc}", hint) from None
            raise StoreError(
                f"{path} cannot be opened as a margindash store: {exc}",
                "the file may be corrupt; it was left untouched (`margindash doctor` checks a store)"
                if hint.startswith("the file may be damaged")
                else hint,
            ) from None
        return store

    def _migrate(self) -> None:
        if self._schema_is_current():
            return  # the common case, without importing sqlite-utils (~45 ms of every command's start)
        from sqlite_utils import Database  # lazy: start-up

        from margindash_cli.store.migrations import MIGRATIONS  # lazy: start-up

        db = Database(self.conn)
        if not MIGRATIONS.pending(db):
            return
        # Two cron jobs may open a new store at once: one migrates, the other waits and finds nothing to do.
        with self._file_lock():
            if MIGRATIONS.pending(db):
                # A migration that rebuilds a big table sorts on disk, not in memory: m004 sorts every event key.
                self.conn.execute("PRAGMA temp_store = FILE")
                try:
                    MIGRATIONS.apply(db)
                finally:
                    self.conn.execute("PRAGMA temp_store = MEMORY")

    def _schema_is_current(self) -> bool:
        """Whether every migration this version knows is applied, and no other."""
        return _applied_migration_names(self.conn) == set(MIGRATION_NAMES)

    @contextmanager
    def _file_lock(self) -> Iterator[None]:
        if str(self.path) == ":memory:":
            yield
            return
        with open(str(self.path) + ".lock", "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken at once (BEGIN IMMEDIATE) so it never fails half-way on a lock. Inside
        `grouped_writes`, a savepoint of the group's transaction instead: all of it or none of it is kept, and it
        is committed with the group."""
        if self.readonly:
            raise StoreError(
                f"the store {self.path} is read-only (permissions or mount), and this command writes to it;"
                " nothing was written",
                "run it as a user who can write the store file and its folder (SQLite keeps its -wal and -shm"
                " files there), or on a writable copy of the store",
            )
        if self._grouped:
            yield from self._grouped_write()
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            self.forget_dim_cache()  # ids created in the rolled-back transaction are gone
            raise
        else:
            self.conn.execute("COMMIT")

    def _grouped_write(self) -> Iterator[sqlite3.Connection]:
        if not self.conn.in_transaction:
            # The group's first write needs no savepoint (a failure rolls back a transaction that holds only it):
            # a savepoint keeps the first image of every page the write changes in memory (~64 MB for a batch of
            # 20k random keys in a 10M store), and each batch of a big file opens a new transaction.
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                self.forget_dim_cache()
                raise
            return
        self.conn.execute("SAVEPOINT grouped_write")
        try:
            yield self.conn
        except BaseException:
            if self.conn.in_transaction:  # (an error SQLite rolled the whole transaction back on leaves none)
                self.conn.execute("ROLLBACK TO grouped_write")
                self.conn.execute("RELEASE grouped_write")
            self.forget_dim_cache()  # ids created in the rolled-back savepoint are gone
            raise
        else:
            self.conn.execute("RELEASE grouped_write")

    @contextmanager
    def grouped_writes(self) -> Iterator[None]:
        """Many small `write()`s as one transaction (#20: one commit for many small files, not one each): each is a
        savepoint, kept whole or not at all; `commit_group` commits those done so far, and so does the end of the
        block, also when it ends in an error (the failed write was rolled back: what is left is whole writes).
        The write lock is held from the first write to the commit."""
        self._grouped = True
        try:
            yield
        finally:
            self._grouped = False
            if self.conn.in_transaction:
                try:
                    self.conn.execute("COMMIT")
                except sqlite3.Error:
                    self.conn.execute("ROLLBACK")
                    self.forget_dim_cache()
                    raise

    def commit_group(self) -> None:
        """Commit the writes of `grouped_writes` done so far."""
        if self._grouped and self.conn.in_transaction:
            self.conn.execute("COMMIT")

    def dim_id(self, table: str, name: str | None) -> int:
        """The integer id of a customer/feature/segment name (0 for none), created on first sight.

        Must run inside a write transaction when the name may be new.
        """
        if not name:
            return 0
        cache = self._dim_cache[table]
        found = cache.get(name)
        if found is not None:
            return found
        column = "customer_id" if table == "customers" else "name"
        row = self.conn.execute(f"SELECT id FROM {table} WHERE {column} = ?", (name,)).fetchone()
        if row is None:
            row = self.conn.execute(f"INSERT INTO {table} ({column}) VALUES (?) RETURNING id", (name,)).fetchone()
        cache[name] = row[0]
        return row[0]

    def model_id(self, vendor: str, model: str) -> int:
        key = (vendor, model)
        found = self._model_cache.get(key)
        if found is not None:
            return found
        row = self.conn.execute("SELECT id FROM models WHERE vendor = ? AND model = ?", key).fetchone()
        if row is None:
            row = self.conn.execute("INSERT INTO models (vendor, model) VALUES (?, ?) RETURNING id", key).fetchone()
        self._model_cache[key] = row[0]
        return row[0]

    def forget_dim_cache(self) -> None:
        """Drop cached ids (after a rolled-back transaction that may have created some)."""
        self._dim_cache = {name: {} for name in DIMENSIONS}
        self._model_cache = {}

    def get_meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def _names_by_id(self, table: str, column: str, ids: Iterable[int]) -> dict[int, Any]:
        """{id: name} of the ids that exist in a dimension table (id 0, none, never does), in chunks of 900 ids
        (`table` and `column` are ours, never user input)."""
        wanted = [i for i in ids if i]
        out: dict[int, Any] = {}
        for i in range(0, len(wanted), 900):
            chunk = wanted[i : i + 900]
            out.update(
                self.conn.execute(
                    f"SELECT id, {column} FROM {table} WHERE id IN ({','.join('?' * len(chunk))})", chunk
                ).fetchall()
            )
        return out

    def _ids(self, table: str, column: str, names: Iterable[str]) -> dict[int, str]:
        """{id: name} of the names that exist in a dimension table (`table` and `column` are ours, never user input)."""
        out: dict[int, str] = {}
        for name in set(names):
            row = self.conn.execute(f"SELECT id FROM {table} WHERE {column} = ?", (name,)).fetchone()
            if row is not None:
                out[row[0]] = name
        return out

    @contextmanager
    def read_snapshot(self) -> Iterator[None]:
        """Every read inside sees one state of the store (one read transaction), whatever ingest commits meanwhile."""
        self.conn.execute("BEGIN")
        try:
            yield
        finally:
            self.conn.execute("COMMIT")  # nothing was written: this only ends the snapshot

    def _dict_rows(self, sql: str, args: tuple[Any, ...] | list[Any] = ()) -> list[dict[str, Any]]:
        cur = self.conn.execute(sql, args)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r)) for r in cur]


# SQLite's failures under the store's names, so a caller catches them without importing sqlite3 (only store/ does)
DatabaseError = sqlite3.DatabaseError
OperationalError = sqlite3.OperationalError


def is_readonly_error(exc: BaseException) -> bool:
    """SQLite refused a write: the file (or its folder, or the mount) is read-only for this process."""
    text = str(exc).lower()
    return "readonly" in text or "read-only" in text


def sqlite_hint(exc: BaseException) -> str:
    """What a SQLite error means for the user, and what to do (#22: a read-only store, a full disk and a too-big value
    were all reported as "the file may be damaged")."""
    text = str(exc).lower()
    if is_readonly_error(exc):
        return (
            "the store is read-only (permissions or mount) for this user: the file, or its folder where SQLite keeps"
            " the -wal and -shm files; check their permissions; nothing was written"
        )
    if "disk is full" in text or "disk full" in text:
        return (
            "the disk holding the store is full: free some space and run this again; the step that failed wrote nothing"
        )
    if "too big" in text or "too large" in text:
        return "a value is larger than SQLite's limit (1,000,000,000 bytes): the step that failed wrote nothing"
    if "unable to open" in text:
        return "the store's folder cannot be written or does not exist: check the --db path and its permissions"
    if "locked" in text or "busy" in text:
        return "another margindash held it for over a minute; run this again"
    return "the file may be damaged: `margindash doctor` checks it; restore a backup if it fails"


def _writable(path: Path) -> bool:
    """Whether this process can write the store: the file, and its folder unless the -wal and -shm files SQLite
    needs there already exist and are writable. `os.access` answers for a `ro` mount as for permissions."""
    if not os.access(path, os.W_OK):
        return False
    if os.access(path.parent, os.W_OK):
        return True
    return all(os.access(f"{path}{suffix}", os.W_OK) for suffix in ("-wal", "-shm"))


def _readonly_uri(path: Path) -> str:
    """A read-only SQLite URI for the store; `immutable` only when SQLite could not create the -shm it needs to read
    a WAL database and there is no -wal (nothing is waiting to be checkpointed into the file)."""
    from urllib.parse import quote  # lazy: start-up

    uri = f"file:{quote(str(path.resolve()))}?mode=ro"
    shm_possible = os.path.exists(f"{path}-shm") or os.access(path.parent, os.W_OK)
    wal = f"{path}-wal"
    if not shm_possible and (not os.path.exists(wal) or os.path.getsize(wal) == 0):
        uri += "&immutable=1"
    return uri


def _applied_migration_names(conn: sqlite3.Connection) -> set[str]:
    """Names of the migrations applied to a store, read in plain SQL (no sqlite-utils); empty for a new file."""
    try:
        return {n for (n,) in conn.execute("SELECT name FROM _sqlite_migrations WHERE migration_set = 'margindash'")}
    except sqlite3.OperationalError:  # no migrations table
        return set()


def _refuse_foreign_schema(conn: sqlite3.Connection, path: Path) -> None:
    """Refuse, before writing a byte, a SQLite file that is another application's database, or a store written by
    a newer margindash (whose schema this version does not know)."""
    if _applied_migration_names(conn) == set(MIGRATION_NAMES):
        return  # a current store (the common case), known without importing sqlite-utils
    from sqlite_utils import Database  # lazy: start-up

    from margindash_cli.store.migrations import MIGRATIONS  # lazy: start-up

    applied = {m.name for m in MIGRATIONS.applied(Database(conn))}
    newer = applied - {m.name for m in MIGRATIONS.pending(Database(memory=True))}
    problem = None
    if newer:
        problem = StoreError(
            f"{path} was written by a newer margindash (schema {max(newer)}); it was left untouched",
            "upgrade margindash: pip install -U margindash",
        )
    elif not applied:
        other = conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'"
            " AND name != '_sqlite_migrations' LIMIT 1"
        ).fetchone()
        if other:
            problem = StoreError(
                f"{path} is another application's SQLite database (it has a table {other[0]!r}); it was left untouched",
                "point --db or MARGINDASH_DB at a margindash store, or at a new file",
            )
    if problem is not None:
        conn.close()
        raise problem
