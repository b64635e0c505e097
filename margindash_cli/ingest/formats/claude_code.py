"""Claude Code session logs (`~/.claude/projects/<project>/<session>.jsonl`), one entry per line.

Only assistant entries with `message.usage` are calls (`type: "assistant"`, or no `type` and
`message.role: "assistant"`, as in ccusage's fixtures). User prompts, tool results, summaries,
snapshots, API-error entries (model `<synthetic>`) and usage-less entries yield no event, which is
not an error. Tokens follow Anthropic's semantics (`anthropic.read_usage`: `input_tokens` excludes
cache reads and writes). model = `message.model`, timestamp = `timestamp`, cost_usd = `costUSD`
(exact decimal string) when present, vendor "anthropic".

Dedupe: Claude Code writes one entry per content block of a response, each repeating the
response's usage, and sidechain (sub-agent, `/btw`) files replay parent entries with the same
`message.id` but a new `requestId` (ccusage's Claude adapter README; ccusage issue #913). An Anthropic
message id names one billed response, so request_id is `message.id` alone; the store's dedupe then
counts every response once, whichever file or block it is read from. Only when the message has no
id does `requestId` stand in.

OpenAI Codex CLI sessions (`event_msg` / `token_count` lines) are not read here: their model sits on
an earlier `turn_context` line and the same counts are re-emitted, so a per-line reader would
mis-attribute or double count them.
"""

from __future__ import annotations

from typing import Any

from margindash_cli.errors import LineRejected
from margindash_cli.ingest.formats.anthropic import read_usage
from margindash_cli.ingest.formats.fields import cost_text

NAME = "claude-code"

# Entry types Claude Code writes that carry no `sessionId` + `version` pair.
OTHER_ENTRY_TYPES = frozenset({"summary", "file-history-snapshot", "queue-operation"})
SYNTHETIC_MODEL = "<synthetic>"  # Claude Code's placeholder on entries no API call produced


def matches(line: dict[str, Any]) -> bool:
    if "sessionId" in line and "version" in line:
        return True
    kind = line.get("type")
    return type(kind) is str and kind in OTHER_ENTRY_TYPES


def parse(line: dict[str, Any]) -> list[dict[str, Any]]:
    """The one event of an assistant entry; [] for every other entry."""
    message = line.get("message")
    if type(message) is not dict:
        return []
    kind = line.get("type")
    if kind != "assistant" and (kind is not None or message.get("role") != "assistant"):
        return []
    usage = message.get("usage")
    if type(usage) is not dict:
        return []
    model = message.get("model")
    if model == SYNTHETIC_MODEL:
        return []
    if not model:
        raise LineRejected("missing", "message.model")
    event = read_usage(usage, "message.usage")
    event["vendor"] = "anthropic"
    event["model"] = model
    message_id = message.get("id")
    request_id = message_id if type(message_id) is str and message_id else line.get("requestId")
    if request_id is not None:
        event["request_id"] = request_id
    if line.get("timestamp") is not None:
        event["timestamp"] = line["timestamp"]
    cost = cost_text(line.get("costUSD"), "costUSD")
    if cost is not None:
        event["cost_usd"] = cost
    return [event]
