"""Ingest of canonical events: dedupe, incremental reads, rotation, partial lines, gzip, stdin, --map, bad input."""

from __future__ import annotations

import gzip
import json
import sqlite3

import pytest
from invariants import rollup_mismatches

from margindash_cli.ingest.pipeline import ingest_paths
from margindash_cli.store.db import Store


def ev(i, **kw):
    base = {
        "timestamp": f"2026-10-01T10:{i // 60 % 60:02d}:{i % 60:02d}Z",
        "request_id": f"req-{i}",
        "customer_id": "acme",
        "event_type": "chat",
        "vendor": "openai",
        "model": "gpt-4o-mini",
        "input_tokens": 100 + i,
        "output_tokens": 10,
    }
    base.update(kw)
    return base


def write_lines(path, events, *, mode="w"):
    with open(path, mode) as fh:
        for e in events:
            fh.write((e if isinstance(e, str) else json.dumps(e)) + "\n")


def run_ingest(store, paths, tmp_path, **kw):
    return ingest_paths(store, [str(p) for p in paths], quarantine_path=tmp_path / "q.jsonl", **kw)


def totals(store):
    return store.conn.execute("SELECT count(*), coalesce(sum(input_tokens), 0) FROM events").fetchone()


def rollups_equal_events(store):
    a = store.conn.execute(
        "SELECT ts / 86400000, customer, feature, model, segment, count(*), sum(input_tokens), sum(output_tokens)"
        " FROM events GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5"
    ).fetchall()
    b = store.conn.execute(
        "SELECT day, customer, feature, model, segment, events, input_tokens, output_tokens FROM rollup_daily"
        " ORDER BY 1, 2, 3, 4, 5"
    ).fetchall()
    return a == b and rollup_mismatches(store.conn) == []  # and the per-customer rollup (all measures, in plain SQL)


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "t.db") as s:
        yield s


def test_canonical_events_are_stored_with_their_token_vector(store, tmp_path):
    log = tmp_path / "a.jsonl"
    write_lines(
        log, [ev(1, cached_input_tokens=64, reasoning_tokens=4, cache_write_tokens=10, cache_write_1h_tokens=3)]
    )
    r = run_ingest(store, [log], tmp_path)
    assert (r.lines_read, r.events_stored, r.duplicates, r.rejected) == (1, 1, 0, 0)
    row = next(store.events.list_events())
    assert (
        row["input_tokens"],
        row["cached_input_tokens"],
        row["cache_write_tokens"],
        row["cache_write_1h_tokens"],
        row["output_tokens"],
        row["reasoning_tokens"],
    ) == (101, 64, 10, 3, 10, 4)
    assert row["customer_id"] == "acme" and row["event_type"] == "chat" and row["model_name"] == "gpt-4o-mini"
    assert row["ts"] == 1790848801000  # 2026-10-01T10:00:01Z


def test_rerun_and_overlapping_files_never_double_count(store, tmp_path):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    write_lines(a, [ev(i) for i in range(10)])
    write_lines(b, [ev(i) for i in range(5, 15)])
    run_ingest(store, [a], tmp_path)
    r = run_ingest(store, [a, b], tmp_path)
    assert r.events_stored == 5 and r.duplicates == 5
    assert totals(store) == (15, sum(100 + i for i in range(15)))
    assert rollups_equal_events(store)


def test_events_without_ids_are_keyed_by_source_line_and_still_deduped(store, tmp_path):
    log = tmp_path / "a.jsonl"
    lines = [{k: v for k, v in ev(i).items() if k != "request_id"} for i in range(3)]
    lines.append(lines[0])  # the same content on another line is another call
    write_lines(log, lines)
    assert run_ingest(store, [log], tmp_path).events_stored == 4
    store.conn.execute("DELETE FROM sources")  # forget the checkpoint: a full re-read must still add nothing
    r = run_ingest(store, [log], tmp_path)
    assert (r.events_stored, r.duplicates) == (0, 4)
    assert totals(store)[0] == 4


def test_incremental_reads_only_new_bytes_of_an_appended_file(store, tmp_path):
    log = tmp_path / "a.jsonl"
    write_lines(log, [ev(i) for i in range(3)])
    assert run_ingest(store, [log], tmp_path).events_stored == 3
    r = run_ingest(store, [log], tmp_path)
    assert r.files[0].skipped and r.lines_read == 0
    write_lines(log, [ev(i) for i in range(3, 5)], mode="a")
    r = run_ingest(store, [log], tmp_path)
    assert (r.lines_read, r.events_stored, r.duplicates) == (2, 2, 0)
    assert totals(store)[0] == 5


def test_partial_last_line_is_left_for_the_next_run(store, tmp_path):
    log = tmp_path / "a.jsonl"
    write_lines(log, [ev(1)])
    with open(log, "a") as fh:
        fh.write(json.dumps(ev(2))[:40])  # the writer is mid-line
    r = run_ingest(store, [log], tmp_path)
    assert (r.events_stored, r.rejected) == (1, 0) and r.files[0].partial_line_bytes == 40
    with open(log, "a") as fh:
        fh.write(json.dumps(ev(2))[40:] + "\n")
    r = run_ingest(store, [log], tmp_path)
    assert (r.lines_read, r.events_stored, r.rejected) == (1, 1, 0)


