"""Wall-time overhead of `heapline run` on a few workloads.

For each workload in bench/workloads/, runs the program unprofiled
(`python workload.py`) and profiled (`python -m heapline run --no-report
workload.py`, optionally also at several `--sampling-interval` values or with
other heapline options), interleaved round by round, and reports the ratio
profiled/unprofiled of the wall time of the whole process (interpreter start-up
and exit included).  The CPU time (user + system) of each process is recorded
too.

Ratios are paired per round (each profiled run is divided by the unprofiled run
of the same round), so slow drift in machine load mostly cancels; the median
over rounds is the headline figure, with min, max and a bootstrap interval of
the median to show how far it can be trusted.

    python bench/overhead.py [--rounds N] [--workload NAME ...]
                             [--interval BYTES ...] [--config=OPTIONS ...]
                             [--python PATH] [--no-snapshot] [--json FILE]
                             [--markdown]
    python bench/overhead.py --from-json FILE ... [--markdown]

Run it with the interpreter heapline is installed in (or pass --python).
Stdlib only.  Exit status 0 unless a run failed, printed something different
from the first run of its workload (stdout or stderr), or the measured heapline
changed during the run; missed targets are reported, not fatal.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform
import random
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

HERE = Path(__file__).resolve().parent
WORKLOAD_DIR = HERE / "workloads"


@dataclass(frozen=True)
class Workload:
    name: str
    #: Target for the median wall-time ratio at heapline's default settings
    #: (None: no target).
    target: float | None
    #: Rounds multiplier: very short programs get more rounds, each one cheap.
    round_factor: int = 1

    @property
    def path(self) -> Path:
        return WORKLOAD_DIR / f"{self.name}.py"


WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in (
        Workload("alloc_python", target=1.10),
        Workload("numpy_work", target=1.05),
        # CPU+memory target; with --config=--cpu-only the target is 1.03x
        Workload("cpu_python", target=1.10),
        Workload("startup", target=None, round_factor=10),
    )
}


@dataclass(frozen=True)
class Variant:
    """One way of running a workload."""

    label: str
    #: heapline options, or None for the unprofiled run.
    heapline_args: tuple[str, ...] | None

    def argv(self, python: str, script: Path) -> list[str]:
        if self.heapline_args is None:
            return [python, str(script)]
        return [python, "-m", "heapline", "run", "--no-report",
                *self.heapline_args, str(script)]


@dataclass(frozen=True)
class Run:
    wall: float  # seconds, whole process
    cpu: float  # seconds, user + system of the process and its children
    stdout: str
    stderr: str


class RunFailed(Exception):
    pass


def bench_env() -> dict[str, str]:
    env = dict(os.environ)
    # One BLAS/OpenMP thread: the machine is small, and threads add noise.
    env["OPENBLAS_NUM_THREADS"] = "1"
    env["OMP_NUM_THREADS"] = "1"
    env["MKL_NUM_THREADS"] = "1"
    # Same dict/set layout in every run.
    env["PYTHONHASHSEED"] = "0"
    env.pop("HEAPLINE_OPTIONS", None)
    return env


def children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run_once(argv: list[str], env: dict[str, str]) -> Run:
    """Run one process to completion; one at a time, so the rusage delta is its own."""
    c0 = children_cpu()
    t0 = time.perf_counter()
    proc = subprocess.run(argv, env=env, cwd=WORKLOAD_DIR, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t0
    cpu = children_cpu() - c0
    if proc.returncode != 0:
        raise RunFailed(f"{shlex.join(argv)}\n  exit status {proc.returncode}\n"
                        f"  stderr (last 3000 chars):\n{proc.stderr[-3000:]}")
    return Run(wall, cpu, proc.stdout, proc.stderr)


def probe(python: str, env: dict[str, str]) -> tuple[str, str]:
    """(versions line, heapline package directory) of the target interpreter."""
    code = (
        "import os, platform\n"
        "import heapline\n"
        "try:\n"
        "    import numpy; nv = numpy.__version__\n"
        "except Exception:\n"
        "    nv = 'absent'\n"
        "print(f'Python {platform.python_version()} ({platform.python_implementation()}),"
        " heapline {heapline.__version__}, numpy {nv}')\n"
        "print(os.path.dirname(os.path.abspath(heapline.__file__)))\n"
    )
    proc = subprocess.run([python, "-c", code], env=env, cwd=WORKLOAD_DIR,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"error: heapline is not importable with {python}:\n{proc.stderr}")
    versions, pkg = proc.stdout.strip().splitlines()
    return versions, pkg


def fingerprint(pkg_dir: str) -> str:
    """Digest of the installed heapline package (code and libraries, not caches)."""
    h = hashlib.sha256()
    for p in sorted(Path(pkg_dir).rglob("*")):
        if p.is_file() and "__pycache__" not in p.parts:
            h.update(str(p.relative_to(pkg_dir)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()[:12]


def snapshot(python: str, pkg_dir: str, dest: Path) -> str:
    """Copy the installed heapline package into dest/heapline, so that a reinstall
    into the shared environment during the benchmark cannot change what is
    measured.  Retries while the source changes under the copy.  The copy is
    byte-compiled, as an installed package is: without .pyc files (and with
    PYTHONDONTWRITEBYTECODE set) every profiled run would compile heapline's
    modules from source and inflate its start-up cost."""
    for _ in range(10):
        before = fingerprint(pkg_dir)
        target = dest / "heapline"
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(pkg_dir, target, ignore=shutil.ignore_patterns("__pycache__"))
        if fingerprint(pkg_dir) == before == fingerprint(str(target)):
            subprocess.run([python, "-m", "compileall", "-q", str(target)], check=True,
                           stdout=subprocess.DEVNULL)
            return str(target)
        time.sleep(5)
    raise SystemExit(f"error: {pkg_dir} keeps changing; could not take a consistent copy")


def bootstrap_ci(values: list[float], level: float = 0.95,
                 resamples: int = 4000) -> tuple[float, float]:
    """Percentile bootstrap interval of the median (fixed seed: reproducible).
    Crude with 7 values, but it shows whether a difference is resolved."""
    rng = random.Random(0)
    meds = sorted(statistics.median(rng.choices(values, k=len(values)))
                  for _ in range(resamples))
    tail = (1 - level) / 2
    return meds[int(tail * resamples)], meds[min(int((1 - tail) * resamples), resamples - 1)]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def fmt_ratio(x: float) -> str:
    return f"{x:.3f}x"


def render_table(headers: list[str], rows: list[list[str]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(headers) + " |",
                 "|" + "|".join("---" if i == 0 else "---:" for i in range(len(headers))) + "|"]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    out = [line(headers), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in rows]
    return "\n".join(out)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Overhead of `heapline run`: wall time profiled / unprofiled, "
                    "interleaved rounds.  See bench/README.md.")
    p.add_argument("--rounds", type=int, default=7,
                   help="timed rounds per workload, after one untimed warm-up "
                        "(default 7; the startup workload runs 10x as many)")
    p.add_argument("--workload", nargs="+", choices=sorted(WORKLOADS), metavar="NAME",
                   default=list(WORKLOADS),
                   help=f"workloads to run (default all: {', '.join(WORKLOADS)})")
    p.add_argument("--interval", nargs="+", type=int, metavar="BYTES", default=[],
                   help="also run heapline with --sampling-interval BYTES, for each "
                        "value, in the same rounds")
    p.add_argument("--config", action="append", metavar="OPTIONS", default=[],
                   help="also run heapline with these options; repeat for several "
                        "configurations.  Write it with '=' since OPTIONS starts with "
                        "a dash: --config=--memory-only --config='--cpu-only --wall'")
    p.add_argument("--python", default=sys.executable,
                   help="interpreter with heapline installed (default: this one)")
    p.add_argument("--no-snapshot", dest="snapshot", action="store_false",
                   help="measure the installed heapline in place instead of a private "
                        "copy taken at start (the copy guards against reinstalls "
                        "during the run)")
    p.add_argument("--json", dest="json_path", metavar="FILE",
                   help="also write every run's wall and CPU time to FILE (JSON)")
    p.add_argument("--from-json", nargs="+", metavar="FILE", default=[],
                   help="run nothing: pool the rounds saved by earlier --json runs and "
                        "print their table")
    p.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    ns = p.parse_args(argv)
    if ns.rounds < 1:
        p.error("--rounds must be at least 1")
    if any(i <= 0 for i in ns.interval):
        p.error("--interval values must be positive")
    return ns


def measure(wl: Workload, variants: list[Variant], rounds: int, python: str,
            env: dict[str, str]) -> dict[str, list[Run]]:
    """Interleaved rounds; raises RunFailed if a run fails or its output differs."""
    runs: dict[str, list[Run]] = {v.label: [] for v in variants}
    reference: Run | None = None  # first run's output; every run must match it
    ref_label = ""
    for r in range(-1, rounds):  # round -1 is an untimed warm-up
        # Rotate the order each round so no configuration always runs first
        # (A B C, B C A, C A B, ...); ratios are paired within a round.
        k = max(r, 0) % len(variants)
        for v in variants[k:] + variants[:k]:
            run = run_once(v.argv(python, wl.path), env)
            if reference is None:
                reference, ref_label = run, v.label
            elif (run.stdout, run.stderr) != (reference.stdout, reference.stderr):
                raise RunFailed(
                    f"{shlex.join(v.argv(python, wl.path))}\n  output differs from the "
                    f"first run's ({ref_label}, warm-up round):\n"
                    f"  stdout {run.stdout!r}\n  vs     {reference.stdout!r}\n"
                    f"  stderr (last 3000 chars):\n{run.stderr[-3000:]}\n"
                    f"  vs {reference.stderr[-3000:]!r}")
            if r >= 0:
                runs[v.label].append(run)
    return runs


#: workload -> configuration label -> one (wall s, CPU s) per round, in round order
Timings = dict[str, dict[str, list[tuple[float, float]]]]

DEFAULT_LABEL = "heapline (default)"
LEGEND = ("median s = median wall time; ratio = profiled / unprofiled wall time of the same "
          "round (median, min, max over rounds); 95% CI = bootstrap interval of the median "
          "ratio; min/min = fastest profiled run / fastest unprofiled run; median +ms = "
          "median per-round difference; cpu ratio = median per-round ratio of CPU time "
          "(user + system)")


def summarize(timings: Timings, markdown: bool) -> None:
    """Print the table and the verdicts."""
    headers = ["workload / configuration", "median s", "ratio median", "ratio min",
               "ratio max", "95% CI", "min/min", "median +ms", "cpu ratio", "target", "met"]
    rows: list[list[str]] = []
    verdicts: list[str] = []
    for name, by_label in timings.items():
        wl = WORKLOADS[name]
        base = by_label["unprofiled"]
        base_wall = [w for w, _ in base]
        rows.append([f"{name} / unprofiled", f"{statistics.median(base_wall):.3f}",
                     "1.000x", "", "", "", "", "", "1.000x", "", ""])
        for label, prof in by_label.items():
            if label == "unprofiled":
                continue
            ratios = [p[0] / u[0] for p, u in zip(prof, base)]
            diff_ms = statistics.median((p[0] - u[0]) * 1000 for p, u in zip(prof, base))
            cpu_ratio = statistics.median(p[1] / u[1] for p, u in zip(prof, base))
            med = statistics.median(ratios)
            lo, hi = bootstrap_ci(ratios)
            target = met = ""
            if wl.target is not None:
                target = f"<= {wl.target:.2f}x"
                met = "yes" if med <= wl.target else "NO"
            rows.append([f"{name} / {label}", f"{statistics.median(w for w, _ in prof):.3f}",
                         fmt_ratio(med), fmt_ratio(min(ratios)), fmt_ratio(max(ratios)),
                         f"{lo:.2f}-{hi:.2f}", fmt_ratio(min(w for w, _ in prof) / min(base_wall)),
                         f"{diff_ms:+.0f}", fmt_ratio(cpu_ratio), target, met])
            if label != DEFAULT_LABEL:
                continue
            if wl.target is None:
                verdicts.append(f"{name}: start-up cost {fmt_ratio(med)}, {diff_ms:+.1f} ms "
                                f"median per process (unprofiled "
                                f"{statistics.median(base_wall) * 1000:.1f} ms); no target")
                continue
            if hi <= wl.target:
                sure = "the 95% CI lies below the target"
            elif lo > wl.target:
                sure = "the 95% CI lies above the target"
            else:
                sure = "the 95% CI contains the target, so these rounds do not settle it"
            verdicts.append(f"{name}: median wall ratio {fmt_ratio(med)} at heapline's "
                            f"defaults, target <= {wl.target:.2f}x: "
                            f"{'met' if med <= wl.target else 'NOT met'} "
                            f"(95% CI {lo:.2f}-{hi:.2f}x: {sure}; {len(ratios)} rounds)")
    print()
    if rows:
        print(render_table(headers, rows, markdown))
        print()
        print(LEGEND)
    for line in verdicts:
        print(f"* {line}")


def main(argv: Sequence[str] | None = None) -> int:
    ns = parse_args(argv)
    if ns.from_json:
        return main_from_json(ns.from_json, ns.markdown)
    python: str = ns.python
    env = bench_env()
    variants = [Variant("unprofiled", None), Variant(DEFAULT_LABEL, ())]
    variants += [Variant(f"heapline --sampling-interval {i}", ("--sampling-interval", str(i)))
                 for i in ns.interval]
    variants += [Variant(f"heapline {c}", tuple(shlex.split(c))) for c in ns.config]

    versions, pkg_dir = probe(python, env)
    installed = pkg_dir
    tmp: Path | None = None
    try:
        if ns.snapshot:
            tmp = Path(tempfile.mkdtemp(prefix="heapline-bench-"))
            copy = snapshot(python, installed, tmp)
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tmp), env.get("PYTHONPATH")]))
            _, pkg_dir = probe(python, env)
            if os.path.realpath(pkg_dir) != os.path.realpath(copy):
                raise SystemExit(f"error: the copy in {tmp} is not the heapline that "
                                 f"{python} imports ({pkg_dir})")
        cmdline = list(sys.argv[1:] if argv is None else argv)
        return run_all(ns, cmdline, python, env, versions, installed, pkg_dir, variants)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def run_all(ns: argparse.Namespace, cmdline: list[str], python: str, env: dict[str, str],
            versions: str, installed: str, pkg_dir: str, variants: list[Variant]) -> int:
    started = datetime.datetime.now().astimezone()
    digest = fingerprint(pkg_dir)
    print(f"# heapline overhead, {started:%Y-%m-%d %H:%M %Z}")
    print(f"# {versions}; {platform.platform()}; {cpu_model()}; nproc {os.cpu_count()}; "
          f"load average at start {loadavg()}")
    lib = Path(installed) / "libheapline.so"
    built = (datetime.datetime.fromtimestamp(lib.stat().st_mtime).astimezone()
             .strftime("%Y-%m-%d %H:%M:%S %Z") if lib.exists() else "?")
    print(f"# interpreter {python}; heapline installed in {installed} "
          f"(libheapline.so of {built}), digest {digest}"
          + (f", measured from a copy in {pkg_dir}" if pkg_dir != installed else ""))
    print(f"# env OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 "
          f"PYTHONHASHSEED=0; {ns.rounds} rounds after 1 untimed warm-up round")
    sys.stdout.flush()

    failed = False
    timings: Timings = {}
    for name in ns.workload:
        wl = WORKLOADS[name]
        rounds = ns.rounds * wl.round_factor
        t_wl = time.perf_counter()
        try:
            runs = measure(wl, variants, rounds, python, env)
        except RunFailed as e:
            print(f"error: {name}: a run failed or misbehaved:\n{e}", file=sys.stderr)
            failed = True
            continue
        after = fingerprint(pkg_dir)
        print(f"# {name}: {rounds} rounds x {len(variants)} configurations in "
              f"{time.perf_counter() - t_wl:.0f} s; load average {loadavg()}", flush=True)
        if after != digest:
            print(f"error: {name}: the measured heapline changed during the run "
                  f"(digest {digest} -> {after}); figures discarded", file=sys.stderr)
            failed = True
            break
        timings[name] = {label: [(r.wall, r.cpu) for r in rs] for label, rs in runs.items()}

    summarize(timings, ns.markdown)
    print(f"# load average at end {loadavg()}; total "
          f"{(datetime.datetime.now().astimezone() - started).total_seconds():.0f} s")
    if ns.json_path:
        doc = {"started": started.isoformat(), "environment": versions,
               "platform": platform.platform(), "cpu": cpu_model(), "nproc": os.cpu_count(),
               "rounds": ns.rounds, "heapline_digest": digest,
               "command": shlex.join(["bench/overhead.py", *cmdline]),
               "workloads": {name: {label: [{"wall_s": w, "cpu_s": c} for w, c in rs]
                                    for label, rs in by_label.items()}
                             for name, by_label in timings.items()}}
        Path(ns.json_path).write_text(json.dumps(doc, indent=1) + "\n")
        print(f"# raw timings written to {ns.json_path}")
    return 1 if failed else 0


def main_from_json(paths: list[str], markdown: bool) -> int:
    """Pool the rounds of earlier runs (--json files) into one table."""
    timings: Timings = {}
    digests = set()
    for p in paths:
        doc = json.loads(Path(p).read_text())
        digests.add(doc["heapline_digest"])
        print(f"# {p}: {doc['started']}, {doc.get('command', '')}, {doc['environment']}, "
              f"{doc['platform']}, "
              f"nproc {doc['nproc']}, heapline digest {doc['heapline_digest']}")
        for name, by_label in doc["workloads"].items():
            dest = timings.setdefault(name, {})
            for label, rs in by_label.items():
                if isinstance(rs, dict):  # first format: {"argv": [...], "runs": [...]}
                    rs = rs["runs"]
                dest.setdefault(label, []).extend((r["wall_s"], r["cpu_s"]) for r in rs)
    if len(digests) > 1:
        print(f"# warning: these runs measured {len(digests)} different heapline builds")
    for name, by_label in timings.items():
        counts = {len(rs) for rs in by_label.values()}
        if len(counts) != 1:
            # configurations missing from some files: keep those present in all
            n = len(by_label["unprofiled"])
            timings[name] = {k: v for k, v in by_label.items() if len(v) == n}
    summarize(timings, markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
