"""`heapline diff BEFORE.json AFTER.json`: what changed between two profiles,
line by line and function by function (matched across edits), in the terminal
and, with --html, as a page; --fail-over PCT fails (exit status 1) when the
peak footprint or the total allocation grew by more than PCT percent."""

from __future__ import annotations

import sys

from heapline.commands.parser import positive_int

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time
if TYPE_CHECKING:
    import argparse


def _percent(text: str) -> float:
    import argparse

    try:
        value = float(text.rstrip("%"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a percentage, 0 or more: {text!r}")
    return value


def add_arguments(diff: argparse.ArgumentParser) -> None:
    diff.add_argument("before", metavar="BEFORE.json")
    diff.add_argument("after", metavar="AFTER.json")
    diff.add_argument("--html", dest="html_path", metavar="OUT.html",
                      help="also write the comparison as a self-contained HTML page")
    diff.add_argument("--fail-over", type=_percent, metavar="PCT",
                      help="exit with status 1 when the peak footprint or the total "
                           "allocation grew by more than PCT percent (for CI)")
    diff.add_argument("--top", type=positive_int, default=20, metavar="N",
                      help="lines and functions to show in the terminal (default 20)")


def main(ns: argparse.Namespace) -> int:
    from heapline.commands import UsageError, check_output
    from heapline.compare import compare
    from heapline.model import ProfileError, load_profile
    from heapline.reporters.diff import render
    from heapline.reporters.terminal import report_console

    try:
        before, after = load_profile(ns.before), load_profile(ns.after)
    except ProfileError as exc:
        raise UsageError(str(exc)) from None
    out = check_output(ns.html_path, "--html") if ns.html_path else None
    comparison = compare(before, after, ns.before, ns.after)
    render(comparison, report_console(), top=ns.top)
    if out:
        from heapline.reporters.html import render_diff, write_page

        try:
            write_page(render_diff(comparison), out)
        except OSError as e:
            raise UsageError(f"could not write {out}: {e.strerror or e}") from None
        print(f"heapline: wrote {out}", file=sys.stderr)
    if ns.fail_over is not None:
        failed = []
        for key, what in (("peak", "peak footprint"), ("alloc", "total allocation")):
            grew = comparison.growth_pct()[key]
            if grew is None or grew > ns.fail_over:
                failed.append(f"{what} grew by "
                              f"{'more than any percentage (from 0)' if grew is None else f'{grew:.1f}%'}")
        if failed:
            print(f"heapline: {'; '.join(failed)} (over --fail-over {ns.fail_over:g}%)",
                  file=sys.stderr)
            return 1
    return 0
