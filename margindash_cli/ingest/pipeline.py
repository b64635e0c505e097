"""Read usage logs into the store: incremental, idempotent, crash-safe, and nothing lost.

- A file's checkpoint is its identity (a hash of its first line, which survives renames and
  rotation), the byte offset after the last whole line read, and the line count. A re-run reads
  only new bytes; a file whose first line changed (rotated, truncated, replaced) is read from the start.
- A last line without its newline is still being written: it is left for the next run, unless it
  is already a complete JSON object (or the input is gzip or stdin, which cannot grow).
- `.gz` files cannot be sought: an unchanged one (same identity, size and mtime) is skipped,
  a changed one is read again in full, and dedupe keeps the totals right.
- Every rejected line goes to the quarantine file (JSONL: file, line, field, reason and the raw
  line) and is counted; the store never sees it. Blank lines and lines that are not calls (a
  Claude Code user message) are neither events nor rejections.
- Each batch (events, rollups, checkpoint) is one transaction; a crash between batches loses
  nothing, because the checkpoint only moves with the events it covers.
"""

from __future__ import annotations

import base64
import errno
import gzip
import hashlib
import marshal
import os
import stat as stat_module
import sys
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path
from typing import IO, Any, Protocol, runtime_checkable

import orjson

from margindash_cli.core.money import MAX_CALL_PICO, usd_to_pico
from margindash_cli.errors import InputError, LineRejected, MarginDashError
from margindash_cli.ingest import canonical
from margindash_cli.ingest.canonical import NormalizedEvent
from margindash_cli.ingest.formats import claude_code
from margindash_cli.store.db import OperationalError, Store
from margindash_cli.store.schema import EVENT_COLUMNS, event_key

BATCH_LINES = 50_000  # lines per transaction: each commit rewrites every dirty key and rollup page (#20: 20k -> 50k,
# 1M lines into a fresh store ~20% less wall time; 100k gained no more and took ~300 MB), memory stays flat
BATCH_LINES_ENV = "MARGINDASH_BATCH_LINES"  # overrides BATCH_LINES: tests force many small transactions with it
READ_BLOCK = 1 << 20  # bytes read at a time
BOM = b"\xef\xbb\xbf"
READER_PROCESS_MIN_BYTES = 16 << 20  # a plain file with at least this much new is read by a forked reader process
READER_PROCESS_ENV = "MARGINDASH_READER_PROCESS"  # 0: never (read in-process); 1: always (tests)
FAST_PATH_ENV = "MARGINDASH_INGEST_FASTPATH"  # 0: every line the whole way (orjson + validate), to compare the two
FAST_PATH_PATIENCE = 16  # lines in a row the fast path may decline before it is tried only on every FAST_PATH_PROBE-th
FAST_PATH_PROBE = 256  # line (a provider-shaped log: a declined try costs ~1 us a line; either way the same events)
MAX_LINE_BYTES = 32 << 20  # a longer line is quarantined (its first RAW_KEPT bytes kept), read through in flat memory
RAW_KEPT = 1024  # bytes of an over-long line the quarantine keeps
TAIL_BYTES = 64 << 10  # the bytes before a checkpoint's offset that must match for a file to resume it (m009)
ONE_DOCUMENT_MAX_BYTES = 256 << 20  # a pretty-printed JSON file up to this size is recognised as one (not JSONL)
NOT_JSONL_NOTE = "not named *.jsonl or *.jsonl.gz: not read (name the file itself to read it)"
RECENT_MESSAGES = 64  # Claude Code calls a reader keeps to recognise a repeated content block (`_normalize`)
MARSHAL_VERSION = 4  # the framing between the reader process and the writer (`_send`)
OWN_SUFFIXES = ("", "-wal", "-shm", "-journal", ".lock")  # the store's own files, never read by a directory walk


class QuarantineError(MarginDashError):
    """The quarantine cannot be written (a full disk, a read-only folder): ingest stops, since a batch only commits
    once its rejected lines are on disk; what was committed before stays, and the next run resumes there."""


class Pricer(Protocol):
    def price(self, event: NormalizedEvent) -> tuple[int | None, int | None]:
        """(cost in picodollars or None when unpriced, id of the price version used or None)."""


@runtime_checkable
class LazyPricerLike(Protocol):
    def load(self) -> None:
        """Load the prices now (before the reader process forks: it prices with a copy)."""


@dataclass
class FileResult:
    path: str
    lines_read: int = 0
    events_stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    skipped: bool = False  # unchanged since the last run
    partial_line_bytes: int = 0  # bytes of an unfinished last line left for the next run
    error: str | None = None
    updated: int = 0  # stored calls that a later line of the same message grew (Claude Code streaming)
    note: str | None = None  # why a file found in a folder was not read (a symlink out of it, the store's own file)
    not_calls: int = 0  # lines read that are not calls (a Claude Code user turn): neither stored nor rejected
    first_rejection: str | None = None  # "line N: field: reason" of its first rejected line, said when none stored


@dataclass
class IngestResult:
    files: list[FileResult] = field(default_factory=list)
    quarantine_path: str | None = None
    # Of the calls this run stored, how many have no price, and of how many models (set by the caller, which
    # reads the store once the run is committed: `ingest` ends with one line that says so).
    unpriced_calls: int = 0
    unpriced_models: int = 0

    def total(self, name: str) -> int:
        return sum(getattr(f, name) for f in self.files)

    @property
    def lines_read(self) -> int:
        return self.total("lines_read")

    @property
    def events_stored(self) -> int:
        return self.total("events_stored")

    @property
    def duplicates(self) -> int:
        return self.total("duplicates")

    @property
    def rejected(self) -> int:
        return self.total("rejected")

    @property
    def errors(self) -> list[str]:
        return [f"{f.path}: {f.error}" for f in self.files if f.error]

    @property
    def nothing_stored(self) -> list[FileResult]:
        """The files with lines of which none could be stored: an error, not a quiet 0."""
        return [f for f in self.files if f.rejected and not (f.events_stored or f.duplicates or f.updated)]

    def to_json(self) -> dict[str, Any]:
        """The summary of `ingest --json`: totals, then each file."""
        return {
            "lines_read": self.lines_read,
            "events_stored": self.events_stored,
            "duplicates_skipped": self.duplicates,
            "events_updated": self.total("updated"),
            "rejected": self.rejected,
            "skipped": self.total("not_calls"),
            "quarantine": self.quarantine_path if self.rejected else None,
            "unpriced_calls": self.unpriced_calls,
            "unpriced_models": self.unpriced_models,
            "files": [
                {
                    "path": f.path,
                    "lines_read": f.lines_read,
                    "events_stored": f.events_stored,
                    "duplicates_skipped": f.duplicates,
                    "events_updated": f.updated,
                    "rejected": f.rejected,
                    "skipped": f.not_calls,
                    "unchanged": f.skipped and not f.note,
                    "partial_line_bytes": f.partial_line_bytes,
                    "error": f.error,
                    "note": f.note,
                }
                for f in self.files
            ],
            "errors": self.errors,
        }


