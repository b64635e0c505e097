"""Export the store's events and daily rollups as month-partitioned Parquet or CSV files for a warehouse.

Invariants:
- Layout (Hive-style, read as-is by DuckDB, ClickHouse, BigQuery and Spark):
  OUTDIR/events/month=YYYY-MM/part-0.{parquet,csv}, OUTDIR/rollup_daily/month=YYYY-MM/part-0.{parquet,csv} and
  OUTDIR/_manifest.json (columns with types and units, rows and sums per table and partition).
  An event's month is the UTC month of its timestamp; a rollup row's, the UTC month of its day.
- Columns are plain values: dimension names, not the store's integer ids. The same columns in both formats.
- Money is exact, never float: cost is USD as Parquet decimal(38, 12) (the store's integer picodollars,
  unscaled) and an exact decimal string in CSV; null (an empty CSV field) means unpriced, never $0.
  Revenue is integer minor units of its currency.
- Time is UTC: Parquet timestamp[ms, UTC] and date; ISO 8601 with `Z` and YYYY-MM-DD in CSV.
- Memory stays flat: rows are read in chunks (events a month at a time, in ingest order within the month;
  rollups in day order), and one partition file is open at a time.
- One snapshot: events and rollups are read in one read transaction, so they agree even while an ingest commits.
- Whole files only: a run writes into a temporary folder inside OUTDIR and renames each file into place after
  all were written, then the manifest. A failed run leaves OUTDIR as it was. A run replaces the partitions
  of the months its range touches (with only the range's rows) and keeps the others, so monthly
  `--since YYYY-MM` runs build one dataset; the manifest describes every partition in OUTDIR.
"""

from __future__ import annotations

import csv
import fcntl
import hashlib
import os
import re
import shutil
import tempfile
from bisect import bisect_left
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, localcontext
from pathlib import Path
from typing import Any

import orjson

from margindash_cli import __version__
from margindash_cli.core.money import usd_text
from margindash_cli.core.periods import DAY_MS, EPOCH_DATE
from margindash_cli.core.textsafe import csv_formula_safe
from margindash_cli.errors import MarginDashError, UsageError
from margindash_cli.store.db import Store

SCHEMA_VERSION = 2  # of the exported columns and the manifest; bumped when either changes incompatibly
FORMATS = ("parquet", "csv")
TABLES = ("events", "rollup_daily")
MANIFEST = "_manifest.json"
CHUNK_ROWS = 8_192  # rows fetched from SQLite and converted at a time
ROW_GROUP_ROWS = (
    131_072  # Parquet rows per row group (DuckDB's size): large enough for scans, small enough for flat memory
)
PARQUET_COMPRESSION = "zstd"  # read by every warehouse we name; smaller than snappy at similar speed
USD_DECIMAL = (38, 12)  # precision, scale: 12 decimals hold picodollars exactly; 26 integer digits hold any sum
PARQUET_HINT = "pip install 'margindash[parquet]' (or use --format csv)"
CSV_FALLBACK_NOTE = (  # said on stderr when --format was not given and pyarrow is missing
    "note: pyarrow is not installed, so this export is CSV (Parquet is the default): "
    "pip install 'margindash[parquet]' for Parquet, or pass --format csv to say so"
)

# Column kinds: how a value is stored in Parquet and written in CSV.
INT, TEXT, JSON, TIMESTAMP, DAY, USD, BOOL = "int", "text", "json", "timestamp", "day", "usd", "bool"
KIND_TYPES = {  # kind -> (Parquet type, CSV text)
    INT: ("int64", "integer"),
    TEXT: ("string", "text"),
    JSON: ("string (JSON object)", "JSON object text"),
    TIMESTAMP: ("timestamp[ms, UTC]", "ISO 8601 UTC, e.g. 2026-10-01T12:00:00.000Z"),
    DAY: ("date32 (UTC day)", "YYYY-MM-DD (UTC day)"),
    USD: (f"decimal({USD_DECIMAL[0]}, {USD_DECIMAL[1]})", "exact decimal string"),
    BOOL: ("bool", "true|false"),
}

