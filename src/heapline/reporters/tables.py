"""Terminal tables of the report: columns that fit the terminal width (number
columns as wide as their widest value, flexible columns sharing what is left)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich import box
from rich.console import JustifyMethod, OverflowMethod
from rich.table import Table
from rich.text import Text


@dataclass(frozen=True)
class Column:
    """A line-table column. Fixed columns fit their widest cell; flexible ones get
    what is left, in list order, down to ``min_width``, cutting cells as
    ``overflow`` says."""

    header: str
    cell: Callable[[Any], str]
    justify: JustifyMethod = "right"
    flexible: bool = False
    overflow: OverflowMethod = "ellipsis"
    min_width: int = 4


def _two_line_width(header: str) -> int:
    """Narrowest width at which ``header`` fits on two lines, split at a space."""
    words = header.split()
    if not words:
        return 0
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


def line_table(entries: list[Any], columns: list[Column], width: int) -> Table:
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
