"""Back to the request (#16 item 9) and log values printed as text (#22 items 15 and 18, taken into #16).

Request ids are stored as text again (m005) and shown in `events` (table and JSON) and `--explain`;
`events --request-id` finds a call by its request id or its provider response id; sources are told apart.
A log value is never Rich markup, never a terminal control sequence, never a spreadsheet formula.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent.parent / "fixtures"
COMPLETION = {
    "id": "chatcmpl-42",
    "object": "chat.completion",
    "model": "gpt-4o-2024-08-06",
    "usage": {"prompt_tokens": 1000, "completion_tokens": 100, "total_tokens": 1100},
}


def write(path: Path, *lines: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return path


def test_events_show_request_and_response_ids_and_find_a_call_by_either(tmp_path, cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    db = tmp_path / "s.db"
    log = write(
        tmp_path / "app.jsonl",
        {"timestamp": "2026-10-01T10:00:00Z", "customer_id": "acme", "request_id": "req_abc", "response": COMPLETION},
        {"timestamp": "2026-10-01T11:00:00Z", "customer_id": "acme", "response": {**COMPLETION, "id": "chatcmpl-only"}},
    )
    assert cli("--db", db, "ingest", log).exit_code == 0
    records = json.loads(cli("--db", db, "events", "--json").stdout)
    assert [(r["request_id"], r["response_id"]) for r in records] == [
        ("chatcmpl-only", None),
        ("req_abc", "chatcmpl-42"),
    ]
    out = cli("--db", db, "events").stdout
    assert "req_abc (chatcmpl-42)" in out and "chatcmpl-only" in out
    for wanted in ("req_abc", "chatcmpl-42", "chatcmpl-only"):
        found = json.loads(cli("--db", db, "events", "--request-id", wanted, "--json").stdout)
        assert len(found) == 1 and wanted in (found[0]["request_id"], found[0]["response_id"]), wanted
    assert "No stored call has request id 'nope'" in cli("--db", db, "events", "--request-id", "nope").stdout
    explained = json.loads(cli("--db", db, "events", "--explain", "req_abc", "--json").stdout)
    assert explained["request_id"] == "req_abc" and explained["response_id"] == "chatcmpl-42"


def test_sources_are_told_apart_and_stdin_is_named(tmp_path, cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    db = tmp_path / "s.db"
    for folder, rid in (("a", "r1"), ("b", "r2")):
        write(
            tmp_path / folder / "chat.jsonl",
            {
                "timestamp": "2026-10-01T10:00:00Z",
                "vendor": "openai",
                "model": "gpt-4o",
                "input_tokens": 10,
                "output_tokens": 1,
                "request_id": rid,
            },
        )
    assert cli("--db", db, "ingest", tmp_path / "a", tmp_path / "b").exit_code == 0
    line = json.dumps(
        {
            "timestamp": "2026-10-01T12:00:00Z",
            "vendor": "openai",
            "model": "gpt-4o",
            "input_tokens": 5,
            "output_tokens": 1,
        }
    )
    assert cli("--db", db, "ingest", "-", input=line + "\n").exit_code == 0
    out = cli("--db", db, "events").stdout
    assert "a/chat.jsonl:1" in out and "b/chat.jsonl:1" in out and "stdin:1" in out


def test_calls_migrated_by_m004_say_their_id_text_was_not_kept(tmp_path, cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "220")
    db = tmp_path / "old.db"
    shutil.copy(FIXTURES / "stores" / "v0_1.db", db)
    out = cli("--db", db, "events", "--limit", "3").stdout
    assert "(not kept)" in out
    assert "stored before request ids were kept as text (migration m005)" in " ".join(out.split())


def test_events_cost_column_has_one_precision_for_sub_cent_costs(tmp_path, cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    db = tmp_path / "s.db"
    log = write(
        tmp_path / "x.jsonl",
        {
            "timestamp": "2026-10-01T10:00:00Z",
            "vendor": "openai",
            "model": "gpt-4o",
            "input_tokens": 1000,
            "output_tokens": 300,
        },
        {
            "timestamp": "2026-10-01T11:00:00Z",
            "vendor": "openai",
            "model": "gpt-4o-mini",
            "input_tokens": 10,
            "output_tokens": 3,
        },
    )
    assert cli("--db", db, "ingest", log).exit_code == 0
    out = cli("--db", db, "events").stdout
    assert "$0.0055000" in out and "$0.0000033" in out  # aligned, never $0.00 nor an unaligned $0.0000033


HOSTILE = [
    "[/x]",
    "[link=https://evil.example]click[/link]",
    "\x1b]0;pwned\x07",
    "\x1b[2J",
    "a\u202eb",
    '=HYPERLINK("http://x")',
]


@pytest.fixture
def hostile_db(tmp_path, cli):
    db = tmp_path / "h.db"
    lines = [
        {
            "timestamp": f"2026-10-0{i + 1}T10:00:00Z",
            "customer_id": v,
            "event_type": v,
            "segment": v,
            "vendor": "openai",
            "model": "unpriced-" + v if i == 0 else "gpt-4o",
            "tags": {"team": v},
            "input_tokens": 10,
            "output_tokens": 1,
            "request_id": f"r{i}",
        }
        for i, v in enumerate(HOSTILE)
    ]
    log = write(tmp_path / "h.jsonl", *lines)
    assert cli("--db", db, "ingest", log).exit_code == 0
    return db


@pytest.mark.parametrize(
    "args",
    [
        ("report",),
        ("report", "--by", "feature"),
        ("report", "--by", "model"),
        ("report", "--by", "segment"),
        ("report", "--by", "tag:team"),
        ("report", "--by", "customer", "--format", "markdown"),
        ("report", "trend"),
        ("report", "trend", "--by", "feature"),
        ("report", "cohorts"),
        ("report", "concentration"),
        ("events",),
        ("prices", "unpriced"),
        ("simulate",),
    ],
)
def test_log_values_are_printed_as_text_never_markup_or_control(hostile_db, cli, monkeypatch, args):
    monkeypatch.setenv("COLUMNS", "250")
    result = cli("--db", hostile_db, *args)
    assert result.exit_code == 0, result.output
    text = result.stdout + result.stderr
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text  # escaped, never sent
    if args[:2] != ("report", "cohorts"):
        assert "[/x]" in text or "\\[/x\\]" in text  # shown as the text it is


def test_budget_check_prints_a_hostile_customer_as_text(hostile_db, cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")
    assert (
        cli(
            "--db",
            hostile_db,
            "budget",
            "set",
            "b1",
            "--scope",
            "customer:[/x]",
            "--limit-usd",
            "1",
            "--period",
            "month",
        ).exit_code
        == 0
    )
    result = cli("--db", hostile_db, "budget", "check")
    assert "[/x]" in result.stdout and "\x1b" not in result.stdout


def test_csv_formula_injection_is_neutralised_in_text_cells_only(hostile_db, cli):
    out = cli("--db", hostile_db, "report", "--format", "csv").stdout
    assert '"\'=HYPERLINK(""http://x"")"' in out  # a quote in front: a spreadsheet shows it as text
    assert "\x1b" not in out and "\\x1b]0;pwned\\x07" in out
    money = [line.split(",")[-5] for line in out.splitlines()[1:]]  # margin_usd: negative numbers stay numbers
    assert all(m.startswith("-0.") and not m.startswith("'") for m in money if m)


def test_csv_text_rule():
    from margindash_cli.core.textsafe import csv_text, md_text, safe

    assert [csv_text(v) for v in ("=1+2", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "acme", "(no usage)")] == [
        "'=1+2",
        "'+1",
        "'-1",
        "'@SUM(A1)",
        "'\\x09x",
        "'\\x0dx",
        "acme",
        "(no usage)",
    ]
    # the newline shows as the text \x0a (its backslash escaped for Markdown), never a new row
    assert md_text("a|b\n![x](http://e/i.png) <b>") == "a\\|b\\\\x0a\\!\\[x\\](http://e/i.png) \\<b\\>"
    assert safe("\x1b[2J\u202e") == "\\x1b[2J\\u202e"


def test_markdown_escapes_pipes_images_and_newlines(tmp_path, cli):
    db = tmp_path / "m.db"
    log = write(
        tmp_path / "m.jsonl",
        {
            "timestamp": "2026-10-01T10:00:00Z",
            "customer_id": "a|b\n![x](http://e/i.png)",
            "vendor": "openai",
            "model": "gpt-4o",
            "input_tokens": 10,
            "output_tokens": 1,
        },
    )
    assert cli("--db", db, "ingest", log).exit_code == 0
    lines = cli("--db", db, "report", "--format", "markdown").stdout.splitlines()
    row = next(line for line in lines if "i.png" in line)
    assert row.startswith("| a\\|b\\\\x0a\\!\\[x\\](http://e/i.png) |") and row.count(" | ") == 10


def test_export_csv_quotes_formula_like_text_cells_and_leaves_numbers(tmp_path, cli):
    import csv

    db = tmp_path / "x.db"
    log = write(
        tmp_path / "x.jsonl",
        {
            "timestamp": "2026-10-01T10:00:00Z",
            "customer_id": '=HYPERLINK("http://evil","x")',
            "event_type": "@SUM(A1)",
            "segment": "+1",
            "vendor": "openai",
            "model": "gpt-4o",
            "input_tokens": 0,
            "output_tokens": 0,
            "cost_usd": "0.5",
            "tags": {"team": "-2"},
        },
    )
    assert cli("--db", db, "ingest", log).exit_code == 0
    out = tmp_path / "w"
    assert cli("--db", db, "export", out, "--format", "csv").exit_code == 0
    with open(out / "events" / "month=2026-10" / "part-0.csv", newline="", encoding="utf-8") as fh:
        (row,) = list(csv.DictReader(fh))
    assert row["customer_id"] == '\'=HYPERLINK("http://evil","x")'
    assert (row["event_type"], row["segment"]) == ("'@SUM(A1)", "'+1")
    assert row["cost_usd"] == "0.5" and row["extra_cost_usd"] == "0.5"  # numbers stay numbers
    with open(out / "rollup_daily" / "month=2026-10" / "part-0.csv", newline="", encoding="utf-8") as fh:
        (rollup,) = list(csv.DictReader(fh))
    assert rollup["customer_id"] == '\'=HYPERLINK("http://evil","x")' and rollup["cost_usd"] == "0.5"
