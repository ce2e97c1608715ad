"""Load heapline profile documents and render them as a terminal report."""

from __future__ import annotations

import json
import os
import shlex
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any, NamedTuple, cast

from rich import box
from rich.console import Console, JustifyMethod, OverflowMethod
from rich.table import Table
from rich.text import Text

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
_UNITS = ("B", "KiB", "MiB", "GiB")


class ProfileError(Exception):
    """A profile file could not be read or is not a heapline v1 profile."""


def load_schema() -> dict[str, Any]:
    """Return the JSON Schema (draft 2020-12) for version 1 profiles."""
    text = resources.files("heapline").joinpath(SCHEMA_RESOURCE).read_text("utf-8")
    return cast("dict[str, Any]", json.loads(text))


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


class LineEntry(NamedTuple):
    """One row of the line table: a file path and that line's record."""

    path: str
    data: Mapping[str, Any]


def _share(key: str) -> Callable[[LineEntry], str]:
    return lambda e: (f"{100.0 * e.data.get(key, 0) / e.data['alloc_bytes']:.0f}%"
                      if e.data.get("alloc_bytes", 0) > 0 else "-")


def _bytes_of(key: str) -> Callable[[LineEntry], str]:
    return lambda entry: format_bytes(entry.data.get(key, 0))


def _source(entry: LineEntry) -> str:
    src = str(entry.data.get("source", "")).strip()
    return src if len(src) <= SOURCE_WIDTH else src[: SOURCE_WIDTH - 1] + "…"


@dataclass(frozen=True)
class Column:
    """A line-table column. Fixed columns fit their widest cell; flexible ones get
    what is left, in list order, down to ``min_width``, cutting cells as
    ``overflow`` says."""

    header: str
    cell: Callable[[LineEntry], str]
    justify: JustifyMethod = "right"
    flexible: bool = False
    overflow: OverflowMethod = "ellipsis"
    min_width: int = 4


LINE_COLUMNS: list[Column] = [
    Column("file:line", lambda e: f"{short_path(e.path)}:{e.data.get('line', 0)}",
           justify="left", flexible=True, overflow="fold", min_width=12),
    Column("alloc", _bytes_of("alloc_bytes")),
    Column("python %", _share("alloc_python_bytes")),
    Column("native %", _share("alloc_native_bytes")),
    Column("live at exit", _bytes_of("live_bytes")),
    Column("at peak", _bytes_of("peak_bytes")),
    Column("source", _source, justify="left", flexible=True, min_width=8),
]


def ranked_lines(doc: Mapping[str, Any]) -> list[LineEntry]:
    """Every line with memory attributed to it, largest allocators first."""
    entries = [LineEntry(str(f["path"]), ln) for f in doc.get("files", [])
               for ln in f.get("lines", []) if any(ln.get(k, 0) > 0 for k in _RANK_KEYS)]
    entries.sort(key=lambda e: (*(-e.data.get(k, 0) for k in _RANK_KEYS),
                                e.path, e.data.get("line", 0)))
    return entries


def _header(doc: Mapping[str, Any]) -> Text:
    mem, sampling = doc["memory"], doc["sampling"]
    program, argv = str(doc["program"]), [str(a) for a in doc["argv"]]
    command = shlex.join(argv if argv[:1] == [program] else [program, *argv])
    where = "unknown line"
    if mem.get("peak_file") is not None:
        where = short_path(str(mem["peak_file"]))
        if mem.get("peak_line") is not None:
            where += f":{mem['peak_line']}"
    return Text.assemble(
        ("heapline profile: ", "bold"), (command, "bold cyan"), "\n",
        "elapsed ", (format_seconds(doc["elapsed_s"]), "bold"), "\n",
        "peak footprint ", (format_bytes(mem["peak_bytes"]), "bold red"),
        f" at {format_seconds(mem['peak_at_s'])} (", (where, "yellow"), ")\n",
        "exit footprint ", (format_bytes(mem["exit_bytes"]), "bold"), "\n",
        f"sampling every {format_bytes(sampling['interval_bytes'])} allocated, "
        f"{int(sampling['samples']):,} samples",
    )


def _two_line_width(header: str) -> int:
    """Narrowest width at which ``header`` fits on two lines, split at a space."""
    words = header.split()
    return min(max(len(" ".join(words[:i])), len(" ".join(words[i:])))
               for i in range(1, len(words) + 1))


def _column_widths(columns: list[Column], rows: list[list[str]], space: int) -> list[int]:
    """Widths for ``columns`` so that together they fit in ``space`` if possible."""
    def natural(i: int, header: int) -> int:
        return max([header] + [len(row[i]) for row in rows])

    widths = [natural(i, len(col.header)) for i, col in enumerate(columns)]
    if sum(widths) > space:  # let headers take two lines before squeezing cells
        widths = [natural(i, _two_line_width(c.header)) for i, c in enumerate(columns)]
    flex = [i for i, col in enumerate(columns) if col.flexible]
    left = space - sum(w for i, w in enumerate(widths) if i not in flex)
    if flex and left < sum(widths[i] for i in flex):
        low = {i: min(widths[i], columns[i].min_width) for i in flex}
        budget = max(0, left - sum(low.values()))
        for i in flex:  # earlier columns get what they want first
            extra = min(budget, widths[i] - low[i])
            widths[i], budget = low[i] + extra, budget - extra
    return widths


def line_table(entries: list[LineEntry], columns: list[Column], width: int) -> Table:
    """A table of ``entries`` laid out to fit ``width`` terminal cells."""
    rows = [[col.cell(entry) for col in columns] for entry in entries]
    gap = 3  # padding, divider, padding; narrow terminals drop one padding cell
    widths = _column_widths(columns, rows, width - gap * len(columns) + 1)
    if sum(widths) + gap * len(columns) - 1 > width:
        gap = 2
        widths = _column_widths(columns, rows, width - gap * len(columns) + 1)
    table = Table(box=box.SIMPLE_HEAD, header_style="bold", show_edge=False,
                  padding=(0, 1, 0, gap - 2), pad_edge=gap == 3)
    for col, w in zip(columns, widths):
        table.add_column(col.header, justify=col.justify, overflow=col.overflow, width=w)
    for row in rows:
        table.add_row(*(Text(cell, no_wrap=col.overflow != "fold", overflow=col.overflow)
                        for col, cell in zip(columns, row)))
    return table


def render(doc: dict[str, Any], console: Console, top: int = 30) -> None:
    """Print the terminal report for a profile document."""
    console.print(_header(doc))
    console.print()
    entries = ranked_lines(doc)
    shown = entries[: max(top, 0)]
    if shown:
        console.print(line_table(shown, LINE_COLUMNS, console.width))
    if not entries:
        console.print(Text("no allocations attributed to profiled code; "
                           "try --profile-all", style="yellow"))
    elif len(shown) < len(entries):
        console.print(Text(f"showing the top {len(shown)} of {len(entries)} lines",
                           style="dim"))
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
