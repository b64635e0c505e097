"""#17: `reconcile` at 80 and 160 columns. At 80 the breakdown columns go first, by a stated order (render/costs.py's
RECONCILE_DROP), a caption says which and that --json has every column; provider, the key column, the model and
computed, billed and gap stay, every amount whole and no column zero wide. Before, at 80 its provider, day and model
columns were drawn zero wide and its amounts cut (`-$2.…`).

The bills are the shipped CUR and FOCUS samples (tests/fixtures/reconcile/), the calls are logged against them, and
the prices are set with `prices set` so the computed costs do not move with the shipped catalog. Regenerate with
UPDATE_SNAPSHOTS=1 and review by eye.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from margindash_cli.cli.render.costs import RECONCILE_DROP

FIXTURES = Path(__file__).parent.parent / "fixtures" / "reconcile"
SNAPSHOTS = Path(__file__).parent.parent / "snapshots"
FINE_TUNE = "ft:gpt-4o-mini-2024-07-18:acme-corp:support-triage:9xYzAbCd"  # 59 characters
PRICES = [  # key, input, output (USD per million tokens)
    ("bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0", "3.30", "16.50"),
    ("azure/gpt-4o-mini-2024-07-18", "0.15", "0.60"),
    ("google/gemini-2.5-flash", "0.30", "2.50"),
    (f"azure/{FINE_TUNE}", "0.30", "1.20"),
]
CALLS = [  # vendor, model, input tokens, output tokens, how many
    ("bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", 185_000, 8_400, 10),
    ("azure", "gpt-4o-mini-2024-07-18", 1_000_000, 120_000, 9),
    ("google", "gemini-2.5-flash", 400_000, 50_000, 10),
    ("azure", FINE_TUNE, 2_500_000, 400_000, 40),  # logged, not on the bill: a long id and four-digit amounts
]


def snapshot(name: str, text: str) -> str:
    path = SNAPSHOTS / name
    if os.environ.get("UPDATE_SNAPSHOTS"):
        path.write_text(text)
    return path.read_text()


@pytest.fixture
def billed_store(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("MARGINDASH_NOW", "2026-07-20T00:00:00Z")
    for key, inp, out in PRICES:
        assert cli("prices", "set", key, "--input", inp, "--output", out).exit_code == 0
    log = tmp_path / "usage.jsonl"
    lines = []
    for vendor, model, tokens_in, tokens_out, n in CALLS:
        for i in range(n):
            call = {
                "timestamp": f"2026-07-14T09:{i:02d}:00Z",
                "request_id": f"{vendor}-{i}",
                "customer_id": "acme",
                "event_type": "search",
                "vendor": vendor,
                "model": model,
                "input_tokens": tokens_in,
                "output_tokens": tokens_out,
            }
            lines.append(json.dumps(call) + "\n")
    log.write_text("".join(lines))
    assert cli("ingest", log).exit_code == 0
    for bill in ("cur_bedrock_sample.csv", "focus_sample.csv"):
        assert cli("costs", "import", FIXTURES / bill).exit_code == 0
    return cli


def _folded(out: str) -> bool:
    """Does a row run onto a second line (a cell folded): a body line whose first cell is empty."""
    return any(row[0] == "" for row in _cells(out))


def _cells(out: str) -> list[list[str]]:
    return [[c.strip() for c in line.split("│")[1:-1]] for line in out.splitlines() if line.startswith("│")]


@pytest.mark.parametrize("width", [80, 160])
@pytest.mark.parametrize("by", ["day", "month", "model", "project"])
def test_reconcile_snapshot(billed_store, monkeypatch, by, width):
    monkeypatch.setenv("COLUMNS", str(width))
    r = billed_store("reconcile", "--by", by)
    assert r.exit_code in (0, 3), r.output  # 3: a day is off its bill by more than the tolerance
    out = r.stdout
    assert "…" not in out and max(len(line) for line in out.splitlines()) <= width, out
    header = next(line for line in out.splitlines() if line.startswith("┃"))
    heads = [h.strip() for h in header.split("┃")[1:-1]]
    assert all(heads) and {"provider", "computed", "billed", "gap"} <= set(heads)
    assert by == "model" or by in heads
    assert all(len(row) == len(heads) for row in _cells(out))  # no column drawn zero wide (an empty cell is a space)
    caption = " ".join(out.split())
    if width == 80:
        assert "--json has every column" in caption
        hidden = caption.split("hidden to fit the terminal: ")[1].split(" (--json")[0].split(", ")
        assert hidden == list(RECONCILE_DROP[: len(hidden)])  # by the stated order
        assert hidden == list(RECONCILE_DROP) or not _folded(out)  # a headline column folds only when all went
    assert out == snapshot(f"reconcile_by_{by}_{width}.txt", out)


def test_reconcile_at_80_columns_keeps_every_amount_whole(billed_store, monkeypatch):
    wide = billed_store("reconcile", "--by", "model", "--json")
    rows = json.loads(wide.stdout)["rows"]
    monkeypatch.setenv("COLUMNS", "80")
    out = billed_store("reconcile", "--by", "model").stdout
    drawn = [c for row in _cells(out) for c in row]
    for row in rows:
        for field in ("computed_usd", "billed_usd", "gap_usd"):
            amount = f"{float(row[field]):,.2f}"  # the table's rounding of the exact amount, for display only
            assert any(c.lstrip("-$<") == amount.lstrip("-") for c in drawn), (field, row[field], out)
    assert "rate vs ours: the bill's amount" not in out  # its note goes with the column
    monkeypatch.setenv("COLUMNS", "200")
    assert "rate vs ours: the bill's amount" in billed_store("reconcile", "--by", "model").stdout