def test_complete_last_line_without_newline_is_stored_once(store, tmp_path):
    log = tmp_path / "a.jsonl"
    lines = [{k: v for k, v in ev(i).items() if k != "request_id"} for i in range(2)]
    log.write_text(json.dumps(lines[0]) + "\n" + json.dumps(lines[1]))
    assert run_ingest(store, [log], tmp_path).events_stored == 2
    with open(log, "a") as fh:
        fh.write("\n" + json.dumps({**lines[0], "input_tokens": 7}) + "\n")
    r = run_ingest(store, [log], tmp_path)
    assert (r.lines_read, r.events_stored, r.duplicates) == (1, 1, 0)  # the stored last line is not read again
    assert totals(store)[0] == 3


def test_a_stored_last_line_without_newline_moves_the_checkpoint_to_the_end(store, tmp_path):
    log = tmp_path / "a.jsonl"
    log.write_text(json.dumps(ev(1)) + "\n" + json.dumps(ev(2)))
    assert run_ingest(store, [log], tmp_path).events_stored == 2
    r = run_ingest(store, [log], tmp_path)
    assert r.files[0].skipped and r.lines_read == 0  # unchanged: not re-read on every run
    (cp,) = store.conn.execute("SELECT offset FROM sources").fetchall()
    assert cp[0] == log.stat().st_size
    with open(log, "a") as fh:  # the writer ends the line, then writes more
        fh.write("\n" + json.dumps(ev(3)) + "\n")
    r = run_ingest(store, [log], tmp_path)
    assert (r.lines_read, r.events_stored, r.duplicates, r.rejected) == (1, 1, 0, 0)
    assert totals(store)[0] == 3


def test_rotated_or_truncated_file_is_read_from_the_start(store, tmp_path):
    log = tmp_path / "a.jsonl"
    write_lines(log, [ev(i) for i in range(5)])
    run_ingest(store, [log], tmp_path)
    log.rename(tmp_path / "a.jsonl.1")
    write_lines(log, [ev(i) for i in range(100, 102)])  # a new file, shorter than the old offset
    r = run_ingest(store, [log], tmp_path)
    assert (r.events_stored, r.duplicates) == (2, 0)
    r = run_ingest(store, [tmp_path / "a.jsonl.1"], tmp_path)  # the rotated file resumes at its old checkpoint
    assert (r.lines_read, r.events_stored) == (0, 0)
    assert totals(store)[0] == 7


def test_gzip_and_stdin(store, tmp_path):
    gz = tmp_path / "a.jsonl.gz"
    with gzip.open(gz, "wt") as fh:
        for i in range(4):
            fh.write(json.dumps(ev(i)) + "\n")
    assert run_ingest(store, [gz], tmp_path).events_stored == 4
    assert run_ingest(store, [gz], tmp_path).files[0].skipped
    import io

    stdin = io.BytesIO((json.dumps(ev(3)) + "\n" + json.dumps(ev(9))).encode())
    r = ingest_paths(store, ["-"], quarantine_path=tmp_path / "q.jsonl", stdin=stdin)
    assert (r.events_stored, r.duplicates) == (1, 1)


