"""Profiling from inside a running interpreter: start()/stop(), snapshot(),
write_json(), print_report(), and profile() as a context manager or decorator.

In a process started by `heapline run`, these drive that run's session (with
`--off` the program decides when to profile); anywhere else they hook this
process in place: Python's allocator domains, and the import slots of every
loaded module for native allocations (numpy imported later included)."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from contextlib import ContextDecorator
from typing import IO, Any, TypeVar, overload

from heapline.interpreter import refusal

if refusal():  # before the C core is imported
    raise ImportError(refusal())

from heapline import session as _session  # noqa: E402
from heapline.options import DEFAULT_CPU_INTERVAL, DEFAULT_INTERVAL, Options  # noqa: E402

F = TypeVar("F", bound=Callable[..., Any])


def _new_session(opts: Options) -> _session.Session:
    program = sys.argv[0] if sys.argv and sys.argv[0] else "<interactive>"
    return _session.Session(opts, program, list(sys.argv))


def start(*, memory: bool = True, cpu: bool = True, interval: int = DEFAULT_INTERVAL,
          cpu_interval: float = DEFAULT_CPU_INTERVAL, wall: bool = False,
          profile_all: bool = False, profile_only: list[str] | None = None,
          seed: int = 0) -> None:
    """Start profiling this process now (a no-op if it is already profiling).

    The options are those of `heapline run`; under `heapline run` the run's own
    options apply and these are ignored."""
    if not (memory or cpu):
        raise ValueError("start(): nothing to profile (memory=False and cpu=False)")
    s = _session.current
    if s is None or (not s.running and not s.owns_process):
        opts = Options(interval=interval, cpu_interval=cpu_interval, wall=wall,
                       profile_all=profile_all, profile_only=list(profile_only or []),
                       seed=seed, memory=memory, cpu=cpu, report=False)
        s = _session.current = _new_session(opts)
    s.start()


def stop() -> None:
    """Stop profiling; the collected profile stays available to snapshot()."""
    if _session.current is not None:
        _session.current.stop()


def is_running() -> bool:
    return _session.current is not None and _session.current.running


def snapshot() -> dict[str, Any]:
    """The profile document (format version 1) of the current or last session."""
    if _session.current is None:
        raise RuntimeError("heapline has not been started in this process")
    return _session.current.document()


def write_json(path: str) -> None:
    """Writes snapshot() to a file."""
    from heapline.document import write_json as _write

    _write(snapshot(), path)


def print_report(file: IO[str] | None = None, top: int = 30) -> None:
    """Prints the terminal report of snapshot() (to stdout by default)."""
    from rich.console import Console

    from heapline.reporters.terminal import render

    render(snapshot(), Console(file=file or sys.stdout), top=top)


class _Profiler(ContextDecorator):
    def __init__(self, json: str | None, report: bool, options: dict[str, Any]) -> None:
        self.json = json
        self.report = report
        self.options = options
        self.owner = False

    def __enter__(self) -> "_Profiler":
        # inside an enclosing session (heapline run, an outer profile()) the
        # outer one keeps going and reports
        self.owner = not is_running()
        if self.owner:
            start(**self.options)
        return self

    def __exit__(self, *exc: object) -> None:
        if not self.owner:
            return
        stop()
        if self.json:
            write_json(self.json)
        if self.report:
            print_report(file=sys.stderr)


@overload
def profile(func: F, /) -> F: ...
@overload
def profile(func: None = None, /, *, json: str | None = None, report: bool = True,
            **options: Any) -> _Profiler: ...


def profile(func: Callable[..., Any] | None = None, /, *, json: str | None = None,
            report: bool = True, **options: Any) -> Any:
    """Profile a block or a function.

        with heapline.profile(json="p.json"): ...
        @heapline.profile
        def work(): ...
        @heapline.profile(report=False, json="work.json")
        def work(): ...

    Prints the report to standard error at the end (report=False: don't),
    writes the document to `json` if given; other keywords are start()'s."""
    if func is not None:
        if not callable(func):
            raise TypeError("profile(): give a function, or keyword options only")
        return functools.wraps(func)(_Profiler(json, report, options)(func))
    return _Profiler(json, report, options)
