"""#17: at 80 columns ids and names are never cut; whole columns are dropped by a stated priority, and a caption
says which. (The other tables of the issue's 80-column list are not covered yet.)"""

from __future__ import annotations

import json

LONG_CUSTOMER = "customer-with-a-rather-long-identifier-0001"
LONG_MODEL = "amazon.nova-2-multimodal-embeddings-v1:0"


def _seed(cli, tmp_path):
    log = tmp_path / "a.jsonl"
    rows = [
        {
            "timestamp": f"2026-03-01T10:00:0{i}Z",
            "customer_id": LONG_CUSTOMER,
            "event_type": "summarize-documents",
            "vendor": "bedrock",
            "model": LONG_MODEL,
            "input_tokens": 1000 + i,
            "output_tokens": 5,
            "request_id": f"req-0123456789abcdef-{i}",
        }
        for i in range(3)
    ]
    log.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert cli("ingest", log).exit_code == 0


def _fits(out: str, width: int) -> None:
    assert "…" not in out, out
    assert max(len(line) for line in out.splitlines()) <= width, out


def test_events_at_80_columns_keep_ids_whole_and_say_what_was_hidden(cli, tmp_path, monkeypatch):
    _seed(cli, tmp_path)
    monkeypatch.setenv("COLUMNS", "80")
    out = cli("events").stdout
    _fits(out, 80)
    body = [line.split("│")[1:-1] for line in out.splitlines() if line.startswith("│")]
    columns = ["".join(cells[i].strip() for cells in body) for i in range(len(body[0]))]  # folded cells rejoined
    assert columns[1] == LONG_CUSTOMER * 3 and columns[2] == LONG_MODEL * 3
    assert columns[4] == "".join(f"req-0123456789abcdef-{i}" for i in (2, 1, 0))
    assert "hidden to fit the terminal:" in out and "--json has every column" in " ".join(out.split())
    assert columns[0] == "2026-03-0110:00:022026-03-0110:00:012026-03-0110:00:00"  # wrapped at its space
    monkeypatch.setenv("COLUMNS", "160")
    wide = cli("events").stdout
    _fits(wide, 160)
    assert LONG_CUSTOMER in wide and LONG_MODEL in wide and "source" in wide  # on one line each


def test_prices_list_at_80_columns_shows_provider_and_model_whole(cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    out = cli("prices", "list").stdout
    _fits(out, 80)
    assert "│ bedrock    │ amazon.nova-2-multimodal-embeddings-v1:0" in out
    assert "│ anthropic  │ claude-3-5-haiku-20241022" in out
    assert "hidden to fit the terminal:" in out
    monkeypatch.setenv("COLUMNS", "160")
    wide = cli("prices", "list").stdout
    _fits(wide, 160)
    assert "cache read" in wide and "source" in wide
