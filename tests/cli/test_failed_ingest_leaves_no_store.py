"""#17: "create nothing until there is something to write". An ingest that fails having stored nothing leaves no new
store behind (no .db, -wal, -shm or .lock; the quarantine, which holds the rejected lines' reasons, stays) and does
not say "created new store"; a run that stored something keeps it. A quarantine the system refuses names the cause
by its errno: a read-only folder is not told to free some space."""

from __future__ import annotations

import errno
import json
import os
import sqlite3
from pathlib import Path

import pytest

from margindash_cli.ingest import pipeline


def call(rid: str, **extra) -> str:
    base = {
        "timestamp": "2026-03-01T10:00:00Z",
        "customer_id": "acme",
        "model": "gpt-4o",
        "vendor": "openai",
        "input_tokens": 10,
        "output_tokens": 5,
        "request_id": rid,
    }
    base.update(extra)
    return json.dumps(base, separators=(",", ":")) + "\n"


def store_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("s.db"))


def pretty_json(tmp_path: Path) -> Path:
    path = tmp_path / "in" / "export.json"
    path.write_text(json.dumps(json.loads(call("r1")), indent=2) + "\n")
    return path


def all_rejected(tmp_path: Path) -> Path:
    path = tmp_path / "in" / "bad.jsonl"
    path.write_text('{"foo": 1}\n{"bar": 2}\n')
    return path


def empty_folder(tmp_path: Path) -> Path:
    path = tmp_path / "in" / "logs"
    path.mkdir()
    return path


@pytest.mark.parametrize("make", [pretty_json, all_rejected, empty_folder], ids=lambda f: f.__name__)
def test_a_failed_ingest_into_a_new_store_leaves_no_store(cli, tmp_path, make):
    (tmp_path / "in").mkdir()
    out = tmp_path / "out"
    out.mkdir()
    source = make(tmp_path)
    result = cli("--db", out / "s.db", "ingest", source)
    assert result.exit_code == 1, result.stderr
    assert "error:" in result.stderr
    assert "created new store" not in result.stderr
    assert store_files(out) == []  # no .db, .lock, -wal or -shm
    if make is all_rejected:  # the reasons of the rejected lines are kept: nothing is lost
        records = [json.loads(line) for line in (out / "s.quarantine.jsonl").read_text().splitlines()]
        assert [r["line"] for r in records] == [1, 2]
    # the next run with something to store creates it, and says so
    good = tmp_path / "in" / "good.jsonl"
    good.write_text(call("r1"))
    again = cli("--db", out / "s.db", "ingest", good)
    assert again.exit_code == 0 and f"created new store at {out / 's.db'}" in again.stderr
    assert sqlite3.connect(out / "s.db").execute("SELECT count(*) FROM events").fetchone() == (1,)


def test_a_failed_run_that_stored_something_keeps_the_new_store(cli, tmp_path):
    good, bad = tmp_path / "good.jsonl", tmp_path / "bad.jsonl"
    good.write_text(call("r1") + call("r2"))
    bad.write_text('{"foo": 1}\n')
    db = tmp_path / "s.db"
    result = cli("--db", db, "ingest", good, bad)
    assert result.exit_code == 1  # bad.jsonl: nothing stored
    assert f"created new store at {db}" in result.stderr
    assert sqlite3.connect(db).execute("SELECT count(*) FROM events").fetchone() == (2,)
    strict = tmp_path / "more.jsonl"
    strict.write_text(call("r3") + "garbage\n")
    assert cli("--db", db, "ingest", strict, "--strict").exit_code == 1  # an old store is never removed
    assert sqlite3.connect(db).execute("SELECT count(*) FROM events").fetchone() == (3,)


def test_a_failed_ingest_into_an_existing_store_keeps_it_and_its_data(cli, tmp_path):
    db = tmp_path / "s.db"
    good = tmp_path / "good.jsonl"
    good.write_text(call("r1"))
    assert cli("--db", db, "ingest", good).exit_code == 0
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"foo": 1}\n')
    result = cli("--db", db, "ingest", bad)
    assert result.exit_code == 1 and "created new store" not in result.stderr
    assert sqlite3.connect(db).execute("SELECT count(*) FROM events").fetchone() == (1,)


# ---- the quarantine's hint follows the errno ----


def refusing_open(monkeypatch, target: Path, code: int) -> None:
    """os.open raises OSError(code) for the quarantine file only (as the kernel would on a `ro` mount or a full disk)."""
    real_open = os.open

    def fake_open(path, *args, **kwargs):
        if Path(path) == target:
            raise OSError(code, os.strerror(code), str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(pipeline.os, "open", fake_open)


@pytest.mark.parametrize(
    ("code", "says", "not_says"),
    [
        (errno.EROFS, "the folder is read-only (permissions or mount)", "free some space"),
        (errno.EACCES, "the folder is read-only (permissions or mount)", "free some space"),
        (errno.EPERM, "the folder is read-only (permissions or mount)", "free some space"),
        (errno.ENOSPC, "free some space (or pass --quarantine FILE on another disk)", "read-only"),
        (errno.EDQUOT, "free some space (or pass --quarantine FILE on another disk)", "read-only"),
    ],
    ids=lambda v: errno.errorcode[v] if isinstance(v, int) else None,
)
def test_a_refused_quarantine_hint_names_the_cause(cli, tmp_path, monkeypatch, code, says, not_says):
    log = tmp_path / "mix.jsonl"
    log.write_text(call("r1") + "garbage\n" + call("r2"))
    q = tmp_path / "q.jsonl"
    refusing_open(monkeypatch, q, code)
    result = cli("--db", tmp_path / "s.db", "ingest", log, "--quarantine", q)
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert f"error: cannot write the quarantine {q}: {os.strerror(code)}" in result.stderr
    hint = next(line for line in result.stderr.splitlines() if line.startswith("hint: "))
    assert says in hint and not_says not in hint, hint
    assert "run ingest again: it resumes where it stopped" in hint
    if code == errno.EROFS:
        assert "pass --quarantine FILE in a folder you can write" in hint


def test_the_quarantine_remedy_of_another_errno_names_no_wrong_cause():
    text = pipeline.quarantine_remedy(OSError(errno.EIO, "Input/output error"))
    assert "free some space" not in text and "read-only" not in text and "--quarantine FILE" in text
