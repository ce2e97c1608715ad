"""Instruction counts from valgrind's callgrind: whole runs, and the cost of
one unit of work as the difference of two runs of different lengths (so
interpreter start-up and exit cancel out). Counts do not depend on machine
load: a rerun gives the same figures."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable

#: valgrind's line for each process image it starts and ends
IMAGE = re.compile(r"^==(\d+)== (Command|Collected) ?: (.*)$", re.M)
SUMMARY = re.compile(r"^summary: (\d+)$", re.M)
#: a function line of callgrind_annotate: "  1,234 (12.3%)  file:function [object]"
FUNCTION = re.compile(r"^\s*([\d,]+) \([^)]*\)\s+.*\[(.*)\]\s*$")

#: A command line and its environment (None: inherit).
Run = tuple[list[str], "dict[str, str] | None"]


def require_valgrind() -> None:
    if shutil.which("valgrind") is None:
        raise SystemExit("error: valgrind is not installed (apt-get install valgrind)")


def program_image(stderr: str) -> int | None:
    """Instructions of the process image that ran the program, from
    valgrind's report of every image (children and exec'd images included):
    the one started as heapline's launcher (`heapline run` starts the program
    in a child and only waits for it), else the last to end."""
    command: dict[str, str] = {}
    launched, last = None, None
    for pid, kind, value in IMAGE.findall(stderr):
        if kind == "Command":
            command[pid] = value
        elif value.strip().isdigit():
            last = int(value)
            if "heapline/_launch.py" in command.get(pid, ""):
                launched = last
    return launched if launched is not None else last


def instructions(argv: list[str], env: dict[str, str] | None = None) -> int:
    """Instructions of the process image that ran the program (program_image)."""
    cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
           "--trace-children=yes", *argv]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    total = program_image(proc.stderr)
    if proc.returncode != 0 or total is None:
        raise SystemExit(f"error: {' '.join(argv)} failed under callgrind:\n{proc.stderr[-2000:]}")
    return total


def per_unit(make: Callable[[float], Run], n1: float, n2: float) -> float:
    """Instructions per unit of work: runs make(n1) and make(n2)."""
    a = instructions(*make(n1))
    b = instructions(*make(n2))
    return (b - a) / (n2 - n1)


def instructions_in(argv: list[str], env: dict[str, str] | None, obj: str) -> tuple[int, int]:
    """Instructions of the process image that ran the program (program_image),
    and how many of them ran in functions of an object file whose path
    contains `obj`."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = ["valgrind", "--tool=callgrind",
               f"--callgrind-out-file={os.path.join(tmp, 'callgrind.out.%p')}",
               "--trace-children=yes", *argv]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        found = program_image(proc.stderr)
        if proc.returncode != 0 or found is None:
            raise SystemExit(f"error: {' '.join(argv)} failed under callgrind:\n"
                             f"{proc.stderr[-2000:]}")
        total = found
        # an exec'd image keeps its pid, so its file is the one with that total
        for name in os.listdir(tmp):
            path = os.path.join(tmp, name)
            with open(path, encoding="utf-8", errors="replace") as fh:
                summary = SUMMARY.search(fh.read())
            if summary and int(summary.group(1)) == total:
                break
        else:
            raise SystemExit(f"error: no callgrind output with {total} instructions")
        out = subprocess.run(["callgrind_annotate", "--inclusive=no", "--threshold=100", path],
                             capture_output=True, text=True, check=True).stdout
    inside = 0
    for line in out.splitlines():
        m = FUNCTION.match(line)
        if m and obj in m.group(2):
            inside += int(m.group(1).replace(",", ""))
    return total, inside


def per_unit_in(make: Callable[[float], Run], n1: float, n2: float,
                obj: str) -> tuple[float, float]:
    """Instructions per unit of work, and of those the ones in `obj`."""
    a_all, a_in = instructions_in(*make(n1), obj)
    b_all, b_in = instructions_in(*make(n2), obj)
    return (b_all - a_all) / (n2 - n1), (b_in - a_in) / (n2 - n1)
