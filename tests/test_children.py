"""`heapline run` profiles the Python processes a program starts, at any depth,
and merges them into one profile with a `processes` list
(src/heapline/_child.py, rundir.py, merge.py; the tables files of
src/core/tables_file.c).

Truths: the bytes each process allocates on a marked line
(tests/programs/children.py), the CPU time pool workers measure of themselves,
a child's own exit status, and the output and exit status of the same program
run without heapline.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import (
    MiB,
    Heapline,
    Profiled,
    describe,
    file_entry,
    heapline_cmd,
    linux_only,
    marker_line,
    plain_env,
    program,
    run_process,
)

pytestmark = linux_only

PROG = program("children.py")
SUB = program("children_sub.py")


def _normal(text: str) -> str:
    """Output with the pids printed by the program taken out."""
    return re.sub(r"(child pid|measured|worker pids)( [\d.]+)+", r"\1 N", text)


#: CPython 3.13 counts a process's threads after os.fork()'s after-fork
#: hooks, so heapline's CPU sampling thread, stopped across the fork and
#: started again in those hooks, is counted there and `os.fork()` from
#: __main__ shows its DeprecationWarning (README, known limits). 3.12, 3.14
#: and 3.15 count before the hooks: no warning there.
_FORK_WARNING = re.compile(r"^.*DeprecationWarning: This process \(pid=\d+\) is multi-threaded, "
                           r"use of fork\(\) may lead to deadlocks in the child\.\n.*\n",
                           re.MULTILINE)


def compare(heapline: Heapline, *args: str, options: tuple[str, ...] = (),
            env: dict[str, str] | None = None) -> Profiled:
    """Runs the program plainly and under heapline: the same output and exit
    status; returns the profiled run."""
    plain = run_process([sys.executable, str(PROG), *args], env=env)
    profiled = heapline.run(str(PROG), *args, options=options, env=env, expect_rc=None)
    got = profiled.proc
    assert _normal(got.stdout) == _normal(plain.stdout), describe(got)
    err = got.stderr
    if sys.version_info[:2] == (3, 13):
        err = _FORK_WARNING.sub("", err)
    assert err == plain.stderr, describe(got)
    assert got.returncode == plain.returncode == 0, describe(got)
    return profiled


def line_bytes(doc: dict[str, Any], path: Path, marker: str) -> int:
    entry = file_entry(doc, path)
    if entry is None:
        return 0
    want = marker_line(path, marker)
    return sum(e["alloc_bytes"] for e in entry["lines"] if e["line"] == want)


def near(got: float, want: float, rel: float = 0.1) -> bool:
    return abs(got - want) <= rel * want


def top_pid(doc: dict[str, Any]) -> int:
    return doc["processes"][0]["pid"]


@pytest.mark.parametrize("method", ["spawn", "forkserver", "fork"])
def test_pool_workers_bytes_are_on_their_line(heapline: Heapline, method: str) -> None:
    profiled = compare(heapline, f"pool-{method}")
    doc = profiled.doc
    assert near(line_bytes(doc, PROG, "task"), 96 * MiB), doc["processes"]
    procs = doc["processes"]
    # every worker that ran a task (a worker the pool ends before it has
    # started need not be there), children of the program or of the forkserver
    ran = {int(pid) for pid in profiled.proc.stdout.split("worker pids")[1].split()}
    pids = {p["pid"] for p in procs}
    assert ran and ran <= pids, (ran, procs)
    assert all(p["ppid"] in pids or p["ppid"] == 1 for p in procs[1:]), procs
    assert all(p["complete"] for p in procs), procs
    assert procs[0]["exit_code"] == 0
    # the tree's peak holds at least two workers' blocks beside the program
    assert doc["memory"]["peak_bytes"] >= 2 * 12 * MiB


def test_process_pool_executor(heapline: Heapline) -> None:
    doc = compare(heapline, "executor").doc
    assert near(line_bytes(doc, PROG, "task"), 32 * MiB)


def test_forked_child(heapline: Heapline) -> None:
    """os.fork() keeps running Python: the child's line, its exit status (5,
    from sys.exit), and its parent; the bytes it shares with its parent are
    not counted as its own peak."""
    doc = compare(heapline, "fork").doc
    assert near(line_bytes(doc, PROG, "forked"), 64 * MiB)
    [child] = [p for p in doc["processes"][1:]]
    assert child["ppid"] == top_pid(doc)
    assert child["exit_code"] == 5
    assert child["complete"] is True
    assert near(child["peak_bytes"], 64 * MiB, 0.2), child


def test_subprocess_running_another_script(heapline: Heapline) -> None:
    """`subprocess.run([sys.executable, other.py])`: numpy's 32 MiB on the other
    script's line, as native bytes; the child's own exit status (4)."""
    pytest.importorskip("numpy")
    doc = compare(heapline, "subprocess").doc
    entry = file_entry(doc, SUB)
    assert entry is not None, [f["path"] for f in doc["files"]]
    [line] = [e for e in entry["lines"] if e["line"] == marker_line(SUB, "sub")]
    assert near(line["alloc_native_bytes"], 32 * MiB), line
    [child] = [p for p in doc["processes"] if str(SUB) in p["argv"]]
    assert child["exit_code"] == 4
    assert child["ppid"] == top_pid(doc)


def test_nested_pools(heapline: Heapline) -> None:
    """Workers that start pools of their own: grandchildren are profiled too."""
    doc = compare(heapline, "nested").doc
    assert near(line_bytes(doc, PROG, "task"), 32 * MiB)
    procs = {p["pid"]: p for p in doc["processes"]}
    depth = {top_pid(doc): 0}
    for _ in range(4):
        for p in procs.values():
            if p["ppid"] in depth:
                depth.setdefault(p["pid"], depth[p["ppid"]] + 1)
    assert max(depth.values()) >= 2, doc["processes"]


def test_pool_workers_cpu_time(heapline: Heapline) -> None:
    """The CPU seconds on the workers' busy line against the seconds the
    workers measured of themselves (time.process_time), in the same run."""
    profiled = compare(heapline, "cpu")
    doc = profiled.doc
    measured = float(profiled.proc.stdout.split("measured")[1])
    entry = file_entry(doc, PROG)
    assert entry is not None
    spin = marker_line(PROG, "spin")
    got = sum(e["cpu_python_s"] + e["cpu_native_s"] + e["cpu_system_s"]
              for e in entry["lines"] if spin <= e["line"] <= spin + 1)
    interval = 0.01
    assert abs(got - measured) <= 0.1 * measured + 4 * 4 * interval, (got, measured)
    workers = [p for p in doc["processes"] if p["cpu_s"] > 0.3]
    assert len(workers) >= 2, doc["processes"]


def test_sigkilled_child_keeps_what_it_recorded(heapline: Heapline) -> None:
    """A child killed with SIGKILL after allocating a known block: its line is
    in the profile, from its tables file, and its process is not complete."""
    doc = compare(heapline, "killed").doc
    assert near(line_bytes(doc, PROG, "held"), 48 * MiB)
    killed = [p for p in doc["processes"] if not p["complete"]]
    assert len(killed) == 1, doc["processes"]
    assert killed[0]["ppid"] == top_pid(doc)
    assert killed[0]["peak_bytes"] >= 48 * MiB
    assert doc["processes"][0]["complete"] is True


def test_two_hundred_short_lived_children(heapline: Heapline, tmp_path: Path) -> None:
    """Pool(maxtasksperchild=1): each of 200 tasks in a worker of its own, which
    the program saw (the pids its tasks returned); every one of them is in the
    profile, complete, ended by os._exit(0) or, when the pool terminated it
    before it could exit, by SIGTERM."""
    pids = tmp_path / "pids"
    profiled = compare(heapline, "many", "200", "fork", str(pids))
    assert profiled.proc.stdout == "workers 200\n"
    workers = {int(p) for p in pids.read_text().split()}
    procs = {p["pid"]: p for p in profiled.doc["processes"]}
    assert workers <= set(procs), sorted(workers - set(procs))[:5]
    assert all(procs[w]["complete"] for w in workers), [procs[w] for w in workers
                                                          if not procs[w]["complete"]][:3]
    assert all(procs[w]["exit_code"] in (0, -signal.SIGTERM) for w in workers)
    assert len(procs) == len(profiled.doc["processes"])  # no process twice


@pytest.fixture(scope="module")
def c_child(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("cc")
    if cc is None:
        pytest.skip("no C compiler")
    src = tmp_path_factory.mktemp("cchild") / "churn.c"
    src.write_text(
        "#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n"
        "int main(void) {\n  unsigned long sum = 0;\n"
        "  for (int i = 0; i < 200000; i++) {\n"
        "    size_t n = 16 + (i % 4096);\n    char *p = malloc(n);\n"
        "    memset(p, i & 0xff, n);\n    sum += (unsigned char)p[n - 1];\n    free(p);\n  }\n"
        "  printf(\"%lu\\n\", sum);\n  return 7;\n}\n")
    out = src.with_suffix("")
    subprocess.run([cc, "-O1", "-o", str(out), str(src)], check=True)
    return out


def test_children_that_are_not_python(heapline: Heapline, c_child: Path) -> None:
    """A C program that allocates heavily and `bash -c` run as without
    heapline (output, exit status) and are not listed."""
    doc = compare(heapline, "native", str(c_child)).doc
    assert len(doc["processes"]) == 1, doc["processes"]


def test_no_children(heapline: Heapline) -> None:
    doc = compare(heapline, "pool-spawn", options=("--no-children",)).doc
    assert line_bytes(doc, PROG, "task") == 0
    assert len(doc["processes"]) == 1


def test_in_process_run_follows_children(heapline: Heapline) -> None:
    doc = compare(heapline.in_mode("in-process"), "pool-spawn").doc
    assert near(line_bytes(doc, PROG, "task"), 96 * MiB)


def test_children_see_no_heapline_variable(heapline: Heapline, tmp_path: Path) -> None:
    """A child's os.environ is what it would be without heapline (the run
    directory's variable is passed on below it, not shown to it)."""
    script = tmp_path / "env_child.py"
    script.write_text(
        "import os, subprocess, sys\n"
        "code = 'import os; print(sorted(k for k in os.environ if k.startswith(\"HEAPLINE\")))'\n"
        "print(subprocess.run([sys.executable, '-c', code], capture_output=True,"
        " text=True).stdout.strip())\n")
    plain = run_process([sys.executable, str(script)])
    profiled = heapline.run(str(script))
    assert profiled.proc.stdout == plain.stdout
    assert "HEAPLINE_CHILDREN" not in profiled.proc.stdout
    assert "HEAPLINE_OPTIONS" not in profiled.proc.stdout
    assert len(profiled.doc["processes"]) == 2


