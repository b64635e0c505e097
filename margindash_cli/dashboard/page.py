"""Lay out the dashboard data (run.py) as one self-contained HTML file. Pure: a dict in, a string out.

- Everything is inline: styles, uPlot (vendored in assets/, MIT, version in assets/README.md), our
  script and the data, so the file opens offline, from an email or a CI artifact, and fetches nothing.
- The tables are HTML made here, so the page reads with scripts off; the script only draws the charts
  (from the embedded JSON, the same envelopes `--json` prints) and sorts tables on a header click.
- Every value from the store is escaped (`_e`), and the embedded JSON cannot close its script element.
"""

from __future__ import annotations

import html
from decimal import Decimal
from importlib import resources
from typing import Any

import orjson

from margindash_cli.core.money import CENT, display_usd
from margindash_cli.core.textsafe import safe

DATA_ELEMENT_ID = "margindash-data"
CLASS_LABELS = {
    "profitable": "profitable",
    "break_even": "break-even",
    "break-even": "break-even",
    "unprofitable": "unprofitable",
    "no_revenue": "no revenue",
    "no revenue": "no revenue",
    "unpriced": "unpriced",
}


def _asset(name: str) -> str:
    return resources.files("margindash_cli.dashboard").joinpath("assets", name).read_text(encoding="utf-8")


def _e(value: Any) -> str:
    """Text for HTML: control and bidi characters shown escaped (textsafe.safe, as in every other output), then
    HTML-escaped, so a log value is never markup."""
    return html.escape("" if value is None else safe(value), quote=True)


def embed_json(data: Any) -> str:
    """JSON safe inside <script type="application/json">: no `<`, `>`, `&` or line separators survive raw."""
    text = orjson.dumps(data).decode()
    for raw, esc in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(raw, esc)
    return text


def usd(text: str | None) -> str:
    """A money string of the JSON for people: cents, `<$0.01` for a positive sub-cent amount, `?` when unknown."""
    if text is None:
        return "?"
    value = Decimal(text)
    if 0 < value < CENT:
        return "&lt;$0.01"
    if -CENT < value < 0:
        return "-&lt;$0.01"
    return display_usd(value)


def pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}%"


def _num(text: str | None) -> str:
    return "" if text is None else _e(text)


def group_label(group: dict[str, Any]) -> str:
    return " › ".join("(none)" if v is None else str(v) for v in group.values())


# -- the page --------------------------------------------------------------------------------------


def render(data: dict[str, Any]) -> str:
    rep = data["report"]
    empty = not rep["rows"] or (rep["totals"]["events"] == 0 and Decimal(rep["totals"]["revenue_usd"] or 0) == 0)
    parts = [_header(data), _callouts(rep)]
    if empty:
        parts.append(
            '<section class="empty" id="empty"><h2>Nothing in this range</h2><p>No calls and no revenue between '
            f"{_e(data['provenance']['range']['label'])}. Widen the range (--since/--until/--period) or check the"
            " filters.</p></section>"
        )
    else:
        parts += [_headline(data), _charts(data), _table_section("main", data["title"], rep, bars=True)]
        if data["kind"] == "dashboard":
            parts += [
                _table_section("feature", "Margin by feature", data["by_feature"], bars=True, subsidy=True),
                _table_section("model", "Margin by model", data["by_model"], bars=True, subsidy=True),
                _concentration(data["concentration"]),
                _cohorts(data["cohorts"]),
                _budgets(data["budgets"]),
                _simulate(data["simulate"]),
                _reconcile(data["reconcile"]),
            ]
    parts.append(_footer(data))
    body = "\n".join(p for p in parts if p)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>{_e(data["title"])} · margindash</title>
