"""Where a `heapline run` profile goes at the end: the JSON document (-o) and
the terminal report on standard error. Used by the process that writes the
profile: the supervising `heapline run` process (preload mode), or the
program's own process (--in-process)."""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time
if TYPE_CHECKING:
    from typing import Any

    from heapline.options import Options


def deliver(doc: dict[str, Any], opts: Options) -> None:
    """Writes the document where -o says and prints the report unless
    --no-report; a failure is one line on standard error, never an exception."""
    if opts.json_path:
        from heapline.document import write_json

        try:
            write_json(doc, opts.json_path)
        except OSError as e:
            print(f"heapline: error: could not write {opts.json_path}: {e}", file=sys.stderr)
    if opts.report:
        try:
            from heapline.reporters.terminal import render
            from rich.console import Console

            render(doc, Console(file=sys.stderr, width=None if sys.stderr.isatty() else 120))
            sys.stderr.flush()
        except Exception as e:  # the report must never change the exit status
            print(f"heapline: error: could not print the report: {e}", file=sys.stderr)
