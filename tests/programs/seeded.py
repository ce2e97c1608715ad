"""Many small allocations, so that the sampled estimate depends on the random
draws (tests/test_document.py: --seed). The lists are made at their full
size first: a list that grows reallocs, and whether glibc grows a block in
place (and with how many bytes of slack) depends on the heap's layout, which
address-space randomization changes from run to run. The marked lines make
only fixed-size objects, so one seed gives one set of samples."""

from __future__ import annotations

floats: list[object] = [None] * 400_000
for i in range(400_000):
    floats[i] = i * 1.5  # MARK: floats
pairs: list[object] = [None] * 200_000
for i in range(200_000):
    pairs[i] = (i, i)  # MARK: tuples
