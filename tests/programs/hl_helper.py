"""Helper module imported by uses_helper.py (tests/test_filtering.py)."""

from __future__ import annotations


def make_buffer(n: int) -> bytearray:
    return bytearray(n)  # MARK: helper-alloc
