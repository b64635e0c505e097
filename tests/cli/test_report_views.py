"""`margindash report trend|cohorts|concentration` through the CLI runner, with numbers worked out by hand.

Each test builds a small store with the ingest pipeline and a stub pricer (a call costs exactly its
`cost_usd`; tokens are free; models named `unpriced-*` have no price), and imports revenue as CSV.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from margindash_cli.core.money import usd_to_pico
from margindash_cli.ingest.pipeline import ingest_paths
from margindash_cli.store.db import Store

SNAPSHOTS = Path(__file__).parent.parent / "snapshots"


class StubPricer:
    """A call costs its cost_usd (tokens are free); models named unpriced-* have no price."""

    def price(self, ev):
        if ev.model.startswith("unpriced"):
            return None, None
        return usd_to_pico(ev.extra_cost or "0"), None


def event(ts, customer, cost, feature="chat", model="gpt-4o", **extra):
    e = {
        "timestamp": ts,
        "event_type": feature,
        "vendor": "openai",
        "model": model,
        "input_tokens": 10,
        "output_tokens": 1,
    }
    if customer is not None:
        e["customer_id"] = customer
    if cost is not None:
        e["cost_usd"] = cost
    return {**e, **extra}


def build_store(tmp_path: Path, cli, events, revenue_rows=()) -> Path:
    db = tmp_path / "store.db"
    log = tmp_path / "events.jsonl"
    log.write_text("".join(json.dumps(e) + "\n" for e in events))
    with Store.open(db) as store:
        result = ingest_paths(store, [str(log)], quarantine_path=tmp_path / "quarantine.jsonl", pricer=StubPricer())
    assert (result.events_stored, result.rejected) == (len(events), 0)
    if revenue_rows:
        csv_path = tmp_path / "revenue.csv"
        csv_path.write_text(
            "customer_id,amount,currency,date\n" + "".join(f"{c},{a},usd,{d}\n" for c, a, d in revenue_rows)
        )
        assert cli("--db", db, "revenue", "import", csv_path).exit_code == 0
    return db


def short(value):
    """JSON money at its fixed scale (cost and margin: 12 decimals, tested in test_report_cli) written short:
    '1.000000000000' -> '1', so the figures below read as the hand-computed ones."""
    if isinstance(value, dict):
        return {k: short(v) for k, v in value.items()}
    if isinstance(value, list):
        return [short(v) for v in value]
    if (
        isinstance(value, str)
        and "." in value
        and len(value.split(".")[1]) == 12
        and value.replace(".", "").lstrip("-").isdigit()
    ):
        from decimal import Decimal

        return format(Decimal(value).normalize(), "f") if Decimal(value) else "0"
    return value


def run_json(cli, db, *args):
    result = cli("--db", db, "report", *args, "--json")
    assert result.exit_code == 0, result.output
    return short(json.loads(result.stdout))


def snapshot(name: str, text: str) -> str:
    """The stored snapshot (written first when UPDATE_SNAPSHOTS=1; review it by eye before committing)."""
    path = SNAPSHOTS / name
    if os.environ.get("UPDATE_SNAPSHOTS"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
    return path.read_text()


def money(point):
    return (point["cost_usd"], point["revenue_usd"], point["margin_usd"], point["margin_pct"])


# ---- trend -----------------------------------------------------------------------------------------
#
#            10-01            10-02            10-03
#   a        chat 1.00        chat 2.00        search 4.00       revenue 10.00 / 5.00 / 5.00
#   b        chat 0.50        -                chat 0.50         revenue  -    / 2.00 /  -

TREND_EVENTS = [
    event("2026-10-01T10:00:00Z", "a", "1.00"),
    event("2026-10-02T10:00:00Z", "a", "2.00"),
    event("2026-10-03T10:00:00Z", "a", "4.00", feature="search"),
    event("2026-10-01T11:00:00Z", "b", "0.50"),
    event("2026-10-03T11:00:00Z", "b", "0.50"),
]
TREND_REVENUE = [
    ("a", "10.00", "2026-10-01"),
    ("a", "5.00", "2026-10-02"),
    ("a", "5.00", "2026-10-03"),
    ("b", "2.00", "2026-10-02"),
]


@pytest.fixture
def trend_db(tmp_path, cli):
    return build_store(tmp_path, cli, TREND_EVENTS, TREND_REVENUE)


def test_trend_by_customer_per_day(cli, trend_db, monkeypatch):
    monkeypatch.setenv("MARGINDASH_NOW", "2026-10-04T00:00:00Z")
    data = run_json(cli, trend_db, "trend", "--since", "2026-10-01", "--until", "2026-10-03")
    assert (data["schema_version"], data["currency"], data["generated_at"]) == (1, "USD", "2026-10-04T00:00:00Z")
    assert data["query"]["by"] == ["customer"] and data["query"]["granularity"] == "auto"
    assert data["query"]["range"]["label"] == "2026-10-01 to 2026-10-03"
    assert data["granularity"] == "day"  # 3 days: auto is daily
    assert data["periods"] == ["2026-10-01", "2026-10-02", "2026-10-03"]
    assert [r["group"] for r in data["rows"]] == [{"customer": "b"}, {"customer": "a"}]  # worst total margin first
    b, a = data["rows"]
    assert [money(p) for p in a["series"]] == [
        ("1", "10.00", "9", 90.0),
        ("2", "5.00", "3", 60.0),
        ("4", "5.00", "1", 20.0),
    ]
    assert money(a) == ("7", "20.00", "13", 65.0) and a["events"] == 3
    assert a["change"] == {"from": "2026-10-01", "to": "2026-10-03", "margin_usd": "-8", "margin_pct_points": -70.0}
    assert [money(p) for p in b["series"]] == [
        ("0.5", "0.00", "-0.5", None),
        ("0", "2.00", "2", 100.0),
        ("0.5", "0.00", "-0.5", None),
    ]
    assert b["change"] == {"from": "2026-10-01", "to": "2026-10-03", "margin_usd": "0", "margin_pct_points": None}
    totals = data["totals"]
    assert [money(p) for p in totals["series"]] == [
        ("1.5", "10.00", "8.5", 85.0),
        ("2", "7.00", "5", 71.43),
        ("4.5", "5.00", "0.5", 10.0),
    ]
    assert money(totals) == ("8", "22.00", "14", 63.64)
    assert totals["change"] == {
        "from": "2026-10-01",
        "to": "2026-10-03",
        "margin_usd": "-8",
        "margin_pct_points": -75.0,
    }
    assert data["unpriced"] == {"events": 0, "models": []}


def test_trend_by_feature_allocates_revenue_per_period(cli, trend_db):
    # a's revenue follows its features day by day; b made no call on 10-02, so its 2.00 is (no usage)
    data = run_json(cli, trend_db, "trend", "--by", "feature", "--granularity", "day")
    assert data["periods"] == ["2026-10-01", "2026-10-02", "2026-10-03"]  # all data: the data's own span
    rows = {r["group"]["feature"]: r for r in data["rows"]}
    assert [r["group"]["feature"] for r in data["rows"]] == ["search", "(no usage)", "chat"]
    assert [money(p) for p in rows["chat"]["series"]] == [
        ("1.5", "10.00", "8.5", 85.0),
        ("2", "5.00", "3", 60.0),
        ("0.5", "0.00", "-0.5", None),
    ]
    assert [p["margin_usd"] for p in rows["search"]["series"]] == ["0", "0", "1"]
    assert rows["search"]["change"] is None  # one active period: no change to show
    assert rows["(no usage)"]["series"][1]["revenue_usd"] == "2.00"


def test_trend_weekly_and_monthly_buckets(cli, trend_db):
    week = run_json(cli, trend_db, "trend", "--granularity", "week")
    assert week["granularity"] == "week" and week["periods"] == ["2026-09-28"]  # Oct 1 2026 is a Thursday
    assert money(week["rows"][1]["series"][0]) == ("7", "20.00", "13", 65.0)
    assert week["rows"][1]["change"] is None
    month = run_json(cli, trend_db, "trend", "--granularity", "month", "--since", "2026-09-01", "--until", "2026-10-31")
    assert month["periods"] == ["2026-09-01", "2026-10-01"]  # the range's quiet September is shown, as zero
    a = month["rows"][1]
    assert [p["events"] for p in a["series"]] == [0, 3] and a["series"][0]["margin_pct"] is None
    assert a["change"] is None  # September had nothing, so October is the only active period


@pytest.mark.parametrize(
    ("since", "until", "granularity"),
    [
        ("2026-10-01", "2026-10-31", "day"),  # 31 days
        ("2026-10-01", "2026-11-01", "week"),  # 32 days
        ("2026-01-01", "2026-07-01", "week"),  # 182 days = 26 weeks
        ("2026-01-01", "2026-07-02", "month"),  # 183 days
    ],
)
def test_trend_auto_granularity_follows_the_range(cli, trend_db, since, until, granularity):
    assert run_json(cli, trend_db, "trend", "--since", since, "--until", until)["granularity"] == granularity


def test_trend_filters_and_period(cli, trend_db, monkeypatch):
    monkeypatch.setenv("MARGINDASH_NOW", "2026-10-03T12:00:00Z")
    data = run_json(cli, trend_db, "trend", "--by", "feature", "--customer", "a", "--period", "7d")
    assert data["query"]["filters"] == {"customer": "a"} and data["query"]["period"] == "7d"
    assert data["periods"][0] == "2026-09-27" and data["periods"][-1] == "2026-10-03" and len(data["periods"]) == 7
    assert [r["group"]["feature"] for r in data["rows"]] == ["search", "chat"]
    chat = run_json(cli, trend_db, "trend", "--feature", "chat", "--granularity", "day")
    assert {r["group"]["customer"]: r["revenue_usd"] for r in chat["rows"]} == {
        "b": "0.00",
        "a": "15.00",
    }  # b paid on a day with no call: (no usage), not chat


def test_trend_in_tokyo_moves_a_2330_utc_call_to_the_next_day(tmp_path, cli):
    db = build_store(
        tmp_path, cli, [event("2026-10-01T23:30:00Z", "a", "1.00"), event("2026-10-02T01:00:00Z", "a", "2.00")]
    )
    utc = run_json(cli, db, "trend", "--granularity", "day")
    tokyo = run_json(cli, db, "trend", "--granularity", "day", "--tz", "Asia/Tokyo")
    assert [(p["period"], p["cost_usd"]) for p in utc["rows"][0]["series"]] == [
        ("2026-10-01", "1"),
        ("2026-10-02", "2"),
    ]
    assert [(p["period"], p["cost_usd"]) for p in tokyo["rows"][0]["series"]] == [("2026-10-02", "3")]


def test_trend_csv_markdown_and_table(cli, trend_db, monkeypatch):
    csv_lines = cli("--db", trend_db, "report", "trend", "--format", "csv", "--totals").stdout.splitlines()
    assert csv_lines[0] == (
        "customer,period,partial,events,input_tokens,output_tokens,cost_usd,revenue_usd,margin_usd,margin_pct,"
        "unpriced_events,unconverted_revenue_days"
    )
    assert csv_lines[1] == "b,2026-10-01,,1,10,1,0.500000000000,0.00,-0.500000000000,,0,0"
    assert csv_lines[-1] == "(total),2026-10-03,,2,20,2,4.500000000000,5.00,0.500000000000,10.00,0,0"
    assert len(csv_lines) == 1 + 3 * 3
    assert (
        len(cli("--db", trend_db, "report", "trend", "--format", "csv").stdout.splitlines()) == 1 + 2 * 3
    )  # no totals
    md = cli("--db", trend_db, "report", "trend", "--format", "markdown").stdout.splitlines()
    assert md[0] == (
        "| customer | period | partial | events | input_tokens | output_tokens | cost_usd | revenue_usd | margin_usd"
        " | margin_pct | unpriced_events | unconverted_revenue_days |"
    )
    assert md[1] == "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    assert md[5] == "| a | 2026-10-01 |  | 1 | 10 | 1 | $1.00 | $10.00 | $9.00 | 90.0% | 0 | 0 |"
    monkeypatch.setenv("COLUMNS", "120")
    out = cli("--db", trend_db, "report", "trend").stdout
    assert out == snapshot("report_trend.txt", out)


def test_trend_rejects_a_time_or_unknown_group(cli, trend_db):
    from margindash_cli.errors import UsageError
    from margindash_cli.reports.run import ReportQuery, run_trend

    with Store.open(trend_db) as store:
        for query, message in [
            (ReportQuery(dims=["day"]), "takes one --by"),
            (ReportQuery(dims=["planet"]), "unknown --by"),
            (ReportQuery(dims=["customer"], granularity="hour"), "unknown --granularity"),
        ]:
            with pytest.raises(UsageError, match=message):
                run_trend(store, query)


# ---- cohorts ---------------------------------------------------------------------------------------
#
#   c1  first call Aug 10     calls Aug 1.00, Sep 1.00, Oct 3.00     revenue 10.00 at the end of Aug, Sep, Oct
#   c2  first call Aug 20     calls Aug 1.00, Oct 1.00               revenue  5.00 at the end of Aug, Sep, Oct
#   c3  first call Sep 15     calls Sep 2.00, Oct 2.00               revenue  4.00 Sep, Oct; 3.00 on Aug 15 (before its first call)
#   c4  no calls                                                     revenue  7.00 in Sep
#   an unattributed call on Sep 1 costing 0.40

COHORT_EVENTS = [
    event("2026-08-10T10:00:00Z", "c1", "1.00"),
    event("2026-09-05T10:00:00Z", "c1", "1.00"),
    event("2026-10-05T10:00:00Z", "c1", "3.00"),
    event("2026-08-20T10:00:00Z", "c2", "1.00"),
    event("2026-10-10T10:00:00Z", "c2", "1.00"),
    event("2026-09-15T10:00:00Z", "c3", "2.00"),
    event("2026-10-15T10:00:00Z", "c3", "2.00"),
    event("2026-09-01T10:00:00Z", None, "0.40"),
]
COHORT_REVENUE = [
    ("c1", "10.00", "2026-08-31"),
    ("c1", "10.00", "2026-09-30"),
    ("c1", "10.00", "2026-10-31"),
    ("c2", "5.00", "2026-08-31"),
    ("c2", "5.00", "2026-09-30"),
    ("c2", "5.00", "2026-10-31"),
    ("c3", "3.00", "2026-08-15"),
    ("c3", "4.00", "2026-09-30"),
    ("c3", "4.00", "2026-10-31"),
    ("c4", "7.00", "2026-09-30"),
]


@pytest.fixture
def cohort_db(tmp_path, cli):
    return build_store(tmp_path, cli, COHORT_EVENTS, COHORT_REVENUE)


def cells(cohort):
    return [(p["index"], p["period"], p["active_customers"], *money(p)) for p in cohort["periods"]]


def test_cohorts_by_month(cli, cohort_db):
    data = run_json(cli, cohort_db, "cohorts")
    assert data["query"]["by"] == "month" and data["currency"] == "USD" and data["schema_version"] == 1
    assert [(c["cohort"], c["customers"]) for c in data["cohorts"]] == [("2026-08-01", 2), ("2026-09-01", 1)]
    aug, sep = data["cohorts"]
    assert cells(aug) == [
        (1, "2026-08-01", 2, "2", "15.00", "13", 86.67),
        (2, "2026-09-01", 1, "1", "15.00", "14", 93.33),  # c2 made no call in September but still paid
        (3, "2026-10-01", 2, "4", "15.00", "11", 73.33),
    ]
    assert money(aug) == ("7", "45.00", "38", 84.44)
    assert cells(sep) == [(1, "2026-09-01", 1, "2", "4.00", "2", 50.0), (2, "2026-10-01", 1, "2", "4.00", "2", 50.0)]
    assert [(p["index"], p["active_customers"], *money(p)) for p in data["totals"]["periods"]] == [
        (1, 3, "4", "19.00", "15", 78.95),
        (2, 2, "3", "19.00", "16", 84.21),
        (3, 2, "4", "15.00", "11", 73.33),
    ]
    assert money(data["totals"]) == ("11", "53.00", "42", 79.25)
    assert data["excluded"] == {
        "unattributed": {
            "events": 1,
            "input_tokens": 10,
            "output_tokens": 1,
            "cost_usd": "0.4",
            "revenue_usd": "0.00",
            "margin_usd": "-0.4",
            "margin_pct": None,
            "unpriced_events": 0,
            "unconverted_revenue_days": 0,
        },
        "revenue_without_usage_usd": "7.00",
        "revenue_before_first_call_usd": "3.00",
    }


def test_cohorts_keep_their_first_call_month_when_the_range_starts_later(cli, cohort_db):
    data = run_json(cli, cohort_db, "cohorts", "--since", "2026-09-01")
    assert [(c["cohort"], c["customers"]) for c in data["cohorts"]] == [("2026-08-01", 2), ("2026-09-01", 1)]
    aug, sep = data["cohorts"]
    assert [p["index"] for p in aug["periods"]] == [2, 3]  # month 1 (August) is before the range
    assert [p["index"] for p in sep["periods"]] == [1, 2]
    assert data["excluded"]["revenue_before_first_call_usd"] == "0.00"  # c3's Aug 15 revenue is outside the range


def test_cohorts_show_a_quiet_month_as_zero(tmp_path, cli):
    db = build_store(
        tmp_path, cli, [event("2026-08-10T10:00:00Z", "c1", "1.00"), event("2026-10-05T10:00:00Z", "c1", "1.00")]
    )
    (cohort,) = run_json(cli, db, "cohorts")["cohorts"]
    assert [(p["index"], p["active_customers"], p["events"], p["margin_pct"]) for p in cohort["periods"]] == [
        (1, 1, 1, None),
        (2, 0, 0, None),
        (3, 1, 1, None),
    ]


def test_cohorts_month_is_the_month_in_tz(tmp_path, cli):
    db = build_store(tmp_path, cli, [event("2026-08-31T23:30:00Z", "c1", "1.00")])
    assert [c["cohort"] for c in run_json(cli, db, "cohorts")["cohorts"]] == ["2026-08-01"]
    assert [c["cohort"] for c in run_json(cli, db, "cohorts", "--tz", "Asia/Tokyo")["cohorts"]] == ["2026-09-01"]


def test_cohorts_by_week(cli, cohort_db):
    data = run_json(cli, cohort_db, "cohorts", "--by", "week", "--until", "2026-08-31")
    # c1 starts Mon Aug 10, c2 Thu Aug 20 (week of Mon Aug 17); revenue of Aug 31 is week 4 / week 3
    assert [(c["cohort"], c["customers"]) for c in data["cohorts"]] == [("2026-08-10", 1), ("2026-08-17", 1)]
    assert [(p["index"], p["period"], p["revenue_usd"]) for p in data["cohorts"][1]["periods"]] == [
        (1, "2026-08-17", "0.00"),
        (2, "2026-08-24", "0.00"),
        (3, "2026-08-31", "5.00"),
    ]


def test_cohorts_csv_markdown_and_table(cli, cohort_db, monkeypatch):
    lines = cli("--db", cohort_db, "report", "cohorts", "--format", "csv").stdout.splitlines()
    assert (
        lines[0]
        == "cohort,customers,index,period,active_customers,events,input_tokens,output_tokens,cost_usd,revenue_usd,margin_usd,margin_pct"
    )
    assert lines[1] == "2026-08-01,2,1,2026-08-01,2,2,20,2,2.000000000000,15.00,13.000000000000,86.67"
    assert lines[-1] == "total,,3,,2,2,20,2,4.000000000000,15.00,11.000000000000,73.33"
    assert len(lines) == 1 + 3 + 2 + 3
    md = cli("--db", cohort_db, "report", "cohorts", "--format", "markdown").stdout.splitlines()
    assert md[1] == "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    assert md[2] == "| 2026-08-01 | 2 | 1 | 2026-08-01 | 2 | 2 | 20 | 2 | $2.00 | $15.00 | $13.00 | 86.7% |"
    monkeypatch.setenv("COLUMNS", "120")
    out = cli("--db", cohort_db, "report", "cohorts").stdout
    assert out == snapshot("report_cohorts.txt", out)


def test_cohorts_rejects_an_unknown_period(cohort_db):
    from margindash_cli.errors import UsageError
    from margindash_cli.reports.run import ReportQuery, run_cohorts

    with Store.open(cohort_db) as store, pytest.raises(UsageError, match="unknown cohorts --by"):
        run_cohorts(store, ReportQuery(dims=["customer"], granularity="year"))


# ---- concentration ---------------------------------------------------------------------------------
#
#   11 customers: c01 costs 10.00 (revenue 8.00), c02 6.00 (20.00), c03 4.00 (2.00), c04..c10 1.00 each
#   (2.00 each), c11 no calls (revenue 1.00); unattributed calls cost 3.00. Total cost 30.00, revenue 45.00.
#   Top 10% = ceil(1.1) = 2 customers, top 20% = ceil(2.2) = 3.

CONC_EVENTS = [
    event("2026-10-01T10:00:00Z", "c01", "10.00"),
    event("2026-10-01T10:00:00Z", "c02", "6.00"),
    event("2026-10-01T10:00:00Z", "c03", "4.00"),
    *(event("2026-10-01T10:00:00Z", f"c{i:02d}", "1.00") for i in range(4, 11)),
    event("2026-10-01T10:00:00Z", None, "1.00"),
    event("2026-10-02T10:00:00Z", None, "2.00"),
]
CONC_REVENUE = [
    ("c01", "8.00", "2026-10-01"),
    ("c02", "20.00", "2026-10-01"),
    ("c03", "2.00", "2026-10-01"),
    *((f"c{i:02d}", "2.00", "2026-10-01") for i in range(4, 11)),
    ("c11", "1.00", "2026-10-02"),
]


@pytest.fixture
def conc_db(tmp_path, cli):
    return build_store(tmp_path, cli, CONC_EVENTS, CONC_REVENUE)


def test_concentration(cli, conc_db):
    data = run_json(cli, conc_db, "concentration")
    assert data["query"]["tiers"] == [10, 20] and data["currency"] == "USD"
    top10, top20 = data["tiers"]
    assert (top10["top_pct"], top10["count"], top10["customers"]) == (10, 2, ["c01", "c02"])
    assert (*money(top10), top10["cost_share_pct"], top10["revenue_share_pct"]) == (
        "16",
        "28.00",
        "12",
        42.86,
        53.33,
        62.22,
    )
    assert top10["negative_margin"] == ["c01"]
    assert (top20["count"], top20["customers"], top20["negative_margin"]) == (3, ["c01", "c02", "c03"], ["c01", "c03"])
    assert (top20["cost_usd"], top20["cost_share_pct"], top20["revenue_share_pct"]) == ("20", 66.67, 66.67)
    assert (*money(data["rest"]), data["rest"]["cost_share_pct"]) == ("7", "15.00", "8", 53.33, 23.33)
    assert (*money(data["unattributed"]), data["unattributed"]["cost_share_pct"]) == ("3", "0.00", "-3", None, 10.0)
    assert (*money(data["totals"]), data["totals"]["customers"]) == ("30", "45.00", "15", 33.33, 11)
    ranked = [
        (c["rank"], c["customer"], c["cost_share_pct"], c["cumulative_cost_share_pct"], c["class"])
        for c in data["customers"]
    ]
    assert ranked[:4] == [
        (1, "c01", 33.33, 33.33, "unprofitable"),
        (2, "c02", 20.0, 53.33, "profitable"),
        (3, "c03", 13.33, 66.67, "unprofitable"),
        (4, "c04", 3.33, 70.0, "profitable"),  # ties in cost are ranked by customer id
    ]
    assert ranked[-1] == (11, "c11", 0.0, 90.0, "profitable")  # + 10% unattributed = 100%


def test_concentration_with_a_period(cli, conc_db, monkeypatch):
    monkeypatch.setenv("MARGINDASH_NOW", "2026-10-02T12:00:00Z")
    data = run_json(cli, conc_db, "concentration", "--period", "today")
    assert data["query"]["range"]["label"] == "2026-10-02 to 2026-10-02"
    assert [c["customer"] for c in data["customers"]] == ["c11"]
    assert data["tiers"][0]["customers"] == ["c11"] and data["tiers"][0]["cost_share_pct"] == 0.0
    assert data["unattributed"]["cost_share_pct"] == 100.0


def test_concentration_csv_markdown_and_table(cli, conc_db, monkeypatch):
    lines = cli("--db", conc_db, "report", "concentration", "--format", "csv").stdout.splitlines()
    assert (
        lines[0]
        == "rank,customer,top_pct,events,cost_usd,cost_share_pct,cumulative_cost_share_pct,revenue_usd,margin_usd,margin_pct,class"
    )
    assert lines[1:4] == [
        "1,c01,10,1,10.000000000000,33.33,33.33,8.00,-2.000000000000,-25.0,unprofitable",
        "2,c02,10,1,6.000000000000,20.0,53.33,20.00,14.000000000000,70.0,profitable",
        "3,c03,20,1,4.000000000000,13.33,66.67,2.00,-2.000000000000,-100.0,unprofitable",
    ]
    assert lines[4] == "4,c04,,1,1.000000000000,3.33,70.0,2.00,1.000000000000,50.0,profitable"
    assert len(lines) == 1 + 11
    md = cli("--db", conc_db, "report", "concentration", "--format", "markdown").stdout.splitlines()
    assert md[1] == "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    assert md[2] == "| 1 | c01 | 10 | 1 | $10.00 | 33.3% | 33.3% | $8.00 | -$2.00 | -25.0% | unprofitable |"
    monkeypatch.setenv("COLUMNS", "120")
    out = cli("--db", conc_db, "report", "concentration").stdout
    assert out == snapshot("report_concentration.txt", out)


# ---- shared: empty results, unpriced calls -----------------------------------------------------------


@pytest.mark.parametrize("command", ["trend", "cohorts", "concentration"])
def test_empty_result_is_a_clear_message_and_exit_0(tmp_path, cli, command):
    db = build_store(tmp_path, cli, [event("2026-10-01T10:00:00Z", "a", "1.00")])
    result = cli("--db", db, "report", command, "--since", "2027-01-01")
    assert result.exit_code == 0
    assert result.stdout == (
        "No usage or revenue in 2027-01-01 to now (UTC).\nhint: widen the period, or check `margindash events`\n"
    )
    data = run_json(cli, db, command, "--since", "2027-01-01")
    assert data["schema_version"] == 1 and data["unpriced"] == {"events": 0, "models": []}
    payload = {"trend": "rows", "cohorts": "cohorts", "concentration": "customers"}[command]
    assert data[payload] == []
    csv_out = cli("--db", db, "report", command, "--since", "2027-01-01", "--format", "csv").stdout
    assert len(csv_out.splitlines()) == 1  # the header alone


@pytest.mark.parametrize("command", ["trend", "cohorts", "concentration"])
def test_unpriced_calls_are_reported(tmp_path, cli, command):
    db = build_store(
        tmp_path,
        cli,
        [event("2026-10-01T10:00:00Z", "a", "1.00"), event("2026-10-01T11:00:00Z", "a", None, model="unpriced-x")],
    )
    assert run_json(cli, db, command)["unpriced"] == {"events": 1, "models": ["openai/unpriced-x"]}
    for fmt in ("table", "json", "csv", "markdown"):  # the warning goes to stderr in every format
        err = cli("--db", db, "report", command, "--format", fmt).stderr
        assert "unpriced: 1 call(s) have no price (openai/unpriced-x)" in err, fmt
        assert "hint: margindash prices unpriced" in err, fmt


# ---- help and docs -----------------------------------------------------------------------------------


def test_every_report_subcommand_and_option_is_in_the_readme():
    # tests/test_docs.py walks groups with isinstance(click.Group), which typer's own vendored click
    # does not pass, so it never reaches `report`'s subcommands; this checks them directly.
    import typer

    from margindash_cli.cli import app

    readme = (
        (Path(__file__).resolve().parent.parent.parent / "README.md").read_text().split("## Command reference", 1)[1]
    )
    report = typer.main.get_command(app).commands["report"]
    assert set(report.commands) == {"trend", "cohorts", "concentration"}
    missing = []
    for name, cmd in [("", report), *((f" {n}", c) for n, c in report.commands.items())]:
        if f"margindash report{name}`" not in readme:
            missing.append(f"report{name}")
        assert (cmd.help or "").strip(), name
        for param in cmd.params:
            missing += [
                f"report{name} {opt}"
                for opt in getattr(param, "opts", [])
                if opt.startswith("--") and opt not in readme
            ]
    assert missing == []


@pytest.mark.parametrize("columns", [80, 160])
def test_cohorts_snapshots_at_80_and_160_columns(cli, cohort_db, monkeypatch, columns):
    """#17: by week at 80 columns the cohort column was squeezed to nothing; now the latest weeks are left out
    (and named) and every cohort reads whole."""
    monkeypatch.setenv("COLUMNS", str(columns))
    out = cli("--db", cohort_db, "report", "cohorts").stdout
    assert out == snapshot(f"report_cohorts_{columns}.txt", out)
    weekly = cli("--db", cohort_db, "report", "cohorts", "--by", "week").stdout
    assert "…" not in weekly and max(len(line) for line in weekly.splitlines()) <= columns
    body = [line.split("│")[1].strip() for line in weekly.splitlines() if line.startswith("│")]
    assert body[:3] == ["2026-08-10", "2026-08-17", "2026-09-14"] and body[-1] == "all"
    if columns == 80:
        assert "hidden to fit the terminal: margin, customers, w12" in " ".join(weekly.split())
        assert "┃ cohort     ┃ w1 ┃" in weekly  # the cohort column whole, the first weeks kept
    assert weekly == snapshot(f"report_cohorts_week_{columns}.txt", weekly)
