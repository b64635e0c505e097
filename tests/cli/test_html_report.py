"""`report --format html` and `dashboard`: one self-contained file whose numbers are the --json envelopes.

These run without a browser (the page is parsed as HTML and its embedded JSON read back); the browser
test (test_html_browser.py) draws it in headless Chromium.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest
from test_report_cli import EVENTS, build_store, event

from margindash_cli.dashboard import page

NOW = "2026-10-06T12:00:00Z"
ASSETS = Path(__file__).parent.parent.parent / "margindash_cli" / "dashboard" / "assets"


class Page(HTMLParser):
    """The parts of a page the tests look at: the embedded data, every element id, the tables' rows as text,
    and every external reference (src/href) and script."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.refs: list[str] = []
        self.tables: dict[str, list[list[str]]] = {}
        self.data_text = ""
        self._in_data = False
        self._table: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._section: str | None = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        for k in ("src", "href"):
            if a.get(k):
                self.refs.append(a[k])
        if tag == "script" and a.get("id") == page.DATA_ELEMENT_ID:
            self._in_data = True
        if tag == "table" and a.get("id"):
            self._table = a["id"]
            self.tables[self._table] = []
        if tag == "tr" and self._table:
            self._row = []
        if tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_data = False
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        if tag == "tr" and self._row is not None and self._table:
            self.tables[self._table].append(self._row)
            self._row = None
        if tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._in_data:
            self.data_text += data
        if self._cell is not None:
            self._cell.append(data)

    @property
    def data(self) -> dict:
        return json.loads(self.data_text)


@pytest.fixture
def db(tmp_path, cli):
    return build_store(tmp_path, cli)


@pytest.fixture
def now(monkeypatch):
    monkeypatch.setenv("MARGINDASH_NOW", NOW)


def html_of(cli, db, tmp_path, *args, command=("report", "--format", "html")) -> tuple[str, Page]:
    out = tmp_path / "page.html"
    result = cli("--db", db, *command, *args, "-o", out)
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.stderr
    text = out.read_text(encoding="utf-8")
    return text, Page(text)


