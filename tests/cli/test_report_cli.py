"""`margindash report` through the CLI runner, on a small store whose every number is known by hand.

The store is built with the ingest pipeline and a stub pricer (a call costs exactly its `cost_usd`,
tokens are free, and models named `unpriced-*` have no price), so these tests check the report and
not the price catalog. Revenue comes in through `margindash revenue import`.

The data (all of October 2026, UTC):

    customer        feature    model / vendor                 when (UTC)         cost   segment     tag team
    acme            chat       gpt-4o / openai                10-01 10:00        1.00   enterprise  red
    acme            chat       gpt-4o / openai                10-02 10:00        1.00   enterprise  red
    acme            search     claude-x / anthropic           10-02 12:00        2.00   enterprise  blue
    (none)          chat       gpt-4o / openai                10-03 08:00        0.10   -           -
    initech         search     unpriced-model / acmeai        10-04 12:00        none   -           -
    globex          chat       gpt-4o-mini / openai           10-05 09:00        0.25   smb         blue
    globex          summarize  gpt-4o-mini / openai           10-06 23:30        0.75   smb         blue

    revenue: acme 10.00 on 10-01, hooli 5.00 on 10-02 (no calls at all), globex 3.00 on 10-05
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from margindash_cli.core.money import usd_to_pico
from margindash_cli.ingest.pipeline import ingest_paths
from margindash_cli.store.db import Store

SNAPSHOTS = Path(__file__).parent.parent / "snapshots"
NOW = "2026-10-06T12:00:00Z"  # MARGINDASH_NOW for the --period tests


class StubPricer:
    """A call costs its cost_usd (tokens are free); models named unpriced-* have no price."""

    def price(self, ev):
        if ev.model.startswith("unpriced"):
            return None, None
        return usd_to_pico(ev.extra_cost or "0"), None


def event(ts, customer, feature, model, cost, *, vendor="openai", inp=0, out=0, segment=None, team=None, **extra):
    e = {
        "timestamp": ts,
        "event_type": feature,
        "vendor": vendor,
        "model": model,
        "input_tokens": inp,
        "output_tokens": out,
    }
    if customer is not None:
        e["customer_id"] = customer
    if cost is not None:
        e["cost_usd"] = cost
    if segment:
        e["segment"] = segment
    if team:
        e["tags"] = {"team": team}
    return {**e, **extra}


EVENTS = [
    event(
        "2026-10-01T10:00:00Z", "acme", "chat", "gpt-4o", "1.00", inp=1000, out=100, segment="enterprise", team="red"
    ),
    event(
        "2026-10-02T10:00:00Z", "acme", "chat", "gpt-4o", "1.00", inp=1000, out=100, segment="enterprise", team="red"
    ),
    event(
        "2026-10-02T12:00:00Z",
        "acme",
        "search",
        "claude-x",
        "2.00",
        vendor="anthropic",
        inp=3000,
        segment="enterprise",
        team="blue",
    ),
    event("2026-10-03T08:00:00Z", None, "chat", "gpt-4o", "0.10", inp=100, out=10),
    event("2026-10-04T12:00:00Z", "initech", "search", "unpriced-model", None, vendor="acmeai", inp=200, out=20),
    event("2026-10-05T09:00:00Z", "globex", "chat", "gpt-4o-mini", "0.25", inp=500, out=50, segment="smb", team="blue"),
    event("2026-10-06T23:30:00Z", "globex", "summarize", "gpt-4o-mini", "0.75", segment="smb", team="blue"),
]
REVENUE_CSV = "customer_id,amount,currency,date\nacme,10.00,usd,2026-10-01\nhooli,5.00,usd,2026-10-02\nglobex,3.00,usd,2026-10-05\n"


def build_store(tmp_path: Path, cli, events=EVENTS, revenue_csv: str | None = REVENUE_CSV) -> Path:
    db = tmp_path / "store.db"
    log = tmp_path / "events.jsonl"
    log.write_text("".join(json.dumps(e) + "\n" for e in events))
    with Store.open(db) as store:
        result = ingest_paths(store, [str(log)], quarantine_path=tmp_path / "quarantine.jsonl", pricer=StubPricer())
    assert (result.events_stored, result.rejected) == (len(events), 0)
    if revenue_csv:
        csv_path = tmp_path / "revenue.csv"
        csv_path.write_text(revenue_csv)
        assert cli("--db", db, "revenue", "import", csv_path).exit_code == 0
    return db


@pytest.fixture
def db(tmp_path, cli):
    return build_store(tmp_path, cli)


@pytest.fixture
def report(cli, db):
    """report("--by", "feature") -> the parsed JSON envelope (asserting exit 0 and nothing on stderr)."""

    def run(*args):
        result = cli("--db", db, "report", *args, "--json")
        assert result.exit_code == 0, result.output
        assert only_unpriced_warnings(result.stderr), result.stderr
        return json.loads(result.stdout)

    return run


def only_unpriced_warnings(stderr: str) -> bool:
    """stderr holds nothing but the unpriced warning and its hint (the store has one unpriced call)."""
    return all(
        line.startswith(("warning: unpriced:", "hint: margindash prices unpriced")) for line in stderr.splitlines()
    )


def short(value):
    """A JSON money string at its fixed scale (cost and margin: 12 decimals) written the short way: '2.35'."""
    if isinstance(value, str) and "." in value and len(value.split(".")[1]) == 12:
        from decimal import Decimal

        return format(Decimal(value).normalize(), "f") if Decimal(value) else "0"
    return value


def rows(data, *measures):
    """{group values joined by '/': (measure, ...)} of a report envelope (cost and margin written short)."""
    measures = measures or ("events", "cost_usd", "revenue_usd", "margin_usd")
    return {"/".join(r["group"].values()): tuple(short(r[m]) for m in measures) for r in data["rows"]}


# ---- the envelope and every --by -----------------------------------------------------------------


def test_by_customer_envelope_rows_and_totals(report, monkeypatch):
    monkeypatch.setenv("MARGINDASH_NOW", NOW)
    data = report()
    assert data["schema_version"] == 1 and data["currency"] == "USD"
    assert data["generated_at"] == "2026-10-06T12:00:00Z"
    assert data["query"]["by"] == ["customer"] and data["query"]["range"] == {
        "label": "all data",
        "start_ms": None,
        "end_ms": None,
        "first_day": "2026-10-01",  # the actual first and last day with a call or revenue (#17)
        "last_day": "2026-10-06",
    }
    # worst first; initech's only call is unpriced: its margin is unknown, so it is last (not "profitable at 100%")
    assert [r["group"]["customer"] for r in data["rows"]] == ["(unattributed)", "globex", "hooli", "acme", "initech"]
    acme = data["rows"][-2]
    assert acme == {
        "group": {"customer": "acme"},
        "events": 3,
        "input_tokens": 5000,
        "output_tokens": 200,
        "cost_usd": "4.000000000000",
        "revenue_usd": "10.00",
        "margin_usd": "6.000000000000",
        "margin_pct": 60.0,
        "unpriced_events": 0,
        "unconverted_revenue_days": 0,
        "class": "profitable",
    }
    assert rows(data, "events", "cost_usd", "revenue_usd", "margin_usd", "margin_pct", "class") == {
        "(unattributed)": (1, "0.1", "0.00", "-0.1", None, "no revenue"),
        "initech": (1, None, "0.00", None, None, "unpriced"),
        "globex": (2, "1", "3.00", "2", 66.67, "profitable"),
        "hooli": (0, "0", "5.00", "5", 100.0, "profitable"),
        "acme": (3, "4", "10.00", "6", 60.0, "profitable"),
    }
    assert data["totals"] == {
        "events": 7,
        "input_tokens": 5800,
        "output_tokens": 280,
        "cost_usd": "5.100000000000",
        "revenue_usd": "18.00",
        "margin_usd": "12.900000000000",
        "margin_pct": 71.67,
        "unpriced_events": 1,
        "unconverted_revenue_days": 0,
        "class": "profitable",
    }


def test_rows_add_up_to_the_totals_for_every_by(report):
    for by in ("customer", "feature", "model", "vendor", "segment", "tag:team", "day", "week", "month"):
        data = report("--by", by)
        for measure in ("events", "input_tokens", "output_tokens", "unpriced_events"):
            assert sum(r[measure] for r in data["rows"]) == data["totals"][measure], (by, measure)
        for money in ("cost_usd", "revenue_usd", "margin_usd"):
            from decimal import Decimal

            assert sum(Decimal(r[money] or 0) for r in data["rows"]) == Decimal(data["totals"][money]), (by, money)


def test_by_feature_spreads_customer_revenue_by_events(report):
    # Revenue is spread over the calls of its own day: acme's 10.00 (Oct 1) goes to its one call of Oct 1
    # (chat), globex's 3.00 (Oct 5) to its chat call of Oct 5; hooli made no calls: its 5.00 is a (no usage) row.
    assert rows(report("--by", "feature")) == {
        "summarize": (1, "0.75", "0.00", "-0.75"),
        "search": (2, "2", "0.00", "-2"),
        "(no usage)": (0, "0", "5.00", "5"),
        "chat": (4, "2.35", "13.00", "10.65"),
    }


def test_by_model(report):
    data = report("--by", "model")
    assert rows(data) == {
        "unpriced-model": (1, None, "0.00", None),
        "claude-x": (1, "2", "0.00", "-2"),
        "gpt-4o-mini": (2, "1", "3.00", "2"),
        "(no usage)": (0, "0", "5.00", "5"),
        "gpt-4o": (3, "2.1", "10.00", "7.9"),
    }
    assert [r["group"]["model"] for r in data["rows"]][0] == "claude-x"  # worst margin first


def test_by_vendor(report):
    assert rows(report("--by", "vendor")) == {
        "acmeai": (1, None, "0.00", None),
        "anthropic": (1, "2", "0.00", "-2"),
        "(no usage)": (0, "0", "5.00", "5"),
        "openai": (5, "3.1", "13.00", "9.9"),
    }


def test_by_segment(report):
    assert rows(report("--by", "segment")) == {
        "(none)": (2, "0.1", "0.00", "-0.1"),
        "smb": (2, "1", "3.00", "2"),
        "(no usage)": (0, "0", "5.00", "5"),
        "enterprise": (3, "4", "10.00", "6"),
    }


def test_by_tag(report):
    # acme's revenue follows its call of Oct 1 (red); globex's two calls are both blue.
    data = report("--by", "tag:team")
    assert data["query"]["by"] == ["tag:team"]
    assert rows(data) == {
        "(none)": (2, "0.1", "0.00", "-0.1"),
        "blue": (3, "3", "3.00", "0"),
        "red": (2, "2", "10.00", "8"),
        "(no usage)": (0, "0", "5.00", "5"),
    }


def test_by_day_is_chronological_and_allocates_revenue_within_each_day(report):
    data = report("--by", "day")
    assert [r["group"]["day"] for r in data["rows"]] == [f"2026-10-0{d}" for d in range(1, 7)]
    assert rows(data) == {
        "2026-10-01": (1, "1", "10.00", "9"),
        "2026-10-02": (2, "3", "5.00", "2"),  # acme's two calls; hooli's revenue of that day
        "2026-10-03": (1, "0.1", "0.00", "-0.1"),
        "2026-10-04": (1, None, "0.00", None),  # initech's unpriced call: cost unknown, not $0
        "2026-10-05": (1, "0.25", "3.00", "2.75"),
        "2026-10-06": (1, "0.75", "0.00", "-0.75"),
    }


def test_by_week_starts_on_monday(report):
    assert rows(report("--by", "week")) == {
        "2026-09-28": (5, "4.1", "15.00", "10.9"),  # Thu Oct 1 .. Sun Oct 4
        "2026-10-05": (2, "1", "3.00", "2"),
    }


def test_by_month(report):
    assert rows(report("--by", "month")) == {"2026-10-01": (7, "5.1", "18.00", "12.9")}


# ---- nested groups, top, sort --------------------------------------------------------------------


def test_nested_groups_keep_each_parent_together_ordered_by_its_total(report):
    data = report("--by", "customer", "--by", "feature")
    assert [tuple(r["group"].values()) for r in data["rows"]] == [
        ("(unattributed)", "chat"),
        ("globex", "summarize"),
        ("globex", "chat"),
        ("hooli", "(no usage)"),
        ("acme", "search"),
        ("acme", "chat"),
        ("initech", "search"),  # cost unknown: last
    ]
    assert rows(data)["acme/chat"] == (2, "2", "10.00", "8")
    assert rows(data)["globex/summarize"] == (1, "0.75", "0.00", "-0.75")


def test_breakdown_adds_a_second_level(report):
    data = report("--breakdown", "model")
    assert data["query"]["by"] == ["customer", "model"]
    assert rows(data)["acme/claude-x"] == (1, "2", "0.00", "-2")
    assert rows(data)["hooli/(no usage)"] == (0, "0", "5.00", "5")


def test_top_folds_the_rest_into_one_row(report):
    data = report("--top", "2")
    assert rows(data) == {
        "(unattributed)": (1, "0.1", "0.00", "-0.1"),
        "globex": (2, "1", "3.00", "2"),
        "(other 3)": (4, "4", "15.00", "11"),  # hooli, acme and initech (whose one call is unpriced)
    }


def test_sort_by_cost_is_biggest_first(report):
    assert [r["group"]["customer"] for r in report("--sort", "cost")["rows"]] == [
        "acme",
        "globex",
        "(unattributed)",
        "hooli",
        "initech",
    ]


# ---- filters ---------------------------------------------------------------------------------------


def test_customer_filter(report):
    data = report("--customer", "acme", "--by", "feature")
    assert data["query"]["filters"] == {"customer": "acme"}
    assert rows(data) == {"search": (1, "2", "0.00", "-2"), "chat": (2, "2", "10.00", "8")}


def test_feature_filter_shows_the_features_share_of_revenue(report):
    assert rows(report("--feature", "chat")) == {
        "(unattributed)": (1, "0.1", "0.00", "-0.1"),
        "globex": (1, "0.25", "3.00", "2.75"),
        "acme": (2, "2", "10.00", "8"),
    }


def test_model_filter(report):
    assert rows(report("--model", "gpt-4o-mini")) == {"globex": (2, "1", "3.00", "2")}


# ---- periods, ranges, time zones -----------------------------------------------------------------


def test_since_and_until_are_inclusive_days(report):
    data = report("--since", "2026-10-02", "--until", "2026-10-05")
    assert data["query"]["range"]["label"] == "2026-10-02 to 2026-10-05"
    assert data["totals"]["events"] == 5  # Oct 2 (two acme calls) .. Oct 5 09:00, but not Oct 6
    assert data["totals"]["revenue_usd"] == "8.00"  # hooli Oct 2 + globex Oct 5; acme's Oct 1 is out
    assert rows(data)["acme"] == (2, "3", "0.00", "-3")


def test_period_today_uses_the_whole_day_of_now(report, monkeypatch):
    monkeypatch.setenv("MARGINDASH_NOW", NOW)
    data = report("--period", "today")
    assert data["query"]["period"] == "today"
    assert data["query"]["range"]["label"] == "2026-10-06 to 2026-10-06"
    assert rows(data) == {"globex": (1, "0.75", "0.00", "-0.75")}  # 23:30 is later than now, but today


@pytest.mark.parametrize(
    ("period", "label", "events"),
    [
        ("7d", "2026-09-30 to 2026-10-06", 7),
        ("30d", "2026-09-07 to 2026-10-06", 7),
        ("mtd", "2026-10-01 to 2026-10-06", 7),
        ("2026-10", "2026-10-01 to 2026-10-31", 7),
        ("last-month", "2026-09-01 to 2026-09-30", 0),
        ("yesterday", "2026-10-05 to 2026-10-05", 1),  # globex's Oct 5 call only
        ("2d", "2026-10-05 to 2026-10-06", 2),
        ("90d", "2026-07-09 to 2026-10-06", 7),
    ],
)
def test_periods(report, monkeypatch, period, label, events):
    monkeypatch.setenv("MARGINDASH_NOW", NOW)
    data = report("--period", period)
    assert data["query"]["range"]["label"] == label
    assert data["totals"]["events"] == events


def test_tokyo_moves_a_2330_utc_call_to_the_next_day(report):
    utc = rows(report("--by", "day"), "events", "cost_usd")
    tokyo_data = report("--by", "day", "--tz", "Asia/Tokyo")
    tokyo = rows(tokyo_data, "events", "cost_usd")
    assert tokyo_data["query"]["tz"] == "Asia/Tokyo"
    assert utc["2026-10-06"] == (1, "0.75") and "2026-10-07" not in utc
    assert tokyo["2026-10-07"] == (1, "0.75") and "2026-10-06" not in tokyo
    # every other call is before 15:00 UTC, so it stays on its day
    assert {d: v for d, v in utc.items() if d != "2026-10-06"} == {d: v for d, v in tokyo.items() if d != "2026-10-07"}


def test_until_in_tokyo_leaves_out_the_call_that_is_already_the_next_day_there(report):
    assert report("--until", "2026-10-06")["totals"]["events"] == 7
    assert report("--until", "2026-10-06", "--tz", "Asia/Tokyo")["totals"]["events"] == 6


def test_z_and_timezone_are_the_tz_option(report):
    by_tz = report("--by", "day", "--tz", "Asia/Tokyo")
    for flag in ("-z", "--timezone"):
        data = report("--by", "day", flag, "Asia/Tokyo")
        assert data["query"]["tz"] == "Asia/Tokyo"
        assert rows(data, "events", "cost_usd") == rows(by_tz, "events", "cost_usd")


def test_every_command_with_tz_takes_z_and_timezone():
    import typer

    from margindash_cli.cli import app

    def walk(group, prefix="margindash"):
        for name, cmd in group.commands.items():
            yield f"{prefix} {name}", cmd  # a group too: `report` takes its options itself
            if hasattr(cmd, "commands"):
                yield from walk(cmd, f"{prefix} {name}")

    with_tz = []
    for name, cmd in walk(typer.main.get_command(app)):
        for param in cmd.params:
            if "--tz" in getattr(param, "opts", []):
                with_tz.append(name)
                assert {"-z", "--timezone"} <= set(param.opts), name
    assert {"margindash report", "margindash dashboard", "margindash budget set"} <= set(with_tz)


def test_bad_period_options_are_usage_errors(cli, db):
    for args, message in [
        (("--period", "fortnight"), "unknown --period"),
        (("--period", "0d"), "must be 1 or more"),
        (("--period", "-3d"), "must be 1 or more"),
        (("--period", "abc"), "today, yesterday, Nd"),
        (("--period", "7d", "--since", "2026-10-01"), "cannot be combined"),
        (("--since", "yesterday"), "is not a date"),
        (("--tz", "Mars/Olympus"), "unknown time zone"),
        (("--by", "planet"), "unknown --by"),
        (("--by", "day", "--by", "week"), "only one of"),
        (("--allocate", "vibes"), "unknown --allocate"),
        (("--format", "xml"), "unknown --format"),
    ]:
        result = cli("--db", db, "report", *args)
        assert result.exit_code == 2, args
        assert message in result.stderr and result.stdout == "", args


# ---- allocation --------------------------------------------------------------------------------------


SAME_DAY = [  # acme's calls of one day: chat 2 x 1,100 tokens and 1.00 each, search 3,000 tokens and 2.00
    event("2026-10-02T10:00:00Z", "acme", "chat", "gpt-4o", "1.00", inp=1000, out=100),
    event("2026-10-02T11:00:00Z", "acme", "chat", "gpt-4o", "1.00", inp=1000, out=100),
    event("2026-10-02T12:00:00Z", "acme", "search", "claude-x", "2.00", vendor="anthropic", inp=3000),
]


def test_allocate_by_events_tokens_and_cost(tmp_path, cli):
    db = build_store(tmp_path, cli, SAME_DAY, "customer_id,amount,currency,date\nacme,10.00,usd,2026-10-02\n")

    def revenue(allocate):
        data = json.loads(cli("--db", db, "report", "--by", "feature", "--allocate", allocate, "--json").stdout)
        assert data["query"]["allocate"] == allocate
        return rows(data, "revenue_usd")

    assert revenue("events") == {"search": ("3.33",), "chat": ("6.67",)}  # 2 calls : 1
    assert revenue("tokens") == {"search": ("5.77",), "chat": ("4.23",)}  # 2,200 : 3,000 (largest remainder)
    assert revenue("cost") == {"search": ("5.00",), "chat": ("5.00",)}  # 2.00 : 2.00


def test_revenue_carried_by_an_event_stays_with_its_feature(tmp_path, cli):
    events = [
        event("2026-10-01T10:00:00Z", "acme", "chat", "gpt-4o", "1.00"),
        event("2026-10-01T11:00:00Z", "acme", "export", "gpt-4o", "1.00", revenue_amount_in_cents=250, currency="usd"),
    ]
    db = build_store(tmp_path, cli, events, "customer_id,amount,currency,date\nacme,4.00,usd,2026-10-01\n")
    data = json.loads(cli("--db", db, "report", "--by", "feature", "--json").stdout)
    assert rows(data, "revenue_usd") == {"chat": ("2.00",), "export": ("4.50",)}


# ---- unattributed, unpriced, empty -------------------------------------------------------------------


def test_unattributed_calls_are_their_own_row(report):
    data = report()
    row = next(r for r in data["rows"] if r["group"]["customer"] == "(unattributed)")
    assert (row["events"], short(row["cost_usd"]), row["class"]) == (1, "0.1", "no revenue")


def test_unpriced_calls_are_in_the_envelope_and_the_table(cli, db, report):
    data = report()
    assert data["unpriced"] == {"events": 1, "models": ["acmeai/unpriced-model"]}
    assert next(r for r in data["rows"] if r["group"]["customer"] == "initech")["unpriced_events"] == 1
    result = cli("--db", db, "report")
    out = result.stdout
    initech = next(line for line in out.splitlines() if "initech" in line)
    assert "unpriced" in initech and "$0.00 +?" not in out and "100.0%" not in initech  # unknown, never $0 or 100%
    assert "$5.10 +?" in out and "$12.90 +?" in out and "71.7% +?" in out  # the total leaves out initech's call
    # the warning goes to stderr, in every format
    for fmt in ("table", "json", "csv", "markdown"):
        err = cli("--db", db, "report", "--format", fmt).stderr
        assert "warning: unpriced: 1 call(s) have no price (acmeai/unpriced-model)" in err, fmt
        assert "hint: margindash prices unpriced" in err, fmt


def test_empty_result_is_a_clear_message_and_exit_0(cli, db, monkeypatch):
    monkeypatch.setenv("MARGINDASH_NOW", NOW)
    result = cli("--db", db, "report", "--period", "last-month")
    assert result.exit_code == 0
    assert (
        result.stdout
        == "No usage or revenue in 2026-09-01 to 2026-09-30 (UTC).\nhint: widen the period, or check `margindash events`\n"
    )
    data = json.loads(cli("--db", db, "report", "--period", "last-month", "--json").stdout)
    assert data["rows"] == [] and data["totals"]["events"] == 0 and data["totals"]["cost_usd"] == "0.000000000000"
    csv_out = cli("--db", db, "report", "--period", "last-month", "--format", "csv", "--totals").stdout
    assert csv_out.splitlines() == [
        "customer,events,input_tokens,output_tokens,cost_usd,revenue_usd,margin_usd,margin_pct,unpriced_events,unconverted_revenue_days,class",
        "(total),0,0,0,0.000000000000,0.00,0.000000000000,,0,0,no revenue",
    ]


def test_a_store_with_nothing_in_it_is_empty_not_an_error(tmp_path, cli):
    db = tmp_path / "empty.db"
    Store.open(db).close()
    result = cli("--db", db, "report")
    assert result.exit_code == 0 and result.stdout.startswith("No usage or revenue in all data (UTC).")


def test_no_store_is_an_error_with_a_hint(tmp_path, cli):
    result = cli("--db", tmp_path / "missing.db", "report")
    assert result.exit_code == 1
    assert "error: no store at" in result.stderr and "hint:" in result.stderr


# ---- CSV, Markdown, table ----------------------------------------------------------------------------


def test_csv(cli, db):
    # exact decimals at a fixed scale per column (cost and margin 12, revenue 2, margin % 2); an unpriced row has an
    # empty cost and margin (never 0); no totals row unless --totals (then marked), so a column sums once
    out = cli("--db", db, "report", "--format", "csv").stdout
    assert out.splitlines() == [
        "customer,events,input_tokens,output_tokens,cost_usd,revenue_usd,margin_usd,margin_pct,unpriced_events,unconverted_revenue_days,class",
        "(unattributed),1,100,10,0.100000000000,0.00,-0.100000000000,,0,0,no revenue",
        "globex,2,500,50,1.000000000000,3.00,2.000000000000,66.67,0,0,profitable",
        "hooli,0,0,0,0.000000000000,5.00,5.000000000000,100.00,0,0,profitable",
        "acme,3,5000,200,4.000000000000,10.00,6.000000000000,60.00,0,0,profitable",
        "initech,1,200,20,,0.00,,,1,0,unpriced",
    ]
    with_totals = cli("--db", db, "report", "--format", "csv", "--totals").stdout.splitlines()
    assert with_totals[:-1] == out.splitlines()
    assert with_totals[-1] == "(total),7,5800,280,5.100000000000,18.00,12.900000000000,71.67,1,0,profitable"


def test_csv_with_nested_groups_has_a_column_per_group(cli, db):
    lines = cli("--db", db, "report", "--by", "customer", "--by", "feature", "--format", "csv").stdout.splitlines()
    assert lines[0].startswith("customer,feature,events,")
    assert "acme,chat,2,2000,200,2.000000000000,10.00,8.000000000000,80.00,0,0,profitable" in lines
    assert lines[-1] == "initech,search,1,200,20,,0.00,,,1,0,unpriced"


def test_markdown(cli, db):
    lines = cli("--db", db, "report", "--by", "model", "--format", "markdown").stdout.splitlines()
    # Markdown is for people: $ and thousands separators, one-decimal percentages, +? where calls are unpriced
    assert (
        lines[0]
        == "| model | events | input_tokens | output_tokens | cost_usd | revenue_usd | margin_usd | margin_pct | unpriced_events | unconverted_revenue_days | class |"
    )
    assert lines[1] == "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    assert lines[2] == "| claude-x | 1 | 3,000 | 0 | $2.00 | $0.00 | -$2.00 | - | 0 | 0 | no revenue |"
    assert "| unpriced-model | 1 | 200 | 20 | unpriced | $0.00 | - | - | 1 | 0 | unpriced |" in lines
    assert "| total | 7 | 5,800 | 280 | $5.10 +? | $18.00 | $12.90 +? | 71.7% +? | 1 | 0 | profitable |" in lines
    assert lines[-1].startswith("revenue: a customer's revenue of a day is spread over its calls of that day")


def test_json_flag_and_format_json_are_the_same(cli, db, monkeypatch):
    monkeypatch.setenv("MARGINDASH_NOW", NOW)
    assert cli("--db", db, "report", "--json").stdout == cli("--db", db, "report", "--format", "json").stdout


def snapshot(name: str, text: str) -> str:
    """The stored snapshot (written first when UPDATE_SNAPSHOTS=1; review it by eye before committing)."""
    path = SNAPSHOTS / name
    if os.environ.get("UPDATE_SNAPSHOTS"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
    return path.read_text()


def test_table_snapshot_at_120_columns_without_colour(cli, db, monkeypatch):
    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.setenv("NO_COLOR", "1")
    out = cli("--db", db, "report").stdout
    assert "\x1b[" not in out
    assert out == snapshot("report_by_customer.txt", out)


def test_nested_table_snapshot_at_120_columns(cli, db, monkeypatch):
    monkeypatch.setenv("COLUMNS", "120")
    out = cli("--db", db, "report", "--by", "customer", "--by", "feature", "--tz", "Asia/Tokyo").stdout
    assert out == snapshot("report_by_customer_feature_tokyo.txt", out)


def test_narrow_terminal_hides_columns_instead_of_squeezing_them(cli, db, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    out = cli("--db", db, "report", "--by", "customer", "--by", "feature").stdout
    assert max(len(line) for line in out.splitlines()) <= 80
    assert "(unattributed)" in out and "summarize" in out  # group labels are never cut
    assert "hidden to fit the terminal: input tok" in " ".join(out.split())


def test_negative_margins_are_red_when_colour_is_on(cli, db, monkeypatch):
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("TERM", "xterm-256color")
    out = cli("--db", db, "report").stdout
    assert re.search(r"\x1b\[31m *-\$0\.10\x1b\[0m", out)
    assert "\x1b[31m$6.00" not in out


def test_end_to_end_through_ingest_with_the_real_pricer(tmp_path, cli):
    # The real pricer: a call with no tokens costs exactly its cost_usd ("extra-only"); a call with tokens
    # on a model no catalog knows is unpriced. Neither depends on the shipped prices.
    log = tmp_path / "usage.jsonl"
    log.write_text(
        json.dumps(event("2026-10-01T10:00:00Z", "acme", "chat", "in-house-ranker", "0.50", vendor="acme-labs"))
        + "\n"
        + json.dumps(event("2026-10-01T11:00:00Z", "acme", "chat", "in-house-ranker", "0.25", vendor="acme-labs"))
        + "\n"
        + json.dumps(
            event(
                "2026-10-01T12:00:00Z",
                "acme",
                "chat",
                "nobody-knows-this-model",
                None,
                vendor="acme-labs",
                inp=100,
                out=10,
            )
        )
        + "\n"
    )
    db = tmp_path / "e2e.db"
    assert cli("--db", db, "ingest", log).exit_code == 0
    csv_path = tmp_path / "revenue.csv"
    csv_path.write_text("customer_id,amount,currency,date\nacme,1.00,usd,2026-10-01\n")
    assert cli("--db", db, "revenue", "import", csv_path).exit_code == 0
    data = json.loads(cli("--db", db, "report", "--json").stdout)
    assert rows(data, "events", "cost_usd", "revenue_usd", "margin_usd", "margin_pct", "unpriced_events") == {
        "acme": (3, "0.75", "1.00", "0.25", 25.0, 1)
    }
    assert data["unpriced"] == {"events": 1, "models": ["acme-labs/nobody-knows-this-model"]}


def test_one_model_name_under_two_vendors_is_one_model_row_and_two_vendor_rows(tmp_path, cli):
    """Reports group on model ids and name them afterwards: a name served by two vendors sums into one row."""
    events = [
        event("2026-10-01T10:00:00Z", "acme", "chat", "gpt-4o", "1.00", inp=10),
        event("2026-10-01T11:00:00Z", "acme", "chat", "gpt-4o", "0.50", vendor="azure", inp=20),
        event("2026-10-01T12:00:00Z", None, "chat", "gpt-4o", "0.25", vendor="azure", inp=30),
    ]
    db = build_store(tmp_path, cli, events, revenue_csv=None)

    def run(*args):
        result = cli("--db", db, "report", *args, "--since", "2026-10-01", "--until", "2026-10-31", "--json")
        assert result.exit_code == 0, result.output
        return rows(json.loads(result.stdout), "events", "cost_usd", "input_tokens")

    assert run("--by", "model") == {"gpt-4o": (3, "1.75", 60)}
    assert run("--by", "vendor", "--by", "model") == {"openai/gpt-4o": (1, "1", 10), "azure/gpt-4o": (2, "0.75", 50)}
    assert run("--by", "customer", "--by", "model") == {
        "acme/gpt-4o": (2, "1.5", 30),
        "(unattributed)/gpt-4o": (1, "0.25", 30),
    }
    assert run("--by", "customer", "--customer", "acme") == {"acme": (2, "1.5", 30)}


def test_a_mistyped_by_or_filter_id_is_a_usage_error_that_names_the_closest(cli, db):
    result = cli("--db", db, "report", "--by", "custmer")
    assert result.exit_code == 2
    assert "error: unknown --by 'custmer'" in result.stderr and "hint: did you mean customer?" in result.stderr
    result = cli("--db", db, "report", "--customer", "acne")
    assert result.exit_code == 2, result.output
    assert "error: no stored call or revenue has customer 'acne' (--customer)" in result.stderr
    assert "hint: did you mean 'acme'?" in result.stderr
    result = cli("--db", db, "report", "--feature", "chta")
    assert result.exit_code == 2 and "did you mean 'chat'?" in result.stderr
    result = cli("--db", db, "report", "--model", "gpt-4")
    assert result.exit_code == 2 and "did you mean 'gpt-4o'" in result.stderr
    # nothing close: the same usage error, with how to list the ids (#17: not "widen the period")
    result = cli("--db", db, "report", "--customer", "nobody")
    assert result.exit_code == 2 and "error: no stored call or revenue has customer 'nobody'" in result.stderr
    assert "hint: list the customers with: margindash report --by customer" in result.stderr


@pytest.mark.parametrize("columns", [80, 160])
def test_table_snapshots_at_80_and_160_columns(cli, db, monkeypatch, columns):
    """#17: the same report on a narrow and a wide terminal; ids whole, at 80 whole columns left out and named."""
    monkeypatch.setenv("COLUMNS", str(columns))
    out = cli("--db", db, "report").stdout
    assert "…" not in out and max(len(line) for line in out.splitlines()) <= columns
    assert out == snapshot(f"report_by_customer_{columns}.txt", out)
    nested = cli("--db", db, "report", "--breakdown", "feature").stdout
    assert "…" not in nested and max(len(line) for line in nested.splitlines()) <= columns
    assert nested == snapshot(f"report_breakdown_feature_{columns}.txt", nested)
