"""`margindash export`: month-partitioned Parquet and CSV that round-trip to the store's own numbers."""

from __future__ import annotations

import csv
import json
import sqlite3
import sys
from collections import Counter, defaultdict
from decimal import Decimal

import pytest
from conftest import logged_line

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

from margindash_cli.core.money import usd_text  # noqa: E402
from margindash_cli.export import run as export_core  # noqa: E402

MONTHS = ["2026-09", "2026-10", "2026-11"]


def app_log_events():
    """An app's usage log over three months: priced calls on three models, an unpriced model, a call with no
    customer, revenue, tags with commas and quotes, a non-token charge, a batch call, and calls on the last
    millisecond of a month and the first of the next."""
    out = []
    for i in range(60):
        month = 9 + i % 3
        day = 1 + (i * 7) % 28
        out.append(
            {
                "timestamp": f"2026-{month:02d}-{day:02d}T{i % 24:02d}:{i % 60:02d}:07Z",
                "request_id": f"req-{i:03d}",
                "customer_id": ["acme", "globex", "initech"][i % 3],
                "event_type": ["chat", "summarize"][i % 2],
                "vendor": "openai",
                "model": "gpt-4o-mini",
                "input_tokens": 1000 + 37 * i,
                "cached_input_tokens": 512 if i % 4 == 0 else 0,
                "output_tokens": 50 + i,
            }
        )
    out += [
        {
            "timestamp": "2026-09-30T23:59:59.999Z",
            "request_id": "edge-sep",
            "customer_id": "acme",
            "event_type": "chat",
            "vendor": "anthropic",
            "model": "claude-3-5-haiku-20241022",
            "input_tokens": 5000,
            "cached_input_tokens": 4000,
            "output_tokens": 300,
        },
        {
            "timestamp": "2026-10-01T00:00:00Z",
            "request_id": "edge-oct",
            "customer_id": "acme",
            "event_type": "chat",
            "vendor": "openai",
            "model": "gpt-4o-2024-08-06",
            "input_tokens": 5200,
            "cached_input_tokens": 4096,
            "output_tokens": 310,
            "revenue_amount_in_cents": 500,
            "currency": "usd",
            "tags": {"team": 'a,b "q"'},
            "segment": "enterprise",
            "service_tier": "batch",
            "cost_usd": "0.0042",
        },
        {
            "timestamp": "2026-10-10T12:00:00Z",
            "request_id": "unpriced-1",
            "customer_id": "globex",
            "event_type": "agent",
            "vendor": "acme-labs",
            "model": "house-model-7",
            "input_tokens": 700,
            "output_tokens": 70,
        },
        {
            "timestamp": "2026-11-02T08:00:00Z",
            "event_type": "chat",
            "vendor": "openai",
            "model": "gpt-4o-mini",
            "input_tokens": 10,
            "output_tokens": 1,
        },
    ]
    return out


@pytest.fixture
def store_events(tmp_path, cli):
    """Ingest the log; return the store's own view of every event (`events --json --limit 0`)."""
    log = tmp_path / "ai-usage.jsonl"
    log.write_text("".join(json.dumps(e) + "\n" for e in app_log_events()))
    assert cli("ingest", log).exit_code == 0
    records = json.loads(cli("events", "--json", "--limit", "0").stdout)
    assert len(records) == 64
    return records


def report_totals(cli, *args):
    return json.loads(cli("report", "--json", *args).stdout)["totals"]


def dec(text):
    return Decimal(0) if text in (None, "") else Decimal(text)


def parquet_rows(outdir, table):
    """{month: [row dicts]} read from each partition file."""
    out = {}
    for part in sorted((outdir / table).iterdir()):
        files = list(part.iterdir())
        assert [f.name for f in files] == ["part-0.parquet"]
        out[part.name.removeprefix("month=")] = pq.read_table(files[0]).to_pylist()
    return out


def csv_rows(outdir, table):
    out = {}
    for part in sorted((outdir / table).iterdir()):
        files = list(part.iterdir())
        assert [f.name for f in files] == ["part-0.csv"]
        with open(files[0], newline="", encoding="utf-8") as fh:
            out[part.name.removeprefix("month=")] = list(csv.DictReader(fh))
    return out


def request_id(row):
    """The request id of an exported call: read from the line of the log its source_file and source_line name."""
    return logged_line(row["source_file"], int(row["source_line"])).get("request_id")


