"""`heapline show PROFILE.json`: the terminal report of a saved profile."""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time
if TYPE_CHECKING:
    import argparse


def add_arguments(show: argparse.ArgumentParser) -> None:
    show.add_argument("profile", metavar="FILE")


def main(ns: argparse.Namespace) -> int:
    from rich.console import Console

    from heapline.commands import UsageError
    from heapline.model import ProfileError, load_profile
    from heapline.reporters.terminal import render

    try:
        doc = load_profile(ns.profile)
    except ProfileError as exc:
        raise UsageError(str(exc)) from None
    # as `heapline run` prints its report: the terminal's width, else 120
    # columns (rich's own default when piped is 80)
    render(doc, Console(width=None if sys.stdout.isatty() else 120, force_jupyter=False))
    return 0
