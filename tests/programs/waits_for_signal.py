"""Holds a known block, says it is ready, and waits to be ended by a signal
(tests/test_supervisor.py). Prints its pid, command line and SIGINT disposition
first, so the test can signal it and compare what it saw."""

import os
import signal
import sys
import time

held = bytearray(48 * 2**20)  # MARK: held
print("pid:", os.getpid())
with open("/proc/self/cmdline", "rb") as f:
    print("cmdline:", f.read().split(b"\0")[:-1])
print("sigint:", signal.getsignal(signal.SIGINT))
print("ready", flush=True)
if sys.argv[1:2] == ["wait"]:
    time.sleep(60)
