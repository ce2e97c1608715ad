"""In-process profiling (no preload): heapline.start()/stop() in a plain
interpreter, the decorator and context manager, IPython magics, `run --off`.
Every program runs in its own interpreter so the patching never touches the
test runner."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import plain_env

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux backend")

PROGRAMS = Path(__file__).parent / "programs"
MiB = 2**20


def run_py(*args: str, cwd: Path | None = None, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True,
                          env=plain_env({"OPENBLAS_NUM_THREADS": "1"}), cwd=cwd, timeout=timeout)


def marked_line(path: Path, mark: str) -> int:
    for no, text in enumerate(path.read_text().splitlines(), 1):
        if f"MARK: {mark}" in text:
            return no
    raise AssertionError(f"no MARK: {mark} in {path}")


def line_entry(doc: dict[str, Any], path: Path, line: int) -> dict[str, Any] | None:
    for f in doc["files"]:
        if f["path"] == str(path.resolve()):
            for e in f["lines"]:
                if e["line"] == line:
                    return dict(e)
    return None


def test_numpy_imported_after_start_is_seen() -> None:
    pytest.importorskip("numpy")
    prog = PROGRAMS / "inprocess_numpy.py"
    r = run_py(str(prog))
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["native_hooks"] is True
    ones = line_entry(doc, prog, marked_line(prog, "numpy-ones"))
    assert ones is not None
    assert abs(ones["alloc_bytes"] - 128 * MiB) <= 0.10 * 128 * MiB, ones
    assert ones["alloc_native_bytes"] >= 0.9 * ones["alloc_bytes"]
    buf = line_entry(doc, prog, marked_line(prog, "bytearray"))
    assert buf is not None and abs(buf["alloc_bytes"] - 96 * MiB) <= 0.10 * 96 * MiB, buf
    assert buf["alloc_python_bytes"] >= 0.9 * buf["alloc_bytes"]
    assert line_entry(doc, prog, marked_line(prog, "after-stop")) is None
    assert doc["slots_after_stop"] == 0


def build_rpath_libs(tmp: Path) -> Path:
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler")
    (tmp / "deps").mkdir()
    dep = tmp / "dep.c"
    dep.write_text("#include <stdlib.h>\nvoid *dep_alloc(size_t n) { return malloc(n); }\n")
    subprocess.run([cc, "-shared", "-fPIC", "-o", str(tmp / "deps" / "libhl_rpath_dep.so"),
                    str(dep)], check=True)
    src = Path(__file__).parent / "c" / "rpath_user.c"
    user = tmp / "libhl_rpath_user.so"
    subprocess.run([cc, "-shared", "-fPIC", "-o", str(user), str(src), "-ldl",
                    "-Wl,--enable-new-dtags,-rpath,$ORIGIN/deps"], check=True)
    return user


def test_library_loaded_through_runpath_while_hooked(tmp_path: Path) -> None:
    user = build_rpath_libs(tmp_path)
    r = run_py(str(PROGRAMS / "inprocess_rpath.py"), str(user))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["loaded"], "dlopen through $ORIGIN RUNPATH failed while hooked"
    assert out["malloc_bytes"] >= 5_000_000
    assert out["slots_after_stop"] == 0


def test_start_stop_100_times_with_threads() -> None:
    r = run_py(str(PROGRAMS / "inprocess_toggle.py"))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["rounds_counted"] == 100 and out["rounds_sized"] == 100, out
    assert out["slots_after_stop"] == 0
    # heapline's tables are static; 100 rounds must not grow the process much
    assert out["rss_growth_kib"] < 64 * 1024, out


def test_context_manager_and_decorator(tmp_path: Path) -> None:
    pytest.importorskip("numpy")
    prog = tmp_path / "api.py"
    prog.write_text(
        "import heapline, json, sys\n"
        "import numpy as np\n"
        f"with heapline.profile(json={str(tmp_path / 'ctx.json')!r}, report=False):\n"
        "    a = np.ones(12 * 2**20)  # 96 MiB\n"
        f"@heapline.profile(json={str(tmp_path / 'dec.json')!r})\n"
        "def work():\n"
        "    return bytearray(80 * 2**20)\n"
        "work()\n"
        "@heapline.profile\n"
        "def bare():\n"
        "    return len(bytearray(2**20))\n"
        "print(bare(), work.__name__)\n")
    r = run_py(str(prog))
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [str(2**20), "work"]
    ctx = json.loads((tmp_path / "ctx.json").read_text())
    e = line_entry(ctx, prog, 4)
    assert e is not None and abs(e["alloc_bytes"] - 96 * MiB) <= 0.1 * 96 * MiB, e
    assert e["alloc_native_bytes"] >= 0.9 * e["alloc_bytes"]
    dec = json.loads((tmp_path / "dec.json").read_text())
    e = line_entry(dec, prog, 7)
    assert e is not None and abs(e["alloc_bytes"] - 80 * MiB) <= 0.1 * 80 * MiB, e
    assert line_entry(dec, prog, 4) is None  # the decorator's report covers work() only
    assert "Memory" in r.stderr  # report=True prints the report to stderr


def test_ipython_magics() -> None:
    pytest.importorskip("IPython")
    pytest.importorskip("numpy")
    code = (
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "ip = InteractiveShell.instance()\n"
        "ip.run_line_magic('load_ext', 'heapline')\n"
        "ip.run_cell('import numpy as np')\n"
        "ip.run_cell('%%heapline\\nx = np.ones(2**24)\\ny = sum(i * i for i in range(300000))\\n')\n"
        "ip.run_cell('%heapline z = bytearray(64 * 2**20)')\n"
        "print('z' in ip.user_ns, len(ip.user_ns['z']))\n")
    r = run_py("-c", code)
    assert r.returncode == 0, r.stderr
    assert "x = np.ones(2**24)" in r.stdout  # the cell's line in the report
    assert "128.0 MiB" in r.stdout or "12" in r.stdout
    assert "Hot lines" in r.stdout and "Memory" in r.stdout
    assert "True 67108864" in r.stdout


def test_run_off_profiles_only_what_the_program_asks(tmp_path: Path) -> None:
    prog = tmp_path / "off.py"
    prog.write_text(
        "import heapline\n"
        "before = bytearray(64 * 2**20)\n"
        "heapline.start()\n"
        "during = bytearray(64 * 2**20)\n"
        "heapline.stop()\n"
        "after = bytearray(64 * 2**20)\n")
    out = tmp_path / "p.json"
    r = run_py("-m", "heapline", "run", "--off", "--no-report", "-o", str(out), str(prog))
    assert r.returncode == 0, r.stderr
    doc = json.loads(out.read_text())
    assert doc["native_hooks"] is True  # preloaded by heapline run
    assert line_entry(doc, prog, 2) is None and line_entry(doc, prog, 6) is None
    e = line_entry(doc, prog, 4)
    assert e is not None and abs(e["alloc_bytes"] - 64 * MiB) <= 0.1 * 64 * MiB
