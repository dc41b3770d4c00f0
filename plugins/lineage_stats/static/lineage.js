// Lineage explorer: the account's creator chain up to the network root and its descendants as an
// interactive tidy tree (radial like the seed's web app, or left-to-right), drawn with the vendored
// d3 (static/vendor, pinned; no CDN). Children load a page at a time from api/children (relative
// URLs: any [api] base_url works, also inside the Airflow UI iframe), so a node with 10,000 children
// shows one page plus "more" nodes, and the side panel searches them. No inline styles or handlers:
// the plugin's Content-Security-Policy allows only 'self' scripts and styles.
(function () {
  "use strict";
  var box = document.getElementById("explorer");
  if (!box || !window.d3) return;
  var d3 = window.d3;
  var network = box.dataset.network, focus = box.dataset.account, base = box.dataset.base || "";
  var PAGE = 50, PANEL_PAGE = 100;
  var svg = d3.select("#x-graph"), g = svg.append("g"), gLinks = g.append("g"), gNodes = g.append("g");
  var radial = true, selected = null, searchTimer = null;
  var SRC = { API: "A", BIGQUERY: "B", BIGQUERY_WITH_API_FALLBACK: "F" };

  function $(id) { return document.getElementById(id); }
  function short(a) { return a ? a.slice(0, 4) + "…" + a.slice(-4) : ""; }
  function fmt(n) { return Number(n || 0).toLocaleString("en-US"); }
  function status(text) { $("x-status").textContent = text || ""; }
  function href(account) { return base + "lineage/" + account + "?network=" + encodeURIComponent(network); }
  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (body) {
        if (!r.ok) throw new Error((body && body.detail) || "HTTP " + r.status);
        return body;
      });
    });
  }

  // --- model: one object per account; kids = the page of children shown -------------------------
  var nodes = {};
  function node(info) {
    var n = nodes[info.account] || (nodes[info.account] = { account: info.account, kids: null, expanded: false,
      offset: 0, q: "", cursor: null, cursors: [], page: null });
    ["status", "pipeline_source", "tags", "created_at", "home_domain", "children_count"].forEach(function (k) {
      if (info[k] !== undefined && info[k] !== null) n[k] = info[k];
    });
    return n;
  }
  function childrenUrl(n, limit) {
    var u = base + "api/children/" + n.account + "?network=" + encodeURIComponent(network) + "&limit=" + limit +
      "&offset=" + n.offset + "&q=" + encodeURIComponent(n.q);
    return n.cursor ? u + "&cursor=" + encodeURIComponent(n.cursor) : u;
  }
  function loadPage(n) {
    status("Loading children of " + short(n.account) + "…");
    return getJSON(childrenUrl(n, PAGE)).then(function (page) {
      n.page = page;
      var keep = n.kids ? n.kids.filter(function (k) { return k.pinned; }) : [];
      n.kids = keep.concat(page.items.filter(function (it) {
        return !keep.some(function (k) { return k.account === it.account; });
      }).map(node));
      if (page.total !== null && n.children_count === undefined) n.children_count = page.total;
      status("");
    });
  }
  function toggle(n) {
    // a chain ancestor is open on one child only: its first click loads its children page
    if (n.expanded && n.page) { n.expanded = false; render(); return Promise.resolve(); }
    n.expanded = true;
    var p = n.kids && n.page ? Promise.resolve() : loadPage(n);
    return p.then(function () { render(); fit(); }).catch(function (e) { n.expanded = false; status(String(e.message || e)); });
  }
  function more(n, step) {
    if (n.page && n.page.mode === "graph") {
      if (step > 0) { n.cursors.push(n.cursor); n.cursor = n.page.next_cursor; } else { n.cursor = n.cursors.pop() || null; }
    } else {
      n.offset = Math.max(0, n.offset + step * PAGE);
    }
    return loadPage(n).then(function () { render(); fit(); });
  }
  function hasMore(n) {
    var p = n.page;
    if (!p) return false;
    return p.mode === "graph" ? !!p.next_cursor : p.offset + p.items.length < p.matching;
  }

  // --- tree for d3: shown kids + "more"/"back" pseudo nodes -----------------------------------
  function shown(n) {
    if (!n.expanded || !n.kids) return null;
    var out = n.kids.slice();
    var p = n.page;
    if (p && (p.mode === "graph" ? n.cursors.length : p.offset > 0)) out.unshift({ pseudo: -1, owner: n });
    if (hasMore(n)) {
      var left = p.mode === "graph" ? null : p.matching - p.offset - p.items.length;
      out.push({ pseudo: 1, owner: n, left: left });
    }
    return out;
  }
  function tooltip(n) {
    var lines = [n.account, "status: " + (n.status || "not in the store")];
    if (n.pipeline_source) lines.push("source: " + n.pipeline_source);
    lines.push("created: " + (n.created_at || "unknown"));
    if (n.home_domain) lines.push("home domain: " + n.home_domain);
    if (n.tags && n.tags.length) lines.push("tags: " + n.tags.join(", "));
    if (n.children_count !== undefined) lines.push("children: " + fmt(n.children_count));
    return lines.join("\n");
  }
  function label(n) {
    if (n.pseudo === 1) return n.left === null ? "more…" : "+" + fmt(n.left) + " more…";
    if (n.pseudo === -1) return "‹ previous";
    return (n.home_domain ? n.home_domain + " " : "") + short(n.account);
  }
  function badges(n) {
    if (n.pseudo) return "";
    var b = [];
    if (n.pipeline_source) b.push("[" + (SRC[n.pipeline_source] || "?") + "]");
    if (n.tags && n.tags.length) b.push("#" + n.tags.length);
    if (n.children_count) b.push("(" + fmt(n.children_count) + ")");
    return b.join(" ");
  }

  var rootNode = null;
  function render() {
    var h = d3.hierarchy(rootNode, shown);
    var count = h.descendants().length;
    if (radial) {
      var radius = Math.max(220, Math.min(2600, count * 9));
      d3.tree().size([2 * Math.PI, radius]).separation(function (a, b) { return (a.parent === b.parent ? 1 : 2) / Math.max(1, a.depth); })(h);
    } else {
      d3.tree().nodeSize([20, 190])(h);
    }
    function xy(d) {
      if (!radial) return [d.y, d.x];
      return [d.y * Math.cos(d.x - Math.PI / 2), d.y * Math.sin(d.x - Math.PI / 2)];
    }
    var link = radial ? d3.linkRadial().angle(function (d) { return d.x; }).radius(function (d) { return d.y; })
      : d3.linkHorizontal().x(function (d) { return d.y; }).y(function (d) { return d.x; });
    gLinks.selectAll("path").data(h.links(), function (l) { return key(l.target); })
      .join("path").attr("class", "x-link").attr("d", link);
    var sel = gNodes.selectAll("g.x-node").data(h.descendants(), key).join(function (enter) {
      var e = enter.append("g");
      e.append("circle").attr("r", 6);
      e.append("title");
      var a = e.append("a");
      a.append("text").attr("class", "x-label").attr("dy", "0.32em");
      e.append("text").attr("class", "x-badges").attr("dy", "1.5em");
      return e;
    });
    sel.attr("transform", function (d) { var p = xy(d); return "translate(" + p[0] + "," + p[1] + ")"; })
      .attr("class", function (d) {
        var n = d.data;
        if (n.pseudo) return "x-node x-more";
        return "x-node s-" + (n.status || "unknown").toLowerCase() + (n.account === focus ? " x-focus" : "") +
          (n === selected ? " x-selected" : "") + (n.expanded ? " x-open" : "") + (n.children_count ? " x-has-kids" : "");
      })
      .attr("data-account", function (d) { return d.data.account || null; });
    sel.select("title").text(function (d) { return d.data.pseudo ? label(d.data) : tooltip(d.data); });
    sel.select("a").attr("href", function (d) { return d.data.pseudo ? null : href(d.data.account); });
    sel.select("text.x-label").text(function (d) { return label(d.data); })
      .attr("x", function (d) { return textLeft(d) ? -10 : 10; })
      .attr("text-anchor", function (d) { return textLeft(d) ? "end" : "start"; });
    sel.select("text.x-badges").text(function (d) { return badges(d.data); })
      .attr("x", function (d) { return textLeft(d) ? -10 : 10; })
      .attr("text-anchor", function (d) { return textLeft(d) ? "end" : "start"; });
    sel.select("circle").on("click", function (ev, d) {
      ev.stopPropagation();
      if (d.data.pseudo) { more(d.data.owner, d.data.pseudo); return; }
      select(d.data);
      if (d.data.children_count !== 0 || d.data.expanded) toggle(d.data);
    });
    sel.select("text.x-label").on("click", function (ev, d) {
      if (d.data.pseudo) { ev.preventDefault(); more(d.data.owner, d.data.pseudo); }
    });
    box.dataset.nodes = String(count);
  }
  function key(d) {
    var n = d.data;
    return n.pseudo ? "pseudo:" + n.owner.account + ":" + n.pseudo : n.account;
  }
  function textLeft(d) { return radial ? d.x >= Math.PI && d.depth > 0 : false; }

  // --- pan / zoom --------------------------------------------------------------------------
  var zoom = d3.zoom().scaleExtent([0.05, 6]).on("zoom", function (ev) { g.attr("transform", ev.transform); });
  svg.call(zoom).on("dblclick.zoom", null);
  function fit() {
    var el = svg.node(), bb = g.node().getBBox(), w = el.clientWidth || 800, hgt = el.clientHeight || 600;
    if (!bb.width || !bb.height) return;
    var k = Math.min(1.5, 0.92 * Math.min(w / bb.width, hgt / bb.height));
    svg.call(zoom.transform, d3.zoomIdentity.translate(w / 2 - k * (bb.x + bb.width / 2), hgt / 2 - k * (bb.y + bb.height / 2)).scale(k));
  }

  // --- side panel: paged, searchable children of the selected node ----------------------------
  var panel = { node: null, offset: 0, cursor: null, cursors: [], page: null };
  function select(n) {
    selected = n;
    panel = { node: n, offset: 0, cursor: null, cursors: [], page: null };
    $("p-account").textContent = short(n.account);
    $("p-account").href = href(n.account);
    $("p-search").value = n.q || "";
    loadPanel();
  }
  function loadPanel() {
    var n = panel.node;
    var u = base + "api/children/" + n.account + "?network=" + encodeURIComponent(network) + "&limit=" + PANEL_PAGE +
      "&offset=" + panel.offset + "&q=" + encodeURIComponent($("p-search").value.trim()) +
      (panel.cursor ? "&cursor=" + encodeURIComponent(panel.cursor) : "");
    return getJSON(u).then(function (page) {
      panel.page = page;
      var list = $("p-list");
      while (list.firstChild) list.removeChild(list.firstChild);
      page.items.forEach(function (c) {
        var li = document.createElement("li");
        var a = document.createElement("a"); a.className = "addr"; a.href = href(c.account); a.textContent = c.account;
        var meta = document.createElement("span"); meta.className = "meta";
        meta.textContent = [c.status || "not collected", c.pipeline_source, c.created_at,
          c.starting_balance ? c.starting_balance + " XLM" : null, (c.tags || []).join(", ")].filter(Boolean).join(" · ");
        li.appendChild(a); li.appendChild(meta); list.appendChild(li);
      });
      var range = page.mode === "graph" ? page.items.length + " shown (creator graph)"
        : (page.matching ? (page.offset + 1) + "–" + (page.offset + page.items.length) : "0") + " of " + fmt(page.matching) +
          (page.matching !== page.total ? " matching (" + fmt(page.total) + " children)" : "") +
          (page.complete ? "" : " · list incomplete");
      $("p-range").textContent = range;
      $("p-prev").disabled = page.mode === "graph" ? !panel.cursors.length : page.offset === 0;
      $("p-next").disabled = page.mode === "graph" ? !page.next_cursor : page.offset + page.items.length >= page.matching;
    }).catch(function (e) { $("p-range").textContent = String(e.message || e); });
  }
  function panelStep(step) {
    var p = panel.page;
    if (!p) return;
    if (p.mode === "graph") {
      if (step > 0) { panel.cursors.push(panel.cursor); panel.cursor = p.next_cursor; } else { panel.cursor = panel.cursors.pop() || null; }
    } else { panel.offset = Math.max(0, panel.offset + step * PANEL_PAGE); }
    loadPanel();
  }
  $("p-prev").addEventListener("click", function () { panelStep(-1); });
  $("p-next").addEventListener("click", function () { panelStep(1); });
  $("p-search").addEventListener("input", function () {
    window.clearTimeout(searchTimer);
    searchTimer = window.setTimeout(function () {
      var n = panel.node;
      if (!n) return;
      // the search also filters the node's children in the graph
      n.q = $("p-search").value.trim(); n.offset = 0; n.cursor = null; n.cursors = [];
      panel.offset = 0; panel.cursor = null; panel.cursors = [];
      loadPanel();
      if (n.children_count) { n.expanded = true; loadPage(n).then(render); }
    }, 250);
  });
  $("x-layout").addEventListener("click", function () {
    radial = !radial;
    $("x-layout").textContent = radial ? "Tree layout" : "Radial layout";
    render(); fit();
  });
  $("x-fit").addEventListener("click", fit);

  // --- start: chain from the root down to the account, the account expanded --------------------
  getJSON(base + "api/lineage/" + focus + "?network=" + encodeURIComponent(network) + "&children_limit=0")
    .then(function (data) {
      var chain = data.chain.map(function (c) {
        return node({ account: c.stellar_account, status: c.status, pipeline_source: c.pipeline_source,
          created_at: c.stellar_account_created_at, home_domain: c.home_domain, tags: c.tags,
          children_count: c.children_count });
      });
      var self = chain[0];
      self.tags = data.details.tags; self.children_count = data.details.children_count;
      for (var i = chain.length - 1; i > 0; i--) {
        chain[i].expanded = true; chain[i - 1].pinned = true; chain[i].kids = [chain[i - 1]];
      }
      rootNode = chain[chain.length - 1];
      select(self);
      if (self.children_count) return toggle(self);
      render(); fit();
    })
    .catch(function (e) { status(String(e.message || e)); });
})();
