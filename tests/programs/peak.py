"""A program whose heap footprint peaks at one known line (tests/test_accuracy.py).

A 256 MiB array is allocated and freed first; later a 512 MiB array is held
for a moment (the peak) and freed before exit. Prints, as JSON, the exact
footprint just before the big array and the array's size.
"""

from __future__ import annotations

import json
import sys

import numpy as np
from heapline import _core

MiB = 1 << 20

early = np.ones(32 * MiB)  # MARK: early-transient
del early

before = _core.footprint()[0]
big = np.ones(64 * MiB)  # MARK: peak
nbytes = big.nbytes
del big

json.dump({"before": before, "nbytes": nbytes}, sys.stdout)
