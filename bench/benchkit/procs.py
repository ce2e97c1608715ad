"""Running one measured process: wall time, CPU time and peak RSS from
wait4(), output captured, the environment every run shares, and a private
copy of the heapline package so a reinstall during a long run cannot change
what is measured."""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent.parent
WORKLOAD_DIR = BENCH_DIR / "workloads"


@dataclass(frozen=True)
class Run:
    wall: float  # seconds, whole process
    cpu: float  # seconds, user + system of the process and the children it waited for
    maxrss_kib: int  # peak resident set size, KiB (the largest of the process tree)
    out_bytes: int  # size of the files the run wrote to its output directory
    stdout: str
    stderr: str


class RunFailed(Exception):
    pass


class RunTimedOut(Exception):
    """The run was stopped after `limit` seconds."""

    def __init__(self, argv: list[str], limit: float) -> None:
        super().__init__(f"{shlex.join(argv)}: stopped after {limit:.0f} s")
        self.limit = limit


def bench_env() -> dict[str, str]:
    env = dict(os.environ)
    # One BLAS/OpenMP thread: the machine is small, and threads add noise.
    env["OPENBLAS_NUM_THREADS"] = "1"
    env["OMP_NUM_THREADS"] = "1"
    env["MKL_NUM_THREADS"] = "1"
    # Same dict/set layout in every run.
    env["PYTHONHASHSEED"] = "0"
    # Byte-code caches are written once (warm-up) and used by every timed run.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("HEAPLINE_OPTIONS", None)
    return env


def dir_bytes(d: Path) -> int:
    return sum(p.stat().st_size for p in d.rglob("*") if p.is_file())


def empty(d: Path) -> None:
    for p in d.iterdir():
        shutil.rmtree(p) if p.is_dir() else p.unlink()


def run_once(argv: list[str], env: dict[str, str], out_dir: Path,
             cwd: Path = WORKLOAD_DIR, timeout: float | None = None) -> Run:
    """Run one process to completion and measure it; out_dir is emptied after.
    After `timeout` seconds its process group is killed (RunTimedOut)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                                stdout=out, stderr=err, text=True, start_new_session=True)
        timer = threading.Timer(timeout, os.killpg, (proc.pid, signal.SIGKILL)) if timeout else None
        if timer:
            timer.start()
        _, status, ru = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        if timer:
            timer.cancel()
        if timeout and wall >= timeout:
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # helpers it left behind
            except ProcessLookupError:
                pass
            empty(out_dir)
            raise RunTimedOut(argv, timeout)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    size = dir_bytes(out_dir)
    empty(out_dir)
    if proc.returncode != 0:
        raise RunFailed(f"{shlex.join(argv)}\n  exit status {proc.returncode}\n"
                        f"  stderr (last 3000 chars):\n{stderr[-3000:]}")
    return Run(wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss, size, stdout, stderr)


def probe(python: str, env: dict[str, str], modules: list[str]) -> tuple[str, str, list[str]]:
    """(versions line, heapline package directory, modules importable) for `python`."""
    code = (
        "import importlib, importlib.metadata as md, os, platform, sys\n"
        "import heapline\n"
        "have = []\n"
        "vers = [f'Python {platform.python_version()}', f'heapline {heapline.__version__}']\n"
        "for m in sys.argv[1:]:\n"
        "    try:\n"
        "        importlib.import_module(m)\n"
        "    except Exception:\n"
        "        continue\n"
        "    have.append(m)\n"
        "    if m == 'heapline':\n"
        "        continue\n"
        "    try:\n"
        "        vers.append(f'{m} {md.version(m)}')\n"
        "    except Exception:\n"
        "        pass\n"
        "print(', '.join(vers))\n"
        "print(os.path.dirname(os.path.abspath(heapline.__file__)))\n"
        "print(' '.join(have))\n"
    )
    proc = subprocess.run([python, "-c", code, *modules], env=env, cwd=WORKLOAD_DIR,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"error: heapline is not importable with {python}:\n{proc.stderr}")
    versions, pkg, have = (proc.stdout.splitlines() + [""])[:3]
    return versions, pkg, have.split()


def fingerprint(pkg_dir: str) -> str:
    """Digest of the installed heapline package (code and libraries, not caches)."""
    h = hashlib.sha256()
    for p in sorted(Path(pkg_dir).rglob("*")):
        if p.is_file() and "__pycache__" not in p.parts:
            h.update(str(p.relative_to(pkg_dir)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()[:12]


def snapshot(python: str, pkg_dir: str, dest: Path) -> str:
    """Copy the installed heapline package into dest/heapline, retrying while the
    source changes under the copy, and byte-compile the copy as an installed
    package is (else every profiled run compiles heapline from source)."""
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
