"""#17 (ccusage conventions): `events` takes `-z/--timezone/--tz` and `--period` as `report` does. The days of
--since/--until/--period are read in the zone (UTC by default, as before); the table shows each time in it, titled
with it; JSON keeps the canonical UTC `timestamp` (one spelling)."""

from __future__ import annotations

import json

import pytest

CALLS = [  # 2026-10-02 in Asia/Tokyo (UTC+9) is 2026-10-01T15:00Z to 2026-10-02T15:00Z
    ("early", "2026-10-01T10:00:00Z"),  # Oct 1 in both zones (19:00 JST)
    ("late", "2026-10-01T23:30:00Z"),  # Oct 1 UTC, Oct 2 08:30 in Tokyo
    ("next", "2026-10-02T16:00:00Z"),  # Oct 2 UTC, Oct 3 01:00 in Tokyo
]


@pytest.fixture
def db(cli, tmp_path):
    log = tmp_path / "calls.jsonl"
    log.write_text(
        "".join(
            json.dumps({"timestamp": ts, "customer_id": "acme", "feature": "chat", "vendor": "openai",
                        "model": "gpt-4o", "input_tokens": 10, "output_tokens": 5, "request_id": rid}) + "\n"
            for rid, ts in CALLS
        )
    )  # fmt: skip
    db = tmp_path / "s.db"
    assert cli("--db", db, "ingest", log).exit_code == 0
    return db


def ids(cli, db, *args):
    result = cli("--db", db, "events", *args, "--json")
    assert result.exit_code == 0, result.stderr
    return [e["request_id"] for e in json.loads(result.stdout)]


def test_since_until_are_utc_days_by_default_and_days_of_the_zone_with_tz(cli, db):
    assert ids(cli, db, "--since", "2026-10-02", "--until", "2026-10-02") == ["next"]
    for flag in ("--tz", "--timezone", "-z"):
        assert ids(cli, db, "--since", "2026-10-02", "--until", "2026-10-02", flag, "Asia/Tokyo") == ["late"]
    assert ids(cli, db, "--until", "2026-10-01", "--tz", "Asia/Tokyo") == ["early"]
    assert ids(cli, db, "--since", "2026-10", "--tz", "UTC") == ["next", "late", "early"]


def test_period_is_read_in_the_zone_against_the_clock(cli, db, monkeypatch):
    monkeypatch.setenv("MARGINDASH_NOW", "2026-10-03T12:00:00Z")  # Oct 3 in both zones
    assert ids(cli, db, "--period", "yesterday") == ["next"]
    assert ids(cli, db, "--period", "yesterday", "--tz", "Asia/Tokyo") == ["late"]
    assert ids(cli, db, "--period", "today", "--tz", "Asia/Tokyo") == ["next"]
    assert ids(cli, db, "--period", "2d") == ["next"]  # Oct 2 and 3, UTC
    assert ids(cli, db, "--period", "2026-10") == ["next", "late", "early"]


def test_the_table_shows_times_in_the_zone_and_json_stays_utc(cli, db):
    table = cli("--db", db, "events", "--tz", "Asia/Tokyo")
    assert table.exit_code == 0
    assert "time (Asia/Tokyo)" in table.stdout and "time (UTC)" not in table.stdout
    assert "2026-10-03 01:00:00" in table.stdout and "2026-10-02 08:30:00" in table.stdout
    utc = cli("--db", db, "events")
    assert "time (UTC)" in utc.stdout and "2026-10-02 16:00:00" in utc.stdout
    records = json.loads(cli("--db", db, "events", "--tz", "Asia/Tokyo", "--json").stdout)
    assert records[0]["timestamp"] == "2026-10-02T16:00:00.000Z"
    lines = cli("--db", db, "events", "--tz", "Asia/Tokyo", "--nl").stdout.splitlines()
    assert json.loads(lines[0])["timestamp"] == "2026-10-02T16:00:00.000Z"


def test_bad_zone_or_period_is_a_usage_error_before_the_store_is_read(cli, db, tmp_path):
    result = cli("--db", db, "events", "--tz", "Mars/Base")
    assert result.exit_code == 2 and "error: unknown time zone 'Mars/Base'" in result.stderr
    result = cli("--db", db, "events", "--period", "7d", "--since", "2026-10-01")
    assert result.exit_code == 2 and "--period cannot be combined with --since/--until" in result.stderr
    result = cli("--db", db, "events", "--period", "-3d")
    assert result.exit_code == 2 and result.stdout == ""
    missing = cli("--db", tmp_path / "none.db", "events", "--tz", "Mars/Base")
    assert missing.exit_code == 2 and not (tmp_path / "none.db").exists()
