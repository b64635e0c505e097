"""#17: a table that fits at its natural width is drawn row by row (`kit._draw_plain`), not by Rich cell by cell.
It must be Rich's table to the byte: plain and in colour, left and right columns, styled cells, wide characters,
a title and caption wider than the table, a footer.

Randomized: the seed comes from MARGINDASH_TEST_SEED (else a fixed one) and is printed on failure.
"""

from __future__ import annotations

import io
import os
import random
import sys

import pytest
from rich.text import Text

from margindash_cli.cli.render import kit

SEED = int(os.environ.get("MARGINDASH_TEST_SEED", "1717"))
WORDS = ["acme", "глоб", "日本語", "(no usage)", "-$1.00", "<$0.01", "x", "", "a b c", "ｆｕｌｌ"]


def rich_and_ours(rng: random.Random) -> tuple[str, str]:
    n = rng.randint(1, 6)
    cols = [(rng.choice(WORDS) or "h", rng.choice(["left", "right"])) for _ in range(n)]
    rows = []
    for _ in range(rng.randint(0, 8)):
        row = []
        for _ in range(n):
            word = rng.choice(WORDS)
            row.append(Text(word, style=rng.choice(["red", "bold red"])) if rng.random() < 0.3 else word)
        rows.append(row)
    footer = [rng.choice(WORDS) for _ in range(n)] if rng.random() < 0.5 else None
    title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 12))) or None
    caption = " ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 20))) or None
    out = []
    for draw in ("ours", "rich"):
        buf = io.StringIO()
        sys.stdout, saved = buf, sys.stdout
        try:
            console = kit.stdout_console()
            if draw == "ours":
                kit.print_fitted(console, title, cols, rows, footer=footer, caption=caption)
            else:
                console.print(kit.table(title, cols, rows, footer=footer, caption=caption))
        finally:
            sys.stdout = saved
        out.append(buf.getvalue())
    return out[0], out[1]


@pytest.mark.parametrize("colour", [False, True])
def test_drawn_row_by_row_is_richs_table_to_the_byte(monkeypatch, colour):
    monkeypatch.setenv("COLUMNS", "400")  # wide enough that every table fits: the row-by-row path
    if colour:
        monkeypatch.delenv("NO_COLOR")
        monkeypatch.setenv("FORCE_COLOR", "1")
        monkeypatch.setenv("TERM", "xterm-256color")
    rng = random.Random(f"{SEED}-{colour}")
    for i in range(200):
        ours, theirs = rich_and_ours(rng)
        assert ours == theirs, f"MARGINDASH_TEST_SEED={SEED} case {i}"


def _printed(cols, rows, **kwargs) -> str:
    buf = io.StringIO()
    sys.stdout, saved = buf, sys.stdout
    try:
        kit.print_fitted(kit.stdout_console(), None, cols, rows, **kwargs)
    finally:
        sys.stdout = saved
    return buf.getvalue()


def test_a_table_too_wide_with_nothing_left_to_drop_folds_ids_and_never_cuts_an_amount(monkeypatch):
    monkeypatch.setenv("COLUMNS", "56")
    cols = [("provider", "left"), ("model", "left"), ("computed", "right"), ("billed", "right")]
    rows = [["anthropic", "claude-opus-4-1-20250805", "$1,875.74", "$1,875.74"]]
    out = _printed(cols, rows)
    assert "…" not in out and max(len(line) for line in out.splitlines()) <= 56, out
    body = [[c.strip() for c in line.split("│")[1:-1]] for line in out.splitlines() if line.startswith("│")]
    assert all(len(row) == 4 for row in body) and all(body[0])  # no column zero wide
    assert "".join(r[1] for r in body) == "claude-opus-4-1-20250805" and body[0][2:] == ["$1,875.74", "$1,875.74"]
    # amounts alone wider than the terminal: the table is drawn wider (the terminal wraps it), nothing is cut
    monkeypatch.setenv("COLUMNS", "20")
    out = _printed(cols, rows)
    assert "…" not in out and "$1,875.74 │ $1,875.74" in out
