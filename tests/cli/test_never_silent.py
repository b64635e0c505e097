"""#17: nothing fails silently. A run that stored nothing from a file with content, a folder without a log file, a
pretty-printed JSON file, files a folder walk left out, a --db typo: each says so and does not exit 0."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest


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


def test_doctor_sees_a_file_read_to_its_end_when_its_stored_last_line_has_no_newline(cli, tmp_path):
    log = tmp_path / "a.jsonl"
    log.write_text(call("r1") + call("r2").rstrip("\n"))
    db = tmp_path / "s.db"
    assert cli("--db", db, "ingest", log).exit_code == 0
    assert stored(db) == 2
    result = cli("--db", db, "doctor")
    assert "a.jsonl: read to the end, 2 line(s) read" in " ".join(result.stdout.split()), result.stdout


# ---- budgets that can never see spend or send their email ----


def _seed_budget_store(cli, tmp_path):
    log = tmp_path / "usage.jsonl"
    log.write_text(
        call("r1", customer_id="alpha", event_type="chat") + call("r2", customer_id="beta", event_type="search")
    )
    assert cli("ingest", log).exit_code == 0


def test_budget_set_warns_on_a_customer_without_calls_with_the_closest_ids(cli, tmp_path):
    _seed_budget_store(cli, tmp_path)
    r = cli("budget", "set", "typo", "--scope", "customer:alhpa", "--limit-usd", "10", "--period", "month")
    assert r.exit_code == 0  # saved all the same: the calls may come later
    assert "warning: budget typo: no stored call has customer 'alhpa'" in r.stderr
    assert "did you mean customer:alpha?" in r.stderr
    r = cli("budget", "set", "feat", "--scope", "feature:serch", "--limit-usd", "10", "--period", "month")
    assert "no stored call has feature 'serch'" in r.stderr and "did you mean feature:search?" in r.stderr
    for ok in ("customer:alpha", "feature:chat", "org"):
        r = cli("budget", "set", "ok", "--scope", ok, "--limit-usd", "10", "--period", "month")
        assert r.exit_code == 0 and "warning" not in r.stderr, (ok, r.stderr)
    r = cli("budget", "check", "--json")
    assert r.exit_code == 0
    assert "budget typo: no stored call has customer 'alhpa'" in r.stderr
    assert "budget feat: no stored call has feature 'serch'" in r.stderr
    assert "budget ok:" not in r.stderr


def test_budget_set_with_email_and_no_smtp_warns_and_a_failed_alert_exits_6(cli, tmp_path, monkeypatch):
    _seed_budget_store(cli, tmp_path)
    monkeypatch.setenv("MARGINDASH_NOW", "2026-03-15T12:00:00Z")
    r = cli(
        "budget",
        "set",
        "mail",
        "--scope",
        "org",
        "--limit-usd",
        "0.000001",
        "--period",
        "month",
        "--warn",
        "1",
        "--critical",
        "1",
        "--email",
        "ops@example.com",
    )
    assert r.exit_code == 0
    assert "warning: budget mail: its alert emails cannot be sent: MARGINDASH_SMTP_URL is not set" in r.stderr
    r = cli("budget", "check", "--fail-on", "exceeded")
    # exceeded is reached, so its code wins; with a level below --fail-on only, the failed email is exit 6, not 1
    assert r.exit_code == 5
    assert (
        cli(
            "budget",
            "set",
            "mail",
            "--scope",
            "org",
            "--limit-usd",
            "1000",
            "--period",
            "month",
            "--warn",
            "0.000001",
            "--critical",
            "99",
            "--email",
            "ops@example.com",
        ).exit_code
        == 0
    )
    r = cli("budget", "check", "--fail-on", "exceeded")
    assert r.exit_code == 6, r.stderr
    assert "MARGINDASH_SMTP_URL is not set" in r.stderr and "exit 6" in r.stderr
    monkeypatch.setenv("MARGINDASH_SMTP_URL", "smtp://127.0.0.1:25")
    r = cli(
        "budget", "set", "mail2", "--scope", "org", "--limit-usd", "5", "--period", "month", "--email", "a@example.com"
    )
    assert "its alert emails cannot be sent: MARGINDASH_ALERT_FROM is not set" in r.stderr  # no From address
    monkeypatch.setenv("MARGINDASH_ALERT_FROM", "alerts@example.com")
    r = cli(
        "budget", "set", "mail2", "--scope", "org", "--limit-usd", "5", "--period", "month", "--email", "a@example.com"
    )
    assert "cannot be sent" not in r.stderr


def test_a_db_in_a_folder_that_does_not_exist_is_refused_and_a_new_store_is_said(cli, tmp_path, monkeypatch):
    log = tmp_path / "a.jsonl"
    log.write_text(call("r1"))
    typo = tmp_path / "dtaa" / "sub" / "s.db"
    r = cli("--db", typo, "ingest", log)
    assert r.exit_code == 1 and f"the folder {typo.parent} does not exist" in r.stderr
    assert not (tmp_path / "dtaa").exists()
    monkeypatch.setenv("MARGINDASH_DB", str(typo))
    assert cli("ingest", log).exit_code == 1 and not (tmp_path / "dtaa").exists()
    monkeypatch.delenv("MARGINDASH_DB")
    db = tmp_path / "s.db"
    r = cli("--db", db, "ingest", log)
    assert r.exit_code == 0 and f"created new store at {db}" in r.stderr
    assert "created new store" not in cli("--db", db, "ingest", log).stderr
    # the default store (MARGINDASH_HOME) still creates its folder
    monkeypatch.setenv("MARGINDASH_HOME", str(tmp_path / "newhome" / "deep"))
    r = cli("ingest", log)
    assert r.exit_code == 0 and (tmp_path / "newhome" / "deep" / "margindash.db").exists()


# ---- a closed pipe, a full disk, Ctrl-C ----


def _store_with_calls(tmp_path, n=3000) -> Path:
    log = tmp_path / "many.jsonl"
    log.write_text("".join(call(f"q{i}", customer_id=f"c{i}") for i in range(n)))
    from margindash_cli.ingest.pipeline import ingest_paths
    from margindash_cli.store.db import Store

    db = tmp_path / "s.db"
    with Store.open(db) as store:
        ingest_paths(store, [str(log)], quarantine_path=tmp_path / "q.jsonl")
    return db


@pytest.mark.slow
@pytest.mark.parametrize(
    "args",
    [
        ["report", "--by", "customer", "--format", "csv"],
        ["events", "--limit", "0", "--json"],
        ["events", "--limit", "0", "--nl"],
    ],
)
def test_a_reader_that_stops_reading_ends_the_command_quietly_with_0(tmp_path, args):
    db = _store_with_calls(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "margindash_cli", "--db", str(db), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    proc.stdout.read(200)  # like `| head -2`: read a little, then close the pipe
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0, err
    assert err == ""


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_output_to_a_full_disk_is_an_error_line_not_a_traceback(tmp_path):
    db = _store_with_calls(tmp_path)
    with open("/dev/full", "wb") as full:
        proc = subprocess.run(
            [sys.executable, "-m", "margindash_cli", "--db", str(db), "report", "--by", "customer", "--format", "csv"],
            stdout=full,
            stderr=subprocess.PIPE,
            timeout=120,
        )
    err = proc.stderr.decode()
    assert proc.returncode == 1 and "Traceback" not in err
    assert "error: cannot write the output: No space left on device" in err


def test_ctrl_c_during_a_read_says_interrupted_and_during_ingest_what_stays(cli, tmp_path, monkeypatch):
    db = _store_with_calls(tmp_path, 3)

    def interrupt(*a, **k):
        raise KeyboardInterrupt

    from margindash_cli.store.events import Events

    monkeypatch.setattr(Events, "list_events", interrupt)
    r = cli("--db", db, "events")
    assert r.exit_code == 130 and r.stderr == "interrupted\n"
    from margindash_cli.ingest import pipeline

    monkeypatch.setattr(pipeline, "ingest_paths", interrupt)
    log = tmp_path / "a.jsonl"
    log.write_text(call("z"))
    r = cli("--db", db, "ingest", log)
    assert r.exit_code == 130 and "interrupted: what was committed before stays; re-run to continue" in r.stderr


def test_a_command_that_fails_before_writing_leaves_no_new_store(cli, tmp_path):
    db = tmp_path / "s.db"
    r = cli("--db", db, "prices", "alias", "prod-x", "azure/no-such-model")
    assert r.exit_code == 2 and "created new store" not in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home"]
    r = cli("--db", db, "prices", "set", "acme/model", "--input", "one")
    assert r.exit_code == 2 and not db.exists()
    r = cli("--db", db, "prices", "set", "acme/model", "--input", "1", "--output", "2")
    assert r.exit_code == 0 and f"created new store at {db}" in r.stderr and db.exists()


@pytest.mark.parametrize("reader_process", ["0", "1"])
def test_ingest_summary_counts_lines_that_are_not_calls_so_each_row_adds_up(cli, tmp_path, monkeypatch, reader_process):
    monkeypatch.setenv("MARGINDASH_READER_PROCESS", reader_process)
    fixture = Path(__file__).parent.parent / "fixtures" / "claude_code" / "claude-code-log" / "session_b.jsonl"
    log = tmp_path / "session.jsonl"
    log.write_bytes(fixture.read_bytes())
    result = cli("--db", tmp_path / "s.db", "ingest", log, "--json")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    (f,) = summary["files"]
    assert f["skipped"] == 2 and summary["skipped"] == 2  # the user turns: neither calls nor rejections
    assert f["lines_read"] == f["events_stored"] + f["duplicates_skipped"] + f["rejected"] + f["skipped"]
    table = cli("--db", tmp_path / "t.db", "ingest", log).stdout
    assert "skipped" in table
