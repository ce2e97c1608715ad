"""In-process profiling of a module that uses glibc's malloc while another
allocator is the process's (tests/test_alt_allocators.py).

Run as: alt_alloc_deepbind.py LIB.so (tests/native/alloc_calls.c built), with
or without an allocator in LD_PRELOAD. The library is loaded with
RTLD_DEEPBIND, so its own import slots bind to the C library's definitions
first: glibc's malloc and free even under jemalloc. It allocates before
heapline.start(), frees those blocks and allocates new ones while hooked, and
frees them after stop(). Prints the malloc and free counter deltas of the
hooked part as JSON.
"""

from __future__ import annotations

import ctypes
import json
import os
import sys

import heapline
from heapline import _core

MiB = 1 << 20

lib = ctypes.CDLL(sys.argv[1], mode=os.RTLD_DEEPBIND | os.RTLD_LOCAL)
for name in ("hl_malloc", "hl_free_all"):
    getattr(lib, name).argtypes = [ctypes.c_size_t, ctypes.c_size_t]
    getattr(lib, name).restype = None
lib.hl_errors.argtypes = []
lib.hl_errors.restype = ctypes.c_int

lib.hl_malloc(4, 8 * MiB)  # before start(): from glibc's heap
heapline.start(cpu=False)
before = _core.counters()
lib.hl_free_all(0, 0)  # through the patched slots: back to glibc's heap
lib.hl_malloc(2, 16 * MiB)
after = _core.counters()
heapline.stop()
lib.hl_free_all(0, 0)

json.dump({"errors": lib.hl_errors(),
           "counters": {k: [after[k][0] - before[k][0], after[k][1] - before[k][1]]
                        for k in ("malloc", "free")}}, sys.stdout)
