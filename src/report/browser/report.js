/*
 * The HTML report's browser code (inlined by src/report/renderReport.ts after uPlot and
 * Cytoscape). It reads the JSON block #report-data and builds the page with DOM calls only:
 * every string from the data is set as textContent, an attribute value or a canvas label,
 * never parsed as markup, because session data is written by attackers (commands, user
 * names, URLs). No innerHTML, no links made from data, no network access (the page's
 * Content-Security-Policy forbids it anyway). Times are shown in UTC.
 */
(function () {
  "use strict";

  /* ---------- helpers ---------- */

  /** An element: props set as properties/attributes (never HTML), children appended as text or nodes. */
  function h(tag, props) {
    var el = document.createElement(tag);
    if (props) {
      for (var k in props) {
        var v = props[k];
        if (v === null || v === undefined || v === false) continue;
        if (k === "class") el.className = v;
        else if (k === "text") el.textContent = String(v);
        else if (k.slice(0, 2) === "on") el.addEventListener(k.slice(2), v);
        else if (k === "data") for (var d in v) el.dataset[d] = String(v[d]);
        else el.setAttribute(k, v === true ? "" : String(v));
      }
    }
    for (var i = 2; i < arguments.length; i++) append(el, arguments[i]);
    return el;
  }
  function append(el, kid) {
    if (kid === null || kid === undefined || kid === false) return;
    if (Array.isArray(kid)) { for (var i = 0; i < kid.length; i++) append(el, kid[i]); return; }
    el.append(typeof kid === "object" ? kid : String(kid));
  }
  function byIdEl(id) { return document.getElementById(id); }

  var NUM = new Intl.NumberFormat("en-US");
  function fmtInt(n) { return NUM.format(n); }
  function fmtPct(x) { return (x * 100).toFixed(x >= 0.995 || x < 0.001 ? 0 : 1) + "%"; }
  function fmtConf(x) { return x.toFixed(2); }
  function fmtTime(sec) { return new Date(sec * 1000).toISOString().slice(0, 16).replace("T", " "); }
  function fmtDay(sec) { return new Date(sec * 1000).toISOString().slice(0, 10); }
  function fmtDuration(sec) {
    if (sec < 90) return Math.round(sec) + " s";
    if (sec < 5400) return Math.round(sec / 60) + " min";
    if (sec < 2 * 86400) return (sec / 3600).toFixed(1) + " h";
    return (sec / 86400).toFixed(1) + " days";
  }
  function fmtP(p) {
    if (p === 0) return "0";
    if (p < 0.0001) return p.toExponential(1);
    if (p < 0.01) return p.toPrecision(2);
    return p.toFixed(3).replace(/0+$/, "").replace(/\.$/, "");
  }
  function cmp(a, b) { return a < b ? -1 : a > b ? 1 : 0; }

  function copyButton(text, label) {
    label = label || "copy";
    var btn = h("button", { class: "copy", type: "button", title: "Copy to the clipboard", text: label });
    btn.addEventListener("click", function (ev) {
      ev.stopPropagation();
      var value = typeof text === "function" ? text() : text;
      var done = function () {
        btn.textContent = "copied";
        btn.classList.add("copied");
        setTimeout(function () { btn.textContent = label; btn.classList.remove("copied"); }, 1200);
      };
      var fallback = function () {
        var ta = document.createElement("textarea");
        ta.value = value;
        ta.setAttribute("readonly", "");
        ta.style.position = "fixed";
        ta.style.opacity = "0";
        document.body.append(ta);
        ta.select();
        try { document.execCommand("copy"); } catch (e) { /* nothing more to try */ }
        ta.remove();
        done();
      };
      if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(value).then(done, fallback);
      else fallback();
    });
    return btn;
  }

  var ASSESSMENTS = ["highly_coordinated", "likely_coordinated", "possibly_coordinated", "likely_coincidental", "coincidental", "single_source"];
  var ASSESSMENT_TEXT = {
    highly_coordinated: "highly coordinated",
    likely_coordinated: "likely coordinated",
    possibly_coordinated: "possibly coordinated",
    likely_coincidental: "likely coincidental",
    coincidental: "coincidental",
    single_source: "single source"
  };
  var ASSESSMENT_COLOR = {
    highly_coordinated: "#b3261e",
    likely_coordinated: "#d9730d",
    possibly_coordinated: "#b7950b",
    likely_coincidental: "#6b7a8f",
    coincidental: "#9aa5b5",
    single_source: "#7d5ba6"
  };
  var LEVEL_DEPTH = { family: 0, variant: 1, wave: 2 };
  var PALETTE = ["#2457c5", "#d9730d", "#1a7f37", "#b3261e", "#7d5ba6", "#0a8f9c", "#b7950b", "#c2418f", "#9aa5b5"];

  function badge(assessment) {
    return h("span", { class: "badge a-" + assessment, text: ASSESSMENT_TEXT[assessment] || assessment });
  }
  function confidenceCell(c) {
    var lo = c.confidence_interval[0], hi = c.confidence_interval[1];
    var ci = h("div", { class: "ci" });
    ci.style.left = (lo * 100) + "%";
    ci.style.width = (Math.max(0.01, hi - lo) * 100) + "%";
    var pt = h("div", { class: "pt" });
    pt.style.left = "calc(" + (c.confidence * 100) + "% - 1px)";
    return h("div", { class: "conf", title: "confidence " + fmtConf(c.confidence) + ", interval " + fmtConf(lo) + "–" + fmtConf(hi) },
      h("div", { class: "bar" }, ci, pt), h("span", { text: fmtConf(c.confidence) }));
  }

  /* ---------- the data ---------- */

  var DATA = JSON.parse(byIdEl("report-data").textContent);
  var R = DATA.result;
  var TIMES = DATA.session_times;
  var COMMANDS = DATA.commands;

  var rows = R.campaigns.map(function (c, i) {
    return {
      c: c,
      order: i,
      depth: LEVEL_DEPTH[c.level] === undefined ? 0 : LEVEL_DEPTH[c.level],
      first: Date.parse(c.first_seen) / 1000,
      last: Date.parse(c.last_seen) / 1000,
      n: c.sessions.length,
      ips: c.source_ips.length,
      techniques: (c.techniques || []).length || c.ttps.length,
      hay: null
    };
  });
  var byId = new Map();
  var childrenOf = new Map();
  rows.forEach(function (r) { byId.set(r.c.id, r); });
  rows.forEach(function (r) {
    var p = r.c.parent_id;
    if (p !== null && byId.has(p)) {
      if (!childrenOf.has(p)) childrenOf.set(p, []);
      childrenOf.get(p).push(r);
    }
  });
  function familyOf(r) {
    var seen = 0;
    while (r.c.parent_id !== null && byId.has(r.c.parent_id) && seen++ < 10) r = byId.get(r.c.parent_id);
    return r;
  }
  function ancestors(r) {
    var out = [];
    var seen = 0;
    while (r.c.parent_id !== null && byId.has(r.c.parent_id) && seen++ < 10) { r = byId.get(r.c.parent_id); out.unshift(r); }
    return out;
  }
  function descendants(r) {
    var out = [];
    var stack = (childrenOf.get(r.c.id) || []).slice().reverse();
    while (stack.length > 0) {
      var x = stack.pop();
      out.push(x);
      var k = childrenOf.get(x.c.id);
      if (k) for (var i = k.length - 1; i >= 0; i--) stack.push(k[i]);
    }
    return out;
  }
  var families = rows.filter(function (r) { return r.c.parent_id === null; });

  /** Session start times (seconds, sorted) of a campaign, or null when the report has none. */
  var timeMaps = new Map();
  function sessionTimes(r) {
    if (!TIMES) return null;
    var fam = familyOf(r);
    var ft = TIMES.families[fam.c.id];
    if (!ft) return null;
    var out = [];
    if (fam === r) {
      for (var i = 0; i < ft.offsets.length; i++) if (ft.offsets[i] >= 0) out.push(ft.base + ft.offsets[i]);
    } else {
      var m = timeMaps.get(fam.c.id);
      if (!m) {
        m = new Map();
        for (var j = 0; j < fam.c.sessions.length; j++) if (ft.offsets[j] >= 0) m.set(fam.c.sessions[j], ft.base + ft.offsets[j]);
        timeMaps.set(fam.c.id, m);
      }
      for (var k = 0; k < r.c.sessions.length; k++) {
        var t = m.get(r.c.sessions[k]);
        if (t !== undefined) out.push(t);
      }
    }
    out.sort(function (a, b) { return a - b; });
    return out;
  }

  var STEPS = [60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400, 7 * 86400, 30 * 86400];
  var STEP_TEXT = { 60: "minute", 300: "5 minutes", 900: "15 minutes", 1800: "30 minutes", 3600: "hour", 10800: "3 hours", 21600: "6 hours", 43200: "12 hours", 86400: "day", 172800: "2 days", 604800: "week", 2592000: "30 days" };
  function stepFor(span, maxBins) {
    for (var i = 0; i < STEPS.length; i++) if (span / STEPS[i] <= maxBins) return STEPS[i];
    return STEPS[STEPS.length - 1];
  }
  function binsOf(lo, hi, step) {
    var start = Math.floor(lo / step) * step;
    var n = Math.max(1, Math.floor((hi - start) / step) + 1);
    var xs = new Array(n);
    for (var i = 0; i < n; i++) xs[i] = start + i * step;
    return { start: start, n: n, xs: xs, step: step };
  }

  /* ---------- charts (uPlot) ---------- */

  var UTC = function (ts) { return uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"); };
  /** Time axis ticks in UTC: dates, or month-day and hour:minute below a day. */
  var TIME_AXIS = {
    space: 80,
    values: function (u, splits, axisIdx, space, incr) {
      return splits.map(function (s) {
        if (s === null || s === undefined) return "";
        var iso = new Date(s * 1000).toISOString();
        return incr >= 86400 ? iso.slice(0, 10) : iso.slice(5, 10) + "\n" + iso.slice(11, 16);
      });
    }
  };
  function timeSeries(label) { return { label: label, value: function (u, v) { return v === null || v === undefined ? "--" : fmtTime(v); } }; }
  var charts = [];
  function chartWidth(el) { return Math.max(320, Math.floor(el.getBoundingClientRect().width) - 14); }
  function plot(opts, data, el) {
    var u = new uPlot(opts, data, el);
    charts.push({ u: u, el: el });
    return u;
  }
  function dropCharts(container) {
    charts = charts.filter(function (x) {
      if (container.contains(x.el)) { x.u.destroy(); return false; }
      return true;
    });
  }
  var resizeTimer = 0;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () {
      charts.forEach(function (x) { x.u.setSize({ width: chartWidth(x.el), height: x.u.height }); });
    }, 150);
  });

  /** Families' sessions per day (or week), stacked: the largest eight and the rest. */
  function familiesOverTime(el) {
    if (families.length === 0) { el.append(h("p", { class: "note", text: "No campaigns were found." })); return; }
    var lo = Infinity, hi = -Infinity;
    families.forEach(function (f) { lo = Math.min(lo, f.first); hi = Math.max(hi, f.last); });
    var step = (hi - lo) / 86400 > 400 ? 7 * 86400 : 86400;
    var bins = binsOf(lo, hi, step);
    var exact = true;
    function countsOf(f) {
      var counts = new Float64Array(bins.n);
      var ts = sessionTimes(f);
      if (ts && ts.length > 0) {
        for (var i = 0; i < ts.length; i++) counts[Math.min(bins.n - 1, Math.floor((ts[i] - bins.start) / step))]++;
        return counts;
      }
      // Without session times: each leaf campaign's sessions spread evenly over its span.
      exact = false;
      var leaves = descendants(f).filter(function (d) { return !childrenOf.has(d.c.id); });
      if (leaves.length === 0) leaves = [f];
      var covered = 0;
      leaves.forEach(function (l) { covered += l.n; spread(counts, l.first, l.last, l.n); });
      if (covered < f.n) spread(counts, f.first, f.last, f.n - covered);
      return counts;
    }
    function spread(counts, a, b, n) {
      if (b <= a) { counts[Math.min(bins.n - 1, Math.floor((a - bins.start) / step))] += n; return; }
      for (var i = Math.floor((a - bins.start) / step); i <= Math.floor((b - bins.start) / step) && i < bins.n; i++) {
        var x0 = Math.max(a, bins.start + i * step), x1 = Math.min(b, bins.start + (i + 1) * step);
        if (x1 > x0) counts[i] += n * (x1 - x0) / (b - a);
      }
    }
    var sorted = families.slice().sort(function (a, b) { return b.n - a.n || a.order - b.order; });
    var top = sorted.slice(0, 8);
    var rest = sorted.slice(8);
    var layers = top.map(function (f) { return { label: f.c.name, counts: countsOf(f) }; });
    if (rest.length > 0) {
      var other = new Float64Array(bins.n);
      rest.forEach(function (f) { var c = countsOf(f); for (var i = 0; i < bins.n; i++) other[i] += c[i]; });
      layers.push({ label: rest.length + " other families", counts: other });
    }
    // Stacked by drawing cumulative sums from the top layer down, each filled over the last.
    var series = [timeSeries("UTC " + (step === 86400 ? "day" : "week"))];
    var data = [bins.xs];
    layers.forEach(function (layer, k) {
      var cum = new Array(bins.n);
      for (var i = 0; i < bins.n; i++) {
        var s = 0;
        for (var j = k; j < layers.length; j++) s += layers[j].counts[i];
        cum[i] = s;
      }
      data.push(cum);
      var color = PALETTE[k % PALETTE.length];
      series.push({
        label: layer.label.length > 48 ? layer.label.slice(0, 47) + "…" : layer.label,
        stroke: color,
        fill: color + "cc",
        width: 1,
        paths: uPlot.paths.stepped({ align: 1 }),
        points: { show: false },
        value: function (u, v, si, idx) { return idx === null || idx === undefined ? "--" : fmtInt(Math.round(layers[si - 1].counts[idx])); }
      });
    });
    plot({
      width: chartWidth(el),
      height: 260,
      tzDate: UTC,
      scales: { x: { time: true }, y: { range: function (u, min, max) { return [0, Math.max(1, max * 1.05)]; } } },
      axes: [TIME_AXIS, { label: "sessions per " + (step === 86400 ? "day" : "week"), size: 60 }],
      series: series
    }, data, el);
    if (!exact) {
      el.append(h("p", { class: "note", text: "This Result carries no per-session times: each variant's and wave's sessions are spread evenly over its first-to-last span (approximate). Reports made by analyze --html count the sessions' real start times." }));
    }
  }

  /** A campaign's timeline: its sessions per bin (when the report has session times) and the spans of it and its variants and waves. */
  function campaignTimeline(el, r) {
    var spanRows = [r].concat(descendants(r));
    var shownRows = spanRows.length > 41 ? [r].concat(spanRows.slice(1).sort(function (a, b) { return b.n - a.n || a.order - b.order; }).slice(0, 40).sort(function (a, b) { return a.order - b.order; })) : spanRows;
    var lo = r.first, hi = r.last;
    var pad = Math.max(60, (hi - lo) * 0.03);
    var range = [lo - pad, hi + pad];
    var ts = sessionTimes(r);
    if (ts && ts.length > 0) {
      var step = stepFor(range[1] - range[0], 160);
      var bins = binsOf(range[0], range[1], step);
      var counts = new Array(bins.n).fill(0);
      for (var i = 0; i < ts.length; i++) counts[Math.min(bins.n - 1, Math.floor((ts[i] - bins.start) / step))]++;
      var box = h("div", { class: "tl-hist" });
      el.append(box);
      plot({
        width: chartWidth(el),
        height: 200,
        tzDate: UTC,
        cursor: { sync: { key: "timeline" } },
        scales: { x: { time: true, range: function () { return range; } }, y: { range: function (u, min, max) { return [0, Math.max(1, max * 1.1)]; } } },
        axes: [TIME_AXIS, { size: 200 }],
        series: [
          timeSeries("UTC"),
          { label: "session starts per " + STEP_TEXT[step], stroke: "#2457c5", fill: "#2457c5aa", paths: uPlot.paths.bars({ size: [0.9, 40], align: 1 }), points: { show: false } }
        ]
      }, [bins.xs, counts], box);
      var missing = r.n - ts.length;
      el.append(h("p", { class: "note", text: "Start times of " + fmtInt(ts.length) + " of the " + fmtInt(r.n) + " sessions, per " + STEP_TEXT[step] + " (UTC)" + (missing > 0 ? "; " + fmtInt(missing) + " sessions were not among those read for this report." : ".") }));
    } else {
      el.append(h("p", { class: "note", text: "Per-session times are not in a Result: this timeline shows the first-to-last span of the campaign and of each of its variants and waves. Reports made by analyze --html also chart every session's start." }));
    }
    var spans = h("div", { class: "tl-spans" });
    el.append(spans);
    var labels = shownRows.map(function (x) {
      var lvl = x.c.level;
      var when = fmtDay(x.first);
      return (x === r ? "this " + lvl : lvl + " " + when) + " (" + fmtInt(x.n) + ")";
    });
    var n = shownRows.length;
    plot({
      width: chartWidth(el),
      height: 50 + n * 22,
      tzDate: UTC,
      cursor: { sync: { key: "timeline" }, y: false, points: { show: false } },
      legend: { show: false },
      scales: { x: { time: true, range: function () { return range; } }, y: { dir: -1, range: function () { return [-0.5, n - 0.5]; } } },
      axes: [
        TIME_AXIS,
        {
          size: 200,
          splits: function () { return shownRows.map(function (_, i) { return i; }); },
          values: function (u, splits) { return splits.map(function (s) { return labels[s] || ""; }); },
          grid: { show: false }
        }
      ],
      series: [{}, { label: "span", show: true, stroke: "transparent", points: { show: false } }],
      hooks: {
        draw: [function (u) {
          var ctx = u.ctx;
          ctx.save();
          shownRows.forEach(function (x, i) {
            var x0 = u.valToPos(x.first, "x", true), x1 = u.valToPos(x.last, "x", true);
            var y0 = u.valToPos(i - 0.32, "y", true), y1 = u.valToPos(i + 0.32, "y", true);
            ctx.fillStyle = ASSESSMENT_COLOR[x.c.assessment] || "#2457c5";
            ctx.globalAlpha = x === r ? 1 : 0.8;
            ctx.fillRect(x0, Math.min(y0, y1), Math.max(2, x1 - x0), Math.abs(y1 - y0));
          });
          ctx.restore();
        }]
      }
    }, [range, [null, null]], spans);
    if (shownRows.length < spanRows.length) el.append(h("p", { class: "note", text: "The 40 largest of its " + (spanRows.length - 1) + " variants and waves are drawn." }));
  }

  /* ---------- the formation graph (Cytoscape) ---------- */

  var cy = null;
  var LINK_TEXT = {
    ssh_key: "same SSH key planted",
    payload: "same payload (sha256)",
    command_sequence: "same specific command list",
    similar_commands: "similar command sets",
    download_url: "same download URL",
    kit_marker: "same kit marker",
    dropped_file: "same dropped file name",
    credential_marker: "same marker credential",
    wordlist: "shared credential wordlist",
    same_source: "same source within 1 h"
  };
  function formationGraph(el, r) {
    if (cy) { cy.destroy(); cy = null; }
    var fam = familyOf(r);
    var elements = [];
    var ids = new Map();
    var next = 0;
    function nodeId(key) { if (!ids.has(key)) ids.set(key, "n" + next++); return ids.get(key); }
    function shortName(x, hidden) {
      var name = x.c.name.length > 34 ? x.c.name.slice(0, 33) + "…" : x.c.name;
      return x.c.level + " · " + fmtInt(x.n) + " sessions" + (hidden > 0 ? " · " + hidden + (hidden === 1 ? " wave" : " waves") : "") + "\n" + (x.c.level === "wave" ? "from " + fmtDay(x.first) : name);
    }
    function campaignNode(x, hidden) {
      elements.push({
        group: "nodes",
        data: { id: nodeId(x.c.id), cid: x.c.id, label: shortName(x, hidden || 0), color: ASSESSMENT_COLOR[x.c.assessment] || "#2457c5", size: 14 + Math.min(22, 3 * Math.log2(1 + x.n)) },
        classes: (x === r ? "sel " : "") + x.c.level + (x === fam ? " root" : "")
      });
    }
    campaignNode(fam);
    var formed = fam.c.formed_by || [];
    formed.forEach(function (f) {
      var id = nodeId("link:" + f.kind);
      elements.push({ group: "nodes", data: { id: id, label: f.kind, title: LINK_TEXT[f.kind] || f.kind }, classes: "link root" });
      elements.push({ group: "edges", data: { id: id + "-e", source: id, target: nodeId(fam.c.id), label: fmtInt(f.links) + " links", w: 1 + Math.min(8, Math.log2(1 + f.links)) }, classes: "link" });
    });
    if (formed.length > 0) elements.forEach(function (e) { if (e.data.cid === fam.c.id) e.classes = e.classes.replace(" root", ""); });
    // A small family is drawn whole. In a large one each parent shows its largest children
    // (the rest as one "+N more" node), and only the campaigns on the way to the one opened
    // show their own children; the others say how many they have.
    var small = descendants(fam).length <= 30;
    var LIMIT = small ? 30 : 10;
    var path = new Set(ancestors(r).map(function (a) { return a.c.id; }).concat([r.c.id]));
    (function walk(parent) {
      var kids = childrenOf.get(parent.c.id) || [];
      var shown = kids.length > LIMIT ? kids.slice().sort(function (a, b) { return b.n - a.n || a.order - b.order; }).slice(0, LIMIT) : kids;
      if (shown.indexOf(r) < 0 && kids.indexOf(r) >= 0) shown = shown.slice(0, LIMIT - 1).concat([r]);
      shown.forEach(function (k) {
        var expand = small || path.has(k.c.id);
        var hidden = expand ? 0 : descendants(k).length;
        campaignNode(k, hidden);
        elements.push({ group: "edges", data: { id: nodeId(k.c.id) + "-p", source: nodeId(parent.c.id), target: nodeId(k.c.id), w: 1.5 } });
        if (expand) walk(k);
      });
      if (kids.length > shown.length) {
        var more = nodeId("more:" + parent.c.id);
        elements.push({ group: "nodes", data: { id: more, label: "+" + (kids.length - shown.length) + " more", size: 14, color: "#d9dde6" }, classes: "more" });
        elements.push({ group: "edges", data: { id: more + "-p", source: nodeId(parent.c.id), target: more, w: 1 } });
      }
    })(fam);
    cy = cytoscape({
      container: el,
      elements: elements,
      autoungrabify: true,
      boxSelectionEnabled: false,
      minZoom: 0.2,
      maxZoom: 3,
      style: [
        { selector: "node", style: { "label": "data(label)", "font-size": 9, "text-wrap": "wrap", "text-max-width": 130, "text-valign": "bottom", "text-margin-y": 3, "background-color": "data(color)", "width": "data(size)", "height": "data(size)", "color": "#1d2433" } },
        { selector: "node.link", style: { "shape": "round-rectangle", "background-color": "#e8a33d", "width": 24, "height": 16 } },
        { selector: "node.more", style: { "shape": "round-rectangle" } },
        { selector: "node.sel", style: { "border-width": 3, "border-color": "#1d2433" } },
        { selector: "edge", style: { "width": "data(w)", "line-color": "#aab3c5", "target-arrow-shape": "triangle", "target-arrow-color": "#aab3c5", "curve-style": "bezier", "arrow-scale": 0.8 } },
        { selector: "edge.link", style: { "line-color": "#e8a33d", "target-arrow-color": "#e8a33d", "label": "data(label)", "font-size": 8, "text-background-color": "#ffffff", "text-background-opacity": 1, "text-background-padding": 1, "color": "#5b6478" } }
      ],
      layout: { name: "preset" }
    });
    cy.layout({ name: "breadthfirst", directed: true, roots: cy.nodes(".root"), spacingFactor: 1, padding: 12, animate: false, avoidOverlap: true, nodeDimensionsIncludeLabels: true }).run();
    cy.on("tap", "node", function (ev) {
      var cid = ev.target.data("cid");
      if (cid && cid !== r.c.id) route(cid);
    });
  }

  /* ---------- evidence ---------- */

  var EVIDENCE_TEXT = {
    temporal_correlation: { name: "Timing", like: "start at least this close together in time" },
    behavioral_similarity: { name: "Behaviour", like: "run commands at least this similar" },
    infrastructure_clustering: { name: "Infrastructure", like: "come from this few networks (/24, /48) or fewer" },
    geographic_proximity: { name: "Geography", like: "come from this few countries or fewer" },
    payload_similarity: { name: "Shared artefact", like: "carry their most common artefact this often" }
  };
  /** One sentence saying what a p-value means for this kind of evidence. */
  function evidenceSentence(kind, ev, n) {
    var t = EVIDENCE_TEXT[kind] || { like: "score this high" };
    var p = ev.p_value;
    var verdict = p <= 0.01 ? "strong evidence against chance" : p <= 0.05 ? "moderate evidence against chance" : p <= 0.1 ? "weak evidence against chance" : "chance explains it as well: no evidence";
    if (kind === "payload_similarity") {
      return "p = " + fmtP(p) + ": if that artefact were spread at random over the input's sessions, " + fmtInt(n) + " sessions would carry it this often with probability " + fmtP(p) +
        " (its rarity, by the hypergeometric tail; adjusted for testing every campaign) — " + verdict + ".";
    }
    var often = p >= 0.5 ? "in half of the draws or more" : p >= 0.01 ? "in about " + Math.max(1, Math.round(p * 100)) + " of 100 draws" : p >= 0.001 ? "in about " + Math.max(1, Math.round(p * 1000)) + " of 1,000 draws" : "in fewer than 1 of 1,000 draws";
    return "p = " + fmtP(p) + ": random sets of the same size drawn from all sessions of the input " + t.like + " " + often + " (adjusted for testing every campaign) — " + verdict + ".";
  }

  /* ---------- layout ---------- */

  var app = byIdEl("app");
  app.replaceChildren();
  var allFirst = Infinity, allLast = -Infinity;
  rows.forEach(function (r) { allFirst = Math.min(allFirst, r.first); allLast = Math.max(allLast, r.last); });
  var inputFiles = R.input.files.map(function (f) { return f.path.split("/").pop() + " (" + f.format + ")"; });
  app.append(h("header", { class: "top" },
    h("h1", { text: "DShield coordination report" }),
    h("div", { class: "meta" },
      "run " + R.run.id + " · engine " + R.run.engine_version + " · seed " + R.run.seed + (R.run.attack_version ? " · ATT&CK " + R.run.attack_version : "") + " · analysed " + R.run.finished_at.slice(0, 16).replace("T", " ") + " UTC"),
    h("div", { class: "meta" }, "input: " + (inputFiles.length > 4 ? inputFiles.slice(0, 4).join(", ") + " and " + (inputFiles.length - 4) + " more" : inputFiles.join(", ") || "—") +
      (rows.length > 0 ? " · data from " + fmtTime(allFirst) + " to " + fmtTime(allLast) + " UTC" : ""))
  ));
  var sections = {};
  var nav = h("nav", { class: "tabs" });
  [["overview", "Overview"], ["campaigns", "Campaigns"], ["detail", "Campaign"], ["attack", "ATT&CK"]].forEach(function (s) {
    nav.append(h("a", { role: "button", tabindex: "0", text: s[1], onclick: function () { if (sections[s[0]] && !sections[s[0]].hidden) sections[s[0]].scrollIntoView({ block: "start" }); } }));
  });
  app.append(nav);
  var main = h("main");
  app.append(main);

  /* ---------- overview ---------- */

  (function overview() {
    var sec = h("section", { id: "overview" }, h("h2", { text: "Overview" }));
    sections.overview = sec;
    main.append(sec);
    var sessions = R.input.sessions;
    var clustered = Math.max(0, sessions - R.unclustered_sessions);
    var count = { family: 0, variant: 0, wave: 0 };
    rows.forEach(function (r) { count[r.c.level] = (count[r.c.level] || 0) + 1; });
    var coordinated = families.filter(function (f) { return f.c.assessment === "highly_coordinated" || f.c.assessment === "likely_coordinated"; }).length;
    var rejected = 0;
    for (var k in R.input.rejected) rejected += R.input.rejected[k];
    function card(v, k, id) { return h("div", { class: "card", id: id }, h("div", { class: "v", text: v }), h("div", { class: "k", text: k })); }
    sec.append(h("div", { class: "cards" },
      card(fmtInt(sessions), "sessions in " + fmtInt(R.input.files.length) + " file(s), " + fmtInt(R.input.events) + " events" +
        (R.input.duplicate_events ? " (" + fmtInt(R.input.duplicate_events) + " read twice, counted once)" : "")),
      card(fmtPct(sessions > 0 ? clustered / sessions : 0), fmtInt(clustered) + " sessions in a campaign", "clustered-share"),
      card(fmtInt(count.family), "campaign families"),
      card(fmtInt(count.variant) + " / " + fmtInt(count.wave), "variants / waves"),
      card(fmtInt(coordinated), "families highly or likely coordinated"),
      card(fmtInt(rejected), "input lines rejected")
    ));
    sec.append(h("h3", { text: "Campaign families over time" }));
    var chart = h("div", { class: "chart", id: "families-chart" });
    sec.append(chart);
    familiesOverTime(chart);

    // Indicators shared by the most families (each family counted once, with its sessions).
    var tally = new Map();
    families.forEach(function (f) {
      f.c.indicators.forEach(function (ind) {
        // Networks (autonomous systems, countries) are shared by unrelated families by nature.
        if (ind.type === "asn" || ind.type === "country") return;
        var key = ind.type + "\u0000" + ind.value;
        var t = tally.get(key);
        if (!t) { t = { type: ind.type, value: ind.value, families: 0, sessions: 0, first: f }; tally.set(key, t); }
        t.families++;
        t.sessions += f.n;
      });
    });
    var top = Array.from(tally.values()).sort(function (a, b) { return b.families - a.families || b.sessions - a.sessions || cmp(a.type, b.type) || cmp(a.value, b.value); }).slice(0, 20);
    sec.append(h("h3", { text: "Top indicators" }));
    if (top.length === 0) { sec.append(h("p", { class: "note", text: "No campaign family carries an indicator." })); return; }
    sec.append(h("p", { class: "note", text: "Indicators of campaign families, by the number of families and then sessions that carry them. Click one to find its campaigns." }));
    var tb = h("tbody");
    top.forEach(function (t) {
      tb.append(h("tr", { class: "click", onclick: function () { setSearch(t.value); } },
        h("td", { text: t.type }),
        h("td", { class: "val mono" }, t.value.length > 160 ? t.value.slice(0, 159) + "…" : t.value, copyButton(t.value)),
        h("td", { class: "num", text: fmtInt(t.families) }),
        h("td", { class: "num", text: fmtInt(t.sessions) })));
    });
    sec.append(h("table", { class: "plain", id: "top-indicators" },
      h("thead", null, h("tr", null, h("th", { text: "type" }), h("th", { text: "value" }), h("th", { class: "num", text: "families" }), h("th", { class: "num", text: "sessions" }))), tb));
  })();

  /* ---------- the campaign table ---------- */

  var ROW_H = 30;
  var state = { level: "all", assessment: "any", minConf: 0, minSessions: 0, maxSessions: Infinity, from: -Infinity, to: Infinity, q: "", sort: "order", dir: 1 };
  var view = rows.slice();
  var selected = null;
  var searchInput, countEl, scroller, spacer, rowsEl, headCells = {};

  function haystack(r) {
    if (r.hay === null) {
      var parts = [r.c.id, r.c.name];
      r.c.indicators.forEach(function (i) { parts.push(i.value); });
      r.c.ttps.forEach(function (t) { parts.push(t); });
      (r.c.techniques || []).forEach(function (t) { parts.push(t.name); });
      parts.push(r.c.source_ips.join("\n"));
      parts.push(r.c.sessions.join("\n"));
      r.hay = parts.join("\n").toLowerCase();
    }
    return r.hay;
  }
  var SORTS = {
    order: function (a, b) { return a.order - b.order; },
    name: function (a, b) { return cmp(a.c.name.toLowerCase(), b.c.name.toLowerCase()); },
    level: function (a, b) { return a.depth - b.depth; },
    assessment: function (a, b) { return ASSESSMENTS.indexOf(a.c.assessment) - ASSESSMENTS.indexOf(b.c.assessment); },
    confidence: function (a, b) { return a.c.confidence - b.c.confidence; },
    sessions: function (a, b) { return a.n - b.n; },
    sources: function (a, b) { return a.ips - b.ips; },
    first: function (a, b) { return a.first - b.first; },
    last: function (a, b) { return a.last - b.last; },
    techniques: function (a, b) { return a.techniques - b.techniques; }
  };
  function applyFilters() {
    var q = state.q.trim().toLowerCase();
    view = rows.filter(function (r) {
      if (state.level !== "all" && r.c.level !== state.level) return false;
      if (state.assessment !== "any" && r.c.assessment !== state.assessment) return false;
      if (r.c.confidence < state.minConf) return false;
      if (r.n < state.minSessions || r.n > state.maxSessions) return false;
      if (r.last < state.from || r.first >= state.to) return false;
      if (q !== "" && haystack(r).indexOf(q) < 0) return false;
      return true;
    });
    var f = SORTS[state.sort];
    view.sort(function (a, b) { return state.dir * f(a, b) || a.order - b.order; });
    for (var k in headCells) headCells[k].setAttribute("aria-sort", k === state.sort && k !== "order" ? (state.dir > 0 ? "ascending" : "descending") : "none");
    countEl.textContent = "Showing " + fmtInt(view.length) + " of " + fmtInt(rows.length) + " campaigns" + (state.sort === "order" ? " (families largest first, each followed by its variants and waves)" : "");
    countEl.dataset.shown = String(view.length);
    spacer.style.height = Math.max(1, view.length * ROW_H) + "px";
    scroller.scrollTop = 0;
    renderRows();
  }
  function rowEl(r) {
    var c = r.c;
    return h("div", { class: "row" + (selected === c.id ? " sel" : ""), role: "row", data: { id: c.id, level: c.level }, onclick: function () { route(c.id); } },
      h("div", { class: "name", role: "cell", title: c.name }, c.name, h("small", { class: "mono", text: c.id })),
      h("div", { class: "lvl", role: "cell", text: c.level }),
      h("div", { role: "cell" }, badge(c.assessment)),
      h("div", { role: "cell" }, confidenceCell(c)),
      h("div", { class: "num", role: "cell", text: fmtInt(r.n) }),
      h("div", { class: "num", role: "cell", text: fmtInt(r.ips) }),
      h("div", { role: "cell", text: fmtTime(r.first) }),
      h("div", { role: "cell", text: fmtTime(r.last) }),
      h("div", { class: "num", role: "cell", text: String(r.techniques) }));
  }
  var pending = false;
  function renderRows() {
    var top = scroller.scrollTop, height = scroller.clientHeight || 500;
    var first = Math.max(0, Math.floor(top / ROW_H) - 8);
    var last = Math.min(view.length, Math.ceil((top + height) / ROW_H) + 8);
    rowsEl.style.transform = "translateY(" + first * ROW_H + "px)";
    var kids = [];
    for (var i = first; i < last; i++) kids.push(rowEl(view[i]));
    if (view.length === 0) kids.push(h("div", { class: "empty", text: "No campaign matches these filters." }));
    rowsEl.replaceChildren.apply(rowsEl, kids);
  }
  function setSearch(text) {
    searchInput.value = text;
    state.q = text;
    applyFilters();
    sections.campaigns.scrollIntoView({ block: "start" });
  }

  (function table() {
    var sec = h("section", { id: "campaigns" }, h("h2", { text: "Campaigns" }));
    sections.campaigns = sec;
    main.append(sec);
    var timer = 0;
    function later(fn) { clearTimeout(timer); timer = setTimeout(fn, 150); }
    function num(v, fallback) { var x = parseFloat(v); return Number.isFinite(x) ? x : fallback; }
    function day(v, fallback, add) { if (!v) return fallback; var t = Date.parse(v + "T00:00:00Z"); return Number.isFinite(t) ? t / 1000 + add : fallback; }
    var level = h("select", { id: "f-level" },
      h("option", { value: "all", text: "all levels" }), h("option", { value: "family", text: "families" }), h("option", { value: "variant", text: "variants" }), h("option", { value: "wave", text: "waves" }));
    var assessment = h("select", { id: "f-assessment" }, h("option", { value: "any", text: "any" }),
      ASSESSMENTS.map(function (a) { return h("option", { value: a, text: ASSESSMENT_TEXT[a] }); }));
    var minConf = h("input", { id: "f-minconf", type: "number", min: "0", max: "1", step: "0.05", value: "0" });
    var minS = h("input", { id: "f-minsessions", type: "number", min: "0", step: "1", placeholder: "0" });
    var maxS = h("input", { id: "f-maxsessions", type: "number", min: "0", step: "1", placeholder: "any" });
    var from = h("input", { id: "f-from", type: "date" });
    var to = h("input", { id: "f-to", type: "date" });
    searchInput = h("input", { id: "f-search", type: "search", placeholder: "id, name, indicator, IP, session id, technique", autocomplete: "off", spellcheck: "false" });
    function read() {
      state.level = level.value;
      state.assessment = assessment.value;
      state.minConf = num(minConf.value, 0);
      state.minSessions = num(minS.value, 0);
      state.maxSessions = num(maxS.value, Infinity);
      state.from = day(from.value, -Infinity, 0);
      state.to = day(to.value, Infinity, 86400);
      state.q = searchInput.value;
      applyFilters();
    }
    [level, assessment, from, to].forEach(function (el) { el.addEventListener("change", read); });
    [minConf, minS, maxS, searchInput].forEach(function (el) { el.addEventListener("input", function () { later(read); }); });
    var reset = h("button", { type: "button", id: "f-reset", text: "reset", onclick: function () {
      level.value = "all"; assessment.value = "any"; minConf.value = "0"; minS.value = ""; maxS.value = ""; from.value = ""; to.value = ""; searchInput.value = "";
      state.sort = "order"; state.dir = 1; read();
    } });
    function field(label, el) { return h("label", null, label, el); }
    sec.append(h("div", { class: "filters" },
      field("level", level), field("assessment", assessment), field("min confidence", minConf),
      field("min sessions", minS), field("max sessions", maxS), field("seen from (UTC)", from), field("seen until (UTC)", to),
      field("search", searchInput), reset));
    countEl = h("div", { class: "count", id: "table-count" });
    sec.append(countEl);
    var head = h("div", { class: "head", role: "row" });
    [["name", "campaign"], ["level", "level"], ["assessment", "assessment"], ["confidence", "confidence"], ["sessions", "sessions"], ["sources", "sources"], ["first", "first seen"], ["last", "last seen"], ["techniques", "ATT&CK"]].forEach(function (col) {
      var cell = h("div", { role: "columnheader", "aria-sort": "none", title: "sort by " + col[1], data: { sort: col[0] }, text: col[1] });
      cell.addEventListener("click", function () {
        if (state.sort === col[0]) state.dir = -state.dir;
        else { state.sort = col[0]; state.dir = col[0] === "name" || col[0] === "level" || col[0] === "assessment" ? 1 : -1; }
        applyFilters();
      });
      headCells[col[0]] = cell;
      head.append(cell);
    });
    rowsEl = h("div", { class: "rows", role: "rowgroup" });
    spacer = h("div", { class: "spacer" }, rowsEl);
    scroller = h("div", { class: "scroller", id: "table-scroller" }, spacer);
    scroller.addEventListener("scroll", function () {
      if (pending) return;
      pending = true;
      requestAnimationFrame(function () { pending = false; renderRows(); });
    }, { passive: true });
    sec.append(h("div", { class: "grid", role: "table", id: "campaign-table", "aria-label": "campaigns" }, head, scroller));
    sec.append(h("p", { class: "note", text: "Rows are drawn as they scroll into view. Click a campaign for its timeline, evidence, indicators, techniques and how it formed. Confidence shows the point estimate and its interval." }));
  })();

  /* ---------- one campaign ---------- */

  var detail = h("section", { id: "detail", hidden: true });
  sections.detail = detail;
  main.append(detail);

  function openCampaign(id, scroll) {
    var r = byId.get(id);
    if (!r) return;
    selected = id;
    renderRows();
    var c = r.c;
    dropCharts(detail);
    if (cy) { cy.destroy(); cy = null; }
    detail.replaceChildren();
    detail.hidden = false;
    detail.dataset.campaign = id;

    var crumbs = h("div", { class: "crumbs" });
    ancestors(r).forEach(function (a) {
      crumbs.append(h("a", { role: "link", tabindex: "0", text: a.c.level + " " + (a.c.name.length > 50 ? a.c.name.slice(0, 49) + "…" : a.c.name), onclick: function () { route(a.c.id); } }), " › ");
    });
    crumbs.append(c.level);
    detail.append(crumbs);
    detail.append(h("h2", { text: c.name }));
    detail.append(h("div", { class: "mono" }, c.id, copyButton(c.id, "copy id")));
    function kv(k, v) { return h("div", null, h("span", { class: "k", text: k }), v); }
    var lo = c.confidence_interval[0], hi = c.confidence_interval[1];
    detail.append(h("div", { class: "kv" },
      kv("assessment", badge(c.assessment)),
      kv("confidence", fmtConf(c.confidence) + " (interval " + fmtConf(lo) + "–" + fmtConf(hi) + ")"),
      kv("sessions", fmtInt(r.n)),
      kv("source IPs", fmtInt(r.ips)),
      kv("first seen (UTC)", fmtTime(r.first)),
      kv("last seen (UTC)", fmtTime(r.last) + " · " + fmtDuration(r.last - r.first))));

    detail.append(h("h3", { text: "Timeline" }));
    var tl = h("div", { class: "chart", id: "timeline" });
    detail.append(tl);

    var left = h("div");
    var right = h("div");
    detail.append(left, right);

    left.append(h("h3", { text: "Evidence" }));
    var kinds = Object.keys(c.evidence).sort();
    if (kinds.length === 0) left.append(h("p", { class: "note", text: "No evidence was computed for this campaign." }));
    var etb = h("tbody");
    kinds.forEach(function (kind) {
      var ev = c.evidence[kind];
      etb.append(h("tr", { class: "evidence", data: { kind: kind } },
        h("td", null, h("strong", { text: (EVIDENCE_TEXT[kind] || { name: kind }).name }), h("div", { class: "lvl mono", text: kind })),
        h("td", { class: "num" }, "p = " + fmtP(ev.p_value), h("div", { class: "lvl", text: "score " + ev.score.toFixed(2) })),
        h("td", null, h("div", { text: evidenceSentence(kind, ev, r.n) }), h("div", { class: "lvl", text: ev.detail }))));
    });
    if (kinds.length > 0) left.append(h("table", { class: "plain", id: "evidence" }, etb));
    left.append(h("p", { class: "note", text: "Each p-value compares the campaign with random sets of the same size drawn from all sessions of the input (the shared artefact with its rarity instead), adjusted for testing every campaign (Benjamini–Hochberg). Small is unusual; with 199 random draws no p-value of a draw test goes below about 0.005." }));

    right.append(h("h3", { text: "How it formed" }));
    var graph = h("div", { id: "graph" });
    right.append(graph);
    var legend = h("div", { class: "legend" });
    [["#e8a33d", "link kind that joined the family (links = unions it made)"], ["#b3261e", "campaign, coloured by assessment"]].forEach(function (l) {
      var sw = h("span", { class: "swatch" });
      sw.style.background = l[0];
      legend.append(h("span", null, sw, l[1]));
    });
    right.append(legend);
    var fam = familyOf(r);
    right.append(h("p", { class: "note", text: (fam.c.formed_by || []).length === 0 ? "The family lists no link kinds." : "The family was joined by " + fam.c.formed_by.map(function (f) { return (LINK_TEXT[f.kind] || f.kind) + " (" + fmtInt(f.links) + ")"; }).join(", ") + "; below it, its variants and waves. Click a node to open it." }));

    detail.append(h("h3", { text: "Indicators (" + c.indicators.length + ")" }));
    if (c.indicators.length === 0) detail.append(h("p", { class: "note", text: "None." }));
    else {
      var itb = h("tbody");
      c.indicators.forEach(function (ind) {
        itb.append(h("tr", { class: "indicator" }, h("td", { text: ind.type }), h("td", { class: "val mono" }, ind.name ? ind.value + " " + ind.name : ind.value), h("td", null, copyButton(ind.value))));
      });
      detail.append(h("table", { class: "plain", id: "indicators" }, h("thead", null, h("tr", null, h("th", { text: "type" }), h("th", { text: "value" }), h("th", null, copyButton(function () { return c.indicators.map(function (i) { return i.type + "\t" + i.value; }).join("\n"); }, "copy all")))), itb));
    }

    var techniques = c.techniques || c.ttps.map(function (t) { return { id: t, name: "", sessions: 0, rules: [] }; });
    detail.append(h("h3", { text: "ATT&CK techniques (" + techniques.length + ")" }));
    if (techniques.length === 0) detail.append(h("p", { class: "note", text: "No rule showed a technique in these sessions." }));
    else {
      var ttb = h("tbody");
      techniques.forEach(function (t) {
        ttb.append(h("tr", null, h("td", { class: "mono", text: t.id }), h("td", { text: t.name }), h("td", { class: "num", text: t.sessions ? fmtInt(t.sessions) : "" }),
          h("td", { class: "mono", text: t.rules.map(function (x) { return x.rule + " (" + fmtInt(x.sessions) + ")"; }).join(", ") })));
      });
      detail.append(h("table", { class: "plain", id: "techniques" }, h("thead", null, h("tr", null, h("th", { text: "technique" }), h("th", { text: "name" }), h("th", { class: "num", text: "sessions" }), h("th", { text: "rules (sessions)" }))), ttb));
    }

    var kids = childrenOf.get(c.id) || [];
    detail.append(h("h3", { text: "Variants and waves (" + descendants(r).length + ")" }));
    if (kids.length === 0) detail.append(h("p", { class: "note", text: "None: this campaign is not split further." }));
    else {
      var ktb = h("tbody");
      descendants(r).forEach(function (k) {
        ktb.append(h("tr", { class: "click", data: { id: k.c.id }, onclick: function () { route(k.c.id); } },
          h("td", { class: "lvl", text: (k.depth - r.depth > 1 ? "  └ " : "") + k.c.level }), h("td", { class: "val", text: k.c.name }), h("td", null, badge(k.c.assessment)),
          h("td", { class: "num", text: fmtConf(k.c.confidence) }), h("td", { class: "num", text: fmtInt(k.n) }),
          h("td", { text: fmtTime(k.first) + " – " + fmtTime(k.last) })));
      });
      detail.append(h("table", { class: "plain", id: "children" }, h("thead", null, h("tr", null, h("th", { text: "level" }), h("th", { text: "name" }), h("th", { text: "assessment" }), h("th", { class: "num", text: "confidence" }), h("th", { class: "num", text: "sessions" }), h("th", { text: "span (UTC)" }))), ktb));
    }

    function listBlock(title, items) {
      var shown = items.slice(0, 2000);
      var pre = h("pre", { class: "list mono" });
      var d = h("details", null, h("summary", { text: title + " (" + fmtInt(items.length) + ")" + (items.length > shown.length ? ", the first " + fmtInt(shown.length) + " shown" : "") }), pre);
      d.addEventListener("toggle", function () { if (d.open && pre.textContent === "") pre.textContent = shown.join("\n"); });
      return h("div", null, d, copyButton(function () { return items.join("\n"); }, "copy all " + items.length));
    }
    detail.append(h("h3", { text: "Sessions and sources" }));
    detail.append(listBlock("session ids", c.sessions), listBlock("source IPs", c.source_ips));

    if (scroll) detail.scrollIntoView({ block: "start" });
    // Charts measure their container: drawn once the section is laid out.
    campaignTimeline(tl, r);
    formationGraph(graph, r);
  }

  function route(id) {
    if (location.hash !== "#campaign=" + id) location.hash = "campaign=" + id;
    else openCampaign(id, true);
  }
  window.addEventListener("hashchange", function () {
    var m = /^#campaign=(.+)$/.exec(location.hash);
    if (m && byId.has(decodeURIComponent(m[1]))) openCampaign(decodeURIComponent(m[1]), true);
  });

  /* ---------- ATT&CK ---------- */

  (function attack() {
    var sec = h("section", { id: "attack" }, h("h2", { text: "ATT&CK" }));
    sections.attack = sec;
    main.append(sec);
    var tally = new Map();
    families.forEach(function (f) {
      (f.c.techniques || []).forEach(function (t) {
        var x = tally.get(t.id);
        if (!x) { x = { id: t.id, name: t.name, sessions: 0, families: 0, rules: new Map() }; tally.set(t.id, x); }
        x.sessions += t.sessions;
        x.families++;
        t.rules.forEach(function (rule) { x.rules.set(rule.rule, (x.rules.get(rule.rule) || 0) + rule.sessions); });
      });
    });
    var clustered = Math.max(0, R.input.sessions - R.unclustered_sessions);
    var list = Array.from(tally.values()).sort(function (a, b) { return b.sessions - a.sessions || cmp(a.id, b.id); });
    sec.append(h("p", { class: "note", text: "Techniques of the campaign families" + (R.run.attack_version ? " (" + R.run.attack_version + ")" : "") + ", from what their sessions did, with the rules that showed them. Sessions are counted in families (each session is in at most one). Click a technique to list its campaigns." }));
    if (list.length === 0) sec.append(h("p", { class: "note", text: "No technique was shown." }));
    else {
      var tb = h("tbody");
      list.forEach(function (t) {
        var rules = Array.from(t.rules.entries()).sort(function (a, b) { return b[1] - a[1] || cmp(a[0], b[0]); });
        tb.append(h("tr", { class: "click", onclick: function () { setSearch(t.id); } },
          h("td", { class: "mono", text: t.id }), h("td", { text: t.name }), h("td", { class: "num", text: fmtInt(t.families) }),
          h("td", { class: "num", text: fmtInt(t.sessions) }), h("td", { class: "num", text: clustered > 0 ? fmtPct(t.sessions / clustered) : "" }),
          h("td", { class: "mono", text: rules.map(function (x) { return x[0] + " (" + fmtInt(x[1]) + ")"; }).join(", ") })));
      });
      sec.append(h("table", { class: "plain", id: "attack-techniques" }, h("thead", null, h("tr", null, h("th", { text: "technique" }), h("th", { text: "name" }), h("th", { class: "num", text: "families" }), h("th", { class: "num", text: "sessions" }), h("th", { class: "num", text: "of clustered" }), h("th", { text: "rules (sessions)" }))), tb));
    }

    sec.append(h("h3", { text: "Command lines no rule maps" }));
    if (!COMMANDS) {
      sec.append(h("p", { class: "note", id: "unmapped-note", text: "A Result does not carry the command lines. Reports made by analyze --html (or report --logs) list every command line of the input that maps to no technique by a command rule: where a rule may be missing." }));
      return;
    }
    var u = COMMANDS.unmapped;
    sec.append(h("p", { class: "note", id: "unmapped-note", text: fmtInt(COMMANDS.distinct) + " distinct command lines in the input; " + fmtInt(COMMANDS.unmapped_distinct) + " map to no technique by a command rule" + (COMMANDS.unmapped_distinct > u.length ? " (the " + fmtInt(u.length) + " most used are listed)" : "") + ". Session rules (logins, transfers, forwards, the shell itself) are properties of sessions and are not counted here; the campaigns' techniques count both." }));
    var PAGE = 100;
    var page = 0;
    var utb = h("tbody");
    var pager = h("div", { class: "pager" });
    function draw() {
      var kids = [];
      u.slice(page * PAGE, (page + 1) * PAGE).forEach(function (c) {
        kids.push(h("tr", null, h("td", { class: "num", text: fmtInt(c.sessions) }), h("td", null, h("code", { class: "cmd", text: c.command })), h("td", null, copyButton(c.command))));
      });
      utb.replaceChildren.apply(utb, kids);
      var pages = Math.max(1, Math.ceil(u.length / PAGE));
      pager.replaceChildren(
        h("button", { type: "button", text: "‹ previous", disabled: page === 0, onclick: function () { page--; draw(); } }),
        "page " + (page + 1) + " of " + pages,
        h("button", { type: "button", text: "next ›", disabled: page + 1 >= pages, onclick: function () { page++; draw(); } }));
    }
    if (u.length > 0) {
      sec.append(h("table", { class: "plain", id: "unmapped" }, h("thead", null, h("tr", null, h("th", { class: "num", text: "sessions" }), h("th", { text: "command line" }), h("th", null, copyButton(function () { return u.map(function (c) { return c.command; }).join("\n"); }, "copy all")))), utb), pager);
      draw();
    }
    if (COMMANDS.mapped.length > 0) {
      sec.append(h("h3", { text: "Most used command lines that rules map" }));
      var mtb = h("tbody");
      COMMANDS.mapped.forEach(function (c) {
        mtb.append(h("tr", null, h("td", { class: "num", text: fmtInt(c.sessions) }), h("td", null, h("code", { class: "cmd", text: c.command })),
          h("td", { class: "mono", text: c.techniques.map(function (t) { return t.technique + " " + (COMMANDS.technique_names[t.technique] || "") + " (" + t.rule + ")"; }).join(", ") })));
      });
      sec.append(h("details", null, h("summary", { text: "the " + COMMANDS.mapped.length + " most used" }), h("table", { class: "plain", id: "mapped" }, h("thead", null, h("tr", null, h("th", { class: "num", text: "sessions" }), h("th", { text: "command line" }), h("th", { text: "techniques (rule)" }))), mtb)));
    }
  })();

  app.append(h("footer", null,
    "Made by dshield-coord " + R.run.engine_version + " from Result v1 (" + R.schema + ") of run " + R.run.id + ". Times are UTC. This file is self-contained: it loads nothing from the network (its Content-Security-Policy forbids it). The Result itself is the JSON in the element #report-data."));

  applyFilters();
  var m = /^#campaign=(.+)$/.exec(location.hash);
  if (m && byId.has(decodeURIComponent(m[1]))) openCampaign(decodeURIComponent(m[1]), true);
  // When the table could first be used, in ms since navigation started (the report benchmark reads it).
  document.documentElement.dataset.readyMs = String(Math.round(performance.now()));
  document.documentElement.dataset.ready = "true";
})();
