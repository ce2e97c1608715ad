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
import time
from importlib.machinery import SourceFileLoader
TYPE_CHECKING = False  # not typing's: importing typing costs start-up time
if TYPE_CHECKING:
    from types import TracebackType
    from typing import Any

from heapline import _core, rundir
from heapline import session as heapline_session
from heapline.options import ENV_VAR, Options
from heapline.output import flush_quietly
from heapline.session import Session

class RunSession(Session):
    """The session of a `heapline run`, in the program's process or in one of
    the Python processes it starts: writes its part at the very end of the
    process, whatever way it exits. With a run directory (rundir.py), each
    process leaves its part there, a child made by fork() included, and the
    process that writes the profile merges them; without one, this process
    delivers its own profile."""

    owns_process = True

    def __init__(self, opts: Options, program: str, argv: list[str], top: bool = True) -> None:
        super().__init__(opts, program, argv)
        self.top = top  # the program's own process (not a child of it)
        self.leak_evidence = top
        self.finished = False  # finish() has begun
        self.done = False  # and ended
        self.die_by = 0  # a signal that came while finish() ran, to end by after it
        self.reraise_sigint = False
        self.pid = os.getpid()
        self.key = ""  # the name of this process's files in the run directory
        self.base_bytes = 0  # a forked child's footprint at the fork: its parent's
        self.start_mono = 0.0
        # in-process runs: the program's process merges the run directory
        # itself (preloaded, the supervising `heapline run` process does)
        self.delivers_merged = False
        self._cpu_paused = False  # the CPU sampling thread, stopped around a fork

    @classmethod
    def for_program(cls, opts: Options) -> RunSession:
        program = opts.target if opts.is_module else os.path.abspath(opts.target)
        return cls(opts, program, [opts.target, *opts.args])

    def start(self) -> None:
        super().start()
        if self.opts.run_dir and not self.key:
            self._announce()

    def _announce(self) -> None:
        """Joins the run directory: this process's tables go into a file there,
        and a start file says who it is."""
        path = self.opts.run_dir
        assert path
        self.key = rundir.new_key()
        if _core.tables_path() is None:  # (a forked child's is made at the fork)
            try:
                _core.tables_to_file(path)
            except OSError:
                pass  # the part is still saved at the end
        _core.tables_set_state(1)
        tables = _core.tables_path()
        self.start_mono = 0.0
        try:
            rundir.save_start(path, self.key, self._process_record(tables))
        except OSError:
            pass

    def _process_record(self, tables: str | None) -> dict[str, Any]:
        if not self.start_mono:  # the monotonic clock's reading at t0
            self.start_mono = time.monotonic() - (_core.now_s() - self.t0 if self.t0 else 0.0)
        return {
            "key": self.key, "pid": os.getpid(), "ppid": os.getppid(), "argv": self.argv,
            "program": self.program, "top": self.top, "start_mono": self.start_mono,
            "t0": self.t0, "base_bytes": self.base_bytes,
            "tables": os.path.basename(tables) if tables else None,
            "interval": self.opts.interval, "cpu_interval": self.opts.cpu_interval,
        }

    def before_fork(self) -> None:
        """No thread of heapline's at the fork: CPython (3.12+) warns about
        forking a process with threads, which this one may not have without
        heapline's CPU sampling thread."""
        tasks = _thread_count()
        self._cpu_paused = self.running and self.opts.cpu and _core.cpu_pause()
        if self._cpu_paused and tasks:
            # the joined thread leaves the kernel's count a moment later, and
            # CPython counts from there (/proc/self/stat): wait for it (a
            # few microseconds; 20 ms at most)
            for _ in range(200):
                if _thread_count() < tasks:
                    break
                time.sleep(0.0001)

    def after_fork_in_parent(self) -> None:
        # not now: CPython 3.13 counts the threads after these hooks
        if self._cpu_paused:
            self._cpu_paused = False
            _core.cpu_resume_soon()

    def after_fork_in_child(self) -> None:
        """A child made by fork() that keeps running Python: it profiles itself
        from the fork on (the core already keeps its tables apart from its
        parent's), and leaves its own part."""
        # the core gave the child SIGTERM's default action (see
        # hl_set_fork_child_sigterm_default): the handler Python has is back;
        # heapline's own, in a child it profiles, becomes the core's note
        # (see install)
        self._cpu_paused = False  # (the thread does not exist here)
        handler = signal.getsignal(signal.SIGTERM)
        follow = bool(self.opts.run_dir and self.opts.children) and not self.finished
        if follow and handler == self.on_sigterm:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            if not _core.install_term_note():
                signal.signal(signal.SIGTERM, handler)
        elif callable(handler):
            signal.signal(signal.SIGTERM, handler)
        if not follow:
            return  # children not followed: the profile stays the parent's
        self.pid = os.getpid()
        self.top = False
        self.leak_evidence = False
        self.delivers_merged = False
        self.key = ""
        # the core calls the exit callback in the process that set it only
        _core.set_exit_callback(lambda: self.finish(at_exit=True))
        if not self.running:
            return
        self.base_bytes = _core.footprint()[0]
        _core.reset()
        self.t0 = _core.now_s()
        self._counters0 = _core.counters()
        if self.opts.cpu:
            _core.cpu_start(self.opts.cpu_interval, self.opts.wall)
        self._announce()

    def finish(self, at_exit: bool = False) -> None:
        """Write the profile. `at_exit`: from os._exit, where the program's
        buffered output is lost as it would be without heapline (nothing here
        flushes stdout then)."""
        if self.finished:
            return
        self.finished = True
        if os.getpid() != self.pid:
            # a child made by fork() that exits through atexit, in a run that
            # does not follow children: the profile is the parent's to write
            self.done = True
            return
        self.stop()
        try:
            doc = self._build()
        finally:
            _core.detach()
        if doc is not None:
            if not at_exit:
                flush_quietly(sys.stdout)
            from heapline.output import deliver

            deliver(doc, self.opts)
        self.done = True
        if self.die_by:
            self._die_by(self.die_by)
        if self.reraise_sigint:
            self._die_by(signal.SIGINT)

    def _build(self) -> dict[str, Any] | None:
        """The document to deliver here; None when there is none, or when
        another process delivers it (this process's part is saved for it).
        A run directory exists only where something is to be written, so a
        process with one always leaves its part (the program's process under
        the supervisor is not told the output paths: supervisor.run)."""
        o = self.opts
        if not (o.run_dir or o.json_path or o.report or o.html_path):
            return None
        try:
            raw = self.raw()
            raw["process"] = self._process_record(None) | {"elapsed_s": raw["elapsed_s"]}
            if not self.opts.run_dir:  # this process alone
                from heapline.document import from_raw
                from heapline.merge import merge

                return from_raw(merge([raw], os.getpid()))
            if not self.key:  # profiling never started: nothing to merge with
                self.key = rundir.new_key()
            raw["process"]["key"] = self.key
            rundir.save_raw(self.opts.run_dir, self.key, raw)
            if self.top and self.delivers_merged:
                return _merged_document(self.opts.run_dir, self.opts)
            return None
        except Exception as e:  # never change how the program ends
            if self.top:
                print(f"heapline: error: could not build the profile: {type(e).__name__}: {e}",
                      file=sys.stderr)
            return None

    @staticmethod
    def _die_by(signum: int) -> None:
        """End the process by the signal's default action, as it would have."""
        flush_quietly(sys.stdout)
        flush_quietly(sys.stderr)
        if sys.platform == "win32":
            # Windows' exit codes for these: STATUS_CONTROL_C_EXIT, as python
            # ends after an uncaught KeyboardInterrupt; 3, the C runtime's
            # default action for SIGTERM
            os._exit(0xC000013A if signum == signal.SIGINT else 3)
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    def on_sigterm(self, signum: int, frame: object) -> None:
        """SIGTERM would end the process without atexit: write the profile first.
        A program that installs its own SIGTERM handler replaces this one. (In
        the program's own process only: in a child the core notes SIGTERM in
        the tables file instead, see install.)"""
        if self.finished and not self.done:
            # the part is being written (at exit, say): end when it is
            self.die_by = signum
            return
        self.finish()
        self._die_by(signum)


