"""`margindash demo`: progress while it builds, data that ends yesterday (by the clock, MARGINDASH_NOW in tests),
cohorts over several months, and a way to the demo store from every command (#17)."""

from __future__ import annotations

import json
import shlex

import pytest

NOW = "2026-12-02T10:00:00Z"  # the demo ends the day before: 2026-12-01


@pytest.fixture
def demo(cli, monkeypatch):
    monkeypatch.setenv("MARGINDASH_NOW", NOW)
    result = cli("demo")
    assert result.exit_code == 0, result.stderr
    db = next(x for x in result.stdout.split() if x.endswith("demo.db"))
    return result, db


def test_the_build_says_each_stage_on_stderr(demo):
    result, db = demo
    stages = [line for line in result.stderr.splitlines() if line.startswith("demo: ")]
    assert [s.split()[1] for s in stages] == ["writing", "ingesting", "importing", "reporting,", "writing"]
    assert "(2026-09-03 to 2026-12-01)" in stages[0]
    assert "demo: " not in result.stdout  # stdout keeps the report and the suggestions only
    assert f"demo store: {db} (" in result.stderr and "2026-09-03 to 2026-12-01;" in result.stderr


def test_the_data_ends_yesterday_so_recent_periods_show_it(cli, demo):
    _, db = demo
    newest = json.loads(cli("--db", db, "events", "--limit", "1", "--json").stdout)[0]
    assert newest["timestamp"].startswith("2026-12-01T")
    for period in ("7d", "30d", "mtd", "yesterday"):
        r = cli("--db", db, "report", "--period", period, "--json")
        assert r.exit_code == 0, (period, r.stderr)
        assert json.loads(r.stdout)["totals"]["events"] > 0, period


def test_customers_sign_up_over_time_so_cohorts_have_rows(cli, demo):
    _, db = demo
    r = cli("--db", db, "report", "cohorts", "--json")
    assert r.exit_code == 0
    cohorts = json.loads(r.stdout)["cohorts"]
    assert [c["cohort"] for c in cohorts] == ["2026-09-01", "2026-10-01", "2026-11-01"]
    assert sum(c["customers"] for c in cohorts) == 10


def test_a_plain_report_after_the_demo_names_the_demo_store(cli, demo, monkeypatch):
    result, db = demo
    line = next(x for x in result.stdout.splitlines() if "export MARGINDASH_DB=" in x)
    assert f"export MARGINDASH_DB={shlex.quote(db)} " in line
    r = cli("report")
    assert r.exit_code == 1
    assert "error: no store at " in r.stderr
    assert f"export MARGINDASH_DB={shlex.quote(db)}" in r.stderr and "margindash ingest FILE" in r.stderr
    assert "margindash demo" not in r.stderr  # not a loop back to the demo
    monkeypatch.setenv("MARGINDASH_DB", db)  # what the demo says to do
    r = cli("report", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["totals"]["events"] > 0


def test_the_hint_without_a_demo_store_suggests_the_demo(cli):
    r = cli("report")
    assert r.exit_code == 1
    assert "margindash demo" in r.stderr and "MARGINDASH_DB" not in r.stderr


def test_the_demo_store_line_is_never_hard_wrapped_at_80_columns(cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("MARGINDASH_NOW", NOW)
    result = cli("demo")
    line = next(x for x in result.stdout.splitlines() if x.startswith("Every command on the demo store: "))
    assert line.endswith("unset MARGINDASH_DB to go back to your own store."), line


def test_the_same_seed_and_clock_give_the_same_output(cli, demo):
    first, _ = demo
    again = cli("demo")
    assert again.exit_code == 0 and again.stdout == first.stdout
