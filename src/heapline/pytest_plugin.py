"""pytest plugin: memory limits per test, measured by heapline in process.

Registered through the ``pytest11`` entry point; it does nothing (no import of
heapline's C core, no hooks) unless pytest is given ``--heapline``.

- ``@pytest.mark.limit_memory("24 MB")``: the test fails when the heap
  footprint (every malloc'd and anonymous mmap'd byte of the process, Python
  and native, all threads) rose during the test above its value at the
  test's start by more than the limit. Exact: the core tracks the footprint's
  peak on every allocation.
- ``@pytest.mark.limit_leaks("2 MB")``: the test fails when the bytes
  allocated during the test and still live at its end, after
  ``gc.collect()``, exceed the limit. Estimated from sampled blocks (see
  ``--heapline-sampling-interval``).

Names and size units are pytest-memray's (``B KB MB GB`` are powers of 1024,
as there; ``KiB MiB GiB`` too), so a suite switches with one flag.
"""

from __future__ import annotations

import os
import re
import time
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Generator

    from heapline.session import Session

#: Mean bytes between allocation samples while the plugin runs: finer than
#: `heapline run`'s 64 KiB, so that leak figures of a few MB are close
#: (relative error about sqrt(interval / bytes): 4.5% on 2 MB at 4 KiB).
DEFAULT_INTERVAL = 4096

_UNITS = {"B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30, "TB": 1 << 40, "PB": 1 << 50,
          "KIB": 1 << 10, "MIB": 1 << 20, "GIB": 1 << 30, "TIB": 1 << 40, "PIB": 1 << 50}
_SIZE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([A-Za-z]*)\s*$")
_MARKERS = ("limit_memory", "limit_leaks")


def parse_size(text: str | int | float) -> int:
    """Bytes of "24 MB", "1.5GiB", "512 KB" or a number of bytes."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return int(text)
    m = _SIZE.match(str(text))
    unit = m.group(2).upper() if m else ""
    if not m or unit not in _UNITS and unit != "":
        raise ValueError(f"not a size: {text!r} (units: B KB MB GB, KiB MiB GiB)")
    return int(float(m.group(1)) * _UNITS[unit or "B"])


def fmt_bytes(n: float) -> str:
    """1.5 MiB, 512.0 KiB, 300 B."""
    n = float(n)
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if abs(n) >= size:
            return f"{n / size:.1f} {unit}"
    return f"{round(n)} B"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("heapline", "memory limits per test, measured by heapline")
    group.addoption("--heapline", action="store_true", default=False,
                    help="profile each test in process; enforce limit_memory/limit_leaks "
                         "marks; a table of the tests with the largest peak at the end")
    group.addoption("--heapline-json", metavar="DIR", default=None,
                    help="save each test's profile document (JSON) in DIR")
    group.addoption("--heapline-top", metavar="N", type=int, default=10,
                    help="tests in the session-end table (default 10; 0: none)")
    group.addoption("--heapline-sampling-interval", metavar="BYTES", type=int,
                    default=DEFAULT_INTERVAL,
                    help=f"mean bytes between allocation samples (default {DEFAULT_INTERVAL})")


@pytest.hookimpl(trylast=True)  # after pytest-memray's, which this may switch off
def pytest_configure(config: pytest.Config) -> None:
    # the marks are declared in any case (cheap), so --strict-markers passes
    # without --heapline too; pytest-memray declares the same names
    config.addinivalue_line(
        "markers", "limit_memory(size): fail when the test's peak heap footprint rose more "
                   "than size above its start (heapline: --heapline; pytest-memray: --memray)")
    config.addinivalue_line(
        "markers", "limit_leaks(size): fail when more than size bytes allocated by the test "
                   "are still live at its end (heapline: --heapline; pytest-memray: --memray)")
    if config.getoption("heapline", False):
        # pytest-memray profiles marked tests even without --memray: two
        # profilers in one test would measure each other
        if not config.getoption("memray", False):
            memray = config.pluginmanager.get_plugin("memray_manager")
            if memray is not None:
                config.pluginmanager.unregister(memray)
        config.pluginmanager.register(HeaplinePlugin(config), "heapline-plugin")


class _Result:
    """What one test's call did."""

    def __init__(self, nodeid: str) -> None:
        self.nodeid = nodeid
        self.duration_s = 0.0
        self.peak_bytes = 0  # footprint peak above the start, exact
        self.leaked_bytes = 0.0  # estimate
        self.alloc_bytes = 0.0  # estimate
        self.lines: list[tuple[str, int, float, float, float]] = []  # path, line, alloc, live, peak
        self.failure: str | None = None
        self.measured = True


