// heapline's profile page (heapline run --html, heapline view, the IPython
// magics): the run, the footprint over time, tables of lines and functions,
// and each file's source with its figures. Uses HL from common.js.
"use strict";

(() => {
  const {el, bytes, seconds, pct, plural, bar, link, table} = HL;
  const D = HL.data();
  const R = D.run;
  const cpuOn = !!R.cpu;
  const memOn = !!R.memory;
  // a line record: [line, cpu python, native, system, cpu samples,
  //                 alloc python, native, alloc samples, live, peak]
  const L = {line: 0, py: 1, nat: 2, sys: 3, cpuN: 4, apy: 5, anat: 6, allocN: 7, live: 8,
             peak: 9};
  // a function record: [name, first, last, cpu python, native, system,
  //                     alloc python, native, live, peak]
  const F = {name: 0, first: 1, last: 2, py: 3, nat: 4, sys: 5, apy: 6, anat: 7, live: 8,
             peak: 9};
  const cpuTotal = cpuOn ? R.cpu.python_s + R.cpu.native_s + R.cpu.system_s : 0;
  const lineId = (fi, n) => `f${fi}-L${n}`;

  // every line with figures, with its file and function
  const lines = [];
  const functions = [];
  D.files.forEach((f, fi) => {
    const fns = f.functions.map((fn) => ({f, fi, r: fn, time: fn[F.py] + fn[F.nat] + fn[F.sys],
                                          alloc: fn[F.apy] + fn[F.anat]}));
    functions.push(...fns);
    const text = new Map();
    for (const [start, texts] of f.text) texts.forEach((t, i) => text.set(start + i, t));
    f.textOf = text;
    for (const r of f.lines) {
      const n = r[L.line];
      let fn = null;  // innermost def holding the line, else <module>
      for (const x of fns) {
        if (x.r[F.name] === "<module>") { if (!fn) fn = x; continue; }
        if (x.r[F.first] <= n && n <= x.r[F.last] &&
            (!fn || fn.r[F.name] === "<module>" || x.r[F.first] >= fn.r[F.first])) fn = x;
      }
      lines.push({f, fi, r, n, fn: fn ? fn.r[F.name] : "<module>",
                  time: r[L.py] + r[L.nat] + r[L.sys], alloc: r[L.apy] + r[L.anat],
                  source: (text.get(n) || "").trim()});
    }
  });
  const maxTime = Math.max(0, ...lines.map((x) => x.time));
  const maxAlloc = Math.max(0, ...lines.map((x) => x.alloc));

  const cpuTitle = (py, nat, sys, n) =>
    `${seconds(py + nat + sys)}: python ${seconds(py)}, native ${seconds(nat)}, ` +
    `system ${seconds(sys)}` + (n === undefined ? "" : ` (${plural(n, "sample")})`);
  const memTitle = (apy, anat, n) =>
    `${bytes(apy + anat)} allocated: python ${bytes(apy)}, native ${bytes(anat)}` +
    (n === undefined ? "" : ` (${plural(n, "sample")})`);
  const cpuBar = (py, nat, sys, n) =>
    bar([[py, "py"], [nat, "nat"], [sys, "sys"]], maxTime, cpuTitle(py, nat, sys, n));
  const memBar = (apy, anat, n) => bar([[apy, "py"], [anat, "nat"]], maxAlloc,
                                       memTitle(apy, anat, n));

  // ---- header -------------------------------------------------------------
  function header() {
    const argv = R.argv.length ? R.argv.join(" ") : R.program;
    const facts = [];
    const fact = (term, ...value) => facts.push(el("div", {class: "fact"}, el("dt", {}, term),
                                                    el("dd", {}, ...value)));
    fact("program", el("code", {}, R.program));
    fact("command line", el("code", {}, argv));
    fact("Python", `${R.python} on ${R.platform}`);
    fact("elapsed", seconds(R.elapsed_s));
    if (cpuOn) {
      const c = R.cpu;
      fact(c.wall ? "wall-clock time charged" : "CPU time",
           el("strong", {}, seconds(cpuTotal)),
           ` (python ${seconds(c.python_s)}, native ${seconds(c.native_s)}, ` +
           `system ${seconds(c.system_s)})`,
           bar([[c.python_s, "py"], [c.native_s, "nat"], [c.system_s, "sys"]], cpuTotal,
               cpuTitle(c.python_s, c.native_s, c.system_s)));
      fact("CPU sampling", `${plural(c.samples, "sample")}, one every ` +
           `${+(c.interval_s * 1000).toPrecision(3)} ms on average`);
    }
    if (memOn) {
      const where = R.peak_file_name === null ? "unknown line"
        : `${R.peak_file_name}${R.peak_line === null ? "" : ":" + R.peak_line}`;
      fact("peak footprint", el("strong", {class: "peak"}, bytes(R.peak_bytes)),
           ` at ${seconds(R.peak_at_s)}, `,
           R.peak_file !== null && R.peak_line !== null
             ? link(lineId(R.peak_file, R.peak_line), where, "show the line in its source")
             : where);
      fact("exit footprint", bytes(R.exit_bytes));
      const s = R.sampling;
      fact("memory sampling", `one sample every ${bytes(s.interval_bytes)} allocated on ` +
           `average, ${plural(s.samples, "sample")}` +
           (R.native_hooks === false ? "; native allocations not seen" : ""));
    }
    return el("header", {},
      el("h1", {}, "heapline profile ", el("code", {class: "argv"}, argv)),
      el("dl", {class: "facts"}, facts),
      el("p", {class: "legend"},
         el("span", {class: "key py"}), "python ",
         el("span", {class: "key nat"}), "native ",
         cpuOn ? [el("span", {class: "key sys"}), "system (kernel)"] : null));
  }

  function nav() {
    const items = [["chart", "memory over time", memOn && D.timeline.length],
                   ["lines", "lines", true], ["functions", "functions", true],
                   ["processes", "processes", D.processes], ["leaks", "leaks", D.leaks],
                   ["source", "source", true]];
    return el("nav", {}, items.filter((x) => x[2]).map(([id, label]) =>
      el("a", {href: `#${id}`, onclick: (e) => {
        const t = document.getElementById(id);
        if (t) { t.scrollIntoView(); e.preventDefault(); }
      }}, label)));
  }

  // ---- tables -------------------------------------------------------------
  function numberColumns(get) {
    // get(row) -> {py, nat, sys, n, apy, anat, allocN, live, peak}
    const cols = [];
    if (cpuOn) {
      cols.push(
        {label: "time", group: "CPU time", num: true, key: (x) => x.time,
         cell: (x) => { const g = get(x); return [seconds(x.time), cpuBar(g.py, g.nat, g.sys, g.n)]; },
         title: "CPU seconds charged, all kinds: sort"},
        {label: "% of run", group: "CPU time", num: true, key: (x) => x.time,
         cell: (x) => pct(x.time, cpuTotal)},
        {label: "python", group: "CPU time", num: true, key: (x) => get(x).py,
         cell: (x) => seconds(get(x).py)},
        {label: "native", group: "CPU time", num: true, key: (x) => get(x).nat,
         cell: (x) => seconds(get(x).nat)},
        {label: "system", group: "CPU time", num: true, key: (x) => get(x).sys,
         cell: (x) => seconds(get(x).sys)});
    }
    if (memOn) {
      cols.push(
        {label: "allocated", group: "memory", num: true, key: (x) => x.alloc,
         cell: (x) => { const g = get(x); return [bytes(x.alloc), memBar(g.apy, g.anat, g.allocN)]; }},
        {label: "python", group: "memory", num: true, key: (x) => get(x).apy,
         cell: (x) => bytes(get(x).apy)},
        {label: "native", group: "memory", num: true, key: (x) => get(x).anat,
         cell: (x) => bytes(get(x).anat)},
        {label: "live at exit", group: "memory", num: true, key: (x) => get(x).live,
         cell: (x) => bytes(get(x).live)},
        {label: "at peak", group: "memory", num: true, key: (x) => get(x).peak,
         cell: (x) => bytes(get(x).peak), title: "bytes the line held when the footprint peaked"});
    }
    return cols;
  }

  function linesTable() {
    const get = (x) => ({py: x.r[L.py], nat: x.r[L.nat], sys: x.r[L.sys], n: x.r[L.cpuN],
                         apy: x.r[L.apy], anat: x.r[L.anat], allocN: x.r[L.allocN],
                         live: x.r[L.live], peak: x.r[L.peak]});
    const columns = [
      {label: "line", key: (x) => `${x.f.name}:${String(x.n).padStart(7, "0")}`, desc: false,
       cell: (x) => link(lineId(x.fi, x.n), `${x.f.name}:${x.n}`, x.f.path), cls: "where"},
      {label: "function", key: (x) => x.fn, desc: false, cell: (x) => x.fn, cls: "fn"},
      ...numberColumns(get),
      {label: "source", key: (x) => x.source, desc: false, cls: "code",
       cell: (x) => el("code", {title: x.source}, x.source)},
    ];
    const rows = lines.filter((x) => x.time > 0 || x.alloc > 0 || x.r[L.live] > 0 ||
                                     x.r[L.peak] > 0);
    return table({id: "lines-table", columns, rows, sort: 2, limit: 50,
                  placeholder: "filter by file, function or source",
                  filter: (x) => `${x.f.name}:${x.n} ${x.f.path} ${x.fn} ${x.source}`,
                  empty: "no lines of profiled code have figures; try --profile-all"});
  }

  // where a function's link goes: its first line, or (when the source file
  // was not available) its first line with figures
  function target(x) {
    if (x.f.textOf.has(x.r[F.first])) return x.r[F.first];
    const mine = lines.filter((l) => l.f === x.f && l.fn === x.r[F.name]).map((l) => l.n);
    return mine.length ? Math.min(...mine) : x.r[F.first];
  }

  function functionsTable() {
    const get = (x) => ({py: x.r[F.py], nat: x.r[F.nat], sys: x.r[F.sys], apy: x.r[F.apy],
                         anat: x.r[F.anat], live: x.r[F.live], peak: x.r[F.peak]});
    const columns = [
      {label: "function", key: (x) => x.r[F.name], desc: false, cls: "fn",
       cell: (x) => [link(lineId(x.fi, target(x)), x.r[F.name], x.f.path),
                     el("span", {class: "dim"}, ` ${x.f.name}:${x.r[F.first]}`)]},
      ...numberColumns(get),
    ];
    return table({id: "functions-table", columns, rows: functions, sort: 1, limit: 30,
                  placeholder: "filter by function or file",
                  filter: (x) => `${x.r[F.name]} ${x.f.name} ${x.f.path}`,
                  empty: "no functions with figures"});
  }

  // ---- source -------------------------------------------------------------
  function sourceView() {
    const blocks = D.files.map((f, fi) => {
      const byLine = new Map(f.lines.map((r) => [r[L.line], r]));
      const numbers = [...f.textOf.keys()].sort((a, b) => a - b);
      const rows = [];
      let prev = 0;
      const cols = 2 + (cpuOn ? 1 : 0) + (memOn ? 3 : 0) + 1;
      const fold = (from, to) => rows.push(el("tr", {class: "fold"}, el("td", {colspan: cols},
        `⋯ ${plural(to - from + 1, "line")} without figures (${from}–${to})`)));
      for (const n of numbers) {
        if (n > prev + 1) fold(prev + 1, n - 1);
        prev = n;
        const r = byLine.get(n);
        const text = f.textOf.get(n);
        const cells = [el("td", {class: "ln"}, String(n))];
        if (r) {
          const time = r[L.py] + r[L.nat] + r[L.sys], alloc = r[L.apy] + r[L.anat];
          cells.push(el("td", {class: "bars"},
            cpuOn ? cpuBar(r[L.py], r[L.nat], r[L.sys], r[L.cpuN]) : null,
            memOn ? memBar(r[L.apy], r[L.anat], r[L.allocN]) : null));
          if (cpuOn) cells.push(el("td", {class: "num", title: cpuTitle(r[L.py], r[L.nat],
            r[L.sys], r[L.cpuN])}, time > 0 ? seconds(time) : ""));
          if (memOn) {
            cells.push(el("td", {class: "num", title: memTitle(r[L.apy], r[L.anat], r[L.allocN])},
                          alloc > 0 ? bytes(alloc) : ""),
                       el("td", {class: "num", title: "held at the peak"},
                          r[L.peak] > 0 ? bytes(r[L.peak]) : ""),
                       el("td", {class: "num", title: "live at exit"},
                          r[L.live] > 0 ? bytes(r[L.live]) : ""));
          }
        } else {
          cells.push(el("td", {colspan: cols - 2}));
        }
        cells.push(el("td", {class: "code"}, el("code", {}, text === undefined ? "" : text)));
        rows.push(el("tr", {id: lineId(fi, n), class: r ? "hit" : "ctx"}, cells));
      }
      const heads = [el("th", {}, "line"), el("th", {}, "")];
      if (cpuOn) heads.push(el("th", {class: "num"}, "time"));
      if (memOn) heads.push(el("th", {class: "num"}, "allocated"),
                            el("th", {class: "num"}, "at peak"),
                            el("th", {class: "num"}, "live at exit"));
      heads.push(el("th", {}, "source"));
      const ftime = f.lines.reduce((s, r) => s + r[L.py] + r[L.nat] + r[L.sys], 0);
      const falloc = f.lines.reduce((s, r) => s + r[L.apy] + r[L.anat], 0);
      const totals = [cpuOn ? `${seconds(ftime)} CPU` : null,
                      memOn ? `${bytes(falloc)} allocated` : null].filter(Boolean).join(", ");
      return el("details", {class: "file", id: `f${fi}`, open: fi < 8 ? "" : null},
        el("summary", {}, el("span", {class: "fname"}, f.name), " ",
           el("span", {class: "dim"}, `${totals} · ${plural(f.lines.length, "line")}`),
           f.path !== f.name ? el("div", {class: "fpath dim"}, f.path) : null),
        f.text_note ? el("p", {class: "note"}, `${f.text_note}: showing the lines the ` +
                                              "profile recorded, without indentation") : null,
        el("div", {class: "scroller"}, el("table", {class: "src"}, el("thead", {}, el("tr", {},
          heads)), el("tbody", {}, rows))));
    });
    return blocks.length ? blocks : [el("p", {class: "note"}, "no profiled file has figures")];
  }

  function buckets() {
    const out = [];
    for (const [key, label] of [["native_threads", "native threads (no Python thread state)"],
                                ["unattributed", "unattributed (no profiled code on the stack)"]]) {
      const b = R[key] || {};
      if ((b.alloc_bytes || 0) > 0 || (b.live_bytes || 0) > 0 || (b.cpu_s || 0) > 0) {
        out.push(el("li", {}, `${label}: ${bytes(b.alloc_bytes || 0)} allocated, ` +
          `${bytes(b.live_bytes || 0)} live at exit` +
          (cpuOn && b.cpu_s ? `, ${seconds(b.cpu_s)} CPU` : "")));
      }
    }
    const untracked = (R.sampling || {}).live_untracked || 0;
    if (untracked) {
      out.push(el("li", {class: "warn"}, `${plural(untracked, "sampled block")} could not be ` +
        "tracked as live (table full): live and at-peak figures are too low"));
    }
    return out.length ? el("ul", {class: "buckets"}, out) : null;
  }

  // ---- the page -----------------------------------------------------------
  const app = document.getElementById("app");
  app.append(header(), nav());
  if (memOn && D.timeline.length) {
    const chart = HL.section("chart", "Memory over time");
    app.appendChild(chart);
    HL.footprintChart(chart, {
      series: [{points: D.timeline, cls: "after", label: ""}],
      xMax: R.elapsed_s,
      marks: [{x: R.peak_at_s, y: R.peak_bytes,
               label: `peak ${bytes(R.peak_bytes)} at ${seconds(R.peak_at_s)}`}],
      hint: "point at the chart for the footprint at that time",
    });
  }
  app.appendChild(HL.section("lines", "Lines", linesTable(), buckets()));
  app.appendChild(HL.section("functions", "Functions", functionsTable()));
  if (D.processes) app.appendChild(HL.section("processes", "Processes",
                                              HL.genericTable("processes-table", D.processes)));
  if (D.leaks) app.appendChild(HL.section("leaks", "Leaks",
                                          HL.genericTable("leaks-table", D.leaks)));
  app.appendChild(HL.section("source", "Source", sourceView()));
  app.appendChild(el("footer", {}, `heapline ${D.heapline}` +
                     (D.source ? ` · from ${D.source}` : "")));
  if (location.hash.length > 1) {  // a link to a line (#f0-L12) or a section (#source)
    const id = decodeURIComponent(location.hash.slice(1));
    if (/^f\d+-L\d+$/.test(id)) HL.goTo(id);
    else if (document.getElementById(id)) document.getElementById(id).scrollIntoView();
  }
  document.documentElement.dataset.ready = "1";
})();
