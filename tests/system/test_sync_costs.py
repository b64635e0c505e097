"""`sync-costs` against OpenAI's and Anthropic's cost APIs served on 127.0.0.1 in their documented wire format."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from provider_cost_server import (
    ANTHROPIC_COSTS,
    ANTHROPIC_USAGE,
    OPENAI_COSTS,
    OPENAI_USAGE,
    Fault,
    ProviderCostServer,
    load_fixture_records,
)

pytestmark = pytest.mark.slow
FIXTURES = Path(__file__).parent.parent / "fixtures" / "reconcile"
NOW = "2026-07-20T12:00:00Z"  # MARGINDASH_NOW: the sync window ends on 2026-07-20


@pytest.fixture(autouse=True)
def _no_real_keys(monkeypatch):
    for name in ("OPENAI_ADMIN_KEY", "ANTHROPIC_ADMIN_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr("margindash_cli.clients.fetch.BACKOFF_S", 0.01)


@pytest.fixture
def srv(monkeypatch):
    with ProviderCostServer() as s:
        load_fixture_records(s, FIXTURES)
        monkeypatch.setenv("MARGINDASH_OPENAI_API_BASE", s.base)
        monkeypatch.setenv("MARGINDASH_ANTHROPIC_API_BASE", s.base)
        monkeypatch.setenv("OPENAI_ADMIN_KEY", s.openai_key)
        monkeypatch.setenv("ANTHROPIC_ADMIN_KEY", s.anthropic_key)
        monkeypatch.setenv("MARGINDASH_NOW", NOW)
        yield s


def sync(cli, *args):
    r = cli("sync-costs", "--json", *args)
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout)


def billed_rows(db_path):
    import sqlite3

    conn = sqlite3.connect(db_path)
    rows = conn.execute(
        "SELECT source, provider, day, model, token_class, kind, project, service_tier, amount, quantity FROM billed_costs"
        " ORDER BY source, ref"
    ).fetchall()
    usage = conn.execute("SELECT * FROM billed_usage ORDER BY source, ref").fetchall()
    conn.close()
    return rows, usage


def store_file(home):
    return home / "margindash.db"


def test_sync_reads_both_providers_exactly(cli, srv, _isolated_home):
    out = sync(cli, "--since", "2026-07-01")
    by = {p["provider"]: p for p in out["providers"]}
    # OpenAI: dollars in JSON numbers, 0.9600000000000001 read as a decimal and rounded once to the picodollar
    assert by["openai"]["billed_usd"] == "4.7125"  # 1.8125 + 0.1 + 0.96 + 0.575 + 0.3 + 0.205 + 0.41 + 0.35
    # Anthropic: cents in strings: "12.3456" is $0.123456
    assert by["anthropic"]["billed_usd"] == "5.639806"
    assert (
        by["openai"]["since"] == "2026-07-01" and by["openai"]["until"] == "2026-07-19" and by["openai"]["days"] == 19
    )
    costs, usage = billed_rows(store_file(_isolated_home))
    day = 20648  # 2026-07-14
    cached = [r for r in costs if r[1] == "openai" and r[4] == "cache_read"]
    assert cached == [
        (
            "openai",
            "openai",
            day,
            "gpt-4o-2024-08-06",
            "cache_read",
            "tokens",
            "proj_Rk2Lq9Vb4Xn7Hd3M",
            None,
            100_000_000_000,
            "80000",
        )
    ]
    out_line = [r for r in costs if r[1] == "openai" and r[3] == "gpt-4o-2024-08-06" and r[4] == "output"]
    assert out_line[0][8] == 960_000_000_000  # 0.9600000000000001 -> $0.96 at the picodollar
    batch = [r for r in costs if r[7] == "batch" and r[1] == "openai"]
    assert {(r[3], r[4]) for r in batch} == {("gpt-5-mini-2025-08-07", "input"), ("gpt-5-mini-2025-08-07", "output")}
    web = [r for r in costs if r[5] == "web_search"]
    assert {(r[1], r[3], r[8]) for r in web} == {
        ("openai", None, 350_000_000_000),
        ("anthropic", None, 420_000_000_000),
    }
    cache_read = [r for r in costs if r[1] == "anthropic" and r[4] == "cache_read"]
    assert cache_read[0][8] == 123_456_000_000
    writes = {r[4]: r[8] for r in costs if r[1] == "anthropic" and r[4] and r[4].startswith("cache_write")}
    assert writes == {"cache_write_5m": 468_750_000_000, "cache_write_1h": 900_000_000_000}
    # the usage report's cache_creation object: 5m and 1h writes apart
    opus = [
        u
        for u in usage
        if u[2] == "anthropic" and u[4] == "claude-opus-4-1-20250805" and u[5] == "wrkspc_01Tq8Zr3Kd6Vm1Xb4Np7Lc2Hs"
    ]
    assert opus[0][8:13] == (52340, 82304, 25000, 30000, 28500)
    # OpenAI: input_uncached excludes cached tokens
    gpt4o = [u for u in usage if u[2] == "openai" and u[4] == "gpt-4o-2024-08-06"]
    assert gpt4o[0][8:13] == (725000, 80000, 0, 0, 96000)
    batch_usage = [u for u in usage if u[2] == "openai" and u[7] == 1]
    assert batch_usage[0][8] == 1_640_000


def test_requests_follow_the_wire_format(cli, srv):
    sync(cli, "--since", "2026-07-01")
    paths = [p for p, _, _ in srv.requests]
    assert set(paths) == {OPENAI_COSTS, OPENAI_USAGE, ANTHROPIC_COSTS, ANTHROPIC_USAGE}
    costs_q = next(q for p, q, _ in srv.requests if p == OPENAI_COSTS)
    assert (
        ("group_by[]", "line_item") in costs_q
        and ("group_by[]", "project_id") in costs_q
        and ("bucket_width", "1d") in costs_q
    )
    assert dict(costs_q)["start_time"] == str(20635 * 86400) and dict(costs_q)["end_time"] == str(
        20654 * 86400
    )  # today is read tomorrow
    a_q = next(q for p, q, _ in srv.requests if p == ANTHROPIC_COSTS)
    assert dict(a_q)["starting_at"] == "2026-07-01T00:00:00Z" and ("group_by[]", "description") in a_q
    headers = next(h for p, _, h in srv.requests if p == ANTHROPIC_USAGE)
    assert headers["x-api-key"] == srv.anthropic_key and headers["anthropic-version"] == "2023-06-01"
    assert "Authorization" not in headers
    # 19 days at a cap of 31 buckets is one page; /costs allows 180
    assert all(int(dict(q)["limit"]) <= 31 for p, q, _ in srv.requests if p != OPENAI_COSTS)


def test_pages_are_followed_with_the_cursor(cli, srv, _isolated_home):
    # 90 days back from the clock: the usage endpoints cap limit at 31 buckets, so 3 pages each
    srv.records[OPENAI_USAGE].append(
        {
            **srv.records[OPENAI_USAGE][0],
            "day": 20560,
            "input_tokens": 10,
            "input_cached_tokens": 0,
            "input_uncached_tokens": 10,
            "output_tokens": 1,
        }
    )  # 2026-04-17: first page
    out = sync(cli, "--since", "2026-04-01")
    usage_requests = [q for p, q, _ in srv.requests if p == OPENAI_USAGE]
    assert len(usage_requests) == 4  # 110 days / 31
    cursors = [dict(q).get("page") for q in usage_requests]
    assert cursors[0] is None and all(c and c.endswith("+/=") for c in cursors[1:])  # the cursor went back intact
    assert all(("group_by[]", "model") in q for q in usage_requests)  # every page repeats the original parameters
    _, usage = billed_rows(store_file(_isolated_home))
    assert {u[3] for u in usage if u[2] == "openai"} == {20560, 20648}
    assert {p["provider"]: p["usage_rows"] for p in out["providers"]}["openai"] == 4


def test_both_array_encodings_mean_the_same_to_the_server(srv):
    """The server is faithful: `group_by[]=x` (SDKs) and a repeated `group_by=x` (requests) group alike."""
    base = {"start_time": str(20648 * 86400), "end_time": str(20650 * 86400), "limit": "2"}
    h = {"Authorization": f"Bearer {srv.openai_key}"}
    brackets = httpx.get(srv.base + OPENAI_COSTS, params=[*base.items(), ("group_by[]", "line_item")], headers=h).json()
    repeated = httpx.get(srv.base + OPENAI_COSTS, params=[*base.items(), ("group_by", "line_item")], headers=h).json()
    ungrouped = httpx.get(srv.base + OPENAI_COSTS, params=list(base.items()), headers=h).json()
    assert brackets == repeated and len(brackets["data"][0]["results"]) == 8
    assert len(ungrouped["data"][0]["results"]) == 1 and ungrouped["data"][0]["results"][0]["line_item"] is None
    assert brackets["data"][1]["results"] == []  # an empty bucket is present


def test_a_rerun_changes_nothing_and_a_revised_day_is_replaced(cli, srv, _isolated_home):
    first = sync(cli, "--since", "2026-07-01")
    assert all(len(p["days_changed"]) == 19 for p in first["providers"])
    before = billed_rows(store_file(_isolated_home))
    again = sync(cli, "--since", "2026-07-01")
    assert all(p["days_changed"] == [] for p in again["providers"])
    assert billed_rows(store_file(_isolated_home)) == before
    # OpenAI revises 2026-07-14: the output line is now $1.20
    rec = next(r for r in srv.records[OPENAI_COSTS] if r["line_item"] == "gpt-4o-2024-08-06, output")
    rec["amount"] = {"value": "1.2", "currency": "usd"}
    revised = sync(cli)  # incremental: from a week before the last synced day
    op = {p["provider"]: p for p in revised["providers"]}["openai"]
    assert op["since"] == "2026-07-12" and op["days_changed"] == ["2026-07-14"] and op["billed_usd"] == "4.9525"
    costs, _ = billed_rows(store_file(_isolated_home))
    assert sum(r[8] for r in costs if r[1] == "openai") == 4_952_500_000_000  # replaced, not added


def test_429_then_success_is_retried(cli, srv):
    srv.faults[OPENAI_COSTS] = [Fault(429, {"Retry-After": "0"}), Fault(500)]
    srv.faults[ANTHROPIC_USAGE] = [
        Fault(529, {"retry-after": "0"}, b'{"type": "error", "error": {"type": "overloaded_error"}}')
    ]
    out = sync(cli, "--since", "2026-07-01")
    assert {p["provider"]: p["billed_usd"] for p in out["providers"]} == {"openai": "4.7125", "anthropic": "5.639806"}
    assert [p for p, _, _ in srv.requests].count(OPENAI_COSTS) == 3


def test_401_names_the_provider_and_variable_and_writes_nothing(cli, srv, monkeypatch, _isolated_home):
    monkeypatch.setenv("ANTHROPIC_ADMIN_KEY", "sk-ant-admin01-WRONG-secret-value")
    r = cli("sync-costs", "--since", "2026-07-01")
    assert r.exit_code == 1
    assert "anthropic refused the admin key (HTTP 401)" in r.stderr and "ANTHROPIC_ADMIN_KEY" in r.stderr
    assert "WRONG-secret" not in r.stderr + r.stdout
    if store_file(_isolated_home).exists():
        assert billed_rows(store_file(_isolated_home)) == ([], [])  # OpenAI was fetched, but the run is one transaction


def test_openai_401_body_is_not_shown(cli, srv, monkeypatch):
    monkeypatch.setenv("OPENAI_ADMIN_KEY", "sk-admin-nope1234")
    r = cli("sync-costs", "--provider", "openai", "--since", "2026-07-01")
    assert r.exit_code == 1 and "OPENAI_ADMIN_KEY" in r.stderr and "1234" not in r.stderr


def test_a_bill_in_another_currency_is_refused_naming_the_bucket(cli, srv, _isolated_home):
    srv.records[ANTHROPIC_COSTS][0]["currency"] = "EUR"
    r = cli("sync-costs", "--since", "2026-07-01")
    assert r.exit_code == 1
    assert "bucket 2026-07-14" in r.stderr and "EUR" in r.stderr and "USD" in r.stderr
    if store_file(_isolated_home).exists():
        assert billed_rows(store_file(_isolated_home)) == ([], [])


def test_an_unexpected_shape_is_a_clear_error(cli, srv):
    srv.records[OPENAI_USAGE][1]["input_tokens"] = "many"
    r = cli("sync-costs", "--since", "2026-07-01")
    assert (
        r.exit_code == 1
        and "usage/completions" in r.stderr
        and "input_tokens" in r.stderr
        and "Traceback" not in r.stderr
    )


def test_over_the_limit_cap_is_what_the_server_refuses(srv):
    h = {"Authorization": f"Bearer {srv.openai_key}"}
    r = httpx.get(srv.base + OPENAI_USAGE, params={"start_time": "0", "limit": "32"}, headers=h)
    assert r.status_code == 400


def test_key_files_and_missing_keys(cli, srv, monkeypatch, tmp_path):
    monkeypatch.delenv("OPENAI_ADMIN_KEY")
    monkeypatch.delenv("ANTHROPIC_ADMIN_KEY")
    r = cli("sync-costs")
    assert r.exit_code == 2 and "OPENAI_ADMIN_KEY" in r.stderr
    key = tmp_path / "openai.key"
    key.write_text(srv.openai_key + "\n")
    key.chmod(0o644)
    r = cli("sync-costs", "--openai-key-file", key)
    assert r.exit_code == 1 and "chmod 600" in r.stderr
    key.chmod(0o600)
    out = sync(cli, "--openai-key-file", key, "--since", "2026-07-10")
    assert [p["provider"] for p in out["providers"]] == ["openai"]


def test_the_table_summary(cli, srv):
    r = cli("sync-costs", "--since", "2026-07-01")
    assert r.exit_code == 0
    assert "openai: 19 day(s) from 2026-07-01, 8 cost line(s), 3 usage row(s), billed $4.71" in r.stdout
    assert Decimal("5.639806")  # (Anthropic's total is checked exactly in the JSON test)


@pytest.mark.parametrize(
    ("body", "expect"),
    [
        (b'{"object": "page", "data": [], "has_more": true, "next_page": null}', "has_more=True and next_page=None"),
        (
            b'{"object": "page", "data": {"oops": 1}, "has_more": false, "next_page": null}',
            "`data` is dict, not a list",
        ),
        (b"[1, 2]", "a JSON list, not an object"),
        (
            b'{"object": "page", "data": [{"start_time": 1784000000, "results": []}], "has_more": false}',
            "not the start of a UTC day",
        ),
    ],
)
def test_pages_of_an_unexpected_shape_fail_clearly(cli, srv, body, expect):
    srv.faults[OPENAI_COSTS] = [Fault(200, {}, body)]
    r = cli("sync-costs", "--provider", "openai", "--since", "2026-07-01")
    assert r.exit_code == 1 and expect in r.stderr and "nothing was written" in r.stderr


def test_a_cursor_that_repeats_is_an_error_not_a_loop(cli, srv):
    page = b'{"data": [], "has_more": true, "next_page": "page_same"}'
    srv.faults[ANTHROPIC_COSTS] = [Fault(200, {}, page), Fault(200, {}, page)]
    r = cli("sync-costs", "--provider", "anthropic", "--since", "2026-07-01")
    assert r.exit_code == 1 and "the cursor 'page_same' twice" in r.stderr


def test_anthropic_cache_creation_must_be_an_object(cli, srv):
    srv.records[ANTHROPIC_USAGE][0]["cache_creation"] = 55000
    r = cli("sync-costs", "--provider", "anthropic", "--since", "2026-07-01")
    assert r.exit_code == 1 and "cache_creation" in r.stderr and "bucket 2026-07-14 result 0" in r.stderr
