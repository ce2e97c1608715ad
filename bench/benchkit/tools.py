"""The profilers compared, as command lines: how each one runs a workload
script with its arguments and where it writes its output file."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Tool:
    key: str  # name on bench/overhead.py's command line
    label: str
    #: module that must be importable by the interpreter measured (None: none)
    needs: str | None
    #: how it runs `script args`; "{py}", "{out}", "{script}" and "{args}" are
    #: filled in ("{args}" expands to the arguments, "{sep_args}" to "--- args"
    #: when there are any, Scalene's separator)
    template: tuple[str, ...]
    #: True when the program's output must be exactly that of the unprofiled
    #: run; False when the tool adds lines of its own (the program's output
    #: must still appear, in order)
    exact_output: bool = True

    def argv(self, python: str, script: Path, args: tuple[str, ...], out: Path) -> list[str]:
        argv: list[str] = []
        for part in self.template:
            if part == "{args}":
                argv += args
            elif part == "{sep_args}":
                argv += ["---", *args] if args else []
            else:
                argv.append(part.format(py=python, out=out, script=script))
        return argv


UNPROFILED = Tool("unprofiled", "unprofiled", None, ("{py}", "{script}", "{args}"))


def heapline(options: tuple[str, ...], label: str, key: str) -> Tool:
    return Tool(key, label, "heapline",
                ("{py}", "-m", "heapline", "run", "--no-report", "-o", "{out}/heapline.json",
                 *options, "{script}", "{args}"))


HEAPLINE_CPU = heapline(("--cpu-only",), "heapline CPU-only", "heapline-cpu")
HEAPLINE = heapline((), "heapline CPU+memory", "heapline")

FOREIGN = (
    Tool("scalene", "Scalene CPU+memory", "scalene",
         ("{py}", "-m", "scalene", "run", "-o", "{out}/scalene.json", "{script}", "{sep_args}"),
         exact_output=False),
    Tool("memray", "memray run", "memray",
         ("{py}", "-m", "memray", "run", "-q", "-f", "-o", "{out}/memray.bin", "{script}",
          "{args}"), exact_output=False),
    Tool("memray-native", "memray run --native", "memray",
         ("{py}", "-m", "memray", "run", "-q", "-f", "--native", "-o", "{out}/memray.bin",
          "{script}", "{args}"), exact_output=False),
    Tool("tracemalloc", "python -X tracemalloc", None,
         ("{py}", "-X", "tracemalloc", "{script}", "{args}")),
)

ALL = (UNPROFILED, HEAPLINE_CPU, HEAPLINE, *FOREIGN)
BY_KEY = {t.key: t for t in ALL}


def heapline_config(options: str) -> Tool:
    """An extra heapline configuration from --config=OPTIONS."""
    opts = tuple(shlex.split(options))
    return heapline(opts, f"heapline {options}", f"heapline {options}")


def output_matches(tool: Tool, got: str, reference: str) -> bool:
    """Does `got` (a stream of a profiled run) carry the program's `reference` output?"""
    if tool.exact_output:
        return got == reference
    it = iter(got.splitlines())
    return all(any(line == g for g in it) for line in reference.splitlines())
