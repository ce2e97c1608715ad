"""The terminal report of a profile document (rich): a header with the run,
then tables of hot lines, functions and memory, laid out to the terminal's
width."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable, Mapping
from typing import Any, TextIO

from rich.console import Console
from rich.text import Text

from heapline.model import (LineEntry, cpu_seconds, file_names, format_bytes, format_seconds,
                            hot_lines, plural, profiled, ranked_lines, short_path, sparkline)
from heapline.reporters.tables import Column, line_table


def report_console(file: TextIO | None = None) -> Console:
    """The console a report prints to (default standard output): the
    terminal's width, else 120 columns (rich's own default when piped is 80);
    headers as written (no emoji codes)."""
    stream = sys.stdout if file is None else file
    return Console(file=stream, width=None if stream.isatty() else 120, force_jupyter=False,
                   emoji=False)


SOURCE_WIDTH = 50
#: Characters of the footprint sparkline in the header.
SPARK_WIDTH = 40


def _share(key: str) -> Callable[[LineEntry], str]:
    return lambda e: (f"{100.0 * e.data.get(key, 0) / e.data['alloc_bytes']:.0f}%"
                      if e.data.get("alloc_bytes", 0) > 0 else "-")


def _bytes_of(key: str) -> Callable[[LineEntry], str]:
    return lambda entry: format_bytes(entry.data.get(key, 0))


def _source(entry: LineEntry) -> str:
    src = str(entry.data.get("source", "")).strip()
    return src if len(src) <= SOURCE_WIDTH else src[: SOURCE_WIDTH - 1] + "…"


def _cpu_share(key: str) -> Callable[[LineEntry], str]:
    def cell(e: LineEntry) -> str:
        total = cpu_seconds(e.data)
        return f"{100.0 * e.data.get(key, 0.0) / total:.0f}%" if total > 0 else "-"
    return cell


def _namer(names: Mapping[str, str] | None) -> Callable[[str], str]:
    """A file's name in the report: the document's (file_names), else short_path."""
    return lambda path: (names or {}).get(path) or short_path(path)


def _where_in(names: Mapping[str, str] | None) -> Callable[[LineEntry], str]:
    name = _namer(names)
    return lambda e: f"{name(e.path)}:{e.data.get('line', 0)}"


def memory_columns(names: Mapping[str, str] | None = None) -> list[Column]:
    """Columns of the memory table; files named as ``names`` says."""
    return [
        Column("file:line", _where_in(names), justify="left", flexible=True, overflow="fold",
               min_width=12),
        Column("alloc", _bytes_of("alloc_bytes")),
        Column("python %", _share("alloc_python_bytes")),
        Column("native %", _share("alloc_native_bytes")),
        Column("live at exit", _bytes_of("live_bytes")),
        Column("at peak", _bytes_of("peak_bytes")),
        Column("source", _source, justify="left", flexible=True, min_width=8),
    ]


MEMORY_COLUMNS: list[Column] = memory_columns()
LINE_COLUMNS = MEMORY_COLUMNS  # the memory table was the only one in early versions


def cpu_columns(total_s: float, names: Mapping[str, str] | None = None) -> list[Column]:
    """Columns of the CPU tables; shares of the run are of ``total_s``."""
    def run_share(e: LineEntry) -> str:
        return f"{100.0 * cpu_seconds(e.data) / total_s:.1f}%" if total_s > 0 else "-"

    return [
        Column("file:line", _where_in(names), justify="left", flexible=True, overflow="fold",
               min_width=12),
        Column("time", lambda e: format_seconds(cpu_seconds(e.data))),
        Column("% of run", run_share),
        Column("python %", _cpu_share("cpu_python_s")),
        Column("native %", _cpu_share("cpu_native_s")),
        Column("system %", _cpu_share("cpu_system_s")),
        Column("source", _source, justify="left", flexible=True, min_width=8),
    ]


def function_columns(total_s: float, names: Mapping[str, str] | None = None) -> list[Column]:
    cols = cpu_columns(total_s, names)
    name = _namer(names)
    cols[0] = Column("function", lambda e: f"{name(e.path)}:{e.data['first_line']} "
                     f"{e.data['name']}", justify="left", flexible=True, overflow="fold",
                     min_width=12)
    cols[-1] = Column("alloc", _bytes_of("alloc_bytes"))
    return cols


def _header(doc: Mapping[str, Any], names: Mapping[str, str] | None = None) -> Text:
    cpu_on, memory_on = profiled(doc)
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
                  f" {plural(int(cpu['samples']), 'sample')} every "
                  f"{cpu['interval_s'] * 1000:g} ms"]
    if memory_on:
        mem, sampling = doc["memory"], doc["sampling"]
        where = "unknown line"
        if mem.get("peak_file") is not None:
            where = _namer(names)(str(mem["peak_file"]))
            if mem.get("peak_line") is not None:
                where += f":{mem['peak_line']}"
        parts += [
            "\n", "peak footprint ", (format_bytes(mem["peak_bytes"]), "bold red"),
            f" at {format_seconds(mem['peak_at_s'])} (", (where, "yellow"), ")\n",
            "exit footprint ", (format_bytes(mem["exit_bytes"]), "bold"), "\n",
        ]
        spark = sparkline(mem.get("timeline") or [], SPARK_WIDTH, float(doc["elapsed_s"]))
        if spark:
            parts += ["footprint ", (spark, "red"),
                      f" 0 to {format_bytes(mem['peak_bytes'])} over "
                      f"{format_seconds(doc['elapsed_s'])}\n"]
        parts += [
            f"sampling every {format_bytes(sampling['interval_bytes'])} allocated, "
            f"{plural(int(sampling['samples']), 'sample')}",
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
    cpu_on, memory_on = profiled(doc)
    names = file_names(doc)
    console.print(_header(doc, names))
    hint = "try --profile-all"
    if cpu_on and "cpu" in doc:
        c = doc["cpu"]
        total = c["python_s"] + c["native_s"] + c["system_s"]
        _print_table(console, "Hot lines", hot_lines(doc), cpu_columns(total, names), top,
                     f"no time charged to profiled code; {hint}")
        _print_table(console, "Functions", hot_lines(doc, "functions"),
                     function_columns(total, names), max(top // 2, 1), "no functions with time")
    if memory_on:
        _print_table(console, "Memory", ranked_lines(doc), memory_columns(names), top,
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
                    f"live at exit ({plural(int(bucket.get('alloc_samples', 0)), 'sample')})"))
        leaks = doc.get("leaks")
        if leaks:
            _print_leaks(console, leaks, names, top)
    processes = doc.get("processes") or []
    if len(processes) > 1:
        _print_processes(console, processes, top)


def _command(argv: list[str]) -> str:
    """A process's command line, shortened where it names the interpreter."""
    words = [short_path(w) if i == 0 else w for i, w in enumerate(argv)]
    return shlex.join(words)


