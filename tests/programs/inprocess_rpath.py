"""Loads, while hooked, a library (argv[1]) that dlopens its dependency by bare
name, found only through its RUNPATH ($ORIGIN/deps); prints the malloc bytes
counted around its call and whether it worked."""

import ctypes
import json
import sys

import heapline
from heapline import _core

heapline.start(cpu=False)
lib = ctypes.CDLL(sys.argv[1])
lib.user_load_and_alloc.restype = ctypes.c_void_p
lib.user_load_and_alloc.argtypes = [ctypes.c_size_t]
before = _core.counters()["malloc"]
p = lib.user_load_and_alloc(5_000_000)
after = _core.counters()["malloc"]
heapline.stop()
print(json.dumps({"loaded": bool(p), "malloc_bytes": after[1] - before[1],
                  "slots_after_stop": _core.got_slots_into_heapline()}))
