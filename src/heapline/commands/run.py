"""`heapline run`: argument parsing, up-front checks of the target, and the
run itself: on Linux, re-execution of the interpreter with the core preloaded
(heapline.supervisor); with --in-process, and on Windows (which has no
preload), the program runs in this interpreter with the loaded modules'
imports patched."""

from __future__ import annotations

import os
import sys

from heapline.commands import PROG, UsageError, check_output
from heapline.options import DEFAULT_CPU_INTERVAL, DEFAULT_INTERVAL, PACKAGE_DIR, Options

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time
if TYPE_CHECKING:
    import argparse
    from typing import NoReturn

    from heapline.commands.runline import RunArgs


def _positive_float(text: str) -> float:
    import argparse

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number: {text!r}")
    return value


def add_arguments(run: argparse.ArgumentParser) -> None:
    import argparse

    from heapline.commands.parser import positive_int

    run.usage = f"{PROG} run [options] (script.py | -m module) [args ...]"
    run.add_argument("-o", "--json", dest="json_path", metavar="FILE",
                     help="write the profile document (JSON) to FILE")
    run.add_argument("--html", dest="html_path", metavar="FILE",
                     help="write the report as a self-contained HTML page to FILE")
    run.add_argument("--no-report", dest="report", action="store_false",
                     help="do not print the terminal report at exit")
    run.add_argument("--profile-all", action="store_true",
                     help="also charge lines of the standard library and installed packages")
    run.add_argument("--profile-only", metavar="SUBSTR[,SUBSTR]", default="",
                     help="only charge lines of files whose path contains one of these")
    run.add_argument("--sampling-interval", type=positive_int, default=DEFAULT_INTERVAL,
                     metavar="BYTES",
                     help=f"mean bytes between allocation samples (default {DEFAULT_INTERVAL})")
    run.add_argument("--seed", type=positive_int, default=0, help=argparse.SUPPRESS)
    mode = run.add_mutually_exclusive_group()
    mode.add_argument("--cpu-only", action="store_true", help="profile CPU time only")
    mode.add_argument("--memory-only", action="store_true", help="profile memory only")
    run.add_argument("--cpu-interval", type=_positive_float, default=DEFAULT_CPU_INTERVAL,
                     metavar="SECONDS",
                     help=f"mean seconds between CPU samples (default {DEFAULT_CPU_INTERVAL})")
    run.add_argument("--off", action="store_true",
                     help="start with profiling off; the program turns it on with "
                          "heapline.start() (and off with heapline.stop())")
    run.add_argument("--wall", action="store_true",
                     help="charge elapsed (wall-clock) time instead of CPU time, so waiting "
                          "and sleeping lines show up")
    run.add_argument("--no-children", dest="children", action="store_false",
                     help="profile only the program's own process, not the Python processes "
                          "it starts (multiprocessing, subprocess, fork)")
    run.add_argument("--keep-run-dir", action="store_true",
                     help="keep the directory where the program's processes leave their parts "
                          "(`heapline show DIR` makes the profile from it again)")
    run.add_argument("--in-process", action="store_true",
                     help="run the program in this interpreter and patch the loaded modules' "
                          "imports, instead of restarting Python with the core preloaded "
                          "(always so on Windows)")
    # (-m is not an argparse option: main() hands "-m module args..." to this
    # positional whole, see _split_module_target)
    run.add_argument("target", nargs=argparse.REMAINDER, metavar="script.py [args ...]",
                     help="the script and its arguments; or -m MODULE and its arguments, as "
                          "with python -m")


def _check_script(path: str) -> str:
    if not os.path.exists(path):
        raise UsageError(f"can't open file '{path}': no such file")
    if os.path.isdir(path):
        raise UsageError(f"'{path}' is a directory, not a Python script")
    try:
        with open(path, "rb") as f:
            source = f.read()
    except OSError as e:
        raise UsageError(f"can't read '{path}': {e.strerror}") from None
    try:
        compile(source, path, "exec", dont_inherit=True)
    except SyntaxError as e:
        where = f"{path}:{e.lineno}" if e.lineno else path
        raise UsageError(f"{where}: {type(e).__name__}: {e.msg}") from None
    except ValueError as e:  # e.g. null bytes
        raise UsageError(f"{path}: {e}") from None
    return path  # as given: the program sees it in sys.argv[0], as with python


