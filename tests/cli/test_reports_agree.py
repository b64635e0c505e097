"""Every report agrees with every other (#16): the same calls carry the same revenue and cost to the cent,
whatever the grouping, nesting, filter or allocation; `report` and `report trend` share one definition.

Randomized: the seed comes from MARGINDASH_TEST_SEED (else a fixed one) and is printed on failure.
"""

from __future__ import annotations

import os
import random
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import pytest

from margindash_cli.reports.compute import RevenueFact, UsageFact, build_report, build_trend, fact_dims_for

SEED = int(os.environ.get("MARGINDASH_TEST_SEED", "16016"))
CENT = 10**10  # picodollars per cent
D0 = date(2026, 9, 28)
MODELS = {"gpt-4o": "openai", "gpt-4o-mini": "openai", "claude-x": "anthropic", "gemini": "google", "shared": "openai"}
DIMS = ["customer", "feature", "model", "vendor", "segment", "plan", "tag:team", "day", "week", "month"]


def random_store(rng: random.Random) -> tuple[list[UsageFact], list[RevenueFact]]:
    """Facts at the finest cell (feature, vendor, model, segment, plan, tag:team), as the store returns them
    (plan is the customer's: one per customer)."""
    usage = []
    for _ in range(rng.randint(0, 60)):
        model = rng.choice(list(MODELS))
        vendor = MODELS[model] if model != "shared" or rng.random() < 0.5 else "other"  # one model name, two vendors
        customer = rng.choice(["a", "b", "c", None])
        plan = {"a": "pro", "b": "free"}.get(customer)
        groups = (
            rng.choice(["chat", "search", None]),
            vendor,
            model,
            rng.choice(["smb", None]),
            plan,
            rng.choice(["red", "blue", None]),
        )
        events = rng.randint(1, 9)
        unpriced = rng.randint(0, events) if rng.random() < 0.2 else 0
        usage.append(
            UsageFact(
                customer,
                groups,
                D0 + timedelta(days=rng.randint(0, 40)),
                events,
                rng.randint(0, 10**5),
                rng.randint(0, 10**4),
                rng.randint(0, 10**4) * CENT // 7,
                unpriced,
                rng.choice([0, 0, 0, rng.randint(1, 500)]),
            )
        )
    revenue = [
        RevenueFact(
            rng.choice(["a", "b", "d", None]), D0 + timedelta(days=rng.randint(0, 40)), rng.randint(-500, 10**6)
        )
        for _ in range(rng.randint(0, 25))
    ]
    return usage, revenue


def by_group(dims, usage, revenue, project, **kw):
    """{projected group: (revenue cents, cost pico, events)} of build_report(dims), summed onto `project`."""
    r = build_report(dims, usage, revenue, fact_dims=fact_dims_for(dims, kw.get("filters")), **kw)
    out = defaultdict(lambda: [0, 0, 0])
    for row in r.rows:
        k = tuple(row.group[d] for d in project)
        out[k][0] += row.measures.revenue_cents
        out[k][1] += row.measures.cost_pico
        out[k][2] += row.measures.events
    return {k: tuple(v) for k, v in out.items() if any(v)}


@pytest.mark.parametrize("allocation", ["events", "tokens", "cost"])
def test_every_grouping_and_nesting_carries_the_same_revenue_and_cost(allocation):
    rng = random.Random(f"{SEED}:{allocation}")
    for trial in range(40):
        usage, revenue = random_store(rng)
        a, b = rng.sample(DIMS, 2)
        if a in ("day", "week", "month") and b in ("day", "week", "month"):
            continue
        nested = by_group([a, b], usage, revenue, [a], allocation=allocation)
        alone = by_group([a], usage, revenue, [a], allocation=allocation)
        assert nested == alone, f"seed {SEED} trial {trial}: --by {a} --by {b} vs --by {a}"


def test_vendor_and_model_reports_agree_to_the_cent():
    rng = random.Random(f"{SEED}:vendor")
    for trial in range(60):
        usage, revenue = random_store(rng)
        vendor = by_group(["vendor"], usage, revenue, ["vendor"])
        via_model = by_group(["vendor", "model"], usage, revenue, ["vendor"])
        assert vendor == via_model, f"seed {SEED} trial {trial}"
        # a report by model, summed per vendor of its calls, gives the vendor report
        model_rows = by_group(["model", "vendor"], usage, revenue, ["vendor"])
        assert model_rows == vendor, f"seed {SEED} trial {trial}"


