"""`margindash simulate` through the CLI runner, on a small store whose every number is worked by hand.

Prices are set with `margindash prices set` (a user price wins over the catalog, for every call), so
the numbers do not move when the shipped catalog does; scores come from the shipped
margindash_cli/pricing/data/benchmarks.csv (GPQA Diamond: gpt-4o 53.1 from openai/simple-evals, gemini-2.5-flash 82.8,
claude-haiku-4-5 73.0, gpt-4.1-nano 50.3; MMLU-Pro: gpt-4o 74.7 and none of the others).

Prices (USD per million tokens; batch = half price, none of these has explicit batch rates):

    openai/gpt-4o               input 2.50   cached 1.25   output 10.00   (the current model)
    openai/gpt-4o-mini          input 0.15   cached 0.075  output 0.60    (the current model of `chat`)
    google/gemini-2.5-flash     input 0.30   cached 0.03   output 2.50    context window 1,000,000
    anthropic/claude-haiku-4-5  input 1.00   cached 0.10   output 5.00    context window 100,000
    openai/gpt-4.1-nano         input 0.10   cached 0.025  output 0.40    context window 1,000,000
    selfhost/llama-local        input 0.05                 output 0.05    (no benchmark score; cached
                                                                           tokens bill at the input rate)

The `summarize` calls, all on gpt-4o, 2026-10-01 to 2026-10-10 (10 days):

    A x3  input 10,000 (4,000 cached), output 500     gpt-4o: 0.015 + 0.005 + 0.005 = 0.025 each
    B     input 2,000, output 1,000                   0.005 + 0.010                 = 0.015
    C     input 150,000, output 2,000                 0.375 + 0.020                 = 0.395
    D     input 20,000, output 1,000, batch           0.025 + 0.005                 = 0.030
                                                      cost (6 calls)                = 0.515

    gemini-2.5-flash: A 0.0018 + 0.00012 + 0.00125 = 0.00317 (x3 = 0.00951); B 0.0006 + 0.0025 = 0.0031;
                      C 0.045 + 0.005 = 0.05; D 0.003 + 0.00125 = 0.00425      -> 0.06686, saves 0.44814
    claude-haiku-4-5: A 0.006 + 0.0004 + 0.0025 = 0.0089 (x3 = 0.0267); B 0.002 + 0.005 = 0.007;
                      D 0.01 + 0.0025 = 0.0125; C (152,000 tokens > 100,000) stays on gpt-4o: 0.395
                                                                               -> 0.4412, saves 0.0738
    gpt-4.1-nano:     A 0.0006 + 0.0001 + 0.0002 = 0.0009 (x3 = 0.0027); B 0.0006; C 0.0158; D 0.0012
                                                                               -> 0.0203
    llama-local:      A 10,000 x 0.05 + 500 x 0.05 = 0.000525 (x3 = 0.001575); B 0.00015; C 0.0076;
                      D 0.000525                                               -> 0.00985
"""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest

PRICES = [
    ("openai/gpt-4o", "2.50", "10.00", "1.25", None),
    ("openai/gpt-4o-mini", "0.15", "0.60", "0.075", None),
    ("google/gemini-2.5-flash", "0.30", "2.50", "0.03", 1_000_000),
    ("anthropic/claude-haiku-4-5", "1.00", "5.00", "0.10", 100_000),
    ("openai/gpt-4.1-nano", "0.10", "0.40", "0.025", 1_000_000),
    ("selfhost/llama-local", "0.05", "0.05", None, None),
]
CANDIDATES = "openai/gpt-4o,google/gemini-2.5-flash,anthropic/claude-haiku-4-5,openai/gpt-4.1-nano,selfhost/llama-local"
PERIOD = ("--since", "2026-10-01", "--until", "2026-10-10")


def event(rid, ts, feature, model, *, inp, out, cached=0, tier=None, vendor="openai"):
    e = {
        "timestamp": ts,
        "request_id": rid,
        "customer_id": "acme",
        "event_type": feature,
        "vendor": vendor,
        "model": model,
        "input_tokens": inp,
        "output_tokens": out,
        "cached_input_tokens": cached,
    }
    if tier:
        e["service_tier"] = tier
    return e


