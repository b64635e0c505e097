"""Ingest with the fast path (msgspec, `canonical.decode_common`) stores exactly what ingest without it stores
(MARGINDASH_INGEST_FASTPATH=0): every table of the store, the quarantine and the summary, read in-process and by the
reader process, in one transaction and in many."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

LINES = 2_400


def _log(path: Path) -> None:
    """A mixed log: common calls (the fast path), calls with rarer fields, provider responses, and bad lines."""
    out = ['\ufeff{"timestamp": "2026-10-01T00:00:00Z", "model": "gpt-4o", "input_tokens": 3}']  # a BOM on line 1
    for i in range(LINES):
        e: dict = {
            "timestamp": f"2026-10-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00.{i % 1000:03d}Z",
            "customer_id": f" c{i % 13} " if i % 11 == 0 else f"c{i % 13}",
            "event_type": f"f{i % 3}",
            "segment": ["free", "pro", ""][i % 3],
            "vendor": ["openai", "OpenAI", "anthropic", ""][i % 4],
            "model": ["gpt-4o-mini", "claude-sonnet-4-20250514", "gpt-4o", "not-a-priced-model"][i % 4],
            "input_tokens": 100 + i,
            "output_tokens": 7 + i % 50,
            "cached_input_tokens": (i % 5) * 10,
        }
        if i % 4:
            e["request_id"] = f"req-{i % 1_900}"  # ids repeat: duplicates inside the file
        kind = i % 23
        if kind == 1:
            e["revenue_amount_in_cents"] = i
        elif kind == 2:
            e["tags"] = {"plan": "pro"}
        elif kind == 3:
            e["cost_usd"] = "0.0015"
        elif kind == 4:
            e["output_tokens"] = 12.0  # a float count: accepted by the whole way only
        elif kind == 5:
            e["input_tokens"] = -1  # rejected
        elif kind == 6:
            e["customer_id"] = "bad\u0000id"  # rejected: a NUL
        elif kind == 7:
            e["service_tier"] = "batch"
        elif kind == 8:
            e["timestamp"] = 1790000000 + i  # epoch seconds
        elif kind == 9:
            e["feature"] = e.pop("event_type")  # an alias
        elif kind == 10:
            e["response_id"] = f"resp-{i}"
        elif kind == 11:
            e = {
                "timestamp": e["timestamp"],
                "customer_id": "c1",
                "response": {
                    "id": f"chatcmpl-{i}",
                    "object": "chat.completion",
                    "model": "gpt-4o-mini",
                    "usage": {"prompt_tokens": 50 + i, "completion_tokens": 9, "total_tokens": 59 + i},
                },
            }
        elif kind == 12:
            e = {
                "timestamp": e["timestamp"],
                "customer_id": "c2",
                "response": {
                    "id": f"msg_{i}",
                    "type": "message",
                    "model": "claude-sonnet-4-20250514",
                    "usage": {"input_tokens": 40, "output_tokens": 3, "cache_read_input_tokens": 100},
                },
            }
        elif kind == 13:
            e["timestamp"] = "2026-10-01 08:00:00+02:00"
        elif kind == 14:
            e["model"] = "  "  # rejected: no model
        line = json.dumps(e, ensure_ascii=i % 2 == 0)
        if kind == 15:
            line = line[:-1] + ', "model": "gpt-4o"}'  # a duplicate key: the last one wins
        elif kind == 16:
            line = line[:-5]  # broken JSON
        elif kind == 17:
            line = line.replace('"c', '"\\ud800c', 1)  # a lone surrogate: not valid JSON
        elif kind == 18:
            line += "\r"  # a CRLF line ending
        out.append(line)
        if i % 300 == 0:
            out.append("")  # a blank line
        if i == 1_000:  # a run of provider lines: the fast path is then only tried now and then, and comes back
            for j in range(700):
                response = {"id": f"chatcmpl-run-{j}", "object": "chat.completion", "model": "gpt-4o-mini"}
                response["usage"] = {"prompt_tokens": 10 + j, "completion_tokens": 2, "total_tokens": 12 + j}
                out.append(json.dumps({"timestamp": "2026-10-09T00:00:00Z", "customer_id": "c3", "response": response}))
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


CLOCK_COLUMNS = {
    "applied_at",
    "updated_at",
    "recorded_at",
}  # when a migration ran, a checkpoint moved, a price was stored


def _contents(db: Path) -> dict[str, list[tuple]]:
    """Every row of every table of the store (but the wall-clock columns), in a stable order."""
    conn = sqlite3.connect(db)
    try:
        out = {}
        for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").fetchall():
            cur = conn.execute(f'SELECT * FROM "{table}"')
            keep = [i for i, d in enumerate(cur.description) if d[0] not in CLOCK_COLUMNS]
            out[table] = sorted((tuple(row[i] for i in keep) for row in cur.fetchall()), key=repr)
        return out
    finally:
        conn.close()


@pytest.mark.parametrize(("reader_process", "batch"), [("0", "100000"), ("1", "333")])
def test_the_fast_path_stores_what_the_whole_way_stores(cli, tmp_path, monkeypatch, reader_process, batch):
    log = tmp_path / "usage.jsonl"
    _log(log)
    monkeypatch.setenv("MARGINDASH_READER_PROCESS", reader_process)
    monkeypatch.setenv("MARGINDASH_BATCH_LINES", batch)
    results = {}
    for fast in ("1", "0"):
        monkeypatch.setenv("MARGINDASH_INGEST_FASTPATH", fast)
        db = tmp_path / f"fast{fast}.db"
        r = cli("--db", db, "ingest", log, "--json")
        assert r.exit_code == 0, r.output
        summary = json.loads(r.stdout)
        quarantine = Path(summary["quarantine"])
        records = [json.loads(x) for x in quarantine.read_text().splitlines()]
        quarantine.unlink()
        summary["quarantine"] = None
        results[fast] = (summary, records, _contents(db))
    for table in results["0"][2]:
        assert results["1"][2][table] == results["0"][2][table], table
    assert results["1"] == results["0"]
    summary, records, contents = results["1"]
    # The file exercises what it should: stored calls, duplicates, rejections of several kinds, priced calls.
    assert summary["events_stored"] > 1_500 and summary["duplicates_skipped"] > 100
    assert {r["field"] for r in records} >= {"input_tokens", "customer_id", "model", None}
    assert len(contents["events"]) == summary["events_stored"] and contents["rollup_daily"]
    assert any(row[0] for row in contents["sources"])
