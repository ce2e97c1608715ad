"""Which interpreters heapline runs on, checked before its C core is imported
(the core's frame walk knows CPython 3.11 to 3.15, default builds only; the
build refuses the others, and this says why in one sentence at run time)."""

from __future__ import annotations

import sys

#: The CPython versions heapline is built and tested for (first, last).
SUPPORTED = ((3, 11), (3, 15))


def _free_threaded() -> bool:
    if "t" in getattr(sys, "abiflags", ""):
        return True
    if sys.platform == "win32":  # no sys.abiflags before 3.14 there
        import sysconfig

        return bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
    return False


def refusal() -> str | None:
    """None on a supported interpreter, else the sentence that says why not."""
    version = "%d.%d" % sys.version_info[:2]
    if sys.implementation.name != "cpython":
        return f"heapline runs on CPython only, not {sys.implementation.name}"
    if not SUPPORTED[0] <= sys.version_info[:2] <= SUPPORTED[1]:
        return (f"heapline supports CPython {'%d.%d' % SUPPORTED[0]} to "
                f"{'%d.%d' % SUPPORTED[1]}, not {version}")
    if _free_threaded():
        return (f"heapline does not support free-threaded CPython ({version}t) yet: "
                f"run the program with the default build of CPython {version}")
    return None
