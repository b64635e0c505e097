"""`ingest --map response=PATH` through the CLI: the help names the searched keys, a custom key is read, and a bad
path is a clear error naming file, line and field (#17)."""

from __future__ import annotations

import json
from pathlib import Path

WRAPPED = Path(__file__).parent.parent / "fixtures/wrapped/custom_key.jsonl"
MAPS = ("--map", "customer_id=user.id", "--map", "feature=route")


def test_help_names_the_wrapper_keys_and_the_response_map(cli):
    text = " ".join(cli("ingest", "--help").stdout.split())
    assert "under the keys response, message, body (in that order, then response.body)" in text
    assert "response=payload.llm_response" in text


def test_a_response_under_a_custom_key_is_read_for_every_provider(cli, tmp_path):
    r = cli("ingest", WRAPPED, "--map", "response=payload.llm_response", *MAPS, "--json")
    assert r.exit_code == 0, r.stderr
    summary = json.loads(r.stdout)
    assert (summary["events_stored"], summary["rejected"]) == (4, 0)
    events = json.loads(cli("events", "--json").stdout)
    by_customer = {e["customer_id"]: e for e in events}
    assert sorted(by_customer) == ["cust-1", "cust-2", "cust-3", "cust-4"]
    assert {e["event_type"] for e in events} == {"chat"}
    assert [by_customer[f"cust-{i}"]["vendor"] for i in range(1, 5)] == ["openai", "anthropic", "google", "bedrock"]
    assert all(e["input_tokens"] > 0 and e["output_tokens"] > 0 for e in events)


def test_without_the_map_nothing_is_stored_and_the_error_says_why(cli, tmp_path):
    r = cli("ingest", WRAPPED, *MAPS)
    assert r.exit_code == 1
    assert (
        f"error: {WRAPPED}: nothing stored: all 4 of its usage line(s) were rejected, the first at line 1: model: missing"
        in " ".join(r.stderr.split())
    )


def test_a_bad_path_names_file_line_and_field(cli, tmp_path):
    q = tmp_path / "q.jsonl"
    r = cli("ingest", WRAPPED, "--map", "response=payload.llm_reponse", *MAPS, "--quarantine", q)
    assert r.exit_code == 1
    err = " ".join(r.stderr.split())
    assert (
        f"error: {WRAPPED}: nothing stored: all 4 of its usage line(s) were rejected, the first at line 1: "
        "payload.llm_reponse: missing: no provider response at this path (--map response=payload.llm_reponse)"
    ) in err
    records = [json.loads(x) for x in q.read_text().splitlines()]
    assert [(x["file"], x["line"], x["field"]) for x in records] == [
        (str(WRAPPED), n, "payload.llm_reponse") for n in range(1, 5)
    ]


def test_a_response_map_with_a_whole_line_format_is_a_usage_error(cli):
    r = cli("ingest", WRAPPED, "--format", "litellm", "--map", "response=payload.llm_response")
    assert r.exit_code == 2
    assert "--format litellm reads whole lines" in r.stderr