<style>{_asset("uPlot.min.css")}</style>
<style>{_asset("style.css")}</style>
</head>
<body>
<main>
{body}
</main>
<script type="application/json" id="{DATA_ELEMENT_ID}">{embed_json(data)}</script>
<script>{_asset("uPlot.iife.min.js")}</script>
<script>{_asset("app.js")}</script>
</body>
</html>
"""


def _header(data: dict[str, Any]) -> str:
    prov = data["provenance"]
    r = prov["range"]
    days = f"{r['first_day']} to {r['last_day']}" if r["first_day"] else "no data"
    return (
        f'<header><h1>{_e(data["title"])}</h1><p class="sub">{_e(r["label"])}: {_e(days)} · time zone {_e(prov["tz"])}'
        f" · generated {_e(data['generated_at'])}</p></header>"
    )


def _callouts(rep: dict[str, Any]) -> str:
    notes = []
    unpriced = rep.get("unpriced") or {}
    if unpriced.get("events"):
        models = ", ".join(unpriced.get("models") or [])
        notes.append(
            f'<p class="warn" id="unpriced"><b>{unpriced["events"]:,} call(s) have no price</b>'
            f"{' (' + _e(models) + ')' if models else ''}: their cost is unknown, not $0, and is left out of"
            ' every cost figure below; rows with such calls are marked <span class="q">+?</span>.'
            " Run <code>margindash prices unpriced</code>.</p>"
        )
    unconverted = rep.get("unconverted_revenue") or {}
    if unconverted:
        items = ", ".join(f"{_e(amount)} {_e(cur.upper())} (minor units)" for cur, amount in unconverted.items())
        notes.append(
            f'<p class="warn" id="unconverted"><b>Revenue not converted to USD</b>: {items}; it is not in the'
            " revenue figures. Import exchange rates: <code>margindash fx import FILE.csv</code>.</p>"
        )
    provisional = rep.get("provisional_costs") or {}
    if provisional:
        items = "; ".join(
            f"{_e(p)} on {len(days):,} day(s), {_e(days[0])} to {_e(days[-1])}" for p, days in provisional.items()
        )
        notes.append(
            f'<p class="warn" id="provisional-costs"><b>Provisional costs</b>: no bill synced for {items}; those'
            " costs are our price times the logged tokens. <code>margindash sync-costs</code>, then"
            " <code>margindash reconcile</code>.</p>"
        )
    return "\n".join(notes)


def _change(cur: str | None, prev: str | None) -> str:
    if cur is None or prev is None:
        return ""
    c, p = Decimal(cur), Decimal(prev)
    delta = c - p
    sign = "+" if delta > 0 else ""
    rel = "" if p == 0 else f" ({sign}{(delta / abs(p) * 100):.1f}%)"
    return f'<span class="chg {"up" if delta > 0 else "down" if delta < 0 else ""}">{sign}{usd(str(delta))}{rel}</span>'


def _headline(data: dict[str, Any]) -> str:
    h = data["headline"]
    cur, prev = h["current"], h.get("previous")
    cards = []
    for key, label in (("revenue_usd", "Revenue"), ("cost_usd", "Cost"), ("margin_usd", "Margin")):
        q = ' <span class="q">+?</span>' if key != "revenue_usd" and cur.get("unpriced_events") else ""
        chg = _change(cur[key], prev[key]) if prev else ""
        cards.append(
            f'<div class="card" id="kpi-{key[:-4]}"><div class="k">{label}</div><div class="v">{usd(cur[key])}{q}</div>{chg}</div>'
        )
    pp = ""
    if prev and prev.get("margin_pct") is not None and cur.get("margin_pct") is not None:
        d = cur["margin_pct"] - prev["margin_pct"]
        pp = f'<span class="chg {"up" if d > 0 else "down" if d < 0 else ""}">{"+" if d > 0 else ""}{d:.1f} pts</span>'
    cards.append(
        f'<div class="card" id="kpi-margin-pct"><div class="k">Margin %</div><div class="v">{pct(cur.get("margin_pct"))}</div>{pp}</div>'
    )
    if prev:
        r = h["previous_range"]
        note = f"Change against the previous {r['days']} day(s): {_e(r['first_day'])} to {_e(r['last_day'])}."
    else:
        note = _e(h.get("note", ""))
    return f'<section id="headline"><div class="cards">{"".join(cards)}</div><p class="note">{note}</p></section>'


def _charts(data: dict[str, Any]) -> str:
    t = data["timeline"]
    if not t["periods"]:
        return ""
    rows = {r["group"][t["granularity"]]: r for r in (t["report"] or {}).get("rows", [])}
    trs = []
    for p in t["periods"]:
        r = rows.get(p["period"])
        label = _e(p["period"]) + (' <span class="partial">(partial)</span>' if p["partial"] else "")
        if r is None:
            trs.append(f"<tr><td>{label}</td><td>$0.00</td><td>$0.00</td><td>$0.00</td><td>-</td></tr>")
        else:
            trs.append(
                f"<tr><td>{label}</td><td>{usd(r['revenue_usd'])}</td><td>{usd(r['cost_usd'])}</td>"
                f"<td>{usd(r['margin_usd'])}</td><td>{pct(r['margin_pct'])}</td></tr>"
            )
    partial = any(p["partial"] for p in t["periods"])
    note = " Shaded periods are partial: the range covers only part of them." if partial else ""
    return f"""<section id="over-time">
