"""How a profiled file is named in reports (the files' `name` in the profile
document): your own files relative to the current directory, library files
from their import root (`re/__init__.py`, `click/decorators.py`), so that a
reader can tell which module it is and find it.

Used when the document is built (at the end of a run: this module imports
nothing that the interpreter has not loaded by then) and by readers of older
documents, which have no names."""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # not typing's: this runs as the profiled program ends
if TYPE_CHECKING:
    from collections.abc import Iterable


def _dir(path: str) -> str:
    return os.path.join(os.path.normpath(path), "")


def _library_roots() -> list[str]:
    """Directories modules of the standard library and installed packages are
    imported from: sysconfig's, and the sys.path entries of package dirs."""
    import sysconfig  # loaded by site at start-up: free

    roots: set[str] = set()
    paths = sysconfig.get_paths()
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        if paths.get(key):
            roots.add(paths[key])
    for entry in sys.path:
        if entry and ("site-packages" in entry or "dist-packages" in entry):
            roots.add(entry)
    both = {_dir(r) for r in roots} | {_dir(os.path.realpath(r)) for r in roots}
    return sorted(both, key=len, reverse=True)


def _other_roots(program: str | None, cwd: str) -> list[str]:
    roots = [_dir(cwd)]
    if program and os.path.isabs(program):
        roots.append(_dir(os.path.dirname(program)))
    roots += sorted({_dir(e) for e in sys.path if e and os.path.isabs(e)}, key=len,
                    reverse=True)
    return roots


def display_names(paths: Iterable[str], program: str | None = None,
                  cwd: str | None = None) -> dict[str, str]:
    """A short name for each path: relative to the longest library root
    (standard library, site-packages) that holds it; else to the current
    directory, the program's directory or another sys.path entry, in that
    order; else the absolute path. Pseudo-names (`<string>`) stay as they are."""
    try:
        here = cwd if cwd is not None else os.getcwd()
    except OSError:  # the current directory was removed
        here = "/nonexistent"
    library = _library_roots()
    others = _other_roots(program, here)
    names: dict[str, str] = {}
    for path in paths:
        names[path] = path
        if path.startswith("<") or not os.path.isabs(path):
            continue
        norm = os.path.normpath(path)
        for root in (*library, *others):
            if norm.startswith(root) and len(norm) > len(root):
                names[path] = norm[len(root):].replace(os.sep, "/")
                break
    return names
