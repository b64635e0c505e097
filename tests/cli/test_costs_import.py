"""`costs import`: AWS CUR 2.0 (CSV, gzip, Parquet) and FOCUS 1.x files, then `reconcile` on them."""

from __future__ import annotations

import gzip
import json
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent.parent / "fixtures" / "reconcile"
CUR = FIXTURES / "cur_bedrock_sample.csv"
FOCUS = FIXTURES / "focus_sample.csv"


def imported(cli, path, *args):
    r = cli("costs", "import", path, "--json", *args)
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout)


def billed(home):
    if not (home / "margindash.db").exists():  # a failed first command leaves no store at all (#17)
        return []
    conn = sqlite3.connect(home / "margindash.db")
    rows = conn.execute(
        "SELECT source, ref, provider, day, model, token_class, kind, amount, quantity, quantity_unit FROM billed_costs"
        " ORDER BY source, ref"
    ).fetchall()
    conn.close()
    return rows


def test_cur_bedrock_lines_are_imported_exactly(cli, _isolated_home):
    out = imported(cli, CUR)
    assert out["format"] == "cur" and out["cost_lines"] == 9 and out["billed_usd"] == "12.05425"
    rows = billed(_isolated_home)
    sonnet = [r for r in rows if r[4] == "Claude Sonnet 4.5"]
    # Marketplace usage types for Anthropic models: input (in-region and _Global), output, cache read and write
    assert sorted(r[5] for r in sonnet) == ["cache_read", "cache_write_5m", "input", "input", "output"]
    assert {r[9] for r in sonnet} == {"tokens"}  # $0.0000033 a unit: the unit is one token
    credit = [r for r in rows if r[6] == "credit"]
    assert credit == [
        (
            "cur",
            "q3v0000009x|2026-07-14T00:00:00Z/2026-07-15T00:00:00Z",
            "aws",
            20648,
            None,
            None,
            "credit",
            -250_000_000_000,
            None,
            None,
        )
    ]


def test_reimporting_the_same_file_changes_nothing(cli, _isolated_home):
    first = imported(cli, CUR)
    assert first["days_changed"] == [{"provider": "aws", "day": "2026-07-14"}]
    before = billed(_isolated_home)
    again = imported(cli, CUR)
    assert again["days_changed"] == [] and billed(_isolated_home) == before
    gz = _isolated_home / "cur.csv.gz"
    gz.write_bytes(gzip.compress(CUR.read_bytes()))
    assert imported(cli, gz)["days_changed"] == [] and billed(_isolated_home) == before  # the same lines, gzipped
    focus = imported(cli, FOCUS)
    assert imported(cli, FOCUS)["days_changed"] == [] and focus["cost_lines"] == 4


def test_cur_parquet_with_map_columns(cli, _isolated_home, tmp_path):
    pa = pytest.importorskip("pyarrow")
    import csv

    import pyarrow.parquet as pq

    with open(CUR, newline="") as fh:
        recs = list(csv.DictReader(fh))
    cols = {k: [r[k] for r in recs] for k in recs[0]}
    for m in ("product", "resource_tags"):
        cols[m] = pa.array([list(json.loads(v).items()) for v in cols[m]], type=pa.map_(pa.string(), pa.string()))
    path = tmp_path / "cur.parquet"
    pq.write_table(pa.table(cols), path)
    out = imported(cli, path)
    assert out["billed_usd"] == "12.05425" and out["cost_lines"] == 9
    rows = billed(_isolated_home)
    assert {r[4] for r in rows} == {"Claude Sonnet 4.5", "Nova Pro", None}


def test_focus_rows(cli, _isolated_home):
    out = imported(cli, FOCUS)
    assert out["billed_usd"] == "4.448"
    rows = billed(_isolated_home)
    assert {(r[2], r[4], r[5]) for r in rows} == {
        ("gcp", "gemini-2.5-flash", "input"),
        ("gcp", "gemini-2.5-flash", "output"),
        ("azure", "gpt-4o-mini-2024-07-18", "input"),
        ("azure", "gpt-4o-mini-2024-07-18", "output"),
    }


