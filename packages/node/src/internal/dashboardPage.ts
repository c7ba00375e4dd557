/**
 * The live dashboard: one self-contained HTML page (inline CSS, inline SVG drawn by inline JS; no
 * fonts, scripts or images from anywhere) served at `/dashboard`. It connects to `/ws` on the same
 * server and redraws on every stats frame:
 *
 * - the pipeline as its stages (cards, grouped in frames by the host loop that runs them) and its
 *   rings (a tank between two hosts, filled to the ring's fill level);
 * - per stage: throughput, records in and out, drops, dead letters, latency p50/p99 (from the
 *   log2 latency histogram, over the last few seconds), idle share, restarts (and restarts that lost
 *   the state of a stage that keeps one);
 * - a throughput-over-time chart (source out, sink in; two minutes, seeded from the server's history);
 * - tables: stages, the counters and gauges the stages declared (value, and a counter's rate), rings,
 *   the distinct-error table per stage, and the process (CPU, memory, event-loop delay).
 *
 * Rates and percentiles are computed in the page from successive frames (the server only reads
 * counters). Values the tests read carry `data-stage`, `data-field` and `data-value` attributes.
 */

const style = String.raw`
:root { --bg:#0d1117; --panel:#161b22; --card:#1c2430; --line:#2d3744; --text:#d9e1ea; --muted:#8491a3;
  --teal:#39d3c3; --violet:#a78bfa; --green:#3fd47f; --amber:#f5a524; --red:#f45b69; --blue:#58a6ff; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--text); font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; }
header { display:flex; align-items:center; gap:18px; padding:12px 22px; background:var(--panel); border-bottom:1px solid var(--line); flex-wrap:wrap; }
header h1 { font-size:18px; margin:0; letter-spacing:.5px; } header h1 b { color:var(--teal); }
.pill { padding:3px 10px; border-radius:999px; font-weight:600; font-size:12px; text-transform:uppercase; letter-spacing:.6px; background:#2a3340; }
.pill.running { background:rgba(63,212,127,.15); color:var(--green); } .pill.starting { background:rgba(88,166,255,.15); color:var(--blue); }
.pill.draining { background:rgba(245,165,36,.15); color:var(--amber); } .pill.failed { background:rgba(244,91,105,.18); color:var(--red); }
.pill.done { background:#2a3340; color:var(--muted); } .pill.offline { background:rgba(244,91,105,.18); color:var(--red); }
.kpi { display:flex; flex-direction:column; min-width:92px; } .kpi span { color:var(--muted); font-size:11px; text-transform:uppercase; letter-spacing:.5px; }
.kpi b { font-size:17px; font-variant-numeric:tabular-nums; }
.spacer { flex:1; }
#reasons { color:var(--amber); font-size:12px; }
main { padding:16px 22px 28px; display:grid; gap:16px; }
section { background:var(--panel); border:1px solid var(--line); border-radius:10px; padding:12px 16px; }
section h2 { margin:0 0 8px; font-size:12px; text-transform:uppercase; letter-spacing:.8px; color:var(--muted); font-weight:600; }
.row { display:grid; grid-template-columns: 3fr 2fr; gap:16px; }
svg text { fill:var(--text); font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; }
.num { font-variant-numeric:tabular-nums; }
table { width:100%; border-collapse:collapse; font-size:12.5px; }
th { text-align:left; color:var(--muted); font-weight:600; font-size:11px; text-transform:uppercase; letter-spacing:.5px; padding:4px 8px; border-bottom:1px solid var(--line); }
td { padding:5px 8px; border-bottom:1px solid #212a35; font-variant-numeric:tabular-nums; white-space:nowrap; }
td.r, th.r { text-align:right; }
td.warn { color:var(--amber); } td.bad { color:var(--red); } td.muted { color:var(--muted); }
.bar { display:inline-block; width:90px; height:8px; background:#2a3340; border-radius:4px; overflow:hidden; vertical-align:middle; margin-right:6px; }
.bar i { display:block; height:100%; background:var(--green); }
.empty { color:var(--muted); font-size:13px; padding:6px 2px; }
code { font:12px ui-monospace,SFMono-Regular,Menlo,monospace; color:#c9d1d9; }
.legend { display:flex; gap:14px; font-size:12px; color:var(--muted); } .legend i { display:inline-block; width:10px; height:3px; margin-right:5px; vertical-align:middle; }
#conn { font-size:12px; color:var(--muted); }
`

