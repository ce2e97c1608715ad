"""Exact native hook counters, checked against calls made by a C test library.

tests/native/alloc_calls.c is compiled here and called from
tests/programs/native_calls.py under `heapline run`. The program records the
change of `_core.counters()` around each C function and around an empty C
function of the same signature; the difference must be exactly the calls the
C function made, and nothing else (no other hook, no py_* hook, moves).
"""

from __future__ import annotations

import json
import mmap
from pathlib import Path
from typing import Any

import pytest

from conftest import MiB, SEED, Heapline, Profiled, assert_within, linux_only, marked_or_zero, program

pytestmark = linux_only

PROG = program("native_calls.py")

# (allocating function, releasing function, count, size); sizes are chosen
# neither page- nor power-of-two-sized, and both below and above the default
# sampling interval (64 KiB) so that sampled and unsampled calls are counted.
CASES: list[tuple[str, str, int, int]] = [
    ("malloc", "free_all", 1000, 24),
    ("malloc", "free_all", 40, 100_003),
    ("calloc", "free_all", 200, 1_001),
    ("calloc", "free_all", 8, 333_333),
    ("realloc_grow", "free_all", 100, 5_000),
    ("realloc_grow", "free_all", 8, 300_001),
    ("realloc_null", "free_all", 100, 777),
    ("posix_memalign", "free_all", 100, 1_000),
    ("posix_memalign", "free_all", 8, 200_000),
    ("aligned_alloc", "free_all", 100, 64 * 20),
    ("memalign", "free_all", 100, 3_000),
    ("valloc", "free_all", 50, 10_000),
    ("pvalloc", "free_all", 50, 10_000),
    ("mmap", "munmap_all", 20, 3 * 4096 + 5),
    ("mmap", "munmap_all", 4, 8 * MiB + 1),
    # Python's allocator domains, on each side of pymalloc's small-request
    # limit (512 bytes; 0 bytes goes to PyMem_RawMalloc as well)
    ("pyobject_malloc", "pyfree_all", 1000, 0),
    ("pyobject_malloc", "pyfree_all", 1000, 1),
    ("pyobject_malloc", "pyfree_all", 1000, 512),
    ("pyobject_malloc", "pyfree_all", 100, 513),
    ("pymem_malloc", "pyfree_all", 1000, 24),
    ("pymem_rawmalloc", "pyfree_all", 100, 100),
    ("pyobject_calloc", "pyfree_all", 1000, 100),
    ("pyobject_calloc", "pyfree_all", 100, 1_000),
]

PYTHON_CALLS = ("pyobject_malloc", "pymem_malloc", "pymem_rawmalloc", "pyobject_calloc")

THREAD_COUNT = 12 * 1024
THREAD_SIZE = 8 * 1024  # 96 MiB in all, from a thread with no Python state

Delta = dict[str, list[int]]


def case_id(case: tuple[str, str, int, int]) -> str:
    return f"{case[0]}-{case[2]}x{case[3]}"


@pytest.fixture(scope="module")
def native_run(heapline: Heapline, native_lib: Path, tmp_path_factory: pytest.TempPathFactory
               ) -> tuple[Profiled, dict[str, Any]]:
    out = tmp_path_factory.mktemp("native_calls") / "deltas.json"
    run = heapline.run(str(PROG), str(native_lib), str(out), json.dumps(CASES),
                       str(THREAD_COUNT), str(THREAD_SIZE), options=["--seed", str(SEED)])
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["errors"] == 0, "the C library reported failed calls"
    assert len(data["cases"]) == len(CASES)
    return run, data


def expected_alloc(alloc: str, count: int, size: int, nmemb: int) -> Delta:
    if alloc == "malloc":
        return {"malloc": [count, count * size]}
    if alloc == "calloc":
        return {"calloc": [count, count * nmemb * size]}
    if alloc == "realloc_grow":
        return {"malloc": [count, count * size], "realloc": [count, count * 2 * size]}
    if alloc == "realloc_null":
        return {"realloc": [count, count * size]}
    if alloc in ("posix_memalign", "aligned_alloc", "memalign", "valloc", "pvalloc", "mmap"):
        return {alloc: [count, count * size]}
    # Python's domains: one py_* call per request, whichever way pymalloc
    # serves it; what goes on to PyMem_RawMalloc (0 bytes: malloc(1); more
    # than 512) is the native layer's call beneath, counted there only.
    if alloc in ("pyobject_malloc", "pymem_malloc"):
        want = {"py_malloc": [count, count * size]}
        if size == 0 or size > 512:
            want["malloc"] = [count, count * max(size, 1)]
        return want
    if alloc == "pymem_rawmalloc":
        return {"py_malloc": [count, count * size], "malloc": [count, count * size]}
    if alloc == "pyobject_calloc":
        want = {"py_calloc": [count, count * nmemb * size]}
        if nmemb * size > 512:
            want["calloc"] = [count, count * nmemb * size]
        return want
    raise AssertionError(alloc)


