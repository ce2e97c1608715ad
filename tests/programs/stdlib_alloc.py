"""Allocates mostly inside the standard library (tests/test_filtering.py):
json.loads builds its objects in json/decoder.py.

Run as `python stdlib_alloc.py --truth` (plain, no heapline), it traces the
json.loads line alone with tracemalloc and prints the exact bytes that line
allocated and kept, as JSON.
"""

from __future__ import annotations

import json
import sys
import tracemalloc

ITEMS = 250_000
TRUTH = "--truth" in sys.argv

text = "[" + ",".join(['{"key": [1, 2, 3], "name": "abcdefgh"}'] * ITEMS) + "]"  # MARK: text
if TRUTH:
    tracemalloc.start()
data = json.loads(text)  # MARK: json-loads
if TRUTH:
    json.dump({"line_bytes": tracemalloc.get_traced_memory()[0], "items": len(data)}, sys.stdout)
    tracemalloc.stop()
