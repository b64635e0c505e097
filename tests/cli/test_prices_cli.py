"""Calls priced through the CLI with the shipped catalog, and the `prices` commands and `reprice`.

Every call goes in as a canonical JSONL event with `margindash ingest` and its cost is read back with
`margindash events --json`, to the exact decimal. The expected costs are worked by hand from the
catalog's rates, written here literally (USD per million tokens, MTok; PRICING_RULES.md has the
rules and the first few worked examples):

    anthropic/claude-sonnet-4-5  input 3, 5m write 3.75, 1h write 6, read 0.30, output 15
    openai/gpt-5                 input 1.25, cached 0.125, output 10; batch 0.625 / 5; priority 2.50 / 20
    google/gemini-2.5-flash      input 0.30, output 2.50 (thoughts are output)
    google/gemini-2.5-pro        input 1.25, read 0.125, output 10; above 200,000 prompt tokens the
                                 whole call is 2.50 / 0.25 / 15
    bedrock us.anthropic.claude-sonnet-4-5-20250929-v1:0      3.30 / 16.50 (10% over global.)
    bedrock global.anthropic.claude-sonnet-4-5-20250929-v1:0  3 / 15
    openai/o3                    10 / 40 until 2025-06-10 00:00 UTC, 2 / 8 from then on
    azure/gpt-4o                 input 2.50, cached 1.25, output 10
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from conftest import request_id_of

DAY = "2026-10-01T10:00:00Z"


def event(rid, vendor, model, *, inp, out, cached=0, write=0, write_1h=0, reasoning=0, tier=None, ts=DAY):
    e = {
        "timestamp": ts,
        "request_id": rid,
        "customer_id": "acme",
        "vendor": vendor,
        "model": model,
        "input_tokens": inp,
        "output_tokens": out,
        "cached_input_tokens": cached,
        "cache_write_tokens": write,
        "cache_write_1h_tokens": write_1h,
        "reasoning_tokens": reasoning,
    }
    if tier:
        e["service_tier"] = tier
    return e


@pytest.fixture
def ingest(cli, tmp_path):
    """ingest([event, ...]) through `margindash ingest FILE`; every line must be stored."""
    files = []

    def run(events):
        log = tmp_path / f"calls-{len(files)}.jsonl"
        files.append(log)
        log.write_text("".join(json.dumps(e) + "\n" for e in events))
        result = cli("ingest", log, "--json")
        assert result.exit_code == 0, result.output
        summary = json.loads(result.stdout)
        assert (summary["events_stored"], summary["rejected"]) == (len(events), 0), summary

    return run


def costs(cli):
    """{request_id: cost_usd} of every stored call (None = unpriced); each call's request id is read from the line
    of the log that `events --json` names as its source."""
    result = cli("events", "--json", "--limit", "0")
    assert result.exit_code == 0, result.output
    events = json.loads(result.stdout)
    out = {request_id_of(e): e["cost_usd"] for e in events}
    assert len(out) == len(events), "two stored calls came from lines with the same request id"
    return out


def as_json(cli, *args):
    result = cli(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def assert_rollups_equal_events(cli):
    """`report` reads the daily rollups; their total must be the sum of the events, to the picodollar."""
    total = as_json(cli, "report")["totals"]["cost_usd"]
    assert Decimal(total) == sum(Decimal(c) for c in costs(cli).values() if c is not None)


# ---- the done-when cases: each call at its exact cost ----------------------------------------------


def test_anthropic_cache_writes_of_5_minutes_and_1_hour_and_cache_reads(cli, ingest):
    ingest(
        [
            # PRICING_RULES.md: 1,000 uncached + 20,000 5m writes + 100,000 reads, 2,000 out
            #   = 0.003 + 0.075 + 0.030 + 0.030
            event("5m", "anthropic", "claude-sonnet-4-5", inp=121_000, cached=100_000, write=20_000, out=2_000),
            # the same plus 10,000 one-hour writes at 6: + 0.060
            event(
                "1h",
                "anthropic",
                "claude-sonnet-4-5",
                inp=131_000,
                cached=100_000,
                write=30_000,
                write_1h=10_000,
                out=2_000,
            ),
        ]
    )
    assert costs(cli) == {"5m": "0.138", "1h": "0.198"}


def test_openai_cached_and_reasoning_tokens(cli, ingest):
    # 10,000 uncached x 1.25 + 40,000 cached x 0.125 + 3,000 out (2,000 of them reasoning, billed once) x 10
    ingest([event("gpt-5", "openai", "gpt-5", inp=50_000, cached=40_000, out=3_000, reasoning=2_000)])
    assert costs(cli) == {"gpt-5": "0.0475"}


def test_gemini_thoughts_are_billed_as_output(cli, ingest):
    # 10,000 in x 0.30 + (500 candidates + 1,500 thoughts) x 2.50
    ingest([event("flash", "google", "gemini-2.5-flash", inp=10_000, out=2_000, reasoning=1_500)])
    assert costs(cli) == {"flash": "0.008"}


def test_long_context_tier_is_a_cliff_just_above_its_threshold_and_not_at_it(cli, ingest):
    ingest(
        [
            event("at", "google", "gemini-2.5-pro", inp=200_000, out=5_000),  # 0.25 + 0.05
            event("above", "google", "gemini-2.5-pro", inp=200_001, out=5_000),  # 0.5000025 + 0.075
            event("worked", "google", "gemini-2.5-pro", inp=250_000, out=5_000),  # 0.625 + 0.075
            # 20,000 uncached + 190,000 cache reads = 210,000 prompt tokens: the long tier for all of it
            event(
                "cached", "google", "gemini-2.5-pro", inp=210_000, cached=190_000, out=1_000
            ),  # 0.05 + 0.0475 + 0.015
        ]
    )
    assert costs(cli) == {"at": "0.3", "above": "0.5750025", "worked": "0.7", "cached": "0.1125"}


def test_batch_and_priority_service_tiers_bill_their_own_rates(cli, ingest):
    ingest(
        [
            event("standard", "openai", "gpt-5", inp=100_000, out=10_000),  # 0.125 + 0.1
            event("batch", "openai", "gpt-5", inp=100_000, out=10_000, tier="batch"),  # 0.0625 + 0.05
            event("priority", "openai", "gpt-5", inp=100_000, out=10_000, tier="priority"),  # 0.25 + 0.2
        ]
    )
    assert costs(cli) == {"standard": "0.225", "batch": "0.1125", "priority": "0.45"}


def test_a_bedrock_us_inference_profile_is_priced_at_its_regional_rate(cli, ingest):
    ingest(
        [
            event(
                "us", "bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", inp=10_000, out=1_000
            ),  # 0.033 + 0.0165
            event(
                "global", "bedrock", "global.anthropic.claude-sonnet-4-5-20250929-v1:0", inp=10_000, out=1_000
            ),  # 0.03 + 0.015
        ]
    )
    assert costs(cli) == {"us": "0.0495", "global": "0.045"}


def test_a_price_that_changed_on_a_date_prices_each_call_at_the_price_of_its_day(cli, ingest):
    ten_m_in_one_m_out = {"inp": 10_000_000, "out": 1_000_000}
    ingest(
        [
            event("before", "openai", "o3", ts="2025-06-01T12:00:00Z", **ten_m_in_one_m_out),  # 100 + 40
            event("last-ms", "openai", "o3", ts="2025-06-09T23:59:59.999Z", **ten_m_in_one_m_out),  # 100 + 40
            event("at", "openai", "o3", ts="2025-06-10T00:00:00Z", **ten_m_in_one_m_out),  # 20 + 8
            event("after", "openai", "o3", ts="2025-06-11T12:00:00Z", **ten_m_in_one_m_out),  # 20 + 8
            # a dated snapshot id the catalog aliases to o3 gets o3's history too
            event("snapshot", "openai", "o3-2025-04-16", ts="2025-06-01T12:00:00Z", **ten_m_in_one_m_out),
        ]
    )
    assert costs(cli) == {"before": "140", "last-ms": "140", "at": "28", "after": "28", "snapshot": "140"}
    # Re-pricing with the same catalog changes nothing: history stays where it is.
    assert as_json(cli, "reprice", "--dry-run")["events_changed"] == 0


# ---- unpriced, then priced by `prices set`, then corrected and re-priced ---------------------------


def test_an_unknown_model_is_unpriced_until_a_price_is_set_and_reprice_applies_a_correction(cli, ingest):
    ingest(
        [
            event("mystery-1", "acmeai", "mystery-1", inp=1_000_000, out=100_000, ts="2026-10-01T10:00:00Z"),
            event("mystery-2", "acmeai", "mystery-1", inp=1_000_000, out=100_000, ts="2026-10-05T10:00:00Z"),
            event("known", "openai", "gpt-5", inp=100_000, out=10_000),
        ]
    )
    assert costs(cli) == {"mystery-1": None, "mystery-2": None, "known": "0.225"}
    assert as_json(cli, "prices", "unpriced") == [
        {"vendor": "acmeai", "model": "mystery-1", "events": 2, "input_tokens": 2_000_000, "output_tokens": 200_000}
    ]
    assert "acmeai" in cli("prices", "unpriced").stdout
    assert as_json(cli, "report")["unpriced"] == {"events": 2, "models": ["acmeai/mystery-1"]}
    assert as_json(cli, "prices", "show", "mystery-1") == {"query": "mystery-1", "resolved": None, "versions": []}

    # A price for it prices its calls at once: 1,000,000 x 1 + 100,000 x 2 per MTok = 1.2 each.
    result = cli("prices", "set", "acmeai/mystery-1", "--input", "1", "--output", "2")
    assert result.exit_code == 0, result.output
    assert result.stdout == "Set acmeai/mystery-1 (from the beginning); 2 unpriced call(s) now priced.\n"
    assert costs(cli) == {"mystery-1": "1.2", "mystery-2": "1.2", "known": "0.225"}
    assert as_json(cli, "prices", "unpriced") == []
    assert cli("prices", "unpriced").stdout == "Every stored call has a price.\n"
    assert as_json(cli, "report")["unpriced"] == {"events": 0, "models": []}
    assert_rollups_equal_events(cli)

    # A correction of a price that already priced calls waits for `reprice`: 2 / 4 -> 2.4 each.
    result = cli("prices", "set", "acmeai/mystery-1", "--input", "2", "--output", "4", "--json")
    assert json.loads(result.stdout)["repriced"]["events_changed"] == 0
    assert costs(cli)["mystery-1"] == "1.2"
    dry = as_json(cli, "reprice", "--dry-run")
    assert dry == {
        "dry_run": True,
        "events_seen": 3,
        "events_changed": 2,
        "newly_priced": 0,
        "newly_unpriced": 0,
        "old_total_usd": "2.4",
        "new_total_usd": "4.8",
        "delta_usd": "2.4",
    }
    assert costs(cli) == {"mystery-1": "1.2", "mystery-2": "1.2", "known": "0.225"}  # a dry run writes nothing
    assert cli("reprice", "--dry-run").stdout.startswith("3 call(s) checked; 2 would change (0 newly priced)")

    # --since limits the re-pricing to the calls from that day on.
    assert as_json(cli, "reprice", "--since", "2026-10-05")["events_changed"] == 1
    assert costs(cli) == {"mystery-1": "1.2", "mystery-2": "2.4", "known": "0.225"}
    assert_rollups_equal_events(cli)
    assert as_json(cli, "reprice")["events_changed"] == 1
    assert costs(cli) == {"mystery-1": "2.4", "mystery-2": "2.4", "known": "0.225"}
    assert_rollups_equal_events(cli)
    assert as_json(cli, "reprice")["events_changed"] == 0  # re-running converges


def test_a_user_price_from_a_date_leaves_the_calls_before_it_alone(cli, ingest):
    ingest(
        [
            event("before", "openai", "gpt-4o", inp=100_000, out=10_000, ts="2026-10-01T10:00:00Z"),  # 0.25 + 0.1
            event("after", "openai", "gpt-4o", inp=100_000, out=10_000, ts="2026-10-05T10:00:00Z"),
        ]
    )
    result = cli("prices", "set", "openai/gpt-4o", "--input", "2", "--output", "8", "--effective-from", "2026-10-03")
    assert result.stdout == "Set openai/gpt-4o (from 2026-10-03); 0 unpriced call(s) now priced.\n"
    assert as_json(cli, "reprice")["events_changed"] == 1
    assert costs(cli) == {"before": "0.35", "after": "0.28"}  # 0.2 + 0.08
    assert_rollups_equal_events(cli)
    versions = as_json(cli, "prices", "show", "openai/gpt-4o")["versions"]
    assert [(v["source"], v.get("effective_from")) for v in versions] == [
        ("genai-prices", None),
        ("user", "2026-10-03T00:00:00Z"),
    ]


def test_prices_set_refuses_what_is_not_a_price(cli):
    for args, message in [
        (["acme-model", "--input", "1"], "error: 'acme-model' is not PROVIDER/MODEL"),
        (["acme/model", "--input", "one"], "error: --input 'one' is not a number"),
        (["acme/model", "--output", "-1"], "error: --output must be a non-negative amount, got '-1'"),
        (["acme/model"], "error: no price given"),
        (
            ["acme/model", "--input", "1", "--output", "2", "--effective-from", "soon"],
            "error: --effective-from 'soon' is not a date",
        ),
    ]:
        result = cli("prices", "set", *args)
        assert result.exit_code == 2, args
        assert result.stderr.splitlines()[0] == message


# ---- --cost-source -------------------------------------------------------------------------------


def litellm_row(rid, model, spend):
    """A LiteLLM proxy spend-log row: a log that states its own cost of the call."""
    return {
        "request_id": rid,
        "call_type": "acompletion",
        "startTime": "2026-10-01T10:00:00Z",
        "model": model,
        "custom_llm_provider": "openai",
        "prompt_tokens": 100_000,
        "completion_tokens": 10_000,
        "spend": spend,
    }


def test_reprice_cost_source_chooses_between_our_price_and_the_logs_own_cost(cli, ingest):
    ingest([litellm_row("priced", "gpt-4o", 0.5), litellm_row("unknown", "acme-internal-llm", 0.25)])
    # auto: ours where we have a price (0.25 + 0.1), else the log's own figure
    assert costs(cli) == {"priced": "0.35", "unknown": "0.25"}

    dry = as_json(cli, "reprice", "--cost-source", "reported", "--dry-run")
    assert (dry["events_changed"], dry["old_total_usd"], dry["new_total_usd"]) == (1, "0.35", "0.5")
    assert as_json(cli, "reprice", "--cost-source", "reported")["events_changed"] == 1
    assert costs(cli) == {"priced": "0.5", "unknown": "0.25"}
    assert_rollups_equal_events(cli)

    computed = as_json(cli, "reprice", "--cost-source", "computed")
    assert (computed["events_changed"], computed["newly_unpriced"]) == (2, 1)
    assert costs(cli) == {"priced": "0.35", "unknown": None}
    assert as_json(cli, "report")["unpriced"] == {"events": 1, "models": ["openai/acme-internal-llm"]}
    assert_rollups_equal_events(cli)

    assert as_json(cli, "reprice")["events_changed"] == 1  # back to auto
    assert costs(cli) == {"priced": "0.35", "unknown": "0.25"}


def test_an_unknown_cost_source_is_a_usage_error(cli, ingest):
    ingest([event("x", "openai", "gpt-5", inp=1, out=1)])
    result = cli("reprice", "--cost-source", "invoice")
    assert result.exit_code == 2
    assert result.stderr == "error: unknown --cost-source 'invoice'\nhint: use one of auto, computed, reported\n"


def test_reprice_needs_a_store(cli, tmp_path):
    result = cli("--db", tmp_path / "none.db", "reprice")
    assert result.exit_code == 1 and result.stderr.startswith("error: no store at ")


# ---- prices alias --------------------------------------------------------------------------------


def test_an_azure_deployment_name_is_priced_through_an_alias(cli, ingest):
    ingest(
        [
            # 50,000 uncached x 2.50 + 50,000 cached x 1.25 + 10,000 out x 10
            event("deployment", "azure", "prod-gpt4o", inp=100_000, cached=50_000, out=10_000),
            event("same-name-elsewhere", "acmecloud", "prod-gpt4o", inp=100_000, cached=50_000, out=10_000),
        ]
    )
    assert costs(cli) == {"deployment": None, "same-name-elsewhere": None}

    result = cli("prices", "alias", "prod-gpt4o", "azure/gpt-4o", "--vendor", "azure")

    assert result.exit_code == 0, result.output
    assert result.stdout == "prod-gpt4o -> azure/gpt-4o; 1 unpriced call(s) now priced.\n"
    assert costs(cli) == {"deployment": "0.2875", "same-name-elsewhere": None}
    shown = as_json(cli, "prices", "show", "azure/prod-gpt4o")
    assert shown["resolved"] == {"provider": "azure", "model": "gpt-4o", "how": "alias"}
    # Without --vendor the alias holds for every vendor.
    assert cli("prices", "alias", "prod-gpt4o", "azure/gpt-4o").stdout.endswith("1 unpriced call(s) now priced.\n")
    assert costs(cli) == {"deployment": "0.2875", "same-name-elsewhere": "0.2875"}
    assert_rollups_equal_events(cli)


def test_an_alias_to_a_model_with_no_price_is_refused(cli):
    result = cli("prices", "alias", "prod-gpt4o", "azure/gpt-4o-typo")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == "error: no price for azure/gpt-4o-typo"
    assert as_json(cli, "prices", "show", "azure/prod-gpt4o")["resolved"] is None


# ---- prices list / show / diff -------------------------------------------------------------------


def test_prices_list_filters_by_provider_and_search(cli):
    rows = as_json(cli, "prices", "list", "--provider", "anthropic", "--search", "sonnet-4-5")
    assert rows and all(r["provider"] == "anthropic" and "sonnet-4-5" in r["model"] for r in rows)
    sonnet = next(r for r in rows if r["model"] == "claude-sonnet-4-5")
    assert sonnet["base"] == {
        "input": "3",
        "output": "15",
        "cache_read": "0.3",
        "cache_write_5m": "3.75",
        "cache_write_1h": "6",
    }
    assert sonnet["tiers"][0]["threshold"] == 200_000
    # The price in force now: o3's 2025-06-10 version, not its first one.
    o3 = next(r for r in as_json(cli, "prices", "list", "--provider", "openai", "--search", "o3") if r["model"] == "o3")
    assert (o3["effective_from"], o3["base"]["input"], o3["base"]["output"]) == ("2025-06-10T00:00:00Z", "2", "8")


def test_prices_list_table(cli):
    out = cli("prices", "list", "--provider", "openai", "--search", "o3-pro").stdout
    assert "1 price(s), USD per million tokens" in out
    row = next(line for line in out.splitlines() if "o3-pro" in line)
    assert row.split("│")[1:6] == [" openai   ", " o3-pro ", "    20 ", "     80 ", "          - "]
    assert cli("prices", "list", "--search", "no-such-model").stdout == "No prices match.\n"


@pytest.mark.parametrize(
    ("query", "resolved"),
    [
        ("anthropic/claude-sonnet-4-5", ("anthropic", "claude-sonnet-4-5", "exact")),
        ("openai/o3-2025-04-16", ("openai", "o3", "alias")),
        (
            "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
            ("bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", "normalized"),
        ),
        ("bedrock/us.anthropic.claude-2.1-v1:0", ("anthropic", "claude-2.1", "origin")),
    ],
)
def test_prices_show_says_how_a_name_resolves(cli, query, resolved):
    info = as_json(cli, "prices", "show", query)
    assert info["query"] == query
    assert (info["resolved"]["provider"], info["resolved"]["model"], info["resolved"]["how"]) == resolved
    assert info["versions"] and all(
        v["provider"] == resolved[0] and v["model"] == resolved[1] for v in info["versions"]
    )


def test_prices_show_lists_every_version_with_its_source(cli):
    info = as_json(cli, "prices", "show", "openai/o3")
    assert [
        (v["source"], v.get("effective_from"), v["base"]["input"], v["base"]["output"]) for v in info["versions"]
    ] == [("genai-prices", None, "10", "40"), ("genai-prices", "2025-06-10T00:00:00Z", "2", "8")]
    out = cli("prices", "show", "openai/o3").stdout
    assert out.splitlines()[0] == "openai/o3 -> openai/o3 (exact match)"
    versions_table = out.split("└")[0]  # the first table; more may follow it (benchmark scores)
    since = [line.split("│")[1].strip() for line in versions_table.splitlines() if line.startswith("│")]
    assert since == ["-", "2025-06-10"]
    assert cli("prices", "show", "mystery-1").stdout.startswith("mystery-1: no price (unpriced).")


def test_prices_diff_lists_where_the_shipped_sources_disagree_and_who_won(cli):
    rows = as_json(cli, "prices", "diff")
    assert rows
    for r in rows:
        assert r["kind"] in ("price", "rule", "override") and r["winner"] in (
            "genai-prices",
            "litellm",
            "openrouter",
            "override",
        )
        assert r["why"]  # every decision says why it went that way
        assert set(r["fields"]) <= {"input", "output"} and r["fields"]
        assert isinstance(r[r["winner"]], dict) and (r["kind"] == "override" or isinstance(r["genai-prices"], dict))
    # The catalog prices a disagreement at the winner's figure.
    won = next(r for r in rows if r["kind"] == "price" and r["winner"] == "genai-prices")
    current = next(
        p
        for p in as_json(cli, "prices", "list", "--provider", won["provider"], "--search", won["model"])
        if p["model"] == won["model"]
    )
    assert {f: current["base"].get(f) for f in won["genai-prices"]} == won["genai-prices"]
    out = cli("prices", "diff").stdout
    assert f"{len(rows)} price disagreement(s) between sources" in out
    assert won["model"] in out


# ---- a newer margindash ships a newer catalog ------------------------------------------------------


def test_a_newer_shipped_catalog_changes_prices_from_then_on_and_an_older_one_changes_nothing(cli, ingest, monkeypatch):
    import dataclasses

    from margindash_cli.pricing import catalog
    from margindash_cli.pricing import run as catalog_store
    from margindash_cli.pricing.model import Rates

    shipped = catalog.load_shipped_catalog()
    gpt_4o = shipped.versions[("openai", "gpt-4o")]
    newer = dataclasses.replace(
        shipped,
        versions={
            **shipped.versions,
            ("openai", "gpt-4o"): tuple(
                dataclasses.replace(v, base=Rates(input=Decimal(2), output=Decimal(8), cache_read=Decimal(1)))
                for v in gpt_4o
            ),
        },
    )
    ingest([event("before", "openai", "gpt-4o", inp=100_000, out=10_000)])  # 0.25 + 0.1, seeded with today's catalog
    before = as_json(cli, "prices", "show", "openai/gpt-4o")["versions"]

    monkeypatch.setattr(catalog, "load_shipped_catalog", lambda: newer)
    monkeypatch.setattr(catalog_store, "shipped_catalog_digest", lambda: "newer")
    *old, new = as_json(cli, "prices", "show", "openai/gpt-4o")["versions"]
    assert old == before
    assert (new["base"], new["effective_from"] is not None) == ({"input": "2", "output": "8", "cache_read": "1"}, True)
    assert as_json(cli, "reprice", "--dry-run")["events_changed"] == 0  # the call before the merge keeps its price

    # Back to today's catalog (an older margindash on the same store): nothing it ships is news.
    monkeypatch.setattr(catalog, "load_shipped_catalog", lambda: shipped)
    monkeypatch.setattr(catalog_store, "shipped_catalog_digest", lambda: "older")
    assert as_json(cli, "prices", "show", "openai/gpt-4o")["versions"] == [*old, new]


def test_prices_rm_removes_a_user_price_and_re_prices_the_calls_it_priced(cli, ingest):
    ingest(
        [
            event("before", "openai", "gpt-4o", inp=100_000, out=10_000, ts="2026-10-01T10:00:00Z"),  # 0.25 + 0.1
            event("after", "openai", "gpt-4o", inp=100_000, out=10_000, ts="2026-10-05T10:00:00Z"),
            event("mystery", "acmeai", "mystery-1", inp=1_000_000, out=100_000, ts="2026-10-05T10:00:00Z"),
        ]
    )
    assert (
        cli(
            "prices", "set", "openai/gpt-4o", "--input", "2", "--output", "8", "--effective-from", "2026-10-03"
        ).exit_code
        == 0
    )
    assert as_json(cli, "reprice")["events_changed"] == 1
    assert cli("prices", "set", "acmeai/mystery-1", "--input", "1", "--output", "2").exit_code == 0
    assert costs(cli) == {"before": "0.35", "after": "0.28", "mystery": "1.2"}

    # a shipped/synced price is not the user's to remove; an unknown one is an error too
    result = cli("prices", "rm", "openai/gpt-4o-mini")
    assert result.exit_code == 2 and result.stderr.startswith("error: the prices of openai/gpt-4o-mini are")
    assert "hint: set your own with `margindash prices set openai/gpt-4o-mini ...`" in result.stderr
    result = cli("prices", "rm", "openai/gpt-4o", "--effective-from", "2026-10-04")
    assert result.exit_code == 2 and "no price of yours for openai/gpt-4o takes effect on 2026-10-04" in result.stderr
    assert cli("prices", "rm", "acme/nothing").stderr.startswith("error: no price for acme/nothing")

    result = cli("prices", "rm", "openai/gpt-4o", "--effective-from", "2026-10-03")
    assert result.exit_code == 0, result.output
    assert result.stdout == "Removed 1 price(s) of openai/gpt-4o; 1 call(s) re-priced (0 now unpriced).\n"
    assert costs(cli) == {"before": "0.35", "after": "0.35", "mystery": "1.2"}  # back at the shipped price
    assert_rollups_equal_events(cli)
    assert [v["source"] for v in as_json(cli, "prices", "show", "openai/gpt-4o")["versions"]] == ["genai-prices"]

    data = as_json(cli, "prices", "rm", "acmeai/mystery-1")
    assert data["removed"] == [{"effective_from": None}]
    assert data["repriced"]["events_changed"] == 1 and data["repriced"]["newly_unpriced"] == 1
    assert costs(cli)["mystery"] is None  # no price left: unpriced, never $0
    assert_rollups_equal_events(cli)
    assert cli("prices", "rm", "acmeai/mystery-1").stderr.startswith("error: no price for acmeai/mystery-1")


def test_prices_set_warns_when_no_stored_call_is_of_that_model(cli, ingest):
    ingest([event("known", "openai", "gpt-4o", inp=100_000, out=10_000)])
    result = cli("prices", "set", "acme/typo-model", "--input", "1", "--output", "2")
    assert result.exit_code == 0
    assert result.stderr.startswith("warning: no stored call is of acme/typo-model: the price priced nothing yet")
    result = cli("prices", "set", "openai/gpt-4o", "--input", "1", "--output", "2")
    assert result.exit_code == 0 and "warning" not in result.stderr


def test_prices_list_on_a_terminal_shows_50_prices_and_says_how_to_see_the_rest(cli, monkeypatch):
    """#17: 2,665 shipped prices on a terminal were all printed. A terminal is simulated as Rich detects one
    (TTY_COMPATIBLE=1); a pipe and --json get every price unless --top is given; --top 0 and --all mean all."""
    import json as _json

    every = _json.loads(cli("prices", "list", "--json").stdout)
    assert len(every) > 1000
    piped = cli("prices", "list").stdout
    assert sum(line.startswith("│") for line in piped.splitlines()) == len(every)  # 160 columns: one line each
    assert "first 50" not in piped
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    out = cli("prices", "list").stdout
    body = [line for line in out.splitlines() if line.startswith("│")]
    assert len(body) == 50 and body[0].split("│")[2].strip() == every[0]["model"]
    caption = " ".join(out.split())
    assert f"{len(every):,} price(s)" in caption
    assert f"first 50 of {len(every):,} prices by provider and model; --all or --top N for more" in caption
    assert len(_json.loads(cli("prices", "list", "--json").stdout)) == len(every)  # JSON is never capped by default
    for args in (["--all"], ["--top", "0"]):
        full = cli("prices", "list", *args).stdout
        assert sum(line.startswith("│") for line in full.splitlines()) == len(every) and "first 50" not in full
    top3 = cli("prices", "list", "--top", "3").stdout
    assert sum(line.startswith("│") for line in top3.splitlines()) == 3 and "first 3 of" in top3
    assert [p["model"] for p in _json.loads(cli("prices", "list", "--top", "3", "--json").stdout)] == [
        p["model"] for p in every[:3]
    ]
    r = cli("prices", "list", "--all", "--top", "5")
    assert r.exit_code == 2 and "--all and --top 5 ask for different rows" in r.stderr
