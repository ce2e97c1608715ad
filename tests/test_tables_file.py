"""The tables in a file (heapline._core.tables_to_file / read_tables_file):
a profiled program, in-process or under `heapline run`, moves its tables
into a file, allocates a known block, and is killed with SIGKILL; the file
still says which line allocated how much. A forked child writes a file of
its own (and, preloaded, its exit status). Bad files are a ValueError."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import MiB, heapline_cmd, linux_only, marker_line, plain_env, program

pytestmark = linux_only

MODES = ["in-process", "preload"]


def start(mode: str, tmp: Path, *args: str) -> subprocess.Popen[str]:
    prog = program("tables_sigkill.py")
    if mode == "in-process":
        cmd = [sys.executable, str(prog), *args]
    else:
        # (the run directory is kept: the test reads the files in it)
        cmd = [*heapline_cmd(), "run", "--no-report", "--keep-run-dir", "-o", str(tmp / "p.json"),
               str(prog), *args]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=plain_env({"TMPDIR": str(tmp)}), cwd=tmp)


def kill_after_line(proc: subprocess.Popen[str]) -> str:
    """The program's last line of output, once it printed it; then SIGKILL."""
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        proc.kill()
        _, err = proc.communicate(timeout=60)
        pytest.fail(f"the program ended early: {err}")
    return line


def kill(pid: int, proc: subprocess.Popen[str]) -> None:
    os.kill(pid, signal.SIGKILL)
    proc.wait(timeout=120)


def row(doc: dict[str, Any], path: Path, line: int) -> tuple[Any, ...] | None:
    for r in doc["lines"]:
        if r[0] == str(path) and r[1] == line:
            return tuple(r)
    return None


@pytest.mark.parametrize("mode", MODES)
def test_sigkilled_process_file_is_read(mode: str, tmp_path: Path) -> None:
    from heapline import _core

    run_dir = tmp_path / "run"
    run_dir.mkdir(mode=0o700)
    t0 = time.monotonic()
    proc = start(mode, tmp_path, str(run_dir))
    pid_s, path = kill_after_line(proc).split()
    pid = int(pid_s)
    kill(pid, proc)
    t1 = time.monotonic()
    # (under `heapline run`, the tables are in its run directory already)
    assert path == str(run_dir / f"tables-{pid}") or mode == "preload"
    assert os.path.basename(path) == f"tables-{pid}"
    assert (os.stat(path).st_mode & 0o777) == 0o600

    doc = _core.read_tables_file(path)
    assert doc["pid"] == pid and doc["state"] == 1
    assert doc["exit_status"] is None  # killed: no exit
    prog = program("tables_sigkill.py")
    r = row(doc, prog, marker_line(prog, "block"))
    assert r is not None, [x[:2] for x in doc["lines"]]
    alloc = r[2] + r[3]
    assert abs(alloc - 64 * MiB) <= 0.10 * 64 * MiB, r
    assert r[5] >= 0.9 * 64 * MiB, r  # still live when killed
    assert len(r) == 11 and isinstance(r[4], int) and isinstance(r[10], int)
    # the clock: the file's times are seconds since its clock origin, which
    # time.monotonic() shares on Linux
    assert t0 - 600 < doc["clock_origin"] <= t1
    assert t0 <= doc["clock_origin"] + doc["updated_s"] <= t1
    assert doc["peak_bytes"] >= doc["current_bytes"] >= 64 * MiB
    assert all(len(p) == 2 for p in doc["timeline"]) and doc["timeline"]