# (column, kind, unit, meaning). Token columns follow the canonical event: parts never count twice.
EVENT_COLUMNS = (
    (
        "event_id",
        INT,
        None,
        "the call's id in the store (ingest order): unique in the store, stable for its life; merge on it",
    ),
    ("timestamp", TIMESTAMP, "UTC", "when the call was made"),
    ("day", DAY, "UTC", "the UTC day of timestamp"),
    ("customer_id", TEXT, None, "your customer id; null = unattributed"),
    ("event_type", TEXT, None, "the feature; null = none"),
    ("vendor", TEXT, None, "the vendor as logged"),
    ("model", TEXT, None, "the model as logged"),
    ("segment", TEXT, None, "the call's own segment; null = none"),
    ("input_tokens", INT, "tokens", "all prompt tokens (cached_input_tokens and cache_write_tokens are parts of it)"),
    ("output_tokens", INT, "tokens", "all output tokens (reasoning_tokens is part of it)"),
    ("cached_input_tokens", INT, "tokens", "cache reads, part of input_tokens"),
    ("cache_write_tokens", INT, "tokens", "cache writes, part of input_tokens"),
    ("cache_write_1h_tokens", INT, "tokens", "the one-hour part of cache_write_tokens"),
    ("reasoning_tokens", INT, "tokens", "part of output_tokens"),
    ("input_audio_tokens", INT, "tokens", "audio prompt tokens, part of input_tokens (uncached), at the audio rate"),
    ("output_audio_tokens", INT, "tokens", "generated audio tokens, part of output_tokens, at the audio rate"),
    ("output_image_tokens", INT, "tokens", "generated image tokens, part of output_tokens, at the image rate"),
    ("cached_audio_tokens", INT, "tokens", "audio prompt tokens read from cache, part of cached_input_tokens"),
    ("service_tier", TEXT, None, "default|batch|flex|priority"),
    ("revenue_amount_in_cents", INT, "minor units of currency", "revenue the event carried; null = none"),
    ("currency", TEXT, None, "ISO 4217 code (lower case) of revenue_amount_in_cents"),
    ("units", JSON, None, 'per-unit counts, e.g. {"images": 2}; null = none'),
    ("tags", JSON, None, "your tags; null = none"),
    ("cost_usd", USD, "USD", "the call's cost at the price in force at its timestamp; null = unpriced, never 0"),
    (
        "extra_cost_usd",
        USD,
        "USD",
        "the event's own non-token charge (its cost_usd field), included in cost_usd when priced",
    ),
    ("reported_cost_usd", TEXT, "USD", "the cost the provider's or gateway's log stated, exact decimal text as logged"),
    ("source_file", TEXT, None, "the file the call was read from ('-' = stdin)"),
    ("source_line", INT, None, "its line in that file"),
)
ROLLUP_COLUMNS = (
    ("day", DAY, "UTC", "the UTC day"),
    ("customer_id", TEXT, None, "null = unattributed"),
    ("event_type", TEXT, None, "the feature; null = none"),
    ("vendor", TEXT, None, "the vendor as logged"),
    ("model", TEXT, None, "the model as logged"),
    ("segment", TEXT, None, "the calls' own segment; null = none"),
    ("events", INT, "calls", "calls in the group"),
    ("input_tokens", INT, "tokens", "sum over the calls"),
    ("output_tokens", INT, "tokens", "sum over the calls"),
    ("cached_input_tokens", INT, "tokens", "sum over the calls"),
    ("cache_write_tokens", INT, "tokens", "sum over the calls"),
    ("reasoning_tokens", INT, "tokens", "sum over the calls"),
    ("cost_usd", USD, "USD", "cost of the priced calls (never null; see unpriced_events)"),
    ("unpriced_events", INT, "calls", "calls with no price, not in cost_usd"),
    ("revenue_usd_cents", INT, "US cents", "revenue carried by the calls in USD"),
)
COLUMNS = {"events": EVENT_COLUMNS, "rollup_daily": ROLLUP_COLUMNS}
SCHEMAS = ("margindash", "focus")  # --schema: the store's own columns (default), or FOCUS 1.2 with revenue (#21)


def tables_of(schema: str) -> tuple[str, ...]:
    from margindash_cli.export import focus  # lazy: start-up

    return focus.TABLES if schema == "focus" else TABLES


def columns_of(schema: str, table: str) -> tuple[tuple[str, str, str | None, str], ...]:
    from margindash_cli.export import focus  # lazy: start-up

    return focus.COLUMNS[table] if schema == "focus" else COLUMNS[table]


# Export column -> the store's name for it, where they differ (cost columns hold integer picodollars there).
STORE_NAMES = {
    "event_id": "id",
    "revenue_amount_in_cents": "revenue_minor",
    "cost_usd": "cost",
    "extra_cost_usd": "extra_cost",
    "reported_cost_usd": "reported_cost",
    "source_line": "line",
}


