"""`report --by day|week|month --chart`: plain-text bars on one scale, margin % around one zero line."""

from __future__ import annotations

from decimal import Decimal

from test_report_cli import build_store

from margindash_cli.cli.render import textchart
from margindash_cli.cli.render.textchart import Point


def test_bars_share_one_scale_and_a_positive_amount_is_never_invisible():
    assert textchart.bar(Decimal(10), Decimal(10), 8) == "█" * 8
    assert textchart.bar(Decimal(5), Decimal(10), 8) == "█" * 4
    assert textchart.bar(Decimal("0.0001"), Decimal(10), 8) == "▏"
    assert textchart.bar(Decimal(0), Decimal(10), 8) == ""
    assert textchart.bar(Decimal(-3), Decimal(10), 8) == ""
    pts = [Point("a", Decimal(100), Decimal(25), Decimal(75)), Point("b", Decimal(50), Decimal(50), Decimal(0))]
    lines = textchart.money_chart(pts, 60)

    def eighths(line):
        return sum(
            8 if ch == "█" else textchart.EIGHTHS.index(ch) for ch in line if ch == "█" or ch in textchart.EIGHTHS[1:]
        )

    a_rev, a_cost, b_rev, b_cost = (eighths(ln) for ln in lines[1:])
    assert abs(a_rev - 2 * b_rev) <= 1 and abs(a_rev - 4 * a_cost) <= 3 and b_rev == b_cost  # one scale for all
    assert "$100.00" in lines[0]


def test_margin_chart_has_one_zero_line_with_losses_left_and_profits_right():
    pts = [
        Point("w1", Decimal(1), Decimal(1), Decimal(50)),
        Point("w2", Decimal(1), Decimal(1), Decimal(-50)),
        Point("w3", Decimal(0), Decimal(1), None),
    ]
    lines = textchart.margin_chart(pts, 60)
    assert "-50% to 50%" in lines[0]
    zero = {ln.index("│") for ln in lines[1:]}
    assert len(zero) == 1  # the same column on every row
    col = zero.pop()
    w1, w2, w3 = lines[1:]
    assert "█" in w1[col + 1 :] and "█" not in w1[:col]
    assert "█" in w2[:col] and "█" not in w2[col + 1 :]
    assert "█" not in w3 and w3.rstrip().endswith("-")
    # the same percentage draws the same length whichever side it is on (one scale)
    assert abs(w1[col + 1 :].count("█") - w2[:col].count("█")) <= 1


def test_report_chart_through_the_cli_is_plain_text(tmp_path, cli, monkeypatch):
    db = build_store(tmp_path, cli)
    r = cli("--db", db, "report", "--by", "day", "--chart")
    assert r.exit_code == 0, r.output
    out = r.stdout
    assert "\x1b" not in out
    assert out.startswith("Revenue and cost per day")
    assert "2026-10-01 R" in out and "$10.00" in out
    assert "Margin % per day" in out and "│" in out
    assert "+?" in out  # 2026-10-04 has an unpriced call: its cost is unknown, and the chart says so
    r = cli("--db", db, "report", "--by", "customer", "--chart")
    assert r.exit_code == 2 and "--chart" in r.stderr
    r = cli("--db", db, "report", "--by", "week", "--chart", "--json")
    assert r.exit_code == 2
