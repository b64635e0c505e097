"""#17: nothing fails silently. A run that stored nothing from a file with content, a folder without a log file, a
pretty-printed JSON file, files a folder walk left out, a --db typo: each says so and does not exit 0."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path


def call(rid: str, **extra) -> str:
    base = {"timestamp": "2026-03-01T10:00:00Z", "customer_id": "acme", "model": "gpt-4o", "vendor": "openai",
            "input_tokens": 10, "output_tokens": 5, "request_id": rid}  # fmt: skip
    base.update(extra)
    return json.dumps(base, separators=(",", ":")) + "\n"


def stored(db: Path) -> int:
    return sqlite3.connect(db).execute("SELECT count(*) FROM events").fetchone()[0]


def test_a_file_whose_every_line_is_rejected_exits_1_and_says_so(cli, tmp_path):
    log = tmp_path / "bad.jsonl"
    log.write_text("garbage\n" + json.dumps({"x": 1}) + "\n")
    result = cli("--db", tmp_path / "s.db", "ingest", log)
    assert result.exit_code == 1
    assert "bad.jsonl: nothing stored: all 2 of its usage line(s) were rejected" in result.stderr
    assert "nothing stored" in result.stdout  # the table row says it too


def test_a_rerun_of_a_stored_file_and_a_partly_rejected_file_still_exit_0(cli, tmp_path):
    log = tmp_path / "a.jsonl"
    log.write_text(call("r1") + "garbage\n")
    db = tmp_path / "s.db"
    assert cli("--db", db, "ingest", log).exit_code == 0  # one stored, one rejected: not "nothing stored"
    assert cli("--db", db, "ingest", log).exit_code == 0  # unchanged
    other = tmp_path / "b.jsonl"
    other.write_text(call("r1"))  # only a duplicate: it was stored before
    assert cli("--db", db, "ingest", other).exit_code == 0


def test_a_folder_without_a_log_file_exits_1_and_names_what_it_skipped(cli, tmp_path):
    folder = tmp_path / "logs"
    folder.mkdir()
    (folder / "usage.json").write_text(call("r1"))
    (folder / "readme.txt").write_text("hello")
    result = cli("--db", tmp_path / "s.db", "ingest", folder, "--json")
    assert result.exit_code == 1
    assert "logs: no log file (*.jsonl or *.jsonl.gz) in this folder" in result.stderr
    assert "2 file(s) in the folder(s) walked not read" in result.stderr
    assert "usage.json" in result.stderr and "readme.txt" in result.stderr
    files = {Path(f["path"]).name: f for f in json.loads(result.stdout)["files"]}
    assert "not named *.jsonl" in files["usage.json"]["note"] and "not named *.jsonl" in files["readme.txt"]["note"]


def test_a_walk_that_found_logs_reports_the_other_files_and_exits_0(cli, tmp_path):
    folder = tmp_path / "logs"
    folder.mkdir()
    (folder / "a.jsonl").write_text(call("r1"))
    (folder / "b.json").write_text(call("r2"))
    result = cli("--db", tmp_path / "s.db", "ingest", folder)
    assert result.exit_code == 0
    assert "1 file(s) in the folder(s) walked not read" in result.stderr and "b.json" in result.stderr
    assert stored(tmp_path / "s.db") == 1


def test_a_pretty_printed_json_file_is_refused_with_the_jq_command_and_nothing_quarantined(cli, tmp_path):
    obj = tmp_path / "one.jsonl"
    obj.write_text(json.dumps(json.loads(call("r1")), indent=2) + "\n")
    arr = tmp_path / "many.jsonl"
    arr.write_text(json.dumps([json.loads(call("r2")), json.loads(call("r3"))], indent=2))  # no final newline
    db = tmp_path / "s.db"
    result = cli("--db", db, "ingest", obj, arr, "--json")
    assert result.exit_code == 1
    assert "one.jsonl: not JSONL: the file is one JSON object over several lines" in result.stderr
    assert "try `jq -c . FILE > FILE.jsonl`" in result.stderr
    assert "many.jsonl: not JSONL: the file is one JSON array" in result.stderr and "jq -c '.[]'" in result.stderr
    summary = json.loads(result.stdout)
    assert summary["rejected"] == 0 and summary["lines_read"] == 0
    assert all(f["partial_line_bytes"] == 0 for f in summary["files"])  # no "1 bytes left for next run"
    # A JSONL file whose first line is a whole object is read as JSONL, even if a later line is bad.
    ok = tmp_path / "ok.jsonl"
    ok.write_text(call("r4") + "{\n")
    assert cli("--db", db, "ingest", ok).exit_code == 0 and stored(db) == 1


def test_ingest_of_a_missing_file_creates_no_store(cli, tmp_path):
    db = tmp_path / "s.db"
    result = cli("--db", db, "ingest", tmp_path / "missing.jsonl")
    assert result.exit_code == 1 and "missing.jsonl: no such file or directory" in result.stderr
    assert not db.exists() and list(tmp_path.iterdir()) == [tmp_path / "home"]
