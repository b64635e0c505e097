"""#20: the statements on the hot paths keep their plans. The dedupe of a batch against the store looks each staged
key up in `event_keys` (a key lookup), never scans `event_keys`: a scan costs time proportional to the store on
every batch of every cron run."""

from __future__ import annotations

import pytest

from margindash_cli.store import DEDUPE_STAGING, Store, event_key

T0 = 1_790_000_000_000


def _rows(store, keys):
    model = store.model_id("openai", "gpt-4o")
    customer = store.dim_id("customers", "c1")
    return [(event_key(f"r:{k}"), T0 + k * 1000, customer, 0, model, 0, 10, 1, 0, 0, 0, None, None, None, k, None)
            for k in keys]  # fmt: skip


def _plan(store):
    return [r[3] for r in store.conn.execute("EXPLAIN QUERY PLAN " + DEDUPE_STAGING)]


@pytest.mark.parametrize("analyzed", [False, True])
def test_the_dedupe_statement_looks_keys_up_and_never_scans_event_keys(tmp_path, analyzed):
    store = Store.open(tmp_path / "p.db")
    statements: list[str] = []
    store.conn.set_trace_callback(statements.append)
    with store.write():
        assert store.insert_new_events(_rows(store, range(3000))) == 3000
    # a batch half old, half new, with a repeat inside it: only the new keys are stored, once
    with store.write():
        assert store.insert_new_events(_rows(store, [*range(2000, 4000), 3999])) == 1000
    store.conn.set_trace_callback(None)
    assert sum(s.strip() == DEDUPE_STAGING for s in statements) == 2  # the statement the test plans is the one run
    assert store.conn.execute("SELECT count(*), count(DISTINCT key) FROM event_keys").fetchone() == (4000, 4000)
    assert store.conn.execute("SELECT count(*) FROM events").fetchone()[0] == 4000
    if analyzed:  # statistics (a store someone ran ANALYZE on) must not tempt the planner into a scan
        store.conn.execute("ANALYZE")
    plan = _plan(store)
    assert not [p for p in plan if p.startswith("SCAN") and ("event_keys" in p or p.split()[1] == "k")], plan
    assert any(p.startswith("SEARCH k USING PRIMARY KEY (key=?)") for p in plan), plan
    store.close()
