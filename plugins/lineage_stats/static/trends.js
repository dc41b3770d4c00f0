// Dashboard: trend per pipeline (api/trends, 7 or 30 days), latency per pipeline (api/latency) and the
// recently finished accounts (api/recent-accounts, paged by cursor). Relative URLs, plain SVG, no
// libraries; styles through classes or CSSOM only (the CSP has no 'unsafe-inline', ui/security.py).
(function () {
  "use strict";
  var card = document.getElementById("trend");
  if (!card) return;
  var SVG = "http://www.w3.org/2000/svg";
  var network = card.dataset.network;
  var refreshMs = Math.max(5, Number((document.getElementById("app") || {}).dataset.refresh) || 30) * 1000;
  var PIPELINES = [
    { key: "API", label: "API (Horizon + Stellar Expert)", color: "var(--api)" },
    { key: "BIGQUERY", label: "BigQuery", color: "var(--bq)" },
    { key: "GRAPH", label: "Creator graph", color: "var(--graph)" }
  ];
  var OUTCOME_LABEL = { complete: "completed", failed: "failed", invalid: "invalid" };
  var state = { days: 7, outcome: "complete", trend: null, recentCursors: [null], recentPage: 0 };

  function $(id) { return document.getElementById(id); }
  function clear(n) { while (n.firstChild) n.removeChild(n.firstChild); return n; }
  function fmt(n) { return Number(n || 0).toLocaleString("en-US"); }
  function el(name, attrs, text) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function html(name, cls, text) {
    var node = document.createElement(name);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function duration(s) {
    if (s === null || s === undefined) return "–";
    if (s < 60) return (s < 10 ? s.toFixed(1) : Math.round(s)) + " s";
    if (s < 3600) return (s / 60).toFixed(1) + " min";
    if (s < 86400) return (s / 3600).toFixed(1) + " h";
    return (s / 86400).toFixed(1) + " d";
  }
  function ago(iso) {
    var min = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 60000));
    if (min < 60) return min + " min ago";
    if (min < 2880) return Math.round(min / 60) + " h ago";
    return Math.round(min / 1440) + " d ago";
  }
  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (body) {
        if (!r.ok) throw new Error((body && body.detail) || "HTTP " + r.status);
        return body;
      });
    });
  }
  function niceMax(v) {
    if (v <= 4) return 4;
    var p = Math.pow(10, Math.floor(Math.log10(v))), m = v / p;
    return (m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
  }

  // --- trend chart: one stacked bar per UTC day, a segment per pipeline -------------------------
  function drawTrend() {
    var d = state.trend, svg = clear($("c-trend"));
    if (!d) return;
    var outcome = state.outcome, left = 44, top = 10, width = 820, height = 160;
    var totals = d.series.map(function (day) {
      return PIPELINES.reduce(function (a, p) { return a + day[p.key][outcome]; }, 0);
    });
    var max = niceMax(Math.max.apply(null, totals.concat([0])));
    if (max < 100 && max % 4) max = Math.ceil(max / 4) * 4;  // whole-number ticks for small counts
    for (var t = 0; t <= 4; t++) {
      var y = top + height - (height * t) / 4;
      svg.appendChild(el("line", { x1: left, x2: left + width, y1: y, y2: y, class: "grid" }));
      svg.appendChild(el("text", { x: left - 6, y: y + 4, "text-anchor": "end", class: "muted" }, fmt((max * t) / 4)));
    }
    var slot = width / d.series.length, bar = slot * 0.72, every = d.series.length > 10 ? 5 : 1;
    d.series.forEach(function (day, i) {
      var x = left + i * slot + (slot - bar) / 2, y = top + height;
      PIPELINES.forEach(function (p) {
        var v = day[p.key][outcome];
        if (!v) return;
        var h = (height * v) / max;
        y -= h;
        var rect = el("rect", { x: x, y: y, width: bar, height: h, fill: p.color, rx: 2, "data-pipeline": p.key });
        rect.appendChild(el("title", {}, day.day + " · " + p.label + ": " + fmt(v) + " " + OUTCOME_LABEL[outcome]));
        svg.appendChild(rect);
      });
      var last = i === d.series.length - 1;
      if (last || (d.series.length - 1 - i) % every === 0) {
        svg.appendChild(el("text", { x: x + bar / 2, y: top + height + 16, "text-anchor": "middle", class: "muted" },
          last ? "today" : day.day.slice(5)));
      }
    });
    var sum = totals.reduce(function (a, b) { return a + b; }, 0);
    $("trend-hint").textContent = "Records " + OUTCOME_LABEL[outcome] + " per UTC day by pipeline, last " + d.days +
      " days: " + fmt(sum) + " (counted from the store's trends migration on)";
    var legend = clear($("l-trend"));
    PIPELINES.forEach(function (p) {
      var li = html("li"), sw = html("span", "sw");
      sw.style.background = p.color;
      li.appendChild(sw); li.appendChild(html("span", "", p.label));
      li.appendChild(html("span", "n", fmt(d.totals[p.key][outcome])));
      legend.appendChild(li);
    });
  }

  function loadTrend() {
    return getJSON("api/trends?network=" + encodeURIComponent(network) + "&days=" + state.days)
      .then(function (d) { state.trend = d; drawTrend(); });
  }

  // --- latency table ---------------------------------------------------------------------------
  function drawLatency(d) {
    var body = clear(document.querySelector("#latency-table tbody"));
    PIPELINES.forEach(function (p) {
      var tr = html("tr"), name = html("td"), sw = html("span", "sw");
      tr.dataset.pipeline = p.key;
      sw.style.background = p.color;
      name.appendChild(sw); name.appendChild(document.createTextNode(p.label));
      tr.appendChild(name);
      ["24h", "7d"].forEach(function (w) {
        var v = d.windows[w][p.key];
        var none = !v.count;
        tr.appendChild(html("td", none ? "none" : "", fmt(v.count)));
        tr.appendChild(html("td", none ? "none" : "", duration(v.mean_seconds)));
        tr.appendChild(html("td", none ? "none" : "", none ? "–" : duration(v.p50_seconds) + " / " + duration(v.p95_seconds)));
      });
      body.appendChild(tr);
    });
  }

  function loadLatency() {
    return getJSON("api/latency?network=" + encodeURIComponent(network)).then(drawLatency);
  }

  // --- recent accounts (cursor pages: a stack of cursors for "Newer") ----------------------------
  function drawRecent(d) {
    var list = clear($("recent-list"));
    d.accounts.forEach(function (r) {
      var li = html("li"), a = html("a", "addr", r.stellar_account);
      a.href = "lineage/" + r.stellar_account + "?network=" + encodeURIComponent(r.network_name);
      var meta = html("span", "meta");
      meta.appendChild(html("span", "badge s-" + r.status.toLowerCase(), r.status));
      meta.appendChild(html("span", "", r.pipeline + (r.pipeline_source && r.pipeline_source !== r.pipeline ? " (" + r.pipeline_source + ")" : "")));
      var when = html("span", "", ago(r.finished_at));
      when.title = r.finished_at;
      meta.appendChild(when);
      if (r.last_error) meta.appendChild(html("span", "", r.last_error.slice(0, 80)));
      li.appendChild(a); li.appendChild(meta); list.appendChild(li);
    });
    var from = state.recentPage * 20 + 1;
    $("recent-range").textContent = d.count ? from + "–" + (from + d.count - 1) : "none in the last " + d.window_days + " days";
    state.recentCursors[state.recentPage + 1] = d.next_cursor;
    $("recent-prev").disabled = state.recentPage === 0;
    $("recent-next").disabled = !d.next_cursor;
  }

  function loadRecent() {
    var cursor = state.recentCursors[state.recentPage];
    return getJSON("api/recent-accounts?network=" + encodeURIComponent(network) + "&limit=20" +
      (cursor ? "&cursor=" + encodeURIComponent(cursor) : "")).then(drawRecent);
  }

  function problem(err) { $("trend-hint").textContent = String(err.message || err); }

  function refresh() {
    Promise.all([loadTrend(), loadLatency(), loadRecent()]).catch(problem)
      .then(function () { window.setTimeout(refresh, refreshMs); });
  }

  function segment(attr, apply) {
    var buttons = card.querySelectorAll("button[data-" + attr + "]");
    buttons.forEach(function (b) {
      b.addEventListener("click", function () {
        buttons.forEach(function (o) { o.classList.toggle("on", o === b); });
        apply(b.dataset[attr]);
      });
    });
  }
  segment("outcome", function (v) { state.outcome = v; drawTrend(); });
  segment("days", function (v) { state.days = Number(v); loadTrend().catch(problem); });
  $("recent-next").addEventListener("click", function () {
    if (!state.recentCursors[state.recentPage + 1]) return;
    state.recentPage += 1; loadRecent().catch(problem);
  });
  $("recent-prev").addEventListener("click", function () {
    state.recentPage = Math.max(0, state.recentPage - 1); loadRecent().catch(problem);
  });
  refresh();
})();
