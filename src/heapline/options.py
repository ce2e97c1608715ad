"""Profiling options: parsed by the CLI, carried to the profiled process in
one environment variable, and applied to the C core there."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field

ENV_VAR = "HEAPLINE_OPTIONS"

#: Mean bytes between allocation samples. 64 KiB keeps the relative error of a
#: line that allocates 64 MiB near 3% (about 1000 samples) while the sampling
#: slow path stays a small share of run time; see README "Sampling interval".
DEFAULT_INTERVAL = 64 * 1024

#: Mean seconds between CPU samples.
DEFAULT_CPU_INTERVAL = 0.01


@dataclass
class Options:
    """What `heapline run` was asked to do."""

    target: str = ""  # script path (absolute) or module name
    is_module: bool = False
    args: list[str] = field(default_factory=list)
    interval: int = DEFAULT_INTERVAL
    profile_all: bool = False
    profile_only: list[str] = field(default_factory=list)
    json_path: str | None = None
    report: bool = True
    seed: int = 0
    cpu: bool = True
    memory: bool = True
    cpu_interval: float = DEFAULT_CPU_INTERVAL
    wall: bool = False
    off: bool = False  # start with profiling off: the program calls heapline.start()

    def to_env(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Options":
        env = os.environ if environ is None else environ
        raw = env.get(ENV_VAR)
        if not raw:
            raise ValueError(f"{ENV_VAR} is not set")
        data = json.loads(raw)
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)
