"""The fast path of ingest (`canonical.decode_common`, msgspec) gives exactly what the whole way gives (orjson, then
`canonical.normalize`), or declines the line: a differential property test over raw JSONL lines, valid and subtly
not (duplicate keys, big ints, 10.0 and true as token counts, escapes, lone surrogates, NUL, non-ASCII, null against
absent, unknown and aliased keys, timestamps of every form, broken JSON).

Randomized: hypothesis is seeded from MARGINDASH_TEST_SEED (else a fixed seed), printed on failure.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

import orjson
from hypothesis import event, given, note, seed, settings
from hypothesis import strategies as st

from margindash_cli.errors import LineRejected
from margindash_cli.ingest import canonical

SEED = int(os.environ.get("MARGINDASH_TEST_SEED", "2020"))


def _whole_way(raw: bytes) -> list[canonical.NormalizedEvent] | tuple[str, str | None]:
    """What `_FileIngest._handle` makes of a line without the fast path: its events, or (reason, field)."""
    try:
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return ("not valid JSON", None)
        return canonical.normalize(obj, "auto", [])
    except LineRejected as exc:
        return (exc.reason, exc.field)


def _typed(ev: Any) -> list[tuple[type, Any]]:
    """An event's values with their types: 1 == True and 1 == 1.0, which an equal NamedTuple would hide."""
    return [(type(v), v) for v in ev]


def _assert_same(raw: bytes) -> canonical.NormalizedEvent | None:
    fast = canonical.decode_common(raw)
    whole = _whole_way(raw)
    if fast is not None:
        assert isinstance(whole, list) and len(whole) == 1, (raw, whole)
        assert _typed(fast) == _typed(whole[0]), (raw, fast, whole)
        assert type(fast) is canonical.NormalizedEvent
    return fast


# -- raw JSON text of values, including spellings two decoders could read differently --

STRINGS = [
    "acme",
    "  acme ",
    "",
    " ",
    "Caf\u00e9 \u5ba2\u6237",
    "\U0001f600",
    "x" * 64,
    "x" * 65,
    "x" * 128,
    "x" * 129,
    "\u00e9" * 512,
    "\u00e9" * 513,
    "\u2003pad\u00a0",
    "OpenAI",
    "gpt-4o-mini",
    "tab\tin",
]
RAW_STRINGS = [
    b'"a\\u0000b"',  # an escaped NUL
    b'"\\u0000"',
    b'"a\\\\u0000"',  # an escaped backslash, then the text u0000: no NUL
    b'"\\ud800"',  # a lone high surrogate
    b'"\\udfff x"',
    b'"\\ud83d\\ude00"',  # a surrogate pair
    b'"\\u00e9\\n\\"q\\""',
    b'"\\/slash"',
    b'"bad \\x41"',
    b'"\xc3\xa9 utf-8"',
    b'"\xff not utf-8"',
    b'"\xed\xa0\x80"',  # an encoded surrogate
    b'"ctrl \x01"',
    b'"\\u001f"',
    b'"\x7f del"',
    b'"unterminated',
]
INTS = [0, 1, 5, 570, 1024, 10**12, 10**12 + 1, 2**63, 2**64 + 1, 10**30, -1]
RAW_NUMBERS = [b"10.0", b"1e2", b"1E2", b"-0", b"-0.0", b"0.5", b"1e400", b"NaN", b"Infinity", b"01", b"1.", b"true"]
STAMPS = [
    "2026-08-01T00:00:00.639Z",
    "2026-08-01T00:00:00Z",
    "2026-08-01T09:00:00+09:00",
    "2026-08-01T00:00:00.123456789Z",
    "2026-08-01 00:00:00",
    "2026-08-01",
    "20260801T000000Z",
    "2026-08-01T00:00:00z",
    " 2026-08-01T00:00:00Z",
    "1999-12-31T23:59:59Z",
    "2000-01-01T00:00:00Z",
    "2099-12-31T23:59:59.999Z",
    "2100-01-01T00:00:00Z",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00",
    "not a date",
    "",
]


def _dump(value: Any) -> bytes:
    return orjson.dumps(value)


