"""Where a `heapline run` profile goes at the end: the JSON document (-o), the
HTML page (--html) and the terminal report on standard error. Used by the
process that writes the profile: the supervising `heapline run` process
(preload mode), or the program's own process (--in-process)."""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time
if TYPE_CHECKING:
    from typing import Any, TextIO

    from heapline.options import Options


def report_stream() -> TextIO:
    """Standard error for the report, even when the program closed or replaced
    sys.stderr (--in-process): then Python's own stream, or file descriptor 2."""
    for stream in (sys.stderr, sys.__stderr__):
        if stream is not None and not getattr(stream, "closed", True):
            return stream
    return open(2, "w", encoding="utf-8", errors="replace", closefd=False)


def deliver(doc: dict[str, Any], opts: Options) -> None:
    """Writes the document where -o says and the page where --html says, and
    prints the report unless --no-report; a failure is one line on standard
    error, never an exception."""
    err = report_stream()
    if opts.json_path:
        from heapline.document import write_json

        try:
            write_json(doc, opts.json_path)
        except OSError as e:
            print(f"heapline: error: could not write {opts.json_path}: {e}", file=err)
    if opts.report:
        try:
            from heapline.reporters.terminal import render, report_console

            render(doc, report_console(err))
            err.flush()
        except Exception as e:  # the report must never change the exit status
            print(f"heapline: error: could not print the report: {e}", file=err)
    if opts.html_path:
        try:
            from heapline.reporters.html import write_profile_page

            write_profile_page(doc, opts.html_path)
            print(f"heapline: HTML report written to {opts.html_path}", file=err)
        except Exception as e:  # noqa: BLE001 - one line, never a traceback
            print(f"heapline: error: could not write {opts.html_path}: {e}", file=err)
    try:
        err.flush()
    except (OSError, ValueError):
        pass