def iso(value):
    """A Parquet timestamp read back, in the text `events --json` writes."""
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def as_store_record(row, fmt):
    """An exported event row in `events --json` terms, to compare field by field."""
    if fmt == "parquet":
        timestamp = iso(row["timestamp"])
        cost = None if row["cost_usd"] is None else usd_text(int(row["cost_usd"].scaleb(12)))
        number = lambda v: v  # noqa: E731
    else:
        timestamp = row["timestamp"]
        cost = row["cost_usd"] or None
        number = lambda v: None if v == "" else int(v)  # noqa: E731
    text = (lambda v: v) if fmt == "parquet" else (lambda v: v or None)
    return {
        "timestamp": timestamp,
        "customer_id": text(row["customer_id"]),
        "event_type": text(row["event_type"]),
        "vendor": row["vendor"],
        "model": row["model"],
        **{
            k: number(row[k])
            for k in (
                "input_tokens",
                "output_tokens",
                "cached_input_tokens",
                "cache_write_tokens",
                "cache_write_1h_tokens",
                "reasoning_tokens",
                "input_audio_tokens",
                "output_audio_tokens",
                "output_image_tokens",
                "cached_audio_tokens",
                "revenue_amount_in_cents",
            )
        },
        "service_tier": row["service_tier"],
        "currency": text(row["currency"]),
        "segment": text(row["segment"]),
        "units": json.loads(row["units"]) if row["units"] else None,
        "tags": json.loads(row["tags"]) if row["tags"] else None,
        "cost_usd": cost,
        "reported_cost_usd": text(row["reported_cost_usd"]),
        "source": {"file": row["source_file"], "line": number(row["source_line"])},
    }


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_export_round_trips_every_event_and_the_totals(fmt, tmp_path, cli, store_events, _isolated_home):
    out = tmp_path / "warehouse"
    result = cli("export", out, "--format", fmt)
    assert result.exit_code == 0, result.stderr

    events = parquet_rows(out, "events") if fmt == "parquet" else csv_rows(out, "events")
    assert list(events) == MONTHS
    # per partition: the store's events of that UTC month, field for field
    by_month = defaultdict(list)
    for r in store_events:
        by_month[r["timestamp"][:7]].append(r)
    key = lambda r: (r["source"]["line"], r["timestamp"])  # noqa: E731
    no_ids = lambda r: {k: v for k, v in r.items() if k not in ("request_id", "response_id")}  # noqa: E731 (not exported)
    for month in MONTHS:
        exported = sorted((as_store_record(r, fmt) for r in events[month]), key=key)
        assert exported == sorted((no_ids(r) for r in by_month[month]), key=key)
    # event_id is the store's own id of the call (what a warehouse merges on): unique, and each one is the
    # stored call with that file line; rows are in id (ingest) order within a partition
    with sqlite3.connect(_isolated_home / "margindash.db") as conn:
        line_of = dict(conn.execute("SELECT id, line FROM events"))
    ids = [int(r["event_id"]) for rows in events.values() for r in rows]
    assert sorted(ids) == sorted(line_of)
    for rows in events.values():
        assert all(line_of[int(r["event_id"])] == int(r["source_line"]) for r in rows)
        month_ids = [int(r["event_id"]) for r in rows]
        assert month_ids == sorted(month_ids)

    # sums: tokens and exact cost equal the report's totals; unpriced stays null, not 0
    totals = report_totals(cli)
    flat = [r for rows in events.values() for r in rows]
    assert len(flat) == totals["events"] == 64
    assert sum(int(r["input_tokens"]) for r in flat) == totals["input_tokens"]
    assert sum(int(r["output_tokens"]) for r in flat) == totals["output_tokens"]
    assert sum(dec(r["cost_usd"]) for r in flat) == Decimal(totals["cost_usd"])
    unpriced = [r for r in flat if r["cost_usd"] in (None, "")]
    assert [r["model"] for r in unpriced] == ["house-model-7"] and totals["unpriced_events"] == 1
    assert [r for r in flat if r["customer_id"] in (None, "")][0]["model"] == "gpt-4o-mini"

    # rollups: per month, the same calls, tokens and cost as the events
    rollups = parquet_rows(out, "rollup_daily") if fmt == "parquet" else csv_rows(out, "rollup_daily")
    assert list(rollups) == MONTHS
    for month in MONTHS:
        ev, ro = events[month], rollups[month]
        assert sum(int(r["events"]) for r in ro) == len(ev)
        assert sum(int(r["input_tokens"]) for r in ro) == sum(int(r["input_tokens"]) for r in ev)
        assert sum(int(r["cached_input_tokens"]) for r in ro) == sum(int(r["cached_input_tokens"]) for r in ev)
        assert sum(dec(r["cost_usd"]) for r in ro) == sum(dec(r["cost_usd"]) for r in ev)
        assert sum(int(r["unpriced_events"]) for r in ro) == sum(r["cost_usd"] in (None, "") for r in ev)
        assert {str(r["day"])[:7] for r in ro} == {month}
    assert sum(int(r["revenue_usd_cents"]) for rows in rollups.values() for r in rows) == 500


