"""The HTML report: one self-contained page per profile (`heapline run --html`,
`heapline view`, the IPython magics) or per comparison (`heapline diff --html`).

The page is a small HTML shell, the profile's figures as a JSON block, and a
script and a style sheet of heapline's own (reporters/assets/), all inline:
it works offline and from file://, and a Content-Security-Policy meta tag
allows nothing but that one script and that one style sheet (by their
hashes), so no URL outside the file is ever loaded and no markup that came
from the profile could run even if it got into the page. It never does: the
script builds the page with createElement and textContent only, so a source
line such as `"<img src=x onerror=alert(1)>"` is text.

Why no charting or templating library: heapline draws one line chart and a few
tables. The chart is SVG drawn by the page's own script (axes, ticks, peak
mark and a readout under the pointer), a few kilobytes, where a charting
library inlined into every page would add 50 KiB (uPlot) to 3 MiB (Plotly),
would have to be a dependency that pip installs for every user of `heapline
run`, and would have to be kept up to date. A template engine (Jinja2) would
be another dependency for one page of fixed shape; the shell below is a
format string whose only inserted texts are escaped. Nothing here is imported
unless a page is written.

Size: the script and style sheet are about 30 KiB; the data grows with the
number of lines that have figures (a source view of each, with two lines of
context around it), about 200 bytes a line, plus up to 2,048 footprint points
(about 30 KiB); docs/profile-format.md gives measured sizes."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import os
from collections.abc import Mapping
from typing import Any

from heapline import __version__
from heapline.model import file_names, function_at, profiled

ASSETS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "assets")

#: Lines of source shown around each line with figures (the rest is folded).
CONTEXT_LINES = 2
#: Fewest lines folded away between two shown parts of a file.
MIN_FOLD = 3
#: Longest source line kept in the page (longer ones are cut, with "…").
MAX_LINE_CHARS = 400

#: Columns of a line record in the page's data (kept short: one array per line).
LINE_FIELDS = ("line", "cpu_python_s", "cpu_native_s", "cpu_system_s", "cpu_samples",
               "alloc_python_bytes", "alloc_native_bytes", "alloc_samples", "live_bytes",
               "peak_bytes")


def _asset(name: str) -> str:
    with open(os.path.join(ASSETS, name), encoding="utf-8") as f:
        return f.read()


def _script_json(data: Any) -> str:
    """JSON that can stand inside a <script> element: no `<`, `>` or `&`
    (so no `</script>` or `<!--`), and no U+2028/U+2029."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                    ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, esc)
    return text


