"""Where code compiled from a string came from, so that its lines can be named.

Code made by `exec`, `eval` or `compile` from a string (a template engine's,
`dataclasses`' and `namedtuple`'s generated methods) has a pseudo file name
such as `<string>`, which says nothing about where to look. While a session
runs, an audit hook (the interpreter's "compile" event) records, for each
pseudo name, the line of profiled code that was running when such code was
compiled (the nearest frame in a profiled file: the `exec` call in your code,
or your class that `@dataclass` decorates) and the source text compiled
there. The document then names the pseudo file by that line and shows the
compiled source beside its lines.

Bounded: at most SITES places per pseudo name, each with the first source
compiled there (at most SOURCE_CHARS characters). The hook does nothing for
real files or while no session runs; audit hooks cannot be removed, so it is
added once per process. The hook is the core's, in C (src/ext/compile_hook.c):
an audit hook in Python would cost a Python call for every audited event of
the program (`id()`, `sys._getframe()`), not only for compiles.
"""

from __future__ import annotations

import sys

from heapline import _core

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import FrameType

SITES = 16
SOURCE_CHARS = 64 * 1024

#: pseudo name -> {(file, line, function): source}
_sites: dict[str, dict[tuple[str, int, str], str]] = {}
_profiled: Callable[[str], bool] | None = None  # None: not recording


def _nearest_profiled(frame: FrameType | None) -> FrameType | None:
    while frame is not None:
        name = frame.f_code.co_filename
        if _profiled is not None and not name.startswith("<") and _profiled(name):
            return frame
        frame = frame.f_back
    return None


def _on_compile(source: object, filename: object) -> None:
    """The core's audit hook calls this for each "compile" event."""
    if _profiled is None:
        return
    try:
        _record(source, filename)
    except Exception:  # noqa: BLE001 - never the program's exception
        pass


def _record(source: object, filename: object) -> None:
    if not isinstance(filename, str) or not filename.startswith("<"):
        return
    frame = _nearest_profiled(sys._getframe(1))
    if frame is None:
        return
    places = _sites.setdefault(filename, {})
    key = (frame.f_code.co_filename, frame.f_lineno or frame.f_code.co_firstlineno,
           frame.f_code.co_qualname)
    if key in places or len(places) >= SITES:
        return
    if isinstance(source, (bytes, bytearray)):
        text = bytes(source[:SOURCE_CHARS]).decode("utf-8", "replace")
    elif isinstance(source, str):
        text = source[:SOURCE_CHARS]
    else:  # an AST or code object: no text to show
        text = ""
    places[key] = text


def start(profiled: Callable[[str], bool]) -> None:
    """Records compile sites from now on; `profiled(path)` says whether a
    file's lines are charged (the session's filter)."""
    global _profiled
    _sites.clear()
    _profiled = profiled
    _core.set_compile_callback(_on_compile)


def stop() -> None:
    global _profiled
    _profiled = None
    _core.set_compile_callback(None)


def snapshot() -> dict[str, list[list[object]]]:
    """{pseudo name: [[file, line, function, source], ...]}: plain data."""
    return {name: [[f, line, fn, src] for (f, line, fn), src in places.items()]
            for name, places in _sites.items()}
