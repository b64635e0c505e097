"""`margindash budget set|list|rm|check` through the runner: spend per calendar period in a zone, unpriced
risk, exit codes for every level and --fail-on, JSON, the blocklist file."""

from __future__ import annotations

import json
import os
from datetime import UTC
from pathlib import Path

import pytest

from margindash_cli.store.db import Store


def ev(ts, customer, feature, usd, rid, model="budget-llm"):
    """A call that costs exactly `usd` dollars at the test price ($1 per million input tokens)."""
    return {
        "timestamp": ts,
        "customer_id": customer,
        "event_type": feature,
        "vendor": "custom",
        "model": model,
        "input_tokens": int(usd * 1_000_000),
        "output_tokens": 0,
        "request_id": rid,
    }


def seed(cli, tmp_path, events):
    assert cli("prices", "set", "custom/budget-llm", "--input", "1", "--output", "0").exit_code == 0
    path = tmp_path / "usage.jsonl"
    with open(path, "a") as fh:
        for e in events:
            fh.write(json.dumps(e) + "\n")
    result = cli("ingest", path)
    assert result.exit_code == 0, result.stderr


def listed(cli):
    result = cli("budget", "list", "--json")
    assert result.exit_code == 0, result.stderr
    return {b["name"]: b for b in json.loads(result.stdout)["budgets"]}


def test_set_list_rm(cli, monkeypatch):
    monkeypatch.setenv("MARGINDASH_NOW", "2026-10-16T12:00:00Z")
    r = cli(
        "budget",
        "set",
        "acme",
        "--scope",
        "customer:acme",
        "--limit-usd",
        "500",
        "--period",
        "month",
        "--tz",
        "Europe/Paris",
        "--warn",
        "60",
        "--critical",
        "80",
        "--email",
        "ops@example.com",
    )
    assert r.exit_code == 0, r.stderr
    assert r.stdout.startswith(
        "Created budget acme: customer:acme, $500.00 per month (Europe/Paris), warning at 60%, critical at 80%"
    )
    r = cli("budget", "set", "acme", "--scope", "customer:acme", "--limit-usd", "750.25", "--period", "week", "--json")
    assert json.loads(r.stdout) == {
        "name": "acme",
        "scope": "customer:acme",
        "limit_usd": "750.25",
        "period": "week",
        "tz": "UTC",
        "warn_pct": 75.0,
        "critical_pct": 90.0,
        "emails": [],
        "created": False,
    }
    assert cli("budget", "set", "all", "--scope", "org", "--limit-usd", "1000", "--period", "day").exit_code == 0
    b = listed(cli)
    assert list(b) == ["acme", "all"]
    assert (b["acme"]["period_label"], b["acme"]["period_start"], b["acme"]["spend_usd"], b["acme"]["level"]) == (
        "2026-W42 (2026-10-12 to 2026-10-18)",
        "2026-10-12T00:00:00Z",
        "0",
        "ok",
    )
    r = cli("budget", "list")
    assert "acme" in r.stdout and "$750.25" in r.stdout and "2026-W42" in r.stdout
    assert cli("budget", "rm", "acme").stdout == "removed budget acme\n"
    assert list(listed(cli)) == ["all"]
    r = cli("budget", "rm", "acme")
    assert r.exit_code == 1 and "error: no budget named 'acme'" in r.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["--scope", "org", "--limit-usd", "-10", "--period", "month"], "error: --limit-usd -10 must be more than 0"),
        (
            ["--scope", "org", "--limit-usd", "100", "--period", "month", "--warn", "95", "--critical", "90"],
            "error: --warn 95 is above --critical 90",
        ),
        (["--scope", "team:x", "--limit-usd", "100", "--period", "month"], "error: unknown --scope 'team:x'"),
        (["--scope", "org", "--limit-usd", "100", "--period", "fortnight"], "error: unknown --period 'fortnight'"),
        (
            ["--scope", "org", "--limit-usd", "100", "--period", "day", "--tz", "Nowhere/City"],
            "error: unknown time zone 'Nowhere/City'",
        ),
    ],
)
def test_bad_values_are_refused_with_a_usage_error(cli, args, message):
    r = cli("budget", "set", "b", *args)
    assert r.exit_code == 2
    assert message in r.stderr and "hint:" in r.stderr
    assert r.stdout == ""


