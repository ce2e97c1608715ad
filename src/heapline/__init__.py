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

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time
if TYPE_CHECKING:
    from typing import Any

__version__ = "0.1.0"

__all__ = ["__version__", "is_running", "print_report", "profile", "snapshot", "start",
           "stop", "write_json", "load_ipython_extension"]

if TYPE_CHECKING:  # noqa: SIM102
    from heapline.api import is_running, print_report, profile, snapshot, start, stop, write_json

_API = {"is_running", "print_report", "profile", "snapshot", "start", "stop", "write_json"}


def __getattr__(name: str) -> Any:
    # imported on first use, so that `heapline run` starts the program without
    # loading what only the in-process API needs
    if name in _API:
        from heapline import api

        return getattr(api, name)
    raise AttributeError(f"module 'heapline' has no attribute {name!r}")


def load_ipython_extension(ipython: Any) -> None:
    """`%load_ext heapline`: registers the %heapline / %%heapline magics."""
    from heapline.ipython import load_ipython_extension as load

    load(ipython)