json_strings = st.one_of(
    st.sampled_from(STRINGS).map(_dump),
    st.text(max_size=12).map(_dump),
    st.sampled_from(RAW_STRINGS),
)
json_ints = st.one_of(st.integers(0, 3000), st.sampled_from(INTS), st.integers()).map(lambda n: str(n).encode())
json_tokens = st.one_of(json_ints, json_ints, st.sampled_from(RAW_NUMBERS), st.just(b"null"), st.just(b'"5"'))
json_stamps = st.one_of(
    st.sampled_from(STAMPS).map(_dump),
    st.datetimes(timezones=st.one_of(st.none(), st.timezones())).map(lambda d: _dump(d.isoformat())),
    st.sampled_from([b"1785542400", b"1785542400777.0", b"null", b"true"]),
)
json_texts = st.one_of(json_strings, json_strings, json_strings, st.just(b"null"), json_ints, st.just(b"{}"))

TEXT_KEYS = ["customer_id", "event_type", "vendor", "segment", "request_id"]
TOKEN_KEYS = list(canonical.TOKEN_FIELDS)
ODD_KEYS = [  # keys the fast path must leave to the whole way
    "response_id",
    "feature",
    "provider",
    "customerId",
    "inputTokens",
    "revenue_amount_in_cents",
    "cost_usd",
    "service_tier",
    "units",
    "tags",
    "currency",
    "input_audio_tokens",
    "Model",
    "x",
]
ODD_VALUES = st.sampled_from([b"1", b'"batch"', b'{"images": 2}', b'{"a": "b"}', b'"1.10"', b"null", b'"usd"', b"0"])


GOOD_STAMPS = [s for s in STAMPS if s.startswith("20") and not s.startswith("2100")]
good_texts = st.one_of(st.sampled_from(STRINGS), st.text(max_size=12)).map(_dump)
good_stamps = st.one_of(
    st.sampled_from(GOOD_STAMPS),
    st.datetimes(
        min_value=datetime(2000, 1, 2), max_value=datetime(2099, 12, 30), timezones=st.one_of(st.none(), st.timezones())
    ).map(lambda d: d.isoformat()),
).map(_dump)


@st.composite
def lines(draw: st.DrawFn) -> bytes:
    """A raw JSONL line: a canonical call, half of the time well-formed but for at most one twist, spelled in ways
    the two decoders could read differently."""
    clean = draw(st.booleans())
    pairs: list[tuple[bytes, bytes]] = []
    if clean or draw(st.integers(0, 9)):
        pairs.append((b"timestamp", draw(good_stamps if clean else json_stamps)))
    if clean or draw(st.integers(0, 9)):
        model = st.sampled_from(["gpt-4o-mini", "", " ", "\u2003", " o3 "]).map(_dump)
        pairs.append((b"model", draw(st.one_of(model, good_texts) if clean else st.one_of(model, json_texts))))
    for key in TEXT_KEYS:
        if draw(st.booleans()):
            pairs.append((key.encode(), draw(st.one_of(good_texts, st.just(b"null")) if clean else json_texts)))
    if clean:  # token counts that mostly keep the invariant (parts within their wholes)
        inp, out = draw(st.integers(0, 10**6)), draw(st.integers(0, 10**4))
        cached = draw(st.integers(0, inp))
        cw = draw(st.integers(0, inp - cached))
        counts = [inp, out, cached, cw, draw(st.integers(0, cw + 1)), draw(st.integers(0, out + 1))]
        pairs += [(k.encode(), str(n).encode()) for k, n in zip(TOKEN_KEYS, counts) if n or draw(st.booleans())]
    else:
        for key in TOKEN_KEYS:
            if draw(st.booleans()):
                pairs.append((key.encode(), draw(json_tokens)))
    twist = draw(st.integers(0, 12)) if clean else draw(st.sampled_from([1, 2, 3, 4, 5, 6]))
    if twist == 1 and pairs:  # one value replaced by one a decoder could read differently
        i = draw(st.integers(0, len(pairs) - 1))
        pairs[i] = (pairs[i][0], draw(st.one_of(json_tokens, json_texts, json_stamps)))
    if twist == 2:
        pairs.append((draw(st.sampled_from(ODD_KEYS)).encode(), draw(ODD_VALUES)))
    pairs = draw(st.permutations(pairs))
    if twist == 3 and pairs:  # a key again, with another value: the last one wins in both
        key, _ = draw(st.sampled_from(pairs))
        pairs.append((key, draw(st.one_of(json_texts, json_tokens, good_texts))))
    if twist == 4 and pairs:  # a key spelled with an escape ("\u006dodel" is "model")
        i = draw(st.integers(0, len(pairs) - 1))
        key, value = pairs[i]
        pairs[i] = (b"\\u%04x" % key[0] + key[1:], value)
    sep = draw(st.sampled_from([b",", b", ", b" ,\r\n\t"]))
    colon = draw(st.sampled_from([b":", b" : "]))
    body = sep.join(b'"' + k + b'"' + colon + v for k, v in pairs)
    text = draw(st.sampled_from([b"", b" ", b"\t"])) + b"{" + body + b"}" + draw(st.sampled_from([b"", b"  ", b"\r"]))
    if twist == 5 and text:  # a byte cut, added or changed anywhere
        i = draw(st.integers(0, len(text) - 1))
        text = text[:i] + draw(st.binary(max_size=2)) + text[i + 1 :]
    elif twist == 6:
        text = (
            draw(st.sampled_from([b"[", b"", b"\xef\xbb\xbf", b"{}"]))
            + text
            + draw(st.sampled_from([b"", b"x", b"{}"]))
        )
    return text


