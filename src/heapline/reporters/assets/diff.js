// heapline's comparison page (heapline diff --html): the two runs side by
// side, both footprints over time, and the change of every line and function
// (matched across edits by file, function and source text). Uses HL.
"use strict";

(() => {
  const {el, bytes, seconds, dBytes, dSeconds, table} = HL;
  const D = HL.data();
  const B = D.before, A = D.after;
  // a change record: [file, function, source, before line, after line, status,
  //                   time before, after, alloc before, after, peak before, after,
  //                   score, source before]
  const C = {file: 0, fn: 1, src: 2, bl: 3, al: 4, status: 5, bt: 6, at: 7, ba: 8, aa: 9,
             bp: 10, ap: 11, score: 12, bsrc: 13};

  // red for growth, green for shrinking: as the text shows it (a change too
  // small to show is neither)
  const change = (d, text, title) => el("span", {
    class: text.startsWith("+") ? "up" : text.startsWith("−") ? "down" : "", title}, text);
  const growth = (b, a) => (b > 0 ? ` (${a >= b ? "+" : "−"}${Math.abs((100 * (a - b)) / b)
    .toFixed(1)}%)` : a > 0 ? " (new)" : "");

  function runsTable() {
    const row = (label, b, a, fmt, dfmt) => el("tr", {}, el("td", {}, label),
      el("td", {}, fmt(b)), el("td", {}, fmt(a)),
      el("td", {}, change(a - b, dfmt(a - b) + growth(b, a))));
    const bt = B.totals, at = A.totals;
    return el("table", {class: "runs"},
      el("thead", {}, el("tr", {}, el("th", {}, ""), el("th", {}, "before"), el("th", {}, "after"),
                         el("th", {}, "change"))),
      el("tbody", {},
        row("elapsed", bt.elapsed_s, at.elapsed_s, seconds, dSeconds),
        row("CPU time", bt.cpu_s, at.cpu_s, seconds, dSeconds),
        row("peak footprint", bt.peak_bytes, at.peak_bytes, bytes, dBytes),
        row("allocated (estimate)", bt.alloc_bytes, at.alloc_bytes, bytes, dBytes),
        row("exit footprint", bt.exit_bytes, at.exit_bytes, bytes, dBytes),
        el("tr", {}, el("td", {}, "peak at"), el("td", {}, `${seconds(bt.peak_at_s)}, ${bt.peak_where}`),
           el("td", {}, `${seconds(at.peak_at_s)}, ${at.peak_where}`), el("td", {}))));
  }

  function header() {
    const argv = (r) => (r.argv.length ? r.argv.join(" ") : r.program);
    return el("header", {},
      el("h1", {}, "heapline diff"),
      el("dl", {class: "facts"},
        el("div", {class: "fact"}, el("dt", {}, "before"),
           el("dd", {}, el("code", {}, B.name), " · ", el("code", {}, argv(B)), ` · Python ${B.python}`)),
        el("div", {class: "fact"}, el("dt", {}, "after"),
           el("dd", {}, el("code", {}, A.name), " · ", el("code", {}, argv(A)), ` · Python ${A.python}`))),
      runsTable());
  }

  function where(x) {
    const now = x[C.al] === null ? `${x[C.file]}:${x[C.bl]}` : `${x[C.file]}:${x[C.al]}`;
    const was = x[C.bl] !== null && x[C.al] !== null && x[C.bl] !== x[C.al] ? ` (was ${x[C.bl]})` : "";
    return now + was;
  }

  function changeTable(id, rows, isLine) {
    const columns = [
      {label: isLine ? "line" : "function", key: (x) => (isLine ? where(x) : x[C.fn]), desc: false,
       cls: "where", cell: (x) => (isLine ? where(x)
         : [x[C.fn], el("span", {class: "dim"}, ` ${x[C.file]}:${x[C.al] ?? x[C.bl]}`)])},
      {label: "", key: (x) => x[C.status], desc: false,
       cell: (x) => (x[C.status] === "same" ? "" : el("span", {class: "status"}, x[C.status]))},
    ];
    if (isLine) columns.push({label: "function", key: (x) => x[C.fn], desc: false, cls: "fn",
                              cell: (x) => x[C.fn]});
    columns.push(
      {label: "time", group: "change", num: true, key: (x) => x[C.at] - x[C.bt],
       cell: (x) => change(x[C.at] - x[C.bt], dSeconds(x[C.at] - x[C.bt]),
                           `${seconds(x[C.bt])} → ${seconds(x[C.at])}`)},
      {label: "allocated", group: "change", num: true, key: (x) => x[C.aa] - x[C.ba],
       cell: (x) => change(x[C.aa] - x[C.ba], dBytes(x[C.aa] - x[C.ba]),
                           `${bytes(x[C.ba])} → ${bytes(x[C.aa])}`)},
      {label: "at peak", group: "change", num: true, key: (x) => x[C.ap] - x[C.bp],
       cell: (x) => change(x[C.ap] - x[C.bp], dBytes(x[C.ap] - x[C.bp]),
                           `${bytes(x[C.bp])} → ${bytes(x[C.ap])}`)},
      {label: "time", group: "after", num: true, key: (x) => x[C.at], cell: (x) => seconds(x[C.at])},
      {label: "allocated", group: "after", num: true, key: (x) => x[C.aa],
       cell: (x) => bytes(x[C.aa])},
      {label: "at peak", group: "after", num: true, key: (x) => x[C.ap],
       cell: (x) => bytes(x[C.ap])},
      {label: "size of change", num: true, key: (x) => x[C.score], title:
       "the largest of the changes of time, bytes and bytes at peak, as a share of the run's total",
       cell: (x) => `${(100 * x[C.score]).toFixed(1)}%`});
    if (isLine) {
      columns.push({label: "source", key: (x) => x[C.src], desc: false, cls: "code",
        cell: (x) => el("code", {title: x[C.bsrc] && x[C.bsrc] !== x[C.src]
          ? `before: ${x[C.bsrc]}` : x[C.src]}, x[C.src])});
    }
    return table({id, columns, rows, sort: columns.length - (isLine ? 2 : 1), limit: 50,
                  placeholder: isLine ? "filter by file, function or source" : "filter",
                  filter: (x) => `${where(x)} ${x[C.fn]} ${x[C.src]} ${x[C.status]}`,
                  empty: "nothing to compare"});
  }

  const app = document.getElementById("app");
  app.append(header(), el("nav", {}, ["chart", "lines", "functions"].map((id) =>
    el("a", {href: `#${id}`, onclick: (e) => {
      document.getElementById(id).scrollIntoView(); e.preventDefault();
    }}, id === "chart" ? "memory over time" : id))));
  const chart = HL.section("chart", "Memory over time",
    el("p", {class: "legend"}, el("span", {class: "key before"}), "before (dashed) ",
       el("span", {class: "key after"}), "after"));
  app.appendChild(chart);
  HL.footprintChart(chart, {
    series: [{points: B.timeline, cls: "before", label: "before"},
             {points: A.timeline, cls: "after", label: "after"}],
    xMax: Math.max(B.totals.elapsed_s, A.totals.elapsed_s),
    marks: [{x: B.totals.peak_at_s, y: B.totals.peak_bytes, cls: "before",
             label: `before: peak ${bytes(B.totals.peak_bytes)}`},
            {x: A.totals.peak_at_s, y: A.totals.peak_bytes,
             label: `after: peak ${bytes(A.totals.peak_bytes)}`}],
    hint: "point at the chart for both footprints at that time",
  });
  app.appendChild(HL.section("lines", "Lines", changeTable("lines-table", D.lines, true)));
  app.appendChild(HL.section("functions", "Functions",
                             changeTable("functions-table", D.functions, false)));
  app.appendChild(el("footer", {}, `heapline ${D.heapline}`));
  document.documentElement.dataset.ready = "1";
})();
