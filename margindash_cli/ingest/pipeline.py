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
import gzip
import hashlib
import os
import pickle
import sys
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol, runtime_checkable

import orjson

from ..errors import InputError, LineRejected
from ..money import usd_to_pico
from ..store import Store, event_key
from . import canonical
from .canonical import NormalizedEvent

BATCH_LINES = 20_000  # lines per transaction: large enough to amortise the commit, small enough to stay flat in memory
BATCH_LINES_ENV = "MARGINDASH_BATCH_LINES"  # overrides BATCH_LINES: tests force many small transactions with it
READ_BLOCK = 1 << 20  # bytes read at a time
MAX_CALL_PICO = 9 * 10**18  # $9,000,000: the most one call may cost; 64-bit picodollars end at ~$9.22M
BOM = b"\xef\xbb\xbf"
READER_PROCESS_MIN_BYTES = 16 << 20  # a plain file with at least this much new is read by a forked reader process
READER_PROCESS_ENV = "MARGINDASH_READER_PROCESS"  # 0: never (read in-process); 1: always (tests)


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


@dataclass
class IngestResult:
    files: list[FileResult] = field(default_factory=list)
    quarantine_path: str | None = None

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


def expand_paths(paths: list[str]) -> list[str]:
    """Files to read: files as given, directories walked for `*.jsonl*`, '-' for stdin."""
    out: list[str] = []
    for raw in paths:
        if raw == "-":
            out.append("-")
            continue
        p = Path(raw)
        if p.is_dir():
            found = sorted(str(f) for f in p.rglob("*.jsonl*") if f.is_file())
            out.extend(found)
        elif p.exists():
            out.append(str(p))
        else:
            raise InputError(f"{raw}: no such file or directory")
    return out


class Quarantine:
    """Append-only JSONL file of rejected lines, opened on the first rejection."""

    def __init__(self, path: Path):
        self.path = path
        self._fh: IO[bytes] | None = None

    def add(self, source: str, line_no: int, raw: bytes, exc: LineRejected) -> None:
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(self.path, "ab")
        record: dict[str, Any] = {"file": source, "line": line_no, "field": exc.field, "reason": exc.reason}
        try:
            record["raw"] = raw.decode("utf-8")
        except UnicodeDecodeError:
            record["raw"] = raw.decode("utf-8", "backslashreplace")
            record["raw_base64"] = base64.b64encode(raw).decode("ascii")
        self._fh.write(orjson.dumps(record) + b"\n")

    def flush(self) -> None:
        if self._fh is not None:
            self._fh.flush()
            os.fsync(self._fh.fileno())

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


class _Batch:
    """Events read since the last commit, with where to put the checkpoint once they are stored."""

    def __init__(self) -> None:
        self.events: list[tuple[int, NormalizedEvent, int]] = []  # key, event, line
        self.offset = 0
        self.line = 0
        self.lines = 0


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
) -> IngestResult:
    """Ingest files, directories and '-' into the store. Returns what was read, stored, skipped and rejected."""
    result = IngestResult(quarantine_path=str(quarantine_path))
    quarantine = Quarantine(quarantine_path)
    try:
        for path in expand_paths(paths):
            reader = _FileIngest(store, path, fmt, maps or [], quarantine, require_customer, pricer, on_progress)
            result.files.append(reader.run(stdin if path == "-" else None))
    finally:
        quarantine.close()
    if quarantine.path.exists() and result.rejected:
        result.quarantine_path = str(quarantine.path)
    return result


