"""Lines with a known allocation size, for tests/test_accuracy.py.

Each marked line allocates a known number of bytes (at least 64 MiB) through
one kind of allocator. Everything is kept alive until exit, except the loop,
which frees each array right away.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import sys

import numpy as np

MiB = 1 << 20

libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.malloc.argtypes = [ctypes.c_size_t]
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
libc.free.restype = None

buffer = bytearray(128 * MiB)  # MARK: bytearray
ones = np.ones(16 * MiB)  # MARK: numpy-ones
block = libc.malloc(96 * MiB)  # MARK: ctypes-malloc
for _ in range(100): np.ones(MiB)  # MARK: numpy-loop

assert block, "malloc failed"
json.dump({"bytearray": len(buffer), "numpy_ones": ones.nbytes, "ctypes_malloc": 96 * MiB,
           "numpy_loop": 100 * MiB * np.dtype(np.float64).itemsize}, sys.stdout)
