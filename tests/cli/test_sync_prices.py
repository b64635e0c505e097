"""`margindash sync-prices` over real HTTP, against a server on 127.0.0.1 serving real list excerpts.

The lists are small verbatim excerpts (tests/fixtures/pricing_sync/README.md). The shipped catalog
was built from the same upstream versions, so serving them as they are is "nothing changed"; a test
that needs a changed price edits the parsed excerpt in memory before serving it.

Costs are checked by hand, USD per million tokens (MTok):
    gpt-4o         2.50 in / 10 out  -> 100,000 in + 10,000 out = 0.25 + 0.10 = 0.35
                   2.00 in /  8 out  (the changed price below)   = 0.20 + 0.08 = 0.28
    o3 (and its dated alias o3-2025-04-16)  10 / 40 until 2025-06-10, then 2 / 8
                   10M in + 1M out on 2025-06-01 = 100 + 40 = 140
    OpenRouter bytedance-seed/seed-2.0-code  0.50 / 3 -> 100,000 in + 10,000 out = 0.05 + 0.03 = 0.08
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import request_id_of
from localserver import LocalServer, Reply

FIXTURES = Path(__file__).parent.parent / "fixtures" / "pricing_sync"
LITELLM = (FIXTURES / "litellm_model_prices.json").read_bytes()
GENAI = (FIXTURES / "genai_prices_v2_data.json").read_bytes()
OPENROUTER = (FIXTURES / "openrouter_models.json").read_bytes()
ENV = {
    "litellm": "MARGINDASH_PRICES_URL_LITELLM",
    "genai-prices": "MARGINDASH_PRICES_URL_GENAI_PRICES",
    "openrouter": "MARGINDASH_PRICES_URL_OPENROUTER",
}


@pytest.fixture(autouse=True)
def fast_fetch(monkeypatch):
    """Retries and timeouts in milliseconds, not seconds: fetch() reads these at call time."""
    from margindash_cli.clients import fetch

    monkeypatch.setattr(fetch, "BACKOFF_S", 0.01)
    monkeypatch.setattr(fetch, "MAX_WAIT_S", 0.05)
    monkeypatch.setattr(fetch, "TIMEOUT_S", 0.5)


@pytest.fixture
def server():
    with LocalServer() as srv:
        yield srv


@pytest.fixture
def serve(server, monkeypatch):
    """serve("litellm", [Reply(...)]) -> the URL, which the source's env variable now points at."""

    def run(source, replies):
        path = f"/{source}.json"
        server.route(path, replies)
        monkeypatch.setenv(ENV[source], server.url(path))
        return server.url(path)

    return run


@pytest.fixture
def db(tmp_path, cli):
    """A store holding the shipped catalog (seeded by its first command)."""
    path = tmp_path / "store.db"
    assert cli("--db", path, "prices", "list", "--provider", "openai", "--json").exit_code == 0
    return path


def prices_table(db):
    """Every row of the prices and aliases tables, and the sync bookkeeping in meta."""
    with sqlite3.connect(db) as conn:
        return (
            conn.execute("SELECT * FROM prices ORDER BY id").fetchall(),
            conn.execute("SELECT * FROM price_aliases ORDER BY vendor, name").fetchall(),
            conn.execute(
                "SELECT * FROM meta WHERE key LIKE 'etag:%' OR key = 'last_price_sync' ORDER BY key"
            ).fetchall(),
        )


def event(ts, vendor, model, *, inp, out, rid):
    return {
        "timestamp": ts,
        "request_id": rid,
        "customer_id": "acme",
        "vendor": vendor,
        "model": model,
        "input_tokens": inp,
        "output_tokens": out,
    }


