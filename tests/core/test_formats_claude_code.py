"""Claude Code session logs -> canonical usage (fixtures/claude_code/: ccusage and claude-code-log samples)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from margindash_cli.errors import LineRejected
from margindash_cli.ingest import registry
from margindash_cli.ingest.formats import claude_code
from margindash_cli.ingest.formats.base import CANONICAL_FIELDS

FIXTURES = Path(__file__).parent.parent / "fixtures" / "claude_code"


def lines(name: str) -> list:
    return [orjson.loads(raw) for raw in (FIXTURES / name).read_bytes().splitlines() if raw.strip()]


def events(name: str) -> list[dict]:
    return [e for line in lines(name) if isinstance(line, dict) for e in claude_code.parse(line)]


def test_ccusage_session_alpha():
    assert events("ccusage/claude/projects/project-alpha/session-alpha/chat.jsonl") == [
        {
            "vendor": "anthropic",
            "model": "claude-sonnet-4-20250514",
            "input_tokens": 100 + 10 + 25,
            "output_tokens": 50,
            "cached_input_tokens": 10,
            "cache_write_tokens": 25,
            "cache_write_1h_tokens": 0,
            "reasoning_tokens": 0,
            "request_id": "msg-alpha-1",
            "timestamp": "2026-01-09T10:00:00.000Z",
            "cost_usd": "0.12",
        },
        {
            "vendor": "anthropic",
            "model": "claude-opus-4-20250514",
            "input_tokens": 200 + 20 + 50,
            "output_tokens": 75,
            "cached_input_tokens": 20,
            "cache_write_tokens": 50,
            "cache_write_1h_tokens": 0,
            "reasoning_tokens": 0,
            "request_id": "msg-alpha-2",
            "timestamp": "2026-01-09T12:30:00.000Z",
            "cost_usd": "0.34",
        },
        {
            "vendor": "anthropic",
            "model": "claude-sonnet-4-20250514",
            "input_tokens": 300 + 40 + 0,
            "output_tokens": 125,
            "cached_input_tokens": 40,
            "cache_write_tokens": 0,
            "cache_write_1h_tokens": 0,
            "reasoning_tokens": 0,
            "request_id": "msg-alpha-3",
            "timestamp": "2026-01-10T09:15:00.000Z",
            "cost_usd": "0.56",
        },
    ]


def test_ccusage_session_beta():
    assert events("ccusage/claude/projects/project-beta/session-beta/chat.jsonl") == [
        {
            "vendor": "anthropic",
            "model": "claude-haiku-4-5-20251001",
            "input_tokens": 50 + 15 + 5,
            "output_tokens": 25,
            "cached_input_tokens": 15,
            "cache_write_tokens": 5,
            "cache_write_1h_tokens": 0,
            "reasoning_tokens": 0,
            "request_id": "msg-beta-1",
            "timestamp": "2026-02-03T08:00:00.000Z",
            "cost_usd": "0.03",
        },
        {
            "vendor": "anthropic",
            "model": "claude-haiku-4-5-20251001",
            "input_tokens": 80 + 25 + 10,
            "output_tokens": 35,
            "cached_input_tokens": 25,
            "cache_write_tokens": 10,
            "cache_write_1h_tokens": 0,
            "reasoning_tokens": 0,
            "request_id": "msg-beta-2",
            "timestamp": "2026-02-03T11:45:00.000Z",
            "cost_usd": "0.04",
        },
    ]


def test_real_session_with_sidechain():
    assert events("claude-code-log/sidechain_integrated.jsonl") == [
        {
            "vendor": "anthropic",
            "model": "claude-sonnet-4-5-20250929",
            "input_tokens": 3 + 141272,
            "output_tokens": 365,
            "cached_input_tokens": 0,
            "cache_write_tokens": 141272,
            "cache_write_1h_tokens": 0,
            "reasoning_tokens": 0,
            "service_tier": "default",
            "request_id": "msg_01H4wg8bFy2psdmQvJMU6kpD",
            "timestamp": "2025-11-19T22:53:34.908Z",
        },
        {
            "vendor": "anthropic",
            "model": "claude-sonnet-4-5-20250929",
            "input_tokens": 3 + 19830,
            "output_tokens": 183,
            "cached_input_tokens": 0,
            "cache_write_tokens": 19830,
            "cache_write_1h_tokens": 0,
            "reasoning_tokens": 0,
            "service_tier": "default",
            "request_id": "msg_017zj75dqWUNqVxCUrhqbTkf",
            "timestamp": "2025-11-19T22:53:39.112Z",
        },
        {
            "vendor": "anthropic",
            "model": "claude-sonnet-4-5-20250929",
            "input_tokens": 3 + 19830,
            "output_tokens": 183,
            "cached_input_tokens": 0,
            "cache_write_tokens": 19830,
            "cache_write_1h_tokens": 0,
            "reasoning_tokens": 0,
            "service_tier": "default",
            "request_id": "msg_017zj75dqWUNqVxCUrhqbTkf",
            "timestamp": "2025-11-19T22:53:39.868Z",
        },
        {
            "vendor": "anthropic",
            "model": "claude-sonnet-4-5-20250929",
            "input_tokens": 3 + 2952 + 141272,
            "output_tokens": 190,
            "cached_input_tokens": 141272,
            "cache_write_tokens": 2952,
            "cache_write_1h_tokens": 0,
            "reasoning_tokens": 0,
            "service_tier": "default",
            "request_id": "msg_011b5A5rZCXR7eBYR4VbohVZ",
            "timestamp": "2025-11-19T22:55:40.790Z",
        },
    ]


def test_usage_repeated_per_content_block_maps_to_one_request_id():
    entries = lines("claude-code-log/sidechain_integrated.jsonl")
    text_block, tool_block = entries[2], entries[3]  # one response, written once per content block
    assert text_block["message"]["id"] == tool_block["message"]["id"]
    assert text_block["requestId"] == tool_block["requestId"]
    assert [c["type"] for c in text_block["message"]["content"]] == ["text"]
    assert [c["type"] for c in tool_block["message"]["content"]] == ["tool_use"]
    [first], [second] = claude_code.parse(text_block), claude_code.parse(tool_block)
    assert first["request_id"] == second["request_id"] == "msg_017zj75dqWUNqVxCUrhqbTkf"


def test_sidechain_replay_with_a_new_request_id_maps_to_the_parent_request_id():
    # ccusage #913: a sidechain file replays a parent response under the same message id, new requestId.
    parent = lines("claude-code-log/sidechain_integrated.jsonl")[5]
    replay = orjson.loads(orjson.dumps(parent))
    replay["isSidechain"], replay["requestId"] = True, "req_011CVJ5Zz000000000000000"
    assert claude_code.parse(replay)[0]["request_id"] == claude_code.parse(parent)[0]["request_id"]


def test_request_id_falls_back_to_request_id_without_a_message_id():
    entry = lines("claude-code-log/session_b.jsonl")[1]
    del entry["message"]["id"]
    assert claude_code.parse(entry)[0]["request_id"] == "req_b_001"


def test_representative_session_counts_only_assistant_entries():
    got = [
        (e["request_id"], e["input_tokens"], e["output_tokens"])
        for e in events("claude-code-log/representative_messages.jsonl")
    ]
    assert got == [
        ("msg_002", 25, 120),
        ("msg_004", 45, 85),
        ("msg_006", 78, 95),
        ("msg_008", 25, 35),
        ("msg_010", 45, 110),
    ]


def test_todowrite_session_without_cache_fields_or_tier():
    assert events("claude-code-log/todowrite_examples.jsonl")[0] == {
        "vendor": "anthropic",
        "model": "claude-sonnet-4",
        "input_tokens": 20,
        "output_tokens": 25,
        "cached_input_tokens": 0,
        "cache_write_tokens": 0,
        "cache_write_1h_tokens": 0,
        "reasoning_tokens": 0,
        "request_id": "msg_001",
        "timestamp": "2025-06-14T10:00:05Z",
    }
    assert len(events("claude-code-log/todowrite_examples.jsonl")) == 6


def test_edge_cases_yield_only_the_assistant_calls():
    got = [(e["request_id"], e["input_tokens"], e["output_tokens"]) for e in events("claude-code-log/edge_cases.jsonl")]
    assert got == [("edge_002", 35, 145), ("edge_004", 200, 25), ("edge_009", 85, 180), ("msg_004", 168, 85)]


def test_user_summary_and_tool_result_entries_are_not_calls():
    entries = lines("claude-code-log/representative_messages.jsonl")
    user, tool_result, summary = entries[0], entries[4], entries[11]
    assert (user["type"], tool_result["type"], summary["type"]) == ("user", "user", "summary")
    assert claude_code.parse(user) == claude_code.parse(tool_result) == claude_code.parse(summary) == []


def test_synthetic_model_entries_are_not_calls():
    entry = lines("claude-code-log/session_b.jsonl")[1]
    entry["message"]["model"] = "<synthetic>"
    assert claude_code.parse(entry) == []


@pytest.mark.parametrize("tier", ["standard", "default"])
def test_service_tier_standard_is_default(tier):
    entry = lines("claude-code-log/session_b.jsonl")[1]
    entry["message"]["usage"]["service_tier"] = tier
    assert claude_code.parse(entry)[0]["service_tier"] == "default"


def test_only_usage_metadata_leaves_the_format():
    for event in events("claude-code-log/sidechain_integrated.jsonl"):
        assert set(event) <= set(CANONICAL_FIELDS)


def test_assistant_entry_without_model_is_rejected():
    # ccusage's test-transcript.jsonl: assistant usage with no model, id or timestamp.
    entry = lines("ccusage/test-transcript.jsonl")[1]
    with pytest.raises(LineRejected) as exc:
        claude_code.parse(entry)
    assert exc.value.field == "message.model"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("input_tokens", "3"),
        ("output_tokens", -1),
        ("cache_read_input_tokens", 0.5),
        ("cache_creation_input_tokens", True),
    ],
)
def test_bad_usage_is_rejected_naming_the_field(key, value):
    entry = lines("claude-code-log/sidechain_integrated.jsonl")[0]
    entry["message"]["usage"][key] = value
    with pytest.raises(LineRejected) as exc:
        claude_code.parse(entry)
    assert exc.value.field == f"message.usage.{key}"


def test_bad_cost_is_rejected():
    entry = lines("ccusage/claude/projects/project-beta/session-beta/chat.jsonl")[0]
    entry["costUSD"] = "n/a"
    with pytest.raises(LineRejected) as exc:
        claude_code.parse(entry)
    assert exc.value.field == "costUSD"


def test_every_claude_code_entry_is_detected_as_claude_code():
    for name in (
        "claude-code-log/representative_messages.jsonl",
        "claude-code-log/sidechain_integrated.jsonl",
        "ccusage/claude/projects/project-alpha/session-alpha/chat.jsonl",
    ):
        for entry in lines(name):
            assert registry.detect(entry) is claude_code, entry.get("type")


def test_codex_sessions_are_not_read_as_claude_code():
    for entry in lines("ccusage/codex/sessions/project-alpha/session-alpha.jsonl"):
        assert not claude_code.matches(entry)
        assert claude_code.parse(entry) == []
