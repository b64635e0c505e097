"""#20: the fast paths give the same results as the full ones (reports), and the monthly rollup stays equal to the
days."""

from __future__ import annotations

from datetime import UTC

import pytest

from margindash_cli.store.db import Store
from margindash_cli.store.schema import event_key

# The dedupe plan's test (the stored-keys lookup never scans event_keys) is in test_store_writer.py, next to the
# writer's other tests.


# ---- the report's direct path (#20): cells of a customer-day without revenue skip the allocation ----------------


def _facts(seed: int):
    import random
    from datetime import date, timedelta

    from margindash_cli.reports.compute import RevenueFact, UsageFact

    rng = random.Random(seed)
    customers = [None, "c1", "c2", "c3"]
    days = [date(2026, 9, 28) + timedelta(days=i) for i in range(12)]  # crosses a week and a month boundary
    usage = []
    for _ in range(400):
        groups = (
            rng.choice(["chat", None, ""]),
            rng.choice(["openai", "anthropic"]),
            rng.choice(["m1", "m2", "m3"]),
            rng.choice(["pro", None]),
            rng.choice(["gold", None]),
        )
        usage.append(
            UsageFact(
                rng.choice(customers),
                groups,
                rng.choice(days),
                rng.randrange(1, 9),
                rng.randrange(0, 999),
                rng.randrange(0, 999),
                rng.randrange(0, 10**12),
                rng.randrange(0, 2),
                rng.randrange(0, 3),
            )
        )
    revenue = [
        RevenueFact(rng.choice(customers), rng.choice(days), rng.randrange(0, 10_000), rng.choice([0, 0, 1]))
        for _ in range(15)
    ]
    return usage, revenue, customers, days


@pytest.mark.parametrize(
    "dims",
    [
        ["customer"],
        ["customer", "model"],
        ["model", "customer"],
        ["feature", "week"],
        ["month", "customer"],
        ["day", "week", "model"],
        ["segment", "plan", "vendor"],
    ],
)
def test_report_rows_are_the_same_with_and_without_the_direct_path(dims):
    """Revenue of 0 cents on every customer-day sends every cell through the allocation (the full path), and must
    change nothing: the direct path sums each cell into the same row with the same numbers, in the same order."""
    import os

    from margindash_cli.reports.compute import CELL_DIMS, RevenueFact, build_report

    seed = int(os.environ.get("MARGINDASH_TEST_SEED", "20"))
    usage, revenue, customers, days = _facts(seed)
    everywhere = revenue + [RevenueFact(c, d, 0) for c in customers for d in days]
    for allocation in ("events", "cost", "tokens"):
        kw = {"fact_dims": list(CELL_DIMS), "allocation": allocation}
        direct = build_report(dims, usage, revenue, **kw)
        full = build_report(dims, usage, everywhere, **kw)
        assert [(r.group, r.measures) for r in direct.rows] == [(r.group, r.measures) for r in full.rows], (
            f"seed {seed}"
        )
        assert direct.totals == full.totals, f"seed {seed}"
        assert direct.totals.events == sum(f.events for f in usage)


# ---- the per-customer monthly rollup (m010, #20) ------------------------------------------------------------------


def test_customer_months_stay_equal_to_the_days_and_reports_read_the_same_sums(tmp_path):
    import os
    import random
    from datetime import date, timedelta

    from invariants import rollup_mismatches

    from margindash_cli.store.schema import DAY_MS, WIDE_COLUMNS

    seed = int(os.environ.get("MARGINDASH_TEST_SEED", "20"))
    rng = random.Random(seed)
    store = Store.open(tmp_path / "m.db")
    t0 = 1_785_000_000_000 - 1_785_000_000_000 % DAY_MS  # 2026-07-25: the calls span Jul..Oct
    model = store.model_id("openai", "gpt-4o")
    rows = []
    for k in range(3000):
        customer = store.dim_id("customers", f"c{rng.randrange(4)}")
        rows.append(
            (
                event_key(f"m:{k}"),
                t0 + rng.randrange(0, 80 * DAY_MS),
                customer,
                0,
                model,
                0,
                rng.randrange(1, 500),
                rng.randrange(0, 50),
                0,
                0,
                0,
                rng.choice([None, rng.randrange(10**9)]),
                None,
                None,
                k,
                None,
            )
        )
    with store.write():
        store.events.insert_new_events(rows)
    c2 = store.dim_id("customers", "c2")
    aug = [
        t for t in (t0 + d * DAY_MS for d in range(80)) if (date(1970, 1, 1) + timedelta(days=t // DAY_MS)).month == 8
    ]
    gone = store.conn.execute(
        f"SELECT {', '.join(WIDE_COLUMNS)} FROM events_wide WHERE customer = ? AND ts >= ? AND ts < ?",
        (c2, aug[0], aug[-1] + DAY_MS),
    ).fetchall()
    with store.write():  # every call of c2 in August leaves the rollups: its month must leave too
        store.events.add_to_rollups(gone, sign=-1)
        store.conn.execute(f"DELETE FROM events WHERE id IN ({', '.join(str(r[0]) for r in gone)})")
    assert gone and rollup_mismatches(store.conn) == []
    assert (
        store.conn.execute(
            "SELECT count(*) FROM rollup_customer_monthly WHERE customer = ? AND month = ?", (c2, aug[0] // DAY_MS)
        ).fetchone()[0]
        == 0
    )

    def from_events(lo, hi):
        sums = {}
        for cust, ts, inp, out, cost in store.conn.execute(
            "SELECT c.customer_id, ts, input_tokens, output_tokens, cost FROM events e JOIN customers c ON c.id = e.customer"
        ):
            if (lo is None or ts >= lo) and (hi is None or ts < hi):
                v = sums.setdefault(cust, [0, 0, 0, 0, 0])
                v[0] += 1
                v[1] += inp
                v[2] += out
                v[3] += cost or 0
                v[4] += cost is None
        return sums

    days = [None] + [t0 + d * DAY_MS for d in range(-3, 84)]
    for _ in range(60):
        lo, hi = rng.choice(days), rng.choice(days)
        if lo is not None and hi is not None and lo > hi:
            lo, hi = hi, lo
        got = {
            r.customer: [r.events, r.input_tokens, r.output_tokens, r.cost_pico, r.unpriced_events]
            for r in store.events.usage_facts([], start_ms=lo, end_ms=hi, tz=UTC, per_day=False)
        }
        assert got == from_events(lo, hi), (seed, lo, hi)
    store.close()
