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


# ---- thousands separators, period_end, a missing file (#17) ------------------------------------------


def test_quoted_amounts_with_thousands_separators_import(cli, tmp_path, _isolated_home):
    path = tmp_path / "revenue.csv"
    path.write_text(
        "customer_id,amount,currency,date\n"
        'acme,"1,234.56",usd,2026-10-01\n'
        'globex,"1,000,000",usd,2026-10-02\n'
        'initech,"-12,345.6",usd,2026-10-03\n'
        "hooli,999.99,usd,2026-10-04\n"
        'jp,"5,000",jpy,2026-10-05\n'
    )
    imp(cli, path)
    with Store.open(_isolated_home / "margindash.db") as store:
        got = dict(store.conn.execute("SELECT ref, amount_minor FROM revenue"))
    assert sorted(got.values()) == sorted([123456, 100000000, -1234560, 99999, 5000])


@pytest.mark.parametrize(
    ("amount", "currency"),
    [
        ("1,5", "usd"),  # a decimal comma
        ("1,23", "usd"),
        ("12,3456", "usd"),
        ("1.234,56", "eur"),  # European grouping: never read as 1.234
        ("1,234,5", "usd"),
        (",123", "usd"),
        ("1234,567", "usd"),  # a first group of four digits
        ("1,,234", "usd"),
        ("1,234.", "usd"),
        ("1,234", "kwd"),  # three decimals: a thousand or 1.234, ambiguous
    ],
)
def test_a_comma_that_is_not_a_thousands_separator_is_refused(cli, tmp_path, _isolated_home, amount, currency):
    path = tmp_path / "revenue.csv"
    path.write_text(
        f'customer_id,amount,currency,date\nacme,10.00,usd,2026-10-01\nacme,"{amount}",{currency},2026-10-02\n'
    )
    result = cli("revenue", "import", path)
    assert result.exit_code == 1, (amount, result.output)
    assert f"{path}, line 3, field amount:" in result.stderr, result.stderr
    assert not (_isolated_home / "margindash.db").exists() or totals(_isolated_home) == {}


def test_an_unquoted_thousands_comma_is_an_extra_field_error(cli, tmp_path, _isolated_home):
    path = tmp_path / "revenue.csv"
    path.write_text("customer_id,amount,currency,date\nacme,1,234.56,usd,2026-10-01\n")
    result = cli("revenue", "import", path)
    assert result.exit_code == 1 and f"{path}, line 2" in result.stderr, result.stderr


def test_period_end_is_inclusive(cli, tmp_path, _isolated_home):
    path = tmp_path / "revenue.csv"
    path.write_text(
        "customer_id,amount,period_start,period_end\nacme,31.00,2026-10-01,2026-10-31\nday,5.00,2026-11-01,2026-11-01\n"
    )
    imp(cli, path)
    with Store.open(_isolated_home / "margindash.db") as store:
        rows = dict(
            (ref, (n, lo, hi, total))
            for ref, n, lo, hi, total in store.conn.execute(
                "SELECT ref, count(*), min(day), max(day), sum(amount_minor) FROM revenue GROUP BY ref"
            )
        )
    day = (date(2026, 10, 1) - date(1970, 1, 1)).days
    assert rows["line 2"] == (31, day, day + 30, 3100)  # Oct 1 .. Oct 31, both ends in: 1.00 a day
    assert rows["line 3"] == (1, day + 31, day + 31, 500)  # period_end == period_start: that one day
    assert totals(_isolated_home) == {"2026-10": 3100, "2026-11": 500}


def test_a_missing_file_is_an_error_naming_it_like_ingest(cli, tmp_path, _isolated_home):
    missing = tmp_path / "nope.csv"
    result = cli("revenue", "import", missing)
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(f"error: {missing}: no such file or directory"), result.stderr
    assert result.stdout == ""
    folder = cli("revenue", "import", tmp_path)
    assert folder.exit_code == 1 and folder.stderr.startswith(f"error: {tmp_path}: is a folder"), folder.stderr