const script = String.raw`
(function () {
  "use strict";
  var SVGNS = "http://www.w3.org/2000/svg";
  var C = { green: "#3fd47f", amber: "#f5a524", red: "#f45b69", teal: "#39d3c3", violet: "#a78bfa", blue: "#58a6ff" };
  var CARD_W = 214, CARD_H = 158, GAP = 104, ROW_GAP = 44, PAD = 12, TOP = 34, LEFT = 20;
  var CHART_SPAN_MS = 120000, RATE_WINDOW_MS = 2000, LATENCY_WINDOW_MS = 5000;
  var state = { frames: [], chart: [], layoutKey: "", refs: {}, lastChartAt: 0, lastFrameAt: 0, prevCounters: {} };
  var byId = function (id) { return document.getElementById(id); };

  function svg(tag, attrs, parent, text) {
    var node = document.createElementNS(SVGNS, tag);
    for (var k in attrs) node.setAttribute(k, attrs[k]);
    if (text !== undefined) node.textContent = text;
    if (parent) parent.appendChild(node);
    return node;
  }
  function compact(n) {
    if (!isFinite(n)) return "—";
    var a = Math.abs(n);
    if (a < 1000) return a < 10 && a !== Math.floor(a) ? n.toFixed(1) : String(Math.round(n));
    var units = ["k", "M", "G", "T"], i = -1;
    while (a >= 1000 && i < units.length - 1) { a /= 1000; n /= 1000; i++; }
    return (a >= 100 ? n.toFixed(0) : a >= 10 ? n.toFixed(1) : n.toFixed(2)) + units[i];
  }
  function fmtNs(ns) {
    if (!(ns > 0)) return "—";
    if (ns < 1e3) return ns.toFixed(0) + " ns";
    if (ns < 1e6) return (ns / 1e3).toFixed(ns < 1e4 ? 1 : 0) + " µs";
    if (ns < 1e9) return (ns / 1e6).toFixed(ns < 1e7 ? 1 : 0) + " ms";
    return (ns / 1e9).toFixed(2) + " s";
  }
  function fmtBytes(b) { return b >= 1073741824 ? (b / 1073741824).toFixed(2) + " GiB" : (b / 1048576).toFixed(0) + " MiB"; }
  function fmtPct(x) { return isFinite(x) ? (x * 100).toFixed(x < 0.1 ? 1 : 0) + "%" : "—"; }
  function fmtTime(ms) { var d = new Date(ms); return d.toLocaleTimeString(undefined, { hour12: false }); }
  function fmtUptime(s) { s = Math.floor(s); var h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60, x = s % 60; return (h ? h + "h " : "") + (h || m ? m + "m " : "") + x + "s"; }
  function sum(xs) { var t = 0; for (var i = 0; i < xs.length; i++) t += xs[i]; return t; }
  function setData(node, stage, field, value, text) {
    node.setAttribute("data-stage", stage); node.setAttribute("data-field", field); node.setAttribute("data-value", String(value));
    node.textContent = text;
  }

  /** Percentile of a log2 histogram (bucket b = [2^b, 2^(b+1)) ns), interpolated within the bucket. */
  function percentileNs(buckets, q) {
    var total = sum(buckets); if (total <= 0) return NaN;
    var rank = q * total, seen = 0;
    for (var b = 0; b < buckets.length; b++) {
      var n = buckets[b];
      if (n > 0 && seen + n >= rank) { var f = (rank - seen) / n; return Math.pow(2, b) * Math.pow(2, f); }
      seen += n;
    }
    return Math.pow(2, buckets.length);
  }
  /** The newest frame at least windowMs older than the latest, else the oldest kept. */
  function baseline(windowMs) {
    var f = state.frames, last = f[f.length - 1];
    for (var i = f.length - 2; i >= 0; i--) if (last.atMs - f[i].atMs >= windowMs) return f[i];
    return f.length > 1 ? f[0] : undefined;
  }

  function derive(frame) {
    var base = baseline(RATE_WINDOW_MS), lat = baseline(LATENCY_WINDOW_MS);
    var out = {};
    frame.stages.forEach(function (s, i) {
      var b = base && base.stages[i] && base.stages[i].stage === s.stage ? base.stages[i] : undefined;
      var l = lat && lat.stages[i] && lat.stages[i].stage === s.stage ? lat.stages[i] : undefined;
      var dt = b ? (frame.atMs - base.atMs) / 1000 : 0;
      var recent = s.latencyLog2.map(function (n, k) { return l ? n - l.latencyLog2[k] : n; });
      if (sum(recent) <= 0) recent = s.latencyLog2;
      var dParks = b ? s.parks - b.parks : 0, dBatches = b ? s.batches - b.batches : 0;
      out[s.stage] = {
        inRate: dt > 0 ? (s.in - b.in) / dt : NaN,
        outRate: dt > 0 ? (s.written - b.written) / dt : NaN,
        p50: percentileNs(recent, 0.5), p99: percentileNs(recent, 0.99), p999: percentileNs(recent, 0.999),
        idle: dParks + dBatches > 0 ? dParks / (dParks + dBatches) : (b ? 1 : NaN),
        batch: s.batches > 0 ? s.in / s.batches : NaN
      };
    });
    return out;
  }
  /** The first stage is the source (Pipeline.from): its throughput is what it emits. */
  function isSource(frame, s) { return frame.stages[0] === s; }

  // ------------------------------------------------------------------ topology
  function layout(frame) {
    var cols = [], colIndex = {}, place = {}, rows = 1;
    frame.stages.forEach(function (s) {
      var m = /^(.*)#(\d+)$/.exec(s.stage), base = m ? m[1] : s.stage, lane = m ? Number(m[2]) : 0;
      if (!(base in colIndex)) colIndex[base] = cols.push(base) - 1;
      place[s.stage] = { x: LEFT + PAD + colIndex[base] * (CARD_W + GAP), y: TOP + PAD + lane * (CARD_H + ROW_GAP) };
      rows = Math.max(rows, lane + 1);
    });
    var hosts = {}, order = [];
    frame.stages.forEach(function (s) { if (!hosts[s.host]) { hosts[s.host] = []; order.push(s.host); } hosts[s.host].push(s.stage); });
    return { cols: cols.length, rows: rows, place: place, hosts: hosts, hostOrder: order,
      width: LEFT * 2 + cols.length * CARD_W + (cols.length - 1) * GAP + PAD * 2,
      height: TOP + rows * CARD_H + (rows - 1) * ROW_GAP + PAD * 2 + 20 };
  }

  function buildTopology(frame) {
    var root = byId("topology"); root.innerHTML = "";
    var L = layout(frame), refs = { stages: {}, rings: {} };
    var s = svg("svg", { viewBox: "0 0 " + L.width + " " + L.height, width: "100%", role: "img", "aria-label": "pipeline topology" }, root);
    var defs = svg("defs", {}, s);
    var marker = svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: "9", refY: "5", markerWidth: "7", markerHeight: "7", orient: "auto-start-reverse" }, defs);
    svg("path", { d: "M0,0 L10,5 L0,10 z", fill: "#6b7a8c" }, marker);
    var glow = svg("linearGradient", { id: "cardg", x1: "0", y1: "0", x2: "0", y2: "1" }, defs);
    svg("stop", { offset: "0", "stop-color": "#222c3a" }, glow); svg("stop", { offset: "1", "stop-color": "#1a212c" }, glow);
    var frames = svg("g", {}, s), links = svg("g", {}, s), cards = svg("g", {}, s), tanks = svg("g", {}, s);
    // Host frames: one per loop (thread or fiber), around the stages it runs.
    L.hostOrder.forEach(function (h) {
      var members = L.hosts[h], first = L.place[members[0]], last = L.place[members[members.length - 1]];
      var x = first.x - PAD, y = first.y - PAD - 14, w = last.x + CARD_W + PAD - x, hh = CARD_H + PAD * 2 + 14;
      svg("rect", { x: x, y: y, width: w, height: hh, rx: 12, fill: "rgba(88,166,255,0.04)", stroke: "#33506f", "stroke-dasharray": "5 4" }, frames);
      var label = "host " + h; var max = Math.floor(w / 6.4); if (label.length > max) label = label.slice(0, max - 1) + "…";
      svg("text", { x: x + 10, y: y + 13, "font-size": "10.5", fill: "#7d93ad", "letter-spacing": ".4" }, frames, label);
      // Fused hand-offs inside the host: plain calls, drawn as short arrows.
      for (var i = 0; i + 1 < members.length; i++) {
        var a = L.place[members[i]], b = L.place[members[i + 1]];
        svg("line", { x1: a.x + CARD_W, y1: a.y + CARD_H / 2, x2: b.x - 2, y2: b.y + CARD_H / 2, stroke: "#6b7a8c", "stroke-width": "2", "marker-end": "url(#arrow)" }, links);
        svg("text", { x: (a.x + CARD_W + b.x) / 2, y: a.y + CARD_H / 2 - 8, "text-anchor": "middle", "font-size": "10", fill: "#6b7a8c" }, links, "fused");
      }
    });
    // Rings between hosts: an arrow with a tank on it showing the ring's fill. A fan-out (one producer,
    // several rings) curves first and puts its tanks on the consumers' rows; a fan-in curves last and
    // puts them on the producers' rows: either way no two tanks share a place.
    var fromCount = {}, toCount = {};
    frame.rings.forEach(function (r) { fromCount[r.from] = (fromCount[r.from] || 0) + 1; toCount[r.to] = (toCount[r.to] || 0) + 1; });
    frame.rings.forEach(function (r) {
      var from = L.hosts[r.from], to = L.hosts[r.to]; if (!from || !to) return;
      var a = L.place[from[from.length - 1]], b = L.place[to[0]];
      var x1 = a.x + CARD_W + PAD, y1 = a.y + CARD_H / 2, x2 = b.x - PAD - 2, y2 = b.y + CARD_H / 2, mx = (x1 + x2) / 2;
      var fanOut = fromCount[r.from] > 1 && toCount[r.to] === 1, fanIn = toCount[r.to] > 1 && fromCount[r.from] === 1;
      var d = "M" + (a.x + CARD_W) + "," + y1 + " L" + x1 + "," + y1, ty;
      if (fanOut) { d += " C" + (x1 + 16) + "," + y1 + " " + (x1 + 4) + "," + y2 + " " + (mx - 16) + "," + y2 + " L" + (b.x - 2) + "," + y2; ty = y2; }
      else if (fanIn) { d += " L" + (mx + 16) + "," + y1 + " C" + (x2 - 4) + "," + y1 + " " + (x2 - 16) + "," + y2 + " " + x2 + "," + y2 + " L" + (b.x - 2) + "," + y2; ty = y1; }
      else { d += " C" + mx + "," + y1 + " " + mx + "," + y2 + " " + x2 + "," + y2 + " L" + (b.x - 2) + "," + y2; ty = (y1 + y2) / 2; }
      svg("path", { d: d, fill: "none", stroke: "#6b7a8c", "stroke-width": "2.5", "marker-end": "url(#arrow)" }, links);
      var g = svg("g", { transform: "translate(" + (mx - 13) + "," + (ty - 34) + ")" }, tanks);
      svg("title", {}, g, "ring " + r.name + " (capacity " + r.capacity + ")");
      svg("rect", { x: 0, y: 0, width: 26, height: 56, rx: 5, fill: "#0d1117", stroke: "#51627a", "stroke-width": "1.5" }, g);
      var level = svg("rect", { x: 2, y: 54, width: 22, height: 0, rx: 3, fill: C.green }, g);
      var pct = svg("text", { x: 13, y: 70, "text-anchor": "middle", "font-size": "11", "font-weight": "600", class: "num" }, g, "");
      svg("text", { x: 13, y: -5, "text-anchor": "middle", "font-size": "9.5", fill: "#7d93ad" }, g, "ring");
      refs.rings[r.name] = { level: level, pct: pct };
    });
    frame.stages.forEach(function (st) {
      var p = L.place[st.stage], g = svg("g", { transform: "translate(" + p.x + "," + p.y + ")" }, cards);
      var box = svg("rect", { width: CARD_W, height: CARD_H, rx: 10, fill: "url(#cardg)", stroke: "#33404f", "stroke-width": "1.2" }, g);
      var dot = svg("circle", { cx: 16, cy: 19, r: 5, fill: "#8491a3" }, g);
      var name = st.stage.length > 21 ? st.stage.slice(0, 20) + "…" : st.stage;
      svg("text", { x: 28, y: 24, "font-size": "14.5", "font-weight": "700" }, g, name);
      var stateText = svg("text", { x: CARD_W - 12, y: 23, "text-anchor": "end", "font-size": "10.5", fill: "#8491a3" }, g, "");
      var rate = svg("text", { x: 14, y: 56, "font-size": "23", "font-weight": "700", fill: C.teal, class: "num" }, g, "—");
      var rateUnit = svg("text", { x: CARD_W - 12, y: 56, "text-anchor": "end", "font-size": "11", fill: "#8491a3" }, g, "rec/s");
      var line = function (y) { return svg("text", { x: 14, y: y, "font-size": "13", class: "num", fill: "#c2ccd8" }, g, ""); };
      refs.stages[st.stage] = { box: box, dot: dot, state: stateText, rate: rate, rateUnit: rateUnit, l1: line(83), l2: line(103), l3: line(123), l4: line(143) };
    });    state.refs = refs;
  }

  var STATE_COLOR = { Running: C.green, Idle: "#8491a3", Draining: C.amber, Done: C.blue, Crashed: C.red, Stopped: C.red };
  function updateTopology(frame, d) {
    frame.stages.forEach(function (s) {
      var r = state.refs.stages[s.stage]; if (!r) return; var x = d[s.stage];
      r.dot.setAttribute("fill", STATE_COLOR[s.state] || "#8491a3");
      r.state.textContent = s.state.toLowerCase();
      var src = isSource(frame, s);
      var shown = src ? x.outRate : x.inRate;
      setData(r.rate, s.stage, "rate", isFinite(shown) ? Math.round(shown) : 0, compact(shown));
      r.rateUnit.textContent = src ? "out/s" : "in/s";
      r.l1.textContent = "in " + compact(s.in) + "   out " + compact(s.written);
      r.l2.textContent = "drops " + compact(s.dropped) + "   dead " + compact(s.deadLettered);
      r.l2.setAttribute("fill", s.deadLettered > 0 ? C.red : s.dropped > 0 ? C.amber : "#c2ccd8");
      r.l3.textContent = "p50 " + fmtNs(x.p50) + "   p99 " + fmtNs(x.p99);
      r.l4.textContent = "idle " + fmtPct(x.idle) + "   restarts " + s.restarts;
      r.l4.setAttribute("fill", s.restarts > 0 ? C.amber : "#c2ccd8");
      r.box.setAttribute("stroke", s.state === "Crashed" || s.state === "Stopped" ? C.red : "#33404f");
    });
    frame.rings.forEach(function (ring) {
      var r = state.refs.rings[ring.name]; if (!r) return;
      var f = ring.capacity > 0 ? ring.fill / ring.capacity : 0, h = Math.max(f > 0 ? 2 : 0, Math.round(52 * f));
      r.level.setAttribute("y", String(54 - h)); r.level.setAttribute("height", String(h));
      r.level.setAttribute("fill", f >= 0.9 ? C.red : f >= 0.5 ? C.amber : C.green);
      r.pct.textContent = fmtPct(f);
    });
  }

  // ------------------------------------------------------------------ chart
  function pushChart(atMs, frame) {
    var st = frame.stages; if (st.length === 0) return;
    var point = { t: atMs, src: st[0].written, sink: st[st.length - 1].in };
    var prev = state.chartLast;
    if (prev && atMs - prev.t < 900) return;
    if (prev && atMs > prev.t) {
      var dt = (atMs - prev.t) / 1000;
      state.chart.push({ t: atMs, src: Math.max(0, (point.src - prev.src) / dt), sink: Math.max(0, (point.sink - prev.sink) / dt) });
    }
    state.chartLast = point;
    while (state.chart.length > 0 && state.chart[0].t < atMs - CHART_SPAN_MS) state.chart.shift();
  }
  function seedChart(history) {
    state.chart = []; state.chartLast = undefined;
    history.forEach(function (h) {
      pushChart(h.atMs, { stages: h.in.map(function (n, i) { return { in: n, written: h.written[i] }; }) });
    });
  }
  function niceMax(v) { if (!(v > 0)) return 1; var p = Math.pow(10, Math.floor(Math.log10(v))), m = v / p; return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p; }
  function renderChart(now) {
    var root = byId("chart"); root.innerHTML = "";
    var W = 720, H = 190, L = 56, R = 10, T = 10, B = 24;
    var s = svg("svg", { viewBox: "0 0 " + W + " " + H, width: "100%", role: "img", "aria-label": "throughput over time" }, root);
    var g = svg("linearGradient", { id: "area", x1: "0", y1: "0", x2: "0", y2: "1" }, svg("defs", {}, s));
    svg("stop", { offset: "0", "stop-color": "#a78bfa", "stop-opacity": ".35" }, g); svg("stop", { offset: "1", "stop-color": "#a78bfa", "stop-opacity": "0" }, g);
    var pts = state.chart, max = 0;
    pts.forEach(function (p) { max = Math.max(max, p.src, p.sink); });
    max = niceMax(max * 1.1);
    var x = function (t) { return L + (W - L - R) * (1 - (now - t) / CHART_SPAN_MS); };
    var y = function (v) { return T + (H - T - B) * (1 - v / max); };
    for (var k = 0; k <= 4; k++) {
      var v = (max * k) / 4;
      svg("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), stroke: "#243040" }, s);
      svg("text", { x: L - 8, y: y(v) + 4, "text-anchor": "end", "font-size": "10.5", fill: "#8491a3", class: "num" }, s, compact(v) + "/s");
    }
    for (var sec = 0; sec <= 120; sec += 30) {
      svg("text", { x: x(now - sec * 1000), y: H - 6, "text-anchor": "middle", "font-size": "10.5", fill: "#8491a3" }, s, sec === 0 ? "now" : "−" + sec + " s");
    }
    if (pts.length >= 1) {
      var line = function (key) { return pts.map(function (p) { return x(p.t).toFixed(1) + "," + y(p[key]).toFixed(1); }).join(" "); };
      var first = pts[0], last = pts[pts.length - 1];
      svg("polygon", { points: x(first.t).toFixed(1) + "," + y(0) + " " + line("sink") + " " + x(last.t).toFixed(1) + "," + y(0), fill: "url(#area)" }, s);
      svg("polyline", { points: line("sink"), fill: "none", stroke: C.violet, "stroke-width": "2.2", "stroke-linejoin": "round" }, s);
      svg("polyline", { points: line("src"), fill: "none", stroke: C.teal, "stroke-width": "1.6", "stroke-dasharray": "4 3" }, s);
    } else {
      svg("text", { x: W / 2, y: H / 2, "text-anchor": "middle", fill: "#8491a3", "font-size": "13" }, s, "collecting…");
    }
  }

  // ------------------------------------------------------------------ tables
  function cell(tr, text, cls) { var td = document.createElement("td"); td.textContent = text; if (cls) td.className = cls; tr.appendChild(td); return td; }
  function renderStageTable(frame, d) {
    var body = byId("stage-rows"); body.innerHTML = "";
    frame.stages.forEach(function (s) {
      var x = d[s.stage], tr = document.createElement("tr");
      cell(tr, s.stage); cell(tr, s.state, s.state === "Crashed" || s.state === "Stopped" ? "bad" : "muted");
      setData(cell(tr, "", "r"), s.stage, "inRate", isFinite(x.inRate) ? Math.round(x.inRate) : 0, isFinite(x.inRate) ? compact(x.inRate) + "/s" : "—");
      setData(cell(tr, "", "r"), s.stage, "in", s.in, compact(s.in));
      setData(cell(tr, "", "r"), s.stage, "written", s.written, compact(s.written));
      var reasons = [];
      s.droppedByReason.forEach(function (n, i) { if (n > 0) reasons.push((s.dropReasons[i] || (i === 15 ? "StageStopped" : "code " + i)) + " " + compact(n)); });
      setData(cell(tr, "", s.dropped > 0 ? "warn" : "muted"), s.stage, "dropped", s.dropped, reasons.length ? reasons.join(", ") : "0");
      setData(cell(tr, "", s.deadLettered > 0 ? "bad r" : "muted r"), s.stage, "deadLettered", s.deadLettered, compact(s.deadLettered));
      cell(tr, compact(s.retained), "r");
      cell(tr, isFinite(x.batch) ? x.batch.toFixed(0) : "—", "r");
      cell(tr, fmtPct(x.idle), "r");
      cell(tr, fmtNs(x.p50), "r"); cell(tr, fmtNs(x.p99), "r"); cell(tr, fmtNs(x.p999), "r");
      cell(tr, String(s.restarts) + (s.stateLost > 0 ? " · state lost " + s.stateLost : ""), s.stateLost > 0 ? "bad r" : s.restarts > 0 ? "warn r" : "r");
      body.appendChild(tr);
    });
  }
  function renderCounters(frame, d) {
    var body = byId("counter-rows"), rows = 0;
    body.innerHTML = "";
    frame.stages.forEach(function (s) {
      var prev = state.prevCounters[s.stage] || {}, now = {};
      [["counter", s.counters || {}], ["gauge", s.gauges || {}]].forEach(function (kind) {
        Object.keys(kind[1]).forEach(function (name) {
          var v = kind[1][name], tr = document.createElement("tr"), p = prev[kind[0] + ":" + name];
          now[kind[0] + ":" + name] = { v: v, t: frame.atMs };
          cell(tr, s.stage); cell(tr, name); cell(tr, kind[0], "muted");
          setData(cell(tr, "", "r"), s.stage, kind[0] + ":" + name, v, compact(v));
          var rate = kind[0] === "counter" && p && frame.atMs > p.t ? ((v - p.v) * 1000) / (frame.atMs - p.t) : NaN;
          cell(tr, isFinite(rate) ? compact(rate) + "/s" : "—", "r muted");
          body.appendChild(tr); rows++;
        });
      });
      state.prevCounters[s.stage] = now;
    });
    byId("counters-empty").style.display = rows ? "none" : "block";
    byId("counters-table").style.display = rows ? "table" : "none";
  }
  function renderRings(frame) {
    var body = byId("ring-rows"); body.innerHTML = "";
    if (frame.rings.length === 0) { body.innerHTML = '<tr><td colspan="4" class="muted">every stage is fused into one loop: no rings</td></tr>'; return; }
    frame.rings.forEach(function (r) {
      var tr = document.createElement("tr"), f = r.capacity > 0 ? r.fill / r.capacity : 0;
      cell(tr, r.from + " → " + r.to);
      var td = cell(tr, ""), bar = document.createElement("span"), i = document.createElement("i");
      bar.className = "bar"; i.style.width = (f * 100).toFixed(1) + "%"; i.style.background = f >= 0.9 ? C.red : f >= 0.5 ? C.amber : C.green;
      bar.appendChild(i); td.appendChild(bar); td.appendChild(document.createTextNode(fmtPct(f)));
      cell(tr, compact(r.fill) + " / " + compact(r.capacity), "r");
      cell(tr, r.closed ? "closed" : "open", "muted");
      body.appendChild(tr);
    });
  }
  function renderErrors(frame) {
    var body = byId("error-rows"), rows = [];
    Object.keys(frame.errors).forEach(function (stage) { frame.errors[stage].forEach(function (e) { rows.push([stage, e]); }); });
    body.innerHTML = "";
    byId("errors-empty").style.display = rows.length ? "none" : "block";
    byId("errors-table").style.display = rows.length ? "table" : "none";
    rows.forEach(function (pair) {
      var e = pair[1], tr = document.createElement("tr");
      cell(tr, pair[0]); cell(tr, e.error, "bad");
      setData(cell(tr, "", "r"), pair[0], "error:" + e.error, e.count, compact(e.count));
      cell(tr, fmtTime(e.firstSeenMs), "muted"); cell(tr, fmtTime(e.lastSeenMs));
      var td = cell(tr, ""), code = document.createElement("code"); code.textContent = JSON.stringify(e.sample.record); td.appendChild(code);
      body.appendChild(tr);
    });
  }
  function renderProcess(frame) {
    var p = frame.process, e = p.eventLoopDelay, body = byId("process-rows"); body.innerHTML = "";
    var rows = [["cpu user / system", p.cpuUserSeconds.toFixed(1) + " s / " + p.cpuSystemSeconds.toFixed(1) + " s"],
      ["resident / heap used", fmtBytes(p.residentBytes) + " / " + fmtBytes(p.heapUsedBytes)],
      ["event-loop delay p50 / p99 / max", [e.p50Seconds, e.p99Seconds, e.maxSeconds].map(function (x) { return x > 0 ? fmtNs(x * 1e9) : "0"; }).join(" / ")],
      ["started", new Date(p.startTimeSeconds * 1000).toLocaleString(undefined, { hour12: false })]];
    rows.forEach(function (r) { var tr = document.createElement("tr"); cell(tr, r[0], "muted"); cell(tr, r[1], "r"); body.appendChild(tr); });
  }
  function renderHeader(frame, d) {
    var h = frame.health, pill = byId("status");
    pill.textContent = h.status; pill.className = "pill " + h.status;
    var ready = byId("ready"); ready.textContent = h.ready ? "ready" : "not ready"; ready.className = "pill " + (h.ready ? "running" : "draining");
    byId("reasons").textContent = h.reasons.join(" · ");
    var st = frame.stages, sink = st[st.length - 1], src = st[0];
    byId("k-src").textContent = src ? compact(d[src.stage].outRate) + "/s" : "—";
    byId("k-sink").textContent = sink ? compact(d[sink.stage].inRate) + "/s" : "—";
    byId("k-total").textContent = sink ? compact(sink.in) : "—";
    var p = frame.process, base = baseline(RATE_WINDOW_MS);
    var cpu = base ? (p.cpuUserSeconds + p.cpuSystemSeconds - base.process.cpuUserSeconds - base.process.cpuSystemSeconds) / ((frame.atMs - base.atMs) / 1000) : NaN;
    byId("k-cpu").textContent = isFinite(cpu) ? cpu.toFixed(2) + " cores" : "—";
    byId("k-rss").textContent = fmtBytes(p.residentBytes);
    byId("k-loop").textContent = p.eventLoopDelay.p99Seconds > 0 ? fmtNs(p.eventLoopDelay.p99Seconds * 1e9) : "< 1 ms";
    byId("k-up").textContent = fmtUptime(p.uptimeSeconds);
  }

  function onStats(frame) {
    state.frames.push(frame);
    while (state.frames.length > 2 && frame.atMs - state.frames[0].atMs > LATENCY_WINDOW_MS + 2000) state.frames.shift();
    var key = frame.stages.map(function (s) { return s.stage + "@" + s.host; }).join("|") + "/" + frame.rings.map(function (r) { return r.name; }).join("|");
    if (key !== state.layoutKey) { state.layoutKey = key; buildTopology(frame); }
    var d = derive(frame);
    pushChart(frame.atMs, frame);
    renderHeader(frame, d); updateTopology(frame, d); renderStageTable(frame, d); renderCounters(frame, d); renderRings(frame); renderProcess(frame); renderErrors(frame); renderChart(frame.atMs);
    state.lastFrameAt = Date.now();
    byId("conn").textContent = "live · updated " + fmtTime(frame.atMs);
    document.body.setAttribute("data-frames", String((Number(document.body.getAttribute("data-frames")) || 0) + 1));
  }

  function connect() {
    var ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws");
    ws.onmessage = function (event) {
      var msg; try { msg = JSON.parse(event.data); } catch (e) { return; }
      if (msg.type === "hello") { state.frames = []; seedChart(msg.history || []); }
      else if (msg.type === "stats") onStats(msg);
      else if (msg.type === "waiting") { byId("status").textContent = "no pipeline"; byId("conn").textContent = "connected · waiting for a pipeline"; }
    };
    ws.onclose = function () {
      var pill = byId("status"); pill.textContent = "offline"; pill.className = "pill offline";
      byId("conn").textContent = "disconnected · retrying…";
      setTimeout(connect, 1500);
    };
  }
  connect();
})();
`

