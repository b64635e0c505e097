"""OpenAI Batch API output files: one `BatchRequestOutput` per line.

`{"id", "custom_id", "response": {"status_code", "request_id", "body"}, "error"}`, where `body` is an
ordinary OpenAI response (chat completion, Responses, embeddings) read by `openai.extract`.
- service_tier is always "batch": the batch discount applies whatever the body says.
- request_id is `response.request_id`, else the body's id.
- A line with an `error`, a non-200 status or no body is a failed request, not a call:
  it is rejected (and quarantined), never stored as a zero-cost event.
"""

from __future__ import annotations

from typing import Any

from margindash_cli.errors import LineRejected
from margindash_cli.ingest.formats import openai
from margindash_cli.ingest.formats.fields import show

NAME = "openai-batch"


def matches(line: dict[str, Any]) -> bool:
    return "custom_id" in line and ("response" in line or "error" in line)


def parse(line: dict[str, Any]) -> list[dict[str, Any]]:
    """The one event of a successful batch output line. Raises LineRejected for a failed request."""
    error = line.get("error")
    if error is not None:
        code = error.get("code") if type(error) is dict else None
        raise LineRejected(f"batch request failed ({code or 'no code'})", "error")
    response = line.get("response")
    if type(response) is not dict:
        raise LineRejected("no response object", "response")
    status = response.get("status_code")
    if status != 200:
        raise LineRejected(f"batch request failed with status {show(status)}", "response.status_code")
    body = response.get("body")
    if type(body) is not dict:
        raise LineRejected("no response body", "response.body")
    try:
        event = openai.extract(body)
    except LineRejected as exc:  # name the field by its place in this line
        raise LineRejected(exc.reason, f"response.body.{exc.field}" if exc.field else "response.body") from None
    event["service_tier"] = "batch"
    request_id = response.get("request_id") or event.get("response_id")
    if request_id is not None:
        event["request_id"] = request_id
    return [event]