def test_a_focus_file_in_another_currency_is_refused_whole(cli, _isolated_home, tmp_path):
    lines = FOCUS.read_text().splitlines(keepends=True)
    lines[3] = lines[3].replace(",USD,", ",EUR,", 1)
    bad = tmp_path / "focus-eur.csv"
    bad.write_text("".join(lines))
    r = cli("costs", "import", bad)
    assert r.exit_code == 1
    assert f"{bad}, line 4, column BillingCurrency: billed in EUR, not USD" in r.stderr and "Traceback" not in r.stderr
    assert billed(_isolated_home) == []  # the good rows before it were not written either


def test_a_bad_amount_names_file_line_and_column(cli, tmp_path, _isolated_home):
    lines = CUR.read_text().splitlines(keepends=True)
    lines[2] = lines[2].replace(",1.386,1.386,", ",1.38x,1.38x,")
    bad = tmp_path / "cur-bad.csv"
    bad.write_text("".join(lines))
    r = cli("costs", "import", bad)
    assert r.exit_code == 1 and "line 3, column line_item_net_unblended_cost: '1.38x' is not a number" in r.stderr
    assert billed(_isolated_home) == []


def test_unknown_columns_warn_and_missing_ones_fail(cli, tmp_path):
    text = CUR.read_text().splitlines(keepends=True)
    extra = tmp_path / "cur-extra.csv"
    extra.write_text(text[0].rstrip("\n") + ",my_own_column\n" + "".join(t.rstrip("\n") + ",x\n" for t in text[1:]))
    r = cli("costs", "import", extra)
    assert r.exit_code == 0 and "my_own_column" in r.stderr
    missing = tmp_path / "cur-missing.csv"
    missing.write_text(text[0].replace("line_item_usage_type,", "usage_kind,") + "".join(text[1:]))
    r = cli("costs", "import", missing, "--format", "cur")
    assert r.exit_code == 1 and "missing column(s) line_item_usage_type" in r.stderr
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    r = cli("costs", "import", other)
    assert r.exit_code == 1 and "neither an AWS CUR 2.0 export nor a FOCUS file" in r.stderr


def test_reconcile_bedrock_calls_against_the_cur(cli, tmp_path):
    log = tmp_path / "usage.jsonl"
    log.write_text(
        "".join(
            json.dumps(
                {
                    "timestamp": "2026-07-14T09:00:00Z",
                    "request_id": f"b-{i}",
                    "customer_id": "acme",
                    "event_type": "search",
                    "vendor": "bedrock",
                    "model": "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
                    "input_tokens": 185_000,
                    "output_tokens": 8_400,
                }
            )
            + "\n"
            for i in range(10)
        )
    )
    assert cli("ingest", log).exit_code == 0
    imported(cli, CUR)
    r = cli("reconcile", "--json", "--since", "2026-07-14", "--until", "2026-07-14", "--provider", "aws")
    data = json.loads(r.stdout)
    sonnet = next(x for x in data["rows"] if x["model"] == "Claude Sonnet 4.5")
    assert sonnet["calls"] == 10 and sonnet["tokens_logged"] == 1_934_000 and sonnet["tokens_billed"] == 5_744_000
    # priced at Bedrock's in-region rate ($3.30/M in, $16.50/M out); the bill ran 600k of the input tokens through
    # global inference at $3.00/M: $7.311 for the tokens we logged, 97.60% of our $7.491
    assert (
        sonnet["billed_usd"] == "10.12425"
        and sonnet["computed_usd"] == "7.491"
        and sonnet["effective_rate_pct"] == "97.60"
    )
    assert sonnet["explained"]["price_difference"] == "-0.18"
    assert sum(Decimal(v) for v in sonnet["explained"].values()) == Decimal(sonnet["gap_usd"])
    nova = next(x for x in data["rows"] if x["model"] == "Nova Pro")
    assert nova["computed_usd"] == "0" and nova["calls"] == 0
    credit = next(x for x in data["rows"] if x["model"] is None)
    assert credit["explained"]["unlogged_charges"] == "-0.25"
    assert "Claude Sonnet 4.5" in cli("reconcile", "--provider", "aws").stdout