def test_a_filter_shows_the_same_share_as_the_unfiltered_row():
    rng = random.Random(f"{SEED}:filter")
    for trial in range(40):
        usage, revenue = random_store(rng)
        full = by_group(["customer", "feature"], usage, revenue, ["customer", "feature"])
        only_chat = by_group(["customer"], usage, revenue, ["customer"], filters={"feature": "chat"})
        assert only_chat == {(c,): v for (c, f), v in full.items() if f == "chat"}, f"seed {SEED} trial {trial}"


def test_report_and_trend_agree_per_group_and_period():
    rng = random.Random(f"{SEED}:trend")
    for trial in range(40):
        usage, revenue = random_store(rng)
        dim = rng.choice(["customer", "feature", "model", "tag:team"])
        granularity = rng.choice(["day", "week", "month"])
        fd = fact_dims_for([dim])
        t = build_trend(dim, usage, revenue, granularity=granularity, fact_dims=fd)
        r = build_report([dim], usage, revenue, fact_dims=fd)
        assert {
            row.group[dim]: (row.total.revenue_cents, row.total.cost_pico)
            for row in t.rows
            if row.total.events or row.total.revenue_cents
        } == {
            row.group[dim]: (row.measures.revenue_cents, row.measures.cost_pico)
            for row in r.rows
            if row.measures.events or row.measures.revenue_cents
        }, f"seed {SEED} trial {trial}"
        per_period = build_report([dim, granularity], usage, revenue, fact_dims=fd)
        cells = {(row.group[dim], row.group[granularity]): row.measures.revenue_cents for row in per_period.rows}
        for row in t.rows:
            for p, m in zip(t.periods, row.points):
                assert m.revenue_cents == cells.get((row.group[dim], p.isoformat()), 0), f"seed {SEED} trial {trial}"


def test_revenue_on_a_day_without_calls_is_a_visible_no_usage_row_in_report_and_trend():
    usage = [UsageFact("a", ("chat", "openai", "gpt-4o", None, None), date(2026, 10, 2), 1, 10, 1, CENT, 0, 0)]
    revenue = [RevenueFact("a", date(2026, 10, 1), 300), RevenueFact("a", date(2026, 10, 2), 700)]
    fd = fact_dims_for(["feature"])
    r = build_report(["feature"], usage, revenue, fact_dims=fd)
    assert {row.group["feature"]: row.measures.revenue_cents for row in r.rows} == {"chat": 700, "(no usage)": 300}
    t = build_trend("feature", usage, revenue, granularity="week", fact_dims=fd)
    assert {row.group["feature"]: row.total.revenue_cents for row in t.rows} == {"chat": 700, "(no usage)": 300}
    # by customer, the customer's whole revenue is on its row
    assert build_report(["customer"], usage, revenue).rows[0].measures.revenue_cents == 1000


# ---- trend periods, sparklines, time rows, unknown cost --------------------------------------------


def test_a_partial_first_week_is_marked_and_not_the_baseline_of_the_change():
    # the data starts on a Saturday: the first week is a two-day stub with revenue and no calls (100% margin)
    sat = date(2026, 8, 1)
    usage = [UsageFact("a", (), sat + timedelta(days=d), 1, 10, 1, 50 * CENT, 0, 0) for d in range(2, 16)]
    revenue = [RevenueFact("a", sat + timedelta(days=d), 100) for d in range(0, 16)]
    t = build_trend("customer", usage, revenue, granularity="week")
    assert t.periods[0] == date(2026, 7, 27) and t.partial[0] is True and not any(t.partial[1:-1])
    row = t.rows[0]
    assert row.points[0].margin_pct == Decimal(100)  # the stub
    assert row.change.first == date(2026, 8, 3)  # the first full week, not the stub
    assert row.change.margin_pct_points == Decimal(0)  # -400% both full weeks: no change


