"""Langfuse generations: public-API observations, blob/UI export rows, and ingestion batches.

Accepted lines:
- one observation (`GET /api/public/v2/observations` item, camelCase: `usageDetails`, `costDetails`,
  `totalCost`, `startTime`, `providedModelName`/`model`, `userId`), or one blob-export row
  (snake_case: `usage_details`, `cost_details`, `total_cost`, `start_time`, `provided_model_name`;
  the detail objects may be JSON strings, as in CSV exports);
- a whole API page `{"data": [observations...], "meta": ...}`: one event per generation;
- an ingestion batch `{"batch": [events...]}` (what the Langfuse SDKs and LiteLLM POST): one event per
  `generation-create`/`generation-update` body that carries usage or cost (bodies without, such as
  a create sent before the call ended, are skipped); a `trace-create` in the same batch gives its
  `userId` to the generations of that trace.
Only generations (and embeddings) are calls: spans, events and usage-less updates yield nothing.
A generation with no usage and no cost at all is rejected ("no usage block").

Usage-details rule. `usageDetails` is one count per usage type ("Key is the usage metric name, value
is the number of units consumed": ObservationV2 field docs, langfuse-python 5.0.4, in
fixtures/langfuse/); Langfuse prices every key separately and, when no `total` is sent, sums all
keys into the total ("If no total usage type is ingested, Langfuse sums up all usage type units to
a total", langfuse.com/docs/token-usage; and langfuse/langfuse#9386, as quoted in BerriAI/litellm#16203:
"the input value must be reduced by the number of cache_read_input_tokens"). So the buckets are meant to be
disjoint, and Langfuse's own SDK makes them so: langfuse-python `_extract_usage_details` turns an
OpenAI usage into `input = prompt_tokens - every prompt_tokens_details key` and adds `input_<key>`
(`input_cached_tokens`, ...), and likewise `output = completion_tokens - output_<key>`
(`output_reasoning_tokens`). Canonical input is therefore the sum of every key naming `input`
(`input`, cache reads, cache writes, audio, ...), output the sum of every key naming `output`.
LiteLLM's Langfuse logger does not always follow this: LiteLLM's `prompt_tokens` includes cache
reads and writes; it sent `input = prompt_tokens` (cache keys overlapping, BerriAI/litellm#10955),
then from #16203 `input = prompt_tokens - cache_read_input_tokens` (writes still inside `input`;
#26919 proposes subtracting them too). When `total` is present we pick the reading that adds up to
it, in this order: all keys disjoint; cache writes inside `input`; all cache keys inside `input`;
each of these with reasoning first outside, then inside, `output`. Without `total`, disjoint.
Keys: a key containing "cache_read" or "cached" is a cache read, "cache_creation" or "cache_write"
a cache write (with "1h" in it, a one-hour write); "reasoning" in an output key is reasoning; "audio"
in an input or output key (`input_audio_tokens`, `output_audio_tokens`) is audio, billed at its own rate.
Keys naming neither input nor output (`total`, tool counts) are not tokens.

The legacy `usage` object (`input`, `output`, `unit`, `totalCost`) is read when `usageDetails` is
absent, only for unit TOKENS. Cost: `totalCost` / `total_cost` / `calculatedTotalCost` / legacy
`usage.totalCost`, else `costDetails.total`, else the exact sum of the `costDetails` values.
Model: `providedModelName`, else `model`; vendor guessed from the model name (`bedrock/...` ->
"bedrock", `gpt-4o` -> "openai"). response_id = the observation id.
"""

from __future__ import annotations

from typing import Any

import orjson

from margindash_cli.errors import LineRejected
from margindash_cli.ingest.formats.fields import cost_text, read_tokens, show, sum_costs, vendor_of_model

NAME = "langfuse"

# Observation types that are model calls; every other type (SPAN, EVENT, TOOL, ...) is not.
CALL_TYPES = frozenset({"GENERATION", "EMBEDDING"})
# Ingestion event types whose body is a generation.
GENERATION_EVENTS = frozenset({"generation-create", "generation-update"})


def matches(line: dict[str, Any]) -> bool:
    if "usageDetails" in line or "usage_details" in line:
        return True
    if "traceId" in line and ("usage" in line or "type" in line):
        return True
    if type(line.get("batch")) is list:
        return True
    data = line.get("data")
    return "meta" in line and type(data) is list and bool(data) and type(data[0]) is dict and "traceId" in data[0]


def parse(line: dict[str, Any]) -> list[dict[str, Any]]:
    """The events of one observation, export row, API page or ingestion batch."""
    batch = line.get("batch")
    if type(batch) is list:
        return _parse_batch(batch)
    data = line.get("data")
    if type(data) is list and "meta" in line:
        events = []
        for i, item in enumerate(data):
            if type(item) is not dict:
                raise LineRejected(f"must be an object, got {show(item)}", f"data.{i}")
            events.extend(_observation(item, f"data.{i}.", None))
        return events
    return _observation(line, "", None)


def _parse_batch(batch: list[Any]) -> list[dict[str, Any]]:
    users: dict[Any, Any] = {}
    for item in batch:
        if type(item) is dict and item.get("type") == "trace-create":
            body = item.get("body")
            if type(body) is dict and body.get("userId") and body.get("id") is not None:
                users[body["id"]] = body["userId"]
    events = []
    for i, item in enumerate(batch):
        if type(item) is not dict or item.get("type") not in GENERATION_EVENTS:
            continue
        body = item.get("body")
        if type(body) is not dict:
            raise LineRejected(f"must be an object, got {show(body)}", f"batch.{i}.body")
        if not _has_usage(body):
            continue  # a create sent before the call ended, or an update that only sets the output
        trace_user = users.get(body.get("traceId"))
        events.extend(_observation(body, f"batch.{i}.body.", trace_user, item.get("timestamp")))
    return events