<h2>Revenue vs cost per {_e(t["granularity"])}</h2>
<div class="chart" id="chart-revenue-cost" role="img" aria-label="Revenue and cost per {_e(t["granularity"])}"></div>
<h2>Margin % per {_e(t["granularity"])}</h2>
<div class="chart" id="chart-margin-pct" role="img" aria-label="Margin % per {_e(t["granularity"])}"></div>
<p class="note">Granularity: {_e(t["granularity"])} (day up to 31 days, week up to 26 weeks, month beyond).{note} The dashed line is 0%.</p>
<details><summary>The figures per {_e(t["granularity"])}</summary>
<div class="scroll"><table class="data"><thead><tr><th>{_e(t["granularity"])}</th><th>revenue</th><th>cost</th><th>margin</th><th>margin %</th></tr></thead>
<tbody>{"".join(trs)}</tbody></table></div></details>
</section>"""


def _bar(margin: str, neg_scale: Decimal, pos_scale: Decimal) -> str:
    """A margin bar on one scale for every row of its table: losses grow left of the zero line, profits right."""
    total = neg_scale + pos_scale
    if total == 0:
        return ""
    m = Decimal(margin)
    zero = neg_scale / total * 100
    width = abs(m) / total * 100
    if m < 0:
        style = f"right:{100 - zero:.2f}%;width:{width:.2f}%"
    else:
        style = f"left:{zero:.2f}%;width:{width:.2f}%"
    side = "neg" if m < 0 else "pos"
    return (
        f'<span class="mbar"><span class="zero" style="left:{zero:.2f}%"></span>'
        f'<span class="bar {side}" style="{style}"></span></span>'
    )


def _table_section(ident: str, title: str, env: dict[str, Any], *, bars: bool, subsidy: bool = False) -> str:
    dims = env["query"]["by"]
    rows = env["rows"]
    margins = [Decimal(r["margin_usd"]) for r in rows if r.get("margin_usd") is not None]
    neg_scale = -min([Decimal(0), *margins])
    pos_scale = max([Decimal(0), *margins])
    head = "".join(f'<th data-type="text">{_e(d)}</th>' for d in dims)
    head += (
        '<th data-type="num">events</th><th data-type="num">cost</th><th data-type="num">revenue</th>'
        '<th data-type="num">margin</th><th data-type="num">margin %</th><th data-type="text">class</th>'
    )
    if bars:
        head += '<th class="barcol" data-type="num">margin bar</th>'
    body = []
    for r in rows:
        neg = r.get("margin_usd") is not None and Decimal(r["margin_usd"]) < 0
        q = ' <span class="q">+?</span>' if r.get("unpriced_events") else ""
        cls = r.get("class") or ""
        cells = "".join(f"<td>{_e('(none)' if r['group'].get(d) is None else r['group'][d])}</td>" for d in dims)
        cells += (
            f'<td data-v="{r["events"]}">{r["events"]:,}</td>'
            f'<td data-v="{_num(r["cost_usd"])}">{usd(r["cost_usd"])}{q}</td>'
            f'<td data-v="{_num(r["revenue_usd"])}">{usd(r["revenue_usd"])}</td>'
            f'<td data-v="{_num(r["margin_usd"])}">{usd(r["margin_usd"])}{q}</td>'
            f'<td data-v="{"" if r["margin_pct"] is None else r["margin_pct"]}">{pct(r["margin_pct"])}</td>'
            f'<td class="cls {_e(cls)}">{_e(CLASS_LABELS.get(cls, cls))}</td>'
        )
        if bars:
            cells += f'<td class="barcol" data-v="{_num(r["margin_usd"])}">{_bar(r["margin_usd"], neg_scale, pos_scale) if r["margin_usd"] is not None else ""}</td>'
        body.append(f'<tr class="{"neg" if neg else ""}">{cells}</tr>')
    t = env["totals"]
    q = ' <span class="q">+?</span>' if t.get("unpriced_events") else ""
    foot = (
        f'<tr><td colspan="{len(dims)}">total</td><td>{t["events"]:,}</td><td>{usd(t["cost_usd"])}{q}</td>'
        f"<td>{usd(t['revenue_usd'])}</td><td>{usd(t['margin_usd'])}{q}</td><td>{pct(t['margin_pct'])}</td>"
        f"<td>{_e(CLASS_LABELS.get(t.get('class') or '', t.get('class') or ''))}</td>{'<td></td>' if bars else ''}</tr>"
    )
    extra = _subsidy(dims[0], rows) if subsidy else ""
    top = env["query"].get("top")
    folded = any(str(v).startswith("(other") for r in rows for v in r["group"].values())
    note = (
        f"The first {top} rows by {_e(env['query'].get('sort', 'margin'))}; the rest are one (other) row."
        if top and folded
        else ""
    )
    note += " Margin bars share one scale; the thin line is $0."
    return f"""<section id="table-{ident}">