def _merged_document(path: str, opts: Options) -> dict[str, Any]:
    """The profile of the whole tree, from the run directory (in-process runs,
    whose program process writes the profile)."""
    from heapline import merge
    from heapline.document import from_raw

    merge.wait_for_unfinished(path)
    parts, _ = merge.collect(path)
    doc = from_raw(merge.merge(parts, os.getpid()))
    if not opts.keep_run_dir:
        rundir.remove(path)
    return doc


def _trim(tb: TracebackType | None, skip: set[str]) -> TracebackType | None:
    while tb is not None and tb.tb_frame.f_code.co_filename in skip:
        tb = tb.tb_next
    return tb


def _run_script(given: str, args: list[str], session: Session) -> None:
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
    session.restart_draws()
    exec(code, ns)


def _run_module(name: str, args: list[str], session: Session) -> None:
    """As `python -m name args`, through the same runpy function, so the
    module's globals and tracebacks are the same too."""
    import runpy

    sys.argv = [name, *args]
    sys.path.insert(0, os.getcwd())
    # runpy runs the module in __main__'s namespace: start it empty, as python -m does
    ns = sys.modules["__main__"].__dict__
    ns.clear()
    ns.update(__name__="__main__", __builtins__=builtins)
    session.restart_draws()
    runpy._run_module_as_main(name, alter_argv=True)  # type: ignore[attr-defined]


