"""Turns the core's snapshot into the profile document (format version 1, see
docs/profile-format.md) and writes it atomically."""

from __future__ import annotations

import functools
import json
import os
import sys

from heapline.functions import function_of, source_bytes
from heapline.names import display_names

TYPE_CHECKING = False  # not typing's: the document is built as the program exits,
if TYPE_CHECKING:  # and typing, platform, tempfile, linecache all cost time then
    from typing import Any

FORMAT = "heapline-profile"
VERSION = 1

_PSEUDO = {"<native thread>": "native_threads", "<unattributed>": "unattributed"}


_CPU_KEYS = ("cpu_python_s", "cpu_native_s", "cpu_system_s")


def _line_entry(path: str, line: int, py: float, native: float, samples: int, live: float,
                at_peak: float, cpu_py: float, cpu_nat: float, cpu_sys: float,
                cpu_samples: int) -> dict[str, Any]:
    py_i, nat_i = max(0, round(py)), max(0, round(native))
    return {
        "line": line,
        "source": _source_line(path, line),
        "alloc_bytes": py_i + nat_i,
        "alloc_python_bytes": py_i,
        "alloc_native_bytes": nat_i,
        "alloc_samples": samples,
        "live_bytes": max(0, round(live)),
        "peak_bytes": max(0, round(at_peak)),
        "cpu_python_s": max(0.0, cpu_py),
        "cpu_native_s": max(0.0, cpu_nat),
        "cpu_system_s": max(0.0, cpu_sys),
        "cpu_samples": cpu_samples,
    }