def expand_paths(
    paths: list[str],
    *,
    own_files: list[Path] | None = None,
    follow_symlinks: bool = False,
    notes: list[FileResult] | None = None,
    no_follow: set[str] | None = None,
) -> list[str]:
    """Files to read: files as given, directories walked for regular `*.jsonl*` files, '-' for stdin.

    A walk never reads `own_files` (the store, its journal and lock, the quarantine: an ingest would read what it
    writes) and, unless `follow_symlinks`, neither a symlink that leads out of the folder walked nor a symlinked
    folder: a folder an app user can write must not make a root cron job copy other files into the quarantine.
    Each file so left out is added to `notes` with the reason. `no_follow` gets the files a walk found that were not
    symlinks: ingest opens them with O_NOFOLLOW, so one swapped for a symlink after the walk is not followed."""
    own = {os.path.realpath(f) for f in own_files or []}
    out: list[str] = []
    for raw in paths:
        if raw == "-":
            out.append("-")
            continue
        p = Path(raw)
        if p.is_dir():
            found = _walk(raw, own, follow_symlinks, notes, None if follow_symlinks else no_follow)
            if not found and notes is not None:
                notes.append(FileResult(raw, error="no log file (*.jsonl or *.jsonl.gz) in this folder"))
            out.extend(found)
        elif p.exists():
            out.append(str(p))
        else:
            raise InputError(f"{raw}: no such file or directory")
    return out


def _walk(
    root: str, own: set[str], follow_symlinks: bool, notes: list[FileResult] | None, no_follow: set[str] | None = None
) -> list[str]:
    real_root = os.path.realpath(root)
    found: list[str] = []
    seen_dirs: set[tuple[int, int]] = set()

    def note(path: str, why: str) -> None:
        if notes is not None:
            notes.append(FileResult(path, skipped=True, note=why))

    for dirpath, dirnames, filenames in os.walk(root, followlinks=follow_symlinks):
        try:
            st = os.stat(dirpath)
        except OSError:
            dirnames[:] = []
            continue
        if (st.st_dev, st.st_ino) in seen_dirs:  # a symlink loop, when following them
            dirnames[:] = []
            continue
        seen_dirs.add((st.st_dev, st.st_ino))
        if not follow_symlinks:
            for name in dirnames:
                full = os.path.join(dirpath, name)
                if os.path.islink(full) and not _inside(os.path.realpath(full), real_root):
                    note(full, "a symlinked folder out of the folder walked: not followed (--follow-symlinks reads it)")
        for name in filenames:
            full = os.path.join(dirpath, name)
            real = os.path.realpath(full)
            if real in own:
                if fnmatch(name, "*.jsonl*"):
                    note(full, "margindash's own file (the store or the quarantine): not read")
                continue
            if not fnmatch(name, "*.jsonl*"):
                note(full, NOT_JSONL_NOTE)
                continue
            if not follow_symlinks and os.path.islink(full) and not _inside(real, real_root):
                note(full, "a symlink out of the folder walked: not followed (--follow-symlinks reads it)")
                continue
            try:
                if not stat_module.S_ISREG(os.stat(full).st_mode):
                    continue  # a FIFO or device in a log folder: opening it could block forever
            except OSError:
                continue  # a dangling symlink
            found.append(full)
            if no_follow is not None and not os.path.islink(full):
                no_follow.add(full)
    return sorted(found)


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def own_store_files(store_path: Path, quarantine_path: Path) -> list[Path]:
    """The files an ingest into this store writes: never read by a directory walk."""
    return [Path(str(store_path) + suffix) for suffix in OWN_SUFFIXES] + [quarantine_path]


class Quarantine:
    """Append-only JSONL file of rejected lines, opened on the first rejection."""

    def __init__(self, path: Path):
        self.path = path
        self._fh: IO[bytes] | None = None
        self.first: dict[str, str] = {}  # source -> "line N: field: reason" of its first rejected line

    def add(self, source: str, line_no: int, raw: bytes, exc: LineRejected, *, line_bytes: int | None = None) -> None:
        """Append a record. `line_bytes`: the line's full length, when `raw` holds only its first bytes."""
        if source not in self.first:
            self.first[source] = f"line {line_no}: {exc}"
        try:
            if self._fh is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                # 0600: a quarantine holds raw log lines, which only the store's owner should read
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
                st = os.fstat(fd)
                if stat_module.S_ISREG(st.st_mode) and st.st_mode & 0o077 and st.st_uid == os.geteuid():
                    os.fchmod(fd, 0o600)  # one an older version made 0644
                self._fh = os.fdopen(fd, "ab")
            record: dict[str, Any] = {"file": source, "line": line_no, "field": exc.field, "reason": exc.reason}
            try:
                record["raw"] = raw.decode("utf-8")
            except UnicodeDecodeError:
                record["raw"] = raw.decode("utf-8", "backslashreplace")
                record["raw_base64"] = base64.b64encode(raw).decode("ascii")
            if line_bytes is not None:
                record["raw_truncated_from_bytes"] = line_bytes
            self._fh.write(orjson.dumps(record) + b"\n")
        except OSError as err:
            raise self._error(err) from None

    def flush(self) -> None:
        if self._fh is not None:
            try:
                self._fh.flush()
                os.fsync(self._fh.fileno())
            except OSError as err:
                raise self._error(err) from None

    def close(self) -> None:
        if self._fh is not None:
            fh, self._fh = self._fh, None
            try:
                fh.close()
            except OSError:
                pass  # its flush failed: `flush` reported that before any batch could commit past it

    def _error(self, err: OSError) -> QuarantineError:
        if self._fh is not None:
            try:
                self._fh.close()
            except OSError:
                pass
            self._fh = None
        return QuarantineError(
            f"cannot write the quarantine {self.path}: {err.strerror or err}; ingest stopped before storing the batch"
            " that holds the rejected line",
            f"{quarantine_remedy(err)} and run ingest again: it resumes where it stopped",
        )


