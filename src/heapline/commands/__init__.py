"""One module per `heapline` command (run, show, view, diff): each adds its arguments to
its part of the command line parser (``add_arguments``) and carries the command out
(``main``, which returns the exit status). heapline.cli puts them together;
what they share is here, and the argparse parts in heapline.commands.parser
(not imported by a `heapline run` that heapline.commands.runline reads)."""

from __future__ import annotations

import os

PROG = "heapline"


class UsageError(Exception):
    """A problem with the command line or the target; one line for the user."""


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
