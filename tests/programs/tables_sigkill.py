"""Moves heapline's tables into a file in the directory sys.argv[1], allocates
a known block on a marked line, prints its pid and file, and waits to be
killed (SIGKILL: nothing of heapline's Python runs after it). With a second
argument "fork", first forks a child that allocates on its own marked line
and ends with sys.exit(5). Runs under `heapline run` or on its own
(heapline.start(), in-process)."""

import os
import sys
import time

import heapline
from heapline import _core

if not heapline.is_running():  # not under `heapline run`
    heapline.start(cpu=False, seed=7)
if _core.tables_path() is None:  # (under `heapline run`, in its run directory already)
    _core.tables_to_file(sys.argv[1])
_core.tables_set_state(1)
if sys.argv[2:] == ["fork"]:
    pid = os.fork()
    if pid == 0:
        _core.reset()  # as heapline's Python does in a child
        _core.tables_set_state(1)
        child_block = bytearray(24 * 2**20)  # MARK: child-block
        sys.exit(5)
    os.waitpid(pid, 0)
    print(pid, flush=True)
block = bytearray(64 * 2**20)  # MARK: block
print(os.getpid(), _core.tables_path(), flush=True)
time.sleep(600)
