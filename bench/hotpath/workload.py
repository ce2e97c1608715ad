"""Instructions of a benchmark workload's own work, with and without heapline's
memory hooks, counted by valgrind's callgrind.

    python bench/hotpath/workload.py [--python PATH] [--workload NAME]
                                     [--scales A B] [--markdown]

Each set-up runs the workload (bench/workloads/NAME.py SCALE) at two scales;
the difference of the two instruction totals is the work between them, so
interpreter start-up and exit cancel out, and start-up is reported apart
(a script that only imports what the workload imports). The ratio is
profiled / unprofiled instructions for that same work.

Instructions are not time: an atomic add, a cache miss or a page fault costs
more than its count says. What the count does show, free of the machine's
noise, is how much work the hooks add. Only memory profiling is measured
(`heapline run --memory-only`): the CPU sampler wakes on wall-clock time,
which runs some 50 times slower under valgrind, so its share would be
overstated that much. Needs valgrind.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchkit import stats  # noqa: E402
from benchkit.callgrind import instructions, require_valgrind  # noqa: E402

WORKLOADS = Path(__file__).resolve().parent.parent / "workloads"
#: What each workload imports, for the start-up-only runs.
IMPORTS = {"numpy_work": "import numpy\n", "alloc_python": "import collections\n"}


def main() -> int:
    p = argparse.ArgumentParser(description="Instructions of a workload's work (callgrind), "
                                            "with heapline's memory hooks against without.")
    p.add_argument("--python", default=sys.executable,
                   help="interpreter with heapline installed (default: this one)")
    p.add_argument("--workload", default="numpy_work", choices=sorted(IMPORTS))
    p.add_argument("--scales", type=float, nargs=2, default=(0.1, 0.2), metavar=("A", "B"),
                   help="the two scales of the workload's round counts (default 0.1 0.2)")
    p.add_argument("--markdown", action="store_true")
    ns = p.parse_args()
    require_valgrind()
    a, b = ns.scales
    if not 0 < a < b:
        raise SystemExit("error: --scales A B needs 0 < A < B")
    script = str(WORKLOADS / f"{ns.workload}.py")
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "HEAPLINE_OPTIONS")}
    env.update(PYTHONHASHSEED="0", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
               MKL_NUM_THREADS="1")
    rows: list[list[str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "p.json")
        starter = os.path.join(tmp, "imports_only.py")
        Path(starter).write_text(IMPORTS[ns.workload])
        setups: dict[str, list[str]] = {
            "unprofiled": [ns.python],
            "heapline run --memory-only": [ns.python, "-m", "heapline", "run", "--no-report",
                                           "--memory-only", "-o", out],
        }
        work: dict[str, int] = {}
        start: dict[str, int] = {}
        for name, prefix in setups.items():
            work[name] = (instructions([*prefix, script, str(b)], env)
                          - instructions([*prefix, script, str(a)], env))
            start[name] = instructions([*prefix, starter], env)
        base_work, base_start = work["unprofiled"], start["unprofiled"]
        for name in setups:
            rows.append([name, f"{work[name] / 1e6:,.1f} M",
                         f"{work[name] / base_work:.3f}x",
                         f"{start[name] / 1e6:,.1f} M",
                         "" if name == "unprofiled" else f"{(start[name] - base_start) / 1e6:+,.1f} M"])
    print(f"{ns.workload}: work between scales {a} and {b}; start-up = a script that only "
          f"imports what it imports")
    print(stats.render_table(["set-up", "work instructions", "ratio", "start-up instructions",
                              "start-up over unprofiled"], rows, ns.markdown))
    return 0


if __name__ == "__main__":
    sys.exit(main())
