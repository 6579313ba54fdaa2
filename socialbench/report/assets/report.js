/* socialbench HTML report: charts (Chart.js), sortable tables, the probe table and its
   transcripts. Data comes from the JSON blocks of the page and is only ever inserted with
   textContent, never as markup. */
(function () {
  "use strict";

  var COLORS = ["#1f5fbf", "#e07b00", "#0f8a5f", "#c2362b", "#7b4fb8", "#3aa3d8", "#b8860b",
    "#222222", "#d45d9c", "#5e7d1e", "#8c564b", "#17becf", "#9a9a9a", "#ff7f0e", "#2ca02c"];
  var MARKS = [1, 10, 60, 300, 900, 3600, 14400, 86400, 259200, 604800, 2592000];
  var FEW_MARKS = [1, 60, 3600, 86400, 604800, 2592000];  /* for small multiples */
  var PAGE = 50;
  var collate = new Intl.Collator("en", { numeric: true }).compare;
  var charts = [];

  function data(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function dur(s) {
    if (s === null || s === undefined) return "–";
    if (s >= 86400) return (s / 86400).toFixed(1) + "d";
    if (s >= 3600) return (s / 3600).toFixed(1) + "h";
    if (s >= 60) return (s / 60).toFixed(1) + "m";
    return s.toFixed(0) + "s";
  }

  function pct(v, digits) {
    if (v === null || v === undefined) return "–";
    return (100 * v).toFixed(digits === undefined ? 1 : digits) + "%";
  }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  /* ---- charts ---- */

  var UNITS = [[86400, "d"], [3600, "h"], [60, "m"], [1, "s"]];
  var STEPS = [1, 5, 10, 30, 60, 300, 600, 900, 1800, 3600, 7200, 14400, 21600, 43200, 86400,
    172800, 604800];

  function tickDur(s) {
    if (s === 0) return "0";
    for (var i = 0; i < UNITS.length; i++) {
      if (s >= UNITS[i][0]) {
        var v = s / UNITS[i][0];
        return (Math.round(v * 10) / 10) + UNITS[i][1];
      }
    }
    return s + "s";
  }

  function linearDurationAxis(stacked) {
    return {
      beginAtZero: true, stacked: !!stacked,
      afterBuildTicks: function (scale) {
        var step = STEPS.filter(function (v) { return scale.max / v <= 8; })[0] || 2592000;
        var ticks = [];
        for (var v = 0; v <= scale.max + 1e-9; v += step) ticks.push({ value: v });
        scale.ticks = ticks;
      },
      ticks: { callback: function (v) { return tickDur(v); }, autoSkip: false }
    };
  }

  function durationAxis(min, max, marks) {
    return {
      type: "logarithmic", min: min, max: max,
      title: { display: true, text: "time after the probe (log scale)" },
      afterBuildTicks: function (scale) {
        scale.ticks = (marks || MARKS).filter(function (v) { return v >= scale.min && v <= scale.max; })
          .map(function (v) { return { value: v }; });
      },
      ticks: { callback: function (v) { return tickDur(v); }, autoSkip: false }
    };
  }

  function shareAxis(title) {
    return { min: 0, max: 1, title: { display: !!title, text: title || "" },
      ticks: { callback: function (v) { return pct(v, 0); } } };
  }

  function sizeFor(canvas, rows, legendItems) {
    var legend = 26 * Math.ceil((legendItems || 1) / 3);
    canvas.parentNode.style.height = Math.max(180, 70 + legend + 34 * rows) + "px";
  }

  function intervalChart(canvas, spec) {
    sizeFor(canvas, spec.labels.length, 2 + spec.refs.length);
    var datasets = [
      { type: "bar", label: "95% interval", data: spec.interval, grouped: false,
        backgroundColor: "rgba(31,95,191,0.22)", borderColor: "rgba(31,95,191,0.6)",
        borderWidth: 1, barPercentage: 0.55, order: 2 },
      { type: "line", label: "answered", data: spec.value, showLine: false, order: 1,
        pointRadius: 5, pointHoverRadius: 6, backgroundColor: "#1f5fbf", borderColor: "#1f5fbf" }
    ];
    spec.refs.forEach(function (ref, i) {
      datasets.push({ type: "line", label: ref.label, order: 0,
        data: spec.labels.map(function () { return ref.value; }),
        borderColor: ["#c2362b", "#7b4fb8", "#e07b00", "#0f8a5f"][i % 4],
        borderDash: [6, 3 + 2 * i], borderWidth: 1.5, pointRadius: 0 });
    });
    return new Chart(canvas, {
      type: "bar",
      data: { labels: spec.labels, datasets: datasets },
      options: {
        indexAxis: "y",
        scales: { x: shareAxis("share of probes answered") },
        plugins: { tooltip: { callbacks: { label: function (ctx) {
          var v = ctx.raw;
          if (Array.isArray(v)) return "95% interval " + pct(v[0]) + "–" + pct(v[1]);
          return ctx.dataset.label + ": " + pct(v);
        } } } }
      }
    });
  }

  function boxChart(canvas, spec) {
    sizeFor(canvas, spec.labels.length);
    var all = [].concat.apply([], spec.whisker);
    var min = Math.min.apply(null, all.filter(function (v) { return v > 0; }).concat([60]));
    var max = Math.max.apply(null, all.concat([3600]));
    var lo = Math.pow(10, Math.floor(Math.log10(Math.max(min, 1))));
    return new Chart(canvas, {
      type: "bar",
      data: { labels: spec.labels, datasets: [
        { label: "p10–p90", data: spec.whisker, grouped: false, barPercentage: 0.12,
          backgroundColor: "#7a8699", order: 3 },
        { label: "quartiles (p25–p75)", data: spec.box, grouped: false, barPercentage: 0.6,
          backgroundColor: "rgba(31,95,191,0.35)", borderColor: "#1f5fbf", borderWidth: 1,
          order: 2 },
        { type: "line", label: "median", data: spec.median, showLine: false, order: 1,
          pointStyle: "line", rotation: 90, pointRadius: 11, borderWidth: 3,
          borderColor: "#111", backgroundColor: "#111" }
      ] },
      options: {
        indexAxis: "y",
        scales: { x: durationAxis(lo, max * 1.2) },
        plugins: { tooltip: { callbacks: { label: function (ctx) {
          var v = ctx.raw;
          if (Array.isArray(v)) return ctx.dataset.label + ": " + dur(v[0]) + "–" + dur(v[1]);
          return "median: " + dur(v);
        } } } }
      }
    });
  }

  /* the share a step curve has reached at time t (its last point at or before t) */
  function shareAt(points, t) {
    var v = 0;
    for (var i = 0; i < points.length && points[i][0] <= t; i++) v = points[i][1];
    return v;
  }

  function curveText(s, xmax) {
    return s.label + ": answered within 1 hour " + pct(shareAt(s.points, 3600), 0) +
      ", within 24 hours " + pct(shareAt(s.points, Math.min(86400, xmax)), 0) +
      ", in the window " + pct(shareAt(s.points, xmax), 0);
  }

  /* Kaplan–Meier curves as small multiples: one small chart per brand, every one on the same
     axes, with all brands together in grey behind each; never a tangle of lines on one chart */
  function stepsCharts(root, spec) {
    var all = spec.series[0];
    var line = function (s) { return s.points.map(function (p) { return { x: p[0], y: p[1] }; }); };
    return spec.series.map(function (s, i) {
      var figure = el("figure", "multiple");
      figure.appendChild(el("figcaption", null, s.label));
      var box = el("div", "chart small");
      var canvas = el("canvas");
      canvas.setAttribute("role", "img");
      canvas.setAttribute("aria-label", curveText(s, spec.xmax));
      box.appendChild(canvas);
      figure.appendChild(box);
      root.appendChild(figure);
      var color = s.strong ? "#111" : (s.other ? "#5b6470" : COLORS[(i - 1) % COLORS.length]);
      var datasets = [{ label: s.label, stepped: "before", pointRadius: 0, borderColor: color,
        backgroundColor: color, borderWidth: 2.2, data: line(s), order: 0 }];
      if (!s.strong) {
        datasets.push({ label: all.label, stepped: "before", pointRadius: 0, order: 1,
          borderColor: "#b4bcc6", backgroundColor: "#b4bcc6", borderWidth: 1.4, data: line(all) });
      }
      var x = durationAxis(spec.xmin, spec.xmax, FEW_MARKS);
      x.title.display = false;
      var y = shareAxis("");
      y.ticks.stepSize = 0.25;
      return new Chart(canvas, {
        type: "line",
        data: { datasets: datasets },
        options: {
          parsing: false, normalized: true,
          interaction: { mode: "nearest", axis: "x", intersect: false },
          scales: { x: x, y: y },
          plugins: { legend: { display: false }, tooltip: { callbacks: {
            title: function (items) { return items.length ? "within " + dur(items[0].parsed.x) : ""; },
            label: function (ctx) { return ctx.dataset.label + ": " + pct(ctx.parsed.y); }
          } } }
        }
      });
    });
  }

  function barsChart(canvas, spec) {
    sizeFor(canvas, spec.labels.length * (spec.stacked ? 1 : Math.max(1, spec.series.length * 0.6)),
      spec.series.length);
    var format = spec.unit === "share" ? function (v) { return pct(v); }
      : spec.unit === "seconds" ? dur : function (v) { return String(v); };
    var axis = spec.unit === "share" ? shareAxis("")
      : spec.unit === "seconds" ? linearDurationAxis(spec.stacked)
      : { beginAtZero: true, stacked: spec.stacked, ticks: { precision: 0 } };
    return new Chart(canvas, {
      type: "bar",
      data: { labels: spec.labels, datasets: spec.series.map(function (s, i) {
        return { label: s.label, data: s.values,
          backgroundColor: s.color || COLORS[i % COLORS.length] };
      }) },
      options: {
        indexAxis: "y",
        scales: { x: axis, y: { stacked: spec.stacked } },
        plugins: { legend: { display: spec.series.length > 1 }, tooltip: { callbacks: { label: function (ctx) {
          return ctx.dataset.label + ": " + format(ctx.raw);
        } } } }
      }
    });
  }

  var KINDS = { interval: intervalChart, box: boxChart, steps: stepsCharts, bars: barsChart };

  function drawCharts() {
    var specs = data("sb-charts") || [];
    Chart.defaults.animation = false;
    Chart.defaults.responsive = true;
    Chart.defaults.maintainAspectRatio = false;
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    Chart.defaults.color = "#333";
    specs.forEach(function (spec) {
      var canvas = document.getElementById(spec.id);
      if (!canvas) return;
      charts = charts.concat(KINDS[spec.kind](canvas, spec));
    });
    window.addEventListener("beforeprint", function () {
      charts.forEach(function (c) {
        if (!c.canvas.closest(".multiples")) c.resize(640, c.canvas.parentNode.clientHeight);
      });
    });
    window.addEventListener("afterprint", function () {
      charts.forEach(function (c) { c.resize(); });
    });
  }

  /* ---- sortable tables (server-rendered, small) ---- */

  function sortable(table) {
    var heads = table.querySelectorAll("thead th");
    heads.forEach(function (th, col) {
      var button = th.querySelector("button");
      if (!button) return;
      button.addEventListener("click", function () {
        var current = th.getAttribute("aria-sort");
        var down = current ? current !== "descending" : !th.classList.contains("text");
        heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", down ? "descending" : "ascending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        var keyed = rows.map(function (row, i) {
          var cell = row.cells[col];
          var raw = cell ? (cell.getAttribute("data-sort") ?? cell.textContent) : "";
          var num = raw === "" ? NaN : Number(raw);
          return { row: row, i: i, num: num, text: raw.toLowerCase() };
        });
        var numeric = keyed.every(function (k) { return k.text === "" || !isNaN(k.num); });
        keyed.sort(function (a, b) {
          if (a.text === "" || b.text === "") return (a.text === "") - (b.text === "") || a.i - b.i;
          var c = numeric ? a.num - b.num : collate(a.text, b.text);
          return (down ? -c : c) || a.i - b.i;
        });
        keyed.forEach(function (k) { body.appendChild(k.row); });
      });
    });
  }

  /* ---- folded rows and scrolling tables ---- */

  /* a button[data-fold] shows or hides the rows it controls (the brands without figures) */
  function folds() {
    document.querySelectorAll("button[data-fold]").forEach(function (button) {
      var rows = document.getElementById(button.getAttribute("aria-controls"));
      if (!rows) return;
      button.addEventListener("click", function () {
        var open = button.getAttribute("aria-expanded") !== "true";
        rows.hidden = !open;
        button.setAttribute("aria-expanded", open ? "true" : "false");
        button.textContent = button.getAttribute(open ? "data-hide" : "data-show");
        scrollables(rows.closest("section"));
      });
    });
  }

  /* a table wider than its card scrolls inside it; the keyboard can reach and scroll it too */
  function scrollables(root) {
    (root || document).querySelectorAll(".table-wrap").forEach(function (wrap) {
      var table = wrap.querySelector("table");
      var scrolls = wrap.scrollWidth > wrap.clientWidth + 1;
      var hint = wrap.previousElementSibling;
      if (hint && hint.classList.contains("scroll-hint")) hint.hidden = !scrolls;
      if (scrolls) {
        wrap.tabIndex = 0;
        wrap.setAttribute("role", "region");
        var caption = table && table.caption ? table.caption.textContent : "";
        var heading = wrap.previousElementSibling;
        while (heading && !/^H[2-4]$/.test(heading.tagName)) heading = heading.previousElementSibling;
        var title = caption || (heading ? heading.textContent : "") ||
          (wrap.closest("section") && wrap.closest("section").querySelector("h2").textContent) || "";
        wrap.setAttribute("aria-label", (title ? title + ": " : "") + "table, scrolls sideways");
      } else if (wrap.hasAttribute("tabindex")) {
        wrap.removeAttribute("tabindex");
        wrap.removeAttribute("role");
        wrap.removeAttribute("aria-label");
      }
    });
  }

  /* ---- the probe table ---- */

  /* packed columns (html_data.pack): base-36 integers joined by ",", empty for missing */
  function unpack(text, n) {
    if (typeof text === "number") return new Array(n).fill(text);
    if (!n) return [];
    return text.split(",").map(function (x) { return x === "" ? null : parseInt(x, 36); });
  }

  function running(deltas, start) {
    var out = new Array(deltas.length);
    var v = start;
    for (var i = 0; i < deltas.length; i++) { v += deltas[i]; out[i] = v; }
    return out;
  }

  /* transcripts (html_data.transcript_table): message indexes per probe row */
  function transcriptIndex(tr, n) {
    var rows = running(unpack(tr.i, tr.m), 0);
    tr.time = unpack(tr.t, rows.length);
    tr.who = unpack(tr.w, rows.length);
    tr.kind = unpack(tr.k, rows.length);
    tr.text = unpack(tr.x, rows.length);
    var out = [];
    for (var i = 0; i < n; i++) out.push([]);
    rows.forEach(function (row, j) { out[row].push(j); });
    return out;
  }

  function ProbeTable(root, d, tr) {
    var n = d.n;
    var k = d.k || {};
    var col = {};
    ["b", "c", "s", "p", "sc", "x"].forEach(function (key) {
      if (key in d) col[key] = unpack(d[key], n);
    });
    var ids = typeof d.id === "string" ? (n ? d.id.split(" ") : []) : d.id;
    var sent = running(unpack(d.t, n), d.t0);
    var ttfr = unpack(d.r, n);
    var gap = unpack(d.rb, n);
    var business = ttfr.map(function (r, i) {
      return r === null || gap[i] === null ? null : r - gap[i];
    });
    var followers = unpack(d.fo, n);
    if (k.fo) followers = followers.map(function (c) { return c === null ? null : k.fo[c]; });
    var B = d.bits;
    var flags = unpack(d.f, n);
    var ttr = "q" in d ? unpack(d.q, n) : null;
    var messages = tr ? transcriptIndex(tr, n) : null;
    function word(key, i) {
      var code = col[key] ? col[key][i] : null;
      return code !== null && k[key] ? k[key][code] : "";
    }
    var flag = function (i, bit) { return (flags[i] & bit) !== 0; };
    var iso = function (t) {
      return new Date(t * 1000).toISOString().slice(0, 16).replace("T", " ");
    };
    var columns = {
      id: { text: function (i) { return ids[i]; } },
      sent: { text: function (i) { return iso(sent[i]); }, key: function (i) { return sent[i]; } },
      brand: { text: function (i) { return word("b", i); } },
      channel: { text: function (i) { return word("c", i); } },
      surface: { text: function (i) { return word("s", i); } },
      persona: { text: function (i) { return word("p", i); } },
      followers: { text: function (i) {
        return followers[i] === null ? "" : followers[i].toLocaleString("en"); },
        key: function (i) { return followers[i]; } },
      scenario: { text: function (i) { return word("sc", i); } },
      answered: { text: function (i) {
        return flag(i, B.responded) ? "yes" : (flag(i, B.automated) ? "no (automated only)" : "no");
      } },
      ttfr: { text: function (i) { return ttfr[i] === null ? "" : dur(ttfr[i]); },
        key: function (i) { return ttfr[i]; } },
      business: { text: function (i) { return business[i] === null ? "" : dur(business[i]); },
        key: function (i) { return business[i]; } },
      types: { text: function (i) {
        var out = [];
        [[B.link, "link"], [B.dm, "DM"], [B.phone, "phone"], [B.email, "email"],
          [B.ack_only, "ack only"]].forEach(function (p) {
          if (flag(i, p[0])) out.push(p[1]);
        });
        return out.join(", ");
      } },
      resolved: { text: function (i) {
        if (!flag(i, B.rule)) return "";
        return flag(i, B.resolved) ? (flag(i, B.one_touch) ? "yes (one touch)" : "yes") : "no";
      } },
      ttr: { text: function (i) { return !ttr || ttr[i] === null ? "" : dur(ttr[i]); },
        key: function (i) { return ttr ? ttr[i] : null; } },
      missed: { text: function (i) { return word("x", i).split(";").join(", "); } }
    };
    var heads = Array.prototype.slice.call(root.querySelectorAll("thead th[data-key]"));
    var keys = heads.map(function (th) { return th.getAttribute("data-key"); });
    var body = root.querySelector("tbody");
    var status = root.querySelector("[data-role=status]");
    var search = root.querySelector("[data-role=search]");
    var brandSelect = root.querySelector("[data-role=brand]");
    var filterSelect = root.querySelector("[data-role=filter]");
    var prev = root.querySelector("[data-role=prev]");
    var next = root.querySelector("[data-role=next]");
    var state = { sort: "sent", dir: 1, page: 0, open: -1 };
    var order = [];

    (k.b || []).map(function (name, code) { return [name, code]; })
      .sort(function (a, b) { return a[0].localeCompare(b[0]); })
      .forEach(function (p) {
        var option = el("option", null, p[0]);
        option.value = String(p[1]);
        brandSelect.appendChild(option);
      });

    function matches(i, q, brand, filter) {
      if (brand >= 0 && col.b[i] !== brand) return false;
      if (filter === "answered" && !flag(i, B.responded)) return false;
      if (filter === "unanswered" && flag(i, B.responded)) return false;
      if (filter === "missed" && !(flag(i, B.expected) && !flag(i, B.expectations_met))) return false;
      if (filter === "resolved" && !flag(i, B.resolved)) return false;
      if (filter === "unresolved" && !(flag(i, B.rule) && !flag(i, B.resolved))) return false;
      if (!q) return true;
      return (ids[i] + "\u0000" + word("b", i) + "\u0000" + word("p", i) + "\u0000" +
        word("sc", i)).toLowerCase().indexOf(q) >= 0;
    }

    function refresh() {
      var q = search.value.trim().toLowerCase();
      var brand = brandSelect.value === "" ? -1 : Number(brandSelect.value);
      var filter = filterSelect.value;
      order = [];
      for (var i = 0; i < n; i++) if (matches(i, q, brand, filter)) order.push(i);
      var c = columns[state.sort];
      var key = c.key || c.text;
      var dir = state.dir;
      var values = new Array(n);
      order.forEach(function (i) { values[i] = key(i); });
      order.sort(function (a, b) {
        var x = values[a], y = values[b];
        var xe = x === null || x === "", ye = y === null || y === "";
        if (xe || ye) return (xe - ye) || a - b;
        var r = typeof x === "number" ? x - y : collate(String(x), String(y));
        return dir * r || a - b;
      });
      state.page = 0;
      state.open = -1;
      render();
    }

    function render() {
      var pages = Math.max(1, Math.ceil(order.length / PAGE));
      state.page = Math.min(state.page, pages - 1);
      var from = state.page * PAGE;
      var rows = order.slice(from, from + PAGE);
      body.textContent = "";
      rows.forEach(function (i) {
        var row = el("tr");
        keys.forEach(function (key, j) {
          var cell = el("td", heads[j].className);
          cell.dir = "auto";
          var text = columns[key].text(i);
          if (j === 0 && tr) {
            var button = el("button", "linklike", text);
            button.type = "button";
            button.setAttribute("data-row", String(i));
            button.setAttribute("aria-expanded", state.open === i ? "true" : "false");
            button.setAttribute("aria-label", "Conversation of probe " + text);
            if (state.open === i) button.setAttribute("aria-controls", "transcript-" + i);
            button.addEventListener("click", function () { toggle(i); });
            cell.appendChild(button);
          } else {
            cell.textContent = text;
          }
          row.appendChild(cell);
        });
        body.appendChild(row);
        if (state.open === i) body.appendChild(transcriptRow(i));
      });
      scrollables(root);
      status.textContent = order.length
        ? "Rows " + (from + 1).toLocaleString("en") + "–" +
          (from + rows.length).toLocaleString("en") + " of " + order.length.toLocaleString("en") +
          (order.length < n ? " (filtered from " + n.toLocaleString("en") + ")" : "") +
          "; page " + (state.page + 1) + " of " + pages
        : (n ? "No probe matches." : "This report has no probes.");
      prev.disabled = state.page === 0;
      next.disabled = state.page >= pages - 1;
    }

    /* a probe's button opens its transcript below it (Enter or Space, as any button), and
       Escape closes it; the focus stays on that button across the redraw */
    function toggle(i) {
      state.open = state.open === i ? -1 : i;
      render();
      focusRow(i);
      try {
        var hash = state.open === i ? "#probe=" + encodeURIComponent(ids[i]) : "#probes";
        window.history.replaceState(null, "", hash);
      } catch (err) { /* a file opened where history is not writable */ }
    }

    function focusRow(i) {
      var button = body.querySelector('button[data-row="' + i + '"]');
      if (button) button.focus();
    }

    root.addEventListener("keydown", function (event) {
      if (event.key !== "Escape" || state.open < 0) return;
      event.preventDefault();
      toggle(state.open);
    });

    function transcriptRow(i) {
      var row = el("tr", "transcript-row");
      row.id = "transcript-" + i;
      var cell = el("td");
      cell.colSpan = keys.length;
      if (i >= tr.upto) {
        cell.appendChild(el("p", "note", "This conversation is not embedded in the report " +
          "(it would make the file too large); run.sqlite in the run folder has it."));
      } else if (!messages[i].length) {
        cell.appendChild(el("p", "note", "No messages were recorded for this probe."));
      } else {
        var list = el("ol", "transcript");
        list.setAttribute("aria-label", "Conversation of probe " + ids[i] + " (Escape closes it)");
        messages[i].forEach(function (j) {
          var kind = tr.kind[j];
          var item = el("li", kind & 1 ? "msg brand" : "msg customer");
          var meta = el("div", "meta");
          meta.appendChild(el("span", "who", tr.a[tr.who[j]]));
          meta.appendChild(el("span", null, (kind & 1 ? " · brand" : " · customer") +
            (kind & 2 ? " · private" : " · public") + " · " + iso(sent[i] + tr.time[j]) +
            " UTC · +" + dur(Math.max(0, tr.time[j]))));
          var text = el("div", "text", tr.s[tr.text[j]]);
          text.dir = "auto";
          item.appendChild(meta);
          item.appendChild(text);
          list.appendChild(item);
        });
        cell.appendChild(list);
      }
      row.appendChild(cell);
      return row;
    }

    heads.forEach(function (th) {
      var button = th.querySelector("button");
      button.addEventListener("click", function () {
        var key = th.getAttribute("data-key");
        state.dir = state.sort === key ? -state.dir : 1;
        state.sort = key;
        heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", state.dir > 0 ? "ascending" : "descending");
        refresh();
      });
    });
    [search, brandSelect, filterSelect].forEach(function (control) {
      control.addEventListener(control === search ? "input" : "change", refresh);
    });
    prev.addEventListener("click", function () { state.page -= 1; state.open = -1; render(); });
    next.addEventListener("click", function () { state.page += 1; state.open = -1; render(); });
    root.querySelector(".controls").hidden = false;
    refresh();
    openFromHash();
    window.addEventListener("hashchange", openFromHash);

    /* #probe=ID opens that probe's row and transcript (a link to one conversation) */
    function openFromHash() {
      var match = /^#probe=(.+)$/.exec(window.location.hash);
      if (!match) return;
      var wanted;
      try {
        wanted = decodeURIComponent(match[1]).replace(/^"(.*)"$/, "$1");
      } catch (err) {
        return;
      }
      var i = ids.indexOf(wanted);
      var at = order.indexOf(i);
      if (i < 0 || at < 0) return;
      state.page = Math.floor(at / PAGE);
      state.open = tr ? i : -1;
      render();
      var row = body.querySelector(".transcript-row") || body.rows[at % PAGE];
      if (row && row.scrollIntoView) row.scrollIntoView({ block: "center" });
    }
  }

  function start() {
    var errors = [];
    try {
      drawCharts();
    } catch (err) {
      errors.push("charts: " + err);
    }
    document.querySelectorAll("table.sortable").forEach(sortable);
    folds();
    try {
      var root = document.getElementById("probe-table");
      var d = data("sb-probes");
      if (root && d) ProbeTable(root, d, data("sb-transcripts"));
    } catch (err) {
      errors.push("probe table: " + err);
    }
    scrollables();
    window.addEventListener("resize", function () { scrollables(); });
    // Charts draw synchronously (animation is off), so the page is ready now. Not in a
    // requestAnimationFrame callback: background tabs and headless dumps may never run one.
    if (errors.length) document.body.dataset.error = errors.join("; ");
    document.body.dataset.readyMs = String(Math.round(performance.now()));
    document.body.dataset.ready = errors.length ? "error" : "1";
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
