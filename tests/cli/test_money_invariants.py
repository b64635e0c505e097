"""Money invariants under random data (hypothesis): report rows add up to their totals to the cent for every
grouping; re-pricing and re-pricing back restores every cost exactly; a log ingested in any split (one go,
line by line, random byte chunks, several files) gives identical calls and totals."""

from __future__ import annotations

import json
import random
import shutil
import sqlite3
import tempfile
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from invariants import events as stored_events
from invariants import rollup_mismatches

from margindash_cli.ingest.pipeline import ingest_paths
from margindash_cli.pricing.reprice import reprice
from margindash_cli.pricing.run import ensure_catalog, load_pricer
from margindash_cli.store.db import Store
from margindash_cli.store.schema import event_key

MODELS = [
    ("openai", "gpt-4o"),
    ("openai", "gpt-4o-mini"),
    ("anthropic", "claude-sonnet-4-5"),
    ("google", "gemini-2.5-pro"),
    ("custom", "in-house-llm"),
]  # the last has no price
PROPERTY = settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A store holding the shipped catalog, copied for every example (seeding it each time would dominate)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    with Store.open(path) as store:
        ensure_catalog(store)
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


def fresh(template: Path, folder: Path, name: str = "s.db") -> Path:
    dst = folder / name
    shutil.copy(template, dst)
    return dst


@st.composite
def usage_events(draw, min_size=1, max_size=40):
    n = draw(st.integers(min_size, max_size))
    out = []
    for i in range(n):  # noqa: B007
        vendor, model = draw(st.sampled_from(MODELS))
        inp = draw(
            st.one_of(st.integers(1, 5000), st.integers(1, 2_000_000))
        )  # small calls, and past long-context cliffs
        e = {
            "timestamp": f"2026-{draw(st.integers(9, 10)):02d}-{draw(st.integers(1, 30)):02d}T{draw(st.integers(0, 23)):02d}:"
            f"{draw(st.integers(0, 59)):02d}:00Z",
            "vendor": vendor,
            "model": model,
            "input_tokens": inp,
            "cached_input_tokens": draw(st.integers(0, inp)),
            "output_tokens": draw(st.integers(0, 100_000)),
        }
        e["reasoning_tokens"] = draw(st.integers(0, e["output_tokens"]))
        for field, values in (
            ("customer_id", [None, "acme", "globex", "initech", "umbrella"]),
            ("event_type", [None, "chat", "agent"]),
            ("segment", [None, "smb", "enterprise"]),
            ("service_tier", [None, "batch", "priority"]),
        ):
            value = draw(st.sampled_from(values))
            if value is not None:
                e[field] = value
        if draw(st.booleans()):
            e["revenue_amount_in_cents"] = draw(st.integers(0, 10**7))
            if draw(st.integers(0, 5)) == 0:
                e["currency"] = "eur"
        if draw(st.integers(0, 3)) == 0:
            e["cost_usd"] = str(draw(st.decimals(0, 5, places=draw(st.integers(0, 14)))))
        if draw(st.booleans()):
            e["tags"] = {"plan": draw(st.sampled_from(["free", "pro", "team"]))}
        if draw(st.integers(0, 4)):
            e["request_id"] = f"req-{draw(st.integers(0, n * 2))}"  # ids repeat: duplicates
        out.append(e)
    return out


def write_log(path: Path, events: list[dict], crlf: bool = False) -> bytes:
    data = "".join(json.dumps(e) + ("\r\n" if crlf else "\n") for e in events).encode()
    path.write_bytes(data)
    return data


def ingest(db: Path, paths: list[Path]) -> None:
    with Store.open(db) as store:
        r = ingest_paths(
            store, [str(p) for p in paths], quarantine_path=db.with_suffix(".q.jsonl"), pricer=load_pricer(store)
        )
        assert r.errors == [] and r.rejected == 0


# ---- rows add up to totals ----------------------------------------------------------------------------

GROUPINGS = [
    ["customer"],
    ["feature"],
    ["model"],
    ["vendor"],
    ["segment"],
    ["tag:plan"],
    ["day"],
    ["week"],
    ["month"],
    ["customer", "feature"],
    ["customer", "model"],
    ["feature", "month"],
]
MONEY = ("cost_usd", "revenue_usd", "margin_usd")


def assert_adds_up(data: dict, what: str) -> None:
    rows, totals = data["rows"], data["totals"]
    assert sum(r["events"] for r in rows) == totals["events"], what
    assert sum(r["unpriced_events"] for r in rows) == totals["unpriced_events"], what
    for m in MONEY:
        # a row whose every call is unpriced has a null cost and margin (unknown, never 0); the total's margin, marked
        # partly unpriced, still counts that row's revenue (with its cost left out, as for every unpriced call)
        if totals[m] is None:  # every call in range unpriced: the total's cost and margin are unknown too
            assert all(r[m] is None for r in rows if r["events"]), (what, m)
            continue
        known = (
            Decimal(r[m]) if r[m] is not None else Decimal(r["revenue_usd"]) if m == "margin_usd" else Decimal(0)
            for r in rows
        )
        assert sum(known, Decimal(0)) == Decimal(totals[m] or 0), (what, m)
    if totals["cost_usd"] is not None:
        assert Decimal(totals["revenue_usd"]) - Decimal(totals["cost_usd"]) == Decimal(totals["margin_usd"]), what