@dataclass
class PartitionRow:
    """One partition file: its rows, exact cost sum and token sums."""

    table: str
    month: str
    path: str  # relative to OUTDIR, with '/'
    rows: int = 0
    events: int = 0  # calls: rows for events, the sum of `events` for rollups
    cost_pico: int = 0
    unpriced_events: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    first_day: str | None = None
    last_day: str | None = None
    revenue_usd_cents: int = 0  # revenue in US cents the partition's rows hold (focus revenue tables; else 0)
    sha256: str | None = None  # of the partition file's bytes: a loader skips a partition whose hash it has loaded
    changed_at: str | None = None  # generated_at of the run that last changed the file's content (UTC ISO 8601)
    changed: bool = True  # this run changed the file (False: same content as before, the file was left alone)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["cost_usd"] = usd_exact(d.pop("cost_pico"))
        return d

    def manifest_json(self) -> dict[str, Any]:
        d = self.to_json()
        del d["changed"]  # of one run, not of the partition
        return d


@dataclass
class ExportResult:
    """What a run wrote (and removed) and where its manifest is."""

    outdir: str
    format: str
    since: str | None
    until: str | None
    generated_at: str
    schema: str = "margindash"
    written: list[PartitionRow] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    manifest: str = ""
    changed_since: str | None = None
    changed: list[PartitionRow] = field(default_factory=list)  # every partition in OUTDIR changed since changed_since
    note: str | None = None  # why the format is not the one asked for (no --format and no pyarrow: CSV)

    def totals(self, table: str) -> dict[str, Any]:
        parts = [p for p in self.written if p.table == table]
        return _sum_parts(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "generated_at": self.generated_at,
            "outdir": self.outdir,
            "format": self.format,
            "schema": self.schema,
            "since": self.since,
            "until": self.until,
            "totals": {t: self.totals(t) for t in tables_of(self.schema)},
            "written": [p.to_json() for p in self.written],
            "removed": self.removed,
            "manifest": self.manifest,
            **({"note": self.note} if self.note else {}),
            **(
                {"changed_since": self.changed_since, "changed": [p.to_json() for p in self.changed]}
                if self.changed_since is not None
                else {}
            ),
        }


def _sum_parts(parts: list[PartitionRow]) -> dict[str, Any]:
    return {
        "partitions": len(parts),
        "rows": sum(p.rows for p in parts),
        "events": sum(p.events for p in parts),
        "cost_usd": usd_exact(sum(p.cost_pico for p in parts)),
        "unpriced_events": sum(p.unpriced_events for p in parts),
        "input_tokens": sum(p.input_tokens for p in parts),
        "output_tokens": sum(p.output_tokens for p in parts),
        "revenue_usd_cents": sum(p.revenue_usd_cents for p in parts),
    }


# ---- the range -----------------------------------------------------------------------------------


def parse_bound(text: str | None, option: str, *, end: bool) -> date | None:
    """The first day of a YYYY-MM-DD or YYYY-MM bound; for `end`, the day after it (the range is half-open)."""
    if text is None:
        return None
    try:
        if len(text) == 7:
            year, month = (int(x) for x in text.split("-"))
            start = date(year, month, 1)
            return _next_month(start) if end else start
        day = date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{option} {text!r} is not a date or a month", "use YYYY-MM-DD or YYYY-MM (UTC)") from None
    return day + timedelta(days=1) if end else day


def _next_month(d: date) -> date:
    return date(d.year + (d.month == 12), d.month % 12 + 1, 1)


def _day_number(d: date | None) -> int | None:
    return None if d is None else (d - EPOCH_DATE).days


def _month_of_day(day: int) -> date:
    return (EPOCH_DATE + timedelta(days=day)).replace(day=1)


# ---- writers -------------------------------------------------------------------------------------


def default_format(outdir: Path) -> tuple[str, str | None]:
    """The format of an export with no --format, and a note when it is not the default: an earlier export's
    format in OUTDIR (a parquet one still needs pyarrow), else parquet when pyarrow imports, else CSV."""
    earlier = _earlier_format(outdir)
    if earlier == "csv":
        return earlier, None
    try:
        _import_pyarrow()
    except MarginDashError:
        if earlier == "parquet":
            raise MarginDashError(
                f"{outdir} holds a Parquet export, and writing Parquet needs pyarrow, which is not installed",
                "pip install 'margindash[parquet]', or export --format csv into another folder",
            ) from None
        return "csv", CSV_FALLBACK_NOTE
    return "parquet", None


