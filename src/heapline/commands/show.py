"""`heapline show PROFILE.json`: the terminal report of a saved profile.

`heapline show RUN_DIR` makes the profile from a run directory that a
`heapline run` left behind (when it was killed itself, or was asked to keep
it with --keep-run-dir): the parts its processes saved, and what killed ones
had recorded; `-o FILE` also writes the profile document.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time
if TYPE_CHECKING:
    import argparse
    from typing import Any


def add_arguments(show: argparse.ArgumentParser) -> None:
    show.add_argument("profile", metavar="FILE|RUN_DIR",
                      help="a profile (JSON), or the run directory a heapline run left")
    show.add_argument("-o", "--json", dest="json_path", metavar="FILE",
                      help="with a run directory: also write the profile document to FILE")


def main(ns: argparse.Namespace) -> int:
    from heapline import rundir
    from heapline.commands import UsageError, check_output
    from heapline.model import ProfileError, load_profile
    from heapline.reporters.terminal import render, report_console

    if rundir.is_run_dir(ns.profile):
        doc = _from_run_dir(ns.profile)
        if ns.json_path:
            from heapline.document import write_json

            write_json(doc, check_output(ns.json_path))
    else:
        if ns.json_path:
            raise UsageError("show: -o works with a run directory only")
        try:
            doc = load_profile(ns.profile)
        except ProfileError as exc:
            raise UsageError(str(exc)) from None
    render(doc, report_console())
    return 0


def _from_run_dir(path: str) -> dict[str, Any]:
    from heapline.commands import UsageError
    from heapline.document import from_raw
    from heapline.merge import MergeError, collect, merge

    try:
        parts, problems = collect(path)
        doc = from_raw(merge(parts))
    except MergeError as e:
        raise UsageError(f"show: {path}: {e}") from None
    for line in problems:
        print(f"heapline: warning: {path}: {line}", file=sys.stderr)
    return doc
