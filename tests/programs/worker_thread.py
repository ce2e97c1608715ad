"""Allocations made by Python worker threads (tests/test_threads.py).

Phase 1: a worker allocates a 128 MiB bytearray and a 128 MiB numpy array
while the main thread waits in join().
Phase 2: the worker and the main thread build lists of 100-byte bytes objects
at the same time (released together by a barrier), the worker twice as many as
the main thread, so a mix-up between threads would show in both lines.
Prints the exact sizes as JSON.
"""

from __future__ import annotations

import json
import sys
import threading

import numpy as np

MiB = 1 << 20
SMALL = 100
N_MAIN = 500_000
N_WORKER = 2 * N_MAIN

kept: list[object] = []
barrier = threading.Barrier(2)


def big_allocations() -> None:
    kept.append(bytearray(128 * MiB))  # MARK: worker-bytearray
    kept.append(np.ones(16 * MiB))  # MARK: worker-numpy


def small_objects_in_worker() -> None:
    barrier.wait()
    kept.append([bytes(SMALL) for _ in range(N_WORKER)])  # MARK: worker-small


t = threading.Thread(target=big_allocations)
t.start()  # MARK: main-start
t.join()  # MARK: main-join

t2 = threading.Thread(target=small_objects_in_worker)
t2.start()
barrier.wait()
kept.append([bytes(SMALL) for _ in range(N_MAIN)])  # MARK: main-small
t2.join()

json.dump({"big": 128 * MiB, "small_object": sys.getsizeof(bytes(SMALL)),
           "n_main": N_MAIN, "n_worker": N_WORKER}, sys.stdout)
