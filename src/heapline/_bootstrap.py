"""Runs inside the profiled interpreter (started by `heapline run` with the core
preloaded, or called by `heapline run --in-process` in its own): configures the
core, runs the target as `__main__`, and writes the profile at the very end of
the process, whatever way it exits.

The program must not notice heapline: same argv, sys.path[0], `__main__`,
output, exit status, and tracebacks without heapline's own frames.
"""

from __future__ import annotations

import atexit
import builtins
import os
import _signal as signal  # type: ignore[import-not-found]  # signal imports enum: slow
import sys
from importlib.machinery import SourceFileLoader
TYPE_CHECKING = False  # not typing's: importing typing costs start-up time
if TYPE_CHECKING:
    from types import TracebackType
    from typing import Any

from heapline import _core
from heapline import session as heapline_session
from heapline.options import ENV_VAR, Options
from heapline.session import Session

class RunSession(Session):
    """The session of a `heapline run`: writes the profile at the very end of
    the process, whatever way it exits."""

    owns_process = True

    def __init__(self, opts: Options) -> None:
        program = opts.target if opts.is_module else os.path.abspath(opts.target)
        super().__init__(opts, program, [opts.target, *opts.args])
        self.finished = False
        self.reraise_sigint = False
        self.pid = os.getpid()

    def finish(self, at_exit: bool = False) -> None:
        """Write the profile. `at_exit`: from os._exit, where the program's
        buffered output is lost as it would be without heapline (nothing here
        flushes stdout then)."""
        if self.finished:
            return
        self.finished = True
        if os.getpid() != self.pid:
            # a child made by fork() that exits through atexit: the profile
            # file is the parent's to write
            return
        self.stop()
        try:
            doc = self._build()
        finally:
            _core.detach()
        if doc is not None:
            if not at_exit:
                _flush(sys.stdout)
            from heapline.output import deliver

            deliver(doc, self.opts)
        if self.reraise_sigint:
            self._die_by(signal.SIGINT)

    def _build(self) -> dict[str, Any] | None:
        """The document to deliver here; None when there is none, or when the
        supervising `heapline run` process delivers it (the raw data is saved
        for it then)."""
        if not (self.opts.json_path or self.opts.report or self.opts.html_path):
            return None
        try:
            if self.opts.result_path:
                _save_raw(self.raw(), self.opts.result_path)
                return None
            return self.document()
        except Exception as e:  # never change how the program ends
            print(f"heapline: error: could not build the profile: {type(e).__name__}: {e}",
                  file=sys.stderr)
            return None

    @staticmethod
    def _die_by(signum: int) -> None:
        """End the process by the signal's default action, as it would have."""
        _flush(sys.stdout)
        _flush(sys.stderr)
        if sys.platform == "win32":
            # Windows' exit codes for these: STATUS_CONTROL_C_EXIT, as python
            # ends after an uncaught KeyboardInterrupt; 3, the C runtime's
            # default action for SIGTERM
            os._exit(0xC000013A if signum == signal.SIGINT else 3)
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    def on_sigterm(self, signum: int, frame: object) -> None:
        """SIGTERM would end the process without atexit: write the profile first.
        A program that installs its own SIGTERM handler replaces this one."""
        self.finish()
        self._die_by(signum)


def _flush(stream: Any) -> None:
    """Flushes a standard stream, which a signal handler may find in the middle
    of a write of the program's (a reentrant flush raises) or closed."""
    try:
        stream.flush()
    except (RuntimeError, OSError, ValueError, AttributeError):
        pass


def _save_raw(raw: dict[str, Any], path: str) -> None:
    """Leaves the session's raw data for the supervising process (marshal: built
    in, so nothing is imported as the program ends). Written under another name
    and renamed, so the supervisor never reads half a file."""
    import marshal

    tmp = path + ".part"
    with open(tmp, "wb") as f:
        marshal.dump(raw, f)
    os.replace(tmp, path)


def _trim(tb: TracebackType | None, skip: set[str]) -> TracebackType | None:
    while tb is not None and tb.tb_frame.f_code.co_filename in skip:
        tb = tb.tb_next
    return tb


def _run_script(given: str, args: list[str]) -> None:
    """As `python given args`: argv[0] as given, __file__ absolute, sys.path[0]
    the directory of the real file (symlinks resolved)."""
    path = os.path.abspath(given)
    sys.argv = [given, *args]
    sys.path.insert(0, os.path.dirname(os.path.realpath(path)))
    with open(path, "rb") as f:
        source = f.read()
    code = compile(source, path, "exec", dont_inherit=True)
    main = sys.modules["__main__"]
    ns: dict[str, Any] = main.__dict__
    ns.clear()
    ns.update(__name__="__main__", __file__=path, __cached__=None, __doc__=None,
              __loader__=SourceFileLoader("__main__", path), __package__=None, __spec__=None,
              __builtins__=builtins)
    exec(code, ns)


def _run_module(name: str, args: list[str]) -> None:
    """As `python -m name args`, through the same runpy function, so the
    module's globals and tracebacks are the same too."""
    import runpy

    sys.argv = [name, *args]
    sys.path.insert(0, os.getcwd())
    # runpy runs the module in __main__'s namespace: start it empty, as python -m does
    ns = sys.modules["__main__"].__dict__
    ns.clear()
    ns.update(__name__="__main__", __builtins__=builtins)
    runpy._run_module_as_main(name, alter_argv=True)  # type: ignore[attr-defined]


def main(opts: Options | None = None, target_words: list[str] | None = None) -> None:
    """Run the target that `opts` names (default: the options in the environment,
    with the target from `target_words`, the launcher's command line); returns
    when the program ends without an exception."""
    if opts is None:
        try:
            opts = Options.from_env()
            opts.set_target_words(target_words or [])
        except ValueError as e:
            print(f"heapline: error: {e} (start programs with `heapline run`)", file=sys.stderr)
            raise SystemExit(2)
    os.environ.pop(ENV_VAR, None)
    session = RunSession(opts)
    heapline_session.current = session
    # Registered first, so it runs last: after the program's own atexit
    # handlers and after non-daemon threads have been joined.
    atexit.register(session.finish)
    _core.set_exit_callback(lambda: session.finish(at_exit=True))
    if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, session.on_sigterm)
    if not opts.off:
        session.start()
    skip = {__file__}
    try:
        if opts.is_module:
            _run_module(opts.target, opts.args)
        else:
            _run_script(opts.target, opts.args)
    except SystemExit:
        raise
    except BaseException as e:  # noqa: BLE001 - shown as Python would, then exit 1
        tb = _trim(e.__traceback__, skip)
        sys.excepthook(type(e), e.with_traceback(tb), tb)
        if isinstance(e, KeyboardInterrupt):
            session.reraise_sigint = True
        raise SystemExit(1) from None
