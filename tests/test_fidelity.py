"""heapline leaves the program's allocator as it would be without it.

glibc tunes itself from what the process does: freeing an mmapped chunk raises
its mmap threshold to that chunk's size and its trim threshold to twice that.
A profiler that made one such malloc/free pair at start-up once made a numpy
program run twice as fast under heapline. tests/programs/allocator_state.py
prints what the thresholds decide (is the heap's top trimmed, is a 200,000-byte
block mmapped); the truth is the same program run by plain python.
"""

from __future__ import annotations

import sys

import pytest

from conftest import Heapline, describe, linux_only, program, run_process

pytestmark = linux_only

PROG = program("allocator_state.py")

MODES = {
    "preload": [],
    "preload cpu-only": ["--cpu-only"],
    "preload memory-only": ["--memory-only"],
    "preload off": ["--off"],
    "in-process": ["--in-process"],
    "in-process cpu-only": ["--in-process", "--cpu-only"],
    "in-process off": ["--in-process", "--off"],
}


@pytest.fixture(scope="module")
def plain_state() -> str:
    proc = run_process([sys.executable, str(PROG)])
    assert proc.returncode == 0, describe(proc)
    # the probe only means something where the default thresholds hold
    assert proc.stdout.strip() == "trimmed=True mmapped=True", describe(proc)
    return proc.stdout


@pytest.mark.parametrize("mode", MODES)
def test_allocator_thresholds_unchanged(heapline: Heapline, plain_state: str, mode: str) -> None:
    profiled = heapline.run(str(PROG), options=MODES[mode])
    assert profiled.proc.stdout == plain_state, describe(profiled.proc)
