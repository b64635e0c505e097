"""#17: reports on many groups. A table on a terminal shows 50 rows and one exact `(other N)` row (unless --all);
a pipe, CSV and JSON get every row unless --top is given; every report takes --top and --sort; --breakdown nests;
titles give the actual first and last day; tables at 80 and 160 columns.

A terminal is simulated as Rich detects one: TTY_COMPATIBLE=1 (CliRunner's stdout is not a tty).

The store: 60 customers c00..c59, customer cNN with NN+1 calls of $0.01 each, one call a day from 2026-08-01
(c59 calls on 60 days, to 2026-09-29), and $1.00 of revenue each on 2026-08-01; 10 of them also call `search`.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from margindash_cli.core.money import usd_to_pico
from margindash_cli.ingest.pipeline import ingest_paths
from margindash_cli.store.db import Store

SNAPSHOTS = Path(__file__).parent.parent / "snapshots"
CUSTOMERS = 60


class StubPricer:
    """A call costs its cost_usd (tokens are free)."""

    def price(self, ev):
        return usd_to_pico(ev.extra_cost or "0"), None


@pytest.fixture
def many(tmp_path, cli):
    db = tmp_path / "many.db"
    log = tmp_path / "events.jsonl"
    lines = []
    for c in range(CUSTOMERS):
        for d in range(c + 1):
            day = date(2026, 8, 1) + timedelta(days=d)
            e = {
                "timestamp": f"{day.isoformat()}T10:00:00Z",
                "customer_id": f"c{c:02d}",
                "event_type": "search" if c % 6 == 0 and d == 0 else "chat",
                "vendor": "openai",
                "model": "gpt-4o",
                "input_tokens": 10,
                "output_tokens": 1,
                "cost_usd": "0.01",
                "request_id": f"r-{c}-{d}",
            }
            lines.append(json.dumps(e) + "\n")
    log.write_text("".join(lines))
    with Store.open(db) as store:
        result = ingest_paths(store, [str(log)], quarantine_path=tmp_path / "q.jsonl", pricer=StubPricer())
    assert result.rejected == 0
    revenue = tmp_path / "revenue.csv"
    revenue.write_text(
        "customer_id,amount,currency,date\n" + "".join(f"c{c:02d},1.00,usd,2026-08-01\n" for c in range(60))
    )
    assert cli("--db", db, "revenue", "import", revenue).exit_code == 0
    return db


def body_rows(out: str) -> list[str]:
    """The first cell of each body row of the first table (between the header rule and the footer rule)."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("┡")) + 1
    end = next(i for i, line in enumerate(lines) if i > start and line.startswith(("├", "└")))
    return [line.split("│")[1].strip() for line in lines[start:end]]


def on_terminal(monkeypatch, columns: int = 160) -> None:
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    monkeypatch.setenv("COLUMNS", str(columns))


def test_a_table_on_a_terminal_shows_50_rows_and_says_what_it_left_out(cli, many, monkeypatch):
    on_terminal(monkeypatch)
    out = cli("--db", many, "report").stdout
    rows = body_rows(out)
    assert len(rows) == 51 and rows[-1] == "(other 10)"
    assert "top 50 of 60 customers by margin, worst first; the rest in (other 10); --all for every row" in " ".join(
        out.split()
    )
    for args in (["--all"], ["--top", "0"]):
        every = cli("--db", many, "report", *args).stdout
        assert len(body_rows(every)) == CUSTOMERS and "(other" not in every and "--all for every row" not in every
    assert len(body_rows(cli("--db", many, "report", "--top", "3").stdout)) == 4


def test_a_pipe_csv_and_json_get_every_row_unless_top_is_given(cli, many, monkeypatch):
    assert len(body_rows(cli("--db", many, "report").stdout)) == CUSTOMERS  # not a terminal
    on_terminal(monkeypatch)
    assert len(json.loads(cli("--db", many, "report", "--json").stdout)["rows"]) == CUSTOMERS
    assert len(cli("--db", many, "report", "--format", "csv").stdout.splitlines()) == 1 + CUSTOMERS
    assert len(json.loads(cli("--db", many, "report", "--json", "--top", "5").stdout)["rows"]) == 6