def test_parquet_types_are_exact_and_utc(tmp_path, cli, store_events):
    out = tmp_path / "w"
    cli("export", out)
    schema = pq.read_schema(out / "events/month=2026-10/part-0.parquet")
    assert schema.field("cost_usd").type == pa.decimal128(38, 12)
    assert schema.field("extra_cost_usd").type == pa.decimal128(38, 12)
    assert schema.field("timestamp").type == pa.timestamp("ms", tz="UTC")
    assert schema.field("day").type == pa.date32()
    assert schema.field("input_tokens").type == pa.int64()
    assert schema.field("cost_usd").metadata[b"unit"] == b"USD"
    no_float = [f.name for f in schema if pa.types.is_floating(f.type)]
    assert no_float == []
    rollup_schema = pq.read_schema(out / "rollup_daily/month=2026-10/part-0.parquet")
    assert rollup_schema.field("cost_usd").type == pa.decimal128(38, 12)
    assert [f.name for f in rollup_schema if pa.types.is_floating(f.type)] == []
    edge = [
        r for r in pq.read_table(out / "events/month=2026-10/part-0.parquet").to_pylist() if request_id(r) == "edge-oct"
    ][0]
    assert edge["extra_cost_usd"] == Decimal("0.0042") and edge["tags"] == json.dumps(
        {"team": 'a,b "q"'}, separators=(",", ":")
    )
    assert iso(edge["timestamp"]) == "2026-10-01T00:00:00.000Z" and str(edge["day"]) == "2026-10-01"
    sep = [
        r for r in pq.read_table(out / "events/month=2026-09/part-0.parquet").to_pylist() if request_id(r) == "edge-sep"
    ]
    assert len(sep) == 1 and iso(sep[0]["timestamp"]) == "2026-09-30T23:59:59.999Z"  # the month's last millisecond


def test_manifest_counts_and_sums_match_the_files(tmp_path, cli, store_events):
    out = tmp_path / "w"
    cli("export", out, "--format", "csv")
    manifest = json.loads((out / "_manifest.json").read_text())
    assert manifest["schema_version"] == 2 and manifest["format"] == "csv"
    names = [c["name"] for c in manifest["tables"]["events"]["columns"]]
    assert names[0] == "event_id" and "request_id" not in names and "event_key" not in names
    totals = report_totals(cli)
    for table in ("events", "rollup_daily"):
        info = manifest["tables"][table]
        assert info["totals"]["events"] == 64
        assert Decimal(info["totals"]["cost_usd"]) == Decimal(totals["cost_usd"])
        assert info["totals"]["input_tokens"] == totals["input_tokens"]
        rows = csv_rows(out, table)
        assert [p["month"] for p in info["partitions"]] == MONTHS
        for p in info["partitions"]:
            assert p["path"] == f"{table}/month={p['month']}/part-0.csv"
            assert p["rows"] == len(rows[p["month"]])
            assert Decimal(p["cost_usd"]) == sum(dec(r["cost_usd"]) for r in rows[p["month"]])
        cost = [c for c in info["columns"] if c["name"] == "cost_usd"][0]
        assert cost["unit"] == "USD" and cost["type"] == "exact decimal string"
        with open(out / info["partitions"][0]["path"], newline="") as fh:
            assert next(csv.reader(fh)) == [c["name"] for c in info["columns"]]
    assert manifest["tables"]["events"]["totals"]["unpriced_events"] == 1


