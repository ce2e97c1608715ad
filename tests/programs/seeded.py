"""Many small allocations, so that the sampled estimate depends on the random
draws (tests/test_document.py: --seed)."""

from __future__ import annotations

import itertools

floats = [x * 1.5 for x in itertools.repeat(1.0, 400_000)]  # MARK: floats
pairs = [(x, x) for x in itertools.repeat(None, 200_000)]  # MARK: tuples
