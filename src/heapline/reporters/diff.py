"""The terminal report of a comparison of two profiles (`heapline diff`): the
two runs' figures and their change, then the lines and functions whose time,
bytes allocated or bytes held at the peak changed most."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from heapline.compare import Change, Comparison
from heapline.model import format_bytes, format_seconds
from heapline.reporters.tables import Column, line_table

SOURCE_WIDTH = 44


def signed_bytes(n: float) -> str:
    return "0 B" if n == 0 else ("+" if n > 0 else "-") + format_bytes(abs(n))


def signed_seconds(s: float) -> str:
    if abs(s) < 0.005:
        return "0.00 s"
    return ("+" if s > 0 else "-") + format_seconds(abs(s))


def _growth(before: float, after: float) -> str:
    if before > 0:
        return f"{100.0 * (after - before) / before:+.1f}%"
    return "new" if after > 0 else ""


def _where(c: Change) -> str:
    now = f"{c.file}:{c.line}"
    if c.before_line is not None and c.after_line is not None and c.before_line != c.after_line:
        now += f" (was {c.before_line})"
    return now


def _status(c: Change) -> str:
    return "" if c.status == "same" else c.status


def _source(c: Change) -> str:
    src = c.source
    return src if len(src) <= SOURCE_WIDTH else src[: SOURCE_WIDTH - 1] + "…"


LINE_COLUMNS = [
    Column("line", _where, justify="left", flexible=True, overflow="fold", min_width=12),
    Column("", _status, justify="left"),
    Column("time Δ", lambda c: signed_seconds(c.d_time)),
    Column("alloc Δ", lambda c: signed_bytes(c.d_alloc)),
    Column("at peak Δ", lambda c: signed_bytes(c.d_peak)),
    Column("alloc after", lambda c: format_bytes(c.after.alloc_bytes)),
    Column("source", _source, justify="left", flexible=True, min_width=8),
]

FUNCTION_COLUMNS = [
    Column("function", lambda c: f"{c.file}:{c.line} {c.function}", justify="left",
           flexible=True, overflow="fold", min_width=12),
    Column("", _status, justify="left"),
    Column("time Δ", lambda c: signed_seconds(c.d_time)),
    Column("alloc Δ", lambda c: signed_bytes(c.d_alloc)),
    Column("at peak Δ", lambda c: signed_bytes(c.d_peak)),
    Column("time after", lambda c: format_seconds(c.after.time_s)),
    Column("alloc after", lambda c: format_bytes(c.after.alloc_bytes)),
]


def _runs(c: Comparison) -> Table:
    b, a = c.before, c.after
    table = Table(box=None, show_edge=False, header_style="bold", pad_edge=False)
    for header, justify in (("", "left"), ("before", "right"), ("after", "right"),
                            ("change", "right"), ("", "right")):
        table.add_column(header, justify=justify)  # type: ignore[arg-type]
    rows: list[tuple[str, float, float, Any, Any]] = [
        ("elapsed", b.elapsed_s, a.elapsed_s, format_seconds, signed_seconds),
        ("CPU time", b.cpu_s, a.cpu_s, format_seconds, signed_seconds),
        ("peak footprint", b.peak_bytes, a.peak_bytes, format_bytes, signed_bytes),
        ("allocated", b.alloc_bytes, a.alloc_bytes, format_bytes, signed_bytes),
        ("exit footprint", b.exit_bytes, a.exit_bytes, format_bytes, signed_bytes),
    ]
    for label, x, y, fmt, dfmt in rows:
        style = "red" if y > x and label in ("peak footprint", "allocated") else None
        table.add_row(label, fmt(x), fmt(y), Text(dfmt(y - x), style=style or ""),
                      _growth(x, y))
    table.add_row("peak at", f"{format_seconds(b.peak_at_s)} {b.peak_where}",
                  f"{format_seconds(a.peak_at_s)} {a.peak_where}", "", "")
    return table


def render(c: Comparison, console: Console, top: int = 20) -> None:
    """Print the comparison."""
    console.print(Text.assemble(("heapline diff: ", "bold"), (c.before_name, "bold cyan"),
                                " → ", (c.after_name, "bold cyan")))
    console.print(_runs(c))
    console.print(Text("allocated: estimated from sampling (all lines and both buckets); "
                       "peak and exit footprints are exact", style="dim"))
    for title, changes, columns in (("Lines", c.lines, LINE_COLUMNS),
                                    ("Functions", c.functions, FUNCTION_COLUMNS)):
        console.print()
        console.print(Text(f"{title}, largest changes first", style="bold underline"))
        ranked = [x for x in c.ranked(changes) if c.score(x) > 0]
        shown = ranked[:top]
        if shown:
            console.print(line_table(shown, columns, console.width))
        if not ranked:
            console.print(Text("no changes", style="yellow"))
        elif len(shown) < len(ranked):
            console.print(Text(f"showing the top {len(shown)} of {len(ranked)}", style="dim"))
