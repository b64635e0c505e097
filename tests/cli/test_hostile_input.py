"""Hostile input: every parser gets random and mutated lines (property-based, hypothesis); each line is stored
as a valid call or quarantined with a reason, never a crash. Huge lines, a truncated .gz, and store files that
are not margindash stores (random bytes, damaged pages, another application's database, a newer version)."""

from __future__ import annotations

import copy
import gzip
import hashlib
import json
import os
import random
import shutil
import sqlite3
import tempfile
from pathlib import Path

import orjson
import pytest
from conftest import request_id_of
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from invariants import rollup_mismatches

from margindash_cli.core.money import MAX_CALL_PICO
from margindash_cli.errors import LineRejected
from margindash_cli.ingest import canonical
from margindash_cli.ingest.canonical import MAX_TS_MS, MIN_TS_MS, NormalizedEvent
from margindash_cli.ingest.pipeline import ingest_paths
from margindash_cli.pricing.run import ensure_catalog, load_pricer
from margindash_cli.store.db import Store

FIXTURES = Path(__file__).parent.parent / "fixtures"
FORMATS = [
    "auto",
    "events",
    "openai",
    "openai-batch",
    "anthropic",
    "gemini",
    "bedrock",
    "litellm",
    "langfuse",
    "claude-code",
]


def seed_lines() -> list[dict]:
    """Realistic lines of every format: canonical events, app lines wrapping each provider's real responses,
    and the whole-line formats' real lines (LiteLLM, Langfuse, OpenAI Batch, Claude Code)."""
    app = {"timestamp": "2026-10-01T12:00:00Z", "customer_id": "acme", "event_type": "chat", "request_id": "req-1"}
    out = [
        dict(
            app,
            vendor="openai",
            model="gpt-4o",
            input_tokens=120,
            cached_input_tokens=20,
            output_tokens=30,
            reasoning_tokens=5,
            revenue_amount_in_cents=12,
            cost_usd="0.001",
            units={"images": 1},
            tags={"plan": "pro"},
            service_tier="batch",
            segment="smb",
        )
    ]
    for folder in ("openai/chat", "openai/responses", "anthropic", "gemini", "bedrock"):
        for f in sorted((FIXTURES / folder).glob("*.json")):
            body = orjson.loads(f.read_bytes())
            if isinstance(body, dict) and ("usage" in body or "usageMetadata" in body):
                out.append(dict(app, response=body))
    out.append(orjson.loads((FIXTURES / "litellm" / "spend_logs_payload.json").read_bytes()))
    out.append(orjson.loads((FIXTURES / "litellm" / "example_standard_logging_payload.json").read_bytes()))
    out.extend(
        orjson.loads((FIXTURES / "langfuse" / "langfuse_docs_observations_v2_sample_response.json").read_bytes())[
            "data"
        ]
    )
    for f in [
        FIXTURES / "openai_batch" / "batch_output_example.jsonl",
        *sorted((FIXTURES / "claude_code").rglob("*.jsonl")),
    ]:
        for raw in f.read_bytes().splitlines()[:40]:
            try:
                obj = orjson.loads(raw)
            except orjson.JSONDecodeError:
                continue
            if isinstance(obj, dict):
                out.append(obj)
    return out


SEEDS = seed_lines()

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**64 - 1) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=12,
)
HOSTILE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.sampled_from(
        [
            2**53 + 1,
            10**12,
            10**12 - 1,
            10**12 + 1,
            10**13 + 1,
            999_999,
            10**6 + 0.5,
            -1,
            0,
            10**30,
            253402300799,
            253402300799000,
            -86400,
        ]
    ),
    st.floats(allow_nan=False, allow_infinity=False),  # JSON has no NaN: the byte-level test sends those literals
    st.text(max_size=30),
    st.sampled_from(
        [
            "9999-12-31T23:59:59Z",
            "1969-12-31T23:59:59Z",
            "0001-01-01T00:00:00",
            "2026-02-30T00:00:00Z",
            "2026-10-01T25:00:00Z",
            "1e309",
            "-0",
            "NaN",
            "Infinity",
            "\x00",
            "a\x00b",
            "\ufeff2026-10-01",
            "x" * 600,
            "gpt-4o\x00",
            "USD",
            "usdollars",
            "1.5",
            "12.0",
        ]
    ),
    JSON_VALUES,
)


