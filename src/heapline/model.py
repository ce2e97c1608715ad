"""The profile document as the reporters see it: reading and checking a saved
profile (format version 1, docs/profile-format.md), and the queries and number
formats that every output format shares (ranked lines, hot lines, functions,
byte and second units, short file names).

The document itself is built by heapline.document; the terminal, HTML and
diff reporters (heapline.reporters) render what this module gives them."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any, NamedTuple, cast

FORMAT_NAME = "heapline-profile"
FORMAT_VERSION = 1
SCHEMA_RESOURCE = "schema/profile-v1.json"

_OBJECT_KEYS = ("sampling", "memory", "native_threads", "unattributed", "counters")
_NUMBER_KEYS: dict[str, tuple[str, ...]] = {
    "": ("elapsed_s",),
    "sampling": ("interval_bytes", "samples"),
    "memory": ("peak_bytes", "peak_at_s", "exit_bytes"),
}
_LINE_KEYS = ("line", "alloc_bytes", "alloc_python_bytes", "alloc_native_bytes",
              "live_bytes", "peak_bytes")
RANK_KEYS = ("alloc_bytes", "live_bytes", "peak_bytes")
CPU_KEYS = ("cpu_python_s", "cpu_native_s", "cpu_system_s")
_UNITS = ("B", "KiB", "MiB", "GiB")


class ProfileError(Exception):
    """A profile file could not be read or is not a heapline v1 profile."""


class LineEntry(NamedTuple):
    """One row of a line or function table: a file path and that line's (or
    function's) record."""

    path: str
    data: Mapping[str, Any]


def load_schema() -> dict[str, Any]:
    """Return the JSON Schema (draft 2020-12) for version 1 profiles."""
    # the installed package's own file (importlib.resources would cost the
    # report 10 ms of imports at the end of every run)
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), SCHEMA_RESOURCE)
    with open(path, encoding="utf-8") as f:
        return cast("dict[str, Any]", json.load(f))


