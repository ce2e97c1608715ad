"""A program behaves the same under `heapline run --no-report` as under plain
python: same stdout, stderr (tracebacks included) and exit status, same
sys.argv, __name__, sys.path[0] and __file__. The profile is written however the
program ends. Each test runs in both launch modes: preloaded (a new
interpreter) and --in-process (the program runs in heapline's interpreter).
"""

from __future__ import annotations

import ast
import json
import time
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from conftest import (
    IS_WINDOWS,
    PROGRAMS,
    Heapline,
    Profiled,
    console_script,
    posix_only,
    program,
    run_process,
    runs_programs,
)

pytestmark = runs_programs

PROG = program("hl_behave.py")
MODULE = "hl_behave"


@pytest.fixture(params=["in-process"] if IS_WINDOWS else ["preload", "in-process"])
def heapline(heapline: Heapline, request: pytest.FixtureRequest) -> Heapline:
    return heapline.in_mode(request.param)


preload_only = pytest.mark.parametrize("heapline", [
    pytest.param("preload", marks=posix_only)], indirect=True)


def compare(heapline: Heapline, args: Sequence[str], *, cwd: Path | str,
            env: Mapping[str, str] | None = None, stdin: str | None = None,
            launcher: Sequence[str] | None = None
            ) -> tuple[subprocess.CompletedProcess[str], Profiled]:
    """Runs ``python ARGS`` and ``heapline run ARGS``; both must act the same."""
    plain = run_process([sys.executable, *args], cwd=cwd, env=env, stdin=stdin)
    profiled = heapline.run(*args, cwd=cwd, env=env, stdin=stdin, expect_rc=None,
                            launcher=launcher)
    got = profiled.proc
    problems = []
    if got.stdout != plain.stdout:
        problems.append(f"stdout differs\n--- python ---\n{plain.stdout}"
                        f"--- heapline ---\n{got.stdout}")
    if got.stderr != plain.stderr:
        problems.append(f"stderr differs\n--- python ---\n{plain.stderr}"
                        f"--- heapline ---\n{got.stderr}")
    if got.returncode != plain.returncode:
        problems.append(f"exit status: python {plain.returncode}, heapline {got.returncode}")
    assert not problems, "\n".join(problems)
    return plain, profiled


def printed(stdout: str, key: str) -> str:
    for line in stdout.splitlines():
        if line.startswith(key + ": "):
            return line[len(key) + 2:]
    raise AssertionError(f"{key!r} not printed in:\n{stdout}")


@pytest.mark.parametrize(("mode", "rc"), [
    ("ok", 0),
    ("exit3", 3),
    ("exitmsg", 1),
    ("raise", 1),
    ("chain", 1),
    ("context", 1),
    # python re-raises SIGINT after an uncaught KeyboardInterrupt
    pytest.param("interrupt", -2, marks=posix_only),
])
def test_script_ends_the_same(heapline: Heapline, tmp_path: Path, mode: str, rc: int) -> None:
    plain, profiled = compare(heapline, [str(PROG), mode, "extra arg", "--flag"], cwd=tmp_path)
    assert plain.returncode == rc, plain
    if mode in ("raise", "chain", "context", "interrupt"):
        assert "Traceback (most recent call last)" in profiled.proc.stderr
    # The document records the command line as the program saw it.
    seen = ast.literal_eval(printed(profiled.proc.stdout, "argv"))
    assert profiled.doc["argv"] == seen


def test_audited_calls_run_no_python_code_of_heapline(heapline: Heapline,
                                                     tmp_path: Path) -> None:
    """heapline's audit hook (compile sites) is C and does nothing for events
    other than "compile": the program's id() and sys._getframe() run no
    Python function of heapline's (a hook in Python made id() 4x slower), so
    they work in the deepest frame the recursion limit allows."""
    if sys.version_info < (3, 12):
        pytest.skip("3.11 counts C calls against the recursion limit too: there the "
                    "deepest frame has no room for id() itself")
    plain, _ = compare(heapline, [str(PROG), "audited"], cwd=tmp_path)
    assert "audited calls at the recursion limit: ok" in plain.stdout, plain.stdout


