"""Load heapline profile documents and render them as a terminal report."""

from __future__ import annotations

import json
import os
import shlex
import sys
from collections.abc import Callable, Mapping
from typing import Any, cast

from rich.console import Console
from rich.text import Text

from heapline.tables import Column, LineEntry, line_table

FORMAT_NAME = "heapline-profile"
FORMAT_VERSION = 1
SCHEMA_RESOURCE = "schema/profile-v1.json"
SOURCE_WIDTH = 50

_OBJECT_KEYS = ("sampling", "memory", "native_threads", "unattributed", "counters")
_NUMBER_KEYS: dict[str, tuple[str, ...]] = {
    "": ("elapsed_s",),
    "sampling": ("interval_bytes", "samples"),
    "memory": ("peak_bytes", "peak_at_s", "exit_bytes"),
}
_LINE_KEYS = ("line", "alloc_bytes", "alloc_python_bytes", "alloc_native_bytes",
              "live_bytes", "peak_bytes")
_RANK_KEYS = ("alloc_bytes", "live_bytes", "peak_bytes")
_CPU_KEYS = ("cpu_python_s", "cpu_native_s", "cpu_system_s")
_UNITS = ("B", "KiB", "MiB", "GiB")


class ProfileError(Exception):
    """A profile file could not be read or is not a heapline v1 profile."""


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


def _share(key: str) -> Callable[[LineEntry], str]:
    return lambda e: (f"{100.0 * e.data.get(key, 0) / e.data['alloc_bytes']:.0f}%"
                      if e.data.get("alloc_bytes", 0) > 0 else "-")


def _bytes_of(key: str) -> Callable[[LineEntry], str]:
    return lambda entry: format_bytes(entry.data.get(key, 0))


def _source(entry: LineEntry) -> str:
    src = str(entry.data.get("source", "")).strip()
    return src if len(src) <= SOURCE_WIDTH else src[: SOURCE_WIDTH - 1] + "…"


def cpu_seconds(data: Mapping[str, Any]) -> float:
    """A line's or function's CPU (or wall) seconds, all kinds together."""
    return float(sum(data.get(k, 0.0) for k in _CPU_KEYS))


def _cpu_share(key: str) -> Callable[[LineEntry], str]:
    def cell(e: LineEntry) -> str:
        total = cpu_seconds(e.data)
        return f"{100.0 * e.data.get(key, 0.0) / total:.0f}%" if total > 0 else "-"
    return cell


def _where(e: LineEntry) -> str:
    return f"{short_path(e.path)}:{e.data.get('line', 0)}"


MEMORY_COLUMNS: list[Column] = [
    Column("file:line", _where, justify="left", flexible=True, overflow="fold", min_width=12),
    Column("alloc", _bytes_of("alloc_bytes")),
    Column("python %", _share("alloc_python_bytes")),
    Column("native %", _share("alloc_native_bytes")),
    Column("live at exit", _bytes_of("live_bytes")),
    Column("at peak", _bytes_of("peak_bytes")),
    Column("source", _source, justify="left", flexible=True, min_width=8),
]
LINE_COLUMNS = MEMORY_COLUMNS  # the memory table was the only one in early versions


def cpu_columns(total_s: float) -> list[Column]:
    """Columns of the CPU tables; shares of the run are of ``total_s``."""
    def run_share(e: LineEntry) -> str:
        return f"{100.0 * cpu_seconds(e.data) / total_s:.1f}%" if total_s > 0 else "-"

    return [
        Column("file:line", _where, justify="left", flexible=True, overflow="fold",
               min_width=12),
        Column("time", lambda e: format_seconds(cpu_seconds(e.data))),
        Column("% of run", run_share),
        Column("python %", _cpu_share("cpu_python_s")),
        Column("native %", _cpu_share("cpu_native_s")),
        Column("system %", _cpu_share("cpu_system_s")),
        Column("source", _source, justify="left", flexible=True, min_width=8),
    ]


def function_columns(total_s: float) -> list[Column]:
    cols = cpu_columns(total_s)
    cols[0] = Column("function", lambda e: f"{short_path(e.path)}:{e.data['first_line']} "
                     f"{e.data['name']}", justify="left", flexible=True, overflow="fold",
                     min_width=12)
    cols[-1] = Column("alloc", _bytes_of("alloc_bytes"))
    return cols


def ranked_lines(doc: Mapping[str, Any]) -> list[LineEntry]:
    """Every line with memory attributed to it, largest allocators first."""
    entries = [LineEntry(str(f["path"]), ln) for f in doc.get("files", [])
               for ln in f.get("lines", []) if any(ln.get(k, 0) > 0 for k in _RANK_KEYS)]
    entries.sort(key=lambda e: (*(-e.data.get(k, 0) for k in _RANK_KEYS),
                                e.path, e.data.get("line", 0)))
    return entries