def quarantine_remedy(err: OSError) -> str:
    """What to do about a quarantine the system refused, by its errno (#17: a read-only folder was told to free space)."""
    if err.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return "the folder is read-only (permissions or mount): pass --quarantine FILE in a folder you can write"
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        return "free some space (or pass --quarantine FILE on another disk)"
    return "check the disk and the folder (or pass --quarantine FILE elsewhere)"


class _Batch:
    """Events read since the last commit, with where to put the checkpoint once they are stored."""

    def __init__(self) -> None:
        self.events: list[tuple[int, NormalizedEvent, int]] = []  # key, event, line
        self.growable: set[int] = set()  # keys of calls a later line may grow (a streamed Claude Code message)
        self.offset = 0
        self.line = 0
        self.lines = 0
        self.shadowed = 0  # calls dropped before pricing: a repeat of a message that cannot change the store


def ingest_paths(
    store: Store,
    paths: list[str],
    *,
    fmt: str = "auto",
    maps: list[tuple[str, str]] | None = None,
    quarantine_path: Path,
    require_customer: bool = False,
    pricer: Pricer | None = None,
    on_progress: Callable[[int], None] | None = None,
    stdin: IO[bytes] | None = None,
    follow_symlinks: bool = False,
) -> IngestResult:
    """Ingest files, directories and '-' into the store. Returns what was read, stored, skipped and rejected."""
    result = IngestResult(quarantine_path=str(quarantine_path))
    quarantine = Quarantine(quarantine_path)
    own = own_store_files(store.path, quarantine_path) if str(store.path) != ":memory:" else [quarantine_path]
    no_follow: set[str] = set()
    files = expand_paths(paths, own_files=own, follow_symlinks=follow_symlinks, notes=result.files, no_follow=no_follow)
    group = _Group(store, _batch_lines())
    try:
        with store.grouped_writes():
            for path in files:
                reader = _FileIngest(store, path, fmt, maps or [], quarantine, require_customer, pricer, on_progress)
                reader.no_follow = path in no_follow
                reader.group = group
                result.files.append(reader.run(stdin if path == "-" else None))
    finally:
        quarantine.close()
    for f in result.files:
        f.first_rejection = quarantine.first.get(f.path)
    if quarantine.path.exists() and result.rejected:
        result.quarantine_path = str(quarantine.path)
    return result


class _Group:
    """The transaction that small files share (#20): their batches are written as savepoints of one transaction
    (`Store.grouped_writes`), committed once it holds `limit` rows, so a folder of 400 session logs costs a few
    commits, not 400. Each file's checkpoint is written with its events, so a kill leaves every file of an
    uncommitted group unread, to be read again, and every file of a committed one read with its checkpoint."""

    def __init__(self, store: Store, limit: int):
        self.store = store
        self.limit = limit
        self.rows = 0

    def stored(self, rows: int) -> None:
        self.rows += rows + 1  # + the checkpoint
        if self.rows >= self.limit:
            self.commit()

    def commit(self) -> None:
        self.store.commit_group()
        self.rows = 0


