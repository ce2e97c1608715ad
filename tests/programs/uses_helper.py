"""Allocates on its own lines and through hl_helper (tests/test_filtering.py)."""

from __future__ import annotations

import hl_helper

MiB = 1 << 20

own = bytearray(64 * MiB)  # MARK: main-own
via_helper = hl_helper.make_buffer(96 * MiB)  # MARK: main-call
