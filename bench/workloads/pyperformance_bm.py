"""Run one pyperformance benchmark as a plain program, in this process.

    python pyperformance_bm.py NAME LOOPS [BENCHMARK ARGS...]

NAME is a benchmark directory of the installed pyperformance package without
its `bm_` prefix (raytrace, async_tree, sympy, ...); BENCHMARK ARGS are the
arguments its own command line takes (`async_tree io`, `sympy integrate`).

pyperf's Runner spawns worker processes, calibrates loop counts and prints
timings, none of which suits a profiler comparison: a profiler must see one
process doing a fixed amount of work, and every configuration must print the
same thing.  So `pyperf.Runner` is replaced by LoopRunner, which calls each
benchmark function a fixed number of times (LOOPS) in this process and prints
only what ran.  The benchmark's own file is then run as `__main__`, unchanged.
"""

from __future__ import annotations

import argparse
import asyncio
import runpy
import sys
from pathlib import Path
from typing import Any, Callable

import pyperf
import pyperformance

USAGE = "usage: pyperformance_bm.py NAME LOOPS [BENCHMARK ARGS...]"


class LoopRunner:
    """Stands in for pyperf.Runner: the same calls, run `loops` times, untimed."""

    loops = 1
    bench_args: list[str] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.argparser = argparse.ArgumentParser()
        self.metadata: dict[str, Any] = {}

    def parse_args(self, args: list[str] | None = None) -> argparse.Namespace:
        return self.argparser.parse_args(self.bench_args if args is None else args)

    def _done(self, name: str) -> None:
        print(f"{name}: {self.loops} loops")

    def bench_func(self, name: str, func: Callable[..., Any], *args: Any,
                   **kwargs: Any) -> None:
        for _ in range(self.loops):
            func(*args)
        self._done(name)

    def bench_time_func(self, name: str, func: Callable[..., Any], *args: Any,
                        **kwargs: Any) -> None:
        func(self.loops, *args)  # a time function runs its own `loops` iterations
        self._done(name)

    def bench_async_func(self, name: str, func: Callable[..., Any], *args: Any,
                         **kwargs: Any) -> None:
        for _ in range(self.loops):
            asyncio.run(func(*args))
        self._done(name)

    def bench_command(self, name: str, command: list[str]) -> None:
        raise SystemExit(f"pyperformance_bm: {name} runs a command; not supported")


def benchmark_file(name: str) -> Path:
    root = Path(pyperformance.__file__).resolve().parent / "data-files" / "benchmarks"
    path = root / f"bm_{name}" / "run_benchmark.py"
    if not path.is_file():
        known = sorted(p.name[3:] for p in root.glob("bm_*"))
        raise SystemExit(f"pyperformance_bm: no benchmark {name!r}; known: {', '.join(known)}")
    return path


def main() -> None:
    if len(sys.argv) < 3 or not sys.argv[2].isdigit() or int(sys.argv[2]) < 1:
        raise SystemExit(USAGE)
    path = benchmark_file(sys.argv[1])
    LoopRunner.loops = int(sys.argv[2])
    LoopRunner.bench_args = sys.argv[3:]
    pyperf.Runner = LoopRunner  # type: ignore[misc, assignment]
    sys.argv = [str(path), *sys.argv[3:]]
    sys.path.insert(0, str(path.parent))
    runpy.run_path(str(path), run_name="__main__")


if __name__ == "__main__":
    main()
