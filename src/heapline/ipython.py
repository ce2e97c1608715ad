"""IPython / Jupyter integration: `%load_ext heapline`, then

    %heapline statement        # profile one statement
    %%heapline                 # profile the whole cell
    ...

The report is one output: the HTML page of the profile (in a sandboxed
iframe, as `heapline view` writes it) where the front end shows HTML, the
terminal report as plain text otherwise. Code of notebook cells is named by
its cell as the notebook shows it (`In [3]`, line numbers as in the cell) in
both, and in the document (the files' `name`)."""

from __future__ import annotations

import html
import io
from typing import Any

from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.display import display
from rich.console import Console

from heapline import api
from heapline.reporters.terminal import render

#: Height of the page's frame in the notebook (it scrolls inside).
FRAME_HEIGHT_PX = 640
#: Put before the body of a %%heapline cell, so that its lines keep the
#: numbers they have in the cell (the %%heapline line is line 1 there).
_FIRST_LINE = "# %%heapline\n"


def outputs(doc: dict[str, Any]) -> dict[str, str]:
    """The report as one output's data: text/html and text/plain."""
    from heapline.reporters.html import render_profile

    # force_jupyter=False: rich would otherwise send each print to the
    # notebook as an output of its own, with ANSI codes in its text
    console = Console(record=True, file=io.StringIO(), width=120, force_terminal=False,
                      force_jupyter=False, color_system=None)
    render(doc, console)
    text = console.export_text(clear=False, styles=False)
    page = render_profile(doc)
    frame = (f'<iframe srcdoc="{html.escape(page, quote=True)}" sandbox="allow-scripts" '
             f'title="heapline profile" style="width: 100%; height: {FRAME_HEIGHT_PX}px; '
             'border: 1px solid rgba(128, 128, 128, 0.4);"></iframe>')
    return {"text/plain": text, "text/html": frame}


def show_report(doc: dict[str, Any]) -> None:
    display(outputs(doc), raw=True)


def name_cells(doc: dict[str, Any], cell_of: dict[str, int], caller: set[str]) -> None:
    """Names the document's files that are code of notebook cells `In [n]`;
    the code of the cell that called the magic (`caller`: what is charged to
    it is IPython running the profiled code) goes to the unattributed bucket."""
    kept = []
    for f in doc.get("files", []):
        path = str(f.get("path"))
        if path in caller:
            bucket = doc["unattributed"]
            for ln in f.get("lines", []):
                for key in ("alloc_bytes", "live_bytes", "alloc_samples"):
                    bucket[key] = bucket.get(key, 0) + ln.get(key, 0)
                bucket["cpu_s"] = bucket.get("cpu_s", 0.0) + sum(
                    ln.get(k, 0.0) for k in ("cpu_python_s", "cpu_native_s", "cpu_system_s"))
            continue
        n = cell_of.get(path)
        if n is not None:
            f["name"] = f"In [{n}]"
        kept.append(f)
    doc["files"] = kept


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
        # IPython's compiler names each cell's code and remembers its number;
        # the code run here is named again: give it this cell's number
        numbers: dict[str, int] = getattr(shell.compile, "_filename_map", None) or {}
        known = dict(numbers)
        this_cell = max(known.values(), default=None)
        if cell is not None and not cell.lstrip().startswith("%%"):
            code = _FIRST_LINE + cell
        api.start()
        try:
            shell.run_cell(code, store_history=False)
        finally:
            api.stop()
        cell_of = dict(known)
        caller = {name for name, n in known.items() if n == this_cell}
        if this_cell is not None:
            cell_of.update({name: this_cell for name in numbers if name not in known})
        doc = api.snapshot()
        name_cells(doc, cell_of, caller)
        show_report(doc)


def load_ipython_extension(ipython: Any) -> None:
    ipython.register_magics(HeaplineMagics)
