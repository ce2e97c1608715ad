"""Multi-threaded workload for bench/overhead.py.

Four threads share the work: two run pure Python that allocates (dicts, lists,
strings) and so contend for the GIL; two sort and reduce numpy arrays, which
release the GIL, so they run alongside.  A profiler must attribute and sample
all four; its cost shows both in GIL contention and in native code.
Deterministic; prints one checksum line.  About 2 s unprofiled.
"""

from __future__ import annotations

import threading

import numpy as np

ROUNDS = 50


def python_worker(seed: int, out: list[int]) -> None:
    total = 0
    for r in range(ROUNDS):
        table = {f"k{seed}-{i}": [i, i * r, str(i)] for i in range(4_000)}
        total += sum(v[1] for v in table.values()) % 1_000_003
        words = " ".join(k for k in table if k.endswith("7")).split()
        total += len(words)
    out.append(total)


def numpy_worker(seed: int, out: list[int]) -> None:
    rng = np.random.default_rng(seed)
    total = 0
    for _ in range(ROUNDS):
        a = rng.integers(0, 1 << 30, size=400_000)
        a.sort()
        b = np.cumsum(a[::7] % 1_000)
        total += int(b[-1]) % 1_000_003
    out.append(total)


def main() -> None:
    results: list[list[int]] = [[] for _ in range(4)]
    threads = [threading.Thread(target=python_worker, args=(0, results[0])),
               threading.Thread(target=python_worker, args=(1, results[1])),
               threading.Thread(target=numpy_worker, args=(2, results[2])),
               threading.Thread(target=numpy_worker, args=(3, results[3]))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("threads_mixed checksum", sum(r[0] for r in results))


if __name__ == "__main__":
    main()