def all_paths(obj, prefix=()):
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from all_paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from all_paths(v, (*prefix, i))


def mutate(obj, mutations):
    """Each mutation sets the value at one path of the object (picked by index), or drops that key."""
    obj = copy.deepcopy(obj)
    for pick, value, drop in mutations:
        paths = list(all_paths(obj))
        path = paths[pick % len(paths)]
        if not path:
            obj = value
            continue
        parent = obj
        for k in path[:-1]:
            parent = parent[k]
        if drop and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = value
    return obj


MUTATIONS = st.lists(st.tuples(st.integers(min_value=0, max_value=10**6), HOSTILE, st.booleans()), max_size=4)


def assert_valid(ev: NormalizedEvent) -> None:
    """The canonical invariant every stored call satisfies."""
    tokens = (
        ev.input_tokens,
        ev.output_tokens,
        ev.cached_input_tokens,
        ev.cache_write_tokens,
        ev.cache_write_1h_tokens,
        ev.reasoning_tokens,
    )
    assert all(type(t) is int and 0 <= t <= 10**12 for t in tokens)
    assert ev.cached_input_tokens + ev.cache_write_tokens <= ev.input_tokens
    assert ev.cache_write_1h_tokens <= ev.cache_write_tokens and ev.reasoning_tokens <= ev.output_tokens
    assert MIN_TS_MS <= ev.ts_ms < MAX_TS_MS
    assert isinstance(ev.model, str) and 0 < len(ev.model) <= 512 and "\x00" not in ev.model
    for text in (ev.customer_id, ev.event_type, ev.vendor, ev.segment, ev.dedupe_id):
        assert text is None or (isinstance(text, str) and "\x00" not in text and len(text) <= 512)
    assert ev.currency is None or (len(ev.currency) == 3 and ev.currency.isalpha())
    assert ev.revenue_minor is None or (type(ev.revenue_minor) is int and abs(ev.revenue_minor) <= 10**13)


@settings(max_examples=500, deadline=None)
@given(seed=st.sampled_from(SEEDS), mutations=MUTATIONS, fmt=st.sampled_from(FORMATS))
def test_every_parser_returns_valid_calls_or_a_reason_for_mutated_lines(seed, mutations, fmt):
    line = mutate(seed, mutations)
    try:
        events = canonical.normalize(line, fmt, [])
    except LineRejected as exc:
        assert exc.reason
        return
    for ev in events:
        assert_valid(ev)


@settings(max_examples=300, deadline=None)
@given(
    line=st.dictionaries(
        st.sampled_from(
            [
                *canonical.APP_FIELDS,
                "response",
                "usage",
                "model",
                "message",
                "type",
                "usageMetadata",
                "custom_id",
                "spend",
                "startTime",
            ]
        ),
        HOSTILE,
        max_size=10,
    ),
    fmt=st.sampled_from(FORMATS),
)
def test_every_parser_survives_random_objects(line, fmt):
    try:
        events = canonical.normalize(line, fmt, [])
    except LineRejected as exc:
        assert exc.reason
        return
    for ev in events:
        assert_valid(ev)


# ---- whole files, byte by byte -------------------------------------------------------------------------


