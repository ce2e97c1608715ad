"""The workloads: the programs of the Scalene paper's overhead study that
pyperformance ships (run through workloads/pyperformance_bm.py with a fixed
loop count) and heapline's own.  The paper's programs run for seconds, so that
a profiler's fixed start-up cost (the startup workload measures it) is not
most of what is compared: loop counts are set so that each runs at least
1.5 s unprofiled on the 2-core development machine (1.5-3.5 s since its
speed doubled in late November 2026, when the counts of async_tree, fannkuch,
raytrace and sympy were raised; one loop of mdp, pprint and docutils already
takes 1.7-3.3 s)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .procs import WORKLOAD_DIR


@dataclass(frozen=True)
class Workload:
    name: str
    script: str  # file in workloads/
    args: tuple[str, ...] = ()
    #: "paper": from the Scalene paper's set; "own": heapline's; "startup"
    group: str = "own"
    #: modules the workload imports (it is skipped, with a note, without them)
    needs: tuple[str, ...] = ()
    #: heapline's own target for the median wall-time ratio at its defaults
    target: float | None = None
    #: very short programs get this many times the rounds
    round_factor: int = 1

    @property
    def path(self) -> Path:
        return WORKLOAD_DIR / self.script


def paper(name: str, loops: int, *args: str, label: str | None = None,
          needs: tuple[str, ...] = ()) -> Workload:
    return Workload(label or name, "pyperformance_bm.py", (name, str(loops), *args),
                    group="paper", needs=("pyperformance", *needs))


WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in (
        paper("async_tree", 2, "none", label="async_tree"),
        paper("async_tree", 1, "io", label="async_tree_io"),
        paper("async_tree", 2, "memoization", label="async_tree_memoization"),
        paper("async_tree", 2, "cpu_io_mixed", label="async_tree_cpu_io_mixed"),
        paper("docutils", 1, needs=("docutils",)),
        paper("fannkuch", 6),
        paper("mdp", 1),
        paper("pprint", 1),
        paper("raytrace", 7),
        paper("sympy", 80, "integrate", label="sympy_integrate", needs=("sympy",)),
        Workload("alloc_python", "alloc_python.py", target=1.10),
        Workload("numpy_work", "numpy_work.py", needs=("numpy",), target=1.05),
        Workload("numpy_temporaries", "numpy_temporaries.py", needs=("numpy",)),
        Workload("cpu_python", "cpu_python.py", target=1.10),
        Workload("threads_mixed", "threads_mixed.py", needs=("numpy",)),
        Workload("startup", "startup.py", group="startup", round_factor=5),
    )
}
