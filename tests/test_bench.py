"""The benchmark harness in bench/ still runs: one short round of overhead.py
on the start-up workload (heapline and tracemalloc, which need nothing from
bench/requirements.txt), its saved JSON read back, and a failing profiled run
reported as a failure.  The figures themselves are not asserted: timings
belong in docs/, not in tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux backend")

BENCH = Path(__file__).resolve().parent.parent / "bench"


def overhead(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(BENCH / "overhead.py"), *args],
                          capture_output=True, text=True, timeout=600)


def test_overhead_round_trip(tmp_path: Path) -> None:
    out = tmp_path / "o.json"
    proc = overhead("--rounds", "1", "--workload", "startup", "--tools", "heapline",
                    "tracemalloc", "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "start-up cost of heapline CPU+memory" in proc.stdout
    doc = json.loads(out.read_text())
    runs = doc["workloads"]["startup"]
    assert set(runs) == {"unprofiled", "heapline", "tracemalloc"}
    # the startup workload runs 5x the rounds; heapline wrote a profile each time
    assert len(runs["heapline"]) == 5
    assert all(r["out_bytes"] > 0 and r["maxrss_kib"] > 0 for r in runs["heapline"])
    assert all(r["out_bytes"] == 0 for r in runs["tracemalloc"])
    again = overhead("--from-json", str(out))
    assert again.returncode == 0, again.stderr
    assert "startup / heapline CPU+memory" in again.stdout


def test_overhead_reports_a_failing_run(tmp_path: Path) -> None:
    # an option heapline rejects makes every heapline run fail
    proc = overhead("--rounds", "1", "--workload", "startup", "--tools", "heapline",
                    "--config=--sampling-interval=-5")
    assert proc.returncode == 1
    assert "a run failed" in proc.stderr


def test_pyperformance_shim_runs_a_benchmark() -> None:
    pytest.importorskip("pyperformance")
    proc = subprocess.run([sys.executable, str(BENCH / "workloads" / "pyperformance_bm.py"),
                           "fannkuch", "1"], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONHASHSEED": "0"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "fannkuch: 1 loops\n"


def test_workload_instruction_counts() -> None:
    """bench/hotpath/workload.py runs (under callgrind, at tiny scales)."""
    import shutil

    if shutil.which("valgrind") is None:
        pytest.skip("valgrind is not installed")
    proc = subprocess.run([sys.executable, str(BENCH / "hotpath" / "workload.py"),
                           "--workload", "alloc_python", "--scales", "0.001", "0.002"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "heapline run --memory-only" in proc.stdout


def test_workloads_take_a_scale() -> None:
    proc = subprocess.run([sys.executable, str(BENCH / "workloads" / "alloc_python.py"), "0.001"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("alloc_python: ")
