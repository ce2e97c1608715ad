"""Test cases for tests/test_pytest_plugin.py: run with `pytest --heapline`
in a subprocess, which checks exactly which of them fail and why."""

import threading

import numpy as np
import pytest

MiB = 1 << 20
HELD: list[object] = []  # what the leaking test leaves behind


@pytest.mark.limit_memory("10 MB")
def test_under_limit():
    data = [bytes(1000) for _ in range(2000)]  # about 2 MiB
    assert len(data) == 2000


@pytest.mark.limit_memory("10 MB")
def test_python_over():
    data = [bytes(1000) for _ in range(30_000)]  # about 31 MiB  # MARK: PYBYTES
    assert len(data) == 30_000


@pytest.mark.limit_memory("10 MB")
def test_numpy_over():
    a = np.ones(4 * MiB)  # 32 MiB  # MARK: NUMPY
    assert a.sum() == 4 * MiB


def _in_thread(out: list[int]) -> None:
    block = bytearray(24 * MiB)  # 24 MiB  # MARK: THREAD
    out.append(len(block))


@pytest.mark.limit_memory("10 MiB")
def test_thread_over():
    out: list[int] = []
    t = threading.Thread(target=_in_thread, args=(out,))
    t.start()
    t.join()
    assert out == [24 * MiB]


@pytest.mark.limit_memory("10 MB")
def test_churn_under():
    total = 0
    for i in range(100):
        block = bytearray(4 * MiB)  # 400 MiB in all, 4 MiB at a time  # MARK: CHURN
        total += len(block)
        del block
    assert total == 400 * MiB


@pytest.mark.limit_leaks("1 MB")
def test_leak_over():
    for i in range(4096):
        HELD.append(bytes(1000) + bytes([i % 256]))  # about 4 MiB  # MARK: LEAK


@pytest.mark.limit_leaks("1 MB")
def test_no_leak():
    for i in range(100):
        tmp = [bytes(1000) for _ in range(1000)]  # about 1 MiB at a time
        del tmp


@pytest.mark.limit_leaks("1 MB")
def test_leak_under():
    for i in range(200):
        HELD.append(bytes(1000))  # about 200 KiB
