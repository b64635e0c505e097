"""`revenue import` and `fx import`: keyed by path, say what a re-import replaced, and every malformed file is a
clear error naming file, line and field (#22 items 6 and 10), never a traceback."""

from __future__ import annotations

import json
from datetime import date

import pytest

from margindash_cli.store.db import Store


def totals(home) -> dict[str, int]:
    with Store.open(home / "margindash.db") as store:
        return dict(
            store.conn.execute(
                "SELECT strftime('%Y-%m', day * 86400, 'unixepoch'), sum(amount_minor) FROM revenue GROUP BY 1"
            )
        )


def imp(cli, path, *args):
    result = cli("revenue", "import", path, "--json", *args)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_two_files_of_the_same_name_in_two_folders_are_two_imports(cli, tmp_path, _isolated_home):
    (tmp_path / "oct").mkdir()
    (tmp_path / "nov").mkdir()
    (tmp_path / "oct" / "revenue.csv").write_text("customer_id,amount,date\nacme,500.00,2026-10-15\n")
    (tmp_path / "nov" / "revenue.csv").write_text("customer_id,amount,date\nacme,300.00,2026-11-15\n")
    assert imp(cli, tmp_path / "oct" / "revenue.csv")["replaced"]["day_rows"] == 0
    nov = imp(cli, tmp_path / "nov" / "revenue.csv")
    assert nov["replaced"] == {"day_rows": 0, "totals": {}}
    assert totals(_isolated_home) == {"2026-10": 50000, "2026-11": 30000}


def test_a_re_import_of_the_same_path_replaces_it_and_says_what(cli, tmp_path, _isolated_home):
    path = tmp_path / "revenue.csv"
    path.write_text("customer_id,amount,date\nacme,500.00,2026-10-15\n")
    imp(cli, path)
    path.write_text("customer_id,amount,date\nacme,510.00,2026-10-15\n")
    again = imp(cli, path)
    assert again["replaced"] == {"day_rows": 1, "totals": {"usd": "500.00"}}
    assert totals(_isolated_home) == {"2026-10": 51000}
    text = cli("revenue", "import", path)
    assert text.exit_code == 0 and "Replaced 510.00 USD (1 day rows) imported from this file before." in text.stdout


def legacy_import(home, rows):
    """What an older margindash stored: the source keyed by the file's base name."""
    with Store.open(home / "margindash.db") as store:
        store.revenue.replace_revenue("csv:revenue.csv", [(c, d, m, "usd", m, ref) for c, d, m, ref in rows])


def test_an_import_keyed_by_name_by_an_older_version_is_replaced_only_when_it_is_the_same_file(
    cli, tmp_path, _isolated_home
):
    legacy_import(_isolated_home, [("acme", date(2026, 10, 15), 50000, "line 2")])
    path = tmp_path / "revenue.csv"
    path.write_text("customer_id,amount,date\nacme,500.00,2026-10-15\n")
    same = imp(cli, path)  # the same rows: the same file, imported again
    assert same["replaced"]["totals"] == {"usd": "500.00"} and same["warnings"] == []
    assert totals(_isolated_home) == {"2026-10": 50000}

    with Store.open(_isolated_home / "margindash.db") as store, store.write():
        store.conn.execute("DELETE FROM revenue")
    legacy_import(_isolated_home, [("acme", date(2026, 10, 15), 50000, "line 2")])
    other = tmp_path / "nov"
    other.mkdir()
    (other / "revenue.csv").write_text("customer_id,amount,date\nacme,300.00,2026-11-15\n")
    kept = cli("revenue", "import", other / "revenue.csv", "--json")
    assert kept.exit_code == 0 and "--replace-by-name" in kept.stderr
    assert totals(_isolated_home) == {"2026-10": 50000, "2026-11": 30000}  # October is not silently replaced
    imp(cli, other / "revenue.csv", "--replace-by-name")
    assert totals(_isolated_home) == {"2026-11": 30000}


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("extra.csv", "customer_id,amount,date\nacme,10.00,2026-01-01,oops\n", "extra.csv, line 2, field #4"),
        (
            "big.csv",
            "customer_id,amount,date\nacme,1.00,2026-01-01\nacme," + "1" * 140_000 + ",2026-01-01\n",
            "big.csv, line 3: a field is longer than 128 KiB",
        ),
        (
            "e30.csv",
            "customer_id,amount,date\nacme,1e30,2026-01-01\n",
            "e30.csv, line 2, field amount: '1e30' is out of range",
        ),
        (
            "e30p.csv",
            "customer_id,amount,currency,period_start,period_end\nacme,1e30,jpy,2026-01-01,2026-01-31\n",
            "e30p.csv, line 2, field amount",
        ),
        (
            "huge.csv",
            "customer_id,amount,date\nacme,1E+999999999,2026-01-01\n",
            "huge.csv, line 2, field amount: '1E+999999999' is out of range",
        ),
        (
            "nul.csv",
            "customer_id,amount,date\nac\x00me,10.00,2026-01-01\n",
            "nul.csv, line 2, field customer_id: contains a control character (NUL)",
        ),
        (
            "longdate.csv",
            "customer_id,amount,date\nacme,10.00," + "9" * 5000 + "\n",
            "longdate.csv, line 2, field date",
        ),
    ],
)
def test_malformed_revenue_files_fail_clearly_and_import_nothing(
    cli, tmp_path, _isolated_home, name, content, expected
):
    path = tmp_path / name
    path.write_text(content)
    result = cli("revenue", "import", path)
    assert result.exit_code == 1 and expected in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr) < 600
    assert totals(_isolated_home) == {}


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            "date,currency,usd_per_unit\n2026-01-01,eur,1e20\n",
            "rates.csv, line 2, field usd_per_unit: '1e20' USD per unit is out of range",
        ),
        ("date,currency,usd_per_unit\n2026-01-01,eur,1E+999999999\n", "rates.csv, line 2, field usd_per_unit"),
        ("date,currency,units_per_usd\n2026-01-01,jpy,1e-20\n", "rates.csv, line 2, field units_per_usd"),
        ("date,currency,usd_per_unit\n2026-01-01,eur,1.08,extra\n", "rates.csv, line 2, field #4"),
        (
            "date,currency,usd_per_unit\n2026-01-01,eur," + "1" * 140_000 + "\n",
            "rates.csv, line 2: a field is longer than 128 KiB",
        ),
    ],
)
def test_malformed_fx_files_fail_clearly_and_store_nothing(cli, tmp_path, _isolated_home, content, expected):
    path = tmp_path / "rates.csv"
    path.write_text(content)
    result = cli("fx", "import", path)
    assert result.exit_code == 1 and expected in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    with Store.open(_isolated_home / "margindash.db") as store:
        assert store.conn.execute("SELECT count(*) FROM fx_rates").fetchone()[0] == 0
