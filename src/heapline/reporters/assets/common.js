// heapline report pages: what the profile page and the comparison page share.
// Hand-written for heapline, no library: the page is built from the JSON block
// in this file with createElement and textContent only, so text that comes
// from the profile (source lines, paths, argv) never becomes markup; the
// charts are SVG drawn here. Nothing is fetched: the page's
// Content-Security-Policy allows no URL at all.
"use strict";

const HL = (() => {
  const SVGNS = "http://www.w3.org/2000/svg";

  // el("td", {class: "num", title: "…"}, child, "text", …): an element whose
  // children are nodes or text (strings become text nodes, never markup).
  function el(tag, attrs, ...kids) {
    const node = document.createElement(tag);
    setAttrs(node, attrs);
    append(node, kids);
    return node;
  }

  function svg(tag, attrs, ...kids) {
    const node = document.createElementNS(SVGNS, tag);
    setAttrs(node, attrs);
    append(node, kids);
    return node;
  }

  function setAttrs(node, attrs) {
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "onclick") node.addEventListener("click", v);
      else node.setAttribute(k, String(v));
    }
  }

  function append(node, kids) {
    for (const kid of kids.flat()) {
      if (kid === null || kid === undefined || kid === false) continue;
      node.appendChild(kid instanceof Node ? kid : document.createTextNode(String(kid)));
    }
  }

  const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

  // As heapline's terminal report: 512 B, 412.3 MiB.
  function bytes(n) {
    let v = Number(n) || 0;
    for (let i = 0; i < UNITS.length - 1; i++) {
      if (Math.abs(v) < 1024) return i === 0 ? `${Math.trunc(v)} B` : `${v.toFixed(1)} ${UNITS[i]}`;
      v /= 1024;
    }
    return `${v.toFixed(1)} ${UNITS[UNITS.length - 1]}`;
  }

  function seconds(s) {
    s = Number(s) || 0;
    if (Math.abs(s) < 60) return Math.abs(s) < 10 ? `${s.toFixed(2)} s` : `${s.toFixed(1)} s`;
    const m = Math.trunc(s / 60);
    return `${m}m ${(s - 60 * m).toFixed(1).padStart(4, "0")}s`;
  }

  function signed(text, value) {
    return value > 0 ? `+${text}` : value < 0 ? `−${text.replace(/^-/, "")}` : text;
  }

  const dBytes = (n) => (n === 0 ? "0 B" : signed(bytes(Math.abs(n)), n));
  const dSeconds = (s) => (Math.abs(s) < 0.005 ? "0.00 s" : signed(seconds(Math.abs(s)), s));

  function pct(part, whole) {
    return whole > 0 ? `${((100 * part) / whole).toFixed(part / whole < 0.1 ? 1 : 0)}%` : "–";
  }

  function plural(n, word) {
    return `${Number(n).toLocaleString("en")} ${n === 1 ? word : word + "s"}`;
  }

  // A horizontal bar of parts [[value, class, label], …] scaled to `full`.
  function bar(parts, full, title) {
    const node = el("span", {class: "bar", title});
    if (!(full > 0)) return node;
    for (const [value, cls] of parts) {
      if (!(value > 0)) continue;
      const part = el("span", {class: `part ${cls}`});
      part.style.width = `${Math.max(0.5, (100 * value) / full).toFixed(2)}%`;
      node.appendChild(part);
    }
    return node;
  }

  // Scroll to a row of the source view and mark it (a click from a table).
  function goTo(id) {
    const target = document.getElementById(id);
    if (!target) return false;
    const details = target.closest("details");
    if (details) details.open = true;
    for (const old of document.querySelectorAll(".flash")) old.classList.remove("flash");
    target.classList.add("flash");
    target.scrollIntoView({block: "center"});
    return true;
  }

  function link(id, text, title) {
    return el("a", {href: `#${id}`, title, class: "to-line", onclick: (e) => {
      if (goTo(id)) e.preventDefault();
    }}, text);
  }

  // ---- sortable, filterable tables ----------------------------------------
  //
  // spec: {id, columns: [{label, group, key(row) -> sortable value, cell(row) ->
  // node or text, num, title, desc (sort largest first)}], rows, sort (column
  // index), filter(row) -> text searched by the filter box, limit, empty}
  function table(spec) {
    const wrap = el("div", {class: "table-block", id: spec.id});
    let sortCol = spec.sort ?? 0;
    let desc = spec.columns[sortCol].desc !== false;
    let query = "";
    let showAll = false;
    const limit = spec.limit ?? 50;

    const input = el("input", {type: "search", placeholder: spec.placeholder || "filter",
                               "aria-label": "filter rows", class: "filter"});
    const count = el("span", {class: "count"});
    wrap.appendChild(el("div", {class: "table-tools"}, input, count));
    const scroller = el("div", {class: "scroller"});
    const tbl = el("table", {class: "data"});
    const thead = el("thead");
    const tbody = el("tbody");
    tbl.append(thead, tbody);
    scroller.appendChild(tbl);
    wrap.appendChild(scroller);
    const more = el("button", {type: "button", class: "more"});
    wrap.appendChild(more);

    // a first header row of groups ("CPU time", "memory") when columns have them
    if (spec.columns.some((c) => c.group)) {
      const tr = el("tr", {class: "groups"});
      let i = 0;
      while (i < spec.columns.length) {
        const g = spec.columns[i].group || "";
        let n = 1;
        while (i + n < spec.columns.length && (spec.columns[i + n].group || "") === g) n++;
        tr.appendChild(el("th", {colspan: n, class: g ? "group" : ""}, g));
        i += n;
      }
      thead.appendChild(tr);
    }
    const heads = spec.columns.map((c, i) => {
      const button = el("button", {type: "button", title: c.title || `sort by ${c.label}`},
                        c.label);
      button.addEventListener("click", () => {
        if (sortCol === i) desc = !desc;
        else { sortCol = i; desc = c.desc !== false; }
        draw();
      });
      return el("th", {class: c.num ? "num" : "", "data-col": i}, button);
    });
    thead.appendChild(el("tr", {class: "heads"}, heads));
    input.addEventListener("input", () => { query = input.value.trim().toLowerCase(); draw(); });
    more.addEventListener("click", () => { showAll = !showAll; draw(); });

    function draw() {
      const col = spec.columns[sortCol];
      let rows = spec.rows;
      if (query) rows = rows.filter((r) => spec.filter(r).toLowerCase().includes(query));
      rows = rows.slice().sort((a, b) => {
        const x = col.key(a), y = col.key(b);
        const c = typeof x === "string" ? x.localeCompare(y) : x - y;
        return desc ? -c : c;
      });
      heads.forEach((th, i) => th.setAttribute("aria-sort", i === sortCol
        ? (desc ? "descending" : "ascending") : "none"));
      const shown = showAll ? rows : rows.slice(0, limit);
      tbody.replaceChildren(...shown.map((r) => el("tr", {},
        spec.columns.map((c) => el("td", {class: c.num ? "num" : c.cls || ""}, c.cell(r))))));
      if (!rows.length) {
        tbody.appendChild(el("tr", {}, el("td", {colspan: spec.columns.length, class: "empty"},
          query ? "no rows match the filter" : spec.empty || "nothing to show")));
      }
      count.textContent = query ? `${rows.length} of ${spec.rows.length} rows`
                                : plural(spec.rows.length, "row");
      more.hidden = rows.length <= limit;
      more.textContent = showAll ? `show the first ${limit}` : `show all ${rows.length}`;
    }
    draw();
    return wrap;
  }

  // ---- charts -------------------------------------------------------------

  // Tick values from 0 to `max`: about `count` of them, at 1, 2 or 5 times a
  // power of ten (in `scale` units: bytes are ticked in KiB, MiB…).
  function ticks(max, count, scale) {
    const m = max / scale;
    if (!(m > 0)) return [0];
    const raw = m / count;
    const p = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 2.5, 5, 10].map((k) => k * p).find((s) => m / s <= count) || 10 * p;
    const out = [];
    for (let i = 0; i * step <= m * 1.0001 + 1e-12; i++) out.push(i * step * scale);
    // decimals that tell the ticks apart (a step of 0.25 needs two)
    out.decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9) +
                               (Math.abs(step / p - 2.5) < 1e-9 ? 1 : 0));
    return out;
  }

  function byteScale(max) {
    let i = 0, s = 1;
    while (i < UNITS.length - 1 && max / s >= 1024) { s *= 1024; i++; }
    return [s, UNITS[i]];
  }

  function tickText(v, scale, decimals) {
    return (v / scale).toFixed(decimals);
  }

  // The heap footprint over time: series [{points: [[s, bytes]…], cls, label}],
  // marks [{x, y, label}]; axes labelled with units; under the pointer, a rule
  // and each series' value (also written in `readout`).
  function footprintChart(holder, spec) {
    const readout = el("div", {class: "readout", "aria-live": "polite"}, spec.hint || "");
    const box = el("div", {class: "chart"});
    holder.append(box, readout);
    const all = spec.series.flatMap((s) => s.points);
    const xMax = Math.max(spec.xMax || 0, ...all.map((p) => p[0]), 1e-3);
    const yMax = Math.max(...all.map((p) => p[1]), 1) * 1.05;
    const [yScale, yUnit] = byteScale(yMax);

    function draw() {
      const W = Math.max(320, box.clientWidth || 800), H = spec.height || 240;
      const M = {l: 64, r: 16, t: 14, b: 42};
      const iw = W - M.l - M.r, ih = H - M.t - M.b;
      const X = (s) => M.l + (s / xMax) * iw;
      const Y = (b) => M.t + ih - (b / yMax) * ih;
      const root = svg("svg", {width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: "img",
        "aria-label": spec.label || "heap footprint over time"});
      const grid = svg("g", {class: "grid"});
      const axes = svg("g", {class: "axis"});
      const yTicks = ticks(yMax, 5, yScale);
      for (const v of yTicks) {
        grid.appendChild(svg("line", {x1: M.l, x2: M.l + iw, y1: Y(v), y2: Y(v)}));
        axes.appendChild(svg("text", {x: M.l - 6, y: Y(v) + 4, "text-anchor": "end"},
                             tickText(v, yScale, yTicks.decimals)));
      }
      const xTicks = ticks(xMax, Math.max(2, Math.floor(iw / 90)), 1);
      for (const v of xTicks) {
        grid.appendChild(svg("line", {x1: X(v), x2: X(v), y1: M.t, y2: M.t + ih}));
        axes.appendChild(svg("text", {x: X(v), y: M.t + ih + 16, "text-anchor": "middle"},
                             tickText(v, 1, xTicks.decimals)));
      }
      axes.appendChild(svg("text", {x: M.l + iw / 2, y: H - 6, "text-anchor": "middle",
                                    class: "label"}, "time since start (s)"));
      axes.appendChild(svg("text", {x: 14, y: M.t + ih / 2, "text-anchor": "middle",
        class: "label", transform: `rotate(-90 14 ${M.t + ih / 2})`},
        `heap footprint (${yUnit})`));
      axes.appendChild(svg("line", {x1: M.l, x2: M.l, y1: M.t, y2: M.t + ih, class: "frame"}));
      axes.appendChild(svg("line", {x1: M.l, x2: M.l + iw, y1: M.t + ih, y2: M.t + ih,
                                    class: "frame"}));
      root.append(grid, axes);
      for (const s of spec.series) {
        if (!s.points.length) continue;
        const pts = s.points.map((p) => `${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`);
        const first = s.points[0], last = s.points[s.points.length - 1];
        root.appendChild(svg("path", {class: `area ${s.cls}`, d: `M${X(first[0]).toFixed(1)},` +
          `${Y(0)} L${pts.join(" L")} L${X(last[0]).toFixed(1)},${Y(0)} Z`}));
        root.appendChild(svg("polyline", {class: `line ${s.cls}`, points: pts.join(" ")}));
      }
      for (const m of spec.marks || []) {
        const g = svg("g", {class: `mark ${m.cls || ""}`});
        g.appendChild(svg("circle", {cx: X(m.x), cy: Y(m.y), r: 4.5}));
        const right = X(m.x) > M.l + iw * 0.7;
        g.appendChild(svg("text", {x: X(m.x) + (right ? -8 : 8), y: Math.max(M.t + 10, Y(m.y) - 6),
          "text-anchor": right ? "end" : "start"}, m.label));
        root.appendChild(g);
      }
      const rule = svg("line", {class: "rule", y1: M.t, y2: M.t + ih, visibility: "hidden"});
      const dots = spec.series.map((s) => svg("circle", {class: `dot ${s.cls}`, r: 3.5,
                                                          visibility: "hidden"}));
      const hit = svg("rect", {x: M.l, y: M.t, width: iw, height: ih, class: "hit"});
      root.append(rule, ...dots, hit);
      const show = (px) => {
        const t = Math.min(xMax, Math.max(0, ((px - M.l) / iw) * xMax));
        rule.setAttribute("x1", X(t)); rule.setAttribute("x2", X(t));
        rule.setAttribute("visibility", "visible");
        const parts = [`${seconds(t)}:`];
        spec.series.forEach((s, i) => {
          const p = valueAt(s.points, t);
          if (!p) { dots[i].setAttribute("visibility", "hidden"); return; }
          dots[i].setAttribute("cx", X(p[0])); dots[i].setAttribute("cy", Y(p[1]));
          dots[i].setAttribute("visibility", "visible");
          parts.push(`${s.label ? s.label + " " : ""}${bytes(p[1])}`);
        });
        readout.textContent = parts.join(" ");
      };
      hit.addEventListener("pointermove", (e) => {
        const r = root.getBoundingClientRect();
        show(((e.clientX - r.left) / r.width) * W);
      });
      hit.addEventListener("pointerleave", () => {
        rule.setAttribute("visibility", "hidden");
        dots.forEach((d) => d.setAttribute("visibility", "hidden"));
        readout.textContent = spec.hint || "";
      });
      box.replaceChildren(root);
    }
    draw();
    let pending = 0;
    window.addEventListener("resize", () => {
      clearTimeout(pending);
      pending = setTimeout(draw, 100);
    });
  }

  // The last point at or before t (the footprint held until the next point).
  function valueAt(points, t) {
    if (!points.length || t < points[0][0]) return points[0] || null;
    let lo = 0, hi = points.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (points[mid][0] <= t) lo = mid; else hi = mid - 1;
    }
    return points[lo];
  }

  function data() {
    return JSON.parse(document.getElementById("heapline-data").textContent);
  }

  function section(id, title, ...kids) {
    return el("section", {id}, el("h2", {}, title), ...kids);
  }

  // A table of whatever a list of objects holds (sections that later
  // documents may carry): the keys of its entries as columns, in order.
  function genericTable(id, rows, placeholder) {
    const keys = [];
    for (const r of rows) for (const k of Object.keys(r || {})) if (!keys.includes(k)) keys.push(k);
    const show = (k, v) => {
      if (v === null || v === undefined) return "";
      if (typeof v === "number") {
        if (/bytes$/.test(k)) return bytes(v);
        if (/_s$/.test(k)) return seconds(v);
        return /(samples|calls|count)$/.test(k) ? v.toLocaleString("en") : String(v);
      }
      if (Array.isArray(v) && v.every((x) => typeof x !== "object")) return v.join(" ");
      return typeof v === "object" ? JSON.stringify(v) : String(v);
    };
    return table({
      id, rows, placeholder, limit: 100, sort: 0,
      filter: (r) => keys.map((k) => show(k, r[k])).join(" "),
      columns: keys.map((k) => ({
        label: k.replace(/_/g, " "),
        num: rows.some((r) => typeof r[k] === "number"),
        key: (r) => (typeof r[k] === "number" ? r[k] : show(k, r[k])),
        cell: (r) => show(k, r[k]),
        desc: rows.some((r) => typeof r[k] === "number"),
      })),
    });
  }

  return {el, svg, bytes, seconds, dBytes, dSeconds, pct, plural, bar, link, goTo, table,
          footprintChart, data, section, genericTable};
})();