def test_since_and_until_take_months_or_days(tmp_path, cli, store_events):
    out = tmp_path / "oct"
    assert cli("export", out, "--since", "2026-10", "--until", "2026-10").exit_code == 0
    assert sorted(p.name for p in (out / "events").iterdir()) == ["month=2026-10"]
    oct_events = [r for r in store_events if r["timestamp"].startswith("2026-10")]
    assert pq.read_table(out / "events").num_rows == len(oct_events)  # pyarrow reads the Hive folders too

    days = tmp_path / "days"
    result = cli("export", days, "--format", "csv", "--since", "2026-10-15", "--until", "2026-11-08", "--json")
    payload = json.loads(result.stdout)
    rows = [r for rows in csv_rows(days, "events").values() for r in rows]
    expected = [r for r in store_events if "2026-10-15" <= r["timestamp"][:10] <= "2026-11-08"]
    assert sorted(r["timestamp"] for r in rows) == sorted(r["timestamp"] for r in expected)
    assert payload["totals"]["events"]["rows"] == len(expected)
    rollup_days = {r["day"] for rows in csv_rows(days, "rollup_daily").values() for r in rows}
    assert min(rollup_days) >= "2026-10-15" and max(rollup_days) <= "2026-11-08"
    span = report_totals(cli, "--since", "2026-10-15", "--until", "2026-11-08")
    assert payload["totals"]["rollup_daily"]["events"] == span["events"]
    assert Decimal(payload["totals"]["events"]["cost_usd"]) == Decimal(span["cost_usd"])

    bad = cli("export", tmp_path / "bad", "--since", "October")
    assert bad.exit_code == 2 and "YYYY-MM" in bad.stderr
    backwards = cli("export", tmp_path / "bad", "--since", "2026-11", "--until", "2026-10")
    assert backwards.exit_code == 2


def test_rerun_replaces_the_months_it_touches_and_keeps_the_others(tmp_path, cli, store_events):
    out = tmp_path / "w"
    cli("export", out)
    before = {p: p.read_bytes() for p in out.rglob("*.parquet")}
    sep = out / "events/month=2026-09/part-0.parquet"
    assert cli("export", out, "--since", "2026-10-15").exit_code == 0
    assert sep.read_bytes() == before[sep]  # untouched
    oct_rows = pq.read_table(out / "events/month=2026-10/part-0.parquet").to_pylist()
    assert oct_rows and min(r["timestamp"].date().isoformat() for r in oct_rows) >= "2026-10-15"
    manifest = json.loads((out / "_manifest.json").read_text())
    parts = {p["month"]: p for p in manifest["tables"]["events"]["partitions"]}
    assert (
        list(parts) == MONTHS
        and parts["2026-10"]["rows"] == len(oct_rows)
        and parts["2026-10"]["first_day"] >= "2026-10-15"
    )
    assert manifest["tables"]["events"]["totals"]["rows"] == sum(p["rows"] for p in parts.values())
    assert manifest["last_run"] == {"since": "2026-10-15", "until": None}
    # a full re-run restores the whole month; nothing temporary is left behind
    cli("export", out)
    assert pq.read_table(out / "events/month=2026-10/part-0.parquet").num_rows == 22
    assert sorted(p.name for p in out.iterdir()) == ["_manifest.json", "events", "rollup_daily"]


def test_a_month_with_no_rows_left_in_the_range_is_removed(tmp_path, cli, store_events):
    out = tmp_path / "w"
    cli("export", out, "--format", "csv")
    other = tmp_path / "other.jsonl"  # a store with October only, exported over the same folder
    other.write_text(json.dumps(app_log_events()[1] | {"request_id": "x"}) + "\n")
    db = tmp_path / "other.db"
    cli("--db", db, "ingest", other)
    result = cli("--db", db, "export", out, "--format", "csv", "--json")
    assert sorted(json.loads(result.stdout)["removed"]) == [
        f"{t}/month={m}/part-0.csv" for t in ("events", "rollup_daily") for m in ("2026-09", "2026-11")
    ]
    assert sorted(p.name for p in (out / "events").iterdir()) == ["month=2026-10"]
    manifest = json.loads((out / "_manifest.json").read_text())
    assert manifest["tables"]["events"]["totals"]["rows"] == 1


