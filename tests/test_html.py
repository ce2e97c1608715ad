"""The HTML report (`heapline run --html`, `heapline view`), checked in a real
browser (headless Chromium, tests/browser.py): the figures of a program with
known allocations (tests/programs/report_known.py) on the right lines,
sorting and filtering, the chart and its readout, a click from a table to the
line, source text that would be markup staying text, no request leaving the
file, light and dark schemes, laptop and narrow widths. Screenshots go to
$HEAPLINE_SCREENSHOTS when it is set (else a temporary directory)."""

from __future__ import annotations

import copy
import html
import http.server
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from browser import Browser, Page, need_chromium
from conftest import (Heapline, Profiled, describe, heapline_cmd, linux_only, marker_line,
                      program, run_process)

pytestmark = linux_only

KNOWN = program("report_known.py")
MiB = 1 << 20


@pytest.fixture(scope="module")
def known(heapline: Heapline, tmp_path_factory: pytest.TempPathFactory) -> tuple[Profiled, Path]:
    """One run of the known program, with the page written by `heapline run`."""
    where = tmp_path_factory.mktemp("html")
    page = where / "known.html"
    # run elsewhere than the program's directory: its file is named from that
    # directory (the program's import root), report_known.py
    run = heapline.run(str(KNOWN), options=["--html", str(page)], cwd=where)
    assert page.is_file(), describe(run.proc)
    assert f"HTML report written to {page}" in run.proc.stderr, describe(run.proc)
    return run, page


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    need_chromium()
    with Browser() as b:
        yield b


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = os.environ.get("HEAPLINE_SCREENSHOTS")
    if where:
        Path(where).mkdir(parents=True, exist_ok=True)
        return Path(where)
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture(scope="module")
def page(browser: Browser, known: tuple[Profiled, Path]) -> Page:
    return browser.open(known[1])


def line_of(marker: str) -> int:
    return marker_line(KNOWN, marker)


def row_cells(page: Page, line: int) -> list[str]:
    """The cells of a line's row in the source view: line number, bars, time,
    allocated, at peak, live at exit, source."""
    return list(page.eval(f"[...document.getElementById('f0-L{line}').children]"
                          ".map(td => td.textContent)"))


def table_column(page: Page, table: str, index: int) -> list[str]:
    return page.texts(f"#{table} tbody tr td:nth-child({index + 1})")


def column_index(page: Page, table: str, label: str, group: str | None = None) -> int:
    """The index of the column headed `label` (in `group`, "CPU time" or "memory")."""
    heads = page.eval(f"""[...document.querySelectorAll('#{table} thead tr.heads th')].map(
        th => th.textContent.replace(/ [▾▴]$/, ''))""")
    found = [i for i, h in enumerate(heads) if h == label]
    if group is not None and len(found) > 1:
        groups: list[str] = page.eval(f"""(() => {{
            const out = [];
            for (const th of document.querySelectorAll('#{table} thead tr.groups th'))
                for (let i = 0; i < th.colSpan; i++) out.push(th.textContent);
            return out; }})()""")
        found = [i for i in found if groups[i] == group]
    assert len(found) == 1, (label, heads)
    return found[0]


def sort_by(page: Page, table: str, label: str, group: str | None = None) -> None:
    i = column_index(page, table, label, group)
    page.click(f"#{table} thead tr.heads th[data-col='{i}'] button")


# ---- the page as a file -------------------------------------------------------


def test_page_is_one_self_contained_file(known: tuple[Profiled, Path]) -> None:
    text = known[1].read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)"', text)
    assert csp and "default-src 'none'" in csp.group(1), "no CSP that forbids loading"
    assert "unsafe-inline" not in csp.group(1) and "unsafe-eval" not in csp.group(1)
    # nothing refers to a URL outside the file (the SVG namespace is a name,
    # never fetched); the data block holds the program's text, checked in the
    # browser below
    data_start = text.index('<script type="application/json"')
    data_end = text.index("</script>", data_start)
    rest = text[:data_start] + text[data_end:]
    urls = set(re.findall(r"(?:https?:)?//[\w.-]+[^\s\"'<>)]*", rest))
    assert urls <= {"http://www.w3.org/2000/svg"}, urls
    assert not re.search(r"<(?:link|img|iframe|object|embed)\b", rest)
    assert not re.search(r"<script\b[^>]*\bsrc=", rest)
    # the program's own text is in the data block only, escaped
    assert "</script><script>window.pwned" not in text
    size = len(text.encode())
    assert size < 100 * 1024, f"the page of a 30-line program is {size} bytes"


