"""Per-line accuracy of heapline and Scalene against ground truth.

    python bench/accuracy.py [--runs N] [--tools heapline scalene] [--python PATH]
                             [--json FILE] [--markdown]

Runs bench/accuracy/ground_truth.py under each profiler N times (default 3)
and compares, line by line and function by function, with truth that does not
come from either profiler:

* allocation: lines of known array sizes (`# truth: N MiB` in the source), and
  lines of Python objects kept alive to the end, whose exact size tracemalloc
  reports in a separate `python -X tracemalloc` run of the same program;
* CPU: each CPU function's share of the CPU time, against the thread CPU time
  (user + system, from the kernel) the program measured of each function in
  the same run; and the Python / native / system split of each function.

Errors are medians over the runs: relative error of bytes for allocation
lines, percentage points for CPU shares.  heapline's target: at most 5% on
lines of 64 MiB or more.  Needs numpy; Scalene from bench/requirements.txt.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, NamedTuple

from benchkit import procs, stats

PROGRAM = procs.BENCH_DIR / "accuracy" / "ground_truth.py"
MiB = 1 << 20
MARK = re.compile(r"#\s*truth:\s*(tracemalloc|(\d+)\s*MiB)\s*$")
CPU_FUNCS = ["python_work", "native_work", "system_work", "sleep_work"]
TOOLS = {"heapline": "heapline", "scalene": "Scalene"}


def truth_marks() -> dict[int, int | None]:
    """line -> known bytes, or None for 'ask tracemalloc'."""
    out: dict[int, int | None] = {}
    for no, text in enumerate(PROGRAM.read_text().splitlines(), 1):
        m = MARK.search(text)
        if m:
            out[no] = None if m.group(1) == "tracemalloc" else int(m.group(2)) * MiB
    return out


def function_spans() -> dict[str, tuple[int, int]]:
    tree = ast.parse(PROGRAM.read_text())
    return {n.name: (n.lineno, n.end_lineno or n.lineno) for n in tree.body
            if isinstance(n, ast.FunctionDef)}


def run(argv: list[str], env: dict[str, str]) -> None:
    proc = subprocess.run(argv, env=env, cwd=PROGRAM.parent, capture_output=True, text=True)
    if proc.returncode != 0 or "ground_truth done" not in proc.stdout:
        raise SystemExit(f"error: {' '.join(argv)} failed ({proc.returncode}):\n"
                         f"{proc.stderr[-3000:]}")


# ---- per-tool readers: {line: bytes}, {function: (python s, native s, system s)} ----

Reading = tuple[dict[int, float], dict[int, float], dict[str, tuple[float, float, float]]]


def by_function(lines: dict[int, dict[str, Any]], spans: dict[str, tuple[int, int]],
                keys: tuple[str, str, str]) -> dict[str, tuple[float, float, float]]:
    """The three CPU figures `keys` of the lines, summed over each function's span."""
    out = {}
    for name, (a, b) in spans.items():
        inside = [ln for no, ln in lines.items() if a <= no <= b]
        out[name] = (sum(ln[keys[0]] for ln in inside), sum(ln[keys[1]] for ln in inside),
                     sum(ln[keys[2]] for ln in inside))
    return out


def read_heapline(path: Path, spans: dict[str, tuple[int, int]]) -> Reading:
    """(allocated bytes by line, live bytes at the end by line, CPU by function)"""
    doc = json.loads(path.read_text())
    lines: dict[int, dict[str, Any]] = {}
    for f in doc["files"]:
        if os.path.samefile(f["path"], PROGRAM):
            lines = {ln["line"]: ln for ln in f["lines"]}
    alloc = {no: float(ln["alloc_bytes"]) for no, ln in lines.items()}
    live = {no: float(ln["live_bytes"]) for no, ln in lines.items()}
    return alloc, live, by_function(lines, spans, ("cpu_python_s", "cpu_native_s",
                                                   "cpu_system_s"))


