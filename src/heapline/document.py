"""Turns the core's snapshot into the profile document (format version 1, see
docs/profile-format.md) and writes it atomically."""

from __future__ import annotations

import json
import linecache
import os
import platform
import sys
import tempfile
from typing import Any

FORMAT = "heapline-profile"
VERSION = 1

_PSEUDO = {"<native thread>": "native_threads", "<unattributed>": "unattributed"}


def _line_entry(path: str, line: int, py: float, native: float, samples: int, live: float,
                at_peak: float) -> dict[str, Any]:
    py_i, nat_i = max(0, round(py)), max(0, round(native))
    return {
        "line": line,
        "source": linecache.getline(path, line).strip() if line > 0 else "",
        "alloc_bytes": py_i + nat_i,
        "alloc_python_bytes": py_i,
        "alloc_native_bytes": nat_i,
        "alloc_samples": samples,
        "live_bytes": max(0, round(live)),
        "peak_bytes": max(0, round(at_peak)),
    }


def build_document(snap: dict[str, Any], *, program: str, argv: list[str],
                   elapsed_s: float) -> dict[str, Any]:
    files: dict[str, list[dict[str, Any]]] = {}
    pseudo: dict[str, dict[str, int]] = {
        k: {"alloc_bytes": 0, "live_bytes": 0, "alloc_samples": 0} for k in _PSEUDO.values()}
    for path, line, py, native, samples, live, at_peak in snap["lines"]:
        if path in _PSEUDO:
            p = pseudo[_PSEUDO[path]]
            p["alloc_bytes"] += max(0, round(py + native))
            p["live_bytes"] += max(0, round(live))
            p["alloc_samples"] += samples
            continue
        files.setdefault(path, []).append(
            _line_entry(path, line, py, native, samples, live, at_peak))
    file_list: list[dict[str, Any]] = [
        {"path": path, "lines": sorted(lines, key=lambda e: e["line"])}
        for path, lines in files.items()
    ]
    file_list.sort(key=lambda f: -sum(e["alloc_bytes"] for e in f["lines"]))
    peak_file = snap.get("peak_file")
    if peak_file in _PSEUDO:
        peak_file = None
    return {
        "format": FORMAT,
        "version": VERSION,
        "program": program,
        "argv": argv,
        "python": platform.python_version(),
        "platform": f"{sys.platform}-{platform.machine()}",
        "elapsed_s": elapsed_s,
        "sampling": {"interval_bytes": snap["interval_bytes"], "samples": snap["samples"]},
        "memory": {
            "peak_bytes": max(0, snap["peak_bytes"]),
            "peak_at_s": max(0.0, snap["peak_at_s"]),
            "exit_bytes": max(0, snap["current_bytes"]),
            "peak_file": peak_file,
            "peak_line": snap["peak_line"] if peak_file else None,
            "timeline": [[round(t, 6), max(0, b)] for t, b in snap["timeline"]],
        },
        "native_hooks": bool(snap.get("native_hooks", False)),
        "files": file_list,
        **pseudo,
        "counters": {name: {"calls": c, "bytes": b} for name, (c, b) in snap["counters"].items()},
    }


def write_json(doc: dict[str, Any], path: str) -> None:
    """Writes via a temporary file in the same directory, so a reader never sees half."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".heapline-", suffix=".json", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