def test_planted_run_directory_is_not_written(tmp_path: Path) -> None:
    """A run directory named in the environment is written into only when it
    is a private directory of this user's with a run marker: nothing is
    written to an open directory, one without the marker, or through a link."""
    open_dir = tmp_path / "open"
    open_dir.mkdir(mode=0o755)
    open_dir.chmod(0o755)
    (open_dir / "heapline-run").write_bytes(b"")
    bare = tmp_path / "bare"
    bare.mkdir(mode=0o700)
    link = tmp_path / "link"
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    (private / "heapline-run").write_bytes(b"")
    link.symlink_to(private)
    for planted in (open_dir, bare, link, tmp_path / "missing", Path("relative")):
        before = {d: sorted(os.listdir(d)) for d in (open_dir, bare, private)}
        proc = run_process([sys.executable, "-c", "x = bytearray(2**20); print('ok')"],
                           env={"HEAPLINE_CHILDREN": str(planted)})
        assert proc.stdout == "ok\n" and proc.stderr == "", describe(proc)
        assert {d: sorted(os.listdir(d)) for d in (open_dir, bare, private)} == before, planted


def test_show_rebuilds_the_profile_from_the_run_directory(tmp_path: Path) -> None:
    """When heapline itself is killed, its run directory stays; `heapline show
    DIR` makes the profile from it."""
    waits = program("waits_for_signal.py")
    proc = subprocess.Popen([*heapline_cmd(), "run", "--no-report", "-o", str(tmp_path / "p.json"),
                             str(waits), "wait"], env=plain_env({"TMPDIR": str(tmp_path)}),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    seen = ""
    while "ready" not in seen:
        line = proc.stdout.readline()
        assert line, proc.stderr.read() if proc.stderr else ""
        seen += line
    program_pid = int(re.search(r"pid: (\d+)", seen).group(1))  # type: ignore[union-attr]
    proc.kill()  # heapline itself
    proc.wait()
    os.kill(program_pid, signal.SIGTERM)  # the program saves its part and ends
    for _ in range(500):
        try:
            os.kill(program_pid, 0)
        except ProcessLookupError:
            break
        import time

        time.sleep(0.01)
    [run_dir] = tmp_path.glob("heapline-*")
    out = tmp_path / "rebuilt.json"
    shown = run_process([*heapline_cmd(), "show", str(run_dir), "-o", str(out)])
    assert shown.returncode == 0, describe(shown)
    assert "Memory" in shown.stdout
    doc = json.loads(out.read_text())
    entry = file_entry(doc, waits)
    assert entry is not None
    held = [e for e in entry["lines"] if e["line"] == marker_line(waits, "held")]
    assert held and near(held[0]["alloc_bytes"], 48 * MiB)
    assert doc["processes"][0]["pid"] == program_pid
    assert doc["processes"][0]["complete"] is True
    assert run_dir.is_dir()  # show does not remove it


def test_show_refuses_a_directory_that_is_not_a_run(tmp_path: Path) -> None:
    proc = run_process([*heapline_cmd(), "show", str(tmp_path)])
    assert proc.returncode == 2, describe(proc)
    assert proc.stderr.count("\n") == 1, proc.stderr


def test_report_lists_the_processes(heapline: Heapline) -> None:
    """The terminal report has a processes table when there is more than the
    program's own process, and none otherwise."""
    tree = compare(heapline, "executor")
    shown = run_process([*heapline_cmd(), "show", str(tree.json_path)])
    assert shown.returncode == 0, describe(shown)
    assert "Processes (" in shown.stdout
    for p in tree.doc["processes"]:
        assert str(p["pid"]) in shown.stdout
    alone = compare(heapline, "executor", options=("--no-children",))
    shown = run_process([*heapline_cmd(), "show", str(alone.json_path)])
    assert "Processes (" not in shown.stdout, shown.stdout
