"""heapline: a line-level CPU and memory profiler for Python, native code included.

Run a program under it with ``heapline run prog.py`` (see ``heapline --help``).
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