class _FileIngest:
    def __init__(
        self,
        store: Store,
        path: str,
        fmt: str,
        maps: list[tuple[str, str]],
        quarantine: Quarantine,
        require_customer: bool,
        pricer: Pricer | None,
        on_progress: Callable[[int], None] | None,
    ):
        self.store = store
        self.path = path
        self.display = path if path == "-" else str(Path(path))
        self.key_path = "-" if path == "-" else str(Path(path).resolve())
        self.fmt = fmt
        self.maps = maps
        self.quarantine = quarantine
        self.require_customer = require_customer
        self.pricer = pricer
        self.on_progress = on_progress
        self.result = FileResult(self.display)
        self.identity: str | None = None
        self.source_id: int | None = None
        self.fd: int | None = None  # the plain file being read: checkpoints hash the bytes before their offset from it
        self.restart = False  # this (path, identity)'s checkpoint describes another file: put it back to 0 first
        self.growable = self.fmt == "claude-code"  # calls whose usage a later line of the same message may grow
        self.no_follow = False  # found by a folder walk as a regular file: never follow a symlink swapped in since
        self.group: _Group | None = None  # the transaction shared with other small files (`ingest_paths`)
        self.messages: dict[str, tuple[dict[str, Any], NormalizedEvent]] = {}  # request id -> its recent call
        # The common canonical call is decoded and checked in one pass (`canonical.decode_common`); any other line,
        # and every line of a --format or --map run, goes the whole way.
        self.fast = fmt in ("auto", "events") and not maps and os.environ.get(FAST_PATH_ENV, "") != "0"
        self.fast_misses = 0  # lines in a row the fast path declined

    def run(self, stdin: IO[bytes] | None) -> FileResult:
        try:
            if self.path == "-":
                self._read_stream(stdin or sys.stdin.buffer, start_line=0, final=True, stat=None)
            elif self.path.endswith(".gz"):
                self._read_gzip()
            else:
                self._read_plain()
        except OSError as exc:
            self.result.error = f"cannot read: {exc.strerror or exc}"
        return self.result

    # ---- the three kinds of input ----

    def _read_plain(self) -> None:
        # One open: the identity, the checkpoint's proof and the data all come from this descriptor, so a file
        # renamed and replaced meanwhile is read whole under its own identity (non-blocking: a FIFO never hangs).
        if not self.no_follow and stat_module.S_ISFIFO(os.stat(self.path).st_mode):
            # A FIFO named on the command line: read it as a stream, without a checkpoint, waiting for its writer
            # as `cat` would (a non-blocking descriptor would read an early end of file). Walks skip FIFOs.
            self.result.note = "not a regular file: read as a stream, without a checkpoint"
            with open(self.path, "rb") as stream:
                self._read_stream(stream, start_line=0, final=True, stat=None)
            return
        fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | (os.O_NOFOLLOW if self.no_follow else 0))
        with os.fdopen(fd, "rb") as fh:
            st = os.fstat(fd)
            if not stat_module.S_ISREG(st.st_mode) and self.no_follow:
                self.result.error = "not a regular file any more (replaced since the folder was walked): not read"
                return
            if not stat_module.S_ISREG(st.st_mode):  # a device named on the command line: a stream, as it comes
                self.result.note = "not a regular file: read as a stream, without a checkpoint"
                os.set_blocking(fd, True)
                self._read_stream(fh, start_line=0, final=True, stat=None)
                return
            self.fd = fd
            first = fh.readline(MAX_LINE_BYTES + 1)
            self.identity = _identity(first) if first else None
            start, start_line, resumed = self._resume_point(st)
            if resumed and st.st_size == start:
                self.result.skipped = True
                return
            if start == 0 and (whole := _one_json_document(fh, first, st.st_size)):
                self.result.error = whole
                return
            fh.seek(start)
            if _reader_process_pays(st.st_size - start):
                self._read_in_reader_process(fh, start, start_line, st)
            else:
                self._read_stream(fh, start_line=start_line, final=False, stat=st, start_offset=start, limit=st.st_size)

    def _resume_point(self, st: os.stat_result) -> tuple[int, int, bool]:
        """(offset, line) to read from: the checkpoint (of this path, or of another one the file was renamed from)
        that is provably this file, else the start. Proof: the file is at least as long as the checkpoint's offset
        and the TAIL_BYTES before it hash the same (a checkpoint saved before m009: the same path, or the same
        inode for another path). A same first line alone (a shared header, a blank line) proves nothing."""
        assert self.fd is not None
        own_row = False
        for cp in self.store.sources.resume_candidates(self.key_path, self.identity):
            own_row = own_row or cp.path == self.key_path
            if st.st_size < cp.offset:
                continue
            if cp.tail_hash is not None:
                proven = _tail_hash(self.fd, cp.offset) == cp.tail_hash
            elif cp.path == self.key_path:
                proven = True
            else:
                proven = cp.dev == st.st_dev and cp.ino == st.st_ino
            if proven:
                self.restart = cp.path != self.key_path and own_row
                return cp.offset, cp.line, True
        self.restart = own_row
        return 0, 0, False

    def _read_in_reader_process(self, fh: IO[bytes], start: int, start_line: int, st: os.stat_result) -> None:
        """`_read_stream` split over two processes (the machine's two cores): a forked reader splits, parses,
        validates and prices the lines and quarantines the rejected ones; this process stores each batch as it
        arrives, in order, each with its checkpoint, exactly as `_flush` does when reading alone."""
        if isinstance(self.pricer, LazyPricerLike):
            self.pricer.load()  # here, not in the reader: loading may write the shipped catalog to the store
        if self.group is not None:
            self.group.commit()  # no transaction open across the fork
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the reader: never returns
            os.close(read_fd)
            code = 0
            try:
                with os.fdopen(write_fd, "wb", buffering=1 << 20) as out:
                    self._reader_main(out, fh, start, start_line, st)
            except BaseException:  # noqa: BLE001 - the parent reports it (a broken pipe: the parent is gone)
                code = 1
            finally:
                os._exit(code)
        os.close(write_fd)
        done, read_to = False, start
        try:
            with os.fdopen(read_fd, "rb", buffering=1 << 20) as inp:
                while (msg := _receive(inp)) is not None:  # None: the reader ended, or died in the middle of a batch
                    kind = msg[0]
                    if kind == "batch":
                        _, rows, offset, line, with_stat, lines_read, rejected, growable, shadowed = msg
                        self.result.lines_read += lines_read  # counted as each batch arrives: nothing unreported
                        self.result.rejected += rejected  # if the reader stops early
                        self._store_batch(rows, offset, line, st if with_stat else None, growable=growable)
                        self.result.duplicates += shadowed
                        if self.on_progress:
                            self.on_progress(offset - read_to)
                        read_to = offset
                    elif kind == "done":
                        _, self.identity, lines_read, rejected, partial, not_calls = msg
                        self.result.not_calls += not_calls
                        self.result.lines_read += lines_read
                        self.result.rejected += rejected
                        self.result.partial_line_bytes = partial
                        done = True
                    elif kind == "error":
                        raise _error_from_message(msg)
        finally:
            _, status = os.waitpid(pid, 0)
        if not done:
            raise OSError(f"the reader process ended early (status {status}); the batches it sent were stored")

    def _reader_main(self, out: IO[bytes], fh: IO[bytes], start: int, start_line: int, st: os.stat_result) -> None:
        """The forked reader: `_read_stream` with each batch sent to the parent instead of stored."""

        def send(batch: _Batch, stat: os.stat_result | None, *, save_checkpoint: bool = True) -> None:
            rows = self._prepare(batch)
            counts = (self.result.lines_read, self.result.rejected)  # since the last batch: sent with it
            self.result.lines_read = self.result.rejected = 0
            _send(
                out,
                (
                    "batch",
                    rows,
                    batch.offset,
                    batch.line,
                    stat is not None,
                    *counts,
                    sorted(batch.growable),
                    batch.shadowed,
                ),
            )
            out.flush()

        self._flush = send  # type: ignore[method-assign]
        self.on_progress = None  # the parent shows progress as batches arrive
        try:
            self._read_stream(fh, start_line=start_line, final=False, stat=st, start_offset=start, limit=st.st_size)
        except OSError as exc:
            _send(out, ("error", "os", exc.errno, exc.strerror, str(exc)))
            return
        except QuarantineError as exc:
            _send(out, ("error", "quarantine", exc.message, exc.hint))
            return
        self.quarantine.close()
        _send(
            out,
            (
                "done",
                self.identity,
                self.result.lines_read,
                self.result.rejected,
                self.result.partial_line_bytes,
                self.result.not_calls,
            ),
        )

    def _read_gzip(self) -> None:
        st = os.stat(self.path)
        try:
            with gzip.open(self.path, "rb") as fh:
                first = fh.readline()
        except (OSError, EOFError, zlib.error) as exc:
            self.result.error = f"not a readable gzip file ({exc})"
            return
        self.identity = _identity(first) if first else None
        cp = self.store.sources.find_source(self.key_path, self.identity)
        if (
            cp is not None
            and cp.path == self.key_path
            and cp.identity == self.identity
            and cp.size == st.st_size
            and cp.mtime_ns == st.st_mtime_ns
        ):
            self.result.skipped = True
            return
        with gzip.open(self.path, "rb") as fh:
            try:
                self._read_stream(fh, start_line=0, final=True, stat=st)
            except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
                self.result.error = (
                    f"truncated or corrupt gzip after line {self.result.lines_read} ({exc}); "
                    "the lines before it were kept"
                )

    def _read_stream(
        self,
        fh: IO[bytes],
        *,
        start_line: int,
        final: bool,
        stat: os.stat_result | None,
        start_offset: int = 0,
        limit: int | None = None,
    ) -> None:
        """Read lines from `fh` (at `start_offset`, after line `start_line`) up to byte `limit` (a plain file's size
        when the run started: a file that grows faster than it is read, or the quarantine itself, still ends).
        A line longer than MAX_LINE_BYTES is quarantined with its first RAW_KEPT bytes; memory stays flat."""
        batch = _Batch()
        batch.offset, batch.line = start_offset, start_line
        batch_lines = _batch_lines()
        line_no, offset = start_line, start_offset
        pending: list[bytes] = []  # the parts of a line not yet ended (joined once, when its newline comes)
        pending_len = 0
        # After a checkpoint that moved past a rejected last line still without its newline: the bytes up to the
        # next newline belong to that line, not to a new one.
        continuation = start_offset > 0 and self.fd is not None and os.pread(self.fd, 1, start_offset - 1) != b"\n"

        def line_done(raw: bytes, length: int) -> None:
            nonlocal line_no, offset, batch, continuation
            offset += length + 1
            if continuation:
                continuation = False
                if raw.strip():
                    self.result.lines_read += 1
                    self.result.rejected += 1
                    self.quarantine.add(
                        self.display,
                        line_no,
                        raw[:RAW_KEPT],
                        LineRejected("more bytes arrived after this line was read and rejected without its newline"),
                    )
                batch.offset = offset
                return
            line_no += 1
            if self.identity is None:
                self.identity = _identity(raw + b"\n")
            if length > MAX_LINE_BYTES:
                self._reject_long(raw, length, line_no, batch)
            else:
                self._handle(raw, line_no, batch)
            batch.offset, batch.line = offset, line_no
            if batch.lines >= batch_lines:
                # A gzip file's size and mtime mark it done, so only its last batch records them:
                # a run killed half-way through it reads it again in full (dedupe keeps totals right).
                self._flush(batch, None if final else stat)
                batch = _Batch()
                batch.offset, batch.line = offset, line_no

        try:
            for block in _blocks(fh, None if limit is None else limit - start_offset):
                if self.on_progress:
                    self.on_progress(len(block))
                pos = 0
                nl = block.find(b"\n")
                if pending:
                    if nl < 0:
                        pending_len += len(block)
                        if pending_len <= MAX_LINE_BYTES or sum(map(len, pending)) < RAW_KEPT:
                            pending.append(block)  # past the limit only the first RAW_KEPT bytes are kept
                        continue
                    pending_len += nl
                    head = (
                        b"".join(pending) + block[:nl]
                        if pending_len <= MAX_LINE_BYTES
                        else b"".join(pending)[:RAW_KEPT]
                    )
                    pending, length, pending_len = [], pending_len, 0
                    line_done(head, length)
                    pos = nl + 1
                lines = block[pos:].split(b"\n") if pos else block.split(b"\n")
                rest = lines.pop()
                for raw in lines:
                    line_done(raw, len(raw))
                if rest:
                    pending, pending_len = [rest], len(rest)
        except (EOFError, zlib.error, gzip.BadGzipFile):
            # A damaged gzip: keep every whole line read before the damage, and no checkpoint, so the
            # next run reports it again (and re-reads it in full if it was still being written).
            self._flush(batch, stat, save_checkpoint=False)
            raise
        rest = b"".join(pending) if pending_len <= MAX_LINE_BYTES else b""
        if pending_len and (rest.strip() or pending_len > MAX_LINE_BYTES):
            if self.identity is None:
                self.identity = _identity(rest + b"\n")
            if continuation:
                self.result.partial_line_bytes = pending_len
            elif final:
                if pending_len > MAX_LINE_BYTES:
                    self._reject_long(b"".join(pending)[:RAW_KEPT], pending_len, line_no + 1, batch)
                else:
                    self._handle(rest, line_no + 1, batch)
                batch.offset, batch.line = offset + pending_len, line_no + 1
            elif pending_len <= MAX_LINE_BYTES and _is_complete_json(rest):
                # A complete JSON object: store it now and move the checkpoint past it (stored or rejected), so
                # the next run does not read it again and `doctor` sees the file read to its end. Bytes that
                # arrive later up to the next newline belong to this line (`continuation`): after a complete
                # object only whitespace can follow in valid JSON, so anything else is quarantined with its reason.
                self._handle(rest, line_no + 1, batch)
                batch.offset, batch.line = offset + pending_len, line_no + 1
            else:
                self.result.partial_line_bytes = pending_len
        self._flush(batch, stat)

    def _reject_long(self, head: bytes, length: int, line_no: int, batch: _Batch) -> None:
        batch.lines += 1
        self.result.lines_read += 1
        self.result.rejected += 1
        self.quarantine.add(
            self.display,
            line_no,
            head[:RAW_KEPT],
            LineRejected(
                f"the line is {length:,} bytes, longer than the limit of {MAX_LINE_BYTES:,}; raw holds its first {RAW_KEPT:,}"
            ),
            line_bytes=length,
        )

    # ---- one line ----

    def _handle(self, raw: bytes, line_no: int, batch: _Batch) -> None:
        batch.lines += 1
        text = raw[:-1] if raw.endswith(b"\r") else raw
        if line_no == 1 and text.startswith(BOM):
            text = text[3:]
        if not text.strip():
            return
        self.result.lines_read += 1
        if self.fast and (self.fast_misses < FAST_PATH_PATIENCE or line_no % FAST_PATH_PROBE == 0):
            ev = canonical.decode_common(text)
            if ev is None:
                self.fast_misses += 1
            elif ev.customer_id is not None or not self.require_customer:  # else the whole way words the rejection
                self.fast_misses = 0
                key = (
                    event_key("r:" + ev.dedupe_id)
                    if ev.dedupe_id is not None
                    else event_key(f"s:{self.identity}:{line_no}")
                )
                batch.events.append((key, ev, line_no))
                return
        try:
            try:
                obj = orjson.loads(text)
            except orjson.JSONDecodeError as exc:
                raise LineRejected(f"not valid JSON ({_short(str(exc))})") from None
            events = self._normalize(obj)
            if self.require_customer:
                for ev in events:
                    if ev.customer_id is None:
                        raise LineRejected("no customer id (--require-customer)", "customer_id")
        except LineRejected as exc:
            self.result.rejected += 1
            self.quarantine.add(self.display, line_no, raw, exc)
            return
        except RecursionError:
            self.result.rejected += 1
            self.quarantine.add(self.display, line_no, raw, LineRejected("nested too deeply"))
            return
        if not events:
            self.result.not_calls += 1
        growable = self.growable or (self.fmt == "auto" and type(obj) is dict and claude_code.matches(obj))
        for i, ev in enumerate(events):
            if ev.dedupe_id is not None:
                key = event_key("r:" + ev.dedupe_id)
                if growable:
                    batch.growable.add(key)
            else:
                key = event_key(f"s:{self.identity}:{line_no}" + (f":{i}" if i else ""))
            batch.events.append((key, ev, line_no))

    def _normalize(self, obj: Any) -> list[NormalizedEvent]:
        """`canonical.normalize` of a parsed line. Claude Code writes one line per content block of a response, each
        with the response's usage: a line whose partial event is that of a recent call of the same request id but
        for its timestamp takes that call's validated event with its own time, without validating it again (#20).
        Exact by construction: `validate` is a pure function of the partial event, every check but the
        timestamp's passed on the same values, and a timestamp that does not parse goes the whole way (which words
        the rejection as ever)."""
        if self.maps or not (self.growable or (self.fmt == "auto" and type(obj) is dict and claude_code.matches(obj))):
            return canonical.normalize(obj, self.fmt, self.maps)
        partials = canonical.partial_events(obj, self.fmt, self.maps)
        if len(partials) != 1 or type(request_id := partials[0].get("request_id")) is not str:
            return [canonical.validate(p) for p in partials]
        p = partials[0]
        seen = self.messages.get(request_id)
        if seen is not None and _same_but_time(p, seen[0]):
            try:
                ts_ms = canonical.parse_timestamp(p.get("timestamp"))
            except LineRejected:
                pass
            else:
                return [seen[1]._replace(ts_ms=ts_ms)]
        ev = canonical.validate(p)
        if len(self.messages) >= RECENT_MESSAGES:
            self.messages.clear()  # the blocks of a response are written together: the recent ones are enough
        self.messages[request_id] = (p, ev)
        return [ev]

    # ---- one transaction ----

    def _flush(self, batch: _Batch, stat: os.stat_result | None, *, save_checkpoint: bool = True) -> None:
        self._store_batch(
            self._prepare(batch),
            batch.offset,
            batch.line,
            stat,
            save_checkpoint=save_checkpoint,
            growable=batch.growable,
        )
        self.result.duplicates += batch.shadowed

    def _prepare(self, batch: _Batch) -> list[tuple[Any, ...]]:
        """The batch's calls priced, as rows with names for dimensions (`_row`); the calls whose cost cannot be
        stored are quarantined, and the quarantine is on disk before the batch can commit."""
        # Priced before the write lock is taken: the lock is held only for the SQL, which keeps
        # overlapping cron jobs from waiting on our Python work.
        price = self.pricer.price if self.pricer else _unpriced
        costs = None
        shadowed = _shadowed(batch) if batch.growable else set()
        if shadowed:
            kept = [item for i, item in enumerate(batch.events) if i not in shadowed]
            costs = [price(ev) for _key, ev, _line in kept]
            if any(c is not None and not -MAX_CALL_PICO <= c <= MAX_CALL_PICO for c, _ in costs):
                costs = None  # a call quarantined for its cost may leave a repeat that counts: price them all
            else:
                batch.events[:] = kept
                batch.shadowed = len(shadowed)
        if costs is None:
            costs = [price(ev) for _key, ev, _line in batch.events]
            if any(c is not None and not -MAX_CALL_PICO <= c <= MAX_CALL_PICO for c, _ in costs):
                costs = self._reject_implausible_costs(batch, costs)
        self.quarantine.flush()
        return [_row(key, ev, line_no, cost) for (key, ev, line_no), cost in zip(batch.events, costs)]

    def _store_batch(
        self,
        named_rows: list[tuple[Any, ...]],
        offset: int,
        line: int,
        stat: os.stat_result | None,
        *,
        save_checkpoint: bool = True,
        growable: Iterable[int] = (),
    ) -> None:
        """Store the rows of one batch and move the checkpoint to (offset, line), in one transaction. A row that
        would push a rollup cell past its 64-bit limit is quarantined alone; the rest of the batch is stored."""
        growable = set(growable)
        try:
            self._store_rows(named_rows, offset, line, stat, save_checkpoint, growable, one_by_one=False)
        except OperationalError as exc:
            if "integer overflow" not in str(exc):
                raise
            self.source_id = None  # it may have been created by the transaction just rolled back
            self._store_rows(named_rows, offset, line, stat, save_checkpoint, growable, one_by_one=True)
        if self.group is not None:
            self.group.stored(len(named_rows))

    def _store_rows(
        self,
        named_rows: list[tuple[Any, ...]],
        offset: int,
        line: int,
        stat: os.stat_result | None,
        save_checkpoint: bool,
        growable: set[int],
        *,
        one_by_one: bool,
    ) -> None:
        store = self.store
        with store.write():
            if self.source_id is None:
                self.source_id = store.sources.source_id(self.key_path, self.identity)
                if self.restart:
                    store.sources.restart_checkpoint(self.source_id)
            dim, model_id, source = store.dim_id, store.model_id, self.source_id
            rows = [
                (
                    key,
                    ts,
                    dim("customers", customer),
                    dim("features", feature),
                    model_id(vendor, model),
                    dim("segments", segment),
                    *tokens_and_cost,
                    source,
                    line_no,
                    extra,
                    request_id,
                    response_id,
                )
                for key, ts, customer, feature, vendor, model, segment, *tokens_and_cost, line_no, extra, request_id, response_id in named_rows
            ]
            total, grown = len(rows), 0
            if growable:
                grow = [r for r in rows if r[0] in growable]
                fresh, grown = store.events.grow_events(grow)
                rows = [r for r in rows if r[0] not in growable] + fresh
            overflowed = 0
            if one_by_one:
                stored = 0
                for row in rows:
                    store.conn.execute("SAVEPOINT one_row")
                    try:
                        stored += store.events.insert_new_events([row])
                    except OperationalError as exc:
                        if "integer overflow" not in str(exc):
                            raise
                        store.conn.execute("ROLLBACK TO one_row")
                        overflowed += 1
                        self.result.rejected += 1
                        self.quarantine.add(
                            self.display,
                            row[14],
                            _row_json(row),
                            LineRejected(
                                "adding this call would take its rollup cell (UTC day, customer, feature, model, segment) past"
                                " the store's limit of 2^63 picodollars (about $9.2M); the call as parsed is in raw",
                                "cost",
                            ),
                        )
                    store.conn.execute("RELEASE one_row")
                self.quarantine.flush()  # on disk before the batch commits
            else:
                stored = store.events.insert_new_events(rows)
            self.result.events_stored += stored
            self.result.updated += grown
            self.result.duplicates += total - stored - grown - overflowed
            if self.path != "-" and save_checkpoint:
                store.sources.save_checkpoint(
                    self.source_id,
                    dev=stat.st_dev if stat else None,
                    ino=stat.st_ino if stat else None,
                    offset=offset,
                    line=line,
                    size=stat.st_size if stat else None,
                    mtime_ns=stat.st_mtime_ns if stat else None,
                    tail_hash=_tail_hash(self.fd, offset) if self.fd is not None and stat is not None else None,
                )

    def _reject_implausible_costs(
        self, batch: _Batch, costs: list[tuple[int | None, int | None]]
    ) -> list[tuple[int | None, int | None]]:
        """Quarantine the calls that cost more than MAX_CALL_PICO (a corrupt token count on a priced model): stored,
        such a cost would not fit the store's 64-bit integers, and the batch would fail on every run. The record
        holds the call as parsed (its raw line is no longer at hand). Returns the costs of the calls kept."""
        kept, kept_costs = [], []
        for item, cost in zip(batch.events, costs):
            if cost[0] is None or -MAX_CALL_PICO <= cost[0] <= MAX_CALL_PICO:
                kept.append(item)
                kept_costs.append(cost)
                continue
            self.result.rejected += 1
            usd = f"{cost[0] // 10**12:,}"
            self.quarantine.add(
                self.display,
                item[2],
                orjson.dumps(item[1]._asdict()),
                LineRejected(f"the call would cost ${usd}, more than $9,000,000: a corrupt token count?", "cost"),
            )
        batch.events[:] = kept
        return kept_costs


