"""Leak suspects: lines whose live memory grew steadily over the run.

The core gives, per line, the sampled blocks still live, counted by the time
they were allocated in equal bins of the profiled period
(``_core.live_history``). Memory that a line leaks steadily is still live
from all over the run: the allocation times of its live blocks are spread
evenly over the period. A cache filled once and held has them from one
moment; churn (allocate, use, free) only from the last moments before the
snapshot. So a line is a suspect when its live blocks' times are close to
uniform over the period, measured by the Kolmogorov-Smirnov distance D
between their distribution and the uniform one (0: perfectly even, 1: all
at one end). With n live sampled blocks:

- reported when n >= MIN_BLOCKS and D <= MAX_DISTANCE;
- confidence = (1 - D / MAX_DISTANCE) ** 0.5 * (1 - exp(-n / 16)), in [0, 1]:
  how evenly spread, and how many samples back it (a steady leak of n
  samples has D about 0.9 / sqrt(n));
- growth_bytes: the estimated bytes of those live blocks (sampled estimate,
  relative error about sqrt(interval / bytes)).

Documented in docs/profile-format.md ("leaks").
"""

from __future__ import annotations

import math

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from typing import Any

#: Fewer live samples than this say nothing about a trend.
MIN_BLOCKS = 8
#: Largest KS distance from even growth that is still reported: live blocks
#: from only the second half of the run give 0.5, from one moment nearly 1.
MAX_DISTANCE = 0.35

History = tuple[str, int, int, float, "Sequence[int]", "Sequence[float]"]


def distance_from_uniform(counts: Sequence[int]) -> float:
    """KS distance between the binned allocation times and even spread."""
    n = sum(counts)
    if n <= 0:
        return 1.0
    k = len(counts)
    d, cum = 0.0, 0
    for i, c in enumerate(counts):
        # the empirical CDF jumps inside the bin: compare both ends
        d = max(d, abs(cum / n - i / k))
        cum += c
        d = max(d, abs(cum / n - (i + 1) / k))
    return d


def find_leaks(history: Iterable[History]) -> list[dict[str, Any]]:
    """The `leaks` array of a document from ``_core.live_history`` rows,
    most confident first."""
    out: list[dict[str, Any]] = []
    for path, line, blocks, nbytes, counts, _bin_bytes in history:
        if path.startswith("<") and path.endswith(">") or blocks < MIN_BLOCKS:
            continue  # pseudo-sites (<native thread>, <unattributed>)
        d = distance_from_uniform(counts)
        if d > MAX_DISTANCE:
            continue
        confidence = math.sqrt(1.0 - d / MAX_DISTANCE) * (1.0 - math.exp(-blocks / 16.0))
        out.append({"path": path, "line": line, "growth_bytes": max(0, round(nbytes)),
                    "confidence": round(confidence, 3), "samples": blocks})
    out.sort(key=lambda e: (-e["confidence"], -e["growth_bytes"]))
    return out