# ---- figures on the right lines -----------------------------------------------


def block_cell(cell: str, mib: float) -> bool:
    """A cell showing a line's block of `mib` MiB: that, or up to 0.2 MiB more
    when a sample also fell on a small object the line made beside it (the
    object header, an int), charged one sampling interval (64 KiB)."""
    value, _, unit = cell.partition(" ")
    try:
        return unit == "MiB" and mib <= float(value) <= mib + 0.2
    except ValueError:
        return False



def test_known_figures_are_on_their_lines(page: Page, known: tuple[Profiled, Path]) -> None:
    cells = row_cells(page, line_of("transient48"))
    assert cells[0] == str(line_of("transient48"))
    # allocated, at peak, live
    assert block_cell(cells[3], 48) and block_cell(cells[4], 48) and cells[5] == "", cells
    cells = row_cells(page, line_of("kept24"))
    assert block_cell(cells[3], 24) and cells[4] == "" and block_cell(cells[5], 24), cells
    cells = row_cells(page, line_of("hostile"))
    assert block_cell(cells[3], 16) and block_cell(cells[5], 16), cells  # 2 Mi pointers
    # the line with no figures between them is context, not a line with figures
    ctx = page.eval(f"document.getElementById('f0-L{line_of('transient48') + 1}').className")
    assert ctx == "ctx"
    # the lines table: the same figures in the row of each line
    where = table_column(page, "lines-table", 0)
    alloc = table_column(page, "lines-table", column_index(page, "lines-table", "allocated"))
    fn = table_column(page, "lines-table", 1)
    row = where.index(f"report_known.py:{line_of('transient48')}")
    assert block_cell(alloc[row], 48) and fn[row] == "transient"
    row = where.index(f"report_known.py:{line_of('kept24')}")
    assert block_cell(alloc[row], 24) and fn[row] == "kept"
    # the header: the peak and the line that reached it (a link to that line)
    peak = page.texts("dd strong.peak")[0]
    value = float(peak.split()[0])
    assert peak.endswith("MiB") and 48 <= value < 48 + 40, peak
    assert page.texts("dd a.to-line")[0] == f"report_known.py:{line_of('transient48')}"


def test_functions_table(page: Page) -> None:
    names = table_column(page, "functions-table", 0)
    alloc = table_column(page, "functions-table",
                         column_index(page, "functions-table", "allocated"))
    got = {n.split()[0]: a for n, a in zip(names, alloc)}
    # each function's block, and what else it allocates: a few small objects,
    # which a sample now and then charges one interval (64 KiB) for
    assert block_cell(got.get("transient", ""), 48) and block_cell(got.get("kept", ""), 24), got


def test_sorting_changes_the_order(page: Page) -> None:
    marked = [f"report_known.py:{line_of(m)}" for m in ("transient48", "kept24", "hostile")]

    def order() -> list[str]:
        return [w for w in table_column(page, "lines-table", 0) if w in marked]

    sort_by(page, "lines-table", "allocated", "memory")
    assert order() == marked  # 48, 24, 16 MiB: largest first
    sort_by(page, "lines-table", "allocated", "memory")
    assert order() == marked[::-1]
    sort_by(page, "lines-table", "live at exit")
    assert order()[:2] == [marked[1], marked[2]]  # 24 and 16 MiB live; 0 for the 48
    sort_by(page, "lines-table", "line")
    numbers = [int(w.rsplit(":", 1)[1]) for w in table_column(page, "lines-table", 0)]
    assert numbers == sorted(numbers)