def _thread_count() -> int:
    """The kernel's count of this process's threads (Linux; else 0)."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return 0


def hide_from_environ(name: str) -> None:
    """Takes heapline's variable out of os.environ, so the program sees the
    environment it would see without heapline, but leaves it in the process's
    own environment, which the Python processes it starts inherit
    (subprocess, multiprocessing, os.exec* and os.system all pass it on unless
    given an environment of their own)."""
    data = getattr(os.environ, "_data", None)
    if data is None:
        return
    try:
        del data[os.environ.encodekey(name)]  # type: ignore[attr-defined]
    except KeyError:
        pass


def install(session: RunSession) -> None:
    """Makes `session` this process's, writing its part at every kind of exit."""
    heapline_session.current = session
    # Registered first (before the program's code runs), so it runs last:
    # after the program's own atexit handlers and after non-daemon threads
    # have been joined.
    atexit.register(session.finish)
    _core.set_exit_callback(lambda: session.finish(at_exit=True))
    if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        if session.top or not _core.install_term_note():
            signal.signal(signal.SIGTERM, session.on_sigterm)
            _core.fork_child_sigterm_default(True)
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(before=session.before_fork,
                            after_in_parent=session.after_fork_in_parent,
                            after_in_child=session.after_fork_in_child)


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
    session = RunSession.for_program(opts)
    if opts.run_dir:  # preloaded: the supervisor made it, and merges it
        hide_from_environ(rundir.CHILDREN_ENV)
    elif opts.children and (opts.json_path or opts.report or opts.html_path):
        try:
            opts.run_dir = rundir.create(opts.without_target())
        except OSError:
            pass
        else:
            # for the program's children, not in its os.environ (see
            # hide_from_environ)
            os.putenv(rundir.CHILDREN_ENV, opts.run_dir)
            session.delivers_merged = True
    install(session)
    if not opts.off:
        session.start()
    skip = {__file__}
    try:
        if opts.is_module:
            _run_module(opts.target, opts.args, session)
        else:
            _run_script(opts.target, opts.args, session)
    except SystemExit:
        raise
    except BaseException as e:  # noqa: BLE001 - shown as Python would, then exit 1
        tb = _trim(e.__traceback__, skip)
        sys.excepthook(type(e), e.with_traceback(tb), tb)
        if isinstance(e, KeyboardInterrupt):
            session.reraise_sigint = True
        raise SystemExit(1) from None