<h2>{_e(title)}</h2>
<p class="note">Click a column to sort. Negative margins are red. {note}</p>{extra}
<div class="scroll"><table class="data sortable" id="rows-{ident}"><thead><tr>{head}</tr></thead>
<tbody>{"".join(body)}</tbody><tfoot>{foot}</tfoot></table></div>
</section>"""


def _subsidy(dim: str, rows: list[dict[str, Any]]) -> str:
    """Which parts lose money and which pay for them."""
    losing = [r for r in rows if r.get("margin_usd") is not None and Decimal(r["margin_usd"]) < 0]
    if not losing:
        return f'<p class="note">Every {_e(dim)} makes money.</p>'
    loss = sum(Decimal(r["margin_usd"]) for r in losing)
    gain = sum(
        Decimal(r["margin_usd"]) for r in rows if r.get("margin_usd") is not None and Decimal(r["margin_usd"]) > 0
    )
    names = ", ".join(_e(group_label(r["group"])) for r in losing[:5]) + (" and more" if len(losing) > 5 else "")
    return (
        f'<p class="note subsidy">{len(losing)} {_e(dim)}(s) lose {usd(str(-loss))} ({names}); the profitable ones'
        f" make {usd(str(gain))} and carry them.</p>"
    )


def _concentration(env: dict[str, Any]) -> str:
    rows = []
    for t in env.get("tiers", []):
        rows.append(
            f"<tr><td>top {t['top_pct']}%</td><td>{t['count']:,}</td><td>{pct(t.get('cost_share_pct'))}</td>"
            f"<td>{pct(t.get('revenue_share_pct'))}</td><td>{usd(t['cost_usd'])}</td><td>{usd(t['margin_usd'])}</td>"
            f"<td>{pct(t.get('margin_pct'))}</td><td>{_e(', '.join(map(str, t.get('customers', []))))}"
            f"{' and ' + format(t['customers_omitted'], ',') + ' more' if t.get('customers_omitted') else ''}</td></tr>"
        )
    return f"""<section id="concentration"><h2>Cost concentration</h2>
<p class="note">What share of cost the costliest customers make.</p>
<div class="scroll"><table class="data"><thead><tr><th>customers</th><th>count</th><th>share of cost</th><th>share of revenue</th>
<th>cost</th><th>margin</th><th>margin %</th><th>who</th></tr></thead><tbody>{"".join(rows)}</tbody></table></div></section>"""


def _cohorts(env: dict[str, Any]) -> str:
    cohorts = env.get("cohorts", [])
    width = max((len(c.get("periods", [])) for c in cohorts), default=0)
    head = "".join(f"<th>month {i + 1}</th>" for i in range(width))
    rows = []
    for c in cohorts:
        cells = "".join(f"<td>{pct(p.get('margin_pct'))}</td>" for p in c.get("periods", []))
        cells += "<td></td>" * (width - len(c.get("periods", [])))
        rows.append(
            f"<tr><td>{_e(c['cohort'])}</td><td>{c['customers']:,}</td><td>{pct(c.get('margin_pct'))}</td>{cells}</tr>"
        )
    return f"""<section id="cohorts"><h2>Cohorts</h2>