def load_profile(path: str) -> dict[str, Any]:
    """Read a profile file, checking its format, version and basic shape."""
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except FileNotFoundError:
        raise ProfileError(f"{path}: no such file") from None
    except OSError as exc:
        raise ProfileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ProfileError(f"{path}: not a JSON file (not UTF-8 text)") from None
    except json.JSONDecodeError as exc:
        raise ProfileError(f"{path}: invalid JSON at line {exc.lineno} "
                           f"column {exc.colno}: {exc.msg}") from None
    return _checked(path, doc)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _checked(path: str, doc: object) -> dict[str, Any]:
    """``doc`` if it looks like a v1 profile, else raise (by hand: no jsonschema)."""
    def fail(why: str) -> ProfileError:
        return ProfileError(f"{path}: not a heapline profile: {why}")

    if not isinstance(doc, dict):
        raise fail("top level is not a JSON object")
    if doc.get("format") != FORMAT_NAME:
        raise fail(f"format is {doc.get('format')!r}, expected {FORMAT_NAME!r}")
    version = doc.get("version")
    if not _is_number(version) or version != FORMAT_VERSION:
        raise ProfileError(f"{path}: unsupported profile version {version!r} "
                           f"(this heapline reads version {FORMAT_VERSION})")
    for key in _OBJECT_KEYS:
        if not isinstance(doc.get(key), dict):
            raise fail(f"{key!r} is missing or not an object")
    for section, keys in _NUMBER_KEYS.items():
        obj = doc[section] if section else doc
        if not all(_is_number(obj.get(k)) for k in keys):
            raise fail(f"{section or 'top level'} needs numbers for {', '.join(keys)}")
    if not isinstance(doc.get("program"), str) or not isinstance(doc.get("argv"), list):
        raise fail("'program' must be a string and 'argv' a list")
    if not isinstance(doc.get("files"), list):
        raise fail("'files' is missing or not a list")
    for entry in doc["files"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
            raise fail("a 'files' entry has no 'path'")
        lines = entry.get("lines")
        if not isinstance(lines, list) or not all(
            isinstance(ln, dict) and all(_is_number(ln.get(k)) for k in _LINE_KEYS)
            for ln in lines
        ):
            raise fail(f"'lines' of {entry['path']} are malformed")
    return doc


def format_bytes(n: float) -> str:
    """Format a byte count in binary units: ``512 B``, ``412.3 MiB``."""
    value = float(n)
    for unit in _UNITS[:-1]:
        if abs(value) < 1024.0:
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024.0
    return f"{value:.1f} {_UNITS[-1]}"


def format_seconds(s: float) -> str:
    """Format a duration: ``0.42 s``, ``12.3 s``, ``2m 05.1s``."""
    if s < 60:
        return f"{s:.2f} s" if s < 10 else f"{s:.1f} s"
    minutes, rest = divmod(s, 60.0)
    return f"{int(minutes)}m {rest:04.1f}s"


def short_path(path: str) -> str:
    """Path relative to the cwd when under it, else its last two components."""
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        rel = path
    if not (rel == os.pardir or rel.startswith(os.pardir + os.sep) or os.path.isabs(rel)):
        return rel
    parent, name = os.path.basename(os.path.dirname(path)), os.path.basename(path)
    return f"…/{parent}/{name}" if parent else name


def cpu_seconds(data: Mapping[str, Any]) -> float:
    """A line's or function's CPU (or wall) seconds, all kinds together."""
    return float(sum(data.get(k, 0.0) for k in CPU_KEYS))


def ranked_lines(doc: Mapping[str, Any]) -> list[LineEntry]:
    """Every line with memory attributed to it, largest allocators first."""
    entries = [LineEntry(str(f["path"]), ln) for f in doc.get("files", [])
               for ln in f.get("lines", []) if any(ln.get(k, 0) > 0 for k in RANK_KEYS)]
    entries.sort(key=lambda e: (*(-e.data.get(k, 0) for k in RANK_KEYS),
                                e.path, e.data.get("line", 0)))
    return entries


def hot_lines(doc: Mapping[str, Any], key: str = "lines") -> list[LineEntry]:
    """Lines (or functions, with key="functions") with CPU time, hottest first."""
    entries = [LineEntry(str(f["path"]), x) for f in doc.get("files", [])
               for x in f.get(key, []) if cpu_seconds(x) > 0]
    entries.sort(key=lambda e: -cpu_seconds(e.data))
    return entries


def profiled(doc: Mapping[str, Any]) -> tuple[bool, bool]:
    """Whether the CPU and the memory halves were on in the run."""
    p = doc.get("profiled", {})
    return bool(p.get("cpu", "cpu" in doc)), bool(p.get("memory", True))


def file_names(doc: Mapping[str, Any]) -> dict[str, str]:
    """Each file's display name: the document's `name` (documents written
    before names were added have none: named here as heapline would name them)."""
    from heapline.names import display_names

    files = [f for f in doc.get("files", []) if isinstance(f, Mapping)]
    missing = [str(f["path"]) for f in files if not isinstance(f.get("name"), str)]
    names = display_names(missing, str(doc.get("program", ""))) if missing else {}
    for f in files:
        if isinstance(f.get("name"), str):
            names[str(f["path"])] = f["name"]
    return names


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 sample``, ``2 samples``, ``1,024 samples``."""
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


#: Eighth blocks, lowest to highest, for sparklines.
_BLOCKS = "▁▂▃▄▅▆▇█"


def sparkline(timeline: list[list[float]] | list[tuple[float, float]], width: int = 40,
              end_s: float | None = None) -> str:
    """The footprint over time in ``width`` characters: each character is the
    highest footprint in its slice of the run (so the peak always shows), on a
    scale from 0 to the peak."""
    points = [(float(t), float(b)) for t, b in timeline]
    if not points or width <= 0:
        return ""
    start = 0.0
    end = max(end_s if end_s is not None else points[-1][0], points[-1][0])
    top = max(b for _, b in points)
    if top <= 0:
        return _BLOCKS[0] * width
    span = end - start
    highest: list[float | None] = [None] * width
    final: list[float | None] = [None] * width  # the last point in each slice
    for t, b in points:
        i = min(width - 1, max(0, int((t - start) / span * width))) if span > 0 else 0
        highest[i] = b if highest[i] is None else max(b, highest[i] or 0.0)
        final[i] = b
    out = []
    before = points[0][1]
    for high, last in zip(highest, final):
        # a slice with no point holds what the footprint was before it
        value = before if high is None else high
        before = before if last is None else last
        out.append(_BLOCKS[min(7, int(value / top * 7.999))])
    return "".join(out)


def function_at(functions: list[Mapping[str, Any]], line: int) -> Mapping[str, Any] | None:
    """The function of a file's `functions` that a line of it belongs to: the
    innermost `def` whose span holds it, else the `<module>` entry."""
    best: Mapping[str, Any] | None = None
    module: Mapping[str, Any] | None = None
    for f in functions:
        if f.get("name") == "<module>":
            module = f
        elif f.get("first_line", 0) <= line <= f.get("last_line", -1) and (
                best is None or f.get("first_line", 0) >= best.get("first_line", 0)):
            best = f
    return best or module


def total_alloc(doc: Mapping[str, Any]) -> int:
    """Estimated bytes allocated in the whole run: every line and both buckets
    (every sampled allocation is charged to exactly one of them)."""
    lines = sum(int(ln.get("alloc_bytes", 0)) for f in doc.get("files", [])
                for ln in f.get("lines", []))
    return lines + sum(int(doc.get(k, {}).get("alloc_bytes", 0))
                       for k in ("native_threads", "unattributed"))


def total_cpu(doc: Mapping[str, Any]) -> float:
    """CPU (or wall) seconds of the whole run, all kinds together; 0 without CPU."""
    cpu = doc.get("cpu") or {}
    return float(sum(cpu.get(k, 0.0) for k in ("python_s", "native_s", "system_s")))
