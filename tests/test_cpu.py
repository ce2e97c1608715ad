"""CPU profiling against the programs' own timings.

The truth for each function is its thread's CPU time (user/system) from the
kernel, measured by the program itself around that function: in the same
profiled run where the machine's load would move a separate run's figures
(`--truth` under heapline), or in plain runs for elapsed time, which the load
does not move. heapline's figures are per-function totals from the profile."""

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


def profiled_run(tmp_path: Path, prog: str, *opts: str, args: tuple[str, ...] = ()
                 ) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """`heapline run *opts prog *args`: the finished process and its profile."""
    out = tmp_path / "p.json"
    proc = subprocess.run([sys.executable, "-m", "heapline", "run", "--no-report", "-o", str(out),
                           *opts, str(PROGRAMS / prog), *args], env=ENV, capture_output=True,
                          text=True, timeout=300, check=True)
    doc: dict[str, Any] = json.loads(out.read_text())
    return proc, doc


def profiled(tmp_path: Path, prog: str, *opts: str) -> dict[str, Any]:
    return profiled_run(tmp_path, prog, *opts)[1]


def self_timed_run(tmp_path: Path, prog: str, *opts: str) -> tuple[dict[str, Any],
                                                                    dict[str, Any]]:
    """One profiled run of the program with --truth: the figures it printed for
    its own functions, and the profile."""
    proc, doc = profiled_run(tmp_path, prog, *opts, args=("--truth",))
    return json.loads(proc.stdout), doc


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
        truth, doc = self_timed_run(tmp, "cpu_mix.py", "--cpu-only", "--cpu-interval", "0.002")
        truths.append(truth)
        docs.append(doc)
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
    last sample (cut at 3 intervals); medians of five runs (with three, one
    run that the machine disturbed twice was seen to decide it)."""
    share_errors: dict[str, list[float]] = {}
    time_errors: dict[str, list[float]] = {}
    for _ in range(5):
        want, doc = self_timed_run(tmp_path, "cpu_threads.py", "--cpu-only")
        fns = functions(doc, "cpu_threads.py")
        got = {name: cpu_of(fns.get(name)) for name in want}
        got_share, want_share = shares(got), shares(want)
        for name in want:
            share_errors.setdefault(name, []).append(got_share[name] - want_share[name])
            slack = 0.05 * want[name] + 3 * doc["cpu"]["interval_s"]
            time_errors.setdefault(name, []).append(abs(got[name] - want[name]) / slack)
    for name in share_errors:
        assert abs(sorted(share_errors[name])[2]) <= 0.05, f"{name}: {share_errors[name]}"
        assert sorted(time_errors[name])[2] <= 1.0, f"{name}: {time_errors[name]}"


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