def _has_usage(obs: dict[str, Any]) -> bool:
    return any(
        obs.get(key) is not None for key in ("usageDetails", "usage_details", "usage", "costDetails", "totalCost")
    )


def _observation(obs: dict[str, Any], where: str, user: Any, fallback_ts: Any = None) -> list[dict[str, Any]]:
    kind = obs.get("type")
    if type(kind) is str and kind.upper() not in CALL_TYPES:
        return []
    event = _tokens(obs, where)
    cost = _cost(obs, where)
    if event is None and cost is None:
        raise LineRejected("no usage block", f"{where}usageDetails")
    if event is None:
        event = {}
    if cost is not None:
        event["cost_usd"] = cost
    model = obs.get("providedModelName") or obs.get("provided_model_name") or obs.get("model")
    event["model"] = model
    vendor = vendor_of_model(model)
    if vendor is not None:
        event["vendor"] = vendor
    if obs.get("id") is not None:
        event["response_id"] = obs["id"]
    start = obs.get("startTime") or obs.get("start_time") or fallback_ts
    if start is not None:
        event["timestamp"] = start
    customer = obs.get("userId") or obs.get("user_id") or user
    if customer:
        event["customer_id"] = customer
    return [event]


def _tokens(obs: dict[str, Any], where: str) -> dict[str, Any] | None:
    """Canonical token fields from `usageDetails` (or the legacy `usage`); None when neither is there."""
    key = "usageDetails" if "usageDetails" in obs else "usage_details"
    details = _object(obs.get(key), f"{where}{key}")
    if details:
        return _from_details(details, f"{where}{key}")
    legacy = _object(obs.get("usage"), f"{where}usage")
    if not legacy:
        return None
    unit = legacy.get("unit")
    if unit is not None and str(unit).upper() != "TOKENS":
        return None  # characters, images or seconds are not tokens
    inp = read_tokens(legacy, "input", f"{where}usage") or read_tokens(legacy, "promptTokens", f"{where}usage")
    out = read_tokens(legacy, "output", f"{where}usage") or read_tokens(legacy, "completionTokens", f"{where}usage")
    return _vector(inp, out, 0, 0, 0, 0)


def _from_details(details: dict[str, Any], where: str) -> dict[str, Any]:
    base_in = other_in = reads = writes = writes_1h = 0
    base_out = other_out = reasoning = 0
    audio_in = audio_out = 0
    total = None
    for key in details:
        n = read_tokens(details, key, where)
        if key == "input":
            base_in = n
        elif key == "output":
            base_out = n
        elif key == "total":
            total = n
        elif "input" in key:
            if "cache_read" in key or "cached" in key:
                reads += n
            elif "cache_creation" in key or "cache_write" in key:
                writes += n
                if "1h" in key:
                    writes_1h += n
            else:
                other_in += n
                if "audio" in key:
                    audio_in += n
        elif "output" in key:
            if "reasoning" in key:
                reasoning += n
            else:
                other_out += n
                if "audio" in key:
                    audio_out += n
    inputs = [base_in + other_in + reads + writes]  # disjoint: Langfuse's own meaning
    if base_in + other_in >= writes:
        inputs.append(base_in + other_in + reads)  # LiteLLM >= #16203: writes inside `input`
    if base_in >= reads + writes + other_in:
        inputs.append(base_in)  # LiteLLM #10955..#16203: every cache key inside `input`
    outputs = [base_out + other_out + reasoning]
    if base_out + other_out >= reasoning:
        outputs.append(base_out + other_out)  # reasoning inside `output`
    inp, out = inputs[0], outputs[0]
    if total is not None and inp + out != total:
        for i in inputs:
            o = next((o for o in outputs if i + o == total), None)
            if o is not None:
                inp, out = i, o
                break
    vector = _vector(inp, out, reads, writes, writes_1h, reasoning)
    if audio_in:
        vector["input_audio_tokens"] = min(audio_in, max(inp - reads - writes, 0))
    if audio_out:
        vector["output_audio_tokens"] = min(audio_out, max(out - reasoning, 0))
    return vector


def _vector(inp: int, out: int, reads: int, writes: int, writes_1h: int, reasoning: int) -> dict[str, Any]:
    return {
        "input_tokens": inp,
        "output_tokens": out,
        "cached_input_tokens": reads,
        "cache_write_tokens": writes,
        "cache_write_1h_tokens": writes_1h,
        "reasoning_tokens": reasoning,
    }


def _cost(obs: dict[str, Any], where: str) -> str | None:
    for key in ("totalCost", "total_cost", "calculatedTotalCost"):
        if obs.get(key) is not None:
            return cost_text(obs[key], f"{where}{key}")
    legacy = obs.get("usage")
    if type(legacy) is dict and legacy.get("totalCost") is not None:
        return cost_text(legacy["totalCost"], f"{where}usage.totalCost")
    key = "costDetails" if "costDetails" in obs else "cost_details"
    details = _object(obs.get(key), f"{where}{key}")
    if not details:
        return None
    if details.get("total") is not None:
        return cost_text(details["total"], f"{where}{key}.total")
    return sum_costs(list(details.values()), f"{where}{key}")


def _object(value: Any, field: str) -> dict[str, Any] | None:
    """A details object, parsing the JSON text a CSV export holds; None when absent or empty text."""
    if value is None or value == "":
        return None
    if type(value) is str:
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError:
            raise LineRejected("not valid JSON", field) from None
    if type(value) is not dict:
        raise LineRejected(f"must be an object, got {show(value)}", field)
    return value