def test_filter(page: Page) -> None:
    page.eval("""(() => { const i = document.querySelector('#lines-table input.filter');
        i.value = 'kept'; i.dispatchEvent(new Event('input')); })()""")
    rows = table_column(page, "lines-table", 1)
    assert rows and set(rows) == {"kept"}, rows
    assert "of" in page.texts("#lines-table .count")[0]
    page.eval("""(() => { const i = document.querySelector('#lines-table input.filter');
        i.value = ''; i.dispatchEvent(new Event('input')); })()""")
    assert len(table_column(page, "lines-table", 1)) > len(rows)


def test_click_goes_to_the_line(page: Page) -> None:
    line = line_of("kept24")
    page.click(f"#lines-table a.to-line[href='#f0-L{line}']")
    page.wait_for(f"document.getElementById('f0-L{line}').classList.contains('flash')")
    top, bottom = page.eval(f"""(() => {{ const r = document.getElementById('f0-L{line}')
        .getBoundingClientRect(); return [r.top, r.bottom]; }})()""")
    assert 0 <= top and bottom <= page.eval("innerHeight"), "the line is not in view"


def test_chart_axes_peak_and_readout(page: Page, shots: Path) -> None:
    labels = page.texts("#chart svg .axis .label")
    assert "time since start (s)" in labels
    assert any(re.fullmatch(r"heap footprint \((MiB|KiB|GiB)\)", t) for t in labels), labels
    mark = page.texts("#chart svg .mark text")[0]
    assert mark.startswith("peak ") and page.texts("dd strong.peak")[0] in mark
    # the pointer at the peak, then at the very start: the readout follows it
    cx, cy = page.eval("""(() => { const c = document.querySelector('#chart .mark circle');
        c.scrollIntoView({block: 'center'}); const r = c.getBoundingClientRect();
        return [r.left + r.width / 2, r.top + r.height / 2]; })()""")
    page.hover(cx + 1, cy + 5)
    at_peak = page.texts("#chart .readout")[0]
    left = page.eval("document.querySelector('#chart rect.hit').getBoundingClientRect().left")
    page.screenshot(shots / "chart_pointer.png")
    page.hover(left + 1, cy + 5)
    at_start = page.texts("#chart .readout")[0]

    def mib(readout: str) -> float:
        m = re.fullmatch(r"\d+\.\d\d s: (\d+(?:\.\d)?) (B|KiB|MiB)", readout)
        assert m, readout
        return float(m.group(1)) * {"B": 1 / MiB, "KiB": 1 / 1024, "MiB": 1}[m.group(2)]

    assert mib(at_peak) >= 48, at_peak  # the 48 MiB block was live
    assert mib(at_start) < 48, at_start


def test_screenshots_light_dark_and_narrow(browser: Browser, known: tuple[Profiled, Path],
                                           shots: Path) -> None:
    def luminance(css: str) -> float:
        r, g, b = (int(x) for x in re.findall(r"\d+", css)[:3])
        return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255

    light = browser.open(known[1])
    light.screenshot(shots / "profile_light.png", full=True)
    bg = luminance(light.eval("getComputedStyle(document.documentElement).backgroundColor"))
    dark = browser.open(known[1], dark=True)
    dark.screenshot(shots / "profile_dark.png", full=True)
    dark_bg = luminance(dark.eval("getComputedStyle(document.documentElement).backgroundColor"))
    dark_fg = luminance(dark.eval("getComputedStyle(document.body).color"))
    assert bg > 0.9 and dark_bg < 0.15 and dark_fg > 0.7, (bg, dark_bg, dark_fg)
    for width in (1280, 800):
        narrow = browser.open(known[1], width=width, height=900)
        narrow.screenshot(shots / f"profile_{width}px.png")
        overflow = narrow.eval("document.documentElement.scrollWidth - innerWidth")
        assert overflow <= 0, f"the page is wider than a {width}-pixel window by {overflow}"
    assert light.console() == [] and dark.console() == []


# ---- markup in the profile stays text ------------------------------------------