def test_the_other_row_is_the_exact_sum_of_the_rows_it_holds(cli, many):
    full = json.loads(cli("--db", many, "report", "--json", "--sort", "cost").stdout)
    top = json.loads(cli("--db", many, "report", "--json", "--sort", "cost", "--top", "7").stdout)
    assert [r["group"]["customer"] for r in top["rows"][:7]] == [r["group"]["customer"] for r in full["rows"][:7]]
    other = top["rows"][-1]
    assert other["group"]["customer"] == "(other 53)"
    for key in ("cost_usd", "revenue_usd", "margin_usd"):
        assert Decimal(other[key]) == sum(Decimal(r[key]) for r in full["rows"][7:])
        assert sum(Decimal(r[key]) for r in top["rows"]) == Decimal(full["totals"][key])
    assert other["events"] == sum(r["events"] for r in full["rows"][7:])


def test_all_and_top_together_are_a_usage_error(cli, many):
    result = cli("--db", many, "report", "--all", "--top", "5")
    assert result.exit_code == 2 and "--all and --top 5" in result.stderr


def test_not_a_terminal_and_no_columns_a_table_takes_its_full_width(cli, many, monkeypatch):
    monkeypatch.delenv("COLUMNS")
    out = cli("--db", many, "report", "--top", "3").stdout
    assert "hidden to fit the terminal" not in out
    assert max(len(line) for line in out.splitlines()) > 90 and "input tok" in out and "class" in out
    monkeypatch.setenv("COLUMNS", "80")
    assert "hidden to fit the terminal" in " ".join(cli("--db", many, "report", "--top", "3").stdout.split())


def test_the_title_gives_the_first_and_last_day(cli, many):
    out = cli("--db", many, "report", "--top", "1").stdout
    assert "Margin by customer · all data: 2026-08-01 to 2026-09-29 (UTC)" in out
    data = json.loads(cli("--db", many, "report", "--json", "--top", "1").stdout)
    assert (data["query"]["range"]["first_day"], data["query"]["range"]["last_day"]) == ("2026-08-01", "2026-09-29")
    since = cli("--db", many, "report", "--top", "1", "--since", "2026-09-01").stdout
    assert "Margin by customer · 2026-09-01 to 2026-09-29 (UTC)" in since
    tokyo = cli("--db", many, "report", "--top", "1", "--tz", "Asia/Tokyo").stdout
    assert "all data: 2026-08-01 to 2026-09-29 (Asia/Tokyo)" in tokyo  # 10:00 UTC is the same day in Tokyo


def test_by_month_rows_read_as_months_in_the_table_and_as_days_in_json(cli, many):
    out = cli("--db", many, "report", "--by", "month").stdout
    assert body_rows(out) == ["2026-08", "2026-09"]
    data = json.loads(cli("--db", many, "report", "--by", "month", "--json").stdout)
    assert [r["group"]["month"] for r in data["rows"]] == ["2026-08-01", "2026-09-01"]


def test_breakdown_nests_children_under_each_parent_and_top_counts_parents(cli, many):
    out = cli("--db", many, "report", "--breakdown", "feature", "--sort", "cost", "--top", "2").stdout
    assert "customer > feature" in out
    assert body_rows(out) == ["c59", "chat", "c58", "chat", "(other 58)"]
    assert "│ c59 " in out and "│   chat " in out  # the children are indented under their parent
    out = cli("--db", many, "report", "--breakdown", "feature", "--sort", "events", "--top", "60").stdout
    rows = body_rows(out)
    at = rows.index("c54")
    assert rows[at + 1 : at + 3] == ["chat", "search"] or rows[at + 1 : at + 3] == ["search", "chat"]
    data = json.loads(cli("--db", many, "report", "--breakdown", "feature", "--json", "--top", "2").stdout)
    assert data["query"]["by"] == ["customer", "feature"]
    assert len({r["group"]["customer"] for r in data["rows"]}) == 3  # two parents and the (other 58) row


def test_trend_takes_top_and_sort_and_its_other_row_sums_every_period(cli, many, monkeypatch):
    full = json.loads(cli("--db", many, "report", "trend", "--json", "--sort", "events").stdout)
    assert [r["group"]["customer"] for r in full["rows"][:3]] == ["c59", "c58", "c57"]
    top = json.loads(cli("--db", many, "report", "trend", "--json", "--sort", "events", "--top", "3").stdout)
    assert top["query"]["top"] == 3 and top["query"]["sort"] == "events"
    other = top["rows"][-1]
    assert other["group"]["customer"] == "(other 57)" and len(top["rows"]) == 4
    for i, point in enumerate(other["series"]):
        assert Decimal(point["cost_usd"]) == sum(Decimal(r["series"][i]["cost_usd"]) for r in full["rows"][3:])
    on_terminal(monkeypatch)
    out = cli("--db", many, "report", "trend").stdout
    assert len(body_rows(out)) == 51 and "top 50 of 60 customers by margin" in " ".join(out.split())