EVENTS = [
    event("a1", "2026-10-01T09:00:00Z", "summarize", "gpt-4o", inp=10_000, cached=4_000, out=500),
    event("a2", "2026-10-03T09:00:00Z", "summarize", "gpt-4o", inp=10_000, cached=4_000, out=500),
    event("a3", "2026-10-05T09:00:00Z", "summarize", "gpt-4o", inp=10_000, cached=4_000, out=500),
    event("b1", "2026-10-06T09:00:00Z", "summarize", "gpt-4o", inp=2_000, out=1_000),
    event("c1", "2026-10-08T09:00:00Z", "summarize", "gpt-4o", inp=150_000, out=2_000),
    event("d1", "2026-10-10T09:00:00Z", "summarize", "gpt-4o", inp=20_000, out=1_000, tier="batch"),
    event("m1", "2026-10-02T09:00:00Z", "chat", "gpt-4o-mini", inp=1_000, out=200),
]


@pytest.fixture
def store(cli, tmp_path):
    for key, inp, out, cached, window in PRICES:
        args = ["prices", "set", key, "--input", inp, "--output", out]
        if cached:
            args += ["--cache-read", cached]
        if window:
            args += ["--context-window", str(window)]
        assert cli(*args).exit_code == 0
    log = tmp_path / "calls.jsonl"
    log.write_text("".join(json.dumps(e) + "\n" for e in EVENTS))
    result = cli("ingest", log, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["events_stored"] == len(EVENTS)
    return cli


def simulate(cli, *args):
    result = cli("simulate", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def feature(payload, name):
    return next(f for f in payload["features"] if f["feature"] == name)


def by_model(f):
    return {c["model"]: c for c in f["candidates"]}


def test_simulated_costs_match_the_hand_computed_ones(store):
    f = feature(simulate(store, "--event-type", "summarize", "--candidates", CANDIDATES, *PERIOD), "summarize")
    assert (f["events"], f["cost_usd"], f["billed_cost_usd"]) == (6, "0.515", "0.515")
    assert [(m["model"], m["priced_as"], m["events"]) for m in f["current_models"]] == [("gpt-4o", "openai/gpt-4o", 6)]
    c = by_model(f)
    assert {m: c[m]["simulated_cost_usd"] for m in c} == {
        "gpt-4o": "0.515",
        "gemini-2.5-flash": "0.06686",
        "claude-haiku-4-5": "0.4412",
        "gpt-4.1-nano": "0.0203",
        "llama-local": "0.00985",
    }
    g = c["gemini-2.5-flash"]
    assert (g["savings_usd"], g["savings_pct"]) == ("0.44814", 87.02)
    assert g["monthly_savings_usd"] == "1.364026125"  # 0.44814 x 30.4375 days / 10 days
    assert g["cost_per_1k_calls_usd"] == "11.143333333333"  # 0.06686 / 6 calls x 1,000 (rounded down to the picodollar)
    assert g["score_per_dollar"] == pytest.approx(82.8 / (0.06686 / 6 * 1000), abs=1e-4)
    assert c["gpt-4o"]["current"] is True and c["gpt-4o"]["savings_usd"] == "0"


def test_calls_above_a_candidates_context_window_stay_on_the_current_model(store):
    f = feature(simulate(store, "--event-type", "summarize", "--candidates", CANDIDATES, *PERIOD), "summarize")
    haiku = by_model(f)["claude-haiku-4-5"]
    assert (haiku["context_window"], haiku["unswappable_events"], haiku["unswappable_cost_usd"]) == (
        100_000,
        1,
        "0.395",
    )
    assert (haiku["simulated_cost_usd"], haiku["savings_usd"]) == ("0.4412", "0.0738")
    assert by_model(f)["gemini-2.5-flash"]["unswappable_events"] == 0
    out = store("simulate", "--event-type", "summarize", "--candidates", CANDIDATES, *PERIOD).stdout
    assert "anthropic/claude-haiku-4-5 *" in out
    assert "summarize on anthropic/claude-haiku-4-5: 1 of 6 calls exceed its 100,000-token context window" in out


def test_tiers_by_score_band_and_scores_with_their_delta_to_the_current_model(store):
    f = feature(simulate(store, "--event-type", "summarize", "--candidates", CANDIDATES, *PERIOD), "summarize")
    c = by_model(f)
    assert f["current_scores"] == {"mmlu_pro": 74.7, "gpqa_diamond": 53.1}
    assert {m: (c[m]["scores"]["gpqa_diamond"], c[m]["tier"]) for m in c} == {
        "gemini-2.5-flash": (82.8, "frontier"),
        "claude-haiku-4-5": (73.0, "mid"),
        "gpt-4o": (53.1, "budget"),
        "gpt-4.1-nano": (50.3, "budget"),
        "llama-local": (None, None),
    }
    assert c["gemini-2.5-flash"]["score_delta"]["gpqa_diamond"] == pytest.approx(29.7)
    assert c["gpt-4.1-nano"]["score_delta"]["gpqa_diamond"] == pytest.approx(-2.8)
    mmlu = feature(
        simulate(store, "--event-type", "summarize", "--candidates", CANDIDATES, "--benchmark", "mmlu_pro"), "summarize"
    )
    assert {c["model"]: c["tier"] for c in mmlu["candidates"]}["gpt-4o"] == "mid"  # MMLU-Pro 74.7: 70 <= 74.7 < 80


def test_ranked_by_score_per_dollar_and_models_without_a_score_are_listed_not_ranked(store):
    f = feature(simulate(store, "--event-type", "summarize", "--candidates", CANDIDATES, *PERIOD), "summarize")
    assert [(c["model"], c["status"]) for c in f["candidates"]] == [
        ("gpt-4.1-nano", "ranked"),
        ("gemini-2.5-flash", "ranked"),
        ("claude-haiku-4-5", "ranked"),
        ("gpt-4o", "ranked"),
        ("llama-local", "no benchmark data"),
    ]
    llama = by_model(f)["llama-local"]
    assert (llama["score"], llama["score_per_dollar"], llama["tier"], llama["simulated_cost_usd"]) == (
        None,
        None,
        None,
        "0.00985",
    )
    # On MMLU-Pro only gpt-4o has a score: every other candidate is "no benchmark data", never a 0.
    mmlu = feature(
        simulate(store, "--event-type", "summarize", "--candidates", CANDIDATES, "--benchmark", "mmlu_pro"), "summarize"
    )
    assert [(c["model"], c["status"]) for c in mmlu["candidates"]][0] == ("gpt-4o", "ranked")
    assert {c["status"] for c in mmlu["candidates"][1:]} == {"no benchmark data"}
    out = store("simulate", "--event-type", "summarize", "--candidates", CANDIDATES).stdout
    assert "selfhost/llama-local" in out and "no benchmark data" in out


def test_recommendations_cheapest_per_tier_at_least_as_good_as_the_current_model(store):
    f = feature(simulate(store, "--event-type", "summarize", "--candidates", CANDIDATES, *PERIOD), "summarize")
    assert f["floor"] == {"score": 53.1, "from": "current"}
    recs = {(r["kind"], r["tier"]): (r["model"], r["monthly_savings_usd"]) for r in f["recommendations"]}
    assert recs == {
        ("cheapest_in_tier", "frontier"): ("gemini-2.5-flash", "1.364026125"),
        ("cheapest_in_tier", "mid"): ("claude-haiku-4-5", "0.22462875"),  # 0.0738 x 30.4375 / 10
        ("cheapest_in_tier", "budget"): (None, None),  # gpt-4.1-nano scores 50.3 < 53.1; gpt-4o is no change
        ("best_score_per_dollar", None): ("gemini-2.5-flash", "1.364026125"),  # nano has more per dollar, but < 53.1
    }
    # --min-score lowers the floor: gpt-4.1-nano now qualifies, and has the best score per dollar.
    f = feature(
        simulate(store, "--event-type", "summarize", "--candidates", CANDIDATES, *PERIOD, "--min-score", "40"),
        "summarize",
    )
    recs = {(r["kind"], r["tier"]): r["model"] for r in f["recommendations"]}
    assert recs[("cheapest_in_tier", "budget")] == "gpt-4.1-nano"
    assert recs[("best_score_per_dollar", None)] == "gpt-4.1-nano"
    out = store("simulate", "--event-type", "summarize", "--candidates", CANDIDATES, *PERIOD).stdout
    assert "frontier: google/gemini-2.5-flash (GPQA Diamond 82.8) saves $1.36/month, 87.0%" in out
    assert "budget: none in this tier reaches 53.1" in out


def test_tier_filter_keeps_one_tier(store):
    f = feature(simulate(store, "--event-type", "summarize", "--candidates", CANDIDATES, "--tier", "mid"), "summarize")
    assert [c["model"] for c in f["candidates"] if c["status"] == "ranked"] == ["claude-haiku-4-5"]
    assert [(r["kind"], r["tier"], r["model"]) for r in f["recommendations"]] == [
        ("cheapest_in_tier", "mid", "claude-haiku-4-5"),
        ("best_score_per_dollar", None, "claude-haiku-4-5"),
    ]


def test_output_ratio_scales_each_calls_output_on_the_candidates(store):
    f = feature(
        simulate(store, "--event-type", "summarize", "--candidates", "google/gemini-2.5-flash", "--output-ratio", "3"),
        "summarize",
    )
    # output x3: A 0.0018 + 0.00012 + 0.00375 (x3 = 0.01701); B 0.0081; C 0.06; D 0.003 + 0.00375 -> 0.09186
    assert (f["cost_usd"], f["candidates"][0]["simulated_cost_usd"]) == ("0.515", "0.09186")


def test_long_context_cliff_is_decided_per_call(store, cli, tmp_path):
    # gemini-2.5-pro from the shipped catalog: 1.25 / 10, and 2.50 / 15 for a whole call above 200,000
    # prompt tokens (PRICING_RULES.md 3). Only the 250,000-token call crosses it.
    log = tmp_path / "long.jsonl"
    log.write_text(
        "".join(
            json.dumps(e) + "\n"
            for e in [
                event("l1", "2026-10-04T09:00:00Z", "research", "gpt-4o", inp=250_000, out=5_000),
                event("l2", "2026-10-04T10:00:00Z", "research", "gpt-4o", inp=100_000, out=5_000),
            ]
        )
    )
    assert cli("ingest", log).exit_code == 0
    f = feature(simulate(cli, "--event-type", "research", "--candidates", "google/gemini-2.5-pro"), "research")
    # 0.625 + 0.075 = 0.70 (above the tier) + 0.125 + 0.05 = 0.175 (below it)
    assert f["candidates"][0]["simulated_cost_usd"] == "0.875"


def test_every_feature_by_default_and_default_candidates_have_a_price_and_a_score(store):
    payload = simulate(store, *PERIOD)
    assert [f["feature"] for f in payload["features"]] == ["summarize", "chat"]  # costliest first
    chat = feature(payload, "chat")
    assert (chat["events"], chat["cost_usd"]) == (1, "0.00027")  # 1,000 x 0.15 + 200 x 0.60 per MTok
    assert chat["candidates"] and all(
        c["scores"]["gpqa_diamond"] is not None or c["scores"]["mmlu_pro"] is not None for c in chat["candidates"]
    )
    models = {(c["provider"], c["model"]) for c in chat["candidates"]}
    assert ("selfhost", "llama-local") not in models  # no score: not a default candidate
    assert ("anthropic", "claude-3-opus-20240229") not in models  # retired by its vendor
    assert payload["benchmark"] == "gpqa_diamond" and payload["tier_bands"] == {"frontier": 75.0, "mid": 55.0}
    assert any("Same token counts" in a for a in payload["assumptions"])
    assert any("benchmark authors" in a for a in payload["assumptions"])


def test_table_states_assumptions_and_sources(store):
    result = store("simulate", "--event-type", "summarize", "--candidates", CANDIDATES, *PERIOD)
    assert result.exit_code == 0
    out = result.stdout
    assert "summarize on other models, ranked by GPQA Diamond score per dollar" in out
    assert "now: gpt-4o" in out and "google/gemini-2.5-flash" in out
    assert "Assumptions:" in out and "tokenizers and reasoning lengths" in out and "--output-ratio" in out
    assert "vendor-reported" in out and "prices show MODEL" in out


def test_errors_are_usage_errors_with_hints(store):
    r = store("simulate", "--event-type", "nope")
    # a feature stored nowhere is a usage error with how to list them (#17; a close one: did you mean)
    assert r.exit_code == 2 and "no stored call has feature 'nope' (--event-type)" in r.stderr
    assert "hint: list the features with: margindash report --by feature" in r.stderr
    r = store("simulate", "--candidates", "acme/not-a-model")
    assert r.exit_code == 2 and "no price for 'acme/not-a-model'" in r.stderr
    assert store("simulate", "--benchmark", "mmlu").exit_code == 2
    assert store("simulate", "--tier", "cheap").exit_code == 2
    assert store("simulate", "--output-ratio", "0").exit_code == 2
    assert store("simulate", "--min-score", "abc").exit_code == 2


def test_an_empty_period_prints_a_message(store):
    r = store("simulate", "--since", "2025-01-01", "--until", "2025-01-31")
    assert r.exit_code == 0 and "No calls in" in r.stdout
    assert simulate(store, "--since", "2025-01-01", "--until", "2025-01-31")["features"] == []


def test_prices_show_lists_the_models_scores_with_their_source(cli):
    result = cli("prices", "show", "gpt-4o-2024-08-06", "--json")
    bench = json.loads(result.stdout)["benchmarks"]
    assert bench["scores_of"] == "openai/gpt-4o"
    gpqa = next(s for s in bench["scores"] if s["benchmark"] == "gpqa_diamond")
    # simple-evals' own run is preferred to the vendor's 70.1 (from a later OpenAI page), which is kept as not taken
    assert (gpqa["score"], gpqa["evaluator"], gpqa["source"]) == (53.1, "openai-simple-evals", "openai/simple-evals")
    assert "70.1 vendor-reported" in gpqa["alternatives"]
    out = cli("prices", "show", "us.anthropic.claude-sonnet-4-20250514-v1:0").stdout
    assert "benchmark scores (of anthropic/claude-sonnet-4-0)" in out and "75.4" in out
    assert "no benchmark data" in cli("prices", "show", "openai/gpt-3.5-turbo").stdout


def test_demo_suggests_a_simulation_that_runs(cli):
    result = cli("demo")
    assert result.exit_code == 0
    line = next(x for x in result.stdout.splitlines() if " simulate --event-type " in x)
    args = line.split("margindash ", 1)[1].split()
    assert args[0] == "--db" and args[2:] == ["simulate", "--event-type", "agent"]
    sim = cli(*args, "--json")
    assert sim.exit_code == 0
    agent = json.loads(sim.stdout)["features"][0]
    assert agent["feature"] == "agent" and Decimal(agent["cost_usd"]) > 0
    assert any(r["model"] for r in agent["recommendations"])


def test_calls_of_unpriced_models_are_left_out_and_extra_charges_stay_on_every_model(store, cli, tmp_path):
    log = tmp_path / "extract.jsonl"
    priced = {**event("x1", "2026-10-04T09:00:00Z", "extract", "gpt-4o", inp=1_000, out=100), "cost_usd": "0.01"}
    unpriced = event("x2", "2026-10-04T10:00:00Z", "extract", "mystery-9", inp=1_000, out=100, vendor="acmeai")
    log.write_text(json.dumps(priced) + "\n" + json.dumps(unpriced) + "\n")
    assert cli("ingest", log).exit_code == 0
    f = feature(simulate(cli, "--event-type", "extract", "--candidates", "google/gemini-2.5-flash"), "extract")
    # gpt-4o: 1,000 x 2.50 + 100 x 10 per MTok = 0.0035, plus the call's own 0.01 charge
    assert (f["events"], f["excluded_events"], f["cost_usd"], f["billed_cost_usd"]) == (1, 1, "0.0135", "0.0135")
    assert [(m["model"], m["priced_as"]) for m in f["current_models"]] == [
        ("mystery-9", None),
        ("gpt-4o", "openai/gpt-4o"),
    ]
    # gemini-2.5-flash: 1,000 x 0.30 + 100 x 2.50 per MTok = 0.00055, plus the same 0.01
    assert f["candidates"][0]["simulated_cost_usd"] == "0.01055"
    out = cli("simulate", "--event-type", "extract", "--candidates", "google/gemini-2.5-flash").stdout
    assert "1 call(s) left out: their model has no price today" in out


def test_the_demos_suggested_commands_are_never_hard_wrapped_at_80_columns(cli, monkeypatch):
    """#17: a suggested command cut by a newline pastes as two broken commands."""
    monkeypatch.setenv("COLUMNS", "80")
    result = cli("demo")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    for prefix, tail in (
        ("Next: margindash --db ", " report --by customer --breakdown feature --top 5"),
        ("Then: margindash --db ", " simulate --event-type agent"),
        ("And: margindash --db ", " report --cost-basis reconciled"),
        ("Bill: computed ", "."),  # its figures move with the demo's days; the line is whole when it ends in "."
    ):
        line = next(x for x in lines if x.startswith(prefix))
        assert line.endswith(tail), line
    assert re.search(r" no-log charges \$[0-9.,]+\.$", next(x for x in lines if x.startswith("Bill: ")))


def _tables(out: str) -> dict[str, list[str]]:
    """Each feature's table, by the title line above it: its body lines (with folded cells left as they are)."""
    tables, title, lines = {}, None, out.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("┏") and i:
            title = lines[i - 1].strip()
            tables[title] = []
        elif line.startswith("│") and title is not None:
            tables[title].append(line)
        elif line.startswith("└"):
            title = None
    return tables


def _shown(payload, feature_name, top):
    """The candidates the table must list: the first `top` ranked and every recommended one."""
    f = feature(payload, feature_name)
    ranked = [c for c in f["candidates"] if c["status"] == "ranked"]
    rec = {(r["provider"], r["model"]) for r in f["recommendations"] if r["model"] is not None}
    return [
        f"{c['provider']}/{c['model']}" for i, c in enumerate(ranked) if i < top or (c["provider"], c["model"]) in rec
    ]


def test_one_table_per_feature_titled_with_it_and_the_recommended_always_listed(store):
    payload = simulate(store, *PERIOD, "--top", "2")
    out = store("simulate", *PERIOD, "--top", "2").stdout
    tables = _tables(out)
    assert list(tables) == [
        "summarize: 6 calls now on gpt-4o, cost $0.52",
        "chat: 1 call now on gpt-4o-mini, cost $0.00",
    ]
    for title, body in tables.items():
        name = title.split(":")[0]
        listed = [line.split("│")[1].strip() for line in body[1:]]  # after the `now` row
        assert body[0].split("│")[1].strip() == f"now: {feature(payload, name)['current_models'][0]['model']}"
        expected = _shown(payload, name, 2)
        assert listed == expected and len(expected) > 2  # a recommended candidate ranked below --top 2 is listed
    assert out.index("chat: 1 call now on") > out.index("summarize: recommended")  # each feature's own block


@pytest.mark.parametrize("width", [80, 160])
def test_candidate_names_are_whole_and_score_per_dollar_stays_at_any_width(store, monkeypatch, width):
    monkeypatch.setenv("COLUMNS", str(width))
    payload = simulate(store, *PERIOD)
    out = store("simulate", *PERIOD).stdout
    assert "…" not in out and max(len(line) for line in out.splitlines()) <= width
    tables = _tables(out)
    assert len(tables) == 2
    headers = [line for line in out.splitlines() if line.startswith("┃")]
    assert len(headers) == 2 and all("candidate" in h and "score/$" in h for h in headers)
    for title, body in tables.items():
        names = [line.split("│")[1].strip() for line in body]
        for key in _shown(payload, title.split(":")[0], 10):
            assert key in names  # whole, on one line: never cut nor folded
    hidden = " ".join(out.split())
    if width == 80:
        assert "hidden to fit the terminal: MMLU-Pro, savings %, simulated cost" in hidden
    else:
        assert "hidden to fit the terminal" not in hidden and "simulated cost" in out and "tier" in out


def test_a_simulate_table_written_to_a_pipe_without_columns_has_its_full_width(store, monkeypatch):
    monkeypatch.delenv("COLUMNS")
    out = store("simulate", *PERIOD).stdout
    assert "hidden to fit the terminal" not in out
    assert all("MMLU-Pro" in h and "savings %" in h for h in out.splitlines() if h.startswith("┃"))