def _functions(path: str, lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per-function totals of a file's lines (innermost enclosing function)."""
    groups: dict[tuple[str, int], dict[str, Any]] = {}
    for e in lines:
        span = function_of(path, e["line"])
        name, first, last = (span.name, span.first, span.last) if span else ("<module>", 0, 0)
        g = groups.setdefault((name, first), {
            "name": name, "first_line": first, "last_line": last, "alloc_bytes": 0,
            "cpu_python_s": 0.0, "cpu_native_s": 0.0, "cpu_system_s": 0.0, "cpu_samples": 0})
        if span is None:  # module level: the span of its lines
            g["first_line"] = min(g["first_line"] or e["line"], e["line"])
            g["last_line"] = max(g["last_line"], e["line"])
        g["alloc_bytes"] += e["alloc_bytes"]
        for k in (*_CPU_KEYS, "cpu_samples"):
            g[k] += e[k]
    return sorted(groups.values(), key=lambda g: g["first_line"])


def build_document(snap: dict[str, Any], *, program: str, argv: list[str], elapsed_s: float,
                   cpu_on: bool = True, memory_on: bool = True,
                   processes: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    files: dict[str, list[dict[str, Any]]] = {}
    pseudo: dict[str, dict[str, Any]] = {
        k: {"alloc_bytes": 0, "live_bytes": 0, "alloc_samples": 0, "cpu_s": 0.0}
        for k in _PSEUDO.values()}
    for row in snap["lines"]:
        path = row[0]
        if path in _PSEUDO:
            _, _, py, native, samples, live = row[:6]
            p = pseudo[_PSEUDO[path]]
            p["alloc_bytes"] += max(0, round(py + native))
            p["live_bytes"] += max(0, round(live))
            p["alloc_samples"] += samples
            p["cpu_s"] += sum(row[7:10])
            continue
        files.setdefault(path, []).append(_line_entry(*row))
    file_list: list[dict[str, Any]] = []
    names = display_names(files, program)
    _name_compiled_code(files, names, snap.get("compile_sites") or {}, program)
    for path, lines in files.items():
        lines.sort(key=lambda e: e["line"])
        file_list.append({"path": path, "name": names[path], "lines": lines,
                          "functions": _functions(path, lines)})
    file_list.sort(key=lambda f: (-sum(sum(e[k] for k in _CPU_KEYS) for e in f["lines"]),
                                  -sum(e["alloc_bytes"] for e in f["lines"])))
    cpu = snap["cpu"]
    leaks = None
    if "live_history" in snap:
        from heapline.leaks import find_leaks

        leaks = find_leaks(snap["live_history"])
        for e in leaks:
            e["name"] = names.get(e["path"], e["path"])
            e["source"] = _source_line(e["path"], e["line"])
    peak_file = snap.get("peak_file")
    if peak_file in _PSEUDO:
        peak_file = None
    return {
        "format": FORMAT,
        "version": VERSION,
        "program": program,
        "argv": argv,
        "python": sys.version.split()[0],
        "platform": f"{sys.platform}-{_machine()}",
        "elapsed_s": elapsed_s,
        "sampling": {"interval_bytes": snap["interval_bytes"], "samples": snap["samples"],
                     "live_untracked": snap.get("live_untracked", 0)},
        "memory": {
            "peak_bytes": max(0, snap["peak_bytes"]),
            "peak_at_s": max(0.0, snap["peak_at_s"]),
            "exit_bytes": max(0, snap["current_bytes"]),
            "peak_file": peak_file,
            "peak_line": snap["peak_line"] if peak_file else None,
            "timeline": [[round(t, 6), max(0, b)] for t, b in snap["timeline"]],
        },
        "cpu": {
            "interval_s": cpu["interval_s"],
            "wall": cpu["wall"],
            "samples": cpu["samples"],
            "python_s": cpu["python_s"],
            "native_s": cpu["native_s"],
            "system_s": cpu["system_s"],
        },
        "profiled": {"cpu": cpu_on, "memory": memory_on},
        "native_hooks": bool(snap.get("native_hooks", False)),
        "files": file_list,
        **pseudo,
        "counters": {name: {"calls": c, "bytes": b} for name, (c, b) in snap["counters"].items()},
        **({"leaks": leaks} if leaks is not None else {}),
        **({"processes": processes} if processes is not None else {}),
    }


def _name_compiled_code(files: dict[str, list[dict[str, Any]]], names: dict[str, str],
                        sites: dict[str, list[list[Any]]], program: str) -> None:
    """Code compiled from a string (pseudo files such as `<string>`): named by
    the line of profiled code where it was compiled (compile_sites.py), with
    the compiled source beside its lines when it was compiled in one place."""
    for path, lines in files.items():
        places = sites.get(path)
        if not places:
            continue
        where = display_names([p[0] for p in places], program)
        first_file, first_line, function, source = places[0]
        # `<string at prog.py:11>`, `<string at prog.py:11 in make, and 2 more>`
        name = f"<{path.strip('<>')} at {where[first_file]}:{first_line}"
        if function != "<module>":
            name += f" in {function}"
        if len(places) > 1:
            name += f", and {len(places) - 1} more"
        names[path] = name + ">"
        if len(places) == 1 and source:
            text = source.splitlines()
            for e in lines:
                if not e["source"] and 0 < e["line"] <= len(text):
                    e["source"] = text[e["line"] - 1].strip()


def from_raw(raw: dict[str, Any]) -> dict[str, Any]:
    """The document of a session's raw data (Session.raw)."""
    return build_document(raw["snap"], program=raw["program"], argv=raw["argv"],
                          elapsed_s=raw["elapsed_s"], cpu_on=raw["cpu_on"],
                          memory_on=raw["memory_on"], processes=raw.get("processes"))


def write_json(doc: dict[str, Any], path: str) -> None:
    """Writes the document as JSON (see write_text)."""
    write_text(json.dumps(doc, indent=1) + "\n", path)


def write_text(text: str, path: str) -> None:
    """Writes via a temporary file in the same directory, so a reader never sees
    half; a path that is not a regular file (/dev/null, a FIFO) is written to
    directly, not replaced."""
    if os.path.exists(path) and not os.path.isfile(path):
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = _create_beside(directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _create_beside(directory: str) -> tuple[int, str]:
    """A new file in `directory` (mode 0666 less the umask, as open() makes it)."""
    for n in range(1000):
        tmp = os.path.join(directory, f".heapline-{os.getpid()}-{n}.tmp")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name in {directory}")


def _machine() -> str:
    if hasattr(os, "uname"):
        return os.uname().machine
    import platform

    return platform.machine()


@functools.lru_cache(maxsize=64)
def source_lines(path: str) -> list[str]:
    """A source file's lines, read as UTF-8 (PEP 3120).  linecache (slower to
    import) handles the rest: a coding cookie in the first two lines, and code
    with no file (IPython cells, which IPython puts in linecache's cache)."""
    data = source_bytes(path)
    if data is None or b"coding" in b"\n".join(data.split(b"\n", 2)[:2]):
        import linecache

        return linecache.getlines(path)
    text = data.decode("utf-8-sig", "replace")
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")  # not splitlines: \f


def _source_line(path: str, line: int) -> str:
    lines = source_lines(path) if line > 0 else []
    return lines[line - 1].strip() if 0 < line <= len(lines) else ""