@st.composite
def hostile_line(draw) -> bytes:
    obj = mutate(
        draw(st.sampled_from(SEEDS)),
        draw(st.lists(st.tuples(st.integers(0, 10**6), HOSTILE, st.booleans()), max_size=2)),
    )
    try:
        raw = orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS) if draw(st.booleans()) else json.dumps(obj).encode()
    except TypeError:  # orjson writes no integer past 64 bits; the standard library does
        raw = json.dumps(obj).encode()
    kind = draw(
        st.sampled_from(
            [
                "as is",
                "as is",
                "bom",
                "crlf",
                "nul",
                "bad utf-8",
                "truncated",
                "nan",
                "infinity",
                "huge number",
                "year 9999",
                "before 1970",
                "deep",
                "blank",
            ]
        )
    )
    at = draw(st.integers(0, max(0, len(raw) - 1)))
    if kind == "bom":
        return b"\xef\xbb\xbf" + raw
    if kind == "crlf":
        return raw + b"\r"
    if kind == "nul":
        return raw[:at] + b"\x00" + raw[at:]
    if kind == "bad utf-8":
        return raw[:at] + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80"])) + raw[at:]
    if kind == "truncated":
        return raw[:at]
    if kind in ("nan", "infinity", "huge number"):
        literal = {"nan": b"NaN", "infinity": b"-Infinity", "huge number": b"1" + b"0" * 400}[kind]
        return raw.replace(b": 1", b": " + literal, 1).replace(b":1", b":" + literal, 1)
    if kind == "year 9999":
        return raw.replace(b"2026-", b"9999-", 1)
    if kind == "before 1970":
        return raw.replace(b"2026-", b"1969-", 1)
    if kind == "deep":
        return b'{"model": "m", "x": ' + b"[" * 3000 + b"]" * 3000 + b"}"
    if kind == "blank":
        return b"   "
    return raw


def expected_outcome(lines: list[bytes], pricer) -> tuple[set[int], int]:
    """Independently of the pipeline: the line numbers that must be rejected, and how many calls the rest hold
    (a call that would cost more than $9M, a corrupt token count on a priced model, is rejected too)."""
    rejected, calls = set(), 0
    for n, raw in enumerate(lines, 1):
        text = raw[:-1] if raw.endswith(b"\r") else raw
        if n == 1 and text.startswith(b"\xef\xbb\xbf"):
            text = text[3:]
        if not text.strip():
            continue
        try:
            events = canonical.normalize(orjson.loads(text), "auto", [])
        except (LineRejected, orjson.JSONDecodeError, RecursionError):
            rejected.add(n)
            continue
        costly = [ev for ev in events if (pricer.price(ev)[0] or 0) > MAX_CALL_PICO]
        rejected.update({n} if costly else set())
        calls += len(events) - len(costly)
    return rejected, calls


@pytest.fixture(scope="module")
def priced_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("template") / "template.db"
    with Store.open(path) as store:
        ensure_catalog(store)
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)
@given(lines=st.lists(hostile_line(), min_size=1, max_size=10), gz=st.booleans())
def test_ingest_stores_or_quarantines_every_hostile_line(priced_template, lines, gz):
    lines = [raw.replace(b"\n", b" ") for raw in lines]  # one line each (a raw newline would make two)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ("log.jsonl.gz" if gz else "log.jsonl")
        data = b"\n".join(lines) + b"\n"
        path.write_bytes(gzip.compress(data) if gz else data)
        shutil.copy(priced_template, Path(tmp) / "s.db")
        with Store.open(Path(tmp) / "s.db") as store:
            pricer = load_pricer(store)
            result = ingest_paths(store, [str(path)], quarantine_path=Path(tmp) / "q.jsonl", pricer=pricer)
            assert result.errors == []
            records = (
                [orjson.loads(r) for r in (Path(tmp) / "q.jsonl").read_bytes().splitlines()] if result.rejected else []
            )
            must_reject, calls = expected_outcome(lines, pricer)
            assert {r["line"] for r in records} == must_reject and result.rejected == len(records)
            assert all(-(2**63) <= c < 2**63 for (c,) in store.conn.execute("SELECT coalesce(cost, 0) FROM events"))
            assert all(r["reason"] and r["file"] == str(path) and ("raw" in r) for r in records)
            assert result.events_stored + result.duplicates == calls
            stored_lines = {r[0] for r in store.conn.execute("SELECT DISTINCT line FROM events")}
            assert not stored_lines & must_reject
            assert rollup_mismatches(store.conn) == []