@seed(SEED)
@settings(max_examples=4000, deadline=None)
@given(lines())
def test_the_fast_path_gives_what_the_whole_way_gives(raw: bytes) -> None:
    note(f"MARGINDASH_TEST_SEED={SEED}")
    event("fast path" if _assert_same(raw) is not None else "declined")


@seed(SEED)
@settings(max_examples=1000, deadline=None)
@given(
    st.fixed_dictionaries(
        {"timestamp": st.sampled_from(STAMPS[:4]), "model": st.sampled_from(["gpt-4o", " claude-x "])},
        optional={
            **{k: st.one_of(st.none(), st.text(max_size=10)) for k in TEXT_KEYS},
            **{k: st.integers(0, 5000) for k in TOKEN_KEYS},
        },
    )
)
def test_well_formed_calls_take_the_fast_path_when_the_whole_way_accepts_them(line: dict) -> None:
    note(f"MARGINDASH_TEST_SEED={SEED}")
    raw = orjson.dumps(line)
    fast = _assert_same(raw)
    whole = _whole_way(raw)
    has_nul = any("\x00" in v for v in line.values() if isinstance(v, str))
    if isinstance(whole, list) and not has_nul:
        assert fast is not None, raw  # the common call is not left to the whole way: the fast path is used


def test_the_benchmark_line_takes_the_fast_path() -> None:
    raw = (
        b'{"timestamp":"2026-08-01T00:00:00.639Z","customer_id":"cus_00000","event_type":"chat","segment":"free",'
        b'"request_id":"0822e8f36c031199972a846916419f82","vendor":"OpenAI","model":"gpt-4o-mini",'
        b'"input_tokens":570,"output_tokens":33,"cached_input_tokens":0}'
    )
    ev = _assert_same(raw)
    assert ev is not None
    assert (ev.ts_ms, ev.vendor, ev.customer_id, ev.dedupe_id, ev.input_tokens) == (
        1785542400639,
        "openai",
        "cus_00000",
        "0822e8f36c031199972a846916419f82",
        570,
    )


def test_lines_in_doubt_are_declined() -> None:
    base = b'"timestamp":"2026-08-01T00:00:00Z","model":"gpt-4o","input_tokens":'
    for tail in (
        b"10.0}",
        b"true}",
        b"null}",
        b"-1}",
        b"1000000000001}",
        b'5,"units":{"images":1}}',
        b'5,"feature":"x"}',
    ):
        assert canonical.decode_common(b"{" + base + tail) is None, tail
    assert canonical.decode_common(b'{"timestamp":"2026-08-01T00:00:00Z","model":"a\\u0000","input_tokens":5}') is None
    assert canonical.decode_common(b'{"timestamp":1785542400,"model":"gpt-4o","input_tokens":5}') is None
    assert canonical.decode_common(b'{"timestamp":"2026-08-01T00:00:00Z","model":"  ","input_tokens":5}') is None