def test_hostile_source_and_path_stay_text(heapline: Heapline, browser: Browser,
                                           tmp_path: Path, shots: Path) -> None:
    name = "<img src=x onerror=\"window.pwned = 3\">.py"
    prog = tmp_path / name
    prog.write_text("x = bytearray(8 * 2**20)\n"
                    "y = '<script>window.pwned = 4</script><b>bold</b>' * 2**18\n")
    out = tmp_path / "hostile.html"
    heapline.run(str(prog), options=["--html", str(out)], cwd=tmp_path)
    p = browser.open(out)
    p.screenshot(shots / "hostile.png")
    assert p.eval("window.pwned") is None
    assert p.eval("document.querySelectorAll('img, b, iframe').length") == 0
    assert p.eval("document.querySelectorAll('script').length") == 2  # the page's own two
    code = p.texts("#f0-L2 td.code")[0]
    assert code == "y = '<script>window.pwned = 4</script><b>bold</b>' * 2**18"
    assert name in p.texts(".fname")[0]
    assert p.requests == [out.as_uri()], p.requests


class _Counter(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        _Counter.hits.append(self.path)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def hostile_document(schema_doc: dict[str, Any], port: int) -> dict[str, Any]:
    """A profile whose every text tries to load something from 127.0.0.1:port."""
    doc = copy.deepcopy(schema_doc)
    base = f"http://127.0.0.1:{port}"
    tags = [f"<img src={base}/img>", f"<script src={base}/js></script>",
            f"<link rel=stylesheet href={base}/css>", f"<iframe src={base}/frame></iframe>",
            f"<object data={base}/obj></object>", f"<svg><image href={base}/svg /></svg>",
            f"<style>@import url({base}/import);</style>",
            f"<meta http-equiv=refresh content=\"0; url={base}/refresh\">"]
    doc["program"] = tags[0]
    doc["argv"] = tags[:3]
    f = doc["files"][0]
    f["path"] = f"/nonexistent/{tags[1]}.py"
    f["name"] = tags[2]
    for ln, tag in zip(f["lines"], tags * 4):
        ln["source"] = tag
    for fn in f.get("functions", []):
        fn["name"] = tags[3]
    doc["memory"]["peak_file"] = f["path"]
    doc["processes"] = [{"pid": 1, "argv": tags[4:6], "peak_bytes": 1 << 20}]
    doc["leaks"] = [{"file": tags[6], "line": 1, "live_bytes": 4096, "note": tags[7]}]
    return doc


def test_no_request_leaves_the_file(browser: Browser, known: tuple[Profiled, Path],
                                    tmp_path: Path) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Counter)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        _Counter.hits = []
        port = server.server_address[1]
        doc = hostile_document(known[0].doc, port)
        src = tmp_path / "hostile.json"
        src.write_text(json.dumps(doc))
        out = tmp_path / "hostile.html"
        proc = run_process([*heapline_cmd(), "view", str(src), "-o", str(out)], cwd=tmp_path)
        assert proc.returncode == 0, describe(proc)
        p = browser.open(out)
        # the texts are shown as they are...
        assert p.texts(".fname")[0] == doc["files"][0]["name"]
        assert doc["leaks"][0]["note"] in p.texts("#leaks-table tbody td")
        # ...and the page itself may not load anything either
        blocked = p.eval(f"fetch('http://127.0.0.1:{port}/fetch').then(() => 'loaded', "
                         "e => 'blocked')", await_promise=True)
        assert blocked == "blocked"
        assert p.requests == [out.as_uri()], p.requests
        # the same page through chromium's own --dump-dom (no DevTools): the
        # DOM it ends with has no element that loads
        dom = subprocess.run(
            [need_chromium(), "--headless", "--no-sandbox", "--disable-gpu",
             "--virtual-time-budget=2000", "--dump-dom", out.as_uri()],
            capture_output=True, text=True, timeout=60, check=False).stdout
        body = dom[dom.index("<body"):]
        body = body[:body.index('<script type="application/json"')]
        assert 'data-ready="1"' in dom
        assert not re.search(r"<(img|link|iframe|object|image|style|meta)\b", body), body[:2000]
        assert html.escape(doc["leaks"][0]["note"], quote=False) in body
        assert _Counter.hits == [], f"requests reached the server: {_Counter.hits}"
    finally:
        server.shutdown()
        server.server_close()


