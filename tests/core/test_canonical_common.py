"""The shortcut for the common call (`canonical._validate_common`) gives exactly what the whole check gives."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from margindash_cli.errors import LineRejected
from margindash_cli.ingest import canonical

texts = st.one_of(st.none(), st.text(max_size=8), st.sampled_from(["  acme ", "", " ", "a\x00b", "x" * 600, "OpenAI"]))
tokens = st.one_of(st.none(), st.integers(-2, 3000), st.sampled_from([10**12, 10**12 + 1, 12.0, "5", True]))
stamps = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "2026-08-01T00:00:00.639Z",
            "2026-08-01T09:00:00+09:00",
            "2026-08-01 00:00:00",
            "1999-12-31T23:59:59Z",
            "2100-01-01T00:00:00Z",
            "not a date",
            "",
            1785542400,
            1785542400777.0,
        ]
    ),
    st.datetimes().map(lambda d: d.isoformat()),
)
lines = st.fixed_dictionaries(
    {},
    optional={
        "timestamp": stamps,
        "model": st.one_of(texts, st.just("gpt-4o")),
        "customer_id": texts,
        "event_type": texts,
        "vendor": texts,
        "segment": texts,
        "request_id": texts,
        "response_id": texts,
        "input_tokens": tokens,
        "output_tokens": tokens,
        "cached_input_tokens": tokens,
        "cache_write_tokens": tokens,
        "cache_write_1h_tokens": tokens,
        "reasoning_tokens": tokens,
        "service_tier": st.sampled_from(["batch", "default"]),
        "units": st.just({"images": 1}),
        "tags": st.just({"a": "b"}),
    },
)


@settings(max_examples=3000, deadline=None)
@given(lines)
def test_common_calls_validate_exactly_as_the_whole_check(line: dict) -> None:
    common = canonical._validate_common(line)
    try:
        full = canonical.validate_fully(line)
    except LineRejected:
        assert common is None  # a rejection is always worded by the whole check
        return
    assert common is None or common == full
    assert canonical.validate(line) == full


def test_the_common_call_takes_the_shortcut() -> None:
    line = {
        "timestamp": "2026-08-01T00:00:00.639Z",
        "customer_id": "cus_1",
        "event_type": "chat",
        "segment": "free",
        "request_id": "r1",
        "vendor": "OpenAI",
        "model": "gpt-4o-mini",
        "input_tokens": 570,
        "output_tokens": 33,
        "cached_input_tokens": 0,
    }
    ev = canonical._validate_common(line)
    assert ev is not None and ev == canonical.validate_fully(line)
    assert (ev.vendor, ev.dedupe_id, ev.ts_ms) == ("openai", "r1", 1785542400639)