EXTRAS = [
    ["--allocate", "tokens"],
    ["--allocate", "cost"],
    ["--tz", "America/New_York"],
    ["--tz", "Asia/Kolkata"],
    ["--top", "2"],
    ["--period", "2026-10"],
    ["--since", "2026-09-10", "--until", "2026-10-05", "--tz", "Europe/Paris"],
]


@PROPERTY
@given(
    events=usage_events(),
    revenue=st.lists(
        st.tuples(
            st.sampled_from(["acme", "globex", "initech", "nobody"]),
            st.decimals(0, 10**5, places=2),
            st.integers(1, 30),
        ),
        max_size=6,
    ),
    extra=st.sampled_from(EXTRAS),
)
def test_report_rows_add_up_to_the_totals_for_every_grouping(template, cli, events, revenue, extra):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        db = fresh(template, folder)
        log = folder / "usage.jsonl"
        write_log(log, events)
        ingest(db, [log])
        if revenue:
            csv = folder / "revenue.csv"
            csv.write_text(
                "customer_id,amount,currency,date\n" + "".join(f"{c},{a},usd,2026-09-{d:02d}\n" for c, a, d in revenue)
            )
            assert cli("--db", db, "revenue", "import", csv).exit_code == 0
        for by in GROUPINGS:
            for options in ([], extra):
                args = ["--db", db, "report", "--json", *[x for g in by for x in ("--by", g)], *options]
                result = cli(*args)
                assert result.exit_code == 0, (args, result.stderr)
                data = json.loads(result.stdout)
                if data.get("rows"):
                    assert_adds_up(data, " ".join(map(str, args[2:])))
        breakdown = json.loads(cli("--db", db, "report", "--json", "--by", "customer", "--breakdown", "model").stdout)
        if breakdown.get("rows"):
            assert_adds_up(breakdown, "--breakdown model")


# ---- re-pricing there and back ------------------------------------------------------------------------


class RandomPricer:
    """Any cost at all, chosen per call: re-pricing must move the rollups with whatever it writes."""

    def __init__(self, seed: int):
        self.seed = seed

    def price(self, ev) -> tuple[int | None, int | None]:
        rng = random.Random(hash((self.seed, ev.ts_ms, ev.model, ev.input_tokens, ev.output_tokens)))
        roll = rng.random()
        if roll < 0.15:
            return None, None
        return rng.randrange(0, 10**15), rng.randrange(1, 10**6)


# A customer's day keeps its cost as whole micro-dollars plus the rest; only their sum is the cost (a reprice may
# leave 4 micro-dollars + 1,000,000 picodollars where there were 5 + 0), so the cost is compared whole.
CUSTOMER_ROLLUPS = (
    "SELECT customer, day, events, input_tokens, output_tokens, cached_input_tokens, cache_write_tokens,"
    " reasoning_tokens, cost_micro * 1000000 + cost_rest, unpriced_events, revenue_usd_cents"
    " FROM rollup_customer_daily ORDER BY 1, 2"
)


@PROPERTY
@given(
    events=usage_events(),
    seed=st.integers(0, 2**32),
    rate=st.decimals("0.001", "100", places=3),
    effective=st.sampled_from([None, "2026-09-15", "2026-10-01"]),
)
def test_repricing_then_repricing_back_restores_every_cost_exactly(template, cli, events, seed, rate, effective):
    with tempfile.TemporaryDirectory() as tmp:
        db = fresh(template, Path(tmp))
        log = Path(tmp) / "usage.jsonl"
        write_log(log, events)
        ingest(db, [log])
        conn = sqlite3.connect(db)
        original = stored_events(conn)
        rollups = conn.execute("SELECT * FROM rollup_daily ORDER BY 1, 2, 3, 4, 5").fetchall()
        customer_rollups = conn.execute(CUSTOMER_ROLLUPS).fetchall()

        with Store.open(db) as store:  # to arbitrary costs, and back with the real prices
            reprice(store, RandomPricer(seed))
            assert rollup_mismatches(store.conn) == []
            reprice(store, load_pricer(store))
        assert stored_events(conn) == original
        assert conn.execute("SELECT * FROM rollup_daily ORDER BY 1, 2, 3, 4, 5").fetchall() == rollups
        assert conn.execute(CUSTOMER_ROLLUPS).fetchall() == customer_rollups

        price = ["prices", "set", "openai/gpt-4o", "--input", str(rate), "--output", str(rate * 4)]
        assert cli("--db", db, *price, *(["--effective-from", effective] if effective else [])).exit_code == 0
        assert cli("--db", db, "reprice").exit_code == 0  # a negotiated price...
        assert rollup_mismatches(conn) == []
        conn.execute("DELETE FROM prices WHERE source = 'user'")  # ...withdrawn
        conn.commit()
        assert cli("--db", db, "reprice").exit_code == 0
        assert stored_events(conn) == original
        assert conn.execute("SELECT * FROM rollup_daily ORDER BY 1, 2, 3, 4, 5").fetchall() == rollups
        assert conn.execute(CUSTOMER_ROLLUPS).fetchall() == customer_rollups
        conn.close()


