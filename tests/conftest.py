"""Shared helpers for heapline's Python tests.

The tests run the INSTALLED heapline (``python -m heapline run ...`` with the
interpreter running pytest) on small programs in tests/programs/ and compare
the profile with an independent truth. Every profile document a test gets is
first validated against the installed JSON Schema.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

TESTS = Path(__file__).resolve().parent
PROGRAMS = TESTS / "programs"
NATIVE = TESTS / "native"

MiB = 1 << 20
#: Fixed sampling seed for the accuracy tests, so that a run is reproducible.
SEED = 20240611
#: Generous per-run limit; a normal run takes about a second.
RUN_TIMEOUT_S = 300

IS_LINUX = sys.platform.startswith("linux")
IS_WINDOWS = sys.platform == "win32"
#: Linux's hooks (preload, GOT, glibc's allocators) or Linux-only tools.
linux_only = pytest.mark.skipif(not IS_LINUX, reason="Linux backend")
#: Runs programs under `heapline run`: Linux (preload or in-process) and
#: Windows (in-process).
runs_programs = pytest.mark.skipif(not (IS_LINUX or IS_WINDOWS),
                                   reason="heapline run needs Linux or Windows")
#: Uses POSIX processes, signals or tools (fork, SIGINT, sh, symlinks).
posix_only = pytest.mark.skipif(IS_WINDOWS, reason="POSIX only")

# Not test modules: programs run under the profiler, C sources.
collect_ignore = ["programs", "native", "c"]

Doc = dict[str, Any]
Line = dict[str, Any]


@dataclass
class Profiled:
    """One `heapline run`: the finished process and its profile document."""

    proc: subprocess.CompletedProcess[str]
    doc: Doc
    json_path: Path


def plain_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for child processes: no inherited profiler settings, and
    no VIRTUAL_ENV of the shell that started the tests (IPython would put that
    environment's packages on sys.path, outside the tested interpreter's)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("LD_PRELOAD", "HEAPLINE_OPTIONS", "PYTHONPATH", "PYTHONSTARTUP",
                        "VIRTUAL_ENV")}
    env["PYTHONHASHSEED"] = "0"
    for var in ("PYTHONUNBUFFERED", "FORCE_COLOR", "PYTHON_COLORS", "COLUMNS"):
        env.pop(var, None)
    env["NO_COLOR"] = "1"
    if extra:
        env.update(extra)
    return env


def run_process(argv: Sequence[str], *, cwd: Path | str | None = None,
                env: Mapping[str, str] | None = None, stdin: str | None = None,
                timeout: float = RUN_TIMEOUT_S) -> subprocess.CompletedProcess[str]:
    if stdin is None:  # never wait on the terminal's (or CI's) stdin
        return subprocess.run(list(argv), cwd=cwd, env=plain_env(env), stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=timeout, check=False)
    return subprocess.run(list(argv), cwd=cwd, env=plain_env(env), input=stdin,
                          capture_output=True, text=True, timeout=timeout, check=False)


def heapline_cmd() -> list[str]:
    return [sys.executable, "-m", "heapline"]


def console_script() -> list[str]:
    """The installed `heapline` command next to this interpreter."""
    script = Path(sys.executable).parent / "heapline"
    if not script.exists():
        pytest.skip(f"no console script at {script}")
    return [str(script)]


def describe(proc: subprocess.CompletedProcess[str]) -> str:
    return (f"command: {proc.args}\nexit code: {proc.returncode}\n"
            f"--- stdout ---\n{proc.stdout[-4000:]}\n--- stderr ---\n{proc.stderr[-4000:]}")


class Heapline:
    """Runs programs under `heapline run` and returns validated profiles."""

    def __init__(self, tmp_factory: pytest.TempPathFactory, schema: dict[str, Any],
                 mode: str = "preload") -> None:
        self._tmp = tmp_factory
        self.schema = schema
        #: "preload" (heapline run's default on Linux) or "in-process" (--in-process)
        self.mode = mode

    def in_mode(self, mode: str) -> Heapline:
        return Heapline(self._tmp, self.schema, mode)

    def run(self, *args: str, options: Sequence[str] = (), cwd: Path | str | None = None,
            env: Mapping[str, str] | None = None, stdin: str | None = None,
            expect_rc: int | None = 0, launcher: Sequence[str] | None = None) -> Profiled:
        """`python -m heapline run --no-report -o TMP/p.json OPTIONS ARGS`.

        ``args`` is the target (script path or ``-m module``) and its arguments.
        ``expect_rc`` None accepts any exit status. ``launcher`` replaces
        ``python -m heapline`` (e.g. with the ``heapline`` console script).
        """
        out = self._tmp.mktemp("profile") / "p.json"
        mode = ["--in-process"] if self.mode == "in-process" else []
        cmd = [*(launcher or heapline_cmd()), "run", "--no-report", "-o", str(out), *mode, *options,
               *args]
        proc = run_process(cmd, cwd=cwd, env=env, stdin=stdin)
        if expect_rc is not None:
            assert proc.returncode == expect_rc, describe(proc)
        assert out.is_file(), f"no profile was written\n{describe(proc)}"
        doc = json.loads(out.read_text(encoding="utf-8"))
        self.validate(doc)
        return Profiled(proc=proc, doc=doc, json_path=out)

    def validate(self, doc: Doc) -> None:
        import jsonschema

        jsonschema.validate(doc, self.schema,
                            cls=jsonschema.validators.validator_for(self.schema))


@pytest.fixture(scope="session")
def schema() -> dict[str, Any]:
    from heapline.report import load_schema

    return load_schema()


@pytest.fixture(scope="session")
def heapline(tmp_path_factory: pytest.TempPathFactory, schema: dict[str, Any]) -> Heapline:
    if not (IS_LINUX or IS_WINDOWS):
        pytest.skip("heapline run needs Linux or Windows")
    # Windows has no preload: heapline run is always in-process there
    return Heapline(tmp_path_factory, schema, "in-process" if IS_WINDOWS else "preload")


@pytest.fixture(scope="session")
def native_lib(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/native/alloc_calls.c built as a shared library (skips without cc)."""
    cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("cc")
    if cc is None:
        pytest.skip("no C compiler (cc) to build tests/native/alloc_calls.c")
    out = tmp_path_factory.mktemp("native") / "libhl_alloc_calls.so"
    proc = subprocess.run([cc, "-shared", "-fPIC", "-O0", "-fno-builtin", "-o", str(out),
                           str(NATIVE / "alloc_calls.c"), "-lpthread"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, f"cc failed:\n{proc.stderr}"
    return out


# ---- finding lines --------------------------------------------------------------


def program(name: str) -> Path:
    path = PROGRAMS / name
    assert path.is_file(), path
    return path


def marker_line(path: Path, marker: str) -> int:
    """The 1-based number of the only line of ``path`` ending in ``# MARK: marker``."""
    pattern = re.compile(r"#\s*MARK:\s*" + re.escape(marker) + r"\s*$")
    found = [i for i, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if pattern.search(text)]
    assert len(found) == 1, f"marker {marker!r} found on lines {found} of {path}"
    return found[0]


def _same_file(a: str, b: Path) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)


def file_entry(doc: Doc, path: Path) -> dict[str, Any] | None:
    entries = [f for f in doc["files"] if _same_file(f["path"], path)]
    assert len(entries) <= 1, f"{path} listed {len(entries)} times in files"
    return entries[0] if entries else None


def line_entry(doc: Doc, path: Path, line: int) -> Line | None:
    """The profile's entry for ``path:line``, or None if it has none."""
    entry = file_entry(doc, path)
    if entry is None:
        return None
    lines = [ln for ln in entry["lines"] if ln["line"] == line]
    assert len(lines) <= 1, f"{path}:{line} listed {len(lines)} times"
    return lines[0] if lines else None


def marked(doc: Doc, path: Path, marker: str) -> Line:
    """The entry of the line marked ``marker`` in ``path``; fails if missing."""
    line = marker_line(path, marker)
    entry = line_entry(doc, path, line)
    assert entry is not None, (
        f"{path.name}:{line} ({marker}) has no entry; lines present: "
        f"{summarize(doc)}")
    return entry


def marked_or_zero(doc: Doc, path: Path, marker: str) -> Line:
    """Like `marked`, but a line with no entry counts as all zeros."""
    line = marker_line(path, marker)
    entry = line_entry(doc, path, line)
    if entry is not None:
        return entry
    return {"line": line, "source": "", "alloc_bytes": 0, "alloc_python_bytes": 0,
            "alloc_native_bytes": 0, "alloc_samples": 0, "live_bytes": 0, "peak_bytes": 0}


def summarize(doc: Doc) -> str:
    """A short readable list of the profile's lines, for assertion messages."""
    parts = []
    for f in doc["files"]:
        for ln in f["lines"]:
            parts.append(f"{os.path.basename(f['path'])}:{ln['line']} "
                         f"alloc={ln['alloc_bytes'] / MiB:.1f}MiB "
                         f"(py {ln['alloc_python_bytes'] / MiB:.1f}, "
                         f"native {ln['alloc_native_bytes'] / MiB:.1f}) "
                         f"live={ln['live_bytes'] / MiB:.1f}MiB "
                         f"peak={ln['peak_bytes'] / MiB:.1f}MiB n={ln['alloc_samples']}")
    parts.append(f"native_threads={doc['native_threads']}")
    parts.append(f"unattributed={doc['unattributed']}")
    return "\n  " + "\n  ".join(parts)


def all_lines(doc: Doc) -> Iterable[tuple[str, Line]]:
    for f in doc["files"]:
        for ln in f["lines"]:
            yield f["path"], ln


# ---- comparisons ----------------------------------------------------------------


def within(got: float, want: float, rel: float = 0.10) -> bool:
    return abs(got - want) <= rel * want


def assert_within(got: float, want: float, what: str, doc: Doc | None = None,
                  rel: float = 0.10) -> None:
    assert within(got, want, rel), (
        f"{what}: got {got} ({got / MiB:.2f} MiB), expected {want} ({want / MiB:.2f} MiB) "
        f"within {rel:.0%}" + (summarize(doc) if doc is not None else ""))