def _same_but_time(p: dict[str, Any], q: dict[str, Any]) -> bool:
    """Whether two partial events are the same but for their timestamp: the same keys, and values of the same plain
    type (a string, a number, None) that are equal (1 and True, or 1 and 1.0, are not the same to `validate`)."""
    if p.keys() != q.keys():
        return False
    for name, value in p.items():
        if name == "timestamp":
            continue
        other = q[name]
        if type(value) is not type(other) or type(value) not in _PLAIN or value != other:
            return False
    return True


_PLAIN = (str, int, float, type(None))


def _shadowed(batch: _Batch) -> set[int]:
    """The indexes of the batch's calls that cannot change the store: a call of a growable key (a Claude Code
    message) whose usage is no larger than that of an earlier call of the same key in the batch. `grow_events` keeps
    the largest usage of a key, the first of equals, and grows a stored call only to a larger usage, so such a call
    is a duplicate whatever the store holds; dropping it before pricing changes nothing (unless a call is
    quarantined for its cost: `_prepare` then prices them all)."""
    best: dict[int, tuple[int, ...]] = {}
    out = set()
    for i, (key, ev, _line) in enumerate(batch.events):
        if key not in batch.growable:
            continue
        rank = (ev.output_tokens, ev.input_tokens, ev.reasoning_tokens, ev.cached_input_tokens, ev.cache_write_tokens)
        top = best.get(key)
        if top is not None and rank <= top:
            out.add(i)
        else:
            best[key] = rank
    return out


