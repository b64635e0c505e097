"""`export --schema focus` and the shipped warehouse SQL: an export loaded into DuckDB gives, query by query, what
`report --json` prints for the same range, to the cent."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from test_export import app_log_events

pq = pytest.importorskip("pyarrow.parquet")
duckdb = pytest.importorskip("duckdb")

from margindash_cli.warehouse import focus, sql as wsql  # noqa: E402

SINCE, UNTIL = "2026-09-01", "2026-11-30"
# revenue that makes the allocation do work: odd cents over several cells of a day (acme on Oct 1 has calls on two
# models and a segment), a customer-day with no calls (globex on Oct 2), and event-carried revenue (acme's batch call)
REVENUE_CSV = ("customer_id,amount,date\nacme,100.01,2026-10-01\nglobex,33.33,2026-10-02\nacme,7.77,2026-09-15\n"
               "initech,1.01,2026-11-05\nacme,0.03,2026-11-02\nacme,10.00,2026-10-05\n")  # fmt: skip
# three cells of one customer-day (two features, two models): its 10.00 splits 334 / 333 / 333 cents by calls
SPLIT_DAY = [{"timestamp": f"2026-10-05T0{i}:00:00Z", "request_id": f"split-{i}", "customer_id": "acme",
              "event_type": ["chat", "search", "chat"][i], "vendor": "openai",
              "model": ["gpt-4o-mini", "gpt-4o-mini", "gpt-4o-2024-08-06"][i], "input_tokens": 100, "output_tokens": 10}
             for i in range(3)]  # fmt: skip
QUERY_DIMS = {"margin_by_customer": "customer", "margin_by_feature": "feature", "margin_by_model": "model",
              "margin_by_day": "day"}  # fmt: skip


@pytest.fixture
def exported(tmp_path, cli):
    log = tmp_path / "ai-usage.jsonl"
    log.write_text("".join(json.dumps(e) + "\n" for e in app_log_events() + SPLIT_DAY))
    db = tmp_path / "s.db"
    assert cli("--db", db, "ingest", log).exit_code == 0
    (tmp_path / "rev.csv").write_text(REVENUE_CSV)
    assert cli("--db", db, "revenue", "import", tmp_path / "rev.csv").exit_code == 0
    out = tmp_path / "wh"
    r = cli("--db", db, "export", out, "--schema", "focus", "--since", SINCE, "--until", UNTIL, "--json")
    assert r.exit_code == 0, r.stdout
    return db, out, json.loads(r.stdout)


def _load(cli, out):
    r = cli("export", out, "--sql", "duckdb")
    assert r.exit_code == 0, r.stdout
    con = duckdb.connect()
    results, name = {}, None
    for statement in r.stdout.split(";\n"):
        lines = [ln for ln in statement.strip().splitlines()]
        names = [ln.removeprefix("-- query: ") for ln in lines if ln.startswith("-- query: ")]
        body = "\n".join(ln for ln in lines if not ln.startswith("--")).strip()
        if not body:
            continue
        cur = con.execute(body)
        if names:
            name = names[0]
            cols = [d[0] for d in cur.description]
            results[name] = [dict(zip(cols, row)) for row in cur.fetchall()]
    return con, results


def dec(text):
    return None if text is None else Decimal(text)


def test_every_shipped_query_equals_report_json_to_the_cent(exported, cli):
    db, out, _ = exported
    _con, results = _load(cli, out)
    assert sorted(results) == sorted(wsql.QUERIES)
    for query, dim in QUERY_DIMS.items():
        report = json.loads(cli("--db", db, "report", "--by", dim, "--json", "--since", SINCE, "--until", UNTIL).stdout)
        want = {r["group"][dim]: (r["events"], dec(r["cost_usd"]), Decimal(r["revenue_usd"]), dec(r["margin_usd"]))
                for r in report["rows"] if r["events"] or Decimal(r["revenue_usd"])}  # fmt: skip
        got = {str(r[dim]): (r["calls"], r["cost_usd"], Decimal(r["revenue_cents"]).scaleb(-2), r["margin_usd"])
               for r in results[query]}  # fmt: skip
        assert got == want, query
        assert sum(v[2] for v in got.values()) == Decimal(report["totals"]["revenue_usd"]), query
    # the revenue really was split (odd cents over several cells), and revenue without calls is its own row
    by_feature = {r["feature"]: r for r in results["margin_by_feature"]}
    assert by_feature["(no usage)"]["revenue_cents"] == 3333 + 101 + 3  # globex Oct 2, initech Nov 5, acme Nov 2
    split = _con.execute("SELECT x_RevenueUsdCents FROM revenue_allocation WHERE x_CustomerId = 'acme'"
                         " AND x_Day = DATE '2026-10-05' ORDER BY 1 DESC").fetchall()
    assert split == [(334,), (333,), (333,)]
    conc = json.loads(cli("--db", db, "report", "concentration", "--json", "--since", SINCE, "--until", UNTIL).stdout)
    ranked = [(r["customer"], Decimal(r["cost_usd"])) for r in conc["customers"]]
    assert [(r["customer"], r["cost_usd"]) for r in results["cost_concentration"]] == ranked


def test_focus_columns_are_documented_and_typed(exported):
    _db, out, result = exported
    manifest = json.loads((out / "_manifest.json").read_text())
    assert manifest["schema"] == "focus" and manifest["focus_version"] == "1.2"
    for table, columns in focus.COLUMNS.items():
        documented = manifest["tables"][table]["columns"]
        assert [c["name"] for c in documented] == [c[0] for c in columns]
        assert all(c["description"] and c["type"] for c in documented)
        for part in manifest["tables"][table]["partitions"]:
            schema = pq.read_schema(out / part["path"])
            assert schema.names == [c[0] for c in columns]
    names = [c[0] for c in focus.COSTS_COLUMNS]
    for required in ("ChargePeriodStart", "ChargePeriodEnd", "BilledCost", "EffectiveCost", "BillingCurrency",
                     "ServiceName", "ProviderName", "ConsumedQuantity", "ConsumedUnit", "SkuPriceId", "Tags",
                     "x_CustomerId", "x_Feature", "x_Model", "x_PriceVersion", "x_Unpriced", "x_CostBasis"):  # fmt: skip
        assert required in names
    assert all(n[0].isupper() or n.startswith("x_") for n in names)
    costs = [r for p in manifest["tables"]["costs"]["partitions"] for r in pq.read_table(out / p["path"]).to_pylist()]
    unpriced = [r for r in costs if r["x_Unpriced"]]
    assert len(unpriced) == 1 and unpriced[0]["BilledCost"] is None and unpriced[0]["SkuPriceId"] is None
    priced = [r for r in costs if not r["x_Unpriced"]]
    assert all(r["BilledCost"] == r["EffectiveCost"] and r["x_PriceVersion"] and r["SkuPriceId"] for r in priced)
    assert {r["BillingCurrency"] for r in costs} == {"USD"} and {r["ConsumedUnit"] for r in costs} == {"Tokens"}
    # the manifest's exact sums are the files' sums
    total_pico = sum(int(r["BilledCost"].scaleb(12)) for r in priced)
    assert result["totals"]["costs"]["cost_usd"] == wsql_usd(total_pico)
    alloc = manifest["tables"]["revenue_allocation"]["totals"]
    assert alloc["revenue_usd_cents"] == manifest["tables"]["revenue"]["totals"]["revenue_usd_cents"] == 14215 + 1000 + 500


def wsql_usd(pico):
    from margindash_cli.money import usd_text

    return usd_text(pico)


def test_sql_for_other_engines_and_refusals(exported, cli, tmp_path):
    _db, out, _ = exported
    bq = cli("export", out, "--sql", "bigquery").stdout
    assert "BIGNUMERIC" in bq and "DECIMAL(38, 12)" not in bq and "bq load" in bq
    ch = cli("export", out, "--sql", "clickhouse").stdout
    assert "FORMAT Parquet" in ch and "DECIMAL(38, 12)" in ch
    bad = cli("export", out, "--sql", "oracle")
    assert bad.exit_code != 0 and "oracle" in bad.stderr
    # a default-schema export in the same folder is refused, not mixed
    r = cli("--db", _db, "export", out)
    assert r.exit_code != 0 and "--schema" in r.stderr
