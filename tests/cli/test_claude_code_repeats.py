"""#20: a Claude Code line that repeats a recent call (another content block of the same response) is not validated
again, and a repeat whose usage is no larger than an earlier one of its batch is dropped before pricing. Both must
change nothing: the store, the counts and the quarantine equal those of the whole way (every line validated, every
call priced), on logs built to find the edges (a repeat with a broken timestamp, a token count of true or 1.0,
usage that grows and shrinks, a message split over batches and files, a call quarantined for its cost).

Randomized: the seed comes from MARGINDASH_TEST_SEED (else fixed) and is in every failure message."""

from __future__ import annotations

import os
import random
from pathlib import Path

import orjson
import pytest
from invariants import rollup_mismatches

from margindash_cli.ingest import canonical, pipeline
from margindash_cli.ingest.pipeline import ingest_paths
from margindash_cli.pricing.run import LazyPricer
from margindash_cli.store.db import Store

SEED = int(os.environ.get("MARGINDASH_TEST_SEED", "2020"))
TABLES = ("events", "event_keys", "event_blocks", "rollup_daily", "rollup_customer_daily", "rollup_customer_monthly")


def _session(rng: random.Random, n_messages: int, first: int) -> list[bytes]:
    lines = []
    for m in range(first, first + n_messages):
        usage = {
            "input_tokens": rng.randrange(1, 50),
            "cache_read_input_tokens": rng.randrange(0, 5000),
            "cache_creation_input_tokens": rng.choice([0, 300]),
            "output_tokens": rng.randrange(1, 400),
        }
        model = rng.choice(["claude-sonnet-4-20250514", "claude-opus-4-1-20250805", "claude-unknown-9"])
        for b in range(rng.choice([1, 2, 3, 4])):
            u = dict(usage)
            edge = rng.random()
            if b and edge < 0.15:
                u["output_tokens"] += rng.randrange(1, 50)  # grew while streaming
            elif b and edge < 0.2:
                u["output_tokens"] = max(0, u["output_tokens"] - 1)  # smaller: never the one kept
            elif b and edge < 0.23:
                u["cache_creation_input_tokens"] = True if u["cache_creation_input_tokens"] == 1 else 1.0
            elif edge > 0.995:
                u["output_tokens"] = 10**12  # a corrupt count: its cost is past $9M and it is quarantined
            usage = u if rng.random() < 0.5 else usage
            line = {
                "type": "assistant",
                "sessionId": "s",
                "version": "1.0.98",
                "uuid": f"u{m}-{b}",
                "requestId": f"req_{m}",
                "timestamp": rng.choice(
                    [f"2026-09-{1 + m % 20:02d}T{b:02d}:{m % 60:02d}:00.{b}00Z"] * 30 + ["yesterday", 17]
                ),
                "message": {"id": f"msg_{m}", "role": "assistant", "model": model, "usage": u},
            }
            if rng.random() < 0.05:
                line["costUSD"] = rng.choice([0.25, 1])
            lines.append(orjson.dumps(line))
        if rng.random() < 0.5:
            lines.append(
                orjson.dumps({"type": "user", "sessionId": "s", "version": "1.0.98", "message": {"role": "user"}})
            )
    return lines


def _dump(path: Path) -> dict[str, list[tuple]]:
    import sqlite3

    conn = sqlite3.connect(path)
    out = {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in TABLES}
    conn.close()
    return out


def _run(tmp_path: Path, name: str, logs: Path) -> tuple[list[tuple], dict, list[dict]]:
    db = tmp_path / f"{name}.db"
    quarantine = tmp_path / f"{name}.quarantine.jsonl"
    store = Store.open(db)
    counts = []
    for paths in ([str(logs / "a")], [str(logs)]):
        res = ingest_paths(store, paths, quarantine_path=quarantine, pricer=LazyPricer(store))
        counts.append(
            [
                (f.path, f.lines_read, f.events_stored, f.duplicates, f.updated, f.rejected, f.not_calls)
                for f in res.files
            ]
        )
    assert rollup_mismatches(store.conn) == [], f"seed {SEED}"
    store.close()
    rejected = [orjson.loads(x) for x in quarantine.read_bytes().splitlines()] if quarantine.exists() else []
    return counts, _dump(db), rejected


@pytest.mark.parametrize("reader_process", ["0", "1"])
@pytest.mark.parametrize("batch", ["7", "50000"])
def test_repeated_messages_store_what_the_whole_way_stores(tmp_path, monkeypatch, reader_process, batch):
    monkeypatch.setenv("MARGINDASH_READER_PROCESS", reader_process)
    monkeypatch.setenv("MARGINDASH_BATCH_LINES", batch)
    rng = random.Random(SEED)
    logs = tmp_path / "logs"
    (logs / "a").mkdir(parents=True)
    (logs / "b").mkdir()
    one = _session(rng, 120, 0)
    (logs / "a" / "one.jsonl").write_bytes(b"\n".join(one) + b"\n")
    # a side chain: replays part of the first session (some blocks grown since) and adds messages of its own
    replay = one[100:] + _session(rng, 40, 110)
    (logs / "b" / "side.jsonl").write_bytes(b"\n".join(replay) + b"\n")

    validated, shadowed = [], []
    validate, shadow = canonical.validate, pipeline._shadowed
    monkeypatch.setattr(canonical, "validate", lambda p: validated.append(1) or validate(p))
    monkeypatch.setattr(pipeline, "_shadowed", lambda batch: shadowed.append(len(out := shadow(batch))) or out)
    fast = _run(tmp_path, "fast", logs)
    calls = sum(b'"assistant"' in x for x in one + replay)  # each file is read once (the re-run skips a)
    if reader_process == "0":  # (a forked reader counts in its own process)
        assert 0 < len(validated) < calls * 0.8 and sum(shadowed) > 0, f"seed {SEED}: repeats were met"
    monkeypatch.setattr(canonical, "validate", validate)
    monkeypatch.setattr(
        pipeline._FileIngest, "_normalize", lambda self, obj: canonical.normalize(obj, self.fmt, self.maps)
    )
    monkeypatch.setattr(pipeline, "_shadowed", lambda batch: set())
    whole = _run(tmp_path, "whole", logs)

    assert fast[0] == whole[0], f"seed {SEED}"
    for table in TABLES:
        assert fast[1][table] == whole[1][table], f"{table} differs (seed {SEED})"
    assert fast[2] == whole[2], f"seed {SEED}: the quarantines differ"
    totals = [sum(f[i] for f in run) for run in fast[0] for i in (3, 4, 5)]
    assert totals[0] > 0 and totals[2] > 0, f"seed {SEED}: the log met repeats and rejections"