def _send(out: IO[bytes], msg: tuple[Any, ...]) -> None:
    """One message from the reader process to the writer: its length, then the message in `marshal` (ints, strings,
    None, tuples and lists only: about four times cheaper to write than pickle, and nothing in it can run code)."""
    data = marshal.dumps(msg, MARSHAL_VERSION)
    out.write(len(data).to_bytes(8, "little"))
    out.write(data)


def _receive(inp: IO[bytes]) -> tuple[Any, ...] | None:
    """The next message `_send` wrote, or None at the end, or when the reader died before it wrote the whole of it
    (a message is only decoded once all its bytes are here)."""
    head = inp.read(8)
    if len(head) < 8:
        return None
    size = int.from_bytes(head, "little")
    data = inp.read(size)
    if len(data) < size:
        return None
    return marshal.loads(data)


def _error_from_message(msg: tuple[Any, ...]) -> Exception:
    """The error the reader process stopped on, from its "error" message."""
    if msg[1] == "quarantine":
        return QuarantineError(msg[2], msg[3])
    return OSError(msg[2], msg[3]) if msg[2] is not None else OSError(msg[4])


def _row_json(row: tuple[Any, ...]) -> bytes:
    """A stored-form row (ids for dimensions) as the JSON a quarantine record holds when the raw line is gone."""
    return orjson.dumps(dict(zip(("key", *EVENT_COLUMNS), row)))


