"""`reconcile` and `report --cost-basis reconciled` on a store with logged calls and a bill synced from local servers."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from provider_cost_server import OPENAI_COSTS, OPENAI_USAGE, ProviderCostServer, load_fixture_records

from margindash_cli.reconcile.compute import allocate

pytestmark = pytest.mark.slow
FIXTURES = Path(__file__).parent.parent / "fixtures" / "reconcile"
DAY = 20648  # 2026-07-14
PARTS = ("unpriced_calls", "untracked_usage", "price_difference", "unlogged_charges", "remaining")


def event(n, customer, vendor, model, inp, out, cached=0, ts="2026-07-14T10:00:00Z"):
    return {
        "timestamp": ts,
        "request_id": f"req-{n}",
        "customer_id": customer,
        "event_type": "chat",
        "vendor": vendor,
        "model": model,
        "input_tokens": inp,
        "output_tokens": out,
        "cached_input_tokens": cached,
    }


EVENTS = [
    # gpt-4o: exactly the tokens billed (725,000 uncached + 80,000 cached in, 96,000 out), two customers
    event(1, "acme", "openai", "gpt-4o", 580_000, 60_000, cached=80_000),
    event(2, "globex", "openai", "gpt-4o", 225_000, 36_000),
    # gpt-5-mini: 2.0M of the 2.3M standard input tokens billed; the batch job is not logged at all
    event(3, "acme", "openai", "gpt-5-mini", 2_000_000, 150_000),
    # a model the catalog does not know, billed by OpenAI: priced by the bill only
    event(4, "globex", "openai", "gpt-9-preview", 100_000, 0),
    # Anthropic: Opus, the standard-workspace half of what was billed (52,340 + 3,000 uncached billed)
    event(5, "acme", "anthropic", "claude-opus-4-1-20250805", 55_340, 28_500),
    # a day with no bill synced: provisional
    event(6, "acme", "openai", "gpt-4o", 1000, 100, ts="2026-06-20T10:00:00Z"),
]


@pytest.fixture
def store(cli, tmp_path, monkeypatch):
    monkeypatch.setattr("margindash_cli.clients.fetch.BACKOFF_S", 0.01)
    log = tmp_path / "usage.jsonl"
    log.write_text("".join(json.dumps(e) + "\n" for e in EVENTS))
    assert cli("ingest", log).exit_code == 0
    with ProviderCostServer() as srv:
        load_fixture_records(srv, FIXTURES)
        # OpenAI bills gpt-4o input 10% under list price (a negotiated discount): $1.63125 instead of $1.8125
        next(r for r in srv.records[OPENAI_COSTS] if r["line_item"] == "gpt-4o-2024-08-06, input")["amount"][
            "value"
        ] = "1.63125"
        srv.records[OPENAI_COSTS].append(
            {
                "day": DAY,
                "amount": {"value": "0.3", "currency": "usd"},
                "line_item": "gpt-9-preview-2026-07-01, input",
                "project_id": None,
                "api_key_id": None,
                "quantity": 150000,
                "quantity_unit": "tokens",
            }
        )
        srv.records[OPENAI_USAGE].append(
            {
                "day": DAY,
                "model": "gpt-9-preview-2026-07-01",
                "input_tokens": 150000,
                "input_cached_tokens": 0,
                "input_uncached_tokens": 150000,
                "output_tokens": 0,
                "num_model_requests": 3,
                "batch": False,
                "service_tier": "default",
                "project_id": None,
                "user_id": None,
                "api_key_id": None,
            }
        )
        for k, v in (
            ("MARGINDASH_OPENAI_API_BASE", srv.base),
            ("MARGINDASH_ANTHROPIC_API_BASE", srv.base),
            ("OPENAI_ADMIN_KEY", srv.openai_key),
            ("ANTHROPIC_ADMIN_KEY", srv.anthropic_key),
            ("MARGINDASH_NOW", "2026-07-20T12:00:00Z"),
        ):
            monkeypatch.setenv(k, v)
        r = cli("sync-costs", "--since", "2026-07-01")
        assert r.exit_code == 0, r.stderr
    return cli


def reconcile_json(cli, *args, code=None):
    r = cli("reconcile", "--json", *args)
    if code is not None:
        assert r.exit_code == code, r.stderr
    return json.loads(r.stdout), r.exit_code


def d(x):
    return Decimal(x) if x is not None else None


def row(data, provider, model):
    return next(r for r in data["rows"] if r["provider"] == provider and r["model"] == model)


def test_every_dollar_of_the_gap_is_explained(store):
    data, code = reconcile_json(store, "--since", "2026-07-01")
    assert code == 3 and data["tolerance_pct"] == "2"
    gpt4o = row(data, "openai", "gpt-4o-2024-08-06")
    assert gpt4o["day"] == "2026-07-14"
    assert (gpt4o["computed_usd"], gpt4o["billed_usd"], gpt4o["gap_usd"]) == ("2.8725", "2.69125", "-0.18125")
    assert gpt4o["explained"]["price_difference"] == "-0.18125" and gpt4o["effective_rate_pct"] == "93.69"
    assert gpt4o["tokens_logged"] == gpt4o["tokens_billed"] == 901_000 and gpt4o["coverage_pct"] == "100.00"
    mini = row(data, "openai", "gpt-5-mini-2025-08-07")
    # untracked at our price: 300k standard input ($0.075) + the batch job at the batch price ($0.205 + $0.41)
    assert (mini["computed_usd"], mini["billed_usd"], mini["explained"]["untracked_usage"]) == ("0.8", "1.49", "0.69")
    assert mini["explained"]["remaining"] == "0" and mini["coverage_pct"] == "47.78"
    unknown = row(data, "openai", "gpt-9-preview-2026-07-01")
    assert unknown["computed_usd"] == "0" and unknown["unpriced_calls"] == 1
    assert (
        unknown["explained"]["unpriced_calls"] == "0.2" and unknown["explained"]["untracked_usage"] == "0.1"
    )  # the bill's rate
    web = row(data, "openai", None)
    assert web["explained"]["unlogged_charges"] == "0.35" and web["tokens_billed"] is None
    opus = row(data, "anthropic", "claude-opus-4-1-20250805")
    assert opus["explained"]["price_difference"] == "0" and d(opus["explained"]["untracked_usage"]) > 0
    for r in data["rows"]:
        assert sum(d(r["explained"][p]) for p in PARTS) == d(r["gap_usd"]), r
        assert d(r["billed_usd"]) - d(r["computed_usd"]) == d(r["gap_usd"])
    totals = data["totals"]
    for f in ("computed_usd", "billed_usd", "gap_usd"):
        assert sum(d(r[f]) for r in data["rows"]) == d(totals[f])
    for p in PARTS:
        assert sum(d(r["explained"][p]) for r in data["rows"]) == d(totals["explained"][p])
    assert d(totals["billed_usd"]) == Decimal("4.53125") + Decimal("0.3") + Decimal("5.639806")
    assert data["provisional_days"] == {}  # 2026-06-20 is outside --since
    assert {o["provider"] for o in data["over_tolerance"]} == {"openai", "anthropic"}


def test_tolerance_sets_the_exit_code(store):
    assert reconcile_json(store, "--since", "2026-07-01", "--tolerance", "100")[1] == 0
    assert store("reconcile", "--since", "2026-07-01").exit_code == 3
    r = store("reconcile", "--tolerance", "x")
    assert r.exit_code == 2 and "--tolerance" in r.stderr


def test_provisional_days_are_listed(store):
    data, _ = reconcile_json(store)
    assert data["provisional_days"] == {"openai": ["2026-06-20"]}


def test_by_month_model_and_project_keep_the_totals(store):
    day, _ = reconcile_json(store, "--since", "2026-07-01")
    for by in ("month", "model", "project"):
        data, _ = reconcile_json(store, "--since", "2026-07-01", "--by", by)
        assert data["totals"] == day["totals"], by
        for r in data["rows"]:
            assert sum(d(r["explained"][p]) for p in PARTS) == d(r["gap_usd"])
    month, _ = reconcile_json(store, "--since", "2026-07-01", "--by", "month")
    assert {r["month"] for r in month["rows"]} == {"2026-07"}
    proj, _ = reconcile_json(store, "--since", "2026-07-01", "--by", "project")
    assert {"proj_Rk2Lq9Vb4Xn7Hd3M", "wrkspc_01Tq8Zr3Kd6Vm1Xb4Np7Lc2Hs", None} <= {r["project"] for r in proj["rows"]}


def test_provider_filter_and_table(store):
    data, _ = reconcile_json(store, "--since", "2026-07-01", "--provider", "anthropic")
    assert {r["provider"] for r in data["rows"]} == {"anthropic"}
    r = store("reconcile", "--since", "2026-07-01")
    assert "gpt-4o-2024-08-06" in r.stdout and "over the 2% tolerance" in r.stdout and "total" in r.stdout


def test_reconciled_report_spreads_the_price_difference_and_keeps_untracked_apart(store):
    computed = json.loads(
        store("report", "--by", "customer", "--since", "2026-07-14", "--until", "2026-07-14", "--json").stdout
    )
    r = store(
        "report",
        "--by",
        "customer",
        "--since",
        "2026-07-14",
        "--until",
        "2026-07-14",
        "--json",
        "--cost-basis",
        "reconciled",
    )
    assert r.exit_code == 0, r.stderr
    rec = json.loads(r.stdout)
    data, _ = reconcile_json(store, "--since", "2026-07-14", "--until", "2026-07-14")
    cost = {row["group"]["customer"]: d(row["cost_usd"]) for row in rec["rows"]}
    before = {row["group"]["customer"]: d(row["cost_usd"]) for row in computed["rows"]}
    # the whole bill, and nothing but the bill, on a fully billed day
    assert d(rec["totals"]["cost_usd"]) == d(data["totals"]["billed_usd"])
    assert sum(cost.values()) == d(rec["totals"]["cost_usd"])
    # gpt-4o's discount (-0.18125) split by computed cost (acme $1.95, globex $0.9225), exactly, by largest remainder;
    # globex's unpriced gpt-9 call now costs what the bill charged for its tokens ($0.2)
    acme_share, globex_share = allocate(-181_250_000_000, [1_950_000_000_000, 922_500_000_000])
    assert (acme_share, globex_share) == (-123_041_775_457, -58_208_224_543)
    assert cost["acme"] - before["acme"] == Decimal(acme_share).scaleb(-12)
    assert cost["globex"] - before["globex"] == Decimal(globex_share).scaleb(-12) + Decimal("0.2")
    untracked = cost["(untracked)"]
    t = data["totals"]["explained"]
    assert untracked == d(t["untracked_usage"]) + d(t["unlogged_charges"]) + d(t["remaining"])
    assert rec["cost_basis"]["basis"] == "reconciled" and rec["cost_basis"]["untracked_usd"] == format(untracked, "f")


def test_reconciled_report_says_which_days_are_provisional(store):
    r = store("report", "--cost-basis", "reconciled")
    assert r.exit_code == 0, r.stderr
    assert "(untracked)" in r.stdout
    assert "provisional: openai on 1 day(s) (2026-06-20)" in r.stderr  # notes go to stderr in every format (#16)
    data = json.loads(store("report", "--cost-basis", "reconciled", "--json").stdout)
    assert data["cost_basis"]["provisional_days"] == {"openai": ["2026-06-20"]}
    # the unbilled day keeps its computed cost: the computed and reconciled totals differ by the billed gap only
    computed = json.loads(store("report", "--json").stdout)
    rec, _ = reconcile_json(store, "--since", "2026-07-01")
    assert d(data["totals"]["cost_usd"]) - d(computed["totals"]["cost_usd"]) == d(rec["totals"]["gap_usd"])


def test_reconciled_report_by_model_and_customer_filter(store):
    by_model = json.loads(store("report", "--by", "model", "--cost-basis", "reconciled", "--json").stdout)
    by_customer = json.loads(store("report", "--by", "customer", "--cost-basis", "reconciled", "--json").stdout)
    assert by_model["totals"]["cost_usd"] == by_customer["totals"]["cost_usd"]
    acme = json.loads(store("report", "--customer", "acme", "--cost-basis", "reconciled", "--json").stdout)
    acme_row = next(r for r in by_customer["rows"] if r["group"]["customer"] == "acme")
    assert acme["totals"]["cost_usd"] == acme_row["cost_usd"]  # its share, not the whole cell's difference
    r = store("report", "--cost-basis", "reconciled", "--tz", "Asia/Tokyo")
    assert r.exit_code == 2 and "UTC" in r.stderr
    r = store("report", "--cost-basis", "bogus")
    assert r.exit_code == 2


def test_the_demo_shows_reconciliation(cli, runner):
    result = cli("demo")
    assert result.exit_code == 0
    assert any(line.startswith("Bill: computed ") for line in result.stdout.splitlines())
    db = next(x for x in result.stdout.split() if x.endswith("demo.db"))
    r = cli("--db", db, "reconcile", "--by", "month", "--json")
    assert r.exit_code == 3  # the demo's web search charges and untracked gpt-4o-mini tokens are over 2%
    data = json.loads(r.stdout)
    t = data["totals"]["explained"]
    assert (
        d(t["untracked_usage"]) > 0
        and d(t["price_difference"]) < 0
        and d(t["unlogged_charges"]) > 0
        and t["remaining"] == "0"
    )
    sonnet = next(x for x in data["rows"] if x["model"] == "claude-sonnet-4-20250514")
    assert sonnet["effective_rate_pct"] == "92.00"  # the demo bill's 8% discount
    assert data["provisional_days"]["gcp"]  # the demo's Gemini calls have no bill
    rec = json.loads(cli("--db", db, "report", "--cost-basis", "reconciled", "--json").stdout)
    computed = json.loads(cli("--db", db, "report", "--json").stdout)
    assert d(rec["totals"]["cost_usd"]) - d(computed["totals"]["cost_usd"]) == d(data["totals"]["gap_usd"])
    assert any(row["group"]["customer"] == "(untracked)" for row in rec["rows"])


def test_computed_reports_flag_the_days_no_bill_covers_in_every_format(store, cli, tmp_path):
    """#16 item 8: once a bill is known, a computed report says which providers' days rest on our price alone."""
    for args in (
        ("report",),
        ("report", "--by", "feature", "--format", "csv"),
        ("report", "trend", "--json"),
        ("report", "cohorts", "--format", "markdown"),
        ("report", "concentration", "--json"),
    ):
        r = store(*args)
        assert r.exit_code == 0, r.stderr
        assert "provisional: openai on 1 day(s) (2026-06-20) has no bill synced" in r.stderr, args
    for args in (("report", "--json"), ("report", "trend", "--json"), ("report", "concentration", "--json")):
        assert json.loads(store(*args).stdout)["provisional_costs"] == {"openai": ["2026-06-20"]}
    # a day with a bill is not provisional; a range of billed days only flags nothing
    data = json.loads(store("report", "--since", "2026-07-01", "--json").stdout)
    assert data["provisional_costs"] == {}
    # a store that never synced a bill has no provisional costs, only computed ones: nothing is flagged
    log = tmp_path / "plain.jsonl"
    log.write_text(
        json.dumps(
            {
                "timestamp": "2026-07-01T00:00:00Z",
                "customer_id": "a",
                "vendor": "openai",
                "model": "gpt-4o",
                "input_tokens": 10,
                "output_tokens": 1,
            }
        )
        + "\n"
    )
    db = tmp_path / "plain.db"
    assert cli("--db", db, "ingest", log).exit_code == 0
    r = cli("--db", db, "report", "--json")
    assert json.loads(r.stdout)["provisional_costs"] is None and "provisional" not in r.stderr
