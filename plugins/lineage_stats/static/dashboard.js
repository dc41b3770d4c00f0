// Dashboard: fetches api/dashboard (relative URL, so any [api] base_url works) every
// data-refresh seconds and draws plain SVG charts. No libraries: the API server may be offline.
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var app = document.getElementById("app");
  var network = app.dataset.network;
  var refreshMs = Math.max(5, Number(app.dataset.refresh) || 30) * 1000;
  var SOURCES = [
    { key: "api", label: "API (Horizon + Stellar Expert)", color: "var(--api)" },
    { key: "bigquery", label: "BigQuery", color: "var(--bq)" },
    { key: "bigquery_with_fallback", label: "BigQuery → API fallback", color: "var(--fb)" }
  ];
  var STATUSES = [
    { key: "pending_total", label: "Pending", color: "var(--pending)" },
    { key: "processing_total", label: "Processing", color: "var(--processing)" },
    { key: "complete_total", label: "Complete", color: "var(--complete)" },
    { key: "failed_total", label: "Failed", color: "var(--failed)" },
    { key: "invalid_total", label: "Invalid", color: "var(--invalid)" }
  ];

  function $(id) { return document.getElementById(id); }
  function fmt(n) { return Number(n || 0).toLocaleString("en-US"); }
  function usd(n) {
    if (n === null || n === undefined) return "–";
    return "$" + Number(n).toFixed(Math.abs(n) > 0 && Math.abs(n) < 0.01 ? 4 : 2);
  }
  function el(name, attrs, text) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "style") {  // CSSOM, not a style attribute: the CSP has no 'unsafe-inline' (ui/security.py)
        attrs[k].split(";").forEach(function (decl) {
          var i = decl.indexOf(":");
          if (i > 0) node.style.setProperty(decl.slice(0, i).trim(), decl.slice(i + 1).trim());
        });
      } else {
        node.setAttribute(k, attrs[k]);
      }
    });
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }
  function setText(id, text) { $(id).textContent = text; }
  function legend(ul, items, total) {
    clear(ul);
    items.forEach(function (it) {
      var li = document.createElement("li");
      var sw = document.createElement("span"); sw.className = "sw"; sw.style.background = it.color;
      var label = document.createElement("span"); label.textContent = it.label;
      li.appendChild(sw); li.appendChild(label);
      if (it.value !== undefined) {
        var n = document.createElement("span"); n.className = "n"; n.textContent = fmt(it.value);
        li.appendChild(n);
        if (total) {
          var p = document.createElement("span"); p.className = "pct";
          p.textContent = Math.round((100 * it.value) / total) + "%";
          li.appendChild(p);
        }
      }
      ul.appendChild(li);
    });
  }

  function drawMix(stats) {
    var svg = clear($("c-mix"));
    var values = SOURCES.map(function (s) { return stats[s.key + "_total"] || 0; });
    var total = values.reduce(function (a, b) { return a + b; }, 0);
    var r = 60, c = 2 * Math.PI * r, offset = 0;
    svg.appendChild(el("circle", { cx: 80, cy: 80, r: r, fill: "none", stroke: "var(--line)", "stroke-width": 22 }));
    SOURCES.forEach(function (s, i) {
      if (!total || !values[i]) return;
      var len = (c * values[i]) / total;
      svg.appendChild(el("circle", {
        cx: 80, cy: 80, r: r, fill: "none", stroke: s.color, "stroke-width": 22,
        "stroke-dasharray": len + " " + (c - len), "stroke-dashoffset": -offset, transform: "rotate(-90 80 80)"
      }));
      offset += len;
    });
    // a style property: the stylesheet's svg text size would override a font-size attribute
    svg.appendChild(el("text", { x: 80, y: 84, "text-anchor": "middle", style: "font-size:26px;font-weight:700" }, fmt(total)));
    svg.appendChild(el("text", { x: 80, y: 102, "text-anchor": "middle", class: "muted", style: "font-size:12px" }, "completed"));
    legend($("l-mix"), SOURCES.map(function (s, i) { return { label: s.label, color: s.color, value: values[i] }; }), total);
  }

  function drawStatus(stats) {
    var svg = clear($("c-status"));
    var max = Math.max.apply(null, STATUSES.map(function (s) { return stats[s.key] || 0; }).concat([1]));
    STATUSES.forEach(function (s, i) {
      var y = 8 + i * 32, w = Math.max(2, (300 * (stats[s.key] || 0)) / max);
      svg.appendChild(el("text", { x: 0, y: y + 15 }, s.label));
      svg.appendChild(el("rect", { x: 80, y: y + 2, width: 300, height: 18, rx: 4, fill: "var(--line)", opacity: 0.5 }));
      svg.appendChild(el("rect", { x: 80, y: y + 2, width: w, height: 18, rx: 4, fill: s.color }));
      svg.appendChild(el("text", { x: 386, y: y + 15, "font-weight": 650 }, fmt(stats[s.key])));
    });
  }

  function niceMax(v) {
    if (v <= 4) return 4;
    var p = Math.pow(10, Math.floor(Math.log10(v))), m = v / p;
    return (m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
  }

  function drawHourly(hours, rate) {
    var svg = clear($("c-hourly"));
    var left = 44, top = 10, width = 820, height = 160;
    var totals = hours.map(function (h) { return SOURCES.reduce(function (a, s) { return a + (h[s.key] || 0); }, 0); });
    var max = niceMax(Math.max.apply(null, totals.concat([0])));
    for (var t = 0; t <= 4; t++) {
      var y = top + height - (height * t) / 4;
      svg.appendChild(el("line", { x1: left, x2: left + width, y1: y, y2: y, class: "grid" }));
      svg.appendChild(el("text", { x: left - 6, y: y + 4, "text-anchor": "end", class: "muted" }, fmt((max * t) / 4)));
    }
    var slot = width / Math.max(1, hours.length), bar = slot * 0.72;
    hours.forEach(function (h, i) {
      var x = left + i * slot + (slot - bar) / 2, y = top + height;
      SOURCES.forEach(function (s) {
        var v = h[s.key] || 0;
        if (!v) return;
        var bh = (height * v) / max;
        y -= bh;
        var rect = el("rect", { x: x, y: y, width: bar, height: bh, fill: s.color, rx: 2 });
        rect.appendChild(el("title", {}, h.hour.slice(11, 16) + " UTC · " + s.label + ": " + fmt(v)));
        svg.appendChild(rect);
      });
      if (i % 3 === 0 || i === hours.length - 1) {
        svg.appendChild(el("text", { x: x + bar / 2, y: top + height + 16, "text-anchor": "middle", class: "muted" },
          h.hour.slice(11, 13) + "h"));
      }
    });
    setText("rate-hint", "Completions per hour by pipeline (UTC) · average " + rate + "/h over 24 h");
    legend($("l-hourly"), SOURCES.map(function (s) {
      return { label: s.label, color: s.color, value: hours.reduce(function (a, h) { return a + (h[s.key] || 0); }, 0) };
    }));
  }

  function drawSpend(spend) {
    var svg = clear($("c-spend"));
    var rows = [
      { label: "Spent", value: spend.total_usd, color: "var(--spent)" },
      { label: "Saved", value: spend.saved_usd, color: "var(--saved)" }
    ];
    var max = Math.max(spend.total_usd, spend.saved_usd, 0.01);
    rows.forEach(function (r, i) {
      var y = 10 + i * 44;
      svg.appendChild(el("text", { x: 0, y: y + 20, "font-weight": 650 }, r.label));
      svg.appendChild(el("rect", { x: 60, y: y + 4, width: 700, height: 24, rx: 5, fill: "var(--line)", opacity: 0.5 }));
      svg.appendChild(el("rect", { x: 60, y: y + 4, width: Math.max(2, (700 * r.value) / max), height: 24, rx: 5, fill: r.color }));
      svg.appendChild(el("text", { x: 770, y: y + 21, "font-weight": 650, "font-size": 13 }, usd(r.value)));
    });
    var facts = clear($("spend-facts"));
    [["Today", usd(spend.today_usd)], ["Per account", usd(spend.cost_per_account_usd)],
     ["Accounts billed", fmt(spend.accounts_billed)], ["Jobs", fmt(spend.jobs)],
     ["Dry runs", fmt(spend.dry_runs)], ["Refused", fmt(spend.refused)],
     ["Scanned", (spend.total_bytes / 1e9).toFixed(1) + " GB"]].forEach(function (f) {
      var span = document.createElement("span"); span.textContent = f[0] + " ";
      var b = document.createElement("b"); b.textContent = f[1]; span.appendChild(b); facts.appendChild(span);
    });
  }

  function render(d) {
    var s = d.stats;
    setText("k-total", fmt(s.total_accounts));
    setText("k-complete", fmt(s.complete_total));
    setText("k-rate", fmt(Object.values(s.last_24h).reduce(function (a, b) { return a + b; }, 0)) + " in the last 24 h");
    setText("k-queue", fmt(s.queue_depth));
    setText("k-processing", fmt(s.processing_total));
    setText("k-stuck", fmt(s.stuck_total));
    setText("k-stuck-sub", "processing > " + d.stuck_threshold_minutes + " min");
    $("t-stuck").classList.toggle("alert", s.stuck_total > 0);
    setText("k-failed", fmt(s.failed_total) + " / " + fmt(s.invalid_total));
    drawMix(s);
    drawStatus(s);
    drawHourly(d.hourly_completions, d.rate_per_hour_24h);
    drawSpend(d.spend);
    setText("updated", "Updated " + new Date(s.timestamp).toLocaleTimeString() + " · refreshes every " + refreshMs / 1000 + " s");
  }

  function showError(text) { var e = $("error"); e.textContent = text; e.hidden = !text; }

  function load() {
    fetch("api/dashboard?network=" + encodeURIComponent(network), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (body) {
          if (r.status === 401 || r.status === 403) throw new Error("Not signed in to Airflow (" + r.status + "): reload the Airflow UI and sign in.");
          if (!r.ok) throw new Error((body && body.detail) || "HTTP " + r.status);
          return body;
        });
      })
      .then(function (d) { render(d); showError(""); })
      .catch(function (err) { showError(String(err.message || err)); })
      .then(function () { window.setTimeout(load, refreshMs); });
  }
  load();
})();
