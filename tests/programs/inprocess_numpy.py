"""In-process profiling: heapline.start() in a plain interpreter, numpy
imported only after it; the profile is printed as JSON on stdout."""

import json
import sys

import heapline

heapline.start(seed=7)
import numpy as np  # noqa: E402  (imported while hooked, on purpose)

arr = np.ones(16 * 2**20)  # MARK: numpy-ones
buf = bytearray(96 * 2**20)  # MARK: bytearray
heapline.stop()
after = np.ones(8 * 2**20)  # MARK: after-stop (not profiled)
doc = heapline.snapshot()
doc["slots_after_stop"] = heapline._core.got_slots_into_heapline()
json.dump(doc, sys.stdout)