def test_spend_follows_calendar_periods_in_a_non_utc_zone(cli, tmp_path, monkeypatch):
    """Tokyo is UTC+9: its Oct 16 runs from Oct 15 15:00 to Oct 16 15:00 UTC; New York's October ends Nov 1 04:00 UTC."""
    seed(
        cli,
        tmp_path,
        [
            ev("2026-10-15T14:59:59.999Z", "acme", "chat", 1, "before-tokyo-day"),  # Oct 15 23:59 in Tokyo
            ev("2026-10-15T15:00:00Z", "acme", "chat", 2, "tokyo-day-start"),  # Oct 16 00:00 in Tokyo
            ev("2026-10-16T00:00:00Z", "acme", "chat", 4, "utc-midnight"),
            ev("2026-10-16T14:59:59.999Z", "acme", "chat", 8, "tokyo-day-end"),  # Oct 16 23:59 in Tokyo
            ev("2026-10-16T15:00:00Z", "acme", "chat", 16, "after-tokyo-day"),  # Oct 17 in Tokyo
            ev("2026-10-01T03:59:00Z", "acme", "chat", 32, "ny-september"),  # Sep 30 23:59 EDT
            ev("2026-11-01T03:59:00Z", "acme", "chat", 64, "ny-october-last-minute"),  # Oct 31 23:59 EDT
        ],
    )
    for name, period, tz in (
        ("tokyo-day", "day", "Asia/Tokyo"),
        ("ny-month", "month", "America/New_York"),
        ("utc-month", "month", "UTC"),
        ("paris-week", "week", "Europe/Paris"),
    ):
        assert (
            cli(
                "budget", "set", name, "--scope", "org", "--limit-usd", "1000", "--period", period, "--tz", tz
            ).exit_code
            == 0
        )
    monkeypatch.setenv("MARGINDASH_NOW", "2026-10-16T12:00:00Z")  # Oct 16 21:00 in Tokyo
    b = listed(cli)
    assert b["tokyo-day"]["spend_usd"] == "14"  # 2 + 4 + 8
    assert (b["tokyo-day"]["period_start"], b["tokyo-day"]["period_end"]) == (
        "2026-10-15T15:00:00Z",
        "2026-10-16T15:00:00Z",
    )
    assert b["tokyo-day"]["events"] == 3
    assert b["ny-month"]["spend_usd"] == "95"  # 1 + 2 + 4 + 8 + 16 + 64 (Sep 30 EDT is out)
    assert b["utc-month"]["spend_usd"] == "63"  # 32 + 1 + 2 + 4 + 8 + 16 (Nov 1 UTC is out)
    # Paris week of Mon Oct 12 (from Oct 11 22:00 UTC to Oct 18 22:00 UTC)
    assert b["paris-week"]["period_label"] == "2026-W42 (2026-10-12 to 2026-10-18)"
    assert b["paris-week"]["spend_usd"] == "31"
    # The same figures as `report` for the same local days.
    r = cli("report", "--json", "--since", "2026-10-16", "--until", "2026-10-16", "--tz", "Asia/Tokyo")
    assert json.loads(r.stdout)["totals"]["cost_usd"] == "14.000000000000"
    r = cli("report", "--json", "--period", "2026-10", "--tz", "America/New_York")
    assert json.loads(r.stdout)["totals"]["cost_usd"] == "95.000000000000"
    # One millisecond before Tokyo's midnight the day is still Oct 15 there.
    monkeypatch.setenv("MARGINDASH_NOW", "2026-10-15T14:59:59.999Z")
    assert listed(cli)["tokyo-day"]["spend_usd"] == "1"


