"""The `heapline` command: one subcommand per module of heapline.commands
(run, show, view, diff), put together in one argument parser. Only the module of the
command being run is imported (with its arguments), so `heapline run` loads
none of the others' code before the program starts."""

from __future__ import annotations

import sys

from heapline import __version__
from heapline.commands import PROG, UsageError

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time
if TYPE_CHECKING:
    import argparse
    from typing import Sequence

__all__ = ["PROG", "UsageError", "build_parser", "main"]

#: Each command (a module of heapline.commands) and the line that `heapline
#: --help` shows for it.
COMMANDS = {
    "run": "run a Python program under the profiler",
    "show": "print the report of a saved profile (JSON)",
    "view": "write the HTML page of a saved profile (and open it)",
    "diff": "compare two saved profiles, line by line",
}


def _module(name: str) -> object:
    module = f"heapline.commands.{name}"
    __import__(module)
    return sys.modules[module]


def _command_word(argv: Sequence[str]) -> str | None:
    """The command named in argv (the first word that is not an option)."""
    for word in argv:
        if not word.startswith("-"):
            return word
    return None


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser; given the command line, with the arguments of its command
    only (all commands' otherwise)."""
    from heapline.commands.parser import Parser

    parser = Parser(prog=PROG, description="Line-level CPU and memory profiler for Python.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    chosen = _command_word(argv) if argv is not None else None
    for name, help_text in COMMANDS.items():
        command = sub.add_parser(name, help=help_text)
        if chosen not in COMMANDS or chosen == name:
            _module(name).add_arguments(command)  # type: ignore[attr-defined]
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    try:
        if words and words[0] == "run":
            from heapline.commands import runline

            quick = runline.read(words[1:])
            if quick is not None:  # the program starts before argparse is imported
                from heapline.commands import run

                run.main(quick)
            from heapline.commands.run import split_module_target

            words = split_module_target(words)
        parser = build_parser(words)
        ns = parser.parse_args(words)
        if ns.command is None:
            parser.print_help()
            return 2
        return int(_module(ns.command).main(ns))  # type: ignore[attr-defined]
    except UsageError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
