"""leaky.py's steps profiled in process; prints heapline.snapshot()'s leaks
(taken while profiling is still on) and the truth, as JSON."""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import heapline  # noqa: E402
import leaky  # noqa: E402

heapline.start(cpu=False)
for _ in range(3000):
    leaky.step(True)
doc = heapline.snapshot()
print(json.dumps({"leaks": doc["leaks"], "truth": sum(sys.getsizeof(b) for b in leaky.leaked)}))