def test_a_failed_export_leaves_the_folder_as_it_was(tmp_path, cli, store_events, monkeypatch):
    out = tmp_path / "w"
    cli("export", out, "--format", "csv")
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    calls = []

    def failing_write(self, cols):
        calls.append(1)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        return original(self, cols)

    original = export_core._CsvPart.write
    monkeypatch.setattr(export_core._CsvPart, "write", failing_write)
    result = cli("export", out, "--format", "csv")
    assert result.exit_code == 1
    assert "No space left on device" in result.stderr and "hint:" in result.stderr
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in out.iterdir()) == ["_manifest.json", "events", "rollup_daily"]


def test_small_chunks_and_row_groups_give_the_same_files(tmp_path, cli, store_events, monkeypatch):
    """Memory stays flat because rows stream in chunks and row groups; a month boundary inside a chunk splits it."""
    cli("export", tmp_path / "big-chunks")
    monkeypatch.setattr(export_core, "CHUNK_ROWS", 5)
    monkeypatch.setattr(export_core, "ROW_GROUP_ROWS", 8)
    cli("export", tmp_path / "small-chunks")
    for table in ("events", "rollup_daily"):
        assert parquet_rows(tmp_path / "small-chunks", table) == parquet_rows(tmp_path / "big-chunks", table)
    meta = pq.ParquetFile(tmp_path / "small-chunks/events/month=2026-10/part-0.parquet").metadata
    assert meta.num_row_groups == 3 and meta.num_rows == 22


def test_refuses_other_formats_and_folders_it_did_not_write(tmp_path, cli, store_events):
    out = tmp_path / "w"
    cli("export", out)
    mixed = cli("export", out, "--format", "csv")
    assert mixed.exit_code == 1 and "holds a parquet export" in mixed.stderr
    busy = tmp_path / "photos"
    busy.mkdir()
    (busy / "cat.jpg").write_bytes(b"\xff\xd8")
    refused = cli("export", busy)
    assert refused.exit_code == 1 and "not empty" in refused.stderr
    assert sorted(p.name for p in busy.iterdir()) == ["cat.jpg"]
    unknown = cli("export", tmp_path / "x", "--format", "xlsx")
    assert unknown.exit_code == 2 and "parquet or csv" in unknown.stderr
    assert cli("export", tmp_path / "x", "--format", "CSV").exit_code == 0


def test_no_store_and_an_empty_range(tmp_path, cli):
    result = cli("export", tmp_path / "w")
    assert result.exit_code == 1 and "no store" in result.stderr
    log = tmp_path / "one.jsonl"
    log.write_text(json.dumps(app_log_events()[0]) + "\n")
    cli("ingest", log)
    empty = cli("export", tmp_path / "w", "--since", "2030-01")
    assert empty.exit_code == 0 and "nothing written" in empty.stdout
    manifest = json.loads((tmp_path / "w/_manifest.json").read_text())
    assert manifest["tables"]["events"]["totals"]["rows"] == 0


