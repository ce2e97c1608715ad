"""Allocations of Python worker threads are charged to the worker's own line."""

from __future__ import annotations

import json
from typing import Any

import pytest

from conftest import (
    MiB,
    SEED,
    Heapline,
    Profiled,
    assert_within,
    linux_only,
    marked,
    marked_or_zero,
    program,
)

pytest.importorskip("numpy")
pytestmark = linux_only

PROG = program("worker_thread.py")


@pytest.fixture(scope="module")
def thread_run(heapline: Heapline) -> tuple[Profiled, dict[str, Any]]:
    # One BLAS thread: numpy's own native threads stay out of the native_threads check.
    run = heapline.run(str(PROG), options=["--seed", str(SEED)],
                       env={"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"})
    return run, json.loads(run.proc.stdout)


def test_worker_bytearray_line(thread_run: tuple[Profiled, dict[str, Any]]) -> None:
    run, info = thread_run
    line = marked(run.doc, PROG, "worker-bytearray")
    assert_within(line["alloc_bytes"], info["big"], "worker's bytearray alloc_bytes", run.doc)
    assert_within(line["live_bytes"], info["big"], "worker's bytearray live_bytes", run.doc)
    assert line["alloc_python_bytes"] >= 0.9 * line["alloc_bytes"], line


def test_worker_numpy_line(thread_run: tuple[Profiled, dict[str, Any]]) -> None:
    run, info = thread_run
    line = marked(run.doc, PROG, "worker-numpy")
    assert_within(line["alloc_bytes"], info["big"], "worker's numpy alloc_bytes", run.doc)
    assert_within(line["live_bytes"], info["big"], "worker's numpy live_bytes", run.doc)
    assert line["alloc_native_bytes"] >= 0.9 * line["alloc_bytes"], line


def test_main_thread_lines_do_not_get_worker_bytes(
        thread_run: tuple[Profiled, dict[str, Any]]) -> None:
    run, info = thread_run
    for marker in ("main-start", "main-join"):
        line = marked_or_zero(run.doc, PROG, marker)
        assert line["alloc_bytes"] < 0.1 * info["big"], (marker, line)
    bucket = run.doc["native_threads"]
    assert bucket["alloc_bytes"] < 0.1 * info["big"], f"Python threads are not native: {bucket}"


def test_concurrent_threads_each_get_their_own_bytes(
        thread_run: tuple[Profiled, dict[str, Any]]) -> None:
    """Two threads allocating at the same time (2:1) are told apart."""
    run, info = thread_run
    per_item = info["small_object"] + 8  # the object and its slot in the list
    want_main = info["n_main"] * per_item
    want_worker = info["n_worker"] * per_item
    assert want_main >= 64 * MiB
    main = marked(run.doc, PROG, "main-small")
    worker = marked(run.doc, PROG, "worker-small")
    assert_within(main["live_bytes"], want_main, "main thread's list live_bytes", run.doc)
    assert_within(worker["live_bytes"], want_worker, "worker thread's list live_bytes", run.doc)
