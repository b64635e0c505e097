"""#17: at 80 columns ids and names are never cut; whole columns are dropped by a stated priority, and a caption
says which; written to a pipe with no COLUMNS, a table has its full width. (Snapshots: test_snapshots_80_160.py.)"""

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
    assert len(columns) == 4  # time, customer, model, cost: the headline columns; the request id went last
    caption = " ".join(out.split())
    assert "hidden to fit the terminal: cached, in, out, feature, source, request id" in caption
    assert "--json has every column" in caption
    assert columns[0] == "2026-03-01 10:00:022026-03-01 10:00:012026-03-01 10:00:00"  # each time on one line
    monkeypatch.setenv("COLUMNS", "160")
    wide = cli("events").stdout
    _fits(wide, 160)
    assert LONG_CUSTOMER in wide and LONG_MODEL in wide and "source" in wide  # on one line each


def test_prices_list_at_80_columns_shows_provider_and_model_whole(cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    out = cli("prices", "list").stdout
    _fits(out, 80)
    # the whole catalog has ids too long for separate provider and model columns: one provider/model column
    assert "│ bedrock/amazon.nova-2-multimodal-embeddings-v1:0 " in out
    assert "│ anthropic/claude-3-5-haiku-20241022 " in out
    assert "hidden to fit the terminal:" in out
    monkeypatch.setenv("COLUMNS", "160")
    wide = cli("prices", "list").stdout
    _fits(wide, 160)
    assert "cache read" in wide and "source" in wide


def test_events_at_80_columns_with_ordinary_ids_keep_each_call_on_one_line(cli, tmp_path, monkeypatch):
    log = tmp_path / "a.jsonl"
    rows = [
        {
            "timestamp": f"2026-03-01T10:00:0{i}Z",
            "customer_id": "acme-corp",
            "event_type": "chat",
            "vendor": "anthropic",
            "model": "claude-sonnet-4-20250514",
            "input_tokens": 6018,
            "output_tokens": 416,
            "request_id": f"req_011CU2Nx3yJ9pQ8rT5uW7z{i}",
        }
        for i in range(3)
    ]
    log.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert cli("ingest", log).exit_code == 0
    monkeypatch.setenv("COLUMNS", "80")
    out = cli("events").stdout
    _fits(out, 80)
    body = [line for line in out.splitlines() if line.startswith("│")]
    assert len(body) == 3  # one line per call: nothing folded
    assert all("acme-corp" in line and "claude-sonnet-4-20250514" in line for line in body)
    assert body[0].startswith("│ 2026-03-01 10:00:02 │")


def test_a_table_written_to_a_pipe_without_columns_has_its_full_width(cli, tmp_path, monkeypatch):
    _seed(cli, tmp_path)
    monkeypatch.delenv("COLUMNS")  # the runner's stdout is not a terminal: as `margindash events | less -S`
    out = cli("events").stdout
    assert "…" not in out and "hidden to fit the terminal" not in out
    body = [line for line in out.splitlines() if line.startswith("│")]
    assert len(body) == 3 and all(LONG_CUSTOMER in line and LONG_MODEL in line and "a.jsonl:" in line for line in body)
    assert max(len(line) for line in out.splitlines()) > 160


def test_budget_list_at_80_columns_drops_used_rather_than_cut_an_amount_or_fold_a_name(cli, tmp_path, monkeypatch):
    _seed(cli, tmp_path)
    long_name = "org-monthly-spending-limit-for-production-eu-1"
    assert cli("budget", "set", long_name, "--scope", "org", "--limit-usd", "1000", "--period", "month").exit_code == 0
    assert cli("budget", "set", "feat", "--scope", "org", "--limit-usd", "50", "--period", "week").exit_code == 0
    monkeypatch.setenv("COLUMNS", "80")
    out = cli("budget", "list").stdout
    _fits(out, 80)  # before: `$1,000.…` and `lev…`
    body = [line for line in out.splitlines() if line.startswith("│")]
    assert len(body) == 2 and long_name in body[1] and "$1,000.00" in body[1]  # one line per budget
    caption = " ".join(out.split())
    assert "hidden to fit the terminal: projected, period, scope, used (--json has every field)" in caption
    monkeypatch.setenv("COLUMNS", "160")
    wide = cli("budget", "list").stdout
    assert "used" in wide and "scope" in wide and "hidden" not in wide


def test_prices_show_and_diff_at_80_columns_drop_the_rarer_rates_not_squeeze_every_column(cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    out = cli("prices", "show", "claude-sonnet-4-20250514").stdout
    _fits(out, 80)  # before: since and source one character wide, a cell per letter down the page
    header = next(line for line in out.splitlines() if line.startswith("┃"))
    assert [h.strip() for h in header.split("┃")[1:5]] == ["since", "source", "input", "output"]
    assert "hidden to fit the terminal: service tiers, windows, media" in " ".join(out.split())
    diff = cli("prices", "diff").stdout
    _fits(diff, 80)
    header = next(line for line in diff.splitlines() if line.startswith("┃"))
    assert [h.strip() for h in header.split("┃")[1:4]] == ["provider", "model", "winner"]
    assert "hidden to fit the terminal: why, kind, differs on (--json has every column)" in " ".join(diff.split())
    monkeypatch.setenv("COLUMNS", "200")
    assert "cache write 1h" in cli("prices", "show", "claude-sonnet-4-20250514").stdout
