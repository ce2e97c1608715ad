"""Profiling options: parsed by the CLI, carried to the profiled process in
one environment variable, and applied to the C core there."""

from __future__ import annotations

import marshal
import os

ENV_VAR = "HEAPLINE_OPTIONS"

#: The installed heapline package's directory (symlinks resolved): the launcher
#: and the core library that `heapline run` starts the program with are here.
PACKAGE_DIR = os.path.dirname(os.path.realpath(__file__))

#: Mean bytes between allocation samples. 64 KiB keeps the relative error of a
#: line that allocates 64 MiB near 3% (about 1000 samples) while the sampling
#: slow path stays a small share of run time; see README "Sampling interval".
DEFAULT_INTERVAL = 64 * 1024

#: Mean seconds between CPU samples.
DEFAULT_CPU_INTERVAL = 0.01


_DEFAULTS: dict[str, object] = {
    "target": "",  # script path as given, or module name
    "is_module": False,
    "args": [],
    "interval": DEFAULT_INTERVAL,
    "profile_all": False,
    "profile_only": [],
    # the files of a -m target's package (path prefixes): profiled even when
    # installed, where files are not profiled by default
    "profile_include": [],
    "json_path": None,
    "html_path": None,
    "report": True,
    "seed": 0,
    "cpu": True,
    "memory": True,
    "cpu_interval": DEFAULT_CPU_INTERVAL,
    "wall": False,
    "off": False,  # start with profiling off: the program calls heapline.start()
    # the run directory (rundir.py), where every profiled process of the
    # program's tree leaves its part for the process that writes the profile
    "run_dir": None,
    # profile the Python processes the program starts (--no-children: not)
    "children": True,
    # keep the run directory after the profile is written (--keep-run-dir)
    "keep_run_dir": False,
}

#: Carried on the profiled process's command line instead (target_words), so
#: that `ps` and /proc/PID/cmdline show the program and its arguments.
_ON_COMMAND_LINE = ("target", "is_module", "args")


class Options:
    """What `heapline run` was asked to do. (A plain class, not a dataclass:
    this is imported at every profiled start-up, where every import shows.)"""

    target: str
    is_module: bool
    args: list[str]
    interval: int
    profile_all: bool
    profile_only: list[str]
    profile_include: list[str]
    json_path: str | None
    html_path: str | None
    report: bool
    seed: int
    cpu: bool
    memory: bool
    cpu_interval: float
    wall: bool
    off: bool
    run_dir: str | None
    children: bool
    keep_run_dir: bool

    def __init__(self, **values: object) -> None:
        unknown = set(values) - set(_DEFAULTS)
        if unknown:
            raise TypeError(f"unknown options: {sorted(unknown)}")
        for key, default in _DEFAULTS.items():
            value = values.get(key, default)
            setattr(self, key, list(value) if isinstance(value, list) else value)

    def as_dict(self) -> dict[str, object]:
        return {key: getattr(self, key) for key in _DEFAULTS}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Options) and self.as_dict() == other.as_dict()

    def __repr__(self) -> str:
        return f"Options({self.as_dict()!r})"

    def target_words(self) -> list[str]:
        """The target as python's command line says it: `-m NAME ARGS` or `SCRIPT ARGS`."""
        return ["-m", self.target, *self.args] if self.is_module else [self.target, *self.args]

    def set_target_words(self, words: list[str]) -> None:
        """The inverse of target_words."""
        if not words:
            raise ValueError("no target on the command line")
        self.is_module = words[0] == "-m" and len(words) > 1
        rest = words[1:] if self.is_module else words
        self.target, self.args = rest[0], list(rest[1:])

    # Carried in the environment as marshal data in hex: marshal is built in,
    # where json would cost the profiled program's start-up an import of re.
    # The target travels on the command line (target_words).
    def to_env(self) -> str:
        return marshal.dumps(self.without_target()).hex()

    def without_target(self) -> dict[str, object]:
        """The options but the target (which the command line carries)."""
        return {k: v for k, v in self.as_dict().items() if k not in _ON_COMMAND_LINE}

    @classmethod
    def from_values(cls, values: dict[str, object]) -> Options:
        """Options from stored values, ignoring names this version does not know."""
        return cls(**{k: v for k, v in values.items() if k in _DEFAULTS})

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Options:
        env = os.environ if environ is None else environ
        raw = env.get(ENV_VAR)
        if not raw:
            raise ValueError(f"{ENV_VAR} is not set")
        try:
            data = marshal.loads(bytes.fromhex(raw))
        except (ValueError, EOFError, TypeError) as e:
            raise ValueError(f"{ENV_VAR} is not readable: {e}") from None
        if not isinstance(data, dict):
            raise ValueError(f"{ENV_VAR} is not readable")
        return cls.from_values(data)