def net(got: Delta, base: Delta, alloc: str = "") -> Delta:
    """got - base per hook, keeping only hooks that moved (for calls into
    Python's allocator, not the mappings of pymalloc's arenas, which come and
    go with how full its pools are)."""
    out: Delta = {}
    arenas = ("mmap", "munmap") if alloc in PYTHON_CALLS else ()
    for hook in set(got) | set(base):
        if hook in arenas:
            continue
        g = got.get(hook, [0, 0])
        b = base.get(hook, [0, 0])
        d = [g[0] - b[0], g[1] - b[1]]
        if d != [0, 0]:
            out[hook] = d
    return out


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_allocating_hook_counts_are_exact(native_run: tuple[Profiled, dict[str, Any]],
                                          case: tuple[str, str, int, int]) -> None:
    _, data = native_run
    result = data["cases"][CASES.index(case)]
    assert result["stable"], f"baseline kept moving over {result['attempts']} attempts: {result}"
    alloc, _, count, size = case
    want = expected_alloc(alloc, count, size, data["calloc_nmemb"])
    got = net(result["alloc_delta"], result["base"], alloc)
    assert got == want, f"{alloc} x{count} of {size} bytes: counter deltas {got}, expected {want}"


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_releasing_hook_counts_are_exact(native_run: tuple[Profiled, dict[str, Any]],
                                         case: tuple[str, str, int, int]) -> None:
    _, data = native_run
    result = data["cases"][CASES.index(case)]
    assert result["stable"], f"baseline kept moving over {result['attempts']} attempts: {result}"
    alloc, release, count, size = case
    if release == "munmap_all":
        page = mmap.PAGESIZE
        assert result["unmapped_count"] == count
        assert result["unmapped_bytes"] == count * ((size + page - 1) // page * page)
        want = {"munmap": [count, result["unmapped_bytes"]]}
    elif release == "pyfree_all":
        # Python's frees have no counter; those of blocks malloc holds reach
        # the native free (the C library summed their usable sizes).
        n = result["freed_count"]
        want = {"free": [n, result["freed_bytes"]]} if n else {}
    else:
        assert result["freed_count"] == count
        # The C library summed malloc_usable_size over the blocks before freeing.
        want = {"free": [count, result["freed_bytes"]]}
    got = net(result["release_delta"], result["base"], alloc)
    assert got == want, f"releasing {count} {alloc} blocks of {size} bytes: counter deltas {got}, expected {want}"


def test_counters_in_profile_cover_every_call(native_run: tuple[Profiled, dict[str, Any]]) -> None:
    """The document's totals are at least the calls this program made in C."""
    run, data = native_run
    counters = run.doc["counters"]
    for hook in ("malloc", "calloc", "realloc", "free", "posix_memalign", "aligned_alloc",
                 "memalign", "valloc", "pvalloc", "mmap", "munmap"):
        assert hook in counters, f"counter {hook!r} missing: {sorted(counters)}"
    made: dict[str, int] = {}
    for result in data["cases"]:
        for hook, (calls, _) in net(result["alloc_delta"], result["base"]).items():
            made[hook] = made.get(hook, 0) + calls
    made["malloc"] = made.get("malloc", 0) + THREAD_COUNT
    for hook, calls in made.items():
        assert counters[hook]["calls"] >= calls, (hook, counters[hook], calls)


def test_native_thread_allocations_go_to_native_threads(
        native_run: tuple[Profiled, dict[str, Any]]) -> None:
    run, _ = native_run
    doc = run.doc
    total = THREAD_COUNT * THREAD_SIZE
    bucket = doc["native_threads"]
    assert_within(bucket["alloc_bytes"], total, "native_threads.alloc_bytes", doc)
    assert_within(bucket["live_bytes"], total, "native_threads.live_bytes (blocks kept)", doc)
    # The Python line that started the thread did not allocate those bytes.
    caller = marked_or_zero(doc, PROG, "thread-call")
    assert caller["alloc_bytes"] < 0.05 * total, caller
