"""numpy workload for bench/overhead.py.

Allocates arrays of varied sizes (small: tens of elements, medium: ~10^4,
large: ~10^6-10^7 elements), runs elementwise arithmetic, ufuncs, fancy
indexing, a few reductions and a small matrix product.  Deterministic (fixed
seed).  Run with OPENBLAS_NUM_THREADS=1 (bench/overhead.py sets it).  About
2-4 s unprofiled on a 2-core dev machine.
"""

from __future__ import annotations

import numpy as np


def small(rng: np.random.Generator, rounds: int) -> float:
    acc = 0.0
    for i in range(rounds):
        a = rng.random(16 + i % 48)
        b = np.arange(a.size, dtype=np.float64)
        c = a * b + 1.0
        acc += float(c.sum()) + float(np.maximum(a, 0.5).mean())
    return acc


def medium(rng: np.random.Generator, rounds: int) -> float:
    acc = 0.0
    for i in range(rounds):
        n = 8_000 + (i % 9) * 1_000
        x = rng.standard_normal(n)
        y = np.sqrt(np.abs(x)) * np.sin(x) + x**2
        idx = np.argsort(y)[: n // 10]
        z = np.concatenate([y[idx], x[::3]])
        acc += float(z.std()) + float(np.cumsum(z)[-1])
    return acc


def large(rng: np.random.Generator, rounds: int) -> float:
    acc = 0.0
    for i in range(rounds):
        n = 1_000_000 * (1 + i % 6)
        x = rng.random(n, dtype=np.float64)
        y = np.exp(-x) * (x + 2.0) - np.log1p(x)
        mask = y > y.mean()
        w = np.where(mask, y, 0.0).astype(np.float32)
        acc += float(w.sum()) + float(np.count_nonzero(mask))
        m = x[: 250_000].reshape(500, 500)
        acc += float((m @ m.T).trace())
    return acc


def main(scale: float = 1.0) -> None:
    """`scale` multiplies every round count (bench/hotpath/workload.py runs
    short versions under callgrind)."""
    rng = np.random.default_rng(12345)

    def rounds(n: int) -> int:
        return max(1, round(n * scale))

    total = small(rng, rounds(20_000)) + medium(rng, rounds(1_000)) + large(rng, rounds(12))
    print(f"numpy_work: {total:.6e}")


if __name__ == "__main__":
    import sys

    main(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0)