def test_a_week_budget_resets_on_monday_and_projects_the_burn_rate(cli, tmp_path, monkeypatch):
    seed(
        cli,
        tmp_path,
        [
            ev("2026-10-18T23:00:00Z", "acme", "chat", 50, "sunday"),  # Sunday, week 42
            ev("2026-10-19T00:00:00Z", "acme", "chat", 10, "monday"),  # Monday 00:00, week 43
            ev("2026-10-20T12:00:00Z", "acme", "chat", 20, "tuesday"),
            ev("2026-10-20T13:00:00Z", "acme", "summarize", 99, "other-feature"),
        ],
    )
    assert (
        cli(
            "budget", "set", "chat-weekly", "--scope", "feature:chat", "--limit-usd", "100", "--period", "week"
        ).exit_code
        == 0
    )
    monkeypatch.setenv("MARGINDASH_NOW", "2026-10-22T00:00:00Z")  # Thursday 00:00: 3 of 7 days gone
    b = listed(cli)["chat-weekly"]
    assert (b["period_label"], b["spend_usd"], b["pct_used"], b["level"]) == (
        "2026-W43 (2026-10-19 to 2026-10-25)",
        "30",
        30.0,
        "ok",
    )
    assert (b["projected_usd"], b["projected_pct"]) == ("70", 70.0)  # percentages are numbers, as in every envelope
    monkeypatch.setenv("MARGINDASH_NOW", "2026-10-18T23:30:00Z")
    b = listed(cli)["chat-weekly"]
    assert (b["period_label"], b["spend_usd"], b["level"]) == ("2026-W42 (2026-10-12 to 2026-10-18)", "50", "ok")


def test_unpriced_calls_are_a_risk_next_to_the_spend_never_zero(cli, tmp_path, monkeypatch):
    seed(
        cli,
        tmp_path,
        [
            ev("2026-10-10T10:00:00Z", "acme", "chat", 40, "priced"),
            ev("2026-10-10T11:00:00Z", "acme", "chat", 7, "unknown-1", model="mystery-model-9000"),
            ev("2026-10-10T12:00:00Z", "acme", "chat", 7, "unknown-2", model="mystery-model-9000"),
        ],
    )
    monkeypatch.setenv("MARGINDASH_NOW", "2026-10-16T12:00:00Z")
    assert (
        cli("budget", "set", "acme", "--scope", "customer:acme", "--limit-usd", "100", "--period", "month").exit_code
        == 0
    )
    b = listed(cli)["acme"]
    assert (b["spend_usd"], b["unpriced_events"], b["events"]) == ("40", 2, 3)
    r = cli("budget", "list")
    assert "$40.00 (+2 unpriced)" in r.stdout
    assert "unpriced calls may hide spend" in r.stdout