def read_scalene(path: Path, spans: dict[str, tuple[int, int]]) -> Reading:
    """As read_heapline; Scalene has one memory figure per line (n_malloc_mb),
    which stands for both."""
    doc = json.loads(path.read_text())
    lines: dict[int, dict[str, Any]] = {}
    for name, f in doc["files"].items():
        if os.path.exists(name) and os.path.samefile(name, PROGRAM):
            lines = {ln["lineno"]: ln for ln in f["lines"]}
    alloc = {no: ln["n_malloc_mb"] * MiB for no, ln in lines.items()}
    # Scalene gives percentages of the run; shares are all that is compared
    return alloc, alloc, by_function(lines, spans, ("n_cpu_percent_python", "n_cpu_percent_c",
                                                    "n_sys_percent"))


READERS = {"heapline": read_heapline, "scalene": read_scalene}


def tool_argv(tool: str, python: str, out: Path, cpu_truth: Path) -> list[str]:
    prog = [str(PROGRAM), "--cpu-truth", str(cpu_truth)]
    if tool == "heapline":
        return [python, "-m", "heapline", "run", "--no-report", "-o", str(out), *prog]
    return [python, "-m", "scalene", "run", "-o", str(out), prog[0], "---", *prog[1:]]


def shares(values: dict[str, float]) -> dict[str, float]:
    total = sum(values.values()) or 1.0
    return {k: v / total for k, v in values.items()}


class Run(NamedTuple):
    alloc: dict[int, float]  # allocated bytes by line
    live: dict[int, float]  # bytes still live at the end, by line
    cpu: dict[str, tuple[float, float, float]]  # (python, native, system) by function
    truth: dict[str, dict[str, float]]  # the run's own CPU times by function


def main() -> int:
    p = argparse.ArgumentParser(description="Per-line allocation and CPU accuracy of heapline "
                                            "and Scalene against ground truth.")
    p.add_argument("--runs", type=int, default=3, help="runs per profiler (default 3)")
    p.add_argument("--tools", nargs="+", choices=list(TOOLS), default=list(TOOLS))
    p.add_argument("--python", default=sys.executable)
    p.add_argument("--json", dest="json_path", metavar="FILE", help="also write the figures")
    p.add_argument("--markdown", action="store_true")
    ns = p.parse_args()
    env = procs.bench_env()
    versions, _, have = procs.probe(ns.python, env, ["numpy", *ns.tools])
    if "numpy" not in have:
        raise SystemExit("error: numpy is needed")
    tools = [t for t in ns.tools if t in have]
    for t in set(ns.tools) - set(tools):
        print(f"# skipped {t}: not importable by {ns.python}")
    print(f"# accuracy, {versions}; {stats.machine()}; {ns.runs} runs per profiler")
    marks, spans = truth_marks(), function_spans()

    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        tm = tmp / "tracemalloc.json"
        run([ns.python, "-X", "tracemalloc", str(PROGRAM), "--tracemalloc-out", str(tm)], env)
        measured = json.loads(tm.read_text())
        truth_bytes = {no: float(b if b is not None else measured.get(str(no), 0))
                       for no, b in marks.items()}
        results: dict[str, list[Run]] = {t: [] for t in tools}
        for r in range(ns.runs):
            for tool in tools:
                out, cpu_truth = tmp / f"{tool}.json", tmp / "cpu_truth.json"
                run(tool_argv(tool, ns.python, out, cpu_truth), env)
                alloc, live, cpu = READERS[tool](out, spans)
                results[tool].append(Run(alloc, live, cpu, json.loads(cpu_truth.read_text())))
            print(f"# round {r + 1} of {ns.runs} done", flush=True)

    report: dict[str, Any] = {"versions": versions, "machine": stats.machine(), "runs": ns.runs}
    worst = memory_table(results, marks, truth_bytes, ns.markdown, report)
    cpu_tables(results, ns.markdown, report)
    print()
    for tool in tools:
        verdict = ("met" if worst[tool] <= 0.05 else "NOT met") if tool == "heapline" else ""
        print(f"* {TOOLS[tool]}: largest median error on lines of 64 MiB or more "
              f"{worst[tool] * 100:.1f}%" + (f" (target <= 5%: {verdict})" if verdict else ""))
    report["worst_line_error_64mib"] = worst
    if ns.json_path:
        Path(ns.json_path).write_text(json.dumps(report, indent=1) + "\n")
    return 0


