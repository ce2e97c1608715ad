"""The pytest plugin (heapline.pytest_plugin), run as users run it: `pytest
--heapline` in a subprocess on tests/programs/pytest_limits.py, whose tests
stay under their limits or go over them in known ways. Checked: exactly which
tests fail, the figures and limits in the messages and the lines they name,
the session-end table, --heapline-json, pytest-xdist, and that without
--heapline the plugin does nothing (heapline's C core is not even imported)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import MiB, describe, linux_only, marker_line, program, run_process

pytest.importorskip("numpy")

CASES = program("pytest_limits.py")
SHOULD_FAIL = {"test_python_over", "test_numpy_over", "test_thread_over", "test_leak_over"}
ALL = SHOULD_FAIL | {"test_under_limit", "test_churn_under", "test_no_leak", "test_leak_under"}


def run_pytest(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    shutil.copy(CASES, tmp_path / "test_limits.py")
    return run_process([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA",
                        "test_limits.py", *args], cwd=tmp_path)


def outcomes(out: str) -> dict[str, str]:
    found = dict((m.group(2), m.group(1)) for m in
                 re.finditer(r"^(PASSED|FAILED|ERROR) test_limits\.py::(\w+)", out, re.M))
    return found


def section(out: str, test: str) -> str:
    m = re.search(r"^_+ " + test + r" _+$(.*?)(?=^_{3,} \w|^=+ )", out, re.M | re.S)
    assert m, f"no failure section for {test}"
    return m.group(1)


def figure(text: str, verb: str) -> float:
    m = re.search(verb + r" ([0-9.]+) (B|KiB|MiB|GiB)", text)
    assert m, text
    return float(m.group(1)) * {"B": 1, "KiB": 1 << 10, "MiB": MiB, "GiB": 1 << 30}[m.group(2)]


@linux_only
def test_limits_fail_exactly_the_tests_over_them(tmp_path: Path) -> None:
    proc = run_pytest(tmp_path, "--heapline", "--heapline-json", str(tmp_path / "profiles"))
    out = proc.stdout
    got = outcomes(out)
    assert set(got) == ALL, describe(proc)
    assert {t for t, o in got.items() if o == "FAILED"} == SHOULD_FAIL, describe(proc)
    assert proc.returncode == 1, describe(proc)

    for test, marker, truth in [("test_python_over", "PYBYTES", 30_000 * 1033),
                                ("test_numpy_over", "NUMPY", 32 * MiB),
                                ("test_thread_over", "THREAD", 24 * MiB)]:
        text = section(out, test)
        used = figure(text, "used")
        # exact footprint: the known block(s) plus little else
        assert truth * 0.95 <= used <= truth * 1.1 + MiB, text
        assert "over its limit_memory of 10.0 MiB" in text, text
        first = text.split("Lines that allocated the most")[1].splitlines()[1]
        assert f"test_limits.py:{marker_line(CASES, marker)}" in first, text
    text = section(out, "test_leak_over")
    leaked = figure(text, "leaked")
    assert 4096 * 1034 * 0.8 <= leaked <= 4096 * 1034 * 1.2, text
    assert "over its limit_leaks of 1.0 MiB" in text, text
    first = text.split("Lines that allocated the most")[1].splitlines()[1]
    assert f"test_limits.py:{marker_line(CASES, 'LEAK')}" in first, text

    # the session-end table: every test, largest peak first
    table = out.split("heapline: tests with the largest peak")[1]
    order = [m.group(1) for m in re.finditer(r"test_limits\.py::(\w+)", table)]
    assert order[:3] == ["test_numpy_over", "test_python_over", "test_thread_over"], table
    assert set(order) == ALL, table
    assert f"test_limits.py:{marker_line(CASES, 'CHURN')} (400." in table, table

    saved = sorted(p.name for p in (tmp_path / "profiles").iterdir())
    assert len(saved) == len(ALL), saved
    doc = json.loads((tmp_path / "profiles" / "test_limits.py_test_numpy_over.json").read_text())
    lines = {e["line"]: e for f in doc["files"] for e in f["lines"]}
    assert lines[marker_line(CASES, "NUMPY")]["alloc_bytes"] >= 31 * MiB


@linux_only
def test_xdist_workers_profile_their_own_tests(tmp_path: Path) -> None:
    pytest.importorskip("xdist")
    proc = run_pytest(tmp_path, "--heapline", "-p", "xdist", "-n", "2")
    got = outcomes(proc.stdout)
    assert {t for t, o in got.items() if o == "FAILED"} == SHOULD_FAIL, describe(proc)
    assert {t for t, o in got.items() if o == "PASSED"} == ALL - SHOULD_FAIL, describe(proc)
    table = proc.stdout.split("heapline: tests with the largest peak")[1]
    assert set(re.findall(r"test_limits\.py::(\w+)", table)) == ALL, table


def test_without_the_flag_it_does_nothing(tmp_path: Path) -> None:
    (tmp_path / "test_quiet.py").write_text(
        "import sys\n"
        "import pytest\n\n"
        "@pytest.mark.limit_memory('1 KB')\n"
        "def test_big():\n"
        "    data = bytearray(8 << 20)\n"
        "    assert 'heapline.pytest_plugin' in sys.modules\n"
        "    assert 'heapline._core' not in sys.modules\n")
    proc = run_process([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:memray",
                        "--strict-markers", "test_quiet.py"], cwd=tmp_path)
    assert proc.returncode == 0, describe(proc)
    assert "heapline: tests with the largest peak" not in proc.stdout


def test_sizes_are_pytest_memrays() -> None:
    from heapline.pytest_plugin import parse_size

    assert parse_size("24 MB") == 24 * MiB
    assert parse_size("2KB") == 2048
    assert parse_size("1.5 GiB") == 3 << 29
    assert parse_size("100 B") == parse_size("100") == 100
    with pytest.raises(ValueError):
        parse_size("12 parsecs")