def json_of(cli, db, *args) -> dict:
    result = cli("--db", db, *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize(
    "args",
    [
        (),
        ("--by", "feature"),
        ("--by", "customer", "--by", "model", "--top", "2"),
        ("--since", "2026-10-02", "--until", "2026-10-05", "--tz", "Asia/Tokyo"),
        ("--period", "7d", "--feature", "chat"),
        ("--revenue-basis", "billed", "--by", "model"),
    ],
)
def test_the_embedded_report_is_report_json_with_the_same_arguments(cli, db, tmp_path, now, args):
    _, p = html_of(cli, db, tmp_path, *args)
    top = () if "--top" in args else ("--top", "50")  # the page's table shows 50 rows unless --top says otherwise
    assert p.data["report"] == json_of(cli, db, "report", *args, *top)


def test_the_dashboard_embeds_each_commands_json(cli, db, tmp_path, now):
    _, p = html_of(cli, db, tmp_path, "--period", "7d", command=("dashboard",))
    d = p.data
    assert d["kind"] == "dashboard"
    assert d["report"] == json_of(cli, db, "report", "--period", "7d", "--top", "50")
    assert d["by_feature"] == json_of(cli, db, "report", "--by", "feature", "--period", "7d", "--top", "20")
    assert d["by_model"] == json_of(cli, db, "report", "--by", "model", "--period", "7d", "--top", "20")
    conc = json_of(cli, db, "report", "concentration", "--period", "7d")
    assert len(conc["customers"]) <= 10  # small enough that the page keeps every name
    assert d["concentration"] == {
        **conc,
        "customers_omitted": 0,
        "tiers": [{**t, "customers_omitted": 0} for t in conc["tiers"]],
    }
    # the swaps are `simulate --json` on the range's last 7 days
    assert d["simulate"] == json_of(cli, db, "simulate", "--since", "2026-09-30", "--until", "2026-10-06")
    assert d["cohorts"] == json_of(cli, db, "report", "cohorts", "--period", "7d")
    assert d["budgets"] == json_of(cli, db, "budget", "list")
    r = cli("--db", db, "reconcile", "--by", "month", "--period", "7d", "--json")
    assert r.exit_code in (0, 3) and d["reconcile"] == json.loads(r.stdout)
    # the timeline is `report --by day` (7 days: daily) over the same range, with every day listed in order
    assert d["timeline"]["granularity"] == "day"
    assert d["timeline"]["report"] == json_of(cli, db, "report", "--by", "day", "--period", "7d")
    assert [p["period"] for p in d["timeline"]["periods"]] == [f"2026-09-{n}" for n in ("30",)] + [
        f"2026-10-0{n}" for n in range(1, 7)
    ]
    for section in (
        "headline",
        "over-time",
        "table-main",
        "table-feature",
        "table-model",
        "concentration",
        "cohorts",
        "budgets",
        "simulate",
        "reconcile",
        "provenance",
        "chart-revenue-cost",
        "chart-margin-pct",
    ):
        assert section in p.ids, section


def test_headline_compares_with_the_previous_period_of_the_same_length(cli, db, tmp_path, now):
    _, p = html_of(cli, db, tmp_path, "--since", "2026-10-04", "--until", "2026-10-06")
    h = p.data["headline"]
    assert h["current"] == json_of(cli, db, "report", "--since", "2026-10-04", "--until", "2026-10-06")["totals"]
    assert h["previous"] == json_of(cli, db, "report", "--since", "2026-10-01", "--until", "2026-10-03")["totals"]
    assert h["previous_range"] == {"first_day": "2026-10-01", "last_day": "2026-10-03", "days": 3}
    # all data has no previous period, and says so
    _, p = html_of(cli, db, tmp_path)
    assert p.data["headline"]["previous"] is None and "all data" in p.data["headline"]["note"]


def test_granularity_follows_the_range_and_partial_periods_are_marked(cli, db, tmp_path, now):
    _, p = html_of(cli, db, tmp_path, "--since", "2026-08-13", "--until", "2026-10-06")  # 55 days: weekly
    t = p.data["timeline"]
    assert t["granularity"] == "week"
    assert t["periods"][0] == {"period": "2026-08-10", "partial": True}  # a Monday; the range starts on Thursday
    assert t["periods"][-1] == {"period": "2026-10-05", "partial": True}  # ends on Tuesday
    assert not any(p["partial"] for p in t["periods"][1:-1])
    _, p = html_of(cli, db, tmp_path, "--since", "2026-01-01", "--until", "2026-10-31")  # 304 days: monthly
    assert p.data["timeline"]["granularity"] == "month"
    assert all(not x["partial"] for x in p.data["timeline"]["periods"])  # whole months


def test_tables_are_html_and_match_the_json(cli, db, tmp_path, now):
    text, p = html_of(cli, db, tmp_path)
    rows = p.tables["rows-main"]
    header, body, total = rows[0], rows[1:-1], rows[-1]
    assert header[:2] == ["customer", "events"]
    assert [r[0] for r in body] == [r["group"]["customer"] or "(none)" for r in p.data["report"]["rows"]]
    assert total[0] == "total" and total[3] == "$18.00"  # revenue: 10 + 5 + 3
    # unpriced calls are called out, never shown as free
    assert "unpriced" in p.ids
    initech = next(r for r in body if r[0] == "initech")
    assert initech[2].endswith("+?")
    # a negative margin is highlighted
    assert '<tr class="neg"><td>(unattributed)</td>' in text  # $0.10 of cost and no revenue


def test_self_contained_no_external_reference_and_the_vendored_library_is_as_recorded(cli, db, tmp_path, now):
    text, p = html_of(cli, db, tmp_path, command=("dashboard",))
    assert p.refs == []  # no src or href: styles, scripts and data are inline
    assert "default-src 'none'" in text  # and the page's policy forbids any fetch
    assert "uPlot" in text
    readme = (ASSETS / "README.md").read_text()
    for name in ("uPlot.iife.min.js", "uPlot.min.css"):
        digest = hashlib.sha256((ASSETS / name).read_bytes()).hexdigest()
        assert f"{name} `{digest}`" in readme, name
    assert (ASSETS / "LICENSE.uPlot").read_text().startswith("The MIT License")


HOSTILE = "</script><script>alert(1)</script>\"'&<b>x\x1b[2J"


def test_a_hostile_customer_id_is_escaped_everywhere(cli, tmp_path, now):
    events = [*EVENTS, event("2026-10-05T10:00:00Z", HOSTILE, HOSTILE, "gpt-4o", "4.00")]
    db = build_store(tmp_path, cli, events=events)
    text, p = html_of(cli, db, tmp_path, command=("dashboard",))
    assert "<script>alert(1)" not in text
    assert "<b>x" not in text
    assert "\x1b" not in text
    assert text.count("<script") == 3  # the data element, uPlot and ours: nothing injected
    # the data still carries the id exactly, and the table shows it as text
    names = [r["group"]["customer"] for r in p.data["report"]["rows"]]
    assert HOSTILE in names
    shown = [r[0] for r in p.tables["rows-main"]]
    assert HOSTILE.replace("\x1b", "\\x1b") in shown


def test_an_empty_range_says_so(cli, db, tmp_path, now):
    text, p = html_of(cli, db, tmp_path, "--since", "2025-01-01", "--until", "2025-01-31", command=("dashboard",))
    assert "empty" in p.ids and "Nothing in this range" in text
    assert "chart-revenue-cost" not in p.ids


def test_output_paths(cli, db, tmp_path, now):
    missing = tmp_path / "no" / "such" / "dir" / "page.html"
    r = cli("--db", db, "report", "--format", "html", "-o", missing)
    assert r.exit_code == 2 and "does not exist" in r.stderr and not missing.exists()
    r = cli("--db", db, "report", "--format", "html")
    assert r.exit_code == 2 and "-o" in r.stderr
    r = cli("--db", db, "report", "--format", "html", "-o", "-")
    assert r.exit_code == 0 and r.stdout.startswith("<!doctype html>") and r.stdout.rstrip().endswith("</html>")
    assert Page(r.stdout).data["report"] == json_of(cli, db, "report", "--top", "50")
    r = cli("--db", db, "report", "-o", tmp_path / "x.html")
    assert r.exit_code == 2 and "--format html" in r.stderr


def test_demo_store_page_is_under_one_megabyte(cli, tmp_path):
    r = cli("demo")
    assert r.exit_code == 0, r.output
    demo_html = next(
        line.split("HTML report: ", 1)[1].split(" ")[0] for line in r.output.splitlines() if "HTML report: " in line
    )
    size = Path(demo_html).stat().st_size
    assert 50_000 < size < 1_000_000, size
    data = Page(Path(demo_html).read_text()).data
    assert data["kind"] == "dashboard" and len(data["report"]["rows"]) == 10
    # the demo ships a synthetic bill: the page shows the reconciliation, rows adding up to the totals
    page_text = Path(demo_html).read_text()
    rec = data["reconcile"]
    assert rec["rows"] and Decimal(rec["totals"]["billed_usd"]) == sum(Decimal(r["billed_usd"]) for r in rec["rows"])
    assert 'id="rows-reconcile"' in page_text and "untracked usage" in page_text


def test_concentration_keeps_every_figure_and_cuts_only_long_name_lists():
    from margindash_cli.dashboard.run import trim_concentration

    env = {
        "tiers": [{"top_pct": 10, "count": 25, "customers": [f"c{i}" for i in range(25)], "cost_usd": "9"}],
        "customers": [{"customer": f"c{i}", "rank": i + 1} for i in range(250)],
        "totals": {"cost_usd": "9"},
    }
    t = trim_concentration(env)
    assert t["tiers"][0]["customers"] == [f"c{i}" for i in range(10)] and t["tiers"][0]["customers_omitted"] == 15
    assert t["tiers"][0]["count"] == 25 and t["tiers"][0]["cost_usd"] == "9" and t["totals"] == env["totals"]
    assert len(t["customers"]) == 10 and t["customers_omitted"] == 240