def test_sparklines_share_one_scale_and_print_it():
    from margindash_cli.cli.render.kit import spark_caption, spark_scale, sparkline

    flat = [Decimal("99.8"), Decimal("99.6")]
    steep = [Decimal(33), Decimal(-42)]
    scale = spark_scale([flat, steep])
    assert sparkline(flat, scale) == "██" and sparkline(steep, scale) == "▅▁"
    assert sparkline(flat) == "█▁"  # on its own scale it would draw the same collapse as the steep one
    assert spark_caption(scale) == "sparkline scale for every row: -42.0% (▁) to 99.8% (█), 0% = ▃"


def test_a_time_report_over_a_bounded_range_lists_every_period_zeros_included():
    usage = [UsageFact("a", (), date(2026, 10, 2), 1, 10, 1, CENT, 0, 0)]
    r = build_report(["day"], usage, [], first_day=date(2026, 10, 1), last_day=date(2026, 10, 4))
    assert [(row.group["day"], row.measures.events) for row in r.rows] == [
        ("2026-10-01", 0),
        ("2026-10-02", 1),
        ("2026-10-03", 0),
        ("2026-10-04", 0),
    ]
    r = build_report(["month"], usage, [], first_day=date(2026, 9, 15), last_day=date(2026, 11, 2))
    assert [row.group["month"] for row in r.rows] == ["2026-09-01", "2026-10-01", "2026-11-01"]


def test_a_row_whose_cost_is_unknown_is_unpriced_not_profitable_and_margin_pct_sorts_worst_first():
    usage = [
        UsageFact("unknown", (), D0, 2, 10, 1, 0, 2, 0),  # every call unpriced
        UsageFact("costly", (), D0, 1, 10, 1, 5 * CENT, 0, 0),  # cost, no revenue: the worst
        UsageFact("fine", (), D0, 1, 10, 1, CENT, 0, 0),
        UsageFact("part", (), D0, 2, 10, 1, CENT, 1, 0),  # one of two calls unpriced
    ]
    revenue = [RevenueFact("unknown", D0, 1000), RevenueFact("fine", D0, 100), RevenueFact("part", D0, 100)]
    r = build_report(["customer"], usage, revenue, sort="margin_pct")
    assert [row.group["customer"] for row in r.rows] == ["costly", "fine", "part", "unknown"]
    by = {row.group["customer"]: row for row in r.rows}
    assert by["unknown"].cls == "unpriced" and by["unknown"].measures.margin_pct is None
    assert by["part"].measures.partly_unpriced and by["part"].cls == "profitable"
    assert [row.group["customer"] for row in build_report(["customer"], usage, revenue).rows][-1] == "unknown"


# ---- through the CLI: a random store, every grouping, zone and allocation, every format -------------

import json  # noqa: E402

from margindash_cli.core.money import table_usd, usd_to_pico  # noqa: E402

CLI_DIMS = [
    ["customer"],
    ["feature"],
    ["model"],
    ["vendor"],
    ["segment"],
    ["tag:team"],
    ["day"],
    ["week"],
    ["customer", "feature"],
    ["model", "vendor"],
    ["feature", "day"],
]


def random_log_store(tmp_path, cli, rng):
    from test_report_cli import build_store, event

    models = [("gpt-4o", "openai"), ("gpt-4o-mini", "openai"), ("claude-x", "anthropic"), ("unpriced-m", "acmeai")]
    events = []
    for i in range(rng.randint(5, 30)):
        model, vendor = rng.choice(models)
        ts = f"2026-10-{rng.randint(1, 9):02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00Z"
        cost = f"{rng.randint(0, 5000) / 1000:.3f}"
        events.append(
            event(
                ts,
                rng.choice(["a", "b", "c", None]),
                rng.choice(["chat", "search"]),
                model,
                cost,
                vendor=vendor,
                inp=rng.randint(0, 3000),
                out=rng.randint(1, 300),
                segment=rng.choice(["smb", None]),
                team=rng.choice(["red", "blue", None]),
                request_id=f"req-{i}",
            )
        )
    revenue = "customer_id,amount,currency,date\n" + "".join(
        f"{rng.choice(['a', 'b', 'd'])},{rng.randint(1, 5000) / 100:.2f},usd,2026-10-{rng.randint(1, 9):02d}\n"
        for _ in range(rng.randint(1, 8))
    )
    return build_store(tmp_path, cli, events, revenue)


