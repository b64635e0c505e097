"""Crash safety of the transaction small files share (#20): `kill -9` of an `ingest` of a folder of many small files
at random moments. After every kill each file's stored calls are exactly those of the lines up to its checkpoint:
a file is read whole with its checkpoint, or up to a batch's checkpoint, or not at all; never calls without the
checkpoint that covers them, nor a checkpoint past a call that is not stored. A re-run then leaves exactly what a clean run leaves. No assertion depends on
where a kill lands (the machine's load decides that), only on what the store holds after it. The random choices
take their seed from MARGINDASH_TEST_SEED (else a fixed one), printed at the start."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from invariants import check_store, connect, has_table
from processes import env, run, seeded_rng, spawn

from margindash_cli.store.schema import event_key

KILLS = 12
FILES = 60


def write_folder(tmp_path: Path, rng) -> tuple[Path, dict[Path, set[int]]]:
    folder = tmp_path / "sessions"
    folder.mkdir()
    keys: dict[Path, dict[int, int]] = {}
    for f in range(FILES):
        path = folder / f"s{f:03d}.jsonl"
        lines, own = [], {}
        for i in range(rng.randrange(3, 400)):
            rid = f"f{f}-r{i}"  # each file's own request ids: a call's file and line are known from its key
            own[event_key("r:" + rid)] = i + 1
            lines.append(
                json.dumps(
                    {
                        "timestamp": f"2026-09-{1 + f % 28:02d}T10:{i % 60:02d}:00Z",
                        "customer_id": f"cus_{rng.randrange(9)}",
                        "request_id": rid,
                        "vendor": "openai",
                        "model": "gpt-4o-mini",
                        "input_tokens": rng.randrange(1, 5000),
                        "output_tokens": rng.randrange(0, 800),
                    }
                )
            )
        path.write_text("\n".join(lines) + "\n")
        keys[path] = own
    return folder, keys


def each_file_whole_or_unread(db: Path, got: dict, keys: dict[Path, dict[int, int]]) -> tuple[int, int]:
    """(files read whole, files not read at all), asserting that each file's stored calls are those of its lines
    up to its checkpoint."""
    conn = connect(db)
    try:
        lines = dict(conn.execute("SELECT path, line FROM sources").fetchall()) if has_table(conn, "sources") else {}
    finally:
        conn.close()
    read = unread = 0
    for path, own in keys.items():
        done = lines.get(str(path.resolve()), 0)
        stored = own.keys() & got.keys()
        covered = {key for key, line in own.items() if line <= done}
        assert stored == covered, (
            f"{path.name}: checkpoint at line {done}; {len(covered - stored)} call(s) it covers not stored,"
            f" {len(stored - covered)} stored past it"
        )
        read += done == len(own)
        unread += not done
    return read, unread


def stored_calls(db: Path) -> int:
    """How many calls the store holds now (-1 before it has an events table)."""
    try:
        conn = connect(db)
    except Exception:  # noqa: BLE001 - not created yet
        return -1
    try:
        return conn.execute("SELECT count(*) FROM events").fetchone()[0] if has_table(conn, "events") else -1
    except Exception:  # noqa: BLE001 - mid-migration
        return -1
    finally:
        conn.close()


@pytest.mark.slow
def test_kill_9_ingest_of_many_small_files_leaves_each_file_whole_or_unread(tmp_path):
    rng, seed = seeded_rng("grouped kill -9")
    folder, keys = write_folder(tmp_path, rng)
    logs = tmp_path / "logs"
    clean = tmp_path / "clean.db"
    start = time.perf_counter()
    p = run("--db", clean, "ingest", folder, "--json", env=env(MARGINDASH_BATCH_LINES=30), logs=logs)
    t_clean = time.perf_counter() - start
    assert p.popen.returncode == 0, p.stderr
    expected = check_store(clean)
    assert len(expected) == sum(map(len, keys.values()))  # every line a call

    db = tmp_path / "crash.db"
    stats = {"killed": 0, "killed_mid_run": 0}
    for i in range(KILLS):
        batch = rng.choice([30, 200, 1000, 50_000])  # a group commits every `batch` rows
        before = stored_calls(db)
        proc = spawn("--db", db, "ingest", folder, "--json", env=env(MARGINDASH_BATCH_LINES=batch), logs=logs)
        # half the kills at a random moment of the run, half a random time after its first commit shows
        delay = rng.uniform(0, 0.5 * t_clean)
        killed = (
            proc.kill_after(rng.uniform(0.3 * t_clean, 1.1 * t_clean))
            if i % 2
            else proc.kill_when(lambda: stored_calls(db) > before, delay)  # noqa: B023
        )
        if killed:
            stats["killed"] += 1
        else:
            assert proc.popen.returncode == 0, proc.stderr
        got = check_store(db) if db.exists() else {}
        assert [k for k in got if got[k] != expected.get(k)] == [], f"a stored call differs (seed {seed})"
        if db.exists():
            read, unread = each_file_whole_or_unread(db, got, keys)
            stats["killed_mid_run"] += 0 < len(got) < len(expected)
            if read == FILES:  # complete: start a fresh store, so the next kill lands in a run with work to do
                for suffix in ("", "-wal", "-shm", ".lock"):
                    Path(str(db) + suffix).unlink(missing_ok=True)
    final = run("--db", db, "ingest", folder, "--json", env=env(), logs=logs)
    assert final.popen.returncode == 0, final.stderr
    assert check_store(db) == expected
    assert each_file_whole_or_unread(db, check_store(db), keys) == (FILES, 0)
    print(f"\ngrouped kill -9 (seed {seed}): {stats}")
