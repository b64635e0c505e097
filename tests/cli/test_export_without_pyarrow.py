"""`export` with no --format: Parquet when pyarrow imports, else CSV with a note on stderr; an explicit
`--format parquet` without pyarrow stays an error with the install hint (#17)."""

from __future__ import annotations

import json
import sys

import pytest

NOTE = "note: pyarrow is not installed, so this export is CSV"


@pytest.fixture
def stored(cli, tmp_path):
    log = tmp_path / "usage.jsonl"
    log.write_text(
        "".join(
            json.dumps(
                {
                    "timestamp": f"2026-{9 + i % 2:02d}-0{1 + i % 7}T10:00:00Z",
                    "request_id": f"r{i}",
                    "customer_id": "acme",
                    "vendor": "openai",
                    "model": "gpt-4o-mini",
                    "input_tokens": 1000 + i,
                    "output_tokens": 50,
                }
            )
            + "\n"
            for i in range(10)
        )
    )
    assert cli("ingest", log).exit_code == 0


@pytest.fixture
def no_pyarrow(monkeypatch):
    for name in ("pyarrow", "pyarrow.parquet"):
        monkeypatch.setitem(sys.modules, name, None)  # `import pyarrow` now raises ImportError


def test_no_format_and_no_pyarrow_writes_csv_and_says_so(cli, tmp_path, stored, no_pyarrow):
    out = tmp_path / "wh"
    r = cli("export", out)
    assert r.exit_code == 0, r.stderr
    assert NOTE in r.stderr and "pip install 'margindash[parquet]'" in r.stderr
    assert NOTE not in r.stdout  # stdout holds the summary only
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("part-0.*")) == [
        "events/month=2026-09/part-0.csv",
        "events/month=2026-10/part-0.csv",
        "rollup_daily/month=2026-09/part-0.csv",
        "rollup_daily/month=2026-10/part-0.csv",
    ]
    manifest = json.loads((out / "_manifest.json").read_text())
    assert manifest["format"] == "csv" and manifest["compression"] is None
    assert manifest["tables"]["events"]["totals"]["rows"] == 10


def test_the_json_result_says_the_format_and_why(cli, tmp_path, stored, no_pyarrow):
    r = cli("export", tmp_path / "wh", "--json")
    assert r.exit_code == 0
    data = json.loads(r.stdout)
    assert data["format"] == "csv" and data["note"].startswith(NOTE)
    assert NOTE in r.stderr


def test_explicit_parquet_without_pyarrow_is_an_error_with_the_install_hint(cli, tmp_path, stored, no_pyarrow):
    r = cli("export", tmp_path / "wh", "--format", "parquet")
    assert r.exit_code == 1
    assert "needs pyarrow" in r.stderr and "pip install 'margindash[parquet]'" in r.stderr
    assert NOTE not in r.stderr
    assert not (tmp_path / "wh").exists()


def test_explicit_csv_says_nothing(cli, tmp_path, stored, no_pyarrow):
    r = cli("export", tmp_path / "wh", "--format", "csv")
    assert r.exit_code == 0 and NOTE not in r.stderr


def test_no_format_with_pyarrow_writes_parquet_without_a_note(cli, tmp_path, stored):
    pytest.importorskip("pyarrow")
    out = tmp_path / "wh"
    r = cli("export", out, "--json")
    assert r.exit_code == 0
    assert json.loads(r.stdout)["format"] == "parquet" and "note" not in json.loads(r.stdout)
    assert NOTE not in r.stderr
    assert json.loads((out / "_manifest.json").read_text())["format"] == "parquet"


def test_no_format_keeps_an_earlier_exports_format(cli, tmp_path, stored):
    """A folder of CSV stays CSV on the next run without --format, pyarrow or not (no 'holds a csv export')."""
    out = tmp_path / "wh"
    assert cli("export", out, "--format", "csv").exit_code == 0
    r = cli("export", out, "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["format"] == "csv" and NOTE not in r.stderr


def test_an_earlier_parquet_export_without_pyarrow_is_an_error_not_a_mixed_folder(cli, tmp_path, stored, monkeypatch):
    pytest.importorskip("pyarrow")
    out = tmp_path / "wh"
    assert cli("export", out, "--format", "parquet").exit_code == 0
    for name in ("pyarrow", "pyarrow.parquet"):
        monkeypatch.setitem(sys.modules, name, None)
    r = cli("export", out)
    assert r.exit_code == 1
    assert "holds a Parquet export, and writing Parquet needs pyarrow" in r.stderr
    assert "pip install 'margindash[parquet]'" in r.stderr
    assert not list(out.rglob("*.csv"))