def test_every_format_shows_the_same_figures_and_unpriced_markers(tmp_path, cli, monkeypatch):
    import csv
    import io

    monkeypatch.setenv("COLUMNS", "250")
    rng = random.Random(f"{SEED}:cli")
    for trial in range(3):
        (tmp_path / str(trial)).mkdir()
        db = random_log_store(tmp_path / str(trial), cli, rng)
        for dims in rng.sample(CLI_DIMS, 5):
            common = ["--tz", rng.choice(["UTC", "Asia/Tokyo"]), "--allocate", rng.choice(["events", "tokens", "cost"])]
            extra = [*(a for d in dims for a in ("--by", d)), *common]
            where = f"seed {SEED} trial {trial} {extra}"
            data = json.loads(cli("--db", db, "report", *extra, "--json").stdout)
            rows = [({d: r["group"][d] for d in dims}, r) for r in data["rows"]]
            # CSV: the exact same strings (empty where JSON has null), the same unpriced counts
            got = list(csv.DictReader(io.StringIO(cli("--db", db, "report", *extra, "--format", "csv").stdout)))
            assert len(got) == len(rows), where
            for (group, r), c in zip(rows, got):
                assert {d: c[d] for d in dims} == group, where
                for k in ("cost_usd", "revenue_usd", "margin_usd"):
                    assert c[k] == (r[k] or ""), where
                assert int(c["unpriced_events"]) == r["unpriced_events"] and c["class"] == r["class"], where
            # Markdown and the table: the same figures rounded for people, the same markers
            md = cli("--db", db, "report", *extra, "--format", "markdown").stdout.splitlines()[2 : 2 + len(rows)]
            table = cli("--db", db, "report", *extra).stdout
            for (group, r), line in zip(rows, md):  # noqa: B007
                cells = [x.strip() for x in line.strip("|").split(" | ")]
                n = len(dims)
                if r["cost_usd"] is None:
                    expected_cost = "unpriced"
                else:
                    expected_cost = table_usd(usd_to_pico(r["cost_usd"])) + (" +?" if r["unpriced_events"] else "")
                assert cells[n + 3] == expected_cost, where
                assert cells[n + 4] == table_usd(usd_to_pico(r["revenue_usd"])), where
                assert cells[-1] == r["class"], where
                assert expected_cost in table, where
            # the nested report adds up to the report by its first dim, to the cent
            if len(dims) == 2:
                alone = json.loads(cli("--db", db, "report", "--by", dims[0], *common, "--json").stdout)
                sums: dict = {}
                for group, r in rows:
                    s = sums.setdefault(group[dims[0]], [Decimal(0), Decimal(0)])
                    s[0] += Decimal(r["revenue_usd"])
                    s[1] += Decimal(r["cost_usd"] or 0)
                assert {
                    r["group"][dims[0]]: [Decimal(r["revenue_usd"]), Decimal(r["cost_usd"] or 0)] for r in alone["rows"]
                } == sums, where


def test_the_demos_vendor_and_model_reports_agree_to_the_cent(cli):
    result = cli("demo")
    assert result.exit_code == 0
    db = next(x for x in result.stdout.split() if x.endswith("demo.db"))
    vendor = json.loads(cli("--db", db, "report", "--by", "vendor", "--json").stdout)
    by_model = json.loads(cli("--db", db, "report", "--by", "model", "--by", "vendor", "--json").stdout)
    sums: dict = {}
    for r in by_model["rows"]:
        sums[r["group"]["vendor"]] = sums.get(r["group"]["vendor"], Decimal(0)) + Decimal(r["revenue_usd"])
    assert {r["group"]["vendor"]: Decimal(r["revenue_usd"]) for r in vendor["rows"]} == sums
    google = next(r for r in vendor["rows"] if r["group"]["vendor"] == "google")
    model = json.loads(cli("--db", db, "report", "--by", "model", "--json").stdout)
    assert (
        next(r for r in model["rows"] if r["group"]["model"] == "gemini-2.5-flash")["revenue_usd"]
        == google["revenue_usd"]
    )