def test_ten_megabyte_lines_are_stored_or_quarantined(tmp_path, cli):
    ok = {
        "timestamp": "2026-10-01T00:00:00Z",
        "vendor": "openai",
        "model": "gpt-4o",
        "input_tokens": 10,
        "output_tokens": 1,
    }
    big = 10 << 20
    lines = [
        json.dumps(dict(ok, request_id="prompt", prompt="x" * big)),  # a huge field we never store: the call is kept
        json.dumps(dict(ok, request_id="customer", customer_id="c" * big)),  # a huge value we would store: rejected
        json.dumps(dict(ok, request_id="model", model="m" * big)),
        "z" * big,  # not JSON at all
        json.dumps(dict(ok, request_id="after")),
    ]
    log = tmp_path / "big.jsonl"
    log.write_text("\n".join(lines) + "\n")
    result = cli("ingest", log, "--json")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["lines_read"], summary["events_stored"], summary["rejected"]) == (5, 2, 3)
    reasons = {
        json.loads(r)["line"]: json.loads(r)["reason"] for r in Path(summary["quarantine"]).read_text().splitlines()
    }
    assert reasons[2] == "longer than 512 characters" and reasons[3] == "longer than 512 characters"
    assert reasons[4].startswith("not valid JSON")
    events = json.loads(cli("events", "--json", "--limit", "0").stdout)
    assert sorted(request_id_of(e) for e in events) == ["after", "prompt"]  # each call's id, from its line of the log


