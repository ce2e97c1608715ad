"""Instructions per hooked allocation, counted by valgrind's callgrind.

    python bench/hotpath/run.py [--python PATH] [--size BYTES] [--markdown]

Native: hotpath.c does N pairs of malloc(SIZE) + free, unhooked, with
libheapline.so preloaded, and with it loaded in-process (import slots
patched).  Python: a loop that creates and drops one small object (`bytes(40)`),
one pymalloc allocation and one free per iteration (`itertools.repeat`, not
`range`, whose ints are allocations too on 3.11), plain, under `heapline run
--memory-only` (preload) and between heapline.start() and stop()
(in-process).  Before the loop, the object's size class is given pools
that are half used (2,000 objects made, every other one dropped), so the
loop's allocation and free never fill or empty a pool: otherwise whether
they do depends on how many objects of that size the process happened to
hold when the loop began (heapline's own imports change it), and pymalloc's
paths for a pool that fills or empties cost 10-20 instructions more (or
less) per iteration, which is the heap's state, not the hooks' cost.  Each set-up runs twice with different N, and the per-iteration
cost is the difference of the instruction totals divided by the difference of
N, so interpreter start-up and exit cancel out.  Sampling is on at heapline's
default interval, so the rare sampled path is in the average.

"in libheapline" is the part of the hooked figure executed in libheapline.so
itself (callgrind's per-function attribution of the same runs): the hooks'
own cost.  The rest of "over unhooked" happens elsewhere: CPython calls a
custom allocator through a function pointer (3.15 inlines pymalloc into
PyObject_Calloc/PyObject_Free otherwise), pymalloc's pools are in another
state than in the plain run (despite the conditioning above, a few
instructions), and `heapline run` executes the script with exec() in a
namespace of its own.

Instruction counts do not depend on machine load: a rerun gives the same
figures.  Needs valgrind and a C compiler (CC, default cc).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchkit import stats  # noqa: E402
from benchkit.callgrind import per_unit, per_unit_in, require_valgrind  # noqa: E402

HERE = Path(__file__).resolve().parent
LIBRARY = "libheapline.so"

PY_LOOP = ("from itertools import repeat\n"
           "keep = [bytes(40) for _ in range(2000)]\n"
           "del keep[::2]\n"
           "n = {n}\n"
           "for _ in repeat(None, n):\n"
           "    b = bytes(40)\n")
PY_INPROCESS = "import heapline\nheapline.start(cpu=False)\n" + PY_LOOP + "heapline.stop()\n"


def main() -> int:
    p = argparse.ArgumentParser(description="Instructions per hooked malloc+free pair "
                                            "(callgrind), hooked against unhooked.")
    p.add_argument("--python", default=sys.executable,
                   help="interpreter with heapline installed (default: this one)")
    p.add_argument("--size", type=int, default=64, help="bytes per native malloc (default 64)")
    p.add_argument("--markdown", action="store_true")
    ns = p.parse_args()
    require_valgrind()
    pkg = subprocess.run([ns.python, "-c", "import heapline, os; "
                          "print(os.path.dirname(os.path.abspath(heapline.__file__)))"],
                         capture_output=True, text=True)
    if pkg.returncode != 0:
        raise SystemExit(f"error: heapline is not importable with {ns.python}")
    lib = os.path.join(pkg.stdout.strip(), "libheapline.so")
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "HEAPLINE_OPTIONS")}
    env["PYTHONHASHSEED"] = "0"  # the same dict layouts, so the same instructions, each run
    rows: list[list[str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        exe = os.path.join(tmp, "hotpath")
        cc = os.environ.get("CC", "cc")
        subprocess.run([cc, "-std=c11", "-O2", "-Wall", "-Wextra", "-Werror",
                        str(HERE / "hotpath.c"), "-o", exe, "-ldl"], check=True)
        pre = {**env, "LD_PRELOAD": lib}
        n1, n2 = 100_000, 1_100_000
        native = {
            "plain": (per_unit(lambda n: ([exe, "plain", str(n), str(ns.size)], env), n1, n2), 0.0),
            "preload": per_unit_in(lambda n: ([exe, "preload", str(n), str(ns.size)], pre),
                                   n1, n2, LIBRARY),
            "in-process": per_unit_in(
                lambda n: ([exe, "inprocess", str(n), str(ns.size), lib], env), n1, n2, LIBRARY),
        }
        base = native["plain"][0]
        for mode, (v, inside) in native.items():
            rows.append([f"native malloc({ns.size}) + free, {mode}", f"{v:.1f}",
                         "" if mode == "plain" else f"{v - base:+.1f}",
                         "" if mode == "plain" else f"{inside:.1f}"])

        script = os.path.join(tmp, "loop.py")
        inproc = os.path.join(tmp, "loop_inprocess.py")
        m1, m2 = 20_000, 220_000

        def write(path: str, text: str, n: float) -> str:
            Path(path).write_text(text.format(n=int(n)))
            return path

        py = {
            "plain": (per_unit(
                lambda n: ([ns.python, write(script, PY_LOOP, n)], env), m1, m2), 0.0),
            "preload (heapline run --memory-only)": per_unit_in(
                lambda n: ([ns.python, "-m", "heapline", "run", "--no-report", "--memory-only",
                            "-o", os.path.join(tmp, "p.json"), write(script, PY_LOOP, n)], env),
                m1, m2, LIBRARY),
            "in-process (heapline.start)": per_unit_in(
                lambda n: ([ns.python, write(inproc, PY_INPROCESS, n)], env), m1, m2, LIBRARY),
        }
        base = py["plain"][0]
        for mode, (v, inside) in py.items():
            rows.append([f"Python allocator pair (bytes(40) made and dropped), {mode}", f"{v:.1f}",
                         "" if mode == "plain" else f"{v - base:+.1f}",
                         "" if mode == "plain" else f"{inside:.1f}"])
    print(stats.render_table(["set-up", "instructions / iteration", "over unhooked",
                              "in libheapline"], rows, ns.markdown))
    return 0


if __name__ == "__main__":
    sys.exit(main())