# ---- any split of the input ---------------------------------------------------------------------------


def calls(db: Path, request_ids: list[str]) -> tuple[list, dict]:
    """The stored calls as a multiset (without line numbers, and without the keys of calls with no request id,
    which depend on the files), and the totals. A call keyed by one of `request_ids` shows that id; the store
    keeps only the id's key, so the id is found by its key."""
    by_key = {event_key("r:" + rid): rid for rid in request_ids}
    conn = sqlite3.connect(db)
    try:
        assert rollup_mismatches(conn) == []
        rows = sorted(
            (
                (by_key.get(key), *rest)
                for key, *rest in conn.execute(
                    "SELECT k.key, ts, c.customer_id, f.name, m.vendor, m.model, s.name, input_tokens, output_tokens,"
                    " cached_input_tokens, reasoning_tokens, service_tier, revenue_minor, currency, extra_cost, tags, cost, price_id"
                    " FROM event_keys k JOIN events_wide e ON e.id = k.id JOIN models m ON m.id = e.model"
                    " LEFT JOIN customers c ON c.id = e.customer LEFT JOIN features f ON f.id = e.feature"
                    " LEFT JOIN segments s ON s.id = e.segment"
                )
            ),
            key=repr,
        )
        totals = conn.execute(
            "SELECT sum(events), sum(input_tokens), sum(output_tokens), sum(cost), sum(unpriced_events),"
            " sum(revenue_usd_cents) FROM rollup_daily"
        ).fetchone()
        return rows, totals
    finally:
        conn.close()


@PROPERTY
@given(
    events=usage_events(max_size=25),
    cuts=st.lists(st.floats(0, 1), max_size=8),
    files=st.integers(2, 4),
    crlf=st.booleans(),
)
def test_any_split_of_the_input_gives_identical_calls_and_totals(template, events, cuts, files, crlf):
    # A file is known by its first line (so a rotated file is recognised under its new name): files whose first
    # lines are byte-identical are one file to ingest, and calls without an id in them are keyed alike. Real logs
    # differ line by line (a clock, a trace id); so do these.
    # A repeated request id is the same call logged again (a retry of the log write, an overlapping export): the
    # same content. (Two different calls under one id are one call to us: whichever is read first wins.)
    first: dict[str, dict] = {}
    events = [first.setdefault(e["request_id"], e) if "request_id" in e else e for e in events]
    events = [dict(e, trace=f"t{i}") for i, e in enumerate(events)]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        log = folder / "whole.jsonl"
        data = write_log(log, events, crlf)
        one_go = fresh(template, folder, "one.db")
        ingest(one_go, [log])
        request_ids = sorted({e["request_id"] for e in events if "request_id" in e})
        expected = calls(one_go, request_ids)
        assert sum(r[0] is not None for r in expected[0]) == len(request_ids)  # each id's call, once

        by_line = fresh(template, folder, "by_line.db")  # the app appends one line per run
        growing = folder / "growing.jsonl"
        growing.write_bytes(b"")
        for raw in data.splitlines(keepends=True):
            with open(growing, "ab") as fh:
                fh.write(raw)
            ingest(by_line, [growing])
        assert calls(by_line, request_ids) == expected

        chunks = fresh(template, folder, "chunks.db")  # writes cut anywhere, mid-line included
        growing = folder / "chunked.jsonl"
        growing.write_bytes(b"")
        points = sorted({int(c * len(data)) for c in cuts} | {len(data)})
        start = 0
        for end in points:
            with open(growing, "ab") as fh:
                fh.write(data[start:end])
            start = end
            ingest(chunks, [growing])
        assert calls(chunks, request_ids) == expected

        several = fresh(template, folder, "several.db")  # rotated into several files, read in one run
        lines = data.splitlines(keepends=True)
        parts = []
        for k in range(files):
            part = folder / f"part-{k}.jsonl"
            part.write_bytes(b"".join(lines[k::files]))
            parts.append(part)
        ingest(several, parts)
        assert calls(several, request_ids) == expected
