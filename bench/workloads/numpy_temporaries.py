"""numpy workload for bench/overhead.py whose speed depends on the state of
glibc's allocator: arrays of 0.25-4 MiB are made and dropped in a loop. While
glibc's mmap threshold is at its default (128 KiB), each one is a fresh mmap
and munmap, with its page faults; a profiler that raised the threshold (by
freeing an mmapped chunk of its own) would make this run about twice as fast,
which overhead.py flags as a behaviour change. Deterministic; about 2-3 s
unprofiled on a 2-core dev machine.
"""

from __future__ import annotations

import numpy as np

ROUNDS = 4_000


def main(scale: float = 1.0) -> None:
    """`scale` multiplies the round count."""
    acc = 0.0
    base = np.linspace(0.0, 1.0, 1 << 19)  # 4 MiB of float64, kept
    for i in range(max(1, round(ROUNDS * scale))):
        n = 1 << (15 + i % 5)  # 32 Ki .. 512 Ki elements: 0.25 .. 4 MiB
        a = base[:n] * 1.5
        b = a + 2.0
        acc += float(b[i % n])
    print(f"numpy_temporaries: {acc:.6e}")


if __name__ == "__main__":
    import sys

    main(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0)