class _FileIngest:
    def __init__(self, store: Store, path: str, fmt: str, maps: list[tuple[str, str]], quarantine: Quarantine,
                 require_customer: bool, pricer: Pricer | None, on_progress: Callable[[int], None] | None):  # fmt: skip
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
        st = os.stat(self.path)
        with open(self.path, "rb") as fh:
            first = fh.readline()
        self.identity = _identity(first) if first else None
        cp = self.store.find_source(self.key_path, self.identity)
        start, start_line = 0, 0
        if cp is not None and cp.identity == self.identity and st.st_size >= cp.offset:
            start, start_line = cp.offset, cp.line
            if st.st_size == cp.offset:
                self.result.skipped = True
                return
        if _reader_process_pays(st.st_size - start):
            self._read_in_reader_process(start, start_line, st)
            return
        with open(self.path, "rb") as fh:
            fh.seek(start)
            self._read_stream(fh, start_line=start_line, final=False, stat=st, start_offset=start)

    def _read_in_reader_process(self, start: int, start_line: int, st: os.stat_result) -> None:
        """`_read_stream` split over two processes (the machine's two cores): a forked reader splits, parses,
        validates and prices the lines and quarantines the rejected ones; this process stores each batch as it
        arrives, in order, each with its checkpoint, exactly as `_flush` does when reading alone."""
        if isinstance(self.pricer, LazyPricerLike):
            self.pricer.load()  # here, not in the reader: loading may write the shipped catalog to the store
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the reader: never returns
            os.close(read_fd)
            code = 0
            try:
                with os.fdopen(write_fd, "wb", buffering=1 << 20) as out:
                    self._reader_main(out, start, start_line, st)
            except BaseException:  # noqa: BLE001 - the parent reports it (a broken pipe: the parent is gone)
                code = 1
            finally:
                os._exit(code)
        os.close(write_fd)
        done, read_to = False, start
        try:
            with os.fdopen(read_fd, "rb", buffering=1 << 20) as inp:
                while True:
                    try:
                        msg = pickle.load(inp)
                    except (EOFError, pickle.UnpicklingError):  # the reader ended, or died in the middle of a batch
                        break
                    kind = msg[0]
                    if kind == "batch":
                        _, rows, offset, line, with_stat, lines_read, rejected = msg
                        self.result.lines_read += lines_read  # counted as each batch arrives: nothing unreported
                        self.result.rejected += rejected  # if the reader stops early
                        self._store_batch(rows, offset, line, st if with_stat else None)
                        if self.on_progress:
                            self.on_progress(offset - read_to)
                        read_to = offset
                    elif kind == "done":
                        _, self.identity, lines_read, rejected, partial = msg
                        self.result.lines_read += lines_read
                        self.result.rejected += rejected
                        self.result.partial_line_bytes = partial
                        done = True
                    elif kind == "error":
                        raise msg[1]
        finally:
            _, status = os.waitpid(pid, 0)
        if not done:
            raise OSError(f"the reader process ended early (status {status}); the batches it sent were stored")

    def _reader_main(self, out: IO[bytes], start: int, start_line: int, st: os.stat_result) -> None:
        """The forked reader: `_read_stream` with each batch sent to the parent instead of stored."""

        def send(batch: _Batch, stat: os.stat_result | None, *, save_checkpoint: bool = True) -> None:
            rows = self._prepare(batch)
            counts = (self.result.lines_read, self.result.rejected)  # since the last batch: sent with it
            self.result.lines_read = self.result.rejected = 0
            pickle.dump(("batch", rows, batch.offset, batch.line, stat is not None, *counts), out, protocol=pickle.HIGHEST_PROTOCOL)
            out.flush()

        self._flush = send  # type: ignore[method-assign]
        self.on_progress = None  # the parent shows progress as batches arrive
        try:
            with open(self.path, "rb") as fh:
                fh.seek(start)
                self._read_stream(fh, start_line=start_line, final=False, stat=st, start_offset=start)
        except OSError as exc:
            pickle.dump(("error", exc), out)
            return
        self.quarantine.close()
        pickle.dump(("done", self.identity, self.result.lines_read, self.result.rejected, self.result.partial_line_bytes), out)

    def _read_gzip(self) -> None:
        st = os.stat(self.path)
        try:
            with gzip.open(self.path, "rb") as fh:
                first = fh.readline()
        except (OSError, EOFError, zlib.error) as exc:
            self.result.error = f"not a readable gzip file ({exc})"
            return
        self.identity = _identity(first) if first else None
        cp = self.store.find_source(self.key_path, self.identity)
        if cp is not None and cp.path == self.key_path and cp.identity == self.identity \
                and cp.size == st.st_size and cp.mtime_ns == st.st_mtime_ns:  # fmt: skip
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

    def _read_stream(self, fh: IO[bytes], *, start_line: int, final: bool, stat: os.stat_result | None,
                     start_offset: int = 0) -> None:  # fmt: skip
        batch = _Batch()
        batch.offset, batch.line = start_offset, start_line
        batch_lines = _batch_lines()
        line_no, offset = start_line, start_offset
        rest = b""
        try:
            for block in _blocks(fh):
                if self.on_progress:
                    self.on_progress(len(block))
                data = rest + block if rest else block
                lines = data.split(b"\n")
                rest = lines.pop()
                for raw in lines:
                    line_no += 1
                    offset += len(raw) + 1
                    if self.identity is None:
                        self.identity = _identity(raw + b"\n")
                    self._handle(raw, line_no, batch)
                    batch.offset, batch.line = offset, line_no
                    if batch.lines >= batch_lines:
                        # A gzip file's size and mtime mark it done, so only its last batch records them:
                        # a run killed half-way through it reads it again in full (dedupe keeps totals right).
                        self._flush(batch, None if final else stat)
                        batch = _Batch()
                        batch.offset, batch.line = offset, line_no
        except (EOFError, zlib.error, gzip.BadGzipFile):
            # A damaged gzip: keep every whole line read before the damage, and no checkpoint, so the
            # next run reports it again (and re-reads it in full if it was still being written).
            self._flush(batch, stat, save_checkpoint=False)
            raise
        if rest.strip():
            if self.identity is None:
                self.identity = _identity(rest + b"\n")
            if final:
                self._handle(rest, line_no + 1, batch)
                batch.offset, batch.line = offset + len(rest), line_no + 1
            elif _is_complete_json(rest):
                # Store it now, but leave the checkpoint before it: the next run reads it again once its
                # newline arrives, under the same line number, so its key makes it a duplicate.
                self._handle(rest, line_no + 1, batch)
            else:
                self.result.partial_line_bytes = len(rest)
        self._flush(batch, stat)

    # ---- one line ----

    def _handle(self, raw: bytes, line_no: int, batch: _Batch) -> None:
        batch.lines += 1
        text = raw[:-1] if raw.endswith(b"\r") else raw
        if line_no == 1 and text.startswith(BOM):
            text = text[3:]
        if not text.strip():
            return
        self.result.lines_read += 1
        try:
            try:
                obj = orjson.loads(text)
            except orjson.JSONDecodeError as exc:
                raise LineRejected(f"not valid JSON ({_short(str(exc))})") from None
            events = canonical.normalize(obj, self.fmt, self.maps)
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
        for i, ev in enumerate(events):
            if ev.dedupe_id is not None:
                key = event_key("r:" + ev.dedupe_id)
            else:
                key = event_key(f"s:{self.identity}:{line_no}" + (f":{i}" if i else ""))
            batch.events.append((key, ev, line_no))

    # ---- one transaction ----

    def _flush(self, batch: _Batch, stat: os.stat_result | None, *, save_checkpoint: bool = True) -> None:
        self._store_batch(self._prepare(batch), batch.offset, batch.line, stat, save_checkpoint=save_checkpoint)

    def _prepare(self, batch: _Batch) -> list[tuple[Any, ...]]:
        """The batch's calls priced, as rows with names for dimensions (`_row`); the calls whose cost cannot be
        stored are quarantined, and the quarantine is on disk before the batch can commit."""
        # Priced before the write lock is taken: the lock is held only for the SQL, which keeps
        # overlapping cron jobs from waiting on our Python work.
        price = self.pricer.price if self.pricer else _unpriced
        costs = [price(ev) for _key, ev, _line in batch.events]
        if any(c is not None and not -MAX_CALL_PICO <= c <= MAX_CALL_PICO for c, _ in costs):
            costs = self._reject_implausible_costs(batch, costs)
        self.quarantine.flush()
        return [_row(key, ev, line_no, cost) for (key, ev, line_no), cost in zip(batch.events, costs)]

    def _store_batch(self, named_rows: list[tuple[Any, ...]], offset: int, line: int, stat: os.stat_result | None, *,
                     save_checkpoint: bool = True) -> None:  # fmt: skip
        """Store the rows of one batch and move the checkpoint to (offset, line), in one transaction."""
        store = self.store
        with store.write():
            if self.source_id is None:
                self.source_id = store.source_id(self.key_path, self.identity)
            dim, model_id, source = store.dim_id, store.model_id, self.source_id
            rows = [
                (key, ts, dim("customers", customer), dim("features", feature), model_id(vendor, model), dim("segments", segment),
                 *tokens_and_cost, source, line_no, extra, request_id, response_id)
                for key, ts, customer, feature, vendor, model, segment, *tokens_and_cost, line_no, extra, request_id, response_id
                in named_rows
            ]  # fmt: skip
            stored = store.insert_new_events(rows)
            self.result.events_stored += stored
            self.result.duplicates += len(rows) - stored
            if self.path != "-" and save_checkpoint:
                store.save_checkpoint(
                    self.source_id,
                    dev=stat.st_dev if stat else None,
                    ino=stat.st_ino if stat else None,
                    offset=offset,
                    line=line,
                    size=stat.st_size if stat else None,
                    mtime_ns=stat.st_mtime_ns if stat else None,
                )

    def _reject_implausible_costs(self, batch: _Batch, costs: list[tuple[int | None, int | None]]
                                  ) -> list[tuple[int | None, int | None]]:  # fmt: skip
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
            self.quarantine.add(self.display, item[2], orjson.dumps(item[1]._asdict()),
                                LineRejected(f"the call would cost ${usd}, more than $9,000,000: a corrupt token count?", "cost"))  # fmt: skip
        batch.events[:] = kept
        return kept_costs

