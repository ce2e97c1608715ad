"""What following child processes costs (`heapline run` with and without
--no-children, against the unprofiled program), in one invocation, interleaved:

- start-up per child: a program that runs N `python -c pass` children one after
  another; (profiled run - --no-children run) / N is what a child's own
  profiling costs it, and (profiled - unprofiled) / N what heapline costs per
  child in all (the preload included);
- 200 short-lived children: `multiprocessing.Pool(2, maxtasksperchild=1)`
  over 200 tiny tasks (fork and spawn), profiled against unprofiled, per child;
- the merge: how long making one profile from the run directory of the 200
  children takes (collect, merge, document), measured in this process on a
  directory kept with --keep-run-dir.

Usage: python bench/children.py [--python PY] [--rounds 5] [--children 50]
Prints a markdown table; times are medians of the rounds.
"""

from __future__ import annotations

import argparse
import glob
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
MANY = os.path.join(HERE, "..", "tests", "programs", "children.py")

SEQUENTIAL = """
import subprocess, sys
for _ in range(int(sys.argv[1])):
    subprocess.run([sys.executable, "-c", "pass"], check=True)
"""


def timed(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--children", type=int, default=50, help="sequential children per run")
    args = ap.parse_args()
    py = args.python
    hl = [py, "-m", "heapline", "run", "--no-report", "-o", os.devnull]
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, TMPDIR=tmp)
        script = os.path.join(tmp, "sequential.py")
        with open(script, "w") as f:
            f.write(SEQUENTIAL)
        n = str(args.children)
        cases = {
            "seq plain": [py, script, n],
            "seq heapline --no-children": [*hl, "--no-children", script, n],
            "seq heapline": [*hl, script, n],
        }
        for method in ("fork", "spawn"):
            cases[f"pool {method} plain"] = [py, MANY, "many", "200", method]
            cases[f"pool {method} heapline"] = [*hl, MANY, "many", "200", method]
        times: dict[str, list[float]] = {k: [] for k in cases}
        for r in range(args.rounds):
            for name, cmd in cases.items():
                times[name].append(timed(cmd, env))
            print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
        med = {k: statistics.median(v) for k, v in times.items()}

        # the merge of 200 children's parts, timed in a process of the same Python
        keep = [py, "-m", "heapline", "run", "--no-report", "--keep-run-dir", "-o", os.devnull,
                MANY, "many", "200", "fork"]
        subprocess.run(keep, check=True, env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        [run_dir] = glob.glob(os.path.join(tmp, "heapline-*"))
        merge_code = (
            "import sys, time\n"
            "from heapline.merge import collect, merge\n"
            "from heapline.document import from_raw\n"
            "best = 1e9\n"
            "for _ in range(5):\n"
            "    t0 = time.perf_counter()\n"
            "    parts, _ = collect(sys.argv[1])\n"
            "    doc = from_raw(merge(parts))\n"
            "    best = min(best, time.perf_counter() - t0)\n"
            "print(best, len(doc['processes']))\n")
        out = subprocess.run([py, "-c", merge_code, run_dir], check=True, capture_output=True,
                             text=True, env=env).stdout.split()
        merge_s, nproc = float(out[0]), int(out[1])

    k = args.children
    print(f"| measure | value |\n|---|---|")
    print(f"| start-up per child, its own profiling (vs --no-children) | "
          f"{(med['seq heapline'] - med['seq heapline --no-children']) / k * 1000:+.1f} ms |")
    print(f"| start-up per child, all of heapline (vs unprofiled) | "
          f"{(med['seq heapline'] - med['seq plain']) / k * 1000:+.1f} ms |")
    print(f"| unprofiled child start-up (python -c pass) | "
          f"{med['seq plain'] / k * 1000:.1f} ms |")
    for method in ("fork", "spawn"):
        plain, prof = med[f"pool {method} plain"], med[f"pool {method} heapline"]
        print(f"| Pool({method}, maxtasksperchild=1), 200 children: unprofiled / heapline | "
              f"{plain:.2f} s / {prof:.2f} s ({(prof - plain) / 200 * 1000:+.1f} ms per child) |")
    print(f"| merge of {nproc} processes' parts into one profile | {merge_s * 1000:.0f} ms |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
