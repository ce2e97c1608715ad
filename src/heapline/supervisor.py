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

import os
import signal
import sys

from heapline.options import ENV_VAR, PACKAGE_DIR, Options

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time
if TYPE_CHECKING:
    from types import FrameType
    from typing import NoReturn

#: Signals passed on to the program when this process receives them.
_FORWARDED = (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2)


def _private_dir() -> str:
    """A new directory only this user can enter, with an unpredictable name."""
    base = os.environ.get("TMPDIR") or "/tmp"
    for _ in range(100):
        path = os.path.join(base, f"heapline-{os.getpid()}-{os.urandom(8).hex()}")
        try:
            os.mkdir(path, 0o700)
            return path
        except FileExistsError:
            continue
    raise OSError(f"could not make a private directory in {base}")


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
    workdir = _private_dir()
    result = os.path.join(workdir, "result")
    opts.result_path = result
    env = dict(os.environ)
    if library:
        old = env.get("LD_PRELOAD", "")
        env["LD_PRELOAD"] = library + (":" + old if old else "")
    env[ENV_VAR] = opts.to_env()
    argv = [sys.executable, os.path.join(PACKAGE_DIR, "_launch.py"), *opts.target_words()]
    relay = _Relay()
    relay.install()
    sys.stdout.flush()
    sys.stderr.flush()
    # SIGPIPE and SIGXFSZ as a shell would leave them (python ignores both)
    pid = os.posix_spawn(sys.executable, argv, env,
                         setsigdef=(signal.SIGPIPE, signal.SIGXFSZ))
    relay.started(pid)
    if opts.json_path or opts.report or opts.html_path:
        _prepare(opts)
    _, status = os.waitpid(pid, 0)  # retried after signal handlers (PEP 475)
    try:
        _write_profile(opts, result, status)
    finally:
        _remove(workdir)
    _end_as(status)


def _prepare(opts: Options) -> None:
    """Imports what writing the profile needs, while the program runs."""
    import heapline.document  # noqa: F401

    if opts.report:
        import rich.console  # noqa: F401

        import heapline.reporters.terminal  # noqa: F401
    if opts.html_path:
        import heapline.reporters.html  # noqa: F401


def _write_profile(opts: Options, result: str, status: int) -> None:
    if not (opts.json_path or opts.report or opts.html_path):
        return
    import marshal

    from heapline.document import from_raw
    from heapline.output import deliver

    try:
        with open(result, "rb") as f:
            raw = marshal.load(f)
    except FileNotFoundError:
        if os.WIFSIGNALED(status):
            name = signal.Signals(os.WTERMSIG(status)).name
            print(f"heapline: error: the program was ended by {name} before it could save "
                  f"its profile; no profile was written", file=sys.stderr)
        return
    except (OSError, ValueError, EOFError, TypeError) as e:
        print(f"heapline: error: could not read the program's profile data: {e}",
              file=sys.stderr)
        return
    try:
        doc = from_raw(raw)
    except Exception as e:  # noqa: BLE001 - one line, never a traceback
        print(f"heapline: error: could not build the profile: {type(e).__name__}: {e}",
              file=sys.stderr)
        return
    deliver(doc, opts)


def _remove(workdir: str) -> None:
    for name in os.listdir(workdir):
        try:
            os.unlink(os.path.join(workdir, name))
        except OSError:
            pass
    try:
        os.rmdir(workdir)
    except OSError:
        pass


def _end_as(status: int) -> NoReturn:
    """Ends this process with the program's exit status, or by its signal."""
    sys.stdout.flush()
    sys.stderr.flush()
    if os.WIFSIGNALED(status):
        signum = os.WTERMSIG(status)
        if signum not in (signal.SIGKILL, signal.SIGSTOP):  # these cannot be caught
            signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        # a signal whose default is not to end the process: end as a shell says
        os._exit(128 + signum)
    os._exit(os.waitstatus_to_exitcode(status))
