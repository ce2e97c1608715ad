"""heapline: a line-level CPU and memory profiler for Python, native code included.

Run a program under it with ``heapline run prog.py`` (see ``heapline --help``),
or profile part of a running program::

    import heapline
    heapline.start(); ...; heapline.stop()
    heapline.print_report(); heapline.write_json("p.json")

    with heapline.profile(json="p.json"): ...

    @heapline.profile
    def work(): ...

In IPython/Jupyter: ``%load_ext heapline``, then ``%heapline`` / ``%%heapline``.
"""

from __future__ import annotations

from typing import Any

from heapline.api import is_running, print_report, profile, snapshot, start, stop, write_json

__version__ = "0.1.0"

__all__ = ["__version__", "is_running", "print_report", "profile", "snapshot", "start",
           "stop", "write_json", "load_ipython_extension"]


def load_ipython_extension(ipython: Any) -> None:
    """`%load_ext heapline`: registers the %heapline / %%heapline magics."""
    from heapline.ipython import load_ipython_extension as load

    load(ipython)