def test_cohorts_take_top_and_sort(cli, many):
    data = json.loads(cli("--db", many, "report", "cohorts", "--by", "week", "--json").stdout)
    assert [c["cohort"] for c in data["cohorts"]] == ["2026-07-27"]  # every first call is on Aug 1
    assert data["query"]["sort"] == "cohort"
    bad = cli("--db", many, "report", "cohorts", "--sort", "planet")
    assert bad.exit_code == 2 and "unknown --sort" in bad.stderr


def test_concentration_takes_top_and_sort(cli, many):
    full = json.loads(cli("--db", many, "report", "concentration", "--json").stdout)
    top = json.loads(cli("--db", many, "report", "concentration", "--json", "--top", "4").stdout)
    assert [c["customer"] for c in top["customers"]] == ["c59", "c58", "c57", "c56"]
    assert top["customers_other"]["count"] == 56
    assert Decimal(top["customers_other"]["cost_usd"]) == sum(Decimal(c["cost_usd"]) for c in full["customers"][4:])
    assert top["tiers"] == full["tiers"]  # the tiers are of every customer
    by_margin = json.loads(cli("--db", many, "report", "concentration", "--json", "--sort", "margin").stdout)
    assert by_margin["customers"][0]["customer"] == "c59" and by_margin["customers"][-1]["customer"] == "c00"
    out = cli("--db", many, "report", "concentration", "--top", "4").stdout
    assert "(other 56)" in out and "top 4 of 60 customers by cost" in " ".join(out.split())


def test_a_time_series_on_a_terminal_is_not_capped(cli, many, monkeypatch):
    on_terminal(monkeypatch)
    days = body_rows(cli("--db", many, "report", "--by", "day").stdout)
    assert len(days) == 60 and days[-1] == "2026-09-29"
    chart = cli("--db", many, "report", "--by", "day", "--chart").stdout
    assert "(other" not in chart and "2026-09-29" in chart
    assert len(body_rows(cli("--db", many, "report", "--by", "day", "--top", "5").stdout)) == 6


def test_concentration_on_a_terminal_keeps_the_tier_table_when_it_is_shorter_than_50(cli, many, monkeypatch):
    on_terminal(monkeypatch)
    out = cli("--db", many, "report", "concentration").stdout
    assert "Top 20% of customers by cost" in out and "(other" not in out  # 12 customers: the whole tier


def test_concentration_top_lists_the_n_largest_customers_whatever_their_tier(cli, many, monkeypatch):
    """#17: --top 0 and --top 5 both listed the top 20% (12 of the 60 customers here). --top N now lists the N
    largest by cost with their cumulative share, --top 0 and --all every customer; without --top the tier."""
    on_terminal(monkeypatch)
    full = json.loads(cli("--db", many, "report", "concentration", "--json").stdout)
    by_cost = [c["customer"] for c in full["customers"]]
    tier = cli("--db", many, "report", "concentration").stdout
    assert "Top 20% of customers by cost" in tier and [c.split()[1] for c in _ranked_rows(tier)] == by_cost[:12]
    for n in (5, 20):  # shorter and longer than the tier
        out = cli("--db", many, "report", "concentration", "--top", str(n)).stdout
        rows = _ranked_rows(out)
        assert [r.split()[1] for r in rows[:n]] == by_cost[:n] and rows[n] == f"(other {60 - n})"
        assert "cumulative" in out and f"top {n} of 60 customers by cost" in " ".join(out.split())
    for args in (["--top", "0"], ["--all"]):
        out = cli("--db", many, "report", "concentration", *args).stdout
        assert [r.split()[1] for r in _ranked_rows(out)] == by_cost and "(other" not in out
    assert cli("--db", many, "report", "concentration", "--all", "--top", "3").exit_code == 2


def _ranked_rows(out: str) -> list[str]:
    """The body rows of the list under the tiers (the second table), as '# customer' or '(other N)'."""
    lines = out.splitlines()
    second = [i for i, line in enumerate(lines) if line.startswith("┡")][1]
    rows = []
    for line in lines[second + 1 :]:
        if not line.startswith("│"):
            break
        cells = [c.strip() for c in line.split("│")[1:-1]]
        rows.append(" ".join(c for c in cells[:2] if c))
    return rows
