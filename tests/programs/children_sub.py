"""Started by children.py as a separate Python program: allocates argv[1] MiB
with numpy (when installed; else with bytearray) on one marked line."""

import sys

try:
    import numpy
except ImportError:
    numpy = None

n = int(sys.argv[1]) * 2**20
if numpy is not None:
    data = numpy.ones(n, dtype=numpy.uint8)  # MARK: sub
else:
    data = bytearray(n)  # MARK: sub-bytes
print("sub", int(data.sum()) if numpy is not None else len(data))
sys.exit(4)