def _check_module(name: str) -> list[str]:
    """Checks that `python -m name` finds the module; returns the files of its
    top-level package (a directory, ending in a separator, or one file), which
    are the program's own even when installed (`heapline run -m black`)."""
    import importlib.util  # here, not at the top: `heapline run script.py` needs none of it

    # searched as `python -m` will: the current directory first
    saved = list(sys.path)
    sys.path.insert(0, os.getcwd())
    try:
        spec = importlib.util.find_spec(name)
        top = importlib.util.find_spec(name.split(".")[0]) if spec is not None else None
    except (ImportError, ValueError) as e:
        raise UsageError(f"no module named {name!r} ({e})") from None
    finally:
        sys.path[:] = saved
    if spec is None:
        raise UsageError(f"no module named {name!r}")
    places: list[str] = []
    if top is not None and top.submodule_search_locations:
        places = [os.path.join(p, "") for p in top.submodule_search_locations]
    elif top is not None and top.has_location and top.origin:
        places = [top.origin]
    # as the frames may name them: as found, and with symbolic links resolved
    places += [os.path.join(os.path.realpath(p), "") if p.endswith(os.sep)
               else os.path.realpath(p) for p in places]
    own = os.path.join(PACKAGE_DIR, "")
    return sorted({p for p in places if os.path.isabs(p) and not p.startswith(own)})


def options_from_args(ns: argparse.Namespace | RunArgs) -> Options:
    target: list[str] = list(ns.target)
    if target and target[0] == "--":
        target = target[1:]
    if not target:
        raise UsageError("run: give a script to run (heapline run prog.py) or -m module")
    if target[0].startswith("-m"):
        if target[0] != "-m":  # -mNAME, as python accepts
            target = ["-m", target[0][2:], *target[1:]]
        if len(target) < 2:
            raise UsageError("run: -m needs a module name")
        include = _check_module(target[1])
        name, is_module, args = target[1], True, target[2:]
    else:
        include = []
        name, is_module, args = _check_script(target[0]), False, target[1:]
    only = [s for s in ns.profile_only.split(",") if s]
    return Options(
        target=name,
        is_module=is_module,
        args=args,
        interval=ns.sampling_interval,
        profile_all=ns.profile_all,
        profile_only=only,
        profile_include=include,
        json_path=check_output(ns.json_path) if ns.json_path else None,
        html_path=check_output(ns.html_path, "--html") if ns.html_path else None,
        report=ns.report,
        seed=ns.seed,
        cpu=not ns.memory_only,
        memory=not ns.cpu_only,
        cpu_interval=ns.cpu_interval,
        wall=ns.wall,
        off=ns.off,
        children=ns.children,
        keep_run_dir=ns.keep_run_dir,
    )


def preload_library() -> str:
    lib = os.path.join(PACKAGE_DIR, "libheapline.so")
    if not os.path.exists(lib):
        raise UsageError(f"the core library is missing ({lib}); reinstall heapline")
    return lib


def run_profiled(opts: Options, in_process: bool) -> NoReturn:
    """Run the target under the profiler; never returns."""
    from heapline.interpreter import refusal

    why = refusal()
    if why:
        raise UsageError(why)
    if in_process or sys.platform == "win32":
        run_in_process(opts)
    if not sys.platform.startswith("linux"):
        raise UsageError(f"heapline run is not supported on {sys.platform} yet")
    run_preloaded(opts)


def run_in_process(opts: Options) -> NoReturn:
    """Run the target in this interpreter, as the preloaded launcher would."""
    try:
        from heapline import _bootstrap
    except ImportError as e:  # the C core refused this interpreter
        raise UsageError(str(e)) from None

    # this command's own entry (the directory of the `heapline` script, or the
    # current directory under `python -m heapline`): the bootstrap puts the
    # program's first, as python would
    if sys.path:
        del sys.path[0]
    _bootstrap.main(opts)
    # The program ended without an exception: exit as python would. (Not a
    # return: the caller's globals may be the program's __main__ now.)
    raise SystemExit(0)


def run_preloaded(opts: Options) -> NoReturn:
    """Run the target in a new interpreter with the core preloaded (CPU-only runs
    need no allocator hooks at all); this process writes the profile."""
    from heapline import supervisor

    supervisor.run(opts, preload_library() if opts.memory else None)


#: `heapline run` options that take a value in the next word.
_RUN_VALUE_OPTIONS = {"-o", "--json", "--html", "--profile-only", "--sampling-interval", "--seed",
                      "--cpu-interval"}


def split_module_target(argv: list[str]) -> list[str]:
    """`heapline run [options] -m module args...`: everything from -m on is the
    target's, --help included, as with `python -m` (argparse would take options
    after the module name as heapline's own). A `--` before -m says so."""
    if not argv or argv[0] != "run":
        return argv
    i = 1
    while i < len(argv):
        word = argv[i]
        if word == "--" or not word.startswith("-") or word == "-":
            return argv  # the script (or an explicit end of options)
        if word.startswith("-m"):
            return [*argv[:i], "--", *argv[i:]]
        if word in _RUN_VALUE_OPTIONS:
            i += 1
        i += 1
    return argv


def main(ns: argparse.Namespace | RunArgs) -> NoReturn:
    run_profiled(options_from_args(ns), ns.in_process)
