"""start()/stop() 100 times while threads allocate: prints exact counts of a
known allocation made once per round, and heapline's own memory before/after."""

import ctypes
import ctypes.util
import json
import threading

import heapline
from heapline import _core

LIBC = ctypes.util.find_library("c")


def libc_malloc() -> "ctypes._NamedFuncPointer":
    # looked up while hooked: dlsym hands out the hook (a pointer taken before
    # start() would call libc directly; see docs/design.md)
    m = ctypes.CDLL(LIBC).malloc
    m.restype = ctypes.c_void_p
    m.argtypes = [ctypes.c_size_t]
    return m


free = ctypes.CDLL(LIBC).free
free.argtypes = [ctypes.c_void_p]

stop = threading.Event()


def churn() -> None:
    while not stop.is_set():
        x = [bytes(100) for _ in range(100)]
        del x


def rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


threads = [threading.Thread(target=churn) for _ in range(3)]
for t in threads:
    t.start()
rss0 = rss_kib()
calls = 0
size = 0
for _ in range(100):
    heapline.start(cpu=False)
    c0 = _core.counters()["malloc"]
    # counted only while hooked: 10 calls of known size from this thread, though
    # the other threads' mallocs land in the same totals
    malloc = libc_malloc()
    own = [malloc(123457) for _ in range(10)]
    c1 = _core.counters()["malloc"]
    heapline.stop()
    for p in own:
        free(p)
    calls += int(c1[0] - c0[0] >= 10)
    size += int(c1[1] - c0[1] >= 10 * 123457)
stop.set()
for t in threads:
    t.join()
print(json.dumps({"rounds_counted": calls, "rounds_sized": size, "rss_growth_kib": rss_kib() - rss0,
                  "slots_after_stop": _core.got_slots_into_heapline()}))
