"""Measures heapline's exact hook counters around calls into a C test library.

Run under `heapline run` as: native_calls.py LIB.so OUT.json

For each case, the calls are made in C by one function of tests/native/alloc_calls.c
(loaded with ctypes; the calls into Python's allocator through a PyDLL handle,
holding the GIL). Around that call the program reads `_core.counters()`;
the same is done around `hl_noop`, which has the same signature and is called
with the same arguments, so (delta around f) - (delta around hl_noop) is what
the C function itself did. A baseline measured before and after the case must
agree (nothing else happened in the process meanwhile), else the case is
measured again.

Then a thread with no Python thread state mallocs a known amount (charged to
the profile's native_threads bucket), checked by the test from the profile.
"""

from __future__ import annotations

import ctypes
import gc
import json
import sys
from typing import Any, Callable

from heapline import _core

Delta = dict[str, list[int]]

MAX_ATTEMPTS = 5


PYTHON_CALLS = ("pyobject_malloc", "pymem_malloc", "pymem_rawmalloc", "pyobject_calloc",
                "pyfree_all")


def load(path: str, handle: type[ctypes.CDLL] = ctypes.CDLL) -> ctypes.CDLL:
    """The library through `handle`: CDLL releases the GIL around calls, PyDLL
    (for the calls into Python's allocator) keeps it."""
    lib = handle(path)
    for name in ("noop", "malloc", "calloc", "realloc_grow", "realloc_null",
                 "posix_memalign", "aligned_alloc", "memalign", "valloc", "pvalloc",
                 "free_all", "mmap", "munmap_all", "thread_malloc", *PYTHON_CALLS):
        fn = getattr(lib, "hl_" + name)
        fn.argtypes = [ctypes.c_size_t, ctypes.c_size_t]
        fn.restype = None
    for name in ("freed_count", "freed_bytes", "unmapped_count", "unmapped_bytes",
                 "calloc_nmemb"):
        fn = getattr(lib, "hl_" + name)
        fn.argtypes = []
        fn.restype = ctypes.c_size_t
    lib.hl_errors.argtypes = []
    lib.hl_errors.restype = ctypes.c_int
    return lib


def delta(fn: Callable[[int, int], None], count: int, size: int) -> Delta:
    before = _core.counters()
    fn(count, size)
    after = _core.counters()
    return {k: [after[k][0] - before[k][0], after[k][1] - before[k][1]] for k in after}


def measure(libs: tuple[ctypes.CDLL, ctypes.CDLL], alloc: str, release: str, count: int,
            size: int) -> dict[str, Any]:
    lib = libs[1] if alloc in PYTHON_CALLS else libs[0]
    noop = lib.hl_noop
    alloc_fn = getattr(lib, "hl_" + alloc)
    release_fn = getattr(lib, "hl_" + release)
    result: dict[str, Any] = {}
    for attempt in range(1, MAX_ATTEMPTS + 1):
        base1 = delta(noop, count, size)
        got_alloc = delta(alloc_fn, count, size)
        base2 = delta(noop, count, size)
        got_release = delta(release_fn, count, size)
        base3 = delta(noop, count, size)
        result = {
            "alloc": alloc, "release": release, "count": count, "size": size,
            "base": base1, "alloc_delta": got_alloc, "release_delta": got_release,
            "freed_count": lib.hl_freed_count(), "freed_bytes": lib.hl_freed_bytes(),
            "unmapped_count": lib.hl_unmapped_count(),
            "unmapped_bytes": lib.hl_unmapped_bytes(),
            "attempts": attempt, "stable": base1 == base2 == base3,
        }
        if result["stable"]:
            break
    return result


def main() -> None:
    lib_path, out_path = sys.argv[1], sys.argv[2]
    cases: list[tuple[str, str, int, int]] = json.loads(sys.argv[3])
    thread_count, thread_size = int(sys.argv[4]), int(sys.argv[5])
    gc.disable()  # no collection may run between two counter reads
    lib = load(lib_path)
    libs = (lib, load(lib_path, ctypes.PyDLL))
    for _ in range(3):  # warm up every code path used by a measurement
        delta(lib.hl_noop, 1, 1)
        measure(libs, "malloc", "free_all", 1, 16)
        measure(libs, "pyobject_malloc", "pyfree_all", 1, 16)
    results = [measure(libs, *case) for case in cases]
    lib.hl_thread_malloc(thread_count, thread_size)  # MARK: thread-call
    gc.enable()
    with open(out_path, "w", encoding="utf-8") as fh:
        json.dump({"cases": results, "errors": lib.hl_errors(),
                   "calloc_nmemb": lib.hl_calloc_nmemb()}, fh)


main()
