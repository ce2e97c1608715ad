"""Ground-truth program for bench/accuracy.py.

Memory: each line marked `# truth: N MiB` allocates a known number of bytes
(array sizes, in native code or through Python's allocator); each line marked
`# truth: tracemalloc` builds Python objects that stay alive to the end, whose
exact size tracemalloc reports when this program runs under
`python -X tracemalloc` with --tracemalloc-out FILE (the CPU part is skipped
then: tracemalloc slows it down many times).

CPU: four functions, one after another: pure Python, native code (numpy),
system calls, and sleep.  With --cpu-truth FILE each is timed with the
thread's own CPU clock (user and system apart) and the figures written to FILE.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time

import numpy as np

MiB = 1 << 20
KEEP: list[object] = []


def known_sizes() -> None:
    a = np.ones(8 * MiB)  # truth: 64 MiB
    b = bytearray(96 * MiB)  # truth: 96 MiB
    for _ in range(80):
        c = np.zeros(MiB // 8)  # truth: 80 MiB
    d = np.arange(16 * MiB, dtype=np.int64)  # truth: 128 MiB
    e = np.empty((4096, 4096), dtype=np.float32)  # truth: 64 MiB
    del a, b, c, d, e


def python_objects() -> None:
    floats = [float(i) for i in range(3_000_000)]  # truth: tracemalloc
    strings = ["%08d" % i for i in range(1_500_000)]  # truth: tracemalloc
    pairs = [(i, -i) for i in range(1_000_000)]  # truth: tracemalloc
    KEEP.extend((floats, strings, pairs))


def python_work() -> int:
    total = 0
    for i in range(4_000_000):
        total += (i * i) % 7
    return total


def native_work() -> float:
    rng = np.random.default_rng(0)
    acc = 0.0
    for _ in range(12):
        a = rng.random(1_500_000)
        a.sort()
        acc += float(a[-1])
    return acc


def system_work() -> None:
    fd = os.open(os.devnull, os.O_WRONLY)
    for _ in range(200_000):
        os.write(fd, b"x")
        os.stat(os.devnull)
    os.close(fd)


def sleep_work() -> None:
    time.sleep(0.5)


CPU_WORK = [python_work, native_work, system_work, sleep_work]


def main() -> None:
    args = sys.argv[1:]
    cpu_out = args[args.index("--cpu-truth") + 1] if "--cpu-truth" in args else None
    tm_out = args[args.index("--tracemalloc-out") + 1] if "--tracemalloc-out" in args else None
    known_sizes()
    python_objects()
    times = {}
    for fn in [] if tm_out else CPU_WORK:  # the tracemalloc run is for memory only
        r0 = resource.getrusage(resource.RUSAGE_THREAD)
        fn()
        r1 = resource.getrusage(resource.RUSAGE_THREAD)
        times[fn.__name__] = {"user": r1.ru_utime - r0.ru_utime,
                              "system": r1.ru_stime - r0.ru_stime}
    if cpu_out:
        with open(cpu_out, "w") as f:
            json.dump(times, f)
    if tm_out:
        import tracemalloc

        if not tracemalloc.is_tracing():
            raise SystemExit("--tracemalloc-out needs python -X tracemalloc")
        snap = tracemalloc.take_snapshot().filter_traces(
            [tracemalloc.Filter(True, os.path.abspath(__file__))])
        by_line = {str(s.traceback[0].lineno): s.size for s in snap.statistics("lineno")}
        with open(tm_out, "w") as f:
            json.dump(by_line, f)
    print("ground_truth done")


if __name__ == "__main__":
    main()
