"""`heapline view PROFILE.json [-o OUT.html] [--open]`: the HTML page of a
saved profile (the page `heapline run --html` writes)."""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time
if TYPE_CHECKING:
    import argparse


def add_arguments(view: argparse.ArgumentParser) -> None:
    view.add_argument("profile", metavar="PROFILE.json")
    view.add_argument("-o", "--output", metavar="OUT.html",
                      help="where to write the page (default: the profile's name with .html)")
    view.add_argument("--open", action="store_true", help="open the page in the web browser")


def default_output(profile: str) -> str:
    """`run.json` -> `run.html`; `run.prof` -> `run.prof.html`."""
    stem, ext = os.path.splitext(profile)
    return (stem if ext.lower() == ".json" else profile) + ".html"


def main(ns: argparse.Namespace) -> int:
    from heapline.commands import UsageError, check_output
    from heapline.model import ProfileError, load_profile
    from heapline.reporters.html import write_profile_page

    try:
        doc = load_profile(ns.profile)
    except ProfileError as exc:
        raise UsageError(str(exc)) from None
    out = check_output(ns.output or default_output(ns.profile), "-o")
    try:
        write_profile_page(doc, out, source=os.path.basename(ns.profile))
    except OSError as e:
        raise UsageError(f"could not write {out}: {e.strerror or e}") from None
    print(f"heapline: wrote {out}", file=sys.stderr)
    if ns.open:
        import pathlib
        import webbrowser

        if not webbrowser.open(pathlib.Path(out).as_uri()):
            print("heapline: no web browser could be started; open the file yourself",
                  file=sys.stderr)
    return 0