def test_stdin_is_passed_through(heapline: Heapline, tmp_path: Path) -> None:
    _, profiled = compare(heapline, [str(PROG), "stdin"], cwd=tmp_path,
                          stdin="line one\nline two\n")
    assert "line one" in profiled.proc.stdout


def test_script_given_by_relative_path(heapline: Heapline) -> None:
    """sys.argv[0] is the path as given, relative here; __file__ and path[0] as python sets them."""
    plain, _ = compare(heapline, [PROG.name, "ok", "a"], cwd=PROGRAMS)
    assert printed(plain.stdout, "argv") == repr([PROG.name, "ok", "a"])


def test_script_given_by_relative_path_traceback(heapline: Heapline) -> None:
    compare(heapline, [PROG.name, "raise"], cwd=PROGRAMS)


@posix_only  # symlinks need a privilege on Windows
def test_script_reached_through_a_symlink(heapline: Heapline, tmp_path: Path) -> None:
    link_dir = tmp_path / "bin"
    link_dir.mkdir()
    link = link_dir / "behave_link.py"
    link.symlink_to(PROG)
    compare(heapline, [str(link), "raise"], cwd=tmp_path)


def test_sys_path(heapline: Heapline, tmp_path: Path) -> None:
    compare(heapline, [str(PROG), "syspath"], cwd=tmp_path)


def test_sys_path_with_pythonpath(heapline: Heapline, tmp_path: Path) -> None:
    """PYTHONPATH entries stay on sys.path, after the script's directory."""
    extra = tmp_path / "extra_dir"
    extra.mkdir()
    compare(heapline, [str(PROG), "syspath"], cwd=tmp_path,
            env={"PYTHONPATH": f"{extra}{os.pathsep}{tmp_path}"})


def test_main_module_attributes(heapline: Heapline, tmp_path: Path) -> None:
    compare(heapline, [str(PROG), "globals"], cwd=tmp_path)


@preload_only
def test_children_run_under_the_preload(heapline: Heapline, tmp_path: Path) -> None:
    """Non-Python and Python children inherit LD_PRELOAD and still work."""
    _, profiled = compare(heapline, [str(PROG), "children"], cwd=tmp_path)
    out = profiled.proc.stdout
    assert "sh: 'hi from sh\\n' 'err from sh\\n' 4" in out
    assert "hi from python" in out
    assert "inherited stdout" in out


@preload_only
def test_children_inherit_the_preload(heapline: Heapline, tmp_path: Path) -> None:
    run = heapline.run(str(PROG), "child-env", cwd=tmp_path)
    preload = printed(run.proc.stdout, "preload")
    assert "libheapline" in preload, run.proc.stdout


# ---- -m module ------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["ok", "exit3", "globals", "syspath"])
def test_module_from_current_directory(heapline: Heapline, mode: str) -> None:
    plain, profiled = compare(heapline, ["-m", MODULE, mode, "arg"], cwd=PROGRAMS)
    assert printed(plain.stdout, "name") == "__main__"
    assert printed(plain.stdout, "path0") == str(PROGRAMS)
    assert printed(plain.stdout, "argv") == repr([str(PROG), mode, "arg"])


def test_module_traceback(heapline: Heapline) -> None:
    """An uncaught exception in a module run with -m: same traceback as python -m."""
    compare(heapline, ["-m", MODULE, "raise"], cwd=PROGRAMS)


def test_module_on_pythonpath(heapline: Heapline, tmp_path: Path) -> None:
    plain, _ = compare(heapline, ["-m", MODULE, "ok"], cwd=tmp_path,
                       env={"PYTHONPATH": str(PROGRAMS)})
    assert printed(plain.stdout, "name") == "__main__"


def test_module_with_console_script(heapline: Heapline) -> None:
    """`heapline run -m mod` (the installed command) finds modules in the current
    directory, as `python -m mod` does."""
    compare(heapline, ["-m", MODULE, "ok"], cwd=PROGRAMS, launcher=console_script())


def test_script_with_console_script(heapline: Heapline, tmp_path: Path) -> None:
    compare(heapline, [str(PROG), "exit3"], cwd=tmp_path, launcher=console_script())