/** The whole page, served as is. */
export const dashboardHtml = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>velox · pipeline dashboard</title>
<link rel="icon" href="data:,">
<style>${style}</style>
</head>
<body>
<header>
  <h1><b>velox</b> pipeline</h1>
  <span id="status" class="pill">connecting</span>
  <span id="ready" class="pill">—</span>
  <span id="reasons"></span>
  <span class="spacer"></span>
  <div class="kpi"><span>source out</span><b id="k-src">—</b></div>
  <div class="kpi"><span>sink in</span><b id="k-sink">—</b></div>
  <div class="kpi"><span>delivered</span><b id="k-total">—</b></div>
  <div class="kpi"><span>process cpu</span><b id="k-cpu">—</b></div>
  <div class="kpi"><span>rss</span><b id="k-rss">—</b></div>
  <div class="kpi"><span>loop delay p99</span><b id="k-loop">—</b></div>
  <div class="kpi"><span>uptime</span><b id="k-up">—</b></div>
</header>
<main>
  <section><h2>Pipeline · stages in their host loops, rings between them</h2><div id="topology"></div></section>
  <div class="row">
    <section>
      <h2>Throughput over time</h2>
      <div class="legend"><span><i style="background:var(--violet)"></i>sink in</span><span><i style="background:var(--teal)"></i>source out</span></div>
      <div id="chart"></div>
    </section>
    <section>
      <h2>Rings</h2>
      <table><thead><tr><th>link</th><th>fill</th><th class="r">records</th><th>state</th></tr></thead><tbody id="ring-rows"></tbody></table>
      <h2 style="margin-top:18px">Process</h2>
      <table><tbody id="process-rows"></tbody></table>
    </section>
  </div>
  <section>
    <h2>Stages</h2>
    <table><thead><tr><th>stage</th><th>state</th><th class="r">in/s</th><th class="r">in</th><th class="r">out</th><th>drops</th><th class="r">dead</th>
      <th class="r">retained</th><th class="r">batch</th><th class="r">idle</th><th class="r">p50</th><th class="r">p99</th><th class="r">p99.9</th><th class="r">restarts</th></tr></thead>
      <tbody id="stage-rows"></tbody></table>
  </section>
  <section>
    <h2>Counters · declared by the stages</h2>
    <div id="counters-empty" class="empty">No stage declares counters or gauges.</div>
    <table id="counters-table" style="display:none"><thead><tr><th>stage</th><th>name</th><th>kind</th><th class="r">value</th><th class="r">rate</th></tr></thead><tbody id="counter-rows"></tbody></table>
  </section>
  <section>
    <h2>Errors · distinct per stage</h2>
    <div id="errors-empty" class="empty">No dead letters: every record so far was emitted, dropped with a reason, or is still in flight.</div>
    <table id="errors-table" style="display:none"><thead><tr><th>stage</th><th>error</th><th class="r">count</th><th>first seen</th><th>last seen</th><th>sample record</th></tr></thead><tbody id="error-rows"></tbody></table>
  </section>
  <div id="conn">connecting…</div>
</main>
<script>${script}</script>
</body>
</html>
`