def _sha256(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


_SHELL = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="generator" content="heapline {version}">
<title>{title}</title>
<style>{style}</style>
</head>
<body>
<noscript><p>This report is drawn by the script inside this file, which loads
nothing from the network: allow it to run.</p></noscript>
<main id="app" data-kind="{kind}"></main>
<script type="application/json" id="heapline-data">{data}</script>
<script>{script}</script>
</body>
</html>
"""


def page(kind: str, title: str, data: Mapping[str, Any], scripts: tuple[str, ...]) -> str:
    """A complete page: the shell with the style, the data and the scripts."""
    style = _asset("page.css")
    script = "\n".join(_asset(name) for name in scripts)
    csp = (f"default-src 'none'; script-src 'sha256-{_sha256(script)}'; "
           f"style-src 'sha256-{_sha256(style)}'; img-src data:; base-uri 'none'; "
           "form-action 'none'")
    return _SHELL.format(csp=csp, version=html.escape(__version__), title=html.escape(title),
                         style=style, kind=html.escape(kind), data=_script_json(data),
                         script=script)


def _round(x: float, digits: int = 6) -> float:
    return round(float(x), digits)


def _text_windows(path: str, lines: list[Mapping[str, Any]],
                  functions: list[Mapping[str, Any]]) -> tuple[list[list[Any]], str]:
    """The source shown for a file: windows [first line, [texts...]] around its
    lines with figures (and its functions' first lines), and why the file's
    own text could not be used ("" when it was)."""
    from heapline.document import source_lines

    wanted: set[int] = set()
    for ln in lines:
        n = int(ln["line"])
        wanted.update(range(max(1, n - CONTEXT_LINES), n + CONTEXT_LINES + 1))
    for fn in functions:
        if int(fn.get("first_line", 0)) > 0:
            wanted.add(int(fn["first_line"]))
    text: list[str] = []
    why = ""
    if path.startswith("<") or not os.path.isfile(path):
        why = "the source file is not available here"
    else:
        try:
            text = source_lines(path)
        except (OSError, ValueError):
            why = "the source file could not be read"
    if not why:
        for ln in lines:
            n = int(ln["line"])
            recorded = str(ln.get("source", "")).strip()
            if recorded and (n > len(text) or text[n - 1].strip() != recorded):
                why = "the source file has changed since the run"
                break
    if why:  # only the lines the profile recorded
        known = {int(ln["line"]): str(ln.get("source", "")) for ln in lines}
        wanted = set(known)
    else:
        # a fold of a few lines would hide less than it takes: show them
        ordered = sorted(wanted)
        for x, y in zip(ordered, ordered[1:]):
            if 1 < y - x <= MIN_FOLD:
                wanted.update(range(x + 1, y))
        known = {n: text[n - 1].rstrip("\r\n") for n in wanted if 0 < n <= len(text)}
    windows: list[list[Any]] = []
    for n in sorted(known):
        t = known[n]
        if len(t) > MAX_LINE_CHARS:
            t = t[:MAX_LINE_CHARS - 1] + "…"
        if windows and windows[-1][0] + len(windows[-1][1]) == n:
            windows[-1][1].append(t)
        else:
            windows.append([n, [t]])
    return windows, why


def _function_rows(f: Mapping[str, Any]) -> list[list[Any]]:
    """[name, first, last, time python, native, system, alloc python, native,
    live, peak] of each function, the bytes totalled from its lines."""
    functions = list(f.get("functions", []))
    sums: dict[int, list[float]] = {i: [0.0] * 7 for i in range(len(functions))}
    for ln in f.get("lines", []):
        fn = function_at(functions, int(ln["line"]))
        if fn is None:
            continue
        s = sums[functions.index(fn)]
        for i, k in enumerate(("cpu_python_s", "cpu_native_s", "cpu_system_s",
                               "alloc_python_bytes", "alloc_native_bytes", "live_bytes",
                               "peak_bytes")):
            s[i] += float(ln.get(k, 0))
    return [[str(fn.get("name", "?")), int(fn.get("first_line", 0)),
             int(fn.get("last_line", 0)), *(_round(x) for x in s[:3]),
             *(int(x) for x in s[3:])] for fn, s in ((fn, sums[i])
                                                     for i, fn in enumerate(functions))]


def profile_data(doc: Mapping[str, Any], source: str | None = None) -> dict[str, Any]:
    """What the profile page draws, from a profile document."""
    names = file_names(doc)
    cpu_on, memory_on = profiled(doc)
    files = []
    index_of = {}
    for i, f in enumerate(doc.get("files", [])):
        path = str(f["path"])
        index_of[path] = i
        lines = sorted(f.get("lines", []), key=lambda ln: int(ln["line"]))
        windows, why = _text_windows(path, lines, list(f.get("functions", [])))
        files.append({
            "path": path,
            "name": names.get(path, path),
            "lines": [[int(ln.get("line", 0)), *(_round(ln.get(k, 0.0)) for k in LINE_FIELDS[1:4]),
                       *(int(ln.get(k, 0)) for k in LINE_FIELDS[4:])] for ln in lines],
            "functions": _function_rows(f),
            "text": windows,
            "text_note": why,
        })
    mem = doc.get("memory", {})
    peak_file = mem.get("peak_file")
    data: dict[str, Any] = {
        "heapline": __version__,
        "source": source,
        "run": {
            "program": doc.get("program", ""),
            "argv": list(doc.get("argv", [])),
            "python": doc.get("python", ""),
            "platform": doc.get("platform", ""),
            "elapsed_s": _round(doc.get("elapsed_s", 0.0)),
            "cpu": doc.get("cpu") if cpu_on else None,
            "memory": memory_on,
            "native_hooks": doc.get("native_hooks"),
            "sampling": doc.get("sampling", {}),
            "peak_bytes": int(mem.get("peak_bytes", 0)),
            "peak_at_s": _round(mem.get("peak_at_s", 0.0)),
            "exit_bytes": int(mem.get("exit_bytes", 0)),
            "peak_file": index_of.get(str(peak_file)) if peak_file is not None else None,
            "peak_file_name": (names.get(str(peak_file), str(peak_file))
                               if peak_file is not None else None),
            "peak_line": mem.get("peak_line"),
            "native_threads": doc.get("native_threads", {}),
            "unattributed": doc.get("unattributed", {}),
        },
        "timeline": [[_round(t, 5), int(b)] for t, b in mem.get("timeline", [])]
        if memory_on else [],
        "files": files,
    }
    # sections that later documents may carry (profiled child processes,
    # leaks): shown as tables of whatever their entries hold; the processes
    # only when there is more than the program's own
    for key, least in (("processes", 2), ("leaks", 1)):
        value = doc.get(key)
        if isinstance(value, list) and len(value) >= least:
            data[key] = value
    return data


def render_profile(doc: Mapping[str, Any], source: str | None = None) -> str:
    """The page of a profile document (``source``: the file it was read from)."""
    argv = [str(a) for a in doc.get("argv", [])]
    title = f"heapline: {' '.join(argv) if argv else doc.get('program', '')}"
    return page("profile", title, profile_data(doc, source), ("common.js", "profile.js"))


def write_page(text: str, path: str) -> None:
    """Writes a page atomically (as heapline.document.write_json does)."""
    from heapline.document import write_text

    write_text(text, path)


def write_profile_page(doc: Mapping[str, Any], path: str, source: str | None = None) -> None:
    write_page(render_profile(doc, source), path)


def diff_data(comparison: Any) -> dict[str, Any]:
    """What the comparison page draws (comparison: a heapline.compare.Comparison)."""
    from dataclasses import asdict

    c = comparison

    def change(ch: Any) -> list[Any]:
        return [ch.file, ch.function, ch.source, ch.before_line, ch.after_line, ch.status,
                _round(ch.before.time_s), _round(ch.after.time_s), ch.before.alloc_bytes,
                ch.after.alloc_bytes, ch.before.peak_bytes, ch.after.peak_bytes,
                _round(c.score(ch), 6), ch.before_source]

    def run(doc: Mapping[str, Any], totals: Any, name: str) -> dict[str, Any]:
        return {"name": name, "argv": list(doc.get("argv", [])),
                "program": doc.get("program", ""), "python": doc.get("python", ""),
                "totals": asdict(totals),
                "timeline": [[_round(t, 5), int(b)]
                             for t, b in doc.get("memory", {}).get("timeline", [])]}

    return {
        "heapline": __version__,
        "before": run(c.before_doc, c.before, c.before_name),
        "after": run(c.after_doc, c.after, c.after_name),
        "growth": c.growth_pct(),
        "lines": [change(x) for x in c.ranked(c.lines)],
        "functions": [change(x) for x in c.ranked(c.functions)],
    }


def render_diff(comparison: Any) -> str:
    title = f"heapline diff: {comparison.before_name} → {comparison.after_name}"
    return page("diff", title, diff_data(comparison), ("common.js", "diff.js"))