<p class="note">Customers grouped by the month of their first call; margin % in each month since.</p>
<div class="scroll"><table class="data"><thead><tr><th>cohort</th><th>customers</th><th>margin %</th>{head}</tr></thead>
<tbody>{"".join(rows)}</tbody></table></div></section>"""


def _budgets(env: dict[str, Any]) -> str:
    budgets = env.get("budgets", [])
    if not budgets:
        return (
            '<section id="budgets"><h2>Budgets</h2><p class="note">No budgets yet: '
            "<code>margindash budget set NAME --scope org --limit-usd 1000 --period month</code>.</p></section>"
        )
    rows = []
    for b in budgets:
        used = Decimal(b["pct_used"])
        w, c = Decimal(b["warn_pct"]), Decimal(b["critical_pct"])
        top = max(Decimal(100), c, used)
        gauge = (
            f'<span class="gauge"><span class="fill {_e(b["level"])}" style="width:{min(used / top * 100, 100):.1f}%"></span>'
            f'<span class="mark warn" style="left:{w / top * 100:.1f}%" title="warning {w}%"></span>'
            f'<span class="mark crit" style="left:{c / top * 100:.1f}%" title="critical {c}%"></span></span>'
        )
        rows.append(
            f"<tr><td>{_e(b['name'])}</td><td>{_e(b['scope'])}</td><td>{_e(b['period_label'])}</td>"
            f"<td>{usd(b['spend_usd'])}</td><td>{usd(b['limit_usd'])}</td><td>{_e(b['pct_used'])}%</td>"
            f"<td>{gauge}</td><td>{_e(b['level'])}</td></tr>"
        )
    return f"""<section id="budgets"><h2>Budgets</h2>
<p class="note">Each budget's current period (budgets keep their own calendar). Marks: warning and critical levels.</p>
<div class="scroll"><table class="data"><thead><tr><th>budget</th><th>scope</th><th>period</th><th>spend</th><th>limit</th>
<th>used</th><th>against warning / critical</th><th>level</th></tr></thead><tbody>{"".join(rows)}</tbody></table></div></section>"""


def best_swaps(env: dict[str, Any]) -> list[dict[str, Any]]:
    """Per feature, the recommended candidate with the largest monthly saving (none where nothing saves)."""
    out = []
    for f in env.get("features", []):
        recs = [r for r in f.get("recommendations", []) if r.get("model") and r.get("monthly_savings_usd") is not None]
        best = max(recs, key=lambda r: Decimal(r["monthly_savings_usd"]), default=None)
        if best is not None and Decimal(best["monthly_savings_usd"]) > 0:
            out.append(
                {"feature": f["feature"], "current": ", ".join(m["model"] for m in f.get("current_models", [])), **best}
            )
    return out


def _simulate(env: dict[str, Any]) -> str:
    if "error" in env:
        return f'<section id="simulate"><h2>Model swaps</h2><p class="note">{_e(env["error"])}</p></section>'
    rows = [
        f"<tr><td>{_e(s['feature'])}</td><td>{_e(s['current'])}</td><td>{_e(s['provider'])}/{_e(s['model'])}</td>"
        f"<td>{_e(str(s.get('kind') or '').replace('_', ' '))}{' (' + _e(s['tier']) + ')' if s.get('tier') else ''}</td><td>{'' if s.get('score') is None else _e(s['score'])}</td>"
        f"<td>{usd(s['monthly_savings_usd'])}</td></tr>"
        for s in best_swaps(env)
    ]
    if not rows:
        body = '<p class="note">No candidate scores as well as the current models for less.</p>'
    else:
        body = (
            '<div class="scroll"><table class="data"><thead><tr><th>feature</th><th>now</th><th>swap to</th><th>why</th>'
            f"<th>{_e(env.get('benchmark'))}</th><th>saving / month</th></tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
        )
    return f"""<section id="simulate"><h2>Model swaps</h2>
