"""`ingest --map response=PATH`: a provider response wrapped under a key of the app's own choosing (#17)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from margindash_cli.errors import LineRejected
from margindash_cli.ingest import canonical, registry

FIXTURES = Path(__file__).parent.parent / "fixtures"
WRAPPED = FIXTURES / "wrapped/custom_key.jsonl"
MAP = canonical.parse_maps(["response=payload.llm_response", "customer_id=user.id", "feature=route"])


def wrapped_lines() -> list[dict]:
    return [orjson.loads(raw) for raw in WRAPPED.read_bytes().splitlines()]


@pytest.mark.parametrize("n", range(4), ids=["openai", "anthropic", "gemini", "bedrock"])
def test_a_response_under_a_custom_key_reads_as_under_the_default_key(n):
    line = wrapped_lines()[n]
    payload = line["payload"]["llm_response"]
    # The same line as margindash finds it without a map: the response under `response`, the app's fields on top.
    plain = {k: v for k, v in line.items() if k not in ("payload", "user", "route")}
    plain |= {"customer_id": line["user"]["id"], "feature": line["route"], "response": payload}
    expected = canonical.normalize(plain)
    got = canonical.normalize(line, "auto", MAP)
    assert got == expected
    (ev,) = got
    assert ev.customer_id == f"cust-{n + 1}" and ev.event_type == "chat" and ev.input_tokens > 0


def test_each_fixture_line_is_a_different_provider():
    assert [registry.detect_response(x["payload"]["llm_response"]).NAME for x in wrapped_lines()] == [
        "openai",
        "anthropic",
        "gemini",
        "bedrock",
    ]


def test_a_named_format_reads_the_mapped_response():
    line = wrapped_lines()[1]
    assert canonical.normalize(line, "anthropic", MAP) == canonical.normalize(line, "auto", MAP)


def test_without_the_map_the_wrapped_line_is_not_a_call():
    with pytest.raises(LineRejected) as exc:
        canonical.normalize(wrapped_lines()[0], "auto", canonical.parse_maps(["customer_id=user.id"]))
    assert exc.value.field == "model"


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("payload.nope", "missing: no provider response at this path"),
        ("payload.kind", "not a provider response: 'llm'"),
        ("payload", "not a provider response: an object with no usage or usageMetadata object"),
        ("route", "not a provider response: 'chat'"),
    ],
)
def test_a_bad_response_path_rejects_the_line_naming_the_path(path, reason):
    with pytest.raises(LineRejected) as exc:
        canonical.normalize(wrapped_lines()[0], "auto", canonical.parse_maps([f"response={path}"]))
    assert exc.value.field == path
    assert exc.value.reason.startswith(reason) and f"(--map response={path})" in exc.value.reason


def test_a_usage_object_of_no_known_provider_is_refused():
    line = {"timestamp": "2026-10-01T00:00:00Z", "p": {"r": {"usage": {"tokens": 3}}}}
    with pytest.raises(LineRejected) as exc:
        canonical.normalize(line, "auto", canonical.parse_maps(["response=p.r"]))
    assert exc.value.field == "p.r" and "no known provider" in exc.value.reason


@pytest.mark.parametrize(
    ("specs", "fmt", "message"),
    [
        (["response="], "auto", "expected FIELD=PATH"),
        (["response=payload..llm"], "auto", "has an empty step"),
        (["response=a", "response=b"], "auto", "response is mapped twice"),
        (["response=a"], "litellm", "--format litellm reads whole lines"),
        (["response=a"], "events", "--format events reads whole lines"),
        (["respons=a"], "auto", "or response (where a provider response sits)"),
    ],
)
def test_bad_map_specs_are_refused_up_front(specs, fmt, message):
    with pytest.raises(ValueError, match="--map") as exc:
        canonical.parse_maps(specs, fmt)
    assert message in str(exc.value)


def test_the_wrapper_keys_the_readme_documents_are_the_searched_ones():
    readme = " ".join((Path(__file__).parent.parent.parent / "README.md").read_text().split())
    assert registry.WRAPPER_KEYS == ("response", "message", "body")
    assert "under the keys `response`, `message`, `body` (in that order), then `response.body`" in readme
