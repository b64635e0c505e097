"""#17: table snapshots of `events`, `prices list` and `simulate` at 80 and 160 columns.

Deterministic: the calls are tests/fixtures/narrow/calls.jsonl, every model they use and every candidate is priced
with `prices set` (a user price wins over the shipped catalog, so the costs do not move when it does), `prices list`
lists only those user prices (`--provider` of made-up providers), and the clock is MARGINDASH_NOW. Scores come from
the shipped benchmarks.csv, as in test_simulate.py. Regenerate with UPDATE_SNAPSHOTS=1 and review by eye.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

FIXTURE = Path(__file__).parent.parent / "fixtures" / "narrow" / "calls.jsonl"
SNAPSHOTS = Path(__file__).parent.parent / "snapshots"
NOW = "2026-10-09T00:00:00Z"

PRICES = [  # key, input, output, cache read, context window
    ("anthropic/claude-sonnet-4-20250514", "3.00", "15.00", "0.30", 200_000),
    ("openai/gpt-4o", "2.50", "10.00", "1.25", 128_000),
    ("openai/gpt-4o-mini", "0.15", "0.60", "0.075", 128_000),
    ("google/gemini-2.5-flash", "0.30", "2.50", "0.03", 1_000_000),
    ("openai/gpt-4.1-nano", "0.10", "0.40", "0.025", 1_000_000),
    ("selfhost/llama-3.3-70b-instruct-long-context-finetune-v2", "0.05", "0.05", None, None),  # no score
    ("acme-cloud/summarizer-large-2026-09-30-preview-long-name", "0.80", "3.20", "0.08", 64_000),
    # two ids too long for separate provider and model columns at 80: one fits as provider/model, one (63
    # characters, as the longest of the shipped catalog) folds whole
    ("acme-labs/accounts/acme-labs/models/llama-3-1-8b-instruct", "0.20", "0.20", None, None),
    ("acme-labs/accounts/acme-labs/models/deepseek-r1-0528-distill-qwen3-8b-v1", "0.90", "0.90", None, None),
]
CANDIDATES = (
    "openai/gpt-4o,google/gemini-2.5-flash,openai/gpt-4.1-nano,openai/gpt-4o-mini,"
    "selfhost/llama-3.3-70b-instruct-long-context-finetune-v2"
)


def snapshot(name: str, text: str) -> str:
    """The stored snapshot (written first when UPDATE_SNAPSHOTS=1; review it by eye before committing)."""
    path = SNAPSHOTS / name
    if os.environ.get("UPDATE_SNAPSHOTS"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
    return path.read_text()


@pytest.fixture
def store(cli, monkeypatch):
    monkeypatch.setenv("MARGINDASH_NOW", NOW)
    for key, inp, out, cached, window in PRICES:
        args = ["prices", "set", key, "--input", inp, "--output", out]
        if cached:
            args += ["--cache-read", cached]
        if window:
            args += ["--context-window", str(window)]
        assert cli(*args).exit_code == 0
    assert cli("ingest", FIXTURE).exit_code == 0
    return cli


COMMANDS = {
    "events": ("events",),
    "prices_list": ("prices", "list", "--search", "-"),  # the user prices only: see the filter below
    "simulate": ("simulate", "--candidates", CANDIDATES, "--since", "2026-10-01", "--until", "2026-10-08"),
}


@pytest.mark.parametrize("width", [80, 160])
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_table_snapshot(store, monkeypatch, command, width):
    monkeypatch.setenv("COLUMNS", str(width))
    args = COMMANDS[command]
    if command == "prices_list":
        outs = [store(*args[:2], "--provider", p).stdout for p in ("acme-cloud", "selfhost", "acme-labs")]
        out = "\n".join(outs)
    else:
        result = store(*args)
        assert result.exit_code == 0, result.output
        out = result.stdout
    assert "…" not in out and max(len(line) for line in out.splitlines()) <= width
    assert out == snapshot(f"{command}_{width}.txt", out)