def ingest(cli, db, tmp_path, events):
    log = tmp_path / f"calls-{len(list(tmp_path.glob('calls-*')))}.jsonl"
    log.write_text("".join(json.dumps(e) + "\n" for e in events))
    result = cli("--db", db, "ingest", log, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rejected"] == 0


def costs(cli, db):
    """{request_id: cost_usd} of every stored call; each call's request id is read from the line of the log that
    `events --json` names as its source."""
    result = cli("--db", db, "events", "--json", "--limit", "0")
    assert result.exit_code == 0, result.output
    events = json.loads(result.stdout)
    out = {request_id_of(e): e["cost_usd"] for e in events}
    assert len(out) == len(events), "two stored calls came from lines with the same request id"
    return out


def sync(cli, db, *sources):
    args = [a for s in sources for a in ("--source", s)]
    return cli("--db", db, "sync-prices", *args, "--json")


def edited(body: bytes, edit) -> bytes:
    doc = json.loads(body)
    edit(doc)
    return json.dumps(doc).encode()


def genai_model(doc, provider, model):
    return next(m for p in doc if p["id"] == provider for m in p["models"] if m["id"] == model)


def gpt_4o_at_2_and_8(doc):
    genai_model(doc, "openai", "gpt-4o")["prices"].update(input_mtok=2, output_mtok=8)


def versions(cli, db, key):
    result = cli("--db", db, "prices", "show", key, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["versions"]


def soon():
    return (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---- nothing changed upstream ---------------------------------------------------------------------


def test_default_sources_over_http_with_the_env_addresses_change_nothing_when_nothing_changed(
    cli, db, tmp_path, serve, server
):
    ingest(
        cli,
        db,
        tmp_path,
        [
            event("2025-06-01T12:00:00Z", "openai", "o3", inp=10_000_000, out=1_000_000, rid="o3-before"),
            event("2025-06-01T12:00:00Z", "openai", "o3-2025-04-16", inp=10_000_000, out=1_000_000, rid="o3-snapshot"),
            event("2026-10-01T12:00:00Z", "openai", "gpt-4o", inp=100_000, out=10_000, rid="gpt-4o"),
        ],
    )
    assert costs(cli, db) == {"o3-before": "140", "o3-snapshot": "140", "gpt-4o": "0.35"}
    litellm_url = serve("litellm", [Reply(200, LITELLM)])
    genai_url = serve("genai-prices", [Reply(200, GENAI)])
    before = prices_table(db)[:2]

    result = cli("--db", db, "sync-prices", "--json")  # no --source: litellm and genai-prices

    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["sources"] == [
        {
            "source": "litellm",
            "address": litellm_url,
            "kind": "litellm",
            "status": "unchanged",
            "prices_read": 27,
            "versions_added": 0,
            "changed_models": [],
        },
        {
            "source": "genai-prices",
            "address": genai_url,
            "kind": "genai-prices",
            "status": "unchanged",
            "prices_read": 15,
            "versions_added": 0,
            "changed_models": [],
        },
    ]
    assert (data["versions_added"], data["newly_priced_events"]) == (0, 0)
    assert prices_table(db)[:2] == before
    assert sorted(path for path, _ in server.requests) == ["/genai-prices.json", "/litellm.json"]
    assert all(h["User-Agent"].startswith("margindash") for _, h in server.requests)
    # History never moved: re-pricing every stored call with the synced catalog changes nothing.
    dry = json.loads(cli("--db", db, "reprice", "--dry-run", "--json").stdout)
    assert (dry["events_seen"], dry["events_changed"]) == (3, 0)


def test_the_table_output_names_each_source_and_what_it_added(cli, db, serve):
    serve("genai-prices", [Reply(200, GENAI)])
    result = cli("--db", db, "sync-prices", "--source", "genai-prices")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "genai-prices: unchanged (15 prices read, 0 new version(s))\n"
        "0 new price version(s); 0 unpriced call(s) now priced.\n"
    )


# ---- a changed price ------------------------------------------------------------------------------


def test_a_changed_price_is_a_new_version_from_the_sync_time_and_calls_before_it_keep_their_cost(
    cli, db, tmp_path, serve
):
    later = soon()
    ingest(
        cli,
        db,
        tmp_path,
        [
            event("2026-10-01T10:00:00Z", "openai", "gpt-4o", inp=100_000, out=10_000, rid="before"),
            event(later, "openai", "gpt-4o", inp=100_000, out=10_000, rid="after"),
        ],
    )
    assert costs(cli, db) == {"before": "0.35", "after": "0.35"}
    url = serve("genai-prices", [Reply(200, edited(GENAI, gpt_4o_at_2_and_8))])

    t0 = datetime.now(UTC)
    result = sync(cli, db, "genai-prices")
    t1 = datetime.now(UTC)

    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["sources"] == [
        {
            "source": "genai-prices",
            "address": url,
            "kind": "genai-prices",
            "status": "updated",
            "prices_read": 15,
            "versions_added": 1,
            "changed_models": ["openai/gpt-4o"],
        }
    ]
    *old, new = versions(cli, db, "openai/gpt-4o")
    assert [v.get("effective_from") for v in old] == [None]
    assert (new["source"], new["base"]) == ("genai-prices", {"input": "2", "output": "8", "cache_read": "1.25"})
    starts = datetime.fromisoformat(new["effective_from"].replace("Z", "+00:00"))
    assert t0 - timedelta(milliseconds=1) <= starts <= t1
    assert new["context_window"] == old[0]["context_window"]  # not a price: kept from the version before
    # A sync prices only calls that had no price; stored costs move only with `reprice`, and only after the change.
    assert costs(cli, db) == {"before": "0.35", "after": "0.35"}
    repriced = json.loads(cli("--db", db, "reprice", "--json").stdout)
    assert (repriced["events_changed"], repriced["old_total_usd"], repriced["new_total_usd"]) == (1, "0.35", "0.28")
    assert costs(cli, db) == {"before": "0.35", "after": "0.28"}
    listed = json.loads(
        cli("--db", db, "prices", "list", "--provider", "openai", "--search", "gpt-4o", "--json").stdout
    )
    assert next(p for p in listed if p["model"] == "gpt-4o")["base"]["input"] == "2"

    # The same list again: nothing new.
    again = json.loads(sync(cli, db, "genai-prices").stdout)
    assert (again["sources"][0]["status"], again["versions_added"]) == ("unchanged", 0)


def test_a_lower_ranked_source_never_overrides_a_better_ones_price_but_updates_its_own(cli, db, tmp_path, serve):
    def edit(doc):
        doc["claude-sonnet-4-5"]["input_cost_per_token"] = 2.5e-06  # genai-prices prices this model: it stands
        doc["azure/gpt-4o"]["input_cost_per_token"] = 2e-06  # only LiteLLM prices this one: a change

    ingest(cli, db, tmp_path, [event(soon(), "azure", "gpt-4o", inp=100_000, out=10_000, rid="azure")])
    sonnet_before = versions(cli, db, "anthropic/claude-sonnet-4-5")
    serve("litellm", [Reply(200, edited(LITELLM, edit))])

    data = json.loads(sync(cli, db, "litellm").stdout)

    assert data["sources"][0]["changed_models"] == ["azure/gpt-4o"]
    assert versions(cli, db, "anthropic/claude-sonnet-4-5") == sonnet_before
    *_, new = versions(cli, db, "azure/gpt-4o")
    assert (new["source"], new["base"]["input"], new["base"]["output"]) == ("litellm", "2", "10")
    cli("--db", db, "reprice")
    assert costs(cli, db) == {"azure": "0.3"}  # 100,000 x 2 + 10,000 x 10, per MTok


def test_a_dated_change_the_source_publishes_is_recorded_at_its_own_date(cli, db, serve):
    def edit(doc):
        model = genai_model(doc, "openai", "gpt-5")
        model["prices"] = [
            {"prices": model["prices"]},
            {"constraint": {"start_date": "2026-01-01"}, "prices": {"input_mtok": 1, "output_mtok": 8}},
        ]

    serve("genai-prices", [Reply(200, edited(GENAI, edit))])
    data = json.loads(sync(cli, db, "genai-prices").stdout)
    assert data["sources"][0]["changed_models"] == ["openai/gpt-5"]
    *_, new = versions(cli, db, "openai/gpt-5")
    assert (new["effective_from"], new["base"]) == ("2026-01-01T00:00:00Z", {"input": "1", "output": "8"})


def test_a_users_own_price_still_wins_after_a_sync(cli, db, tmp_path, serve):
    ingest(cli, db, tmp_path, [event(soon(), "openai", "gpt-4o", inp=100_000, out=10_000, rid="negotiated")])
    assert cli("--db", db, "prices", "set", "openai/gpt-4o", "--input", "1", "--output", "4").exit_code == 0
    cli("--db", db, "reprice")
    assert costs(cli, db) == {"negotiated": "0.14"}
    serve("genai-prices", [Reply(200, edited(GENAI, gpt_4o_at_2_and_8))])
    assert sync(cli, db, "genai-prices").exit_code == 0
    dry = json.loads(cli("--db", db, "reprice", "--dry-run", "--json").stdout)
    assert dry["events_changed"] == 0


def test_openrouter_prices_its_own_models_and_prices_calls_that_had_none(cli, db, tmp_path, serve):
    ingest(
        cli,
        db,
        tmp_path,
        [
            event(
                "2026-10-01T10:00:00Z",
                "openrouter",
                "bytedance-seed/seed-2.0-code",
                inp=100_000,
                out=10_000,
                rid="seed",
            ),
            event("2026-10-01T10:00:00Z", "openrouter", "openai/gpt-4o", inp=100_000, out=10_000, rid="routed"),
        ],
    )
    assert costs(cli, db) == {"seed": None, "routed": "0.35"}
    serve("openrouter", [Reply(200, OPENROUTER)])

    data = json.loads(sync(cli, db, "openrouter").stdout)

    assert data["sources"][0]["kind"] == "openrouter"
    assert data["sources"][0]["prices_read"] == 7
    assert data["newly_priced_events"] == 1
    assert costs(cli, db) == {"seed": "0.08", "routed": "0.35"}
    # A model new to the store is priced for all its calls; a changed one from the sync time on.
    assert [v.get("effective_from") for v in versions(cli, db, "openrouter/bytedance-seed/seed-2.0-code")] == [None]
    routed = versions(cli, db, "openrouter/openai/gpt-4o")
    assert routed[0].get("effective_from") is None and routed[-1]["source"] == "openrouter"
    assert routed[-1]["effective_from"] is not None
    dry = json.loads(cli("--db", db, "reprice", "--dry-run", "--json").stdout)
    assert dry["events_changed"] == 0


# ---- failures: nothing changes, exit 1, one clear error line --------------------------------------


def assert_failed_and_unchanged(result, db, before, message):
    assert result.exit_code == 1
    assert result.stdout == ""
    error = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(error) == 1 and message in error[0], result.stderr
    assert "Traceback" not in result.stderr
    assert prices_table(db) == before


def test_a_server_that_never_answers_in_time_fails_after_the_retries(cli, db, serve, server):
    url = serve("genai-prices", [Reply(200, GENAI, delay=2.0)])
    before = prices_table(db)
    result = sync(cli, db, "genai-prices")
    assert_failed_and_unchanged(result, db, before, f"genai-prices: {url}: timed out after 0.5 s (after 4 attempts)")
    assert "hint: the catalog was left as it was" in result.stderr
    assert len(server.requests) == 4


def test_a_timeout_then_an_answer_succeeds(cli, db, serve, server):
    serve("genai-prices", [Reply(200, GENAI, delay=2.0), Reply(200, GENAI)])
    result = sync(cli, db, "genai-prices")
    assert result.exit_code == 0, result.output
    assert len(server.requests) == 2


def test_a_500_then_success_is_retried(cli, db, serve, server):
    serve("genai-prices", [Reply(500), Reply(200, GENAI)])
    result = sync(cli, db, "genai-prices")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["sources"][0]["status"] == "unchanged"
    assert len(server.requests) == 2


def test_a_dropped_connection_then_success_is_retried(cli, db, serve, server):
    serve("litellm", [Reply(drop=True), Reply(200, LITELLM)])
    assert sync(cli, db, "litellm").exit_code == 0
    assert len(server.requests) == 2


@pytest.mark.parametrize("retry_after", ["0", "\u00b2", "soon"])  # "²" is a digit to str.isdigit(), not to float()
def test_a_429_waits_as_the_server_asks_then_retries(cli, db, serve, server, retry_after):
    serve("litellm", [Reply(429, headers={"Retry-After": retry_after}), Reply(200, LITELLM)])
    assert sync(cli, db, "litellm").exit_code == 0
    assert len(server.requests) == 2


def test_a_response_too_big_to_be_a_price_list_fails_at_once(cli, db, serve, server, monkeypatch):
    from margindash_cli.clients import fetch

    monkeypatch.setattr(fetch, "MAX_BYTES", 1 << 20)
    url = serve("litellm", [Reply(200, LITELLM + b" " * (1 << 20))])  # valid JSON, but 1 MB of it
    before = prices_table(db)
    result = sync(cli, db, "litellm")
    assert_failed_and_unchanged(result, db, before, f"litellm: {url}: response larger than 1 MB; not a price list")
    assert len(server.requests) == 1


def test_a_persistent_500_fails_and_changes_nothing(cli, db, serve, server):
    url = serve("genai-prices", [Reply(500)])
    before = prices_table(db)
    result = sync(cli, db, "genai-prices")
    assert_failed_and_unchanged(result, db, before, f"genai-prices: {url}: HTTP 500 (after 4 attempts)")
    assert len(server.requests) == 4


def test_a_404_fails_at_once(cli, db, serve, server):
    url = serve("litellm", [Reply(404)])
    before = prices_table(db)
    result = sync(cli, db, "litellm")
    assert_failed_and_unchanged(result, db, before, f"litellm: {url}: HTTP 404")
    assert "hint: check the address (--source or its env variable)" in result.stderr
    assert len(server.requests) == 1


def test_malformed_json_fails_and_changes_nothing(cli, db, serve):
    url = serve("genai-prices", [Reply(200, GENAI[: len(GENAI) // 2])])
    before = prices_table(db)
    result = sync(cli, db, "genai-prices")
    assert_failed_and_unchanged(result, db, before, f"genai-prices: {url} is not valid JSON")


def test_json_that_is_not_a_price_list_fails(cli, db, serve):
    url = serve("litellm", [Reply(200, b'{"hello": "world"}')])
    before = prices_table(db)
    result = sync(cli, db, "litellm")
    assert_failed_and_unchanged(result, db, before, f"litellm: {url}: not a known price list")


def test_a_list_of_another_kind_than_its_source_says_fails(cli, db, serve):
    url = serve("litellm", [Reply(200, GENAI)])
    before = prices_table(db)
    result = sync(cli, db, "litellm")
    assert_failed_and_unchanged(result, db, before, f"litellm: {url} looks like a genai-prices list, not litellm")


def test_a_partial_fetch_records_nothing_not_even_the_source_that_succeeded(cli, db, serve, server):
    def edit(doc):
        doc["azure/gpt-4o"]["input_cost_per_token"] = 2e-06

    serve("litellm", [Reply(200, edited(LITELLM, edit), etag='"lit-1"')])
    genai_url = serve("genai-prices", [Reply(500)])
    before = prices_table(db)

    result = sync(cli, db, "litellm", "genai-prices")

    assert_failed_and_unchanged(result, db, before, f"genai-prices: {genai_url}: HTTP 500 (after 4 attempts)")
    # Once the other source answers, the LiteLLM change goes in, fetched afresh (its ETag was not kept).
    server.route("/genai-prices.json", [Reply(200, GENAI)])
    server.requests.clear()
    result = sync(cli, db, "litellm", "genai-prices")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["sources"][0]["changed_models"] == ["azure/gpt-4o"]
    assert "If-None-Match" not in dict(server.requests)["/litellm.json"]


def test_a_failed_sync_does_not_even_seed_a_new_store(cli, tmp_path, serve):
    serve("genai-prices", [Reply(500)])
    db = tmp_path / "new.db"
    result = sync(cli, db, "genai-prices")
    assert result.exit_code == 1
    assert not db.exists()  # not even the empty store file is left (#17)


# ---- ETag revalidation ----------------------------------------------------------------------------


def test_an_unchanged_list_answers_304_to_its_etag_and_nothing_is_read_or_written(cli, db, serve, server):
    url = serve("genai-prices", [Reply(200, GENAI, etag='"v1"')])
    first = sync(cli, db, "genai-prices")
    assert first.exit_code == 0, first.output
    assert "If-None-Match" not in server.requests[0][1]
    before = prices_table(db)[:2]

    second = sync(cli, db, "genai-prices")

    assert second.exit_code == 0, second.output
    assert server.requests[1][1]["If-None-Match"] == '"v1"'
    data = json.loads(second.stdout)
    assert data["sources"] == [
        {
            "source": "genai-prices",
            "address": url,
            "kind": "genai-prices",
            "status": "not-modified",
            "prices_read": 0,
            "versions_added": 0,
            "changed_models": [],
        }
    ]
    assert prices_table(db)[:2] == before
    assert cli("--db", db, "sync-prices", "--source", "genai-prices").stdout.startswith("genai-prices: not-modified")

    # A new list under a new ETag is read again.
    server.route("/genai-prices.json", [Reply(200, edited(GENAI, gpt_4o_at_2_and_8), etag='"v2"')])
    third = json.loads(sync(cli, db, "genai-prices").stdout)
    assert (third["sources"][0]["status"], third["versions_added"]) == ("updated", 1)


# ---- choosing sources -----------------------------------------------------------------------------


def test_a_url_source_is_fetched_as_it_is(cli, db, server):
    server.route("/mirror/prices.json", [Reply(200, LITELLM)])
    url = server.url("/mirror/prices.json")
    data = json.loads(sync(cli, db, url).stdout)
    assert (data["sources"][0]["address"], data["sources"][0]["kind"]) == (url, "litellm")


def test_a_file_source_is_read_from_disk(cli, db):
    path = str(FIXTURES / "openrouter_models.json")
    result = sync(cli, db, path)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["sources"][0]["address"], data["sources"][0]["kind"], data["sources"][0]["prices_read"]) == (
        path,
        "openrouter",
        7,
    )


def test_an_unknown_source_is_an_error_with_a_hint(cli, db, tmp_path):
    before = prices_table(db)
    result = sync(cli, db, "litelm")
    assert_failed_and_unchanged(result, db, before, "litelm: not a known source, an http(s) URL or a readable file")
    assert "hint: use litellm, genai-prices, openrouter, a URL or a FILE" in result.stderr


def test_each_named_source_reads_its_own_env_address(cli, db, serve, server):
    for source, body in (("litellm", LITELLM), ("genai-prices", GENAI), ("openrouter", OPENROUTER)):
        serve(source, [Reply(200, body)])
    result = sync(cli, db, "openrouter", "genai-prices", "litellm")
    assert result.exit_code == 0, result.output
    assert [(s["source"], s["kind"]) for s in json.loads(result.stdout)["sources"]] == [
        ("openrouter", "openrouter"),
        ("genai-prices", "genai-prices"),
        ("litellm", "litellm"),
    ]
    assert sorted(path for path, _ in server.requests) == ["/genai-prices.json", "/litellm.json", "/openrouter.json"]


@pytest.mark.slow
def test_a_trickling_price_server_is_cut_at_the_total_deadline(monkeypatch):
    """#22: a server sending a byte every few seconds kept `sync-prices` running forever."""
    from test_budget_alerts import Trickler

    from margindash_cli.clients import fetch as fetch_module

    monkeypatch.setattr(fetch_module, "TOTAL_DEADLINE_S", 1.5)
    slow = Trickler(b"HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\n", b"{")
    try:
        with pytest.raises(fetch_module.FetchError) as info:
            fetch_module.fetch(f"http://127.0.0.1:{slow.port}/prices.json", timeout=30, retries=3, backoff=0)
    finally:
        slow.close()
    assert "total deadline of 1.5 s" in info.value.message and slow.connections == 1
