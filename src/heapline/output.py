"""Where a `heapline run` profile goes at the end: the JSON document (-o), the
HTML page (--html) and the terminal report on standard error. Used by the
process that writes the profile: the supervising `heapline run` process
(preload mode), or the program's own process (--in-process)."""

from __future__ import annotations

import os
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


def say(stream: TextIO, text: str) -> None:
    """One line on the report's stream, which may be a closed pipe (`heapline
    run prog.py 2>&1 | head`): then nothing, and no exception."""
    try:
        print(text, file=stream)
    except (OSError, ValueError):
        pass


def flush_quietly(stream: Any) -> None:
    """Flushes a standard stream that may be closed, a pipe whose reader has
    gone, or (in a signal handler) in the middle of a write of the program's,
    where a reentrant flush raises."""
    try:
        stream.flush()
    except (RuntimeError, OSError, ValueError, AttributeError):
        pass


def _drop_unwritten(stream: TextIO) -> None:
    """The stream's reader is gone: what is still buffered for it goes to the
    null device, so that the interpreter's last flush (--in-process: the
    program's own) does not fail and turn its exit status into 120."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, stream.fileno())
        finally:
            os.close(null)
    except (OSError, ValueError, AttributeError):
        pass


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
            say(err, f"heapline: error: could not write {opts.json_path}: {e}")
    if opts.report:
        try:
            from heapline.reporters.terminal import render, report_console

            render(doc, report_console(err))
            err.flush()
        except (BrokenPipeError, SystemExit):
            # the reader went away (rich turns a broken pipe into SystemExit(1)):
            # nothing to tell, and no one to tell it to
            _drop_unwritten(err)
        except Exception as e:  # the report must never change the exit status
            say(err, f"heapline: error: could not print the report: {e}")
    if opts.html_path:
        try:
            from heapline.reporters.html import write_profile_page

            write_profile_page(doc, opts.html_path)
            say(err, f"heapline: HTML report written to {opts.html_path}")
        except Exception as e:  # noqa: BLE001 - one line, never a traceback
            say(err, f"heapline: error: could not write {opts.html_path}: {e}")
    flush_quietly(err)