def test_processes_and_leaks_only_when_present(browser: Browser, known: tuple[Profiled, Path],
                                               tmp_path: Path) -> None:
    doc = copy.deepcopy(known[0].doc)
    doc["processes"] = [{"pid": 4242, "argv": ["worker.py", "--n", "3"], "peak_bytes": 3 * MiB,
                         "cpu_s": 1.25},
                        {"pid": 4243, "argv": ["worker.py"], "peak_bytes": 5 * MiB,
                         "cpu_s": 0.5}]
    doc["leaks"] = [{"file": str(KNOWN), "line": line_of("kept24"), "live_bytes": 24 * MiB}]
    src = tmp_path / "with_sections.json"
    src.write_text(json.dumps(doc))
    proc = run_process([*heapline_cmd(), "view", str(src)], cwd=tmp_path)
    assert proc.returncode == 0, describe(proc)
    p = browser.open(tmp_path / "with_sections.html")
    cells = p.texts("#processes-table tbody td")
    assert {"4242", "worker.py --n 3", "3.0 MiB", "1.25 s", "5.0 MiB"} <= set(cells), cells
    assert "24.0 MiB" in p.texts("#leaks-table tbody td")
    page_without = browser.open(known[1])
    assert page_without.eval("document.getElementById('processes')") is None
    assert page_without.eval("document.getElementById('leaks')") is None


# ---- heapline view, run --html in process, the notebook's page ------------------


def test_view_writes_the_same_page_and_opens_it(known: tuple[Profiled, Path],
                                                tmp_path: Path) -> None:
    src = tmp_path / "run.json"
    src.write_text(known[0].json_path.read_text())
    opened = tmp_path / "opened.txt"
    browser_cmd = tmp_path / "fake-browser"
    browser_cmd.write_text(f"#!/bin/sh\necho \"$1\" >> {opened}\n")
    browser_cmd.chmod(0o755)
    proc = run_process([*heapline_cmd(), "view", str(src), "--open"], cwd=tmp_path,
                       env={"BROWSER": str(browser_cmd)})
    assert proc.returncode == 0, describe(proc)
    out = tmp_path / "run.html"
    assert out.is_file(), "the default output is the profile's name with .html"
    assert opened.read_text().strip() == out.as_uri()
    ran, viewed = known[1].read_text(), out.read_text()

    def data(page: str) -> dict[str, Any]:
        m = re.search(r'<script type="application/json" id="heapline-data">(.*?)</script>',
                      page, re.S)
        assert m
        d = json.loads(m.group(1))
        d.pop("source")
        return dict(d)

    assert data(ran) == data(viewed)
    other = tmp_path / "elsewhere" / "page.html"
    other.parent.mkdir()
    proc = run_process([*heapline_cmd(), "view", str(src), "-o", str(other)], cwd=tmp_path)
    assert proc.returncode == 0 and other.is_file(), describe(proc)


def test_run_html_in_process(heapline: Heapline, browser: Browser, tmp_path: Path) -> None:
    out = tmp_path / "inproc.html"
    run = heapline.in_mode("in-process").run(str(KNOWN), options=["--html", str(out)],
                                             cwd=tmp_path)
    assert out.is_file(), describe(run.proc)
    p = browser.open(out)
    assert block_cell(row_cells(p, line_of("kept24"))[3], 24)