def test_parquet_without_pyarrow_says_how_to_install_it(tmp_path, cli, store_events, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow now raises ImportError
    result = cli("export", tmp_path / "w", "--format", "parquet")  # asked for: no CSV fallback
    assert result.exit_code == 1
    assert "needs pyarrow" in result.stderr and "pip install 'margindash[parquet]'" in result.stderr
    assert not (tmp_path / "w").exists()


def test_cost_text_is_money_usd_text_and_exact_at_any_size():
    from hypothesis import given
    from hypothesis import strategies as st

    @given(st.integers(min_value=-(10**24), max_value=10**24))  # beyond 28 digits Decimal's context rounds usd_text
    def check(pico):
        assert export_core.usd_exact(pico) == usd_text(pico)

    check()
    assert export_core.usd_exact(None) is None
    assert export_core.usd_exact(10**30 + 7) == "1000000000000000000.000000000007"


def test_duckdb_reads_the_export_as_is(tmp_path, cli, store_events):
    duckdb = pytest.importorskip("duckdb")  # a benchmark dependency: checked when installed
    out, out_csv = tmp_path / "p", tmp_path / "c"
    cli("export", out)
    cli("export", out_csv, "--format", "csv")
    totals = report_totals(cli)
    con = duckdb.connect()
    ev = f"read_parquet('{out}/events/*/*.parquet', hive_partitioning = true)"
    n, cost, unpriced, months = con.execute(
        f"SELECT count(*), sum(cost_usd), count(*) FILTER (WHERE cost_usd IS NULL), list(DISTINCT month ORDER BY month) FROM {ev}"
    ).fetchone()
    assert (n, cost, unpriced, months) == (64, Decimal(totals["cost_usd"]), 1, MONTHS)
    rollup = f"read_parquet('{out}/rollup_daily/*/*.parquet', hive_partitioning = true)"
    assert con.execute(f"SELECT sum(events), sum(cost_usd) FROM {rollup}").fetchone() == (
        64,
        Decimal(totals["cost_usd"]),
    )
    kind, first = con.execute(f"SELECT typeof(min(timestamp)), epoch_ms(min(timestamp)) FROM {ev}").fetchone()
    assert kind == "TIMESTAMP WITH TIME ZONE" and first == 1_788_220_807_000  # 2026-09-01T00:00:07Z
    csv_cost = con.execute(
        f"SELECT sum(cost_usd) FROM read_csv('{out_csv}/events/*/*.csv', hive_partitioning = true,"
        " types = {'cost_usd': 'DECIMAL(38, 12)'})"
    ).fetchone()[0]
    assert csv_cost == Decimal(totals["cost_usd"])
    by_month = dict(con.execute(f"SELECT month, count(*) FROM {ev} GROUP BY month").fetchall())
    assert by_month == Counter(r["timestamp"][:7] for r in store_events)


def test_a_killed_exports_staging_folder_is_removed_by_the_next_run(tmp_path, cli, store_events):
    """#22: 25 killed exports left 223 MB of `.export-*` folders for good. A stale one (no run holds its lock) goes on
    the next run; one a live run holds stays."""
    import fcntl

    out = tmp_path / "w"
    cli("export", out, "--format", "csv")
    stale = out / ".export-killed"
    (stale / "events/month=2026-10").mkdir(parents=True)
    (stale / "events/month=2026-10/part-0.csv").write_text("x" * 1000)
    live = out / ".export-live"
    live.mkdir()
    with open(live / ".lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        assert cli("export", out, "--format", "csv").exit_code == 0
        assert not stale.exists() and live.exists()
    assert cli("export", out, "--format", "csv").exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == ["_manifest.json", "events", "rollup_daily"]


@pytest.mark.parametrize(
    "change, why",
    [
        (lambda p: p.update(path="../victim.txt"), "is not this partition's file"),
        (lambda p: p.update(path="/tmp/victim.txt"), "is not this partition's file"),
        (lambda p: p.update(month="2026-13"), "not a month YYYY-MM"),
        (lambda p: p.update(month=None), "not a month YYYY-MM"),
        (lambda p: p.update(rows="many"), "not a count"),
        (lambda p: p.update(cost_usd="1e30"), "not a decimal amount"),
    ],
)
def test_export_validates_its_manifest_and_never_touches_a_file_outside_outdir(
    tmp_path, cli, store_events, change, why
):
    out = tmp_path / "w"
    cli("export", out, "--format", "csv")
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    manifest_path = out / "_manifest.json"
    manifest = json.loads(manifest_path.read_text())
    # a partition outside the range exported next, so the old code would remove it as stale
    part = next(p for p in manifest["tables"]["events"]["partitions"] if p["month"] == "2026-09")
    change(part)
    manifest_path.write_text(json.dumps(manifest))
    before = manifest_path.read_bytes()
    result = cli("export", out, "--format", "csv", "--since", "2026-09", "--until", "2026-09")
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert "_manifest.json is damaged" in result.stderr and why in result.stderr
    assert victim.read_text() == "keep me" and manifest_path.read_bytes() == before


def test_export_refuses_a_manifest_that_is_not_an_object_and_a_symlinked_partition(tmp_path, cli, store_events):
    out = tmp_path / "w"
    cli("export", out, "--format", "csv")
    (out / "_manifest.json").write_text("[1, 2]")
    result = cli("export", out, "--format", "csv")
    assert result.exit_code == 1 and "not a JSON object" in result.stderr
    out2 = tmp_path / "w2"
    cli("export", out2, "--format", "csv")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "part-0.csv").write_text("keep me")
    import shutil

    shutil.rmtree(out2 / "events/month=2026-09")
    (out2 / "events/month=2026-09").symlink_to(elsewhere)
    result = cli("export", out2, "--format", "csv", "--since", "2026-10")
    assert result.exit_code == 1 and "resolves outside" in result.stderr
    assert (elsewhere / "part-0.csv").read_text() == "keep me"
