"""Per-line estimates against known allocation sizes, at the default sampling
interval (64 KiB) with a fixed seed.

Each checked line allocates at least 64 MiB, where the estimate's relative
error is a few percent, so a 10% tolerance is several standard errors wide.
The truths come from the program (sizes it asked for, ``ndarray.nbytes``) or
from tracemalloc in a separate, unprofiled run of the same program.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest

from conftest import (
    MiB,
    SEED,
    Heapline,
    Line,
    Profiled,
    assert_within,
    describe,
    linux_only,
    marked,
    marked_or_zero,
    program,
    run_process,
)

pytest.importorskip("numpy")
pytestmark = linux_only

TRUTH = program("truth_lines.py")
OBJECTS = program("python_objects.py")
PEAK = program("peak.py")


def python_share(line: Line) -> float:
    return line["alloc_python_bytes"] / line["alloc_bytes"] if line["alloc_bytes"] else 0.0


def native_share(line: Line) -> float:
    return line["alloc_native_bytes"] / line["alloc_bytes"] if line["alloc_bytes"] else 0.0


@pytest.fixture(scope="module")
def truth_run(heapline: Heapline) -> tuple[Profiled, dict[str, int]]:
    run = heapline.run(str(TRUTH), options=["--seed", str(SEED)])
    return run, json.loads(run.proc.stdout)


# ---- truth_lines.py ---------------------------------------------------------------


def test_bytearray_line(truth_run: tuple[Profiled, dict[str, int]]) -> None:
    run, sizes = truth_run
    line = marked(run.doc, TRUTH, "bytearray")
    want = sizes["bytearray"]
    assert_within(line["alloc_bytes"], want, "bytearray alloc_bytes", run.doc)
    assert_within(line["live_bytes"], want, "bytearray live_bytes", run.doc)
    assert python_share(line) >= 0.9, f"bytearray is Python-allocator memory: {line}"


def test_numpy_ones_line(truth_run: tuple[Profiled, dict[str, int]]) -> None:
    run, sizes = truth_run
    line = marked(run.doc, TRUTH, "numpy-ones")
    want = sizes["numpy_ones"]
    assert_within(line["alloc_bytes"], want, "numpy.ones alloc_bytes", run.doc)
    assert_within(line["live_bytes"], want, "numpy.ones live_bytes", run.doc)
    assert native_share(line) >= 0.9, f"numpy array data is native memory: {line}"


def test_ctypes_malloc_line(truth_run: tuple[Profiled, dict[str, int]]) -> None:
    run, sizes = truth_run
    line = marked(run.doc, TRUTH, "ctypes-malloc")
    want = sizes["ctypes_malloc"]
    assert_within(line["alloc_bytes"], want, "libc malloc via ctypes alloc_bytes", run.doc)
    assert_within(line["live_bytes"], want, "libc malloc via ctypes live_bytes", run.doc)
    assert native_share(line) >= 0.9, f"malloc is native memory: {line}"


def test_loop_allocating_and_freeing(truth_run: tuple[Profiled, dict[str, int]]) -> None:
    run, sizes = truth_run
    line = marked(run.doc, TRUTH, "numpy-loop")
    want = sizes["numpy_loop"]
    assert_within(line["alloc_bytes"], want, "100 x 8 MiB numpy arrays, alloc_bytes", run.doc)
    assert line["live_bytes"] < 0.01 * want, f"every array was freed: {line}"
    assert native_share(line) >= 0.9, line


# ---- python_objects.py: small Python objects against tracemalloc ----------------------


@pytest.fixture(scope="module")
def objects_truth() -> dict[str, int]:
    """Bytes each measured line keeps, by tracemalloc in a plain (unprofiled) run."""
    proc = run_process([sys.executable, str(OBJECTS), "--truth"])
    assert proc.returncode == 0, describe(proc)
    truth: dict[str, int] = json.loads(proc.stdout)
    for name, size in truth.items():
        assert size >= 64 * MiB, f"the truth for {name} is too small to test: {size}"
    return truth


@pytest.fixture(scope="module")
def objects_run(heapline: Heapline) -> Profiled:
    return heapline.run(str(OBJECTS), options=["--seed", str(SEED)])


def test_float_list_live_bytes_match_tracemalloc(objects_run: Profiled,
                                                 objects_truth: dict[str, int]) -> None:
    doc = objects_run.doc
    line = marked(doc, OBJECTS, "float-list")
    want = objects_truth["float-list"]
    assert_within(line["live_bytes"], want, "list of 3M floats: live_bytes vs tracemalloc", doc)
    assert python_share(line) >= 0.9, f"floats and the list are Python-allocator memory: {line}"


def small_item_arrays(items: int) -> int:
    """Bytes of the item arrays a list passes through while it grows to `items`
    by appending and its array is a small block of Python's object allocator
    (<= 512 bytes). CPython's growth rule (Objects/listobject.c, list_resize):
    new capacity = (n + n // 8 + 6) & ~3."""
    total, capacity = 0, 0
    for n in range(1, items + 1):
        if n > capacity:
            capacity = (n + (n >> 3) + 6) & ~3
            if 8 * capacity <= 512:
                total += 8 * capacity
    return total


def test_lists_grown_by_appending(objects_run: Profiled, objects_truth: dict[str, int]) -> None:
    """Lists grown one append at a time (realloc) with no temporaries: what is
    live is their final size. Allocated is that plus the small arrays they grew
    through: a realloc of a block in malloc is charged its growth, one of a small
    block (whose old size is not visible) a fresh allocation of the new size
    (docs/profile-format.md)."""
    doc = objects_run.doc
    line = marked(doc, OBJECTS, "appended-lists")
    want = objects_truth["appended-lists"]
    assert_within(line["live_bytes"], want, "appended lists: live_bytes vs tracemalloc", doc)
    assert_within(line["alloc_bytes"], want + 20_000 * small_item_arrays(500),
                  "appended lists: alloc_bytes vs final size + small arrays grown through", doc)


def test_strings_shrunk_to_fit(objects_run: Profiled, objects_truth: dict[str, int]) -> None:
    """%-formatting writes into a larger buffer and shrinks it (realloc) to the
    string's size; only the final size is live."""
    doc = objects_run.doc
    line = marked(doc, OBJECTS, "formatted-strings")
    want = objects_truth["formatted-strings"]
    assert_within(line["live_bytes"], want, "formatted strings: live_bytes vs tracemalloc", doc)


def test_blocks_shrunk_by_realloc(objects_run: Profiled, objects_truth: dict[str, int]) -> None:
    """Bytearrays cut to less than half their size are reallocated smaller; the
    live bytes of the two lines together are the smaller size."""
    doc = objects_run.doc
    live = sum(marked_or_zero(doc, OBJECTS, m)["live_bytes"] for m in ("shrink-alloc", "shrink-cut"))
    want = objects_truth["shrunk-bytearrays"]
    assert_within(live, want, "shrunk bytearrays: live_bytes of both lines vs tracemalloc", doc)


# ---- peak.py: the footprint peak ----------------------------------------------------


@pytest.fixture(scope="module")
def peak_run(heapline: Heapline) -> tuple[Profiled, dict[str, Any]]:
    run = heapline.run(str(PEAK), options=["--seed", str(SEED)])
    return run, json.loads(run.proc.stdout)


def test_peak_bytes(peak_run: tuple[Profiled, dict[str, Any]]) -> None:
    run, info = peak_run
    memory = run.doc["memory"]
    known_peak = info["before"] + info["nbytes"]
    assert_within(memory["peak_bytes"], known_peak,
                  "memory.peak_bytes vs footprint before the big array + its size")
    # The big array was freed before exit: the drop from the peak is its size.
    assert_within(memory["peak_bytes"] - memory["exit_bytes"], info["nbytes"],
                  "memory.peak_bytes - memory.exit_bytes")


def test_peak_points_at_the_line(peak_run: tuple[Profiled, dict[str, Any]]) -> None:
    run, info = peak_run
    memory = run.doc["memory"]
    line = marked(run.doc, PEAK, "peak")
    assert memory["peak_file"] is not None and memory["peak_line"] is not None, memory
    assert (memory["peak_file"], memory["peak_line"]) == (str(PEAK), line["line"]), (
        f"peak at {memory['peak_file']}:{memory['peak_line']}, expected {PEAK}:{line['line']}")
    assert_within(line["peak_bytes"], info["nbytes"], "peak line's peak_bytes", run.doc)
    assert_within(line["alloc_bytes"], info["nbytes"], "peak line's alloc_bytes", run.doc)
    assert line["live_bytes"] < 0.01 * info["nbytes"], f"the array was freed: {line}"


def test_freed_before_the_peak_holds_nothing_at_peak(
        peak_run: tuple[Profiled, dict[str, Any]]) -> None:
    run, info = peak_run
    early = marked_or_zero(run.doc, PEAK, "early-transient")
    assert_within(early["alloc_bytes"], info["nbytes"] // 2, "early array's alloc_bytes", run.doc)
    assert early["peak_bytes"] < 0.01 * info["nbytes"], f"freed before the peak: {early}"
    assert early["live_bytes"] < 0.01 * info["nbytes"], early
