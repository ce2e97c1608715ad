"""One module per `heapline` command (run, show, view, diff): each adds its arguments to
its part of the command line parser (``add_arguments``) and carries the command out
(``main``, which returns the exit status). heapline.cli puts them together;
what they share is here."""

from __future__ import annotations

import argparse
import os
import sys

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time
if TYPE_CHECKING:
    from typing import Any, NoReturn

PROG = "heapline"


class UsageError(Exception):
    """A problem with the command line or the target; one line for the user."""


class _Formatter(argparse.HelpFormatter):
    """argparse's formatter, sized without importing shutil (7 ms of the
    start-up of every `heapline run`, spent before the program starts)."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None, **kwargs: Any) -> None:
        if width is None:
            try:
                columns = int(os.environ["COLUMNS"])
            except (KeyError, ValueError):
                try:
                    columns = os.get_terminal_size(sys.stdout.fileno()).columns
                except (AttributeError, ValueError, OSError):
                    columns = 80
            width = max(columns, 40) - 2
        super().__init__(prog, indent_increment, max_help_position, width, **kwargs)


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def check_output(path: str, option: str = "--json") -> str:
    """The absolute path of an output file, if it can be written (else the
    reason, before the program starts)."""
    out = os.path.realpath(os.path.expanduser(path))
    parent = os.path.dirname(out)
    if os.path.isdir(out):
        raise UsageError(f"{option} {path}: is a directory")
    if not os.path.isdir(parent):
        raise UsageError(f"{option} {path}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise UsageError(f"{option} {path}: directory {parent} is not writable")
    return out


def positive_int(text: str) -> int:
    """argparse type: an integer above 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    return value