def test_a_truncated_gzip_is_reported_and_what_was_read_is_kept(tmp_path, cli):
    lines = [
        json.dumps(
            {
                "timestamp": "2026-10-01T00:00:00Z",
                "vendor": "openai",
                "model": "gpt-4o",
                "input_tokens": 10 + i,
                "output_tokens": 1,
                "request_id": f"r{i}",
                "note": os.urandom(64).hex(),
            }
        )
        for i in range(20000)
    ]
    full = gzip.compress(("\n".join(lines) + "\n").encode())
    gz = tmp_path / "rotated.jsonl.gz"
    gz.write_bytes(full[: len(full) // 2])  # the copy was cut off half-way
    result = cli("ingest", gz, "--json")
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    summary = json.loads(result.stdout)
    error = summary["files"][0]["error"]
    assert "truncated or corrupt gzip" in error and "the lines before it were kept" in error
    kept = summary["events_stored"]
    assert 1000 < kept < 20000 and summary["rejected"] <= 1  # at most the one line cut in the middle
    again = cli("ingest", gz, "--json")  # reported again on the next run, and nothing counted twice
    assert again.exit_code == 1 and json.loads(again.stdout)["events_stored"] == 0
    gz.write_bytes(full)  # the complete file arrives: the rest is read, the first half is not counted again
    done = cli("ingest", gz, "--json")
    assert done.exit_code == 0 and json.loads(done.stdout)["events_stored"] == 20000 - kept
    assert len(json.loads(cli("events", "--json", "--limit", "0").stdout)) == 20000


# ---- store files that are not (or no longer) margindash stores --------------------------------------------


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_store(cli, tmp_path: Path, name: str) -> Path:
    db = tmp_path / name
    log = tmp_path / "usage.jsonl"
    with open(log, "w") as fh:
        for i in range(3000):
            fh.write(
                json.dumps(
                    {
                        "timestamp": f"2026-10-{1 + i % 28:02d}T00:00:00Z",
                        "customer_id": f"c{i % 50}",
                        "vendor": "openai",
                        "model": "gpt-4o",
                        "input_tokens": 10 + i,
                        "output_tokens": 1,
                        "request_id": f"r{i}",
                    }
                )
                + "\n"
            )
    assert cli("--db", db, "ingest", log).exit_code == 0
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("PRAGMA journal_mode = DELETE")  # one file: what a copy or a backup holds
    conn.close()
    return db


def not_a_store(kind: str, cli, tmp_path: Path) -> Path:
    path = tmp_path / f"{kind}.db"
    if kind == "random bytes":
        path.write_bytes(random.Random(1).randbytes(50_000))
    elif kind == "text file":
        path.write_text("customer,amount\nacme,10\n")
    elif kind == "sqlite header, garbage after":
        path.write_bytes(b"SQLite format 3\x00" + random.Random(2).randbytes(40_000))
    elif kind == "another application's database":
        conn = sqlite3.connect(path)
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        conn.execute("INSERT INTO notes (body) VALUES ('keep me')")
        conn.commit()
        conn.close()
    elif kind == "a newer margindash's store":
        path = make_store(cli, tmp_path, path.name)
        conn = sqlite3.connect(path)
        conn.execute(
            "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) VALUES ('margindash', 'm999_future', 'x')"
        )
        conn.commit()
        conn.close()
    return path


COMMANDS = [
    ("ingest", "{log}"),
    ("report", "--json"),
    ("events",),
    ("budget", "check"),
    ("sync-prices", "--source", "{log}"),
    ("reprice",),
    ("prices", "list"),
    ("customers", "list"),
    ("doctor",),
]


@pytest.mark.parametrize(
    "kind",
    [
        "random bytes",
        "text file",
        "sqlite header, garbage after",
        "another application's database",
        "a newer margindash's store",
    ],
)
def test_a_file_that_is_not_a_store_gives_a_clear_error_and_is_never_written(kind, cli, tmp_path):
    path = not_a_store(kind, cli, tmp_path)
    before = digest(path)
    log = tmp_path / "one.jsonl"
    log.write_text(
        json.dumps({"timestamp": "2026-10-01T00:00:00Z", "model": "gpt-4o", "input_tokens": 1, "request_id": "x"})
        + "\n"
    )
    for command in COMMANDS:
        result = cli("--db", path, *[a.format(log=log) for a in command])  # a traceback would raise here
        assert result.exit_code == 1, (command, result.stdout, result.stderr)
        assert result.stderr.startswith("error: ") and "left untouched" in result.stderr, result.stderr
        assert digest(path) == before, f"{command} wrote to {kind}"
    assert not path.with_name(path.name + "-wal").exists()


def test_a_store_with_damaged_pages_gives_a_clear_error_not_a_traceback(cli, tmp_path):
    db = make_store(cli, tmp_path, "damaged.db")
    pages = db.stat().st_size // 4096
    rng = random.Random(3)
    with open(db, "r+b") as fh:  # the schema stays readable (it is in the first pages); the data pages are garbage
        for page in range(int(pages * 0.5), pages, 2):
            fh.seek(page * 4096 + 8)
            fh.write(rng.randbytes(3000))
    # `report --json` over all data reads only the small per-customer monthly rollup (m010, #20), whose pages this
    # damage misses (it answers right); --by model reads the daily cells, which it hits
    for command in [
        ("report", "--by", "model", "--json"),
        ("events", "--limit", "0"),
        ("report", "--tz", "Europe/Paris"),
        ("doctor", "--json"),
    ]:
        result = cli("--db", db, *command)
        assert result.exit_code == 1, (command, result.stdout)
        if command[0] == "doctor":
            checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
            assert checks["integrity"]["status"] == "fail"
        else:
            assert result.stderr.startswith(f"error: the store {db} failed: database disk image is malformed"), (
                result.stderr
            )
            assert "margindash doctor" in result.stderr


def test_implausible_costs_are_quarantined_and_never_block_ingest(cli, tmp_path):
    call = {
        "timestamp": "2026-10-05T00:00:00Z",
        "vendor": "openai",
        "model": "o1-pro",
        "input_tokens": 1000,
        "output_tokens": 10,
    }
    lines = [
        dict(call, request_id="stated", cost_usd="1000000000"),  # a cost the log states: at most $9M for one call
        dict(
            call, request_id="tokens", input_tokens=10**12, output_tokens=10**12 - 1
        ),  # priced: $750M, a corrupt count
        dict(call, request_id="tiny", cost_usd="1e-500"),  # 500 decimal places
        dict(call, request_id="fine"),
    ]
    log = tmp_path / "usage.jsonl"
    log.write_text("".join(json.dumps(e) + "\n" for e in lines))
    for _ in range(2):  # a rejected call never makes the next run fail again
        result = cli("ingest", log, "--json")
        assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["events_stored"] == 0 and summary["lines_read"] == 0  # the second run: nothing new, nothing stuck
    records = [
        json.loads(r)
        for r in Path(summary["quarantine"] or tmp_path / "home" / "margindash.quarantine.jsonl")
        .read_text()
        .splitlines()
    ]
    reasons = {r["line"]: (r["field"], r["reason"]) for r in records}
    assert reasons[1] == ("cost_usd", "must be a finite amount from 0 to 9,000,000, got '1000000000'")
    assert reasons[2][0] == "cost" and "more than $9,000,000" in reasons[2][1]
    assert reasons[3] == ("cost_usd", "more than 30 decimal places: '1e-500'")
    assert [request_id_of(e) for e in json.loads(cli("events", "--json").stdout)] == ["fine"]


def test_a_rollup_cell_past_64_bits_quarantines_the_call_and_stores_the_rest(cli, tmp_path, _isolated_home):
    """#22: the call that would push its rollup cell past 2^63 picodollars is quarantined alone; the good calls of
    its batch and the files after it are stored (it used to fail the batch on every run, blocking everything)."""
    whale = {
        "timestamp": "2026-10-05T00:00:00Z",
        "customer_id": "whale",
        "vendor": "custom",
        "model": "in-house",
        "input_tokens": 0,
        "cost_usd": "999999",
    }  # no tokens: the call costs its cost_usd
    small = {
        "timestamp": "2026-10-05T00:00:00Z",
        "customer_id": "minnow",
        "vendor": "custom",
        "model": "in-house",
        "input_tokens": 0,
        "cost_usd": "0.01",
    }
    lines = [dict(small, request_id=f"s{i}") for i in range(500)] + [dict(whale, request_id=f"r{i}") for i in range(10)]
    lines += [dict(small, request_id=f"t{i}") for i in range(500)]
    log = tmp_path / "a.jsonl"
    log.write_text("".join(json.dumps(c) + "\n" for c in lines))
    later = tmp_path / "b.jsonl"
    later.write_text("".join(json.dumps(dict(small, request_id=f"u{i}")) + "\n" for i in range(6)))
    result = cli("ingest", log, later, "--json")
    assert result.exit_code == 0 and "Traceback" not in result.stderr, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["events_stored"], summary["rejected"]) == (1006 + 9, 1)
    records = [json.loads(x) for x in (_isolated_home / "margindash.quarantine.jsonl").read_text().splitlines()]
    assert [(r["line"], r["field"]) for r in records] == [(510, "cost")] and "2^63 picodollars" in records[0]["reason"]
    conn = sqlite3.connect(_isolated_home / "margindash.db")
    assert conn.execute("SELECT count(*), sum(typeof(cost) = 'integer') FROM rollup_daily").fetchone() == (2, 2)
    assert conn.execute(
        "SELECT events, cost FROM rollup_daily WHERE customer = (SELECT id FROM customers WHERE customer_id = 'whale')"
    ).fetchone() == (9, 9 * 999999 * 10**12)
    assert conn.execute(
        "SELECT sum(events), sum(cost_micro * 1000000 + cost_rest) FROM rollup_customer_daily"
    ).fetchone() == (1015, 9 * 999999 * 10**12 + 1006 * 10**10)
    assert conn.execute("SELECT count(*) FROM events").fetchone() == (1015,)
    again = json.loads(cli("ingest", log, later, "--json").stdout)  # the checkpoint moved past it: not re-quarantined
    assert (again["events_stored"], again["rejected"], again["lines_read"]) == (0, 0, 0)


def test_a_customers_day_past_64_bits_is_stored_and_reported_exactly(cli, tmp_path, _isolated_home):
    """The per-customer rollup sums a customer's models, features and segments: its day may pass 2^63 picodollars
    where no five-dimension cell does. It keeps whole micro-dollars and the rest apart, so it never overflows."""
    log = tmp_path / "usage.jsonl"
    calls = [
        {
            "timestamp": "2026-10-05T00:00:00Z",
            "customer_id": "whale",
            "vendor": "custom",
            "model": f"in-house-{i}",
            "input_tokens": 0,
            "cost_usd": "5000000.000000000001",
            "request_id": f"r{i}",
        }
        for i in range(3)
    ]
    log.write_text("".join(json.dumps(c) + "\n" for c in calls))
    result = cli("ingest", log, "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["events_stored"] == 3
    report = json.loads(
        cli("report", "--by", "customer", "--since", "2026-10-01", "--until", "2026-10-31", "--json").stdout
    )
    (row,) = [r for r in report["rows"] if r["group"]["customer"] == "whale"]
    assert row["cost_usd"] == "15000000.000000000003"
    checks = {c["name"]: c for c in json.loads(cli("doctor", "--json").stdout)["checks"]}
    assert checks["rollups"]["status"] == "ok"