def memory_table(results: dict[str, list[Run]], marks: dict[int, int | None],
                 truth_bytes: dict[int, float], markdown: bool,
                 report: dict[str, Any]) -> dict[str, float]:
    """Known sizes are compared with allocated bytes; tracemalloc's figures, the
    size of objects alive at the end, with live bytes at the end (allocated
    bytes also count the temporaries a line makes and frees, such as the int
    of each loop turn, which tracemalloc's snapshot cannot see)."""
    src = PROGRAM.read_text().splitlines()
    rows = []
    worst = {t: 0.0 for t in results}
    report["lines"] = {}
    for no, truth in truth_bytes.items():
        kind = "allocated" if marks[no] is not None else "live at end"
        cells = [f"{no}: {src[no - 1].split('#')[0].strip()}", kind, f"{truth / MiB:.1f}"]
        entry: dict[str, Any] = {"truth_bytes": truth, "compared": kind}
        for tool, runs in results.items():
            got = [(r.alloc if marks[no] is not None else r.live).get(no, 0.0) for r in runs]
            err = statistics.median(abs(g - truth) / truth for g in got)
            if truth >= 64 * MiB:
                worst[tool] = max(worst[tool], err)
            cells += [f"{statistics.median(got) / MiB:.1f}", f"{err * 100:.1f}%"]
            entry[tool] = {"median_bytes": statistics.median(got), "median_rel_error": err}
        report["lines"][str(no)] = entry
        rows.append(cells)
    headers = ["line", "compared", "truth MiB"]
    for tool in results:
        headers += [f"{TOOLS[tool]} MiB", f"{TOOLS[tool]} error"]
    print("\nMemory per line: known sizes against allocated bytes, tracemalloc's live "
          "objects against live bytes at the end (Scalene: its one per-line figure, "
          "n_malloc_mb, for both); medians over the runs, error = median |got - truth| / "
          "truth:\n")
    print(stats.render_table(headers, rows, markdown))
    return worst


def cpu_tables(results: dict[str, list[Run]], markdown: bool, report: dict[str, Any]) -> None:
    rows = []
    report["cpu_shares"] = {}
    for name in CPU_FUNCS:
        for tool, runs in results.items():
            got = [shares({n: sum(r.cpu[n]) for n in CPU_FUNCS})[name] for r in runs]
            want = [shares({n: r.truth[n]["user"] + r.truth[n]["system"]
                            for n in CPU_FUNCS})[name] for r in runs]
            err = statistics.median(abs(g - w) for g, w in zip(got, want))
            rows.append([f"{name} / {TOOLS[tool]}", f"{statistics.median(want) * 100:.1f}%",
                         f"{statistics.median(got) * 100:.1f}%", f"{err * 100:.1f} pts"])
            report["cpu_shares"][f"{name}/{tool}"] = {
                "truth": statistics.median(want), "got": statistics.median(got),
                "median_error_points": err * 100}
    print("\nShare of CPU time per function (truth: the same run's own thread CPU clock; "
          "error in percentage points, median over the runs):\n")
    print(stats.render_table(["function / profiler", "truth share", "profiler's share",
                              "error"], rows, markdown))
    rows = []
    report["cpu_split"] = {}
    for name in CPU_FUNCS[:3]:
        for tool, runs in results.items():
            split = [tuple(x / (sum(r.cpu[name]) or 1.0) for x in r.cpu[name]) for r in runs]
            sys_truth = statistics.median(
                r.truth[name]["system"] / ((r.truth[name]["user"] + r.truth[name]["system"])
                                           or 1.0) for r in runs)
            med = [statistics.median(s[i] for s in split) for i in range(3)]
            rows.append([f"{name} / {TOOLS[tool]}", f"{med[0] * 100:.0f}%",
                         f"{med[1] * 100:.0f}%", f"{med[2] * 100:.0f}%",
                         f"{sys_truth * 100:.0f}%"])
            report["cpu_split"][f"{name}/{tool}"] = {"python": med[0], "native": med[1],
                                                     "system": med[2], "system_truth": sys_truth}
    print("\nPython / native / system split of each function's CPU time (medians; system "
          "truth: the kernel's count for that function in the same run; python_work is "
          "all Python and native_work nearly all native by construction):\n")
    print(stats.render_table(["function / profiler", "python", "native", "system",
                              "system (truth)"], rows, markdown))


if __name__ == "__main__":
    sys.exit(main())