def test_truncated_gzip_is_reported_and_what_was_read_is_kept(store, tmp_path):
    gz = tmp_path / "a.jsonl.gz"
    with gzip.open(gz, "wt") as fh:
        for i in range(2000):
            fh.write(json.dumps(ev(i)) + "\n")
    data = gz.read_bytes()
    gz.write_bytes(data[: len(data) * 2 // 3])
    r = run_ingest(store, [gz], tmp_path)
    assert r.files[0].error and "truncated" in r.files[0].error
    assert r.events_stored == totals(store)[0]  # whatever was read is kept
    assert 0 < r.events_stored < 2000


def test_directories_are_walked_for_jsonl_files(store, tmp_path):
    d = tmp_path / "logs" / "2026"
    d.mkdir(parents=True)
    write_lines(d / "x.jsonl", [ev(1)])
    write_lines(tmp_path / "logs" / "y.jsonl", [ev(2)])
    (tmp_path / "logs" / "notes.txt").write_text("not a log")
    assert run_ingest(store, [tmp_path / "logs"], tmp_path).events_stored == 2


def test_map_reads_app_field_names(store, tmp_path):
    log = tmp_path / "a.jsonl"
    line = {k: v for k, v in ev(1).items() if k not in ("customer_id", "event_type")}
    line.update(user={"id": "u-42"}, route="/summarize")
    write_lines(log, [line])
    run_ingest(store, [log], tmp_path, maps=[("customer_id", "user.id"), ("event_type", "route")])
    row = next(store.events.list_events())
    assert (row["customer_id"], row["event_type"]) == ("u-42", "/summarize")


def test_aliases_and_camel_case(store, tmp_path):
    log = tmp_path / "a.jsonl"
    write_lines(
        log,
        [
            {
                "timestamp": 1790848801,
                "customerId": "c1",
                "feature": "chat",
                "provider": "anthropic",
                "model": "claude-x",
                "inputTokens": 5,
                "outputTokens": 2,
                "requestId": "r1",
            }
        ],
    )
    run_ingest(store, [log], tmp_path)
    row = next(store.events.list_events())
    assert (row["customer_id"], row["event_type"], row["vendor"], row["input_tokens"], row["ts"]) == (
        "c1",
        "chat",
        "anthropic",
        5,
        1790848801000,
    )
    # requestId is the call's request id: its key finds the call (the store keeps the id's hash, not its text)
    assert [r["id"] for r in store.events.list_events(request_id="r1")] == [row["id"]]
    assert list(store.events.list_events(request_id="R1")) == []


@pytest.mark.parametrize(
    "line, field, reason",
    [
        ("this is not json", None, "not valid JSON"),
        ({"timestamp": "2026-10-01T00:00:00Z", "input_tokens": 5, "output_tokens": 1}, "model", "missing"),
        ({"timestamp": "2026-10-01T00:00:00Z", "model": "gpt-4o"}, "usage", "no usage"),
        (
            {"timestamp": "2026-10-01T00:00:00Z", "model": "gpt-4o", "input_tokens": -5},
            "input_tokens",
            "non-negative integer",
        ),
        (
            {"timestamp": "2026-10-01T00:00:00Z", "model": "gpt-4o", "input_tokens": 2.5},
            "input_tokens",
            "non-negative integer",
        ),
        (
            {"timestamp": "2026-10-01T00:00:00Z", "model": "gpt-4o", "input_tokens": "12"},
            "input_tokens",
            "non-negative integer",
        ),
        ({"timestamp": "yesterday", "model": "gpt-4o", "input_tokens": 5}, "timestamp", "not an ISO 8601"),
        ({"model": "gpt-4o", "input_tokens": 5}, "timestamp", "missing"),
        ({"timestamp": "1960-01-01T00:00:00Z", "model": "gpt-4o", "input_tokens": 5}, "timestamp", "implausible"),
        (
            {"timestamp": "2026-10-01T00:00:00Z", "model": "gpt-4o", "input_tokens": 5, "cached_input_tokens": 9},
            "input_tokens",
            "exceed",
        ),
        (
            {"timestamp": "2026-10-01T00:00:00Z", "model": "gpt-4o", "output_tokens": 5, "reasoning_tokens": 9},
            "reasoning_tokens",
            "exceed",
        ),
        ([1, 2, 3], None, "not a JSON object"),
    ],
)
def test_bad_lines_are_quarantined_with_file_line_field_and_reason(store, tmp_path, line, field, reason):
    log = tmp_path / "a.jsonl"
    write_lines(log, [ev(1), line if isinstance(line, str) else json.dumps(line), ev(2)])
    r = run_ingest(store, [log], tmp_path)
    assert (r.lines_read, r.events_stored, r.rejected) == (3, 2, 1)
    [q] = [json.loads(x) for x in (tmp_path / "q.jsonl").read_text().splitlines()]
    assert q["file"] == str(log) and q["line"] == 2 and q["field"] == field and reason in q["reason"]
    assert q["raw"] == (line if isinstance(line, str) else json.dumps(line))  # nothing lost


def test_missing_customer_is_kept_as_unattributed_unless_required(store, tmp_path):
    log = tmp_path / "a.jsonl"
    write_lines(log, [ev(1, customer_id=None), ev(2, customer_id="")])
    r = run_ingest(store, [log], tmp_path, require_customer=True)
    assert (r.events_stored, r.rejected) == (0, 2)
    r = run_ingest(store, [log], tmp_path)  # checkpoint moved past them: they stay in quarantine
    assert r.files[0].skipped
    log2 = tmp_path / "b.jsonl"
    write_lines(log2, [ev(3, customer_id=None)])
    run_ingest(store, [log2], tmp_path)
    assert store.conn.execute("SELECT customer FROM events").fetchall() == [(0,)]


def test_crlf_bom_and_blank_lines(store, tmp_path):
    log = tmp_path / "a.jsonl"
    log.write_bytes(
        b"\xef\xbb\xbf" + json.dumps(ev(1)).encode() + b"\r\n\r\n   \n" + json.dumps(ev(2)).encode() + b"\r\n"
    )
    r = run_ingest(store, [log], tmp_path)
    assert (r.lines_read, r.events_stored, r.rejected) == (2, 2, 0)


def test_store_refuses_a_file_that_is_not_sqlite(tmp_path):
    from margindash_cli.errors import StoreError

    bogus = tmp_path / "notes.db"
    bogus.write_text("hello, this is not a database")
    with pytest.raises(StoreError, match="not a SQLite database"):
        Store.open(bogus)
    assert bogus.read_text() == "hello, this is not a database"


def test_store_migrates_on_open_and_is_reopenable(tmp_path):
    path = tmp_path / "s.db"
    Store.open(path).close()
    with Store.open(path) as s:
        names = {r[0] for r in s.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"events", "rollup_daily", "prices", "sources"} <= names
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