def hot_lines(doc: Mapping[str, Any], key: str = "lines") -> list[LineEntry]:
    """Lines (or functions, with key="functions") with CPU time, hottest first."""
    entries = [LineEntry(str(f["path"]), x) for f in doc.get("files", [])
               for x in f.get(key, []) if cpu_seconds(x) > 0]
    entries.sort(key=lambda e: -cpu_seconds(e.data))
    return entries


def _profiled(doc: Mapping[str, Any]) -> tuple[bool, bool]:
    p = doc.get("profiled", {})
    return bool(p.get("cpu", "cpu" in doc)), bool(p.get("memory", True))


def _header(doc: Mapping[str, Any]) -> Text:
    cpu_on, memory_on = _profiled(doc)
    program, argv = str(doc["program"]), [str(a) for a in doc["argv"]]
    # the command line as typed (argv[0] may be a relative form of `program`)
    command = shlex.join(argv) if argv else program
    parts: list[Any] = [("heapline profile: ", "bold"), (command, "bold cyan"), "\n",
                        "elapsed ", (format_seconds(doc["elapsed_s"]), "bold")]
    cpu = doc.get("cpu")
    if cpu_on and cpu:
        kind = "wall-clock" if cpu.get("wall") else "CPU"
        total = cpu["python_s"] + cpu["native_s"] + cpu["system_s"]
        parts += ["\n", f"{kind} ", (format_seconds(total), "bold"),
                  f" (python {format_seconds(cpu['python_s'])}, native "
                  f"{format_seconds(cpu['native_s'])}, system {format_seconds(cpu['system_s'])}),"
                  f" {int(cpu['samples']):,} samples every {cpu['interval_s'] * 1000:g} ms"]
    if memory_on:
        mem, sampling = doc["memory"], doc["sampling"]
        where = "unknown line"
        if mem.get("peak_file") is not None:
            where = short_path(str(mem["peak_file"]))
            if mem.get("peak_line") is not None:
                where += f":{mem['peak_line']}"
        parts += [
            "\n", "peak footprint ", (format_bytes(mem["peak_bytes"]), "bold red"),
            f" at {format_seconds(mem['peak_at_s'])} (", (where, "yellow"), ")\n",
            "exit footprint ", (format_bytes(mem["exit_bytes"]), "bold"), "\n",
            f"sampling every {format_bytes(sampling['interval_bytes'])} allocated, "
            f"{int(sampling['samples']):,} samples",
        ]
    return Text.assemble(*parts)


def _print_table(console: Console, title: str, entries: list[LineEntry],
                 columns: list[Column], top: int, empty: str) -> None:
    console.print()
    console.print(Text(title, style="bold underline"))
    shown = entries[: max(top, 0)]
    if shown:
        console.print(line_table(shown, columns, console.width))
    if not entries:
        console.print(Text(empty, style="yellow"))
    elif len(shown) < len(entries):
        console.print(Text(f"showing the top {len(shown)} of {len(entries)}", style="dim"))


def render(doc: dict[str, Any], console: Console, top: int = 30) -> None:
    """Print the terminal report for a profile document."""
    cpu_on, memory_on = _profiled(doc)
    console.print(_header(doc))
    hint = "try --profile-all"
    if cpu_on and "cpu" in doc:
        c = doc["cpu"]
        total = c["python_s"] + c["native_s"] + c["system_s"]
        _print_table(console, "Hot lines", hot_lines(doc), cpu_columns(total), top,
                     f"no time charged to profiled code; {hint}")
        _print_table(console, "Functions", hot_lines(doc, "functions"),
                     function_columns(total), max(top // 2, 1), "no functions with time")
    if memory_on:
        _print_table(console, "Memory", ranked_lines(doc), MEMORY_COLUMNS, top,
                     f"no allocations attributed to profiled code; {hint}")
        untracked = int(doc["sampling"].get("live_untracked", 0))
        if untracked:
            console.print(Text(
                f"warning: {untracked:,} sampled blocks were not tracked as live (table full): "
                "live and at-peak figures are too low; use a larger --sampling-interval",
                style="yellow"))
        for label, key in (("native threads", "native_threads"),
                           ("unattributed (no profiled code on stack)", "unattributed")):
            bucket = doc.get(key, {})
            alloc, live = bucket.get("alloc_bytes", 0), bucket.get("live_bytes", 0)
            if alloc > 0 or live > 0:
                console.print(Text(
                    f"{label}: {format_bytes(alloc)} allocated, {format_bytes(live)} "
                    f"live at exit ({int(bucket.get('alloc_samples', 0)):,} samples)"))


def main_show(path: str) -> int:
    """Entry point for ``heapline show FILE``: render a profile to stdout."""
    try:
        doc = load_profile(path)
    except ProfileError as exc:
        print(f"heapline: error: {exc}", file=sys.stderr)
        return 2
    render(doc, Console())
    return 0
