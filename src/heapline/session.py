"""One profiling session: turns the C core's hooks and samplers on and off and
produces the profile document. Used by `heapline run` (in the profiled
process) and by the in-process API (`heapline.start()` / `stop()`)."""

from __future__ import annotations

import os
import sys
import sysconfig
TYPE_CHECKING = False  # not typing's: importing typing costs start-up time
if TYPE_CHECKING:
    from typing import Any

from heapline import _core, compile_sites
from heapline.options import Options

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def excluded_prefixes(profile_all: bool, include: list[str] | None = None) -> list[str]:
    """Path prefixes whose lines are not charged (unless --profile-all); and,
    written "!prefix", the exceptions among them (`include`: the package of a
    -m target, whose files are the program's)."""
    prefixes = [_PACKAGE_DIR + os.sep]
    prefixes += ["!" + p for p in include or [] if not p.startswith(_PACKAGE_DIR + os.sep)]
    if not profile_all:
        paths = sysconfig.get_paths()
        for key in ("stdlib", "platstdlib", "purelib", "platlib"):
            p = paths.get(key)
            if p:
                prefixes.append(os.path.join(os.path.realpath(p), ""))
                prefixes.append(os.path.join(p, ""))
        # namedtuple/dataclass methods are compiled from strings
        prefixes.append("<string>")
    # frozen modules (importlib's) have no source file to show, ever
    prefixes.append("<frozen ")
    return sorted(set(prefixes))


def pymalloc_serves_objects() -> bool:
    """Whether plain pymalloc is the allocator under the MEM and OBJ domains:
    the default, unless PYTHONMALLOC or development mode chose malloc or the
    debug hooks (which pad requests past pymalloc's small-object limit)."""
    mode = os.environ.get("PYTHONMALLOC", "")
    return mode in ("", "default", "pymalloc") and not sys.flags.dev_mode


class Session:
    """Profiling of this process, between start() and stop()."""

    #: True for the session of a `heapline run`, which writes the profile at
    #: exit: heapline.start() resumes it instead of replacing it.
    owns_process = False
    #: Whether the leak evidence (a walk of the live table) is collected at
    #: stop(): not in a child of the program, whose leaks the profile does
    #: not show (merge.py).
    leak_evidence = True

    def __init__(self, opts: Options, program: str, argv: list[str]) -> None:
        self.opts = opts
        self.program = program
        self.argv = argv
        self.running = False
        self._frozen: dict[str, Any] | None = None  # the core's tables at stop()
        self._elapsed = 0.0
        self._counters0: dict[str, tuple[int, int]] = {}
        self._inprocess = False
        self.native_hooks = False
        self.t0 = 0.0  # the core's clock at start: times in the document count from it
        self.seed = 0  # the sampling draws' seed of this session

    def start(self) -> None:
        """Hooks and samplers on; per-line tables start empty."""
        if self.running:
            return
        o = self.opts
        self.seed = o.seed or int.from_bytes(os.urandom(8), "little") or 1
        _core.configure(interval=o.interval, seed=self.seed, only="\n".join(o.profile_only),
                        exclude="\n".join(excluded_prefixes(o.profile_all, o.profile_include)))
        _core.reset()
        self.t0 = _core.now_s()
        self._counters0 = _core.counters()
        self._frozen = None
        if o.memory:
            # preloaded by `heapline run`: already hooked; otherwise patch
            # the import slots of the loaded modules
            self._inprocess = not _core.native_hooks_active()
            if self._inprocess and not _core.inprocess_start():
                print("heapline: warning: native allocations are not visible on this "
                      "platform; only Python's allocator is profiled", file=sys.stderr)
            self.native_hooks = _core.native_hooks_active()
            _core.install_python_hooks(pymalloc_serves_objects())
            _core.set_enabled(True)
        if o.cpu:
            _core.cpu_start(o.cpu_interval, o.wall)
        compile_sites.start(_core.file_charged)
        self.running = True

    def restart_draws(self) -> None:
        """The sampling draws start again from the session's seed: called just
        before the program's first line, so that what heapline did since
        start() (paths, times and keys whose lengths differ from run to run)
        does not move where the samples fall in the program's allocations, and
        one --seed gives one set of samples."""
        if self.running and self.opts.memory:
            _core.set_seed(self.seed)

    def stop(self) -> None:
        """Hooks off: the program runs at full speed again; the data stays."""
        if not self.running:
            return
        compile_sites.stop()
        if self.opts.cpu:
            _core.cpu_stop()
        _core.set_enabled(False)
        if self.opts.memory:
            _core.uninstall_python_hooks()
            if self._inprocess:
                _core.inprocess_stop()
        # what the profile shows is the profiled period: heapline's own work
        # after it (building the document) must not move the peak or the times
        self._frozen = _core.snapshot()
        self._elapsed = _core.now_s() - self.t0  # after: every time in the snapshot is earlier
        if self.opts.memory and self.leak_evidence:
            self._frozen["live_history"] = _core.live_history(self.t0, self.t0 + self._elapsed)
        self.running = False

    def raw(self) -> dict[str, Any]:
        """What the profile document is built from (document.from_raw): the
        core's tables as of stop() and this session's facts. Plain data that
        marshal can carry to the process that writes the profile."""
        snap = dict(self._frozen) if self._frozen is not None else _core.snapshot()
        if self._frozen is None and self.opts.memory and self.leak_evidence:  # running: up to now
            snap["live_history"] = _core.live_history(self.t0, _core.now_s())
        snap["counters"] = {
            name: (calls - self._counters0.get(name, (0, 0))[0],
                   nbytes - self._counters0.get(name, (0, 0))[1])
            for name, (calls, nbytes) in snap["counters"].items()
        }
        snap["native_hooks"] = self.native_hooks
        snap["compile_sites"] = compile_sites.snapshot()
        snap["peak_at_s"] = max(0.0, snap["peak_at_s"] - self.t0)
        snap["timeline"] = [(t - self.t0, b) for t, b in snap["timeline"] if t >= self.t0]
        elapsed = self._elapsed if self._frozen is not None else _core.now_s() - self.t0
        return {"snap": snap, "program": self.program, "argv": self.argv,
                "elapsed_s": max(0.0, elapsed), "cpu_on": self.opts.cpu,
                "memory_on": self.opts.memory}

    def document(self) -> dict[str, Any]:
        """The profile document of what was collected so far."""
        from heapline.document import from_raw

        return from_raw(self.raw())


#: The session of this process, if any (one at a time).
current: Session | None = None
