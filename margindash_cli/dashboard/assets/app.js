/* margindash HTML report: draws the charts from the embedded data and sorts tables. The page reads
   without this script (its tables are HTML); nothing here fetches anything. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("margindash-data").textContent);
  var state = { charts: {} };
  window.margindash = { data: data, state: state };

  function exactUsd(s) {
    if (s === null || s === undefined) return "unknown";
    var neg = s.charAt(0) === "-", t = neg ? s.slice(1) : s, parts = t.split(".");
    var whole = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return (neg ? "-$" : "$") + whole + (parts.length > 1 ? "." + parts[1] : "");
  }
  function shortUsd(v) {
    if (v === null || v === undefined) return "";
    var a = Math.abs(v), sign = v < 0 ? "-" : "";
    if (a >= 1e6) return sign + "$" + (a / 1e6).toFixed(1) + "M";
    if (a >= 1e3) return sign + "$" + (a / 1e3).toFixed(1) + "k";
    return sign + "$" + a.toFixed(a < 10 && a > 0 ? 2 : 0);
  }
  function dayToSec(iso) {
    var p = iso.split("-");
    return Date.UTC(+p[0], +p[1] - 1, +p[2]) / 1000;
  }
  function periodEnd(sec, g) {
    if (g === "day") return sec + 86400;
    if (g === "week") return sec + 7 * 86400;
    var d = new Date(sec * 1000);
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) / 1000;
  }

  function timeline() {
    var t = data.timeline;
    if (!t || !t.periods || !t.periods.length || !t.report) return null;
    var g = t.granularity, byPeriod = {};
    t.report.rows.forEach(function (r) { byPeriod[r.group[g]] = r; });
    var out = { g: g, x: [], revenue: [], cost: [], margin: [], pct: [], exact: [], partial: [] };
    t.periods.forEach(function (p) {
      var r = byPeriod[p.period] || null;
      out.x.push(dayToSec(p.period));
      out.partial.push(p.partial);
      out.exact.push(r);
      out.revenue.push(r ? Number(r.revenue_usd) : 0);
      out.cost.push(r && r.cost_usd !== null ? Number(r.cost_usd) : (r ? null : 0));
      out.margin.push(r && r.margin_usd !== null ? Number(r.margin_usd) : (r ? null : 0));
      out.pct.push(r && r.margin_pct !== null && r.margin_pct !== undefined ? r.margin_pct : null);
    });
    return out;
  }

  function shadePartial(tl) {
    return function (u) {
      var ctx = u.ctx, top = u.bbox.top, h = u.bbox.height;
      ctx.save();
      ctx.fillStyle = "rgba(249,171,0,0.12)";
      tl.x.forEach(function (x, i) {
        if (!tl.partial[i]) return;
        var x0 = u.valToPos(x, "x", true), x1 = u.valToPos(periodEnd(x, tl.g), "x", true);
        ctx.fillRect(Math.min(x0, x1), top, Math.abs(x1 - x0), h);
      });
      ctx.restore();
    };
  }
  function zeroLine(scale) {
    return function (u) {
      var y = u.valToPos(0, scale, true);
      if (y < u.bbox.top || y > u.bbox.top + u.bbox.height) return;
      var ctx = u.ctx;
      ctx.save();
      ctx.strokeStyle = "#5b6475";
      ctx.lineWidth = 1;
      ctx.setLineDash([5, 4]);
      ctx.beginPath();
      ctx.moveTo(u.bbox.left, y);
      ctx.lineTo(u.bbox.left + u.bbox.width, y);
      ctx.stroke();
      ctx.restore();
    };
  }
  function exactValue(tl, field) {
    return function (u, v, si, idx) {
      if (idx === null || idx === undefined) return "--";
      var r = tl.exact[idx];
      if (!r) return "$0.00";
      return exactUsd(r[field]);
    };
  }

  // one scale that always holds the zero line, so a fall from 99.8% to 99.6% does not look like a collapse
  function pctRange(u, lo, hi) {
    lo = Math.min(0, lo === null ? 0 : lo);
    hi = Math.max(0, hi === null ? 0 : hi);
    if (hi === lo) hi = lo + 100;
    var pad = (hi - lo) * 0.05;
    return [lo < 0 ? lo - pad : 0, hi + pad];
  }
  function chartWidth(el) { return Math.max(280, el.clientWidth || 600); }

  function draw(tl) {
    var xRange = [tl.x[0], periodEnd(tl.x[tl.x.length - 1], tl.g)];
    var common = function (el, extra) {
      var opts = {
        width: chartWidth(el),
        height: 240,
        scales: { x: { time: true, range: function () { return xRange; } } },
        cursor: { points: { size: 7 } },
        legend: { live: true },
      };
      for (var k in extra) opts[k] = extra[k];
      return opts;
    };
    var el1 = document.getElementById("chart-revenue-cost");
    if (el1) {
      var o1 = common(el1, {
        series: [
          { value: function (u, v) { return v === null ? "--" : new Date(v * 1000).toISOString().slice(0, 10); } },
          { label: "revenue", stroke: "#1a73e8", width: 2, fill: "rgba(26,115,232,0.08)", points: { show: true }, value: exactValue(tl, "revenue_usd") },
          { label: "cost", stroke: "#ea4335", width: 2, points: { show: true }, value: exactValue(tl, "cost_usd") },
        ],
        axes: [{}, { values: function (u, vals) { return vals.map(shortUsd); }, size: 60 }],
        hooks: { drawClear: [shadePartial(tl)] },
      });
      state.charts.revenueCost = new uPlot(o1, [tl.x, tl.revenue, tl.cost], el1);
    }
    var el2 = document.getElementById("chart-margin-pct");
    if (el2) {
      var o2 = common(el2, {
        scales: { x: { time: true, range: function () { return xRange; } }, pct: { range: pctRange } },
        series: [
          { value: function (u, v) { return v === null ? "--" : new Date(v * 1000).toISOString().slice(0, 10); } },
          { label: "margin %", scale: "pct", stroke: "#137333", width: 2, points: { show: true }, spanGaps: false,
            value: function (u, v, si, idx) { return idx === null || idx === undefined || tl.pct[idx] === null ? "--" : tl.pct[idx].toFixed(2) + "%"; } },
        ],
        axes: [{}, { scale: "pct", values: function (u, vals) { return vals.map(function (v) { return v + "%"; }); }, size: 60 }],
        hooks: { drawClear: [shadePartial(tl)], draw: [zeroLine("pct")] },
      });
      state.charts.marginPct = new uPlot(o2, [tl.x, tl.pct], el2);
    }
    window.addEventListener("resize", function () {
      [["revenueCost", el1], ["marginPct", el2]].forEach(function (p) {
        var c = state.charts[p[0]];
        if (c && p[1]) c.setSize({ width: chartWidth(p[1]), height: 240 });
      });
    });
  }

  function sortable(table) {
    var heads = table.tHead ? table.tHead.rows[0].cells : [];
    Array.prototype.forEach.call(heads, function (th, col) {
      th.setAttribute("tabindex", "0");
      var go = function () {
        var desc = th.getAttribute("aria-sort") !== "descending";
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", desc ? "descending" : "ascending");
        var numeric = th.getAttribute("data-type") === "num";
        var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
        var key = function (tr) {
          var td = tr.cells[col];
          if (!numeric) return td.textContent;
          var v = td.getAttribute("data-v");
          return v === null || v === "" ? null : Number(v);
        };
        var pinned = function (tr) { return /^\(other/.test(tr.cells[0].textContent); };
        rows.sort(function (a, b) {
          if (pinned(a) !== pinned(b)) return pinned(a) ? 1 : -1;
          var ka = key(a), kb = key(b);
          if (ka === kb) return 0;
          if (ka === null) return 1;
          if (kb === null) return -1;
          var c = numeric ? ka - kb : String(ka).localeCompare(String(kb));
          return desc ? -c : c;
        });
        rows.forEach(function (tr) { body.appendChild(tr); });
      };
      th.addEventListener("click", go);
      th.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); go(); } });
    });
  }

  try {
    Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), sortable);
    var tl = timeline();
    if (tl && typeof uPlot !== "undefined") draw(tl);
  } finally {
    document.documentElement.setAttribute("data-ready", "1");
  }
})();
