"""#22 item 10: inputs that gave a traceback or hung: `reprice` racing an ingest that adds a model, `--tz Europe`
(a folder of zones) and a 5,000-character `--tz`, `--db` naming a FIFO (hung) or /dev/null (made /dev/null-journal)."""

from __future__ import annotations

import json
import os

import pytest

from margindash_cli.ingest.pipeline import ingest_paths
from margindash_cli.pricing import reprice as repricing
from margindash_cli.pricing.run import LazyPricer
from margindash_cli.store.db import Store
from margindash_cli.store.events import Events


def line(rid: str, model: str) -> str:
    return (
        json.dumps(
            {
                "timestamp": "2026-03-01T10:00:00Z",
                "model": model,
                "vendor": "openai",
                "input_tokens": 1000,
                "output_tokens": 10,
                "request_id": rid,
            }
        )
        + "\n"
    )


def test_reprice_while_an_ingest_adds_a_model(tmp_path, _isolated_home, monkeypatch):
    db = tmp_path / "m.db"
    first, later = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    first.write_text(line("a", "gpt-4o"))
    later.write_text(line("b", "gpt-4o-mini"))
    with Store.open(db) as store:
        ingest_paths(store, [str(first)], quarantine_path=tmp_path / "q.jsonl", pricer=LazyPricer(store, "auto"))
    with Store.open(db) as store:
        original = Events.event_rows

        def rows_after_a_concurrent_ingest(self, **kw):
            if not getattr(self, "_raced", False):
                self._raced = True
                with Store.open(db) as other:  # another process's ingest, between the name lookup and the read
                    ingest_paths(other, [str(later)], quarantine_path=tmp_path / "q.jsonl")
            return original(self, **kw)

        monkeypatch.setattr(Events, "event_rows", rows_after_a_concurrent_ingest)
        result = repricing.reprice(store, LazyPricer(store, "auto"))
    assert result.events_seen == 2 and result.newly_priced == 1


@pytest.mark.parametrize("tz", ["Europe", "A" * 5000, "../../../etc/passwd", "Europe/"])
def test_a_bad_time_zone_is_a_usage_error(cli, tmp_path, tz):
    log = tmp_path / "a.jsonl"
    log.write_text(line("a", "gpt-4o"))
    assert cli("ingest", log).exit_code == 0
    for args in (
        ["report", "--tz", tz],
        ["budget", "set", "b", "--scope", "org", "--limit-usd", "10", "--period", "month", "--tz", tz],
    ):
        result = cli(*args)
        assert result.exit_code == 2, (args[0], result.stderr)
        assert "unknown time zone" in result.stderr and len(result.stderr) < 400


def test_db_naming_a_fifo_or_a_device_is_refused_without_touching_it(cli, tmp_path):
    fifo = tmp_path / "store.fifo"
    os.mkfifo(fifo)
    result = cli("--db", fifo, "report")  # opening it to read the header blocked forever
    assert result.exit_code == 1 and "is not a regular file" in result.stderr
    result = cli("--db", "/dev/null", "report")
    assert result.exit_code == 1 and "is not a regular file" in result.stderr


def _sqlite_error(tmp_path, make) -> Exception:
    import sqlite3

    path = tmp_path / "x.db"
    sqlite3.connect(path).execute("CREATE TABLE IF NOT EXISTS t (v)").connection.commit()
    try:
        make(path)
    except sqlite3.DatabaseError as exc:
        return exc
    raise AssertionError("no error")


def test_hints_say_what_happened_read_only_full_disk_too_big(tmp_path):
    """#22 item 19: all three were "the file may be damaged"; each error here is SQLite's own."""
    import sqlite3

    from margindash_cli.store.db import sqlite_hint

    def read_only(path):
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        conn.execute("INSERT INTO t VALUES (1)")

    def full(path):
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA max_page_count = 2")
        conn.execute("INSERT INTO t VALUES (randomblob(100000))")

    def too_big(path):
        conn = sqlite3.connect(path)
        conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, 1000)
        conn.execute("INSERT INTO t VALUES (?)", ("x" * 5000,))

    assert "read-only" in sqlite_hint(_sqlite_error(tmp_path, read_only))
    assert "disk holding the store is full" in sqlite_hint(_sqlite_error(tmp_path, full))
    assert "larger than SQLite's limit" in sqlite_hint(_sqlite_error(tmp_path, too_big))
    for hint in (sqlite_hint(_sqlite_error(tmp_path, f)) for f in (read_only, full, too_big)):
        assert "damaged" not in hint


def test_a_read_only_store_says_so(cli, tmp_path, monkeypatch):
    """The command line's error handler uses the same hints (a store opened read-only by SQLite itself)."""
    import sqlite3

    from margindash_cli.store import db as store_module

    log = tmp_path / "a.jsonl"
    log.write_text(line("a", "gpt-4o"))
    assert cli("ingest", log).exit_code == 0
    real_connect = sqlite3.connect

    def read_only_connect(path, *a, **k):  # as a user without write permission gets it (tests run as root)
        return real_connect(f"file:{path}?mode=ro", *a, uri=True, **{x: y for x, y in k.items() if x != "uri"})

    monkeypatch.setattr(store_module.sqlite3, "connect", read_only_connect)
    log.write_text(line("b", "gpt-4o"))
    result = cli("ingest", log)
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert "read-only" in result.stderr and "damaged" not in result.stderr and "corrupt" not in result.stderr
