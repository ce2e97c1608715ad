"""Allocation-heavy pure-Python workload for bench/overhead.py.

Short-lived dicts, lists, strings, tuples and small class instances, created
and dropped in a tight loop; a small fraction is kept alive for a while so the
heap is not entirely trivial.  Deterministic (no randomness, no I/O besides one
checksum line).  About 2-4 s unprofiled on a 2-core dev machine.
"""

from __future__ import annotations

from collections import deque


class Point:
    __slots__ = ("x", "y", "tag")

    def __init__(self, x: int, y: int, tag: str) -> None:
        self.x = x
        self.y = y
        self.tag = tag


class Record:
    def __init__(self, key: str, values: list[int]) -> None:
        self.key = key
        self.values = values
        self.meta = {"len": len(values), "key": key}


def step(i: int, keep: deque[object]) -> int:
    # short-lived dict of small ints and strings
    d = {f"k{j}": j * i for j in range(8)}
    # list and tuple built from it
    items = sorted(d.items())
    t = tuple(v for _, v in items)
    # string building
    s = "-".join(str(v) for v in t[:4]) + f"/{i:08x}"
    words = s.split("-")
    # small objects
    pts = [Point(j, i - j, words[j % len(words)]) for j in range(6)]
    rec = Record(s, [p.x + p.y for p in pts])
    # a larger, occasionally retained list / bytes buffer
    if i % 64 == 0:
        keep.append([rec, bytes(4096 + (i % 7) * 512), list(range(200))])
    total = sum(t) + len(s) + len(rec.meta) + pts[-1].y
    return total & 0xFFFF


ITERATIONS = 230_000


def main(n: int = ITERATIONS) -> None:
    keep: deque[object] = deque(maxlen=256)
    acc = 0
    for i in range(n):
        acc = (acc * 31 + step(i, keep)) & 0xFFFFFFFF
    print(f"alloc_python: {acc:08x} kept={len(keep)}")


if __name__ == "__main__":
    import sys

    # an optional scale multiplies the iterations (bench/hotpath/workload.py)
    main(max(1, round(ITERATIONS * float(sys.argv[1]))) if len(sys.argv) > 1 else ITERATIONS)
