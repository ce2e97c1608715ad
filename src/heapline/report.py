"""The stable names for reading profiles from Python (docs/profile-format.md):
``load_profile``, ``load_schema``, ``ProfileError``, and ``render`` (the
terminal report). They live in heapline.model and heapline.reporters.terminal;
this module keeps the documented import path."""

from __future__ import annotations

from typing import Any

from heapline.model import (FORMAT_NAME, FORMAT_VERSION, LineEntry, ProfileError,
                            format_bytes, format_seconds, load_profile, load_schema)

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "LineEntry", "ProfileError", "format_bytes",
           "format_seconds", "load_profile", "load_schema", "render"]


def render(doc: dict[str, Any], console: Any, top: int = 30) -> None:
    """Print the terminal report of ``doc`` on a rich Console."""
    from heapline.reporters.terminal import render as _render

    _render(doc, console, top)
