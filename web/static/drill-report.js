// The drill report's timeline: latency p50/p99 and failed requests per second (uPlot), the
// fault window shaded and every event drawn as a vertical line. Data: #drill-data (JSON).
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("drill-data").textContent);
  var line = data.timeline;
  var m = data.measurements;
  var xs = line.map(function (p) { return p.second; });
  var series = [
    xs,
    line.map(function (p) { return p.requests ? p.p50_ms : null; }),
    line.map(function (p) { return p.requests ? p.p99_ms : null; }),
    line.map(function (p) { return p.failed; })
  ];
  var faultFrom = m.fault_at_ms == null ? null : m.fault_at_ms / 1000;
  var faultTo = m.fault_at_ms == null ? null : Math.max(m.cleared_at_ms || m.fault_at_ms, m.fault_at_ms) / 1000;
  var marks = data.events.filter(function (e) { return e.kind !== "monitor_event"; });
  var colours = { fault_injected: "#a61b1b", fault_cleared: "#186a3b", detected: "#b9770e",
    breaker_open: "#884ea0", breaker_closed: "#5dade2", promoted: "#1f618d", steady: "#186a3b",
    failure_logged: "#7f8c8d" };
  function drawMarks(u) {
    var ctx = u.ctx, top = u.bbox.top, height = u.bbox.height;
    ctx.save();
    if (faultFrom != null) {
      var x0 = u.valToPos(faultFrom, "x", true), x1 = u.valToPos(faultTo, "x", true);
      ctx.fillStyle = "rgba(166,27,27,0.08)";
      ctx.fillRect(x0, top, Math.max(2, x1 - x0), height);
    }
    marks.forEach(function (e) {
      var x = u.valToPos(e.at_ms / 1000, "x", true);
      ctx.strokeStyle = colours[e.kind] || "#566573";
      ctx.setLineDash([4, 3]);
      ctx.beginPath(); ctx.moveTo(x, top); ctx.lineTo(x, top + height); ctx.stroke();
    });
    ctx.restore();
  }
  var el = document.getElementById("chart");
  var opts = {
    width: Math.min(el.clientWidth || 900, 1100), height: 320,
    scales: { x: { time: false }, ms: { auto: true }, n: { auto: true } },
    axes: [
      { label: "seconds since the drill started" },
      { scale: "ms", label: "latency (ms)" },
      { scale: "n", side: 1, label: "failed requests", grid: { show: false } }
    ],
    series: [
      { label: "t (s)" },
      { label: "p50 (ms)", scale: "ms", stroke: "#1f618d", width: 1.5 },
      { label: "p99 (ms)", scale: "ms", stroke: "#b9770e", width: 1.5 },
      { label: "failed", scale: "n", stroke: "#a61b1b", fill: "rgba(166,27,27,0.15)", width: 1 }
    ],
    hooks: { draw: [drawMarks] }
  };
  new uPlot(opts, series, el);
  var legend = document.createElement("ul");
  marks.forEach(function (e) {
    var li = document.createElement("li");
    li.textContent = (e.at_ms / 1000).toFixed(2) + " s — " + e.source + ": " + e.kind +
      (e.detail ? " (" + e.detail + ")" : "");
    li.style.color = colours[e.kind] || "#566573";
    legend.appendChild(li);
  });
  el.parentNode.insertBefore(legend, el.nextSibling);
})();
