// Dashboard: "active pipeline now" and the pending / processing list, from api/pending-accounts
// (relative URL; the store lists PROCESSING first, so the pipelines holding claims are all in it).
// The list is paged here, 20 per page, over the first 100 records the route returns.
(function () {
  "use strict";
  var card = document.getElementById("activity");
  if (!card) return;
  var network = card.dataset.network, PAGE = 20, page = 0, rows = [], total = 0;
  var refreshMs = Math.max(5, Number((document.getElementById("app") || {}).dataset.refresh) || 30) * 1000;
  var LABELS = { API: "API (Horizon + Stellar Expert)", BIGQUERY: "BigQuery" };

  function $(id) { return document.getElementById(id); }
  function clear(n) { while (n.firstChild) n.removeChild(n.firstChild); return n; }
  function fmt(n) { return Number(n || 0).toLocaleString("en-US"); }

  function drawActive() {
    var box = clear($("active-now")), by = {};
    rows.forEach(function (r) {
      if (r.status !== "PROCESSING") return;
      var k = r.claim_pipeline || "unknown";
      by[k] = by[k] || { n: 0, oldest: 0, stuck: 0 };
      by[k].n += 1; by[k].oldest = Math.max(by[k].oldest, r.age_minutes); by[k].stuck += r.is_stuck ? 1 : 0;
    });
    var keys = Object.keys(by).sort();
    if (!keys.length) {
      var idle = document.createElement("span"); idle.className = "badge s-unknown"; idle.textContent = "idle";
      box.appendChild(idle);
      box.appendChild(document.createTextNode(" no pipeline holds a claim"));
      return;
    }
    keys.forEach(function (k) {
      var item = document.createElement("div"); item.className = "active-item"; item.dataset.pipeline = k;
      var b = document.createElement("span"); b.className = "badge s-processing"; b.textContent = LABELS[k] || k;
      var t = document.createElement("span");
      t.textContent = " " + fmt(by[k].n) + " claimed · oldest " + by[k].oldest + " min" + (by[k].stuck ? " · " + by[k].stuck + " stuck" : "");
      item.appendChild(b); item.appendChild(t); box.appendChild(item);
    });
  }

  function drawList() {
    var list = clear($("queue-list"));
    rows.slice(page * PAGE, page * PAGE + PAGE).forEach(function (r) {
      var li = document.createElement("li");
      var a = document.createElement("a"); a.className = "addr";
      a.href = "lineage/" + r.stellar_account + "?network=" + encodeURIComponent(r.network_name);
      a.textContent = r.stellar_account;
      var meta = document.createElement("span"); meta.className = "meta";
      meta.textContent = [r.status + (r.claim_pipeline && r.status === "PROCESSING" ? " (" + r.claim_pipeline + ")" : ""),
        r.age_minutes + " min", r.is_stuck ? "stuck" : null, r.retry_count ? "retries " + r.retry_count : null]
        .filter(Boolean).join(" · ");
      li.appendChild(a); li.appendChild(meta); list.appendChild(li);
    });
    var from = rows.length ? page * PAGE + 1 : 0, to = Math.min(rows.length, page * PAGE + PAGE);
    $("queue-range").textContent = from + "–" + to + " of " + fmt(rows.length) + (total > rows.length ? " shown (" + fmt(total) + " in the queue)" : "");
    $("queue-prev").disabled = page === 0;
    $("queue-next").disabled = to >= rows.length;
  }

  function load() {
    fetch("api/pending-accounts?network=" + encodeURIComponent(network), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
      .then(function (d) {
        rows = d.accounts || []; total = d.total_pending || rows.length;
        if (page * PAGE >= rows.length) page = 0;
        drawActive(); drawList();
      })
      .catch(function (e) { $("active-now").textContent = String(e.message || e); })
      .then(function () { window.setTimeout(load, refreshMs); });
  }
  $("queue-prev").addEventListener("click", function () { page = Math.max(0, page - 1); drawList(); });
  $("queue-next").addEventListener("click", function () { page += 1; drawList(); });
  load();
})();
