"""#22: ingest holes an adversarial run found, each reproduced here first: rotation between opens, files that share
a first line, streamed Claude Code messages, the quarantine read by the ingest writing it, over-long lines, a
rejected last line without its newline, symlinks out of a log folder, a full disk under the quarantine, FIFOs."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import threading
from pathlib import Path

import pytest
from invariants import check_store

from margindash_cli.ingest import pipeline
from margindash_cli.store.db import Store
from margindash_cli.store.sources import Sources


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


def run(cli, *args):
    result = cli("ingest", *args, "--json")
    assert "Traceback" not in result.stderr, result.stderr
    return result, (json.loads(result.stdout) if result.stdout.strip().startswith("{") else None)


# ---- 1. rotation between the identity read and the data read ----


@pytest.mark.parametrize("reader_process", ["0", "1"])
def test_a_file_rotated_while_its_checkpoint_is_looked_up_loses_no_call(
    cli, tmp_path, _isolated_home, monkeypatch, reader_process
):
    """The path is renamed and a new, shorter file created right when ingest looks up the checkpoint (the
    window between the two opens of the old code): both files must end up stored in full (read in-process, and
    by the forked reader process, which used to open the path a third time)."""
    monkeypatch.setenv("MARGINDASH_READER_PROCESS", reader_process)
    log = tmp_path / "app.jsonl"
    log.write_text("".join(call(f"old-{i:04d}") for i in range(50)))
    assert run(cli, log)[1]["events_stored"] == 50
    with open(log, "a") as fh:
        fh.write("".join(call(f"old-{i:04d}") for i in range(50, 100)))
    rotated = tmp_path / "app.jsonl.1"
    done = []

    def rotate() -> None:
        if not done:
            done.append(1)
            os.rename(log, rotated)
            log.write_text("".join(call(f"new-{i:04d}") for i in range(80)))

    for name in ("find_source", "resume_candidates"):  # whichever the code under test calls between opens
        if hasattr(Sources, name):
            original = getattr(Sources, name)

            def hooked(self, *a, _original=original, **k):
                rotate()
                return _original(self, *a, **k)

            monkeypatch.setattr(Sources, name, hooked)
    run(cli, log)
    monkeypatch.undo()
    monkeypatch.setenv("MARGINDASH_HOME", str(_isolated_home))
    monkeypatch.setenv("MARGINDASH_READER_PROCESS", reader_process)
    run(cli, log, rotated)
    db = _isolated_home / "margindash.db"
    assert stored(db) == 180
    check_store(db)
    again = run(cli, log, rotated)[1]
    assert again["lines_read"] == 0 and [f["unchanged"] for f in again["files"]] == [True, True]


# ---- 2. files that share their first line ----


@pytest.mark.parametrize("header", ["\n", '{"type":"header","app":"svc"}\n'])
def test_daily_files_with_the_same_first_line_are_each_read_from_the_start(cli, tmp_path, _isolated_home, header):
    a, b = tmp_path / "2026-03-01.jsonl", tmp_path / "2026-03-02.jsonl"
    a.write_text(header + "".join(call(f"a-{i:04d}") for i in range(100)))
    b.write_text(header + "".join(call(f"b-{i:04d}") for i in range(100)))
    run(cli, a)
    _, summary = run(cli, b)
    assert summary["events_stored"] == 100
    assert stored(_isolated_home / "margindash.db") == 200


def test_a_file_replaced_at_its_path_with_the_same_first_line_is_read_from_the_start(cli, tmp_path, _isolated_home):
    log = tmp_path / "app.jsonl"
    log.write_text("\n" + "".join(call(f"one-{i:04d}") for i in range(40)))
    run(cli, log)
    log.unlink()
    log.write_text("\n" + "".join(call(f"two-{i:04d}") for i in range(60)))
    assert run(cli, log)[1]["events_stored"] == 60
    with open(log, "a") as fh:  # and the checkpoint now follows the new file: only the new lines are read
        fh.write(call("two-extra"))
    assert run(cli, log)[1]["lines_read"] == 1
    assert stored(_isolated_home / "margindash.db") == 101


def test_a_renamed_file_still_resumes_where_its_old_name_stopped(cli, tmp_path, _isolated_home):
    log = tmp_path / "app.jsonl"
    log.write_text("\n" + "".join(call(f"r-{i:04d}") for i in range(30)))
    run(cli, log)
    moved = tmp_path / "app.jsonl.1"
    os.rename(log, moved)
    with open(moved, "a") as fh:
        fh.write(call("r-late"))
    assert run(cli, moved)[1]["lines_read"] == 1


# ---- 3. Claude Code streaming ----


def cc_line(msg_id: str, output: int, *, uuid: str, input_tokens: int = 3) -> str:
    return (
        json.dumps(
            {
                "type": "assistant",
                "sessionId": "s1",
                "version": "1.0.80",
                "uuid": uuid,
                "timestamp": "2026-03-01T10:00:00Z",
                "requestId": "req_" + msg_id,
                "message": {
                    "id": msg_id,
                    "role": "assistant",
                    "model": "claude-sonnet-4-20250514",
                    "usage": {"input_tokens": input_tokens, "cache_read_input_tokens": 100, "output_tokens": output},
                },
            }
        )
        + "\n"
    )


@pytest.mark.parametrize("reader_process", ["0", "1"])
def test_a_streamed_claude_code_message_keeps_its_final_usage_within_and_across_runs(
    cli, tmp_path, _isolated_home, monkeypatch, reader_process
):
    monkeypatch.setenv("MARGINDASH_READER_PROCESS", reader_process)
    log = tmp_path / "session.jsonl"
    log.write_text(cc_line("msg_A", 1, uuid="1") + cc_line("msg_A", 120, uuid="2") + cc_line("msg_B", 7, uuid="3"))
    run(cli, log)
    db = _isolated_home / "margindash.db"
    rows = lambda: sorted(sqlite3.connect(db).execute("SELECT output_tokens FROM events").fetchall())  # noqa: E731
    assert rows() == [(7,), (120,)]
    with open(log, "a") as fh:  # the next run sees the message's last line, then a replay with less
        fh.write(cc_line("msg_A", 260, uuid="4") + cc_line("msg_A", 5, uuid="5"))
    _, summary = run(cli, log, "--format", "claude-code")
    assert summary["events_updated"] == 1 and summary["events_stored"] == 0
    assert rows() == [(7,), (260,)]
    check_store(db)  # the rollup cell moved with the call
    report = json.loads(
        cli("report", "--by", "model", "--since", "2026-03-01", "--until", "2026-03-02", "--json").stdout
    )
    assert json.dumps(report).count("267") >= 1  # 260 + 7 output tokens in the report


def test_other_formats_keep_the_first_line_of_a_request_id(cli, tmp_path, _isolated_home):
    log = tmp_path / "app.jsonl"
    log.write_text(call("same", output_tokens=5) + call("same", output_tokens=900))
    run(cli, log)
    assert sqlite3.connect(_isolated_home / "margindash.db").execute("SELECT output_tokens FROM events").fetchall() == [
        (5,)
    ]


# ---- 7. the store's own files, and a file growing while it is read ----


def test_a_walk_never_reads_the_quarantine_or_the_store_it_writes(cli, tmp_path, monkeypatch):
    folder = tmp_path / "logs"
    folder.mkdir()
    monkeypatch.setenv("MARGINDASH_HOME", str(folder))  # the store and its quarantine inside the folder ingested
    (folder / "app.jsonl").write_text(call("ok") + "not json\n" * 50)
    (folder / "x.jsonl-wal").write_text("")  # a log that merely looks like a WAL is still read
    result, summary = run(cli, folder)
    assert result.exit_code == 0
    assert summary["rejected"] == 50
    result, summary = run(cli, folder)
    assert summary["rejected"] == 0 and summary["lines_read"] == 0  # the quarantine is not ingested
    notes = {Path(f["path"]).name: f["note"] for f in summary["files"] if f["note"]}
    assert "margindash.quarantine.jsonl" in notes and "own file" in notes["margindash.quarantine.jsonl"]
    assert stored(folder / "margindash.db") == 1


def test_an_explicit_quarantine_inside_the_folder_is_skipped_too(cli, tmp_path, _isolated_home):
    folder = tmp_path / "logs"
    folder.mkdir()
    # one line stored, so the new store is kept (a run that stores nothing leaves no store, nor its checkpoints, #17)
    (folder / "app.jsonl").write_text(call("ok") + "not json\n" * 10)
    q = folder / "rejects.jsonl"
    for _ in range(3):
        _, summary = run(cli, folder, "--quarantine", q)
    assert len(q.read_text().splitlines()) == 10


def test_a_file_is_read_only_up_to_its_size_when_the_run_started(_isolated_home, tmp_path, monkeypatch):
    """A writer appending as fast as ingest reads must not keep the run going: what was appended after the start
    waits for the next run (and nothing is lost)."""
    log = tmp_path / "app.jsonl"
    log.write_text("".join(call(f"g-{i:05d}") for i in range(2000)))
    size = log.stat().st_size
    monkeypatch.setattr(pipeline, "READ_BLOCK", 4096)
    appended = []
    real_blocks = pipeline._blocks

    def growing(fh, limit=None):
        for block in real_blocks(fh, limit):
            with open(log, "a") as out:  # the writer adds a line per block read
                line = call(f"late-{len(appended):05d}")
                out.write(line)
                appended.append(line)
            yield block

    monkeypatch.setattr(pipeline, "_blocks", growing)
    with Store.open(_isolated_home / "m.db") as store:
        result = pipeline.ingest_paths(store, [str(log)], quarantine_path=tmp_path / "q.jsonl")
    assert result.events_stored == 2000 and result.files[0].partial_line_bytes == 0
    assert len(appended) == -(-size // 4096)
    monkeypatch.setattr(pipeline, "_blocks", real_blocks)
    with Store.open(_isolated_home / "m.db") as store:
        again = pipeline.ingest_paths(store, [str(log)], quarantine_path=tmp_path / "q.jsonl")
        assert again.events_stored == len(appended) and store.events.count_events() == 2000 + len(appended)


# ---- 11. a very long line ----


def test_an_over_long_line_is_quarantined_in_flat_memory_and_the_rest_stored(_isolated_home, tmp_path, monkeypatch):
    monkeypatch.setattr(pipeline, "MAX_LINE_BYTES", 200_000)
    monkeypatch.setattr(pipeline, "READ_BLOCK", 4096)
    log = tmp_path / "app.jsonl"
    huge = '{"pad":"' + "x" * 1_000_000 + '"}\n'
    log.write_text(call("before") + huge + call("after") + '{"tail":"' + "y" * 300_000)  # an over-long unfinished tail
    with Store.open(_isolated_home / "m.db") as store:
        result = pipeline.ingest_paths(store, [str(log)], quarantine_path=tmp_path / "q.jsonl")
        assert (result.events_stored, result.rejected) == (2, 1)
        assert result.files[0].partial_line_bytes == 300_009
    (record,) = [json.loads(x) for x in (tmp_path / "q.jsonl").read_text().splitlines()]
    assert record["line"] == 2 and "longer than the limit of 200,000" in record["reason"]
    assert record["raw"] == huge[: pipeline.RAW_KEPT] and record["raw_truncated_from_bytes"] == len(huge) - 1


def test_a_long_line_is_read_without_re_copying_it_per_block(_isolated_home, tmp_path, monkeypatch):
    """Each block of a line used to be appended to the whole pending line (`rest + block`: quadratic, 400 MB took
    121 s): count the bytes such concatenations copy."""
    monkeypatch.setattr(pipeline, "READ_BLOCK", 1024)
    log = tmp_path / "app.jsonl"
    line = '{"pad":"' + "x" * 2_000_000 + '"}\n'
    log.write_text(line + call("after"))
    copied = [0]

    class Block(bytes):
        def __radd__(self, other: bytes) -> bytes:  # `pending + block` lands here
            copied[0] += len(other) + len(self)
            return bytes(other) + bytes(self)

    real_blocks = pipeline._blocks
    monkeypatch.setattr(pipeline, "_blocks", lambda fh, limit=None: (Block(b) for b in real_blocks(fh, limit)))
    with Store.open(_isolated_home / "m.db") as store:
        result = pipeline.ingest_paths(store, [str(log)], quarantine_path=tmp_path / "q.jsonl")
    assert result.events_stored == 1 and result.rejected == 1  # a JSON object without usage
    assert copied[0] < 4 * len(line), copied[0]


# ---- 12. a rejected last line without its newline ----


def test_a_rejected_last_line_without_newline_is_quarantined_once(cli, tmp_path, _isolated_home):
    log = tmp_path / "app.jsonl"
    log.write_text(call("a") + '{"model":"gpt-4o","input_tokens":-1}')
    first, summary = run(cli, log, "--strict")
    assert first.exit_code == 1 and summary["rejected"] == 1
    second, summary = run(cli, log, "--strict")
    assert second.exit_code == 0 and summary["rejected"] == 0
    with open(log, "a") as fh:  # its newline arrives, then a good line: read once, under the right line number
        fh.write("\n" + call("b"))
    third, summary = run(cli, log, "--strict")
    assert third.exit_code == 0 and (summary["events_stored"], summary["rejected"]) == (1, 0), summary
    events = json.loads(cli("events", "--json").stdout)
    assert sorted(e["source"]["line"] for e in events) == [1, 3]
    assert len((_isolated_home / "margindash.quarantine.jsonl").read_text().splitlines()) == 1


# ---- 16. symlinks and the quarantine's mode ----


def test_a_symlink_out_of_a_log_folder_is_not_followed_by_default(cli, tmp_path, _isolated_home):
    secret = tmp_path / "shadow"
    secret.write_text("root:$6$secret-hash:19000:0:99999:7:::\n")
    folder = tmp_path / "logs"
    folder.mkdir()
    (folder / "x.jsonl").symlink_to(secret)
    (folder / "ok.jsonl").write_text(call("fine"))
    (folder / "inside.jsonl").symlink_to(folder / "ok.jsonl")  # inside the folder: read (a duplicate)
    outside_dir = tmp_path / "elsewhere"
    outside_dir.mkdir()
    (outside_dir / "more.jsonl").write_text("root:x\n")
    (folder / "sub").symlink_to(outside_dir)
    result, summary = run(cli, folder)
    assert result.exit_code == 0 and summary["rejected"] == 0
    q = _isolated_home / "margindash.quarantine.jsonl"
    assert not q.exists()
    assert "a symlink out of the folder walked: not followed" in result.stderr
    assert {Path(f["path"]).name for f in summary["files"] if f["note"]} == {"x.jsonl", "sub"}
    result, summary = run(cli, folder, "--follow-symlinks")
    assert summary["rejected"] == 2
    assert stat.S_IMODE(q.stat().st_mode) == 0o600


def test_the_quarantine_is_created_0600_and_an_old_0644_one_is_tightened(_isolated_home, tmp_path):
    q = tmp_path / "q.jsonl"
    q.write_text("")
    os.chmod(q, 0o644)
    quarantine = pipeline.Quarantine(q)
    quarantine.add("f", 1, b"x", pipeline.LineRejected("bad"))
    quarantine.close()
    assert stat.S_IMODE(q.stat().st_mode) == 0o600


# ---- 10. a quarantine on a full disk; a FIFO among the inputs ----


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_quarantine_on_a_full_disk_stops_with_a_clear_message(cli, tmp_path, _isolated_home):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text(call("a1") + "not json\n" + call("a2"))
    b.write_text(call("b1"))
    result = cli("ingest", a, b, "--quarantine", "/dev/full")
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert "cannot write the quarantine /dev/full: No space left on device" in result.stderr
    assert "cannot read" not in result.stderr
    # the batch holding the rejected line was not stored: the store, new and still empty, is not even left (#17)
    assert not (_isolated_home / "margindash.db").exists()
    q = tmp_path / "q.jsonl"
    result = cli("ingest", a, b, "--quarantine", q)  # with space: everything, once
    assert result.exit_code == 0 and stored(_isolated_home / "margindash.db") == 3


def test_a_fifo_in_a_folder_is_skipped_and_a_named_one_is_read_as_a_stream(cli, tmp_path, _isolated_home):
    folder = tmp_path / "logs"
    folder.mkdir()
    os.mkfifo(folder / "pipe.jsonl")
    (folder / "ok.jsonl").write_text(call("fine"))
    result, summary = run(cli, folder)  # would block forever opening the FIFO
    assert result.exit_code == 0 and summary["events_stored"] == 1
    fifo = tmp_path / "named.jsonl"
    os.mkfifo(fifo)

    def write() -> None:
        with open(fifo, "w") as fh:
            fh.write(call("from-pipe"))

    writer = threading.Thread(target=write)
    writer.start()
    result, summary = run(cli, fifo)
    writer.join(timeout=30)
    assert summary["events_stored"] == 1


# ---- 13. tags ----


def test_tags_are_bounded_and_a_too_long_key_is_rejected_not_cut(cli, tmp_path, _isolated_home):
    long_a, long_b = "k" * 128 + "a", "k" * 128 + "b"  # cut at 128 these two keys were one
    log = tmp_path / "app.jsonl"
    log.write_text(
        call("many", tags={f"t{i}": i for i in range(10_000)})
        + call("long-key", tags={long_a: "x", long_b: "y"})
        + call("long-value", tags={"plan": "p" * 513})
        + call("fine", tags={"k" * 128: "v" * 512, **{f"t{i}": i for i in range(63)}})
    )
    _, summary = run(cli, log)
    assert (summary["events_stored"], summary["rejected"]) == (1, 3)
    records = [json.loads(x) for x in (_isolated_home / "margindash.quarantine.jsonl").read_text().splitlines()]
    reasons = [(r["line"], r["field"], r["reason"]) for r in records]
    assert reasons[0] == (1, "tags", "10,000 tags, more than 64")
    assert reasons[1][:2] == (2, "tags") and "longer than 128" in reasons[1][2]
    assert reasons[2][1].startswith("tags.") and "longer than 512" in reasons[2][2]


def test_a_log_swapped_for_a_symlink_after_the_walk_is_not_followed(_isolated_home, tmp_path, monkeypatch):
    secret = tmp_path / "shadow"
    secret.write_text("root:$6$secret-hash:19000:0:99999:7:::\n")
    folder = tmp_path / "logs"
    folder.mkdir()
    log = folder / "x.jsonl"
    log.write_text(call("fine"))
    real_walk = pipeline._walk

    def walk_then_swap(*a, **k):
        found = real_walk(*a, **k)
        log.unlink()
        log.symlink_to(secret)  # the app user swaps it between the walk and the open
        return found

    monkeypatch.setattr(pipeline, "_walk", walk_then_swap)
    with Store.open(_isolated_home / "m.db") as store:
        result = pipeline.ingest_paths(store, [str(folder)], quarantine_path=tmp_path / "q.jsonl")
    assert result.rejected == 0 and not (tmp_path / "q.jsonl").exists()
    assert result.errors and "cannot read" in result.errors[0]
