// medgate's SLA dashboard: polls /dashboard/api/state (medgate's live /health, plus what its
// collector gathered: service levels, database topology, drills) and redraws. No patient
// data is ever in that state. Admin actions post to /admin/breakers/... with the admin token.
(function () {
  "use strict";
  var REFRESH_MS = 2000;
  var token = sessionStorage.getItem("medgate-dashboard-token") || "";
  var history = { t: [], p99: [], errors: [] };
  var chart = null;

  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") e.textContent = attrs[k]; else e.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) e.appendChild(c); });
    return e;
  }
  function badge(state, text) { return el("span", { "class": "badge", "data-state": state, text: text || state }); }
  function pct(v, digits) { return v == null ? "—" : (v * 100).toFixed(digits == null ? 3 : digits) + " %"; }
  function ms(v) { return v == null ? "—" : (v < 10 ? v.toFixed(1) : Math.round(v)) + " ms"; }
  function secs(v) { return v == null ? "—" : (v / 1000).toFixed(2) + " s"; }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  function renderBreakers(health) {
    var box = document.getElementById("breakers");
    clear(box);
    var overall = document.getElementById("overall");
    overall.textContent = health.status + (health.draining ? " (draining)" : "");
    overall.setAttribute("data-state", health.status);
    Object.keys(health.upstreams).sort().forEach(function (name) {
      var u = health.upstreams[name];
      var list = el("ul");
      u.endpoints.forEach(function (e, i) {
        list.appendChild(el("li", { "data-endpoint": e.url }, [
          el("span", { text: e.url + " " }), badge(e.breaker.state),
          el("span", { "class": "muted", text: e.routable ? " routable" : " not routable (" + e.reason + ")" }),
          actionButtons(name, i)
        ]));
      });
      var transitions = el("ul");
      u.transitions.slice(-5).reverse().forEach(function (t) {
        transitions.appendChild(el("li", { "class": "muted", text: t.at + ": " + t.from + " → " + t.to + " (" + t.reason + ")" }));
      });
      u.endpoints.forEach(function (e) {
        e.breaker.transitions.slice(-2).reverse().forEach(function (t) {
          transitions.appendChild(el("li", { "class": "muted", text: e.url + " " + t.at + ": " + t.from + " → " + t.to + " (" + t.reason + ")" }));
        });
      });
      box.appendChild(el("div", { "class": "card", "data-upstream": name, "data-breaker": u.state }, [
        el("h3", {}, [el("span", { text: name }), badge(u.state), badge(u.status)]),
        list,
        el("div", { "class": "muted", text: "recent transitions" }), transitions,
        actionButtons(name, null)
      ]));
    });
  }

  function actionButtons(upstream, endpoint) {
    var span = el("span");
    ["force-open", "reset"].forEach(function (action) {
      var b = el("button", { type: "button", text: action + (endpoint == null ? "" : " #" + endpoint) });
      b.addEventListener("click", function () { adminAction(upstream, endpoint, action); });
      span.appendChild(b);
    });
    return span;
  }

  function adminAction(upstream, endpoint, action) {
    var admin = document.getElementById("admin-token").value;
    var out = document.getElementById("admin-result");
    if (!admin) { document.getElementById("admin").open = true; out.textContent = "Enter the admin token first."; return; }
    var path = "/admin/breakers/" + encodeURIComponent(upstream) +
      (endpoint == null ? "" : "/endpoints/" + endpoint) + "/" + action;
    fetch(path, { method: "POST", headers: { "Authorization": "Bearer " + admin } })
      .then(function (r) { return r.json().then(function (b) { return [r.status, b]; }); })
      .then(function (x) {
        out.textContent = x[0] === 200 ? action + " " + x[1].target + ": now " + x[1].state
          : "refused (" + x[0] + "): " + (x[1].message || x[1].error);
        refresh();
      })
      .catch(function (e) { out.textContent = "failed: " + e; });
  }

  function renderServiceLevels(sl) {
    document.getElementById("sl-source").textContent =
      (sl.source === "prometheus" ? "From Prometheus. " : "From medgate's own counters. ") + sl.note;
    var body = document.querySelector("#sl-table tbody");
    clear(body);
    var objA = sl.objectives.availability, objL = sl.objectives.latency_under_3s;
    sl.windows.forEach(function (w) {
      var a = el("td", { text: pct(w.availability) }), l = el("td", { text: pct(w.under_3s) });
      if (w.availability != null) a.className = w.availability >= objA ? "good" : "bad";
      if (w.under_3s != null) l.className = w.under_3s >= objL ? "good" : "bad";
      body.appendChild(el("tr", { "data-window": w.window }, [
        el("td", { text: w.window }), el("td", { text: w.requests == null ? "—" : Math.round(w.requests).toString() }),
        a, l, el("td", { text: ms(w.p50_ms) }), el("td", { text: ms(w.p99_ms) })
      ]));
    });
    var burn = sl.burn_rate || {};
    document.getElementById("budget").textContent =
      "Objectives: availability " + pct(objA, 2) + ", answered under 3 s " + pct(objL, 2) +
      ". Error budget left (30 d): " + (sl.error_budget_left != null && sl.error_budget_left < 0
        ? "none (" + (1 - sl.error_budget_left).toFixed(1) + "× the budget spent)"
        : pct(sl.error_budget_left, 1)) +
      ". Burn rate: 1 h " + (burn["1h"] == null ? "—" : burn["1h"].toFixed(2) + "×") +
      ", 5 min " + (burn["5m"] == null ? "—" : burn["5m"].toFixed(2) + "×") + " (page at 14.4×).";
    var five = sl.windows[0];
    history.t.push(Date.now() / 1000);
    history.p99.push(five.p99_ms);
    history.errors.push(five.availability == null ? null : (1 - five.availability) * 100);
    if (history.t.length > 900) { history.t.shift(); history.p99.shift(); history.errors.shift(); }
    drawChart();
  }

  function drawChart() {
    var box = document.getElementById("chart");
    var data = [history.t, history.p99, history.errors];
    var avail = box.clientWidth > 0 ? box.clientWidth - 16 : window.innerWidth - 48;
    var width = Math.max(260, Math.min(avail, 1100));
    if (!chart || chart.width !== width) {
      if (chart) chart.destroy();
      chart = new uPlot({
        width: width, height: 220, title: "last 5 min, sampled live",
        scales: { ms: { auto: true }, pct: { auto: true } },
        axes: [{}, { scale: "ms", label: "p99 (ms)" }, { scale: "pct", side: 1, label: "errors (%)", grid: { show: false } }],
        series: [{}, { label: "p99 ms", scale: "ms", stroke: "#b9770e", width: 1.5 },
          { label: "errors %", scale: "pct", stroke: "#a61b1b", width: 1.5 }]
      }, data, box);
    } else {
      chart.setData(data);
    }
  }

  function renderDatabases(dbs) {
    var box = document.getElementById("databases");
    clear(box);
    dbs.forEach(function (d) {
      var s = d.status || {};
      var nodes = el("ul");
      (s.nodes || []).forEach(function (n) {
        nodes.appendChild(el("li", {}, [el("span", { text: n.name + " " }), badge(n.role), badge(n.health),
          el("span", { "class": "muted", text: (n.lag == null ? "" : " lag " + n.lag) + (n.error ? " " + n.error : "") })]));
      });
      var events = el("ul");
      (d.events || []).slice(0, 5).forEach(function (e) {
        events.appendChild(el("li", { "class": "muted", text: (e.ts || "") + " " + e.event + (e.node ? " " + e.node : "") }));
      });
      box.appendChild(el("div", { "class": "card", "data-monitor": d.name }, [
        el("h3", {}, [el("span", { text: (s.cluster || d.name) }), d.reachable ? badge(s.state || "unknown") : badge("unreachable")]),
        el("div", { "class": "muted", text: d.name + (d.reachable ? " · primary " + (s.serving_primary || "none") +
          " · " + (s.replication_mode || "?") + " · epoch " + s.epoch + " · failovers " + s.failovers : "") }),
        nodes, el("div", { "class": "muted", text: "last events" }), events
      ]));
    });
  }

  function verdict(d, prefix) {
    var v = (d.verdicts || []).filter(function (x) { return x.name.indexOf(prefix) === 0; })[0];
    if (!v) return el("td", { text: "—" });
    var td = el("td", { text: v.measured == null ? "unknown" : (v.unit === "ms" ? secs(v.measured) : String(v.measured)) });
    td.className = v.outcome === "pass" ? "good" : "bad";
    td.title = v.op + " " + (v.unit === "ms" ? secs(v.target) : v.target);
    return td;
  }

  function renderDrills(drills) {
    var body = document.querySelector("#drills tbody");
    clear(body);
    drills.forEach(function (d) {
      body.appendChild(el("tr", {}, [
        el("td", { text: (d.started || "").replace("T", " ").slice(0, 19) }),
        el("td", { text: d.scenario + (d.variant ? " (" + d.variant + ")" : "") }),
        el("td", {}, [badge(d.passed ? "pass" : "fail", d.passed ? "passed" : "missed")]),
        verdict(d, "time to detect"), verdict(d, "promotion"), verdict(d, "recovery"), verdict(d, "acknowledged writes lost")
      ]));
    });
  }

  function refresh() {
    var headers = token ? { "Authorization": "Bearer " + token } : {};
    fetch("/dashboard/api/state", { headers: headers, cache: "no-store" })
      .then(function (r) {
        if (r.status === 401 || r.status === 403) { document.getElementById("access").hidden = false; throw new Error("token needed"); }
        document.getElementById("access").hidden = true;
        return r.json();
      })
      .then(function (state) {
        renderBreakers(state.health);
        var c = state.collected || {};
        if (c.service_levels) renderServiceLevels(c.service_levels);
        if (c.databases) renderDatabases(c.databases);
        if (c.drills) renderDrills(c.drills);
        document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString();
        document.body.setAttribute("data-loaded", "true");
      })
      .catch(function (e) { document.getElementById("updated").textContent = "not updated: " + e.message; });
  }

  document.getElementById("token-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    token = document.getElementById("token").value;
    sessionStorage.setItem("medgate-dashboard-token", token);
    refresh();
  });
  refresh();
  setInterval(refresh, REFRESH_MS);
})();