<p class="note">Per feature, the recommended swap that saves the most, from <code>margindash simulate</code> on
{_e(env.get("query", {}).get("since"))} to {_e(env.get("query", {}).get("until"))} (the range's last days: their real calls
re-priced, the saving a monthly run rate; scores: {_e(env.get("benchmark"))}).</p>{body}</section>"""


RECONCILE_PARTS = (
    ("untracked_usage", "untracked usage"),
    ("price_difference", "price difference"),
    ("unlogged_charges", "charges no log carries"),
    ("unpriced_calls", "unpriced calls"),
    ("remaining", "remaining"),
)


def _reconcile(env: dict[str, Any]) -> str:
    rows = [r for r in env.get("rows", []) if r.get("billed_usd") not in (None, "0")]
    provisional = env.get("provisional_days") or {}
    prov_note = ""
    if provisional:
        prov_note = (
            '<p class="warn" id="provisional"><b>Provisional costs</b>: no bill synced for '
            + "; ".join(
                f"{_e(p)} ({len(days):,} day(s), {_e(days[0])} to {_e(days[-1])})" for p, days in provisional.items()
            )
            + ". Those days show our computed cost: <code>margindash sync-costs</code>.</p>"
        )
    if not rows:
        return (
            '<section id="reconcile"><h2>Against the provider\'s bill</h2><p class="note">No bill synced for this range:'
            " every cost here is computed (our price times the logged tokens). <code>margindash sync-costs</code> or"
            f" <code>margindash costs import FILE</code> add the billed side.</p>{prov_note}</section>"
        )
    head = "".join(f"<th>{label}</th>" for _, label in RECONCILE_PARTS)
    trs = []
    for r in rows:
        parts = "".join(f"<td>{usd(r['explained'].get(k))}</td>" for k, _ in RECONCILE_PARTS)
        gap = r.get("gap_pct")
        trs.append(
            f"<tr><td>{_e(r['provider'])}</td><td>{_e(r.get('month', ''))}</td><td>{_e(r.get('model') or '(no model)')}</td>"
            f"<td>{usd(r['computed_usd'])}</td><td>{usd(r['billed_usd'])}</td><td>{usd(r['gap_usd'])}</td>"
            f"<td>{'-' if gap is None else _e(gap) + '%'}</td>"
            f"<td>{'-' if r.get('coverage_pct') is None else _e(r['coverage_pct']) + '%'}</td>{parts}</tr>"
        )
    t = env["totals"]
    tparts = "".join(f"<td>{usd(t['explained'].get(k))}</td>" for k, _ in RECONCILE_PARTS)
    over = env.get("over_tolerance") or []
    over_note = (
        f" <b>{len(over)} provider day(s) or month(s) are off their bill by more than {_e(env['tolerance_pct'])}%.</b>"
        if over
        else f" Every provider's month is within {_e(env['tolerance_pct'])}% of its bill."
    )
    return f"""<section id="reconcile"><h2>Against the provider's bill</h2>
<p class="note">Computed cost (our price times the logged tokens) against what the providers billed, per month and model
(UTC days), and what explains the gap, from <code>margindash reconcile --by month</code>.{over_note}</p>{prov_note}
<div class="scroll"><table class="data" id="rows-reconcile"><thead><tr><th>provider</th><th>month</th><th>model</th><th>computed</th>
<th>billed</th><th>gap</th><th>gap %</th><th>coverage</th>{head}</tr></thead><tbody>{"".join(trs)}</tbody>
<tfoot><tr><td colspan="3">total</td><td>{usd(t["computed_usd"])}</td><td>{usd(t["billed_usd"])}</td><td>{usd(t["gap_usd"])}</td>
<td>{"-" if t.get("gap_pct") is None else _e(t["gap_pct"]) + "%"}</td><td>{"-" if t.get("coverage_pct") is None else _e(t["coverage_pct"]) + "%"}</td>{tparts}</tr></tfoot>
</table></div></section>"""


def _footer(data: dict[str, Any]) -> str:
    p = data["provenance"]
    cat = p["price_catalog"]
    age = "" if cat["age_days"] is None else f", {cat['age_days']} day(s) old"
    prices = f"shipped catalog {_e(cat['shipped_version'])}" + (
        f", last sync-prices {_e(cat['last_sync_prices'])}" if cat["last_sync_prices"] else ""
    )
    r = p["range"]
    days = f"{r['first_day']} to {r['last_day']}" if r["first_day"] else "no data"
    return f"""<footer id="provenance">
<dl>
<dt>data</dt><dd>{_e(r["label"])}: {_e(days)} (time zone {_e(p["tz"])})</dd>
<dt>prices</dt><dd>{prices}{_e(age)}</dd>
<dt>Stripe</dt><dd>{"last sync-stripe " + _e(p["last_sync_stripe"]) if p["last_sync_stripe"] else "never synced"}</dd>
<dt>made by</dt><dd>margindash {_e(p["margindash_version"])}: <code>{_e(p["command"])}</code></dd>
</dl>
<p class="note">Money is rounded to the cent for display; the data embedded in this file (the same JSON as
<code>--json</code>) is exact.</p>
</footer>"""
