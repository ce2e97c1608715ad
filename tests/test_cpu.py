"""CPU profiling against separately timed reference runs.

The truth for each function is its own thread CPU time (user/system) measured
by the program running that function alone without heapline, in the same test
session; heapline's figures are per-function totals from the profile."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux backend")

PROGRAMS = Path(__file__).parent / "programs"
ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}


def plain(prog: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(PROGRAMS / prog), *args], env=ENV,
                          capture_output=True, text=True, timeout=300, check=True)


def profiled(tmp_path: Path, prog: str, *opts: str) -> dict[str, Any]:
    out = tmp_path / "p.json"
    subprocess.run([sys.executable, "-m", "heapline", "run", "--no-report", "-o", str(out),
                    *opts, str(PROGRAMS / prog)], env=ENV, capture_output=True, text=True,
                   timeout=300, check=True)
    doc: dict[str, Any] = json.loads(out.read_text())
    return doc


def functions(doc: dict[str, Any], prog: str) -> dict[str, dict[str, Any]]:
    path = str((PROGRAMS / prog).resolve())
    for f in doc["files"]:
        if f["path"] == path:
            return {fn["name"]: fn for fn in f["functions"]}
    raise AssertionError(f"{prog} not in the profile: {[f['path'] for f in doc['files']]}")


def cpu_of(fn: dict[str, Any] | None) -> float:
    if fn is None:
        return 0.0
    return float(fn["cpu_python_s"] + fn["cpu_native_s"] + fn["cpu_system_s"])


NAMES = ["python_loop", "matmul", "syscalls", "sleeper"]


def median_truth(prog: str, runs: int = 3) -> dict[str, Any]:
    """Per-function figures of `runs` plain runs, median of each (machines here
    are noisy: one run's CPU times can be off by 30%)."""
    results = [json.loads(plain(prog, "--truth").stdout) for _ in range(runs)]

    def med(values: list[float]) -> float:
        return sorted(values)[len(values) // 2]

    def merge(items: list[Any]) -> Any:
        if isinstance(items[0], dict):
            return {k: merge([i[k] for i in items]) for k in items[0]}
        return med(items)

    return dict(merge(results))


@pytest.fixture(scope="module")
def truth() -> dict[str, dict[str, float]]:
    pytest.importorskip("numpy")
    return median_truth("cpu_mix.py")


@pytest.fixture(scope="module")
def self_timed(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict[str, Any]],
                                                                  list[dict[str, Any]]]:
    """Three profiled runs of the program in --truth mode: each times its own
    functions (thread CPU time from the kernel), so the profile is compared
    with the same run's figures and the machine's load, which moves the
    shares by several points from one run to the next here, cancels out.
    Sampling every 2 ms gives about 800 samples a run (a 20% share then has a
    sampling error of about 1.5 points), and makes the timer thread sample the
    main thread during the long BLAS calls, which on a loaded machine once
    called that native work Python."""
    pytest.importorskip("numpy")
    tmp = tmp_path_factory.mktemp("cpu")
    truths, docs = [], []
    for _ in range(3):
        out = tmp / "p.json"
        proc = subprocess.run([sys.executable, "-m", "heapline", "run", "--no-report", "-o",
                               str(out), "--cpu-only", "--cpu-interval", "0.002",
                               str(PROGRAMS / "cpu_mix.py"), "--truth"],
                              env=ENV, capture_output=True, text=True, timeout=300, check=True)
        truths.append(json.loads(proc.stdout))
        docs.append(json.loads(out.read_text()))
    return truths, docs


def shares(values: dict[str, float]) -> dict[str, float]:
    total = sum(values.values())
    return {k: v / total for k, v in values.items()}


def test_cpu_shares_and_kinds(
        self_timed: tuple[list[dict[str, Any]], list[dict[str, Any]]]) -> None:
    truths, docs = self_timed
    doc = docs[0]
    assert doc["profiled"] == {"cpu": True, "memory": False}
    # each function's share of the CPU time, against the same run's own
    # measure; the median error over the runs
    runs = [shares({n: cpu_of(functions(d, "cpu_mix.py").get(n)) for n in NAMES}) for d in docs]
    alone = [shares({n: t[n]["user"] + t[n]["system"] for n in NAMES}) for t in truths]
    for name in NAMES:
        errors = sorted(r[name] - a[name] for r, a in zip(runs, alone))
        detail = ", ".join(f"{r[name]:.3f} vs {a[name]:.3f}" for r, a in zip(runs, alone))
        assert abs(errors[1]) <= 0.05, f"{name}: shares (profile vs own timing) {detail}"
    fns = functions(doc, "cpu_mix.py")
    loop, mm, sc = fns["python_loop"], fns["matmul"], fns["syscalls"]
    # Python vs native is a split of user time; system time is its own column
    assert loop["cpu_python_s"] >= 0.9 * (loop["cpu_python_s"] + loop["cpu_native_s"]), loop
    assert mm["cpu_native_s"] >= 0.9 * (mm["cpu_python_s"] + mm["cpu_native_s"]), mm
    # the kernel's share of the syscall loop, within 15 points of its own
    # measure (medians over the runs)
    assert sc["cpu_system_s"] > 0
    sys_errors = sorted(
        functions(d, "cpu_mix.py")["syscalls"]["cpu_system_s"]
        / cpu_of(functions(d, "cpu_mix.py")["syscalls"])
        - t["syscalls"]["system"] / (t["syscalls"]["user"] + t["syscalls"]["system"])
        for d, t in zip(docs, truths))
    assert abs(sys_errors[1]) <= 0.15, sys_errors
    # Sleeping uses no CPU. A sample charges the CPU used since the previous
    # one to the line it finds, so the sample that finds the thread asleep may
    # carry the CPU of the work just before: at most one sampling interval
    # (cut at 3 means) of it.
    assert cpu_of(fns.get("sleeper")) <= 3 * doc["cpu"]["interval_s"] + 0.005


def test_wall_mode_shows_sleep(tmp_path: Path, truth: dict[str, dict[str, float]]) -> None:
    doc = profiled(tmp_path, "cpu_mix.py", "--cpu-only", "--wall")
    assert doc["cpu"]["wall"] is True
    fns = functions(doc, "cpu_mix.py")
    # the sleep's elapsed time, against its own in a plain run (absolute, so
    # that the other functions' times, which vary with machine load, don't enter)
    got = cpu_of(fns.get("sleeper"))
    want = truth["sleeper"]["wall"]
    interval = doc["cpu"]["interval_s"]
    assert abs(got - want) <= 0.05 * want + 3 * interval, f"sleep {got:.3f} s vs {want:.3f} s"


def test_threads_get_their_share(tmp_path: Path) -> None:
    """Each worker thread's CPU time, against the time that thread measured
    for itself in the same run (so the machine's load, which moves one
    function's time by 20% between runs here, cancels out): its share of the
    two, and its seconds, within 5% and the CPU a thread may spend after its
    last sample (cut at 3 intervals); medians of three runs."""
    share_errors: dict[str, list[float]] = {}
    time_errors: dict[str, list[float]] = {}
    for _ in range(3):
        proc = subprocess.run([sys.executable, "-m", "heapline", "run", "--no-report", "-o",
                               str(tmp_path / "p.json"), "--cpu-only",
                               str(PROGRAMS / "cpu_threads.py"), "--truth"],
                              env=ENV, capture_output=True, text=True, timeout=300, check=True)
        want = json.loads(proc.stdout)
        doc = json.loads((tmp_path / "p.json").read_text())
        fns = functions(doc, "cpu_threads.py")
        got = {name: cpu_of(fns.get(name)) for name in want}
        for name in want:
            share_errors.setdefault(name, []).append(shares(got)[name] - shares(want)[name])
            slack = 0.05 * want[name] + 3 * doc["cpu"]["interval_s"]
            time_errors.setdefault(name, []).append(abs(got[name] - want[name]) / slack)
    for name in share_errors:
        assert abs(sorted(share_errors[name])[1]) <= 0.05, f"{name}: {share_errors[name]}"
        assert sorted(time_errors[name])[1] <= 1.0, f"{name}: {time_errors[name]}"


@pytest.mark.parametrize("mode", [[], ["--cpu-only"], ["--wall"]])
def test_own_timers_and_select_unchanged(tmp_path: Path, mode: list[str]) -> None:
    want = plain("own_signals.py")
    out = tmp_path / "p.json"
    got = subprocess.run([sys.executable, "-m", "heapline", "run", "--no-report", "-o", str(out),
                          *mode, str(PROGRAMS / "own_signals.py")], env=ENV,
                         capture_output=True, text=True, timeout=120)
    assert (got.returncode, got.stdout, got.stderr) == (0, want.stdout, want.stderr)
    assert json.loads(out.read_text())["cpu"]["samples"] > 0


def test_memory_only_takes_no_cpu_samples(tmp_path: Path) -> None:
    doc = profiled(tmp_path, "own_signals.py", "--memory-only")
    assert doc["profiled"] == {"cpu": False, "memory": True}
    assert doc["cpu"]["samples"] == 0