class HeaplinePlugin:
    """The --heapline machinery; one per pytest process (each xdist worker
    profiles its own tests; the controller only gathers their figures)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.json_dir: str | None = config.getoption("heapline_json")
        self.top: int = config.getoption("heapline_top")
        self.interval: int = config.getoption("heapline_sampling_interval")
        self.session: Session | None = None
        self.results: dict[str, _Result] = {}
        self.rows: list[dict[str, Any]] = []  # session-end table (from reports)
        self.rootdir = str(config.rootpath)

    # ---- profiling ----------------------------------------------------------
    def _ensure_running(self) -> Session:
        from heapline import session as _session
        from heapline.options import Options

        s = _session.current
        if s is not None and s is self.session and s.running:
            return s
        if s is not None and s.running:  # a test's own heapline.start() left it on
            s.stop()
        opts = Options(interval=self.interval, memory=True, cpu=True, report=False)
        s = _session.Session(opts, "pytest", ["pytest"])
        s.start()
        _session.current = self.session = s
        return s

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, Any, None]:
        import gc

        from heapline import _core

        self._ensure_running()
        gc.collect()
        _core.reset()  # per-line tables, live blocks, peak := current
        counters0 = _core.counters()
        t0 = _core.now_s()
        start, _ = _core.footprint()
        started = time.perf_counter()
        outcome = yield
        duration = time.perf_counter() - started
        _, peak = _core.footprint()  # before gc.collect (which allocates a little)
        del outcome
        gc.collect()
        snap = _core.snapshot()
        r = _Result(item.nodeid)
        r.duration_s = duration
        r.peak_bytes = max(0, peak - start)
        r.measured = self.session is not None and self.session.running
        for row in snap["lines"]:
            path, line, py, native, _samples, live, at_peak = row[:7]
            r.alloc_bytes += py + native
            r.leaked_bytes += max(0.0, live)
            r.lines.append((path, line, py + native, live, at_peak))
        self.results[item.nodeid] = r
        if self.json_dir:
            self._save(item, snap, t0, counters0, duration)

    def _save(self, item: pytest.Item, snap: dict[str, Any], t0: float,
              counters0: dict[str, tuple[int, int]], duration: float) -> None:
        from heapline.document import build_document, write_json

        snap = dict(snap)
        snap["counters"] = {k: (c - counters0.get(k, (0, 0))[0], b - counters0.get(k, (0, 0))[1])
                            for k, (c, b) in snap["counters"].items()}
        snap["peak_at_s"] = max(0.0, snap["peak_at_s"] - t0)
        snap["timeline"] = [(t - t0, b) for t, b in snap["timeline"] if t >= t0]
        doc = build_document(snap, program=item.nodeid, argv=["pytest", item.nodeid],
                             elapsed_s=duration)
        assert self.json_dir is not None
        os.makedirs(self.json_dir, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", item.nodeid).strip("_")[:200] or "test"
        write_json(doc, os.path.join(self.json_dir, name + ".json"))

    # ---- verdicts -----------------------------------------------------------
    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item,
                                  call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
        outcome = yield
        if call.when != "call":
            return
        report: pytest.TestReport = outcome.get_result()
        r = self.results.pop(item.nodeid, None)
        if r is None:
            return
        top = max(r.lines, key=lambda e: e[2], default=None)
        report.user_properties.append(("heapline", {
            "time_s": r.duration_s, "peak_bytes": r.peak_bytes, "alloc_bytes": round(r.alloc_bytes),
            "leaked_bytes": round(r.leaked_bytes),
            "top_line": self._where(top[0], top[1]) if top else "",
            "top_alloc_bytes": round(top[2]) if top else 0}))
        if not report.passed or not r.measured:
            return
        problems = []
        m = item.get_closest_marker("limit_memory")
        if m is not None:
            limit = parse_size(_limit_arg(m))
            if r.peak_bytes > limit:
                problems.append(
                    f"Test {item.name} used {fmt_bytes(r.peak_bytes)} of memory "
                    f"(peak footprint above its start), over its limit_memory of "
                    f"{fmt_bytes(limit)}.\n" + self._top_lines(r, 2, "allocated"))
        m = item.get_closest_marker("limit_leaks")
        if m is not None:
            limit = parse_size(_limit_arg(m))
            if r.leaked_bytes > limit:
                problems.append(
                    f"Test {item.name} leaked {fmt_bytes(r.leaked_bytes)} (allocated during "
                    f"the test and still live at its end, after gc.collect(); estimated, "
                    f"sampling every {self.interval} bytes), over its limit_leaks of "
                    f"{fmt_bytes(limit)}.\n" + self._top_lines(r, 3, "still live"))
        if problems:
            report.outcome = "failed"
            report.longrepr = "\n".join(problems)

    def _where(self, path: str, line: int) -> str:
        if path.startswith("<"):
            return path
        try:
            rel = os.path.relpath(path, self.rootdir)
        except ValueError:
            rel = path
        return f"{path if rel.startswith('..') else rel}:{line}"

    def _top_lines(self, r: _Result, key: int, what: str, n: int = 5) -> str:
        from heapline.document import source_lines

        def size(e: tuple[str, int, float, float, float]) -> float:
            return e[3] if key == 3 else e[2]

        rows = sorted((e for e in r.lines if size(e) >= 1), key=lambda e: -size(e))[:n]
        if not rows:
            return "No allocating line was seen (all of it in blocks freed or not sampled)."
        out = [f"Lines that allocated the most ({what}):"]
        for path, line, alloc, live, _peak in rows:
            src = ""
            if not path.startswith("<") and line > 0:
                text = source_lines(path)
                src = text[line - 1].strip() if line <= len(text) else ""
            out.append(f"    {fmt_bytes(live if key == 3 else alloc):>11}  {self._where(path, line)}  {src[:80]}")
        return "\n".join(out)

    # ---- session-end table ----------------------------------------------------
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call":
            return
        for key, value in report.user_properties:
            if key == "heapline" and isinstance(value, dict):
                self.rows.append({"nodeid": report.nodeid, **value})

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.top <= 0 or not self.rows:
            return
        tr = terminalreporter
        tr.write_sep("=", "heapline: tests with the largest peak")
        rows = sorted(self.rows, key=lambda r: -r["peak_bytes"])[:self.top]
        tr.write_line(f"{'peak':>11} {'allocated':>11} {'leaked':>11} {'time':>8}  "
                      f"test / top line")
        for r in rows:
            tr.write_line(f"{fmt_bytes(r['peak_bytes']):>11} {fmt_bytes(r['alloc_bytes']):>11} "
                          f"{fmt_bytes(r['leaked_bytes']):>11} {r['time_s']:>7.2f}s  "
                          f"{r['nodeid']}")
            if r.get("top_line"):
                tr.write_line(f"{'':>46}  {r['top_line']} "
                              f"({fmt_bytes(r['top_alloc_bytes'])})")

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        from heapline import session as _session

        if self.session is not None and self.session.running:
            self.session.stop()
        if _session.current is self.session:
            _session.current = None


def _limit_arg(mark: pytest.Mark) -> Any:
    if mark.args:
        return mark.args[0]
    for key in ("limit", "location_limit", "size"):
        if key in mark.kwargs:
            return mark.kwargs[key]
    raise ValueError(f"@pytest.mark.{mark.name} needs a size, e.g. \"24 MB\"")
