"""Ingest through the forked reader process (big files) stores exactly what reading in-process stores."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

LINES = 3_000


def _log(path: Path) -> list[str]:
    lines = []
    for i in range(LINES):
        e = {
            "timestamp": f"2026-10-{1 + i % 28:02d}T{i % 24:02d}:00:00Z",
            "customer_id": f"c{i % 13}",
            "event_type": f"f{i % 3}",
            "vendor": "openai",
            "model": "gpt-4o-mini" if i % 5 else "not-a-priced-model",
            "input_tokens": 100 + i,
            "output_tokens": 7 + i % 50,
        }
        if i % 4:
            e["request_id"] = f"req-{i % 2_500}"  # ids repeat: duplicates inside the file
        if i % 97 == 0:
            e["revenue_amount_in_cents"] = i
            e["tags"] = {"plan": "pro"}
        lines.append(json.dumps(e))
        if i % 500 == 7:
            lines.append('{"timestamp": "2026-10-01T00:00:00Z", "model": "gpt-4o", "input_tokens": -1}')  # rejected
    path.write_text("\n".join(lines) + "\n" + '{"timestamp": "2026-10-02T00:00:00Z", "model"')  # a partial last line
    return lines


def _contents(db: Path) -> dict[str, list[tuple]]:
    conn = sqlite3.connect(db)
    try:
        return {
            "events": conn.execute(
                "SELECT k.key, e.ts, e.customer, e.feature, e.model, e.input_tokens, e.output_tokens, e.cost,"
                " e.price_id, e.line, e.extra FROM event_keys k JOIN events e ON e.id = k.id ORDER BY k.key"
            ).fetchall(),
            "rollup": conn.execute("SELECT * FROM rollup_daily ORDER BY 1, 2, 3, 4, 5").fetchall(),
            "customers": conn.execute("SELECT * FROM rollup_customer_daily ORDER BY 1, 2").fetchall(),
            "checkpoint": conn.execute("SELECT identity, offset, line FROM sources").fetchall(),
        }
    finally:
        conn.close()


@pytest.mark.parametrize("batch", ["1000", "7"])
def test_the_reader_process_stores_what_the_in_process_read_stores(cli, tmp_path, monkeypatch, batch):
    log = tmp_path / "usage.jsonl"
    _log(log)
    monkeypatch.setenv("MARGINDASH_BATCH_LINES", batch)
    results = {}
    for mode in ("0", "1"):
        monkeypatch.setenv("MARGINDASH_READER_PROCESS", mode)
        db = tmp_path / f"m{mode}.db"
        r = cli("--db", db, "ingest", log, "--json")
        assert r.exit_code == 0, r.output
        summary = json.loads(r.stdout)
        quarantine = [json.loads(x)["line"] for x in Path(summary["quarantine"]).read_text().splitlines()]
        Path(summary["quarantine"]).unlink()
        again = json.loads(cli("--db", db, "ingest", log, "--json").stdout)  # nothing new: read nothing
        results[mode] = (
            summary["lines_read"],
            summary["events_stored"],
            summary["duplicates_skipped"],
            summary["rejected"],
            summary["files"][0]["partial_line_bytes"],
            quarantine,
            again["lines_read"],
            _contents(db),
        )
    assert results["1"] == results["0"]
    lines_read, stored, duplicates, rejected, partial, quarantined, reread, contents = results["1"]
    assert (lines_read, rejected, len(quarantined), reread) == (LINES + 6, 6, 6, 0)
    assert stored == len(contents["events"]) and stored + duplicates + rejected == lines_read and duplicates > 0
    assert partial > 0 and contents["checkpoint"][0][2] == LINES + 6


def test_a_reader_that_cannot_read_is_an_error_not_a_silent_loss(cli, tmp_path, monkeypatch):
    """The reader process reports what stopped it; the batches it sent before are stored, the checkpoint with them."""
    log = tmp_path / "usage.jsonl"
    _log(log)
    monkeypatch.setenv("MARGINDASH_READER_PROCESS", "1")
    monkeypatch.setenv("MARGINDASH_BATCH_LINES", "500")
    from margindash_cli.ingest import pipeline

    real = pipeline._FileIngest._handle
    calls = {"n": 0}

    def failing(self, raw, line_no, batch):
        calls["n"] += 1
        if calls["n"] == 1_200:
            raise OSError(5, "Input/output error")
        return real(self, raw, line_no, batch)

    monkeypatch.setattr(pipeline._FileIngest, "_handle", failing)
    r = cli("ingest", log, "--json")
    summary = json.loads(r.stdout)
    assert r.exit_code != 0 and "Input/output error" in summary["files"][0]["error"]
    conn = sqlite3.connect(Path(tmp_path / "home" / "margindash.db"))
    (line,) = conn.execute("SELECT line FROM sources").fetchone()
    assert line == 1_000  # two whole batches of 500 lines were stored, with their checkpoint
    monkeypatch.setattr(pipeline._FileIngest, "_handle", real)
    r = cli("ingest", log, "--json")  # the next run goes on from there
    assert r.exit_code == 0 and json.loads(r.stdout)["lines_read"] == LINES + 6 - 1_000
