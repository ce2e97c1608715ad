"""The argparse parts that the commands share: the parser class (errors as
UsageError, sized without shutil) and argument types. Imported only when a
command line is read with argparse: `heapline run` with the documented
spellings is read without it (heapline.commands.runline), which keeps
argparse, re and enum (about 6 ms) out of the time before the program starts."""

from __future__ import annotations

import argparse
import os
import sys

from heapline.commands import UsageError

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time
if TYPE_CHECKING:
    from typing import Any, NoReturn


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


class Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def positive_int(text: str) -> int:
    """argparse type: an integer above 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    return value