def _exit_text(p: Mapping[str, Any]) -> str:
    code = p.get("exit_code")
    if code is None:
        return "?" if p.get("complete", True) else "killed"
    if code < 0:
        try:
            import signal

            return signal.Signals(-code).name
        except ValueError:
            return f"signal {-code}"
    return str(code)


PROCESS_COLUMNS: list[Column] = [
    Column("pid", lambda p: str(p["pid"])),
    Column("parent", lambda p: str(p["ppid"])),
    Column("start", lambda p: format_seconds(p["start_s"])),
    Column("elapsed", lambda p: format_seconds(p["elapsed_s"])),
    Column("CPU", lambda p: format_seconds(p["cpu_s"])),
    Column("peak", lambda p: format_bytes(p["peak_bytes"])),
    Column("exit", _exit_text),
    Column("command", lambda p: _command(list(p.get("argv") or [])), justify="left",
           flexible=True, min_width=12),
]


def _print_processes(console: Console, processes: list[dict[str, Any]], top: int) -> None:
    """The profiled processes of the program's tree (the lines above sum them)."""
    console.print()
    console.print(Text(f"Processes ({len(processes)}, the figures above are their sums)",
                       style="bold underline"))
    # the program's own first, then the biggest by CPU and peak
    rest = sorted(processes[1:], key=lambda p: (-p["cpu_s"], -p["peak_bytes"]))
    shown = [processes[0], *rest][: max(top, 2)]
    console.print(line_table(shown, PROCESS_COLUMNS, console.width))
    incomplete = sum(1 for p in processes if not p.get("complete", True))
    if len(shown) < len(processes):
        console.print(Text(f"showing {len(shown)} of {len(processes)}", style="dim"))
    if incomplete:
        console.print(Text(f"{plural(incomplete, 'process', 'processes')} ended without "
                           "saving its part (killed): what it had recorded until then is "
                           "included", style="yellow"))


def leak_columns(names: Mapping[str, str] | None = None) -> list[Column]:
    """Columns of the "Possible leaks" table (entries: the document's `leaks`)."""
    name = _namer(names)
    return [
        Column("file:line", lambda e: f"{name(str(e['path']))}:{e['line']}", justify="left",
               flexible=True, overflow="fold", min_width=12),
        Column("growth", lambda e: format_bytes(e.get("growth_bytes", 0))),
        Column("confidence", lambda e: f"{float(e.get('confidence', 0)):.2f}"),
        Column("source", lambda e: _source_text(str(e.get("source", ""))), justify="left",
               flexible=True, min_width=8),
    ]


def _source_text(src: str) -> str:
    src = src.strip()
    return src if len(src) <= SOURCE_WIDTH else src[: SOURCE_WIDTH - 1] + "…"


def _print_leaks(console: Console, leaks: list[dict[str, Any]],
                 names: Mapping[str, str] | None, top: int) -> None:
    console.print()
    console.print(Text("Possible leaks", style="bold underline"))
    console.print(Text("lines whose live memory grew steadily over the run (bytes they "
                       "allocated and still hold, from all over it)", style="dim"))
    shown = leaks[: max(top, 1)]
    console.print(line_table(shown, leak_columns(names), console.width))
    if len(shown) < len(leaks):
        console.print(Text(f"showing the top {len(shown)} of {len(leaks)}", style="dim"))
