"""Instruction counts from valgrind's callgrind: whole runs, and the cost of
one unit of work as the difference of two runs of different lengths (so
interpreter start-up and exit cancel out). Counts do not depend on machine
load: a rerun gives the same figures."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable

COLLECTED = re.compile(r"Collected : (\d+)")

#: A command line and its environment (None: inherit).
Run = tuple[list[str], "dict[str, str] | None"]


def require_valgrind() -> None:
    if shutil.which("valgrind") is None:
        raise SystemExit("error: valgrind is not installed (apt-get install valgrind)")


def instructions(argv: list[str], env: dict[str, str] | None = None) -> int:
    """Instructions of the last process image callgrind saw (exec'd children included)."""
    cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
           "--trace-children=yes", *argv]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    counts = COLLECTED.findall(proc.stderr)
    if proc.returncode != 0 or not counts:
        raise SystemExit(f"error: {' '.join(argv)} failed under callgrind:\n{proc.stderr[-2000:]}")
    return int(counts[-1])


def per_unit(make: Callable[[float], Run], n1: float, n2: float) -> float:
    """Instructions per unit of work: runs make(n1) and make(n2)."""
    a = instructions(*make(n1))
    b = instructions(*make(n2))
    return (b - a) / (n2 - n1)
