"""Four kinds of work one after another: pure Python, BLAS (native), system
calls, sleeping. With --truth, times each function alone (thread CPU time,
user/system split, wall) and prints the figures as JSON instead."""

import json
import os
import resource
import sys
import time

import numpy as np


def python_loop(n: int) -> int:
    total = 0
    for i in range(n):
        total += (i * i) % 7
    return total


MATRIX = np.random.default_rng(0).random((700, 700))


def matmul(k: int) -> float:
    c = MATRIX
    for _ in range(k):
        c = np.dot(MATRIX, MATRIX)
    return float(c[0, 0])


def syscalls(n: int) -> None:
    fd = os.open(os.devnull, os.O_WRONLY)
    for _ in range(n):
        os.write(fd, b"x")
        os.stat(os.devnull)
    os.close(fd)


def sleeper(seconds: float) -> None:
    time.sleep(seconds)


WORK = [
    ("python_loop", python_loop, 2_500_000),
    ("matmul", matmul, 25),
    ("syscalls", syscalls, 150_000),
    ("sleeper", sleeper, 0.6),
]


def main() -> None:
    if "--truth" in sys.argv:
        out = {}
        for name, fn, arg in WORK:
            r0, w0 = resource.getrusage(resource.RUSAGE_THREAD), time.perf_counter()
            fn(arg)
            r1, w1 = resource.getrusage(resource.RUSAGE_THREAD), time.perf_counter()
            out[name] = {"user": r1.ru_utime - r0.ru_utime, "system": r1.ru_stime - r0.ru_stime,
                         "wall": w1 - w0}
        print(json.dumps(out))
        return
    for _name, fn, arg in WORK:
        fn(arg)
    print("done")


if __name__ == "__main__":
    main()