def test_exit_codes_for_every_level_and_fail_on(cli, tmp_path, monkeypatch):
    seed(cli, tmp_path, [ev("2026-10-10T10:00:00Z", "acme", "chat", 60, "r1")])
    monkeypatch.setenv("MARGINDASH_NOW", "2026-10-16T12:00:00Z")
    expected = {  # limit -> (level, {fail_on: exit code}); spend is $60, warning at 75%, critical at 90%
        "100": ("ok", {"warning": 0, "critical": 0, "exceeded": 0}),
        "75": ("warning", {"warning": 3, "critical": 0, "exceeded": 0}),
        "65": ("critical", {"warning": 4, "critical": 4, "exceeded": 0}),
        "60": ("exceeded", {"warning": 5, "critical": 5, "exceeded": 5}),
    }
    for limit, (level, codes) in expected.items():
        assert cli("budget", "set", "org", "--scope", "org", "--limit-usd", limit, "--period", "month").exit_code == 0
        for fail_on, code in codes.items():
            r = cli("budget", "check", "--fail-on", fail_on)
            assert r.exit_code == code, (limit, fail_on, r.stderr)
            assert f" {level} " in r.stdout
            assert r.stderr.splitlines()[-1].endswith(f"exit {code}")
        r = cli("budget", "check")  # default --fail-on exceeded
        assert r.exit_code == codes["exceeded"]
        data = json.loads(cli("budget", "check", "--json", "--fail-on", "warning").stdout)
        assert (data["highest_level"], data["exit_code"], data["budgets"][0]["level"]) == (
            level,
            codes["warning"],
            level,
        )
    # The highest level among several budgets decides.
    assert (
        cli("budget", "set", "org-big", "--scope", "org", "--limit-usd", "70", "--period", "month").exit_code == 0
    )  # warning
    r = cli("budget", "check", "--fail-on", "warning")
    assert r.exit_code == 5
    assert r.stderr.splitlines()[-1] == "budget check: 2 budgets: 0 ok, 1 warning, 0 critical, 1 exceeded; exit 5"
    r = cli("budget", "check", "--fail-on", "sometimes")
    assert r.exit_code == 2 and "unknown --fail-on 'sometimes'" in r.stderr


def test_check_json_and_blocklist_file(cli, tmp_path, monkeypatch):
    seed(
        cli,
        tmp_path,
        [
            ev("2026-10-10T10:00:00Z", "acme", "chat", 120, "r1"),
            ev("2026-10-10T10:00:01Z", "globex", "summarize", 30, "r2"),
            ev("2026-10-10T10:00:02Z", "initech", "summarize", 25, "r3"),
        ],
    )
    monkeypatch.setenv("MARGINDASH_NOW", "2026-10-16T12:00:00Z")
    for args in (
        ["acme", "--scope", "customer:acme", "--limit-usd", "100"],
        ["globex", "--scope", "customer:globex", "--limit-usd", "100"],
        ["summarize", "--scope", "feature:summarize", "--limit-usd", "50", "--tz", "Europe/Paris"],
        ["org", "--scope", "org", "--limit-usd", "100"],
    ):
        assert cli("budget", "set", *args, "--period", "month").exit_code == 0
    blocklist = tmp_path / "deploy" / "blocklist.json"
    blocklist.parent.mkdir()
    blocklist.write_text('{"old": true}')
    r = cli("budget", "check", "--json", "--blocklist", blocklist, "--blocklist-ttl", "30")
    assert r.exit_code == 5
    data = json.loads(r.stdout)
    assert data["levels"] == {"ok": 1, "warning": 0, "critical": 0, "exceeded": 3}
    assert data["blocklist"] == {"path": str(blocklist), "blocked": 2}
    assert data["budgets"][0] == {
        "name": "acme",
        "scope": "customer:acme",
        "period": "month",
        "tz": "UTC",
        "period_label": "2026-10",
        "period_start": "2026-10-01T00:00:00Z",
        "period_end": "2026-11-01T00:00:00Z",
        "limit_usd": "100",
        "spend_usd": "120",
        "pct_used": 120.0,
        "level": "exceeded",
        "warn_pct": 75.0,
        "critical_pct": 90.0,
        "events": 1,
        "unpriced_events": 0,
        "projected_usd": "240",
        "projected_pct": 240.0,
        "emails": [],
        "alerts": [],
    }
    assert json.loads(blocklist.read_text()) == {
        "version": 1,
        "generated_at": "2026-10-16T12:00:00Z",
        "ttl_seconds": 30,
        "blocked": [
            {"scope": "customer", "id": "acme", "budget": "acme", "period_end": "2026-11-01T00:00:00Z"},
            {"scope": "feature", "id": "summarize", "budget": "summarize", "period_end": "2026-10-31T23:00:00Z"},
        ],
    }
    assert sorted(p.name for p in blocklist.parent.iterdir()) == ["blocklist.json"]  # no temp file left behind
    assert (
        r.stderr.splitlines()[-1]
        == "budget check: 4 budgets: 1 ok, 0 warning, 0 critical, 3 exceeded; 2 blocked; exit 5"
    )
    # The limit is raised: the next run unblocks.
    assert (
        cli("budget", "set", "acme", "--scope", "customer:acme", "--limit-usd", "1000", "--period", "month").exit_code
        == 0
    )
    cli("budget", "check", "--blocklist", blocklist)
    assert [e["id"] for e in json.loads(blocklist.read_text())["blocked"]] == ["summarize"]