def _earlier_format(outdir: Path) -> str | None:
    try:
        manifest = orjson.loads((outdir / MANIFEST).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None  # none, or unreadable: _read_manifest says so
    return manifest.get("format") if isinstance(manifest, dict) else None


def _import_pyarrow() -> tuple[Any, Any]:
    try:
        import pyarrow  # lazy: start-up
        import pyarrow.parquet  # lazy: start-up
    except ImportError:
        raise MarginDashError("--format parquet needs pyarrow, which is not installed", PARQUET_HINT) from None
    return pyarrow, pyarrow.parquet


CSV_NUMERIC_TEXT = frozenset({"reported_cost_usd"})  # TEXT columns holding a number as logged: never quoted
usd_exact = usd_text  # kept under this name for the export's callers: the one exact formatter lives in money


class _CsvPart:
    """One CSV partition file: a header row, then the rows; None is an empty field."""

    def __init__(self, path: Path, columns: tuple[tuple[str, str, str | None, str], ...]):
        self.fh = open(path, "w", newline="", encoding="utf-8")
        self.writer = csv.writer(self.fh, lineterminator="\n")
        self.writer.writerow([c[0] for c in columns])
        self.kinds = [c[1] for c in columns]
        # text cells a spreadsheet could run as a formula get the OWASP quote (#22 item 18); numeric text is left as is
        self.guarded = [c[1] == TEXT and c[0] not in CSV_NUMERIC_TEXT for c in columns]
        self._days: dict[int, str] = {}

    def _day(self, n: int) -> str:
        text = self._days.get(n)
        if text is None:
            text = self._days[n] = (EPOCH_DATE + timedelta(days=n)).isoformat()
        return text

    def write(self, cols: list[list[Any]]) -> None:
        out: list[Any] = []
        day = self._day
        for kind, guarded, col in zip(self.kinds, self.guarded, cols):
            if guarded:
                col = [csv_formula_safe(v) for v in col]
            elif kind == TIMESTAMP:  # 2026-10-01T12:00:00.000Z, as `events --json` writes it
                col = [
                    f"{day(t // DAY_MS)}T{t // 3_600_000 % 24:02d}:{t // 60_000 % 60:02d}:{t // 1000 % 60:02d}.{t % 1000:03d}Z"
                    for t in col
                ]
            elif kind == DAY:
                col = [day(v) for v in col]
            elif kind == USD:
                col = [usd_exact(v) for v in col]
            elif kind == BOOL:
                col = ["true" if v else "false" for v in col]
            out.append(col)
        self.writer.writerows(zip(*out))

    def close(self) -> None:
        self.fh.flush()
        os.fsync(self.fh.fileno())
        self.fh.close()


class _ParquetPart:
    """One Parquet partition file, written a row group at a time."""

    def __init__(self, path: Path, columns: tuple[tuple[str, str, str | None, str], ...]):
        self.pa, pq = _import_pyarrow()
        pa = self.pa
        self.usd = pa.decimal128(*USD_DECIMAL)
        self.types = {
            INT: pa.int64(),
            TEXT: pa.string(),
            JSON: pa.string(),
            TIMESTAMP: pa.timestamp("ms", tz="UTC"),
            DAY: pa.date32(),
            USD: self.usd,
            BOOL: pa.bool_(),
        }
        self.kinds = [c[1] for c in columns]
        self.schema = pa.schema(
            [
                pa.field(name, self.types[kind], metadata={"unit": unit or "", "description": meaning})
                for name, kind, unit, meaning in columns
            ]
        )
        self.path = path
        self.writer = pq.ParquetWriter(str(path), self.schema, compression=PARQUET_COMPRESSION)
        self.pending: list[Any] = []
        self.pending_rows = 0

    def write(self, cols: list[list[Any]]) -> None:
        pa = self.pa
        arrays = []
        for kind, col in zip(self.kinds, cols):
            if kind == USD:
                # picodollars are the unscaled value of decimal(38, 12): cast exactly, then reinterpret the scale
                arrays.append(pa.array(col, pa.int64()).cast(pa.decimal128(USD_DECIMAL[0], 0)).view(self.usd))
            else:
                arrays.append(pa.array(col, self.types[kind]))
        batch = pa.RecordBatch.from_arrays(arrays, schema=self.schema)
        self.pending.append(batch)
        self.pending_rows += batch.num_rows
        while self.pending_rows >= ROW_GROUP_ROWS:  # whole row groups out; the rest waits for the next chunk
            rows = pa.Table.from_batches(self.pending, schema=self.schema)
            self.writer.write_table(rows.slice(0, ROW_GROUP_ROWS), row_group_size=ROW_GROUP_ROWS)
            rest = rows.slice(ROW_GROUP_ROWS)
            self.pending, self.pending_rows = rest.to_batches(), rest.num_rows

    def _flush(self) -> None:
        if self.pending_rows:
            self.writer.write_table(
                self.pa.Table.from_batches(self.pending, schema=self.schema), row_group_size=ROW_GROUP_ROWS
            )
        self.pending, self.pending_rows = [], 0

    def close(self) -> None:
        self._flush()
        self.writer.close()
        with open(self.path, "rb") as fh:
            os.fsync(fh.fileno())


# ---- the run -------------------------------------------------------------------------------------


def _columns_of(
    table: str, names: list[str], rows: list[tuple[Any, ...]], dims: dict[str, dict[int, Any]]
) -> list[list[Any]]:
    """The export columns (COLUMNS order) of store rows: `Events.export_rows` column names, dimension ids named."""
    raw = dict(zip(names, (list(c) for c in zip(*rows))))
    models = [dims["model"][i] for i in raw["model"]]
    raw["vendor"] = [m[0] for m in models]
    raw["model"] = [m[1] for m in models]
    for column, dim in (("customer_id", "customer"), ("event_type", "feature"), ("segment", "segment")):
        named = dims[dim]  # id 0 (none) is absent: None
        raw[column] = [named.get(i) for i in raw[dim]]
    if table == "events":
        raw["timestamp"] = raw["ts"]
        raw["day"] = [t // DAY_MS for t in raw["ts"]]
        raw["service_tier"] = [t or "default" for t in raw["service_tier"]]
        raw["source_file"] = [dims["source"].get(i) for i in raw["source"]]
    return [raw[STORE_NAMES.get(c[0], c[0])] for c in COLUMNS[table]]


def _account(part: PartitionRow, table: str, names: list[str], rows: list[tuple[Any, ...]]) -> None:
    idx = {n: i for i, n in enumerate(names)}
    cost_i, in_i, out_i = idx["cost"], idx["input_tokens"], idx["output_tokens"]
    part.rows += len(rows)
    part.input_tokens += sum(r[in_i] for r in rows)
    part.output_tokens += sum(r[out_i] for r in rows)
    if table == "events":
        part.events += len(rows)
        costs = [r[cost_i] for r in rows]
        part.cost_pico += sum(c for c in costs if c is not None)
        part.unpriced_events += costs.count(None)
        ts_i = idx["ts"]
        first, last = min(r[ts_i] for r in rows) // DAY_MS, max(r[ts_i] for r in rows) // DAY_MS
    else:
        part.events += sum(r[idx["events"]] for r in rows)
        part.cost_pico += sum(r[cost_i] for r in rows)
        part.unpriced_events += sum(r[idx["unpriced_events"]] for r in rows)
        first, last = rows[0][idx["day"]], rows[-1][idx["day"]]
    first_day, last_day = ((EPOCH_DATE + timedelta(days=d)).isoformat() for d in (first, last))
    part.first_day = first_day if part.first_day is None else min(part.first_day, first_day)
    part.last_day = last_day if part.last_day is None else max(part.last_day, last_day)


class _Partitions:
    """The month partitions of one table being written: one writer open at a time, closed on the next month
    and on leaving the `with` (also on an error, so no file handle outlives the run)."""

    def __init__(self, table: str, fmt: str, staging: Path):
        self.table, self.fmt, self.staging = table, fmt, staging
        self.part_cls = _ParquetPart if fmt == "parquet" else _CsvPart
        self.parts: list[PartitionRow] = []
        self.writer: Any = None

    def open(self, month_key: str, columns: Any) -> PartitionRow:
        """Close the open partition and start `month_key`'s (YYYY-MM) with these columns."""
        self.close()
        rel = f"{self.table}/month={month_key}/part-0.{self.fmt}"
        (self.staging / rel).parent.mkdir(parents=True, exist_ok=True)
        self.writer = self.part_cls(self.staging / rel, columns)
        self.parts.append(PartitionRow(self.table, month_key, rel))
        return self.parts[-1]

    def close(self) -> None:
        writer, self.writer = self.writer, None
        if writer is not None:
            writer.close()

    def __enter__(self) -> _Partitions:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _export_table(
    store: Store,
    table: str,
    fmt: str,
    staging: Path,
    start_ms: int | None,
    end_ms: int | None,
    dims: dict[str, dict[int, Any]],
) -> list[PartitionRow]:
    """Stream one table into month partitions under `staging`; chunks arrive month by month (see `Events.export_rows`)."""
    names, chunks = store.events.export_rows(table, start_ms=start_ms, end_ms=end_ms, chunk_rows=CHUNK_ROWS)
    time_i = names.index("ts" if table == "events" else "day")
    unit = DAY_MS if table == "events" else 1  # time column units per day
    month_end = None  # in the time column's units: where the open partition stops
    with _Partitions(table, fmt, staging) as out:
        for rows in chunks:
            while rows:
                if out.writer is None or rows[0][time_i] >= month_end:
                    month = _month_of_day(rows[0][time_i] // unit)
                    month_end = (_next_month(month) - EPOCH_DATE).days * unit
                    out.open(f"{month:%Y-%m}", COLUMNS[table])
                cut = bisect_left(rows, month_end, key=lambda r: r[time_i])
                head, rows = rows[:cut], rows[cut:]
                if head:
                    out.writer.write(_columns_of(table, names, head, dims))
                    _account(out.parts[-1], table, names, head)
    return out.parts


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _export_focus_table(
    store: Store,
    table: str,
    fmt: str,
    staging: Path,
    start_ms: int | None,
    end_ms: int | None,
    dims: dict[str, dict[int, Any]],
) -> list[PartitionRow]:
    """Stream one FOCUS table (`warehouse.focus.chunks`, month by month) into month partitions under `staging`."""
    from margindash_cli.export import focus  # lazy: start-up

    with _Partitions(table, fmt, staging) as out:
        for month, cols, acct in focus.chunks(
            store, table, start_ms=start_ms, end_ms=end_ms, dims=dims, chunk_rows=CHUNK_ROWS
        ):
            key = f"{month:%Y-%m}"
            if not out.parts or out.parts[-1].month != key:
                out.open(key, focus.COLUMNS[table])
            out.writer.write(cols)
            p = out.parts[-1]
            for name in (
                "rows",
                "events",
                "cost_pico",
                "unpriced_events",
                "input_tokens",
                "output_tokens",
                "revenue_usd_cents",
            ):
                setattr(p, name, getattr(p, name) + acct[name])
            p.first_day = acct["first_day"] if p.first_day is None else min(p.first_day, acct["first_day"])
            p.last_day = acct["last_day"] if p.last_day is None else max(p.last_day, acct["last_day"])
    return out.parts


def _read_manifest(outdir: Path, fmt: str, schema: str = "margindash") -> dict[str, Any] | None:
    """The manifest of an earlier export into OUTDIR, or None for a new or empty folder. Refuses a folder that
    holds other files, or an export in the other format or of another schema version."""
    if outdir.exists() and not outdir.is_dir():
        raise UsageError(f"{outdir} is a file, not a folder", "pass a folder to export into (it is created if missing)")
    path = outdir / MANIFEST
    if not path.exists():
        others = [p.name for p in outdir.iterdir() if not p.name.startswith(".export-")] if outdir.exists() else []
        if others:
            raise MarginDashError(
                f"{outdir} is not empty and holds no margindash export ({MANIFEST} is missing)",
                "export into a new or empty folder",
            )
        return None
    try:
        manifest = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise MarginDashError(f"cannot read {path}: {exc}", "export into a new folder, or delete this one") from None
    if not isinstance(manifest, dict):
        raise MarginDashError(f"{path} is damaged: not a JSON object", "export into a new folder, or delete this one")
    if manifest.get("schema_version") != SCHEMA_VERSION:
        raise MarginDashError(
            f"{outdir} holds an export of schema version {manifest.get('schema_version')},"
            f" this margindash writes {SCHEMA_VERSION}",
            "export into a new folder",
        )
    if manifest.get("format") != fmt:
        raise MarginDashError(f"{outdir} holds a {manifest.get('format')} export", f"export {fmt} into another folder")
    if manifest.get("schema", "margindash") != schema:
        raise MarginDashError(
            f"{outdir} holds an export of --schema {manifest.get('schema', 'margindash')}",
            f"export --schema {schema} into another folder",
        )
    return manifest


_MONTH = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")
_PARTITION_INTS = ("rows", "events", "unpriced_events", "input_tokens", "output_tokens", "revenue_usd_cents")


def _validated_partitions(
    manifest: dict[str, Any], outdir: Path, fmt: str, schema: str = "margindash"
) -> dict[str, list[dict[str, Any]]]:
    """The partitions of an earlier run's manifest, each checked: a known table, a real month, exactly the path this
    version writes for them (so a run never removes or replaces a file outside OUTDIR's own partitions), counts
    that are integers and a cost that is a decimal. Refuses a manifest that fails any check."""

    def bad(where: str, why: str) -> MarginDashError:
        return MarginDashError(
            f"{outdir / MANIFEST} is damaged: {where}: {why}",
            "export into a new folder, or delete this one (nothing was written)",
        )

    tables = manifest.get("tables", {})
    if not isinstance(tables, dict):
        raise bad("tables", "not an object")
    out: dict[str, list[dict[str, Any]]] = {}
    for table in tables_of(schema):
        entry = tables.get(table, {})
        parts = entry.get("partitions", []) if isinstance(entry, dict) else None
        if not isinstance(parts, list):
            raise bad(f"tables.{table}.partitions", "not a list")
        for i, d in enumerate(parts):
            where = f"tables.{table}.partitions[{i}]"
            if not isinstance(d, dict):
                raise bad(where, "not an object")
            month = d.get("month")
            if type(month) is not str or not _MONTH.fullmatch(month):
                raise bad(where + ".month", f"not a month YYYY-MM: {str(month)[:40]!r}")
            expected = f"{table}/month={month}/part-0.{fmt}"
            if d.get("path") != expected or d.get("table") != table:
                raise bad(where + ".path", f"{str(d.get('path'))[:80]!r} is not this partition's file ({expected})")
            for name in _PARTITION_INTS:
                if type(d.get(name, 0)) is not int or d.get(name, 0) < 0:
                    raise bad(f"{where}.{name}", "not a count")
            cost = d.get("cost_usd")
            if type(cost) is not str or not re.fullmatch(r"-?[0-9]{1,30}(\.[0-9]{1,12})?", cost):
                raise bad(where + ".cost_usd", "not a decimal amount")
            for name in ("first_day", "last_day"):
                day = d.get(name)
                if day is not None and (type(day) is not str or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", day)):
                    raise bad(f"{where}.{name}", "not a day YYYY-MM-DD")
            sha = d.get("sha256")
            if sha is not None and (type(sha) is not str or not re.fullmatch(r"[0-9a-f]{64}", sha)):
                raise bad(where + ".sha256", "not a SHA-256 hex digest")
            changed_at = d.get("changed_at")
            if changed_at is not None and (type(changed_at) is not str or _parse_time(changed_at) is None):
                raise bad(where + ".changed_at", "not a UTC time")
            unknown = set(d) - {
                "table",
                "month",
                "path",
                "cost_usd",
                "first_day",
                "last_day",
                "sha256",
                "changed_at",
                *_PARTITION_INTS,
            }
            if unknown:
                raise bad(where, f"unknown field {sorted(unknown)[0][:40]!r}")
        out[table] = parts
    # and every path, resolved, lies inside OUTDIR (a symlinked partition folder pointing out of it included)
    root = outdir.resolve()
    for table, parts in out.items():
        for d in parts:
            target = (outdir / d["path"]).resolve()
            if root not in target.parents:
                raise bad(f"tables.{table}", f"{d['path']} resolves outside {outdir}")
    return out


def _clean_stale_staging(outdir: Path) -> None:
    """Remove the staging folders of earlier runs that were killed (`.export-*` whose run holds no lock on it)."""
    if not outdir.is_dir():
        return
    for entry in outdir.iterdir():
        if not entry.name.startswith(".export-") or entry.is_symlink() or not entry.is_dir():
            continue
        try:
            with open(entry / ".lock", "a+") as fh:
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # a run in progress
                shutil.rmtree(entry, ignore_errors=True)
        except OSError:
            shutil.rmtree(entry, ignore_errors=True)


def _overlaps(month: str, start_day: int | None, end_day: int | None) -> bool:
    first = date.fromisoformat(month + "-01")
    lo, hi = _day_number(first), _day_number(_next_month(first))
    return (start_day is None or hi > start_day) and (end_day is None or lo < end_day)


def _parse_time(text: str) -> datetime | None:
    """A UTC instant from ISO 8601 text (`Z` or an offset; a naive time or a bare day is UTC); None if it is not one."""
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def _partition_from_json(d: dict[str, Any], generated_at: str | None = None) -> PartitionRow:
    """A partition as an earlier run's manifest describes it (`generated_at`: that run's, for a partition written
    before manifests kept `changed_at`)."""
    d = dict(d)
    d.setdefault("changed_at", generated_at)
    with localcontext() as ctx:
        ctx.prec = 100  # exact for any sum a manifest can hold
        d["cost_pico"] = int(Decimal(d.pop("cost_usd")).scaleb(12))
    return PartitionRow(**d, changed=False)


def _manifest(result: ExportResult, parts: list[PartitionRow]) -> dict[str, Any]:
    tables = {}
    for table in tables_of(result.schema):
        mine = sorted((p for p in parts if p.table == table), key=lambda p: p.month)
        tables[table] = {
            "columns": [
                {
                    "name": name,
                    "type": KIND_TYPES[kind][0 if result.format == "parquet" else 1],
                    "unit": unit,
                    "description": meaning,
                }
                for name, kind, unit, meaning in columns_of(result.schema, table)
            ],
            "totals": _sum_parts(mine),
            "partitions": [p.manifest_json() for p in mine],
        }
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_at": result.generated_at,
        "margindash_version": __version__,
        "format": result.format,
        "schema": result.schema,
        **({"focus_version": "1.2"} if result.schema == "focus" else {}),
        "compression": PARQUET_COMPRESSION if result.format == "parquet" else None,
        "partitioning": "hive: <table>/month=YYYY-MM (UTC month)",
        "last_run": {"since": result.since, "until": result.until},
        "tables": tables,
    }


def export_store(
    store: Store,
    outdir: Path,
    *,
    fmt: str | None,
    since: str | None = None,
    until: str | None = None,
    now: datetime | None = None,
    schema: str = "margindash",
    changed_since: str | None = None,
) -> ExportResult:
    """Write the store's events and daily rollups in [since, until] (UTC days or months, inclusive) into OUTDIR
    (`schema` focus: the FOCUS 1.2 tables of `warehouse.focus` instead). `fmt` None: `default_format`."""
    note = None
    if fmt is None:
        fmt, note = default_format(outdir)
    if fmt not in FORMATS:
        raise UsageError(f"unknown --format {fmt!r}", "use parquet or csv")
    if schema not in SCHEMAS:
        raise UsageError(f"unknown --schema {schema!r}", "use margindash (the default) or focus")
    if fmt == "parquet":
        _import_pyarrow()
    cutoff = None if changed_since is None else _parse_time(changed_since)
    if changed_since is not None and cutoff is None:
        raise UsageError(
            f"--changed-since {changed_since!r} is not a time",
            "use ISO 8601 UTC, e.g. 2026-10-01T06:00:00Z (a manifest's generated_at)",
        )
    start, end = parse_bound(since, "--since", end=False), parse_bound(until, "--until", end=True)
    if start is not None and end is not None and end <= start:
        raise UsageError("--until is before --since")
    start_day, end_day = _day_number(start), _day_number(end)
    start_ms = None if start_day is None else start_day * DAY_MS
    end_ms = None if end_day is None else end_day * DAY_MS
    old = _read_manifest(outdir, fmt, schema)
    old_parts = _validated_partitions(old, outdir, fmt, schema) if old else {}
    generated_at = (now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    result = ExportResult(str(outdir), fmt, since, until, generated_at, schema, note=note)
    try:
        outdir.mkdir(parents=True, exist_ok=True)
        _clean_stale_staging(outdir)
        staging = Path(tempfile.mkdtemp(prefix=".export-", dir=outdir))
        staging_lock = open(staging / ".lock", "a+")  # held while this run lives: a later run leaves it alone
        fcntl.flock(staging_lock, fcntl.LOCK_EX)
    except OSError as exc:
        raise MarginDashError(f"cannot create {outdir}: {exc.strerror}", "pass a folder you can write to") from None
    try:
        with store.read_snapshot():
            dims = store.events.dimension_names()
            for table in tables_of(schema):
                if schema == "focus":
                    result.written.extend(_export_focus_table(store, table, fmt, staging, start_ms, end_ms, dims))
                else:
                    result.written.extend(_export_table(store, table, fmt, staging, start_ms, end_ms, dims))
        before = {(t, d["month"]): d for t, parts in old_parts.items() for d in parts}
        for p in result.written:  # a partition whose bytes are those of the file in place is left alone
            p.sha256 = _sha256(staging / p.path)
            old_d = before.get((p.table, p.month))
            same = old_d is not None and old_d.get("sha256") == p.sha256 and (outdir / p.path).is_file()
            p.changed = not same
            p.changed_at = (old_d.get("changed_at") or old.get("generated_at")) if same and old else generated_at
        written = {(p.table, p.month) for p in result.written}
        kept, stale = [], []
        for table in tables_of(schema):
            for d in old_parts.get(table, []):
                if (table, d["month"]) in written:
                    continue
                (stale if _overlaps(d["month"], start_day, end_day) else kept).append(
                    _partition_from_json(d, old.get("generated_at") if old else None)
                )
        manifest = _manifest(result, kept + result.written)
        (staging / MANIFEST).write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2) + b"\n")
        # Commit: every file is whole already; renames put them in place, the manifest last.
        for p in result.written:
            if not p.changed:
                continue
            (outdir / p.path).parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / p.path, outdir / p.path)
        for p in stale:  # a month in the range that has no rows now: its old file would be wrong
            (outdir / p.path).unlink(missing_ok=True)
            folder = (outdir / p.path).parent
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
            result.removed.append(p.path)
        os.replace(staging / MANIFEST, outdir / MANIFEST)
    except OSError as exc:
        raise MarginDashError(
            f"cannot write the export into {outdir}: {exc}",
            "check free space and permissions; OUTDIR was left as it was",
        ) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        staging_lock.close()
    result.manifest = str(outdir / MANIFEST)
    if cutoff is not None:
        result.changed_since = changed_since
        result.changed = sorted(
            (p for p in kept + result.written if p.changed_at and _parse_time(p.changed_at) >= cutoff),
            key=lambda p: (p.table, p.month),
        )
    return result