def test_run_html_to_a_missing_directory(tmp_path: Path) -> None:
    proc = run_process([*heapline_cmd(), "run", "--html", "/nonexistent/dir/p.html",
                        str(KNOWN)], cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.startswith("heapline: error: --html"), \
        describe(proc)
    assert proc.stdout == "", "the program must not start"


def test_notebook_output_is_one_page(browser: Browser, tmp_path: Path) -> None:
    """%%heapline in an IPython shell: one output, the page (in a sandboxed
    iframe) with a plain-text fallback without ANSI codes; the cell's code is
    named `In [n]` with the line numbers the cell shows."""
    pytest.importorskip("IPython")
    code = (
        "import json, sys\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "ip = InteractiveShell.instance()\n"
        "outputs = []\n"
        "ip.display_pub.publish = lambda data, metadata=None, **kw: outputs.append(data)\n"
        "ip.run_line_magic('load_ext', 'heapline')\n"
        "ip.run_cell('MiB = 2**20', store_history=True)\n"
        "ip.run_cell('%%heapline\\nx = 1\\nblock = bytearray(40 * MiB)\\n', store_history=True)\n"
        "print(json.dumps({'count': ip.execution_count - 1, 'outputs': outputs}))\n")
    proc = run_process([sys.executable, "-c", code], cwd=tmp_path)
    assert proc.returncode == 0, describe(proc)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    outputs, cell = result["outputs"], result["count"]
    assert len(outputs) == 1, [list(o) for o in outputs]
    text, frame = outputs[0]["text/plain"], outputs[0]["text/html"]
    assert "\x1b[" not in text
    assert f"In [{cell}]:3" in text and re.search(r"\b40\.[0-2] MiB", text), text
    m = re.fullmatch(r'<iframe srcdoc="([^"]*)" sandbox="allow-scripts"[^>]*></iframe>', frame)
    assert m, frame[:300]
    page_file = tmp_path / "cell.html"
    page_file.write_text(html.unescape(m.group(1)))
    p = browser.open(page_file)
    assert p.texts(".fname") == [f"In [{cell}]"]
    assert block_cell(row_cells(p, 3)[3], 40)
    assert p.texts("#f0-L3 td.code") == ["block = bytearray(40 * MiB)"]


# ---- page size -------------------------------------------------------------------


def synthetic(lines: int) -> dict[str, Any]:
    """A profile of `lines` lines with figures, spread over files of 500."""
    files = []
    for i in range(0, lines, 500):
        n = min(500, lines - i)
        files.append({
            "path": f"/nonexistent/project/module_{i // 500}.py",
            "lines": [{"line": 2 * k + 1, "source": f"value_{k} = compute(data[{k}], scale)",
                       "alloc_bytes": 1000 * k + 12345, "alloc_python_bytes": 1000 * k,
                       "alloc_native_bytes": 12345, "alloc_samples": k, "live_bytes": 999 * k,
                       "peak_bytes": 777 * k, "cpu_python_s": 0.001 * k,
                       "cpu_native_s": 0.0001 * k, "cpu_system_s": 0.00001 * k,
                       "cpu_samples": k} for k in range(n)],
            "functions": [{"name": f"func_{j}", "first_line": 100 * j + 1,
                           "last_line": 100 * j + 100, "alloc_bytes": 1, "cpu_python_s": 0.1,
                           "cpu_native_s": 0.0, "cpu_system_s": 0.0, "cpu_samples": 1}
                          for j in range(n // 50 + 1)],
        })
    return {"format": "heapline-profile", "version": 1, "program": "big.py", "argv": ["big.py"],
            "python": "3.11.7", "platform": "linux-x86_64", "elapsed_s": 10.0,
            "sampling": {"interval_bytes": 65536, "samples": 10},
            "memory": {"peak_bytes": 10 * MiB, "peak_at_s": 1.0, "exit_bytes": MiB,
                       "peak_file": None, "peak_line": None,
                       "timeline": [[i * 0.005, i * 4096] for i in range(2048)]},
            "files": files, "counters": {},
            "native_threads": {"alloc_bytes": 0, "live_bytes": 0, "alloc_samples": 0},
            "unattributed": {"alloc_bytes": 0, "live_bytes": 0, "alloc_samples": 0},
            "cpu": {"interval_s": 0.01, "wall": False, "samples": 1000, "python_s": 1.0,
                    "native_s": 0.5, "system_s": 0.1}, "profiled": {"cpu": True, "memory": True}}


def test_page_size_grows_with_the_lines(schema: dict[str, Any]) -> None:
    """Measured sizes (docs/profile-format.md quotes them): a fixed part (script,
    style, 2,048 footprint points) and a part per line with figures."""
    import jsonschema

    from heapline.reporters.html import render_profile

    sizes = {}
    for n in (0, 1000, 5000):
        doc = synthetic(n)
        jsonschema.validate(doc, schema)
        sizes[n] = len(render_profile(doc).encode())
    per_line = (sizes[5000] - sizes[1000]) / 4000
    print(f"page sizes: {sizes}; {per_line:.0f} bytes per line")
    assert sizes[0] < 120 * 1024, sizes
    assert per_line < 300, sizes
    assert sizes[1000] < 400 * 1024, sizes
