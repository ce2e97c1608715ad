"""`heapline run` in preload mode: starts the program in a new interpreter with
the C core in LD_PRELOAD, waits for it, and writes its profile.

The profiled process only leaves its raw data (marshal, in a private directory)
as it ends; this process, which has nothing else to do meanwhile, imports the
document and report code while the program runs and builds, writes and prints
the profile after it. So the program's own exit costs a few milliseconds, not
the import of the report's libraries, and its command line is the program's:
`python …/heapline/_launch.py prog.py ARGS` (`ps`, `pgrep -f prog.py`).

The program must not notice: it gets the terminal, standard streams and
environment (plus the preload and the options); signals meant for it reach it
(Ctrl-C goes to the whole foreground group; SIGTERM, SIGHUP, SIGQUIT, SIGUSR1
and SIGUSR2 sent to this process are passed on); and this process ends as the
program did, with its exit status or by the same signal.
"""

from __future__ import annotations

import _signal as signal  # type: ignore[import-not-found]  # signal imports enum: slow
import os
import sys

from heapline import rundir
from heapline.options import ENV_VAR, PACKAGE_DIR, Options
from heapline.output import flush_quietly, say

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time
if TYPE_CHECKING:
    from types import FrameType
    from typing import NoReturn

#: Signals passed on to the program when this process receives them.
_FORWARDED = (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2)


class _Relay:
    """Passes signals on to the program, once it is started."""

    def __init__(self) -> None:
        self.pid = 0
        self.pending: list[int] = []

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.pid:
            try:
                os.kill(self.pid, signum)
            except ProcessLookupError:
                pass
        else:
            self.pending.append(signum)

    def install(self) -> None:
        # Ctrl-C reaches the program from the terminal itself: here it is
        # only not to end this process. A disposition that was "ignore" stays
        # so, and is inherited by the program as it would be from a shell;
        # handlers set here are reset to the default in the program by exec.
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            signal.signal(signal.SIGINT, lambda signum, frame: None)
        for sig in _FORWARDED:
            if signal.getsignal(sig) == signal.SIG_DFL:
                signal.signal(sig, self)

    def started(self, pid: int) -> None:
        self.pid = pid
        for signum in self.pending:
            self(signum, None)


def run(opts: Options, library: str | None) -> NoReturn:
    """Runs the target with `library` preloaded (None: CPU only, no preload) and
    ends this process as the program ended."""
    writes = bool(opts.json_path or opts.report or opts.html_path)
    if writes:
        opts.run_dir = rundir.create(opts.without_target())
    env = dict(os.environ)
    if library:
        old = env.get("LD_PRELOAD", "")
        env["LD_PRELOAD"] = library + (":" + old if old else "")
    # The program's process leaves its part in the run directory and this one
    # writes the outputs, so it is not told their paths: their lengths would
    # change its environment, with it the layout of its heap (realloc in
    # place or not), and so where --seed's samples fall.
    told = Options.from_values(opts.without_target())
    told.json_path = told.html_path = None
    env[ENV_VAR] = told.to_env()
    if opts.run_dir and opts.children:
        env[rundir.CHILDREN_ENV] = opts.run_dir
    else:
        env.pop(rundir.CHILDREN_ENV, None)
    argv = [sys.executable, os.path.join(PACKAGE_DIR, "_launch.py"), *opts.target_words()]
    relay = _Relay()
    relay.install()
    sys.stdout.flush()
    sys.stderr.flush()
    # SIGPIPE and SIGXFSZ as a shell would leave them (python ignores both)
    pid = os.posix_spawn(sys.executable, argv, env,
                         setsigdef=(signal.SIGPIPE, signal.SIGXFSZ))
    relay.started(pid)
    if writes:
        _prepare(opts)
    _, status = os.waitpid(pid, 0)  # retried after signal handlers (PEP 475)
    if opts.run_dir:
        if _write_profile(opts, opts.run_dir, pid, status) and not opts.keep_run_dir:
            rundir.remove(opts.run_dir)
        elif os.path.isdir(opts.run_dir):
            say(sys.stderr, f"heapline: the processes' profile data is kept in {opts.run_dir} "
                            f"(`heapline show {opts.run_dir}` makes the profile)")
    _end_as(status)


def _prepare(opts: Options) -> None:
    """Imports what writing the profile needs, while the program runs, and does
    the work its first use would do (the library roots, the source decoder)."""
    import codecs
    import sysconfig

    import heapline._core  # noqa: F401
    import heapline.document  # noqa: F401
    import heapline.leaks  # noqa: F401
    import heapline.merge  # noqa: F401

    sysconfig.get_paths()  # (names.py) loads the build's configuration data
    codecs.lookup("utf-8-sig")  # (document.source_lines)
    if opts.report:
        import rich.console  # noqa: F401

        import heapline.reporters.terminal  # noqa: F401
    if opts.html_path:
        import heapline.reporters.html  # noqa: F401


def _write_profile(opts: Options, path: str, pid: int, status: int) -> bool:
    """Merges the run directory into the profile and delivers it, once the
    program (`pid`, ended with wait status `status`) has ended; False when the
    directory holds data that could not be made into a profile (said in one
    line)."""
    from heapline.document import from_raw
    from heapline.merge import MergeError, collect, merge, wait_for_unfinished
    from heapline.output import deliver

    wait_for_unfinished(path)
    try:
        parts, _ = collect(path)
        if os.WIFSIGNALED(status):
            import signal as signals

            name = signals.Signals(os.WTERMSIG(status)).name
            mine = [p for p in parts if p["process"].get("pid") == pid]
            if not mine:
                say(sys.stderr, f"heapline: error: the program was ended by {name} before it "
                                f"could save its profile; no profile was written")
                return not parts
            if not mine[0].get("complete", True):
                say(sys.stderr, f"heapline: the program was ended by {name}; its profile holds "
                                f"what it had recorded until then")
        # the exit status as Python's subprocess says it (-N: ended by signal N)
        doc = from_raw(merge(parts, pid, os.waitstatus_to_exitcode(status)))
    except MergeError as e:
        say(sys.stderr, f"heapline: error: {e}")
        return False
    except Exception as e:  # noqa: BLE001 - one line, never a traceback
        say(sys.stderr, f"heapline: error: could not build the profile: {type(e).__name__}: {e}")
        return False
    deliver(doc, opts)
    return True


def _end_as(status: int) -> NoReturn:
    """Ends this process with the program's exit status, or by its signal
    (also when standard output or error is a pipe its reader has closed)."""
    flush_quietly(sys.stdout)
    flush_quietly(sys.stderr)
    if os.WIFSIGNALED(status):
        signum = os.WTERMSIG(status)
        if signum not in (signal.SIGKILL, signal.SIGSTOP):  # these cannot be caught
            signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        # a signal whose default is not to end the process: end as a shell says
        os._exit(128 + signum)
    os._exit(os.waitstatus_to_exitcode(status))