def _row(key: int, ev: NormalizedEvent, line_no: int, priced: tuple[int | None, int | None]) -> tuple[Any, ...]:
    """A call as a staging row with its dimensions still names: key, ts, customer, feature, vendor, model, segment,
    the five token columns, cost, price id, line, extra, request id, response id (when it differs) (`_store_batch`
    turns the names into ids and adds the source)."""
    cost, price_id = priced
    response_id = ev.response_id if ev.response_id != ev.dedupe_id else None
    return (
        key,
        ev.ts_ms,
        ev.customer_id,
        ev.event_type,
        ev.vendor,
        ev.model,
        ev.segment,
        ev.input_tokens,
        ev.output_tokens,
        ev.cached_input_tokens,
        ev.cache_write_tokens,
        ev.reasoning_tokens,
        cost,
        price_id,
        line_no,
        _extra(ev),
        ev.dedupe_id,
        response_id,
    )


def _extra(ev: NormalizedEvent) -> str | None:
    """The JSON object of a call's rare fields (store.EXTRA_FIELDS) that are set, or None: most calls have none."""
    if not (
        ev.cache_write_1h_tokens
        or ev.service_tier
        or ev.revenue_minor is not None
        or ev.currency
        or ev.extra_cost is not None
        or ev.reported_cost is not None
        or ev.units
        or ev.tags
        or ev.input_audio_tokens
        or ev.output_audio_tokens
        or ev.output_image_tokens
        or ev.cached_audio_tokens
    ):
        return None
    extra = {
        "cache_write_1h_tokens": ev.cache_write_1h_tokens or None,
        "service_tier": ev.service_tier,
        "revenue_minor": ev.revenue_minor,
        "currency": ev.currency,
        "extra_cost": None if ev.extra_cost is None else usd_to_pico(ev.extra_cost),
        "reported_cost": ev.reported_cost,
        "units": ev.units or None,
        "tags": ev.tags or None,
        "input_audio_tokens": ev.input_audio_tokens or None,  # #14: audio/image parts of input and output
        "output_audio_tokens": ev.output_audio_tokens or None,
        "output_image_tokens": ev.output_image_tokens or None,
        "cached_audio_tokens": ev.cached_audio_tokens or None,
    }
    return orjson.dumps({k: v for k, v in extra.items() if v is not None}).decode()


