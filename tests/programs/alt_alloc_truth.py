"""Known allocations for tests/test_alt_allocators.py, which runs this program
under glibc's malloc and under jemalloc, mimalloc and tcmalloc preloaded.

In order:
- a 256 MiB numpy array, held to the end;
- 128 MiB from `malloc` of the C library's own handle
  (ctypes.CDLL(find_library("c"))), held to the end, and 64 MiB more the same
  way, freed at once with that handle's `free`;
- four threads, each holding a 128 MiB numpy array until all four have theirs
  (the footprint's peak: 512 MiB on top of the held blocks), then freeing it;
- Python-object churn: lists of small strings, built and dropped.

Prints as JSON the sizes it asked for and the allocator libraries mapped in
the process (their paths, from /proc/self/maps); nothing it prints depends on heapline.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import sys
import threading

import numpy as np

MiB = 1 << 20
THREADS = 4
PER_THREAD = 128 * MiB

libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.malloc.argtypes = [ctypes.c_size_t]
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
libc.free.restype = None

held = np.ones(256 * MiB // 8)  # MARK: numpy-held

libc_block = libc.malloc(128 * MiB)  # MARK: libc-held
assert libc_block, "malloc failed"
libc_tmp = libc.malloc(64 * MiB)  # MARK: libc-freed
assert libc_tmp, "malloc failed"
libc.free(libc_tmp)

all_hold = threading.Barrier(THREADS)


def worker() -> None:
    block = np.ones(PER_THREAD // 8)  # MARK: thread-alloc
    all_hold.wait()
    del block


threads = [threading.Thread(target=worker) for _ in range(THREADS)]
for t in threads:
    t.start()
for t in threads:
    t.join()

for _ in range(30):
    junk = [str(i) + "-" + str(i) for i in range(100_000)]  # MARK: churn
    del junk

with open("/proc/self/maps", encoding="utf-8") as maps:
    loaded = sorted({line.split()[-1] for line in maps
                     if any(name in line for name in ("jemalloc", "mimalloc", "tcmalloc"))})
truth = {"numpy_held": held.nbytes, "libc_held": 128 * MiB, "libc_freed": 64 * MiB,
         "threads": THREADS * PER_THREAD}
json.dump({"truth": truth, "loaded": loaded}, sys.stdout)