def test_the_blocklist_is_replaced_atomically(cli, tmp_path, monkeypatch):
    """The new file is renamed over the old one: a reader holding the old file sees it whole, never a mix."""
    seed(cli, tmp_path, [ev("2026-10-10T10:00:00Z", "acme", "chat", 120, "r1")])
    monkeypatch.setenv("MARGINDASH_NOW", "2026-10-16T12:00:00Z")
    assert (
        cli("budget", "set", "acme", "--scope", "customer:acme", "--limit-usd", "100", "--period", "month").exit_code
        == 0
    )
    blocklist = tmp_path / "blocklist.json"
    blocklist.write_text('{"version": 1, "blocked": []}\n')
    before = os.stat(blocklist).st_ino
    with open(blocklist) as held:
        cli("budget", "check", "--blocklist", blocklist)
        assert held.read() == '{"version": 1, "blocked": []}\n'
    assert os.stat(blocklist).st_ino != before
    assert json.loads(blocklist.read_text())["blocked"][0]["id"] == "acme"


def test_a_blocklist_that_cannot_be_written_is_an_error_not_a_crash(cli, tmp_path, monkeypatch):
    seed(cli, tmp_path, [ev("2026-10-10T10:00:00Z", "acme", "chat", 10, "r1")])
    monkeypatch.setenv("MARGINDASH_NOW", "2026-10-16T12:00:00Z")
    assert (
        cli("budget", "set", "acme", "--scope", "customer:acme", "--limit-usd", "100", "--period", "month").exit_code
        == 0
    )
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    r = cli("budget", "check", "--blocklist", not_a_dir / "blocklist.json")
    assert r.exit_code == 1
    assert "error: blocklist" in r.stderr and "cannot write" in r.stderr


def test_check_with_no_budgets_and_no_store(cli, tmp_path):
    r = cli("budget", "check")
    assert r.exit_code == 1 and "error: no store at" in r.stderr
    seed(cli, tmp_path, [ev("2026-10-10T10:00:00Z", "acme", "chat", 10, "r1")])
    r = cli("budget", "check")
    assert r.exit_code == 0 and "no budgets to check" in r.stderr
    assert json.loads(cli("budget", "check", "--json").stdout)["budgets"] == []