def _row(key: int, ev: NormalizedEvent, line_no: int, priced: tuple[int | None, int | None]) -> tuple[Any, ...]:
    """A call as a staging row with its dimensions still names: key, ts, customer, feature, vendor, model, segment,
    the five token columns, cost, price id, line, extra, request id, response id (when it differs) (`_store_batch`
    turns the names into ids and adds the source)."""
    cost, price_id = priced
    response_id = ev.response_id if ev.response_id != ev.dedupe_id else None
    return (key, ev.ts_ms, ev.customer_id, ev.event_type, ev.vendor, ev.model, ev.segment, ev.input_tokens, ev.output_tokens,
            ev.cached_input_tokens, ev.cache_write_tokens, ev.reasoning_tokens, cost, price_id, line_no, _extra(ev),
            ev.dedupe_id, response_id)  # fmt: skip


def _extra(ev: NormalizedEvent) -> str | None:
    """The JSON object of a call's rare fields (store.EXTRA_FIELDS) that are set, or None: most calls have none."""
    if not (ev.cache_write_1h_tokens or ev.service_tier or ev.revenue_minor is not None or ev.currency or ev.extra_cost is not None
            or ev.reported_cost is not None or ev.units or ev.tags):  # fmt: skip
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
    }
    return orjson.dumps({k: v for k, v in extra.items() if v is not None}).decode()


def _unpriced(ev: NormalizedEvent) -> tuple[None, None]:
    return None, None


def _blocks(fh: IO[bytes]) -> Iterator[bytes]:
    # gzip's read1 hands over what it has decompressed so far, so a damaged file yields its good part first.
    read = fh.read1 if isinstance(fh, gzip.GzipFile) else fh.read
    while True:
        block = read(READ_BLOCK)
        if not block:
            return
        yield block


def _identity(first_line: bytes) -> str:
    """A file's identity: the hash of its first line, which a rename or rotation does not change."""
    return hashlib.blake2b(first_line.rstrip(b"\r\n"), digest_size=12).hexdigest()


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
