"""IPython / Jupyter integration: `%load_ext heapline`, then

    %heapline statement        # profile one statement
    %%heapline                 # profile the whole cell
    ...

The report is shown in the notebook: HTML where the front end renders it,
text otherwise."""

from __future__ import annotations

import io
from typing import Any

from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.display import display
from rich.console import Console

from heapline import api
from heapline.reporters.terminal import render


def show_report(doc: dict[str, Any]) -> None:
    console = Console(record=True, file=io.StringIO(), width=120, force_terminal=False)
    render(doc, console)
    text = console.export_text(clear=False)
    html = console.export_html(inline_styles=True)
    display({"text/plain": text, "text/html": html}, raw=True)


@magics_class
class HeaplineMagics(Magics):
    @line_cell_magic
    def heapline(self, line: str, cell: str | None = None) -> None:
        """Profile a statement (%heapline) or a cell (%%heapline): CPU and memory,
        native allocations included."""
        code = cell if cell is not None else line
        if not code.strip():
            print("usage: %heapline statement, or %%heapline at the top of a cell")
            return
        if api.is_running():
            print("heapline is already profiling this process")
            return
        shell = self.shell
        assert shell is not None, "magics run inside a shell"
        api.start()
        try:
            if cell is not None:
                shell.run_cell(cell, store_history=False)
            else:
                shell.ex(line)
        finally:
            api.stop()
        show_report(api.snapshot())


def load_ipython_extension(ipython: Any) -> None:
    ipython.register_magics(HeaplineMagics)