def test_spend_of_many_budgets_comes_from_few_queries(cli, tmp_path, monkeypatch):
    """100 budgets over 3 zones and 3 period kinds: three reads (rollups per feature, customers' rollups, edge
    events; and the zone map, which is not a read of calls), whatever the count, and each budget's spend equals a direct sum over its events."""
    seed(
        cli,
        tmp_path,
        [
            ev(f"2026-10-{d:02d}T{h:02d}:30:00Z", f"c{d % 7}", f"f{h % 3}", 1, f"r{d}-{h}")
            for d in range(1, 29)
            for h in range(0, 24, 5)
        ],
    )
    zones = ["UTC", "Asia/Tokyo", "America/New_York"]
    specs = []
    for i in range(100):
        scope = "org" if i % 10 == 0 else f"customer:c{i % 7}" if i % 2 else f"feature:f{i % 3}"
        specs.append((f"b{i:03d}", scope, ("day", "week", "month")[i % 3], zones[i % 3]))
    for name, scope, period, tz in specs:
        assert (
            cli("budget", "set", name, "--scope", scope, "--limit-usd", "50", "--period", period, "--tz", tz).exit_code
            == 0
        )
    monkeypatch.setenv("MARGINDASH_NOW", "2026-10-20T12:00:00Z")
    from datetime import datetime

    from margindash_cli.budgets import run as budgeting

    with Store.open(Path(os.environ["MARGINDASH_HOME"]) / "margindash.db") as store:
        statements = []
        store.conn.set_trace_callback(statements.append)
        statuses = budgeting.evaluate_all(store, datetime(2026, 10, 20, 12, tzinfo=UTC))
        store.conn.set_trace_callback(None)
        reads = [
            s for s in statements if any(f"FROM {t}" in s for t in ("rollup_daily", "rollup_customer_daily", "events"))
        ]
        assert len(reads) == 3, reads
        # Each budget's spend equals a direct sum over the events of its window and scope.
        for s in statuses:
            where = "e.ts >= ? AND e.ts < ?"
            args = [s.period.start_ms, s.period.end_ms]
            if s.budget.scope == "customer":
                where += " AND e.customer = (SELECT id FROM customers WHERE customer_id = ?)"
                args.append(s.budget.scope_id)
            elif s.budget.scope == "feature":
                where += " AND e.feature = (SELECT id FROM features WHERE name = ?)"
                args.append(s.budget.scope_id)
            cost, n = store.conn.execute(
                f"SELECT coalesce(sum(cost), 0), count(*) FROM events e WHERE {where}", args
            ).fetchone()
            assert (s.spend.cost_pico, s.spend.events) == (cost, n), s.budget.name


def test_spend_beyond_64_bits_of_picodollars_stays_exact(cli, tmp_path, monkeypatch):
    """Two $5M calls on one day are 10^19 picodollars, past SQLite's 64-bit SUM: the sums are split and stay exact."""
    big = [
        dict(ev("2026-10-10T10:00:00Z", customer, "chat", 1, f"big-{customer}"), cost_usd="5000000")
        for customer in ("acme", "globex")
    ]
    seed(cli, tmp_path, big + [ev("2026-10-10T23:30:00Z", "acme", "chat", 1, "small")])
    monkeypatch.setenv("MARGINDASH_NOW", "2026-10-16T12:00:00Z")
    for name, scope, tz in (
        ("org", "org", "UTC"),
        ("acme", "customer:acme", "UTC"),
        ("chat", "feature:chat", "Asia/Tokyo"),
    ):
        assert (
            cli(
                "budget", "set", name, "--scope", scope, "--limit-usd", "20000000", "--period", "month", "--tz", tz
            ).exit_code
            == 0
        )
    b = listed(cli)
    assert (b["org"]["spend_usd"], b["acme"]["spend_usd"], b["chat"]["spend_usd"]) == (
        "10000003",
        "5000002",
        "10000003",
    )


def test_window_plans_cover_each_instant_exactly_once_and_read_at_most_half_a_day_per_edge():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from margindash_cli.store.schema import DAY_MS
    from margindash_cli.store.sql import _window_plan

    base = 1_790_812_800_000  # 2026-10-01T00:00:00Z

    @settings(max_examples=400, deadline=None)
    @given(
        st.integers(0, 5 * DAY_MS),
        st.integers(1, 40 * DAY_MS),
        st.lists(st.integers(-DAY_MS, 46 * DAY_MS), max_size=30),
    )
    def check(offset, length, probes):
        start, end = base + offset, base + offset + length
        days, edges = _window_plan(start, end)
        for a, z, _ in edges:
            assert z - a <= DAY_MS // 2 or len(days) == 0
        for p in [start - 1, start, end - 1, end, *(base + q for q in probes)]:
            covered = (p // DAY_MS in days) + sum(sign for a, z, sign in edges if a <= p < z)
            assert covered == (1 if start <= p < end else 0), (start, end, p, days, edges)

    check()
