"""#17: `events --json` and `--nl` stream any number of calls (written as read, memory flat in their number), and a
table of more than 10,000 rows is refused with a pointer to them.

Memory is shown without timing: the store read is an iterator (never a list), and the JSON writers write each item
before they ask for the next, so nothing accumulates whatever the row count."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from margindash_cli.cli import app
from margindash_cli.cli.render import kit
from margindash_cli.events.run import TABLE_MAX_ROWS, EventsQuery, stream_events
from margindash_cli.store.db import Store

N = 30_000  # past the table's cap of 10,000, small enough to ingest in a few seconds
START = datetime(2026, 9, 1, tzinfo=UTC)
CUSTOMERS = ["acme", "globex", "initech", "umbrella", "hooli"]


def _line(i: int) -> str:
    return json.dumps(
        {
            "timestamp": (START + timedelta(seconds=7 * i)).isoformat().replace("+00:00", "Z"),
            "request_id": f"req-{i:06d}",
            "customer_id": CUSTOMERS[i % len(CUSTOMERS)] if i % 100 else "rare",  # "rare": 300 calls
            "event_type": "chat",
            "vendor": "openai",
            "model": "gpt-4o-mini",
            "input_tokens": 100 + i % 97,
            "output_tokens": 10 + i % 13,
        }
    )


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """A store of N calls, one every 7 seconds (req-000000 the oldest); its path and a runner bound to it."""
    root = tmp_path_factory.mktemp("events_stream")
    log = root / "calls.jsonl"
    log.write_text("".join(_line(i) + "\n" for i in range(N)))
    db = root / "s.db"
    env = {"MARGINDASH_HOME": str(root / "home"), "NO_COLOR": "1", "COLUMNS": "160", "MARGINDASH_DB": None}
    runner = CliRunner()

    def run(*args):
        return runner.invoke(app, ["--db", str(db), *map(str, args)], env=env, catch_exceptions=False)

    assert run("ingest", log).exit_code == 0
    return db, run


NEWEST_FIRST = [f"req-{i:06d}" for i in reversed(range(N))]


def test_nl_prints_every_call_one_compact_object_per_line_newest_first(big):
    _, run = big
    r = run("events", "--limit", "0", "--nl")
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == N and r.stdout.endswith("}\n")
    records = [json.loads(line) for line in lines]
    assert all(isinstance(rec, dict) for rec in records)
    assert [rec["request_id"] for rec in records] == NEWEST_FIRST
    assert lines[0] == json.dumps(records[0], separators=(",", ":"), ensure_ascii=False)  # compact: no indent


def test_json_streams_the_same_records_as_nl_as_one_array(big):
    _, run = big
    as_json = json.loads(run("events", "--limit", "0", "--json").stdout)
    as_nl = [json.loads(line) for line in run("events", "--limit", "0", "--nl").stdout.splitlines()]
    assert as_json == as_nl and len(as_json) == N


def test_the_streams_hold_the_calls_the_table_lists(big):
    _, run = big
    table = run("events", "--limit", "40").stdout
    header = next(line.split("┃") for line in table.splitlines() if "request id" in line)
    at = [h.strip() for h in header].index("request id")
    listed = [line.split("│")[at].strip() for line in table.splitlines() if line.startswith("│")]
    streamed = [json.loads(line)["request_id"] for line in run("events", "--limit", "40", "--nl").stdout.splitlines()]
    assert listed == streamed == NEWEST_FIRST[:40]
    rare = [
        json.loads(line) for line in run("events", "--customer", "rare", "--limit", "0", "--nl").stdout.splitlines()
    ]
    assert len(rare) == N // 100 and {r["customer_id"] for r in rare} == {"rare"}
    rare_table = run("events", "--customer", "rare", "--limit", "0")
    assert rare_table.exit_code == 0 and f"{N // 100} event(s)" in rare_table.stdout  # under the cap: a table


@pytest.mark.parametrize("limit", ["0", str(TABLE_MAX_ROWS + 1), "25000"])
def test_a_table_of_more_than_10000_rows_is_refused_with_a_pointer_to_json_and_nl(big, limit):
    _, run = big
    r = run("events", "--limit", limit)
    assert r.exit_code == 2 and r.stdout == ""
    shown = "--limit 0 = all" if limit == "0" else f"--limit {int(limit):,}"
    assert r.stderr.splitlines() == [
        f"error: more than 10,000 events match ({shown}): too many for a table",
        "hint: --json or --nl print every one (streamed), or use --limit 10,000 or less, or narrow with"
        " --since/--until/--customer/--feature/--model",
    ]


def test_the_store_read_is_an_iterator_read_from_a_cursor_not_a_list(big):
    db, _ = big
    with Store.open(db, create=False) as store:
        rows = store.events.list_events(limit=None)
        assert isinstance(rows, Iterator) and not isinstance(rows, (list, tuple))
        assert next(rows)["request_id"] == NEWEST_FIRST[0]
        stream = stream_events(store, EventsQuery(limit=0))
        assert isinstance(stream.to_json(), Iterator)
        assert next(stream.to_json())["request_id"] == NEWEST_FIRST[0]
        limited = store.events.list_events(limit=5)  # through the zone map: still lazy
        assert isinstance(limited, Iterator) and [r["request_id"] for r in limited] == NEWEST_FIRST[:5]


def _watched(items, out: io.StringIO, written: list[int]):
    """Yield `items`, recording how much had been written to `out` before each next item was asked for."""
    for item in items:
        written.append(len(out.getvalue()))
        yield item


@pytest.mark.parametrize("emit", [kit.emit_json, kit.emit_json_lines])
def test_the_json_writers_write_each_item_before_reading_the_next(monkeypatch, emit):
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    items = [{"n": i, "text": "a\nb", "nested": {"k": [i]}} for i in range(5)]
    written: list[int] = []
    emit(_watched(items, out, written))
    assert written[0] == 0 and all(b > a for a, b in zip(written, written[1:]))  # one item out before the next in
    text = out.getvalue()
    if emit is kit.emit_json:
        assert text == kit.dumps_json(items) + "\n"  # streamed, yet the same text as the whole list at once
    else:
        assert [json.loads(line) for line in text.splitlines()] == items


def test_an_empty_stream_is_an_empty_array_or_no_lines(monkeypatch):
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    kit.emit_json(iter([]))
    kit.emit_json_lines(iter([]))
    assert out.getvalue() == "[]\n"


def test_nl_and_json_together_are_refused_and_explain_prints_one_line(cli, tmp_path):
    log = tmp_path / "a.jsonl"
    log.write_text(_line(1) + "\n")
    db = tmp_path / "s.db"
    assert cli("--db", db, "ingest", log).exit_code == 0
    both = cli("--db", db, "events", "--json", "--nl")
    assert both.exit_code == 2 and "--json and --nl" in both.stderr
    one = cli("--db", db, "events", "--explain", "req-000001", "--nl").stdout
    assert len(one.splitlines()) == 1 and json.loads(one)["request_id"] == "req-000001"
    assert cli("--db", db, "events", "--nl", "--customer", "nobody").stdout == ""