@pytest.mark.parametrize("mode", MODES)
def test_forked_child_has_its_own_file(mode: str, tmp_path: Path) -> None:
    from heapline import _core

    run_dir = tmp_path / "run"
    run_dir.mkdir(mode=0o700)
    proc = start(mode, tmp_path, str(run_dir), "fork")
    assert proc.stdout is not None
    child = int(proc.stdout.readline() or 0)
    pid_s, path = kill_after_line(proc).split()
    kill(int(pid_s), proc)
    assert child > 0
    prog = program("tables_sigkill.py")

    parent = _core.read_tables_file(path)
    assert row(parent, prog, marker_line(prog, "child-block")) is None
    assert row(parent, prog, marker_line(prog, "block")) is not None

    doc = _core.read_tables_file(Path(path).parent / f"tables-{child}")
    assert doc["pid"] == child and doc["ppid"] == int(pid_s) and doc["state"] == 1
    r = row(doc, prog, marker_line(prog, "child-block"))
    assert r is not None and abs(r[2] + r[3] - 24 * MiB) <= 0.10 * 24 * MiB, doc["lines"]
    assert row(doc, prog, marker_line(prog, "block")) is None
    assert doc["peak_bytes"] < parent["peak_bytes"]
    if mode == "preload":  # sys.exit(5) -> exit(5), which the preload interposes
        assert doc["exit_status"] == 5


def test_rows_are_snapshot_rows(tmp_path: Path) -> None:
    """read_tables_file on a process's own file gives snapshot()'s rows."""
    code = (
        "import heapline, json, sys\n"
        "from heapline import _core\n"
        "heapline.start(cpu=False, seed=3)\n"
        "_core.tables_to_file(sys.argv[1])\n"
        "data = [bytearray(2**20) for _ in range(8)]\n"
        "heapline.stop()\n"
        "snap = _core.snapshot()\n"
        "doc = _core.read_tables_file(_core.tables_path())\n"
        "head = _core.read_tables_header(_core.tables_path())\n"
        "same = all(head[k] == doc[k] for k in head)\n"
        "print(json.dumps([snap['lines'], doc['lines'], snap['timeline'], doc['timeline'],"
        " same, sorted(set(doc) - set(head))]))\n"
    )
    r = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True,
                       text=True, env=plain_env(), timeout=120)
    assert r.returncode == 0, r.stderr
    import json

    snap_lines, file_lines, snap_tl, file_tl, same, only_in_file = json.loads(r.stdout)
    assert snap_lines and sorted(map(tuple, snap_lines)) == sorted(map(tuple, file_lines))
    assert snap_tl == file_tl
    # read_tables_header: the same header facts, from one small read
    assert same and only_in_file == ["lines", "timeline"]


def test_bad_files_are_value_errors(tmp_path: Path) -> None:
    from heapline import _core

    with pytest.raises(FileNotFoundError):
        _core.read_tables_file(tmp_path / "missing")
    with pytest.raises(FileNotFoundError):
        _core.read_tables_header(tmp_path / "missing")
    short = tmp_path / "short"
    short.write_bytes(b"HEPTABL1" + bytes(100))
    with pytest.raises(ValueError, match="bytes, not the"):
        _core.read_tables_file(short)
    with pytest.raises(ValueError):
        _core.read_tables_file(tmp_path)  # a directory
    with pytest.raises(ValueError):
        _core.tables_set_state(3)


def test_bad_file_contents_are_value_errors(tmp_path: Path) -> None:
    """A real file, then corrupted: every kind is refused with one line."""
    from heapline import _core

    code = (
        "import heapline, sys\n"
        "from heapline import _core\n"
        "heapline.start(cpu=False)\n"
        "_core.tables_to_file(sys.argv[1])\n"
        "x = bytearray(2**22)\n"
        "print(_core.tables_path())\n"
    )
    r = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True,
                       text=True, env=plain_env(), timeout=120)
    assert r.returncode == 0, r.stderr
    good = Path(r.stdout.strip())
    data = good.read_bytes()
    assert _core.read_tables_file(good)["lines"]
    # src/core/tables_mem.h's header: magic 0, version 8, next_file_id 88,
    # names_used 92, used_count 96, tl_n 100, exited 108, state 112
    for off, value in [(0, 1), (8, 2), (88, 1 << 30), (92, 1 << 30), (96, 1 << 30),
                       (100, 1 << 30), (108, 7), (112, 7)]:
        bad = tmp_path / f"bad-{off}"
        b = bytearray(data)
        b[off:off + 4] = value.to_bytes(4, "little")
        bad.write_bytes(bytes(b))
        with pytest.raises(ValueError) as e:
            _core.read_tables_file(bad)
        assert "\n" not in str(e.value)
