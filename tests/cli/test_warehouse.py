"""`export --schema focus` and the shipped warehouse SQL: an export loaded into DuckDB gives, query by query, what
`report --json` prints for the same range, to the cent."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from test_export import app_log_events

pq = pytest.importorskip("pyarrow.parquet")
duckdb = pytest.importorskip("duckdb")

from margindash_cli.export import focus  # noqa: E402
from margindash_cli.export import sql as wsql  # noqa: E402

SINCE, UNTIL = "2026-09-01", "2026-11-30"
# revenue that makes the allocation do work: odd cents over several cells of a day (acme on Oct 1 has calls on two
# models and a segment), a customer-day with no calls (globex on Oct 2), and event-carried revenue (acme's batch call)
REVENUE_CSV = (
    "customer_id,amount,date\nacme,100.01,2026-10-01\nglobex,33.33,2026-10-02\nacme,7.77,2026-09-15\n"
    "initech,1.01,2026-11-05\nacme,0.03,2026-11-02\nacme,10.00,2026-10-05\n"
)
# three cells of one customer-day (two features, two models): its 10.00 splits 334 / 333 / 333 cents by calls
SPLIT_DAY = [
    {
        "timestamp": f"2026-10-05T0{i}:00:00Z",
        "request_id": f"split-{i}",
        "customer_id": "acme",
        "event_type": ["chat", "search", "chat"][i],
        "vendor": "openai",
        "model": ["gpt-4o-mini", "gpt-4o-mini", "gpt-4o-2024-08-06"][i],
        "input_tokens": 100,
        "output_tokens": 10,
    }
    for i in range(3)
]
QUERY_DIMS = {
    "margin_by_customer": "customer",
    "margin_by_feature": "feature",
    "margin_by_model": "model",
    "margin_by_day": "day",
}


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
        want = {
            r["group"][dim]: (r["events"], dec(r["cost_usd"]), Decimal(r["revenue_usd"]), dec(r["margin_usd"]))
            for r in report["rows"]
            if r["events"] or Decimal(r["revenue_usd"])
        }
        got = {
            str(r[dim]): (r["calls"], r["cost_usd"], Decimal(r["revenue_cents"]).scaleb(-2), r["margin_usd"])
            for r in results[query]
        }
        assert got == want, query
        assert sum(v[2] for v in got.values()) == Decimal(report["totals"]["revenue_usd"]), query
    # the revenue really was split (odd cents over several cells), and revenue without calls is its own row
    by_feature = {r["feature"]: r for r in results["margin_by_feature"]}
    assert by_feature["(no usage)"]["revenue_cents"] == 3333 + 101 + 3  # globex Oct 2, initech Nov 5, acme Nov 2
    split = _con.execute(
        "SELECT x_RevenueUsdCents FROM revenue_allocation WHERE x_CustomerId = 'acme'"
        " AND x_Day = DATE '2026-10-05' ORDER BY 1 DESC"
    ).fetchall()
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
    for required in (
        "ChargePeriodStart",
        "ChargePeriodEnd",
        "BilledCost",
        "EffectiveCost",
        "BillingCurrency",
        "ServiceName",
        "ProviderName",
        "ConsumedQuantity",
        "ConsumedUnit",
        "SkuPriceId",
        "Tags",
        "x_CustomerId",
        "x_Feature",
        "x_Model",
        "x_PriceVersion",
        "x_Unpriced",
        "x_CostBasis",
    ):
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
    assert (
        alloc["revenue_usd_cents"] == manifest["tables"]["revenue"]["totals"]["revenue_usd_cents"] == 14215 + 1000 + 500
    )


def wsql_usd(pico):
    from margindash_cli.core.money import usd_text

    return usd_text(pico)


def test_sql_for_other_engines_and_refusals(exported, cli, tmp_path):
    _db, out, _ = exported
    bq = cli("export", out, "--sql", "bigquery").stdout
    assert "BIGNUMERIC" in bq and "DECIMAL(38, 12)" not in bq and "bq load" in bq
    ch = cli("export", out, "--sql", "clickhouse").stdout
    assert "Parquet)" in ch and "Nullable(DECIMAL(38, 12))" in ch
    bad = cli("export", out, "--sql", "oracle")
    assert bad.exit_code != 0 and "oracle" in bad.stderr
    # a default-schema export in the same folder is refused, not mixed
    r = cli("--db", _db, "export", out)
    assert r.exit_code != 0 and "--schema" in r.stderr


def test_manifest_hashes_and_changed_since_name_only_what_changed(exported, cli, tmp_path, monkeypatch):
    db, out, first = exported
    manifest = json.loads((out / "_manifest.json").read_text())
    import hashlib

    for table in focus.TABLES:
        for part in manifest["tables"][table]["partitions"]:
            assert part["sha256"] == hashlib.sha256((out / part["path"]).read_bytes()).hexdigest()
            assert part["changed_at"] == first["generated_at"]
    inodes = {p: (out / p).stat().st_ino for p in (x["path"] for x in first["written"])}
    # a re-run over unchanged data leaves every file alone and names nothing as changed
    monkeypatch.setenv("MARGINDASH_NOW", "2030-01-01T00:00:00Z")
    again = json.loads(
        cli(
            "--db",
            db,
            "export",
            out,
            "--schema",
            "focus",
            "--since",
            SINCE,
            "--until",
            UNTIL,
            "--changed-since",
            "2030-01-01T00:00:00Z",
            "--json",
        ).stdout
    )
    assert again["changed"] == [] and not any(p["changed"] for p in again["written"])
    assert {p: (out / p).stat().st_ino for p in inodes} == inodes
    # one late call in October: only October's costs and allocation change; a loader asking since the last run sees them
    late = tmp_path / "late.jsonl"
    late.write_text(
        json.dumps(
            {
                "timestamp": "2026-10-20T10:00:00Z",
                "request_id": "late-1",
                "customer_id": "acme",
                "event_type": "chat",
                "vendor": "openai",
                "model": "gpt-4o-mini",
                "input_tokens": 10,
                "output_tokens": 1,
            }
        )
        + "\n"
    )
    assert cli("--db", db, "ingest", late).exit_code == 0
    monkeypatch.setenv("MARGINDASH_NOW", "2030-02-01T00:00:00Z")
    third = json.loads(
        cli(
            "--db",
            db,
            "export",
            out,
            "--schema",
            "focus",
            "--since",
            SINCE,
            "--until",
            UNTIL,
            "--changed-since",
            "2030-01-15T00:00:00Z",
            "--json",
        ).stdout
    )
    assert [p["path"] for p in third["changed"]] == [
        "costs/month=2026-10/part-0.parquet",
        "revenue_allocation/month=2026-10/part-0.parquet",
    ]
    assert all(p["changed_at"] == "2030-02-01T00:00:00Z" for p in third["changed"])
    kept = [p for p in inodes if "2026-10" not in p or p.startswith("revenue/")]
    assert all((out / p).stat().st_ino == inodes[p] for p in kept)
    # and asking from before the first run names every partition
    every = json.loads(
        cli(
            "--db",
            db,
            "export",
            out,
            "--schema",
            "focus",
            "--since",
            "2026-12",
            "--until",
            "2026-12",
            "--changed-since",
            "2000-01-01",
            "--json",
        ).stdout
    )
    assert len(every["changed"]) == len(first["written"])
    bad = cli("--db", db, "export", out, "--schema", "focus", "--changed-since", "yesterday")
    assert bad.exit_code == 2 and "--changed-since" in bad.stderr


def test_clickhouse_runs_the_same_queries_to_the_same_numbers(exported, cli):
    """The ClickHouse script in a real ClickHouse engine (chDB, in-process: `pip install chdb`, 0.5 GB, so not a default
    test dependency; skipped without it) gives DuckDB's rows, exactly (decimals read back as text)."""
    chdb_session = pytest.importorskip("chdb.session")
    import csv
    import io

    _db, out, _ = exported
    _con, duck = _load(cli, out)
    script = cli("export", out, "--sql", "clickhouse").stdout
    session = chdb_session.Session()
    got = {}
    for statement in script.split(";\n"):
        lines = statement.strip().splitlines()
        names = [ln.removeprefix("-- query: ") for ln in lines if ln.startswith("-- query: ")]
        body = "\n".join(ln for ln in lines if not ln.startswith("--")).strip()
        if not body:
            continue
        text = str(session.query(body, "CSVWithNames"))
        if names:
            rows = list(csv.reader(io.StringIO(text)))
            got[names[0]] = [dict(zip(rows[0], r)) for r in rows[1:]]
    assert sorted(got) == sorted(wsql.QUERIES)

    def same(a, b):
        if b is None:
            return a in ("", "\\N")
        if isinstance(b, (Decimal, int)):
            return Decimal(a) == b
        if isinstance(b, float):
            return abs(float(a) - b) < 1e-9
        return a == str(b)

    for query in wsql.QUERIES:
        assert len(got[query]) == len(duck[query]), query
        for g, d in zip(got[query], duck[query]):
            assert all(same(g[k], v) for k, v in d.items()), (query, g, d)
