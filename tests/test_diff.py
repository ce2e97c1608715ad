"""`heapline diff BEFORE.json AFTER.json`: two runs of a program before and
after an edit that moves its lines and doubles one allocation (the truths are
the sizes the program allocates); lines matched across the edit; --fail-over;
the comparison page in a real browser; and matching rules on hand-made
documents."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from browser import Browser, need_chromium
from conftest import Heapline, Profiled, describe, heapline_cmd, linux_only, run_process

pytestmark = linux_only

MiB = 1 << 20

BEFORE = '''\
MiB = 1 << 20


def work():
    a = bytearray(16 * MiB)  # doubled in the edit
    b = bytearray(8 * MiB)  # unchanged, moved by the edit
    return len(a) + len(b)


total = work()
'''

AFTER = '''\
MiB = 1 << 20


def unrelated():
    return 0


def work():
    # a comment that moves the lines below
    a = bytearray(32 * MiB)  # doubled in the edit
    b = bytearray(8 * MiB)  # unchanged, moved by the edit
    return len(a) + len(b)


total = work()
'''


@pytest.fixture(scope="module")
def runs(heapline: Heapline, tmp_path_factory: pytest.TempPathFactory
         ) -> tuple[Profiled, Profiled, Path]:
    """The same file, profiled before and after the edit. Memory only: the
    program runs for a few milliseconds, where one CPU sample more or less on
    a line is half the run's time, and diff ranks a change by the largest of
    its shares (time, bytes, at peak), so sampled time would decide the order
    the tests check by chance."""
    where = tmp_path_factory.mktemp("diffprog")
    prog = where / "prog.py"
    prog.write_text(BEFORE)
    before = heapline.run(str(prog), cwd=where, options=["--memory-only"])
    prog.write_text(AFTER)
    after = heapline.run(str(prog), cwd=where, options=["--memory-only"])
    return before, after, where


def line_no(text: str, needle: str) -> int:
    return next(i for i, t in enumerate(text.splitlines(), 1) if needle in t)


def test_lines_are_matched_across_the_edit(runs: tuple[Profiled, Profiled, Path]) -> None:
    from heapline.compare import compare

    before, after, _ = runs
    c = compare(before.doc, after.doc)
    by_text = {x.source: x for x in c.lines}
    moved = by_text["b = bytearray(8 * MiB)  # unchanged, moved by the edit"]
    assert (moved.before_line, moved.after_line) == (line_no(BEFORE, "b = bytearray"),
                                                    line_no(AFTER, "b = bytearray"))
    assert moved.status == "moved" and moved.function == "work"
    assert moved.before.alloc_bytes == pytest.approx(8 * MiB, rel=0.01)
    assert abs(moved.d_alloc) <= 0.01 * 8 * MiB, moved
    doubled = by_text["a = bytearray(32 * MiB)  # doubled in the edit"]
    assert doubled.status == "edited"
    assert (doubled.before_line, doubled.after_line) == (line_no(BEFORE, "a = bytearray"),
                                                        line_no(AFTER, "a = bytearray"))
    assert doubled.d_alloc == pytest.approx(16 * MiB, rel=0.01)
    assert doubled.d_peak == pytest.approx(16 * MiB, rel=0.01)  # both blocks held at the peak
    assert c.ranked(c.lines)[0] is doubled, "the largest change comes first"
    # the run's peak grew by the 16 MiB (the footprint is exact; the rest of
    # the program allocates the same in both runs, within a MiB)
    assert abs(c.after.peak_bytes - c.before.peak_bytes - 16 * MiB) < MiB
    assert abs(c.after.alloc_bytes - c.before.alloc_bytes - 16 * MiB) < 2 * MiB
    fns = {x.function: x for x in c.functions}
    assert fns["work"].d_alloc == pytest.approx(16 * MiB, rel=0.01)
    assert fns["work"].status == "moved"


def diff(*args: str, cwd: Path) -> Any:
    return run_process([*heapline_cmd(), "diff", *args], cwd=cwd)


def test_terminal_output(runs: tuple[Profiled, Profiled, Path]) -> None:
    before, after, where = runs
    proc = diff(str(before.json_path), str(after.json_path), cwd=where)
    assert proc.returncode == 0, describe(proc)
    out = proc.stdout
    assert "peak footprint" in out and "Lines, largest changes first" in out
    doubled = next(ln for ln in out.splitlines() if "a = bytearray(32" in ln)
    assert f"prog.py:{line_no(AFTER, 'a = bytearray')}" in doubled
    assert f"(was {line_no(BEFORE, 'a = bytearray')})" in doubled
    assert "edited" in doubled and "+16.0 MiB" in doubled
    lines_part = out[out.index("Lines, largest"):out.index("Functions, largest")]
    first_row = [ln for ln in lines_part.splitlines() if "prog.py:" in ln][0]
    assert "a = bytearray(32" in first_row, "the doubled line comes first"


def test_fail_over(runs: tuple[Profiled, Profiled, Path]) -> None:
    before, after, where = runs
    grew = diff(str(before.json_path), str(after.json_path), "--fail-over", "10", cwd=where)
    assert grew.returncode == 1, describe(grew)
    assert re.search(r"heapline: peak footprint grew by \d+\.\d%", grew.stderr), grew.stderr
    fine = diff(str(before.json_path), str(after.json_path), "--fail-over", "1000", cwd=where)
    assert fine.returncode == 0, describe(fine)
    shrank = diff(str(after.json_path), str(before.json_path), "--fail-over", "0", cwd=where)
    assert shrank.returncode == 0, describe(shrank)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    need_chromium()
    with Browser() as b:
        yield b


def test_comparison_page(runs: tuple[Profiled, Profiled, Path], browser: Browser) -> None:
    import os

    before, after, where = runs
    out = where / "diff.html"
    proc = diff(str(before.json_path), str(after.json_path), "--html", str(out), cwd=where)
    assert proc.returncode == 0 and out.is_file(), describe(proc)
    page = browser.open(out)
    shots = os.environ.get("HEAPLINE_SCREENSHOTS")
    if shots:
        page.screenshot(Path(shots) / "diff.png", full=True)
    rows = page.eval("""[...document.querySelectorAll('#lines-table tbody tr')].map(
        tr => [...tr.children].map(td => td.textContent))""")
    first = rows[0]
    assert first[0] == (f"prog.py:{line_no(AFTER, 'a = bytearray')} "
                        f"(was {line_no(BEFORE, 'a = bytearray')})"), first
    # +16 MiB, give or take a sampled small object in one run and not the other
    assert first[1] == "edited" and any(re.fullmatch(r"\+(15\.9|16\.[01]) MiB", c)
                                        for c in first), first
    moved = next(r for r in rows if r[-1].startswith("b = bytearray"))
    assert moved[1] == "moved" and f"(was {line_no(BEFORE, 'b = bytearray')})" in moved[0]
    runs_table = page.eval("""[...document.querySelectorAll('table.runs tbody tr')].map(
        tr => [...tr.children].map(td => td.textContent))""")
    peak = next(r for r in runs_table if r[0] == "peak footprint")
    assert peak[3].startswith("+16.0 MiB") or peak[3].startswith("+15.9 MiB"), peak
    assert len(page.eval("document.querySelectorAll('#chart polyline')")) == 2
    assert page.requests == [out.as_uri()]
    assert page.console() == []


# ---- bad input: one line, exit status 2 ------------------------------------------

BAD = {
    "truncated": '{"format": "heapline-profile", "version": 1, ',
    "not-json": "not json at all",
    "not-a-profile": json.dumps({"format": "something-else", "version": 1}),
    "unknown-version": json.dumps({"format": "heapline-profile", "version": 99}),
    "empty": "",
}


@pytest.mark.parametrize("command", ["view", "diff"])
@pytest.mark.parametrize("kind", [*BAD, "missing"])
def test_bad_input(command: str, kind: str, runs: tuple[Profiled, Profiled, Path],
                   tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    if kind != "missing":
        bad.write_text(BAD[kind])
    good = str(runs[0].json_path)
    args = {"view": [str(bad)], "diff": [good, str(bad)]}[command]
    proc = run_process([*heapline_cmd(), command, *args], cwd=tmp_path)
    lines = proc.stderr.splitlines()
    assert proc.returncode == 2 and len(lines) == 1, describe(proc)
    assert lines[0].startswith("heapline: error: ") and "bad.json" in lines[0], describe(proc)
    assert "Traceback" not in proc.stderr and proc.stdout == "", describe(proc)
    if kind == "unknown-version":
        assert "version 99" in lines[0]
    assert not (tmp_path / "bad.html").exists()


def test_diff_of_a_missing_before_and_bad_options(tmp_path: Path,
                                                  runs: tuple[Profiled, Profiled, Path]) -> None:
    good = str(runs[0].json_path)
    for args in ([str(tmp_path / "nope.json"), good], [good, good, "--fail-over", "ten"],
                 [good, good, "--html", "/nonexistent/dir/d.html"], [good]):
        proc = run_process([*heapline_cmd(), "diff", *args], cwd=tmp_path)
        assert proc.returncode == 2 and len(proc.stderr.splitlines()) == 1, describe(proc)


# ---- matching rules, on hand-made documents ---------------------------------------


def doc_of(files: dict[str, list[tuple[int, str, str, int]]]) -> dict[str, Any]:
    """A profile whose files hold lines (number, function, source, bytes)."""
    out = []
    for path, lines in files.items():
        fns: dict[str, dict[str, Any]] = {}
        for n, fn, _, nbytes in lines:
            f = fns.setdefault(fn, {"name": fn, "first_line": n - 1 if fn != "<module>" else n,
                                    "last_line": n, "alloc_bytes": 0, "cpu_python_s": 0.0,
                                    "cpu_native_s": 0.0, "cpu_system_s": 0.0, "cpu_samples": 0})
            f["first_line"] = min(f["first_line"], n - 1 if fn != "<module>" else n)
            f["last_line"] = max(f["last_line"], n)
            f["alloc_bytes"] += nbytes
        out.append({"path": path, "lines": [
            {"line": n, "source": src, "alloc_bytes": b, "alloc_python_bytes": b,
             "alloc_native_bytes": 0, "alloc_samples": 1, "live_bytes": 0, "peak_bytes": b,
             "cpu_python_s": 0.0, "cpu_native_s": 0.0, "cpu_system_s": 0.0, "cpu_samples": 0}
            for n, _, src, b in lines], "functions": list(fns.values())})
    return {"format": "heapline-profile", "version": 1, "program": "p.py", "argv": ["p.py"],
            "elapsed_s": 1.0, "files": out, "sampling": {"interval_bytes": 1, "samples": 1},
            "memory": {"peak_bytes": 100, "peak_at_s": 0.5, "exit_bytes": 0, "peak_file": None,
                       "peak_line": None, "timeline": []},
            "native_threads": {"alloc_bytes": 0}, "unattributed": {"alloc_bytes": 0}}


def test_repeated_lines_keep_their_order() -> None:
    from heapline.compare import compare

    before = doc_of({"/a/p.py": [(3, "f", "x = []", 100), (5, "f", "x = []", 200)]})
    after = doc_of({"/a/p.py": [(13, "f", "x = []", 100), (15, "f", "x = []", 400)]})
    got = sorted((x.before_line, x.after_line, x.d_alloc, x.status)
                 for x in compare(before, after).lines)
    assert got == [(3, 13, 0, "moved"), (5, 15, 200, "moved")]


def test_checkouts_in_other_directories_match_by_name() -> None:
    from heapline.compare import compare

    before = doc_of({"/old/checkout/pkg/mod.py": [(3, "f", "y = g()", 100)]})
    after = doc_of({"/new/place/pkg/mod.py": [(3, "f", "y = g()", 150)]})
    for d in (before, after):
        d["files"][0]["name"] = "pkg/mod.py"
    (line,) = compare(before, after).lines
    assert line.status == "same" and line.d_alloc == 50 and line.file == "pkg/mod.py"


def test_other_functions_and_new_lines_do_not_match() -> None:
    from heapline.compare import compare

    before = doc_of({"/a/p.py": [(3, "f", "z = build()", 100)]})
    after = doc_of({"/a/p.py": [(3, "g", "z = build()", 100),
                                (9, "g", "totally_different(1, 2, 3)", 50)]})
    got = sorted((x.function, x.status) for x in compare(before, after).lines)
    assert got == [("f", "gone"), ("g", "new"), ("g", "new")]
    fns = sorted((x.function, x.status) for x in compare(before, after).functions)
    assert fns == [("f", "gone"), ("g", "new")]


def test_a_file_without_source_text_matches_by_number() -> None:
    from heapline.compare import compare

    before = doc_of({"/a/p.py": [(3, "<module>", "", 100)]})
    after = copy.deepcopy(before)
    after["files"][0]["lines"][0]["alloc_bytes"] = 300
    (line,) = compare(before, after).lines
    assert line.status == "same" and line.d_alloc == 200
