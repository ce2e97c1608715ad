"""Lines that make many small Python objects and keep them until exit
(tests/test_accuracy.py), compared with tracemalloc.

Under `heapline run`, the marked lines are profiled. Run as
`python python_objects.py --truth` (a plain run, no heapline), the program
traces each measured line (or pair of lines) alone with tracemalloc, started
just before it and stopped just after, and prints as JSON the exact bytes the
line allocated and kept. (Tracing only there, and reading the traced total
rather than grouping a snapshot by line, keeps the run to seconds; the line
runs alone, so the numbers are the same.)
"""

from __future__ import annotations

import itertools
import json
import sys
import tracemalloc

TRUTH = "--truth" in sys.argv

kept: dict[str, int] = {}


def start() -> None:
    if TRUTH:
        tracemalloc.start()


def stop(name: str) -> None:
    if TRUTH:
        kept[name] = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()


# Three million floats in one list (the list grows by appending).
start()
floats = [x * 1.5 for x in itertools.repeat(1.0, 3_000_000)]  # MARK: float-list
stop("float-list")

# Twenty thousand lists of 500 items, each grown one append at a time, no temporaries.
start()
lists = [[None for _ in itertools.repeat(None, 500)] for _ in itertools.repeat(None, 20_000)]  # MARK: appended-lists
stop("appended-lists")

# 1.1 million strings made by %-formatting (the result buffer is shrunk to fit).
start()
strings = ["%s-abcdefghij" % "12345" for _ in itertools.repeat(None, 1_100_000)]  # MARK: formatted-strings
stop("formatted-strings")

# 60000 bytearrays of 3000 bytes, then each cut to 1400 bytes (realloc to a smaller size).
start()
arrays = [bytearray(3000) for _ in itertools.repeat(None, 60_000)]  # MARK: shrink-alloc
for a in arrays: del a[1400:]  # MARK: shrink-cut
stop("shrunk-bytearrays")

if TRUTH:
    json.dump(kept, sys.stdout)