def test_heapline_package_not_visible_as_main(heapline: Heapline, tmp_path: Path) -> None:
    """The program's __main__ is the program, and heapline's env var is gone."""
    script = tmp_path / "env_check.py"
    script.write_text("import os, sys\n"
                      "print(sorted(k for k in os.environ if k.startswith('HEAPLINE')))\n"
                      "print(os.path.basename(sys.modules['__main__'].__file__))\n")
    plain, profiled = compare(heapline, [str(script)], cwd=tmp_path)
    # the same HEAPLINE* variables as the plain run saw (none of heapline's own)
    assert profiled.proc.stdout == plain.stdout
    assert "HEAPLINE_OPTIONS" not in profiled.proc.stdout
    assert profiled.proc.stdout.endswith("\nenv_check.py\n")
    assert os.path.basename(profiled.doc["program"]) == "env_check.py"


@posix_only
@pytest.mark.parametrize("children", [True, False], ids=["children", "no-children"])
def test_forked_child_that_outlives_its_parent(heapline: Heapline, tmp_path: Path,
                                               children: bool) -> None:
    """A child made by os.fork() that exits normally, after its parent, runs
    the inherited atexit handlers: it writes its own part (merged when it ends
    within heapline's wait for children), never the parent's; with
    --no-children it writes nothing and the profile is the parent's."""
    script = tmp_path / "forker.py"
    done = tmp_path / "child-done"
    script.write_text(
        "import os, sys, time\n"
        "big = bytearray(32 * 2**20)\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    child = bytearray(64 * 2**20)\n"
        "    time.sleep(1.0)\n"
        f"    import atexit; atexit.register(lambda: open({str(done)!r}, 'w').close())\n"
        "    sys.exit(0)\n"
        "print('parent', len(big))\n")
    run = heapline.run(str(script), cwd=tmp_path,
                       options=() if children else ("--no-children",))
    assert run.proc.stdout == "parent 33554432\n"
    for _ in range(100):  # the child outlives the run; wait for its exit
        if done.exists():
            break
        time.sleep(0.05)
    time.sleep(0.3)
    assert done.exists()
    doc = json.loads(run.json_path.read_text())
    lines = {e["line"] for f in doc["files"] for e in f["lines"]}
    assert 2 in lines
    if children:
        assert 5 in lines, lines
        assert len(doc["processes"]) == 2 and doc["processes"][1]["complete"]
    else:
        assert 5 not in lines, lines
        assert len(doc["processes"]) == 1


def test_os_exit_keeps_status_and_output_and_writes_the_profile(heapline: Heapline,
                                                                tmp_path: Path) -> None:
    """os._exit skips atexit: the profile is written from the _exit hook, while
    the exit status and output (buffered stdout lost, as without heapline) stay."""
    script = tmp_path / "hard_exit.py"
    script.write_text("import os, sys\n"
                      "block = bytearray(48 * 2**20)\n"
                      "print('buffered, lost')\n"
                      "sys.stderr.write('said on stderr\\n')\n"
                      "os._exit(5)\n")
    plain, profiled = compare(heapline, [str(script)], cwd=tmp_path)
    assert plain.returncode == 5
    entry = {e["line"]: e for f in profiled.doc["files"] for e in f["lines"]}.get(2)
    assert entry is not None and abs(entry["alloc_bytes"] - 48 * 2**20) <= 0.1 * 48 * 2**20


def test_os_exit_writes_the_profile_of_a_cpu_only_run(heapline: Heapline, tmp_path: Path) -> None:
    """Without memory profiling no allocator is hooked; _exit still is."""
    script = tmp_path / "hard_exit_cpu.py"
    script.write_text("import os\n"
                      "n = 0\n"
                      "for i in range(3_000_000):\n"
                      "    n += i\n"
                      "os._exit(6)\n")
    run = heapline.run(str(script), options=["--cpu-only"], cwd=tmp_path, expect_rc=6)
    assert run.doc["cpu"]["samples"] > 0


def test_module_options_after_the_name_are_the_modules(heapline: Heapline, tmp_path: Path) -> None:
    """`heapline run -m mod --help`: --help is the module's, as with python -m."""
    plain, profiled = compare(heapline, ["-m", "json.tool", "--help"], cwd=tmp_path)
    assert plain.stdout.startswith("usage: python -m json.tool")
    plain, profiled = compare(heapline, ["-mjson.tool", "--help"], cwd=tmp_path)
    assert plain.stdout.startswith("usage: python -m json.tool")