def _unpriced(ev: NormalizedEvent) -> tuple[None, None]:
    return None, None


def _blocks(fh: IO[bytes], limit: int | None = None) -> Iterator[bytes]:
    """The bytes of `fh` in blocks, stopping after `limit` bytes when given."""
    # gzip's read1 hands over what it has decompressed so far, so a damaged file yields its good part first.
    read = fh.read1 if isinstance(fh, gzip.GzipFile) else fh.read
    while limit is None or limit > 0:
        block = read(READ_BLOCK if limit is None else min(READ_BLOCK, limit))
        if not block:
            return
        if limit is not None:
            limit -= len(block)
        yield block


def _tail_hash(fd: int, offset: int) -> str:
    """The hash of the TAIL_BYTES of a file before `offset` (all of them when fewer): a checkpoint's proof."""
    n = min(offset, TAIL_BYTES)
    data = os.pread(fd, n, offset - n) if n else b""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _identity(first_line: bytes) -> str:
    """A file's identity: the hash of its first line, which a rename or rotation does not change."""
    return hashlib.blake2b(first_line.rstrip(b"\r\n"), digest_size=12).hexdigest()


def _one_json_document(fh: IO[bytes], first: bytes, size: int) -> str | None:
    """Why a file is not JSONL, when it is one JSON object or array spread over many lines (pretty-printed): read
    line by line, each of its lines would be rejected. None for anything else (fh is left where it was)."""
    head = first.removeprefix(BOM).strip()
    if not head.startswith((b"{", b"[")) or size > ONE_DOCUMENT_MAX_BYTES or _is_json(head):
        return None
    pos = fh.tell()
    try:
        fh.seek(0)
        doc = orjson.loads(fh.read().removeprefix(BOM))
    except orjson.JSONDecodeError:
        return None
    finally:
        fh.seek(pos)
    if not isinstance(doc, (dict, list)):
        return None
    kind, jq = ("object", "jq -c .") if isinstance(doc, dict) else ("array", "jq -c '.[]'")
    return (
        f"not JSONL: the file is one JSON {kind} over several lines, and JSONL is one object per line;"
        f" nothing was read (try `{jq} FILE > FILE.jsonl` and ingest that)"
    )


def _is_json(raw: bytes) -> bool:
    try:
        orjson.loads(raw)
        return True
    except orjson.JSONDecodeError:
        return False


def _is_complete_json(raw: bytes) -> bool:
    try:
        return isinstance(orjson.loads(raw), dict)
    except orjson.JSONDecodeError:
        return False


def _reader_process_pays(size: int) -> bool:
    """Whether `size` bytes are worth a reader process: a big read on a machine with a second core, and not turned
    off (MARGINDASH_READER_PROCESS=0)."""
    setting = os.environ.get(READER_PROCESS_ENV, "")
    if setting == "0" or not hasattr(os, "fork") or (os.cpu_count() or 1) < 2:
        return False
    return setting == "1" or size >= READER_PROCESS_MIN_BYTES


def _batch_lines() -> int:
    """Lines per transaction: BATCH_LINES, or a positive MARGINDASH_BATCH_LINES (crash and concurrency tests)."""
    try:
        return max(1, int(os.environ.get(BATCH_LINES_ENV, "")))
    except ValueError:
        return BATCH_LINES


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
