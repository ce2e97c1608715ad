"""`heapline run` in preload mode runs the program in a child process and
writes its profile when it ends (src/heapline/supervisor.py). The program must
not notice: its command line names it (ps, pgrep -f), signals sent to heapline
reach it, Ctrl-C reaches it, a signal it ignored stays ignored, and heapline
ends as the program ended. The private directory it used is removed."""

from __future__ import annotations

import ast
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import (
    MiB,
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

PROG = program("waits_for_signal.py")


def printed(stdout: str, key: str) -> str:
    for line in stdout.splitlines():
        if line.startswith(key + ": "):
            return line[len(key) + 2:]
    raise AssertionError(f"{key!r} not printed in:\n{stdout}")


def held_line(doc: dict[str, object]) -> dict[str, object]:
    entry = file_entry(doc, PROG)  # type: ignore[arg-type]
    assert entry is not None, doc
    want = marker_line(PROG, "held")
    lines = [e for e in entry["lines"] if e["line"] == want]
    assert lines, entry
    return lines[0]


def start(tmp_path: Path, *args: str, **kw: object) -> subprocess.Popen[str]:
    out = tmp_path / "p.json"
    env = plain_env({"TMPDIR": str(tmp_path)})
    return subprocess.Popen([*heapline_cmd(), "run", "-o", str(out), str(PROG), *args],
                            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)  # type: ignore[call-overload]


def wait_ready(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    seen = ""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen += line
        if line == "ready\n":
            return seen
    proc.kill()
    raise AssertionError(f"the program did not get ready:\n{seen}")


def finish(proc: subprocess.Popen[str], seen: str) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=120)
    return proc.returncode, seen + out, err


def test_command_line_names_the_program(tmp_path: Path) -> None:
    proc = run_process([*heapline_cmd(), "run", "--no-report", str(PROG), "one", "--flag"])
    assert proc.returncode == 0, describe(proc)
    words = [w.decode() for w in ast.literal_eval(printed(proc.stdout, "cmdline"))]
    assert words[-3:] == [str(PROG), "one", "--flag"], words


def test_command_line_names_the_module(tmp_path: Path) -> None:
    (tmp_path / "hl_mod.py").write_text("print(open('/proc/self/cmdline').read().split('\\0'))\n")
    proc = run_process([*heapline_cmd(), "run", "--no-report", "-m", "hl_mod", "x"],
                       cwd=tmp_path)
    assert proc.returncode == 0, describe(proc)
    assert ast.literal_eval(proc.stdout)[-4:] == ["-m", "hl_mod", "x", ""], proc.stdout


@pytest.mark.parametrize("to", ["heapline", "program"])
def test_sigterm_writes_the_profile_and_ends_by_sigterm(tmp_path: Path, to: str) -> None:
    proc = start(tmp_path, "wait")
    seen = wait_ready(proc)
    pid = proc.pid if to == "heapline" else int(printed(seen, "pid"))
    os.kill(pid, signal.SIGTERM)
    rc, out, err = finish(proc, seen)
    assert rc == -signal.SIGTERM, err
    doc = json.loads((tmp_path / "p.json").read_text())
    assert held_line(doc)["alloc_bytes"] >= 48 * MiB, doc
    assert "Hot lines" in err or "Memory" in err, err
    assert not list(tmp_path.glob("heapline-*")), "the private directory was left behind"


def test_ctrl_c_reaches_the_program(tmp_path: Path) -> None:
    """Ctrl-C: the terminal signals the whole foreground group."""
    proc = start(tmp_path, "wait", start_new_session=True)
    seen = wait_ready(proc)
    os.killpg(proc.pid, signal.SIGINT)
    rc, out, err = finish(proc, seen)
    assert rc == -signal.SIGINT, err
    assert "KeyboardInterrupt" in err, err
    assert (tmp_path / "p.json").is_file(), err


def test_sigkill_of_the_program_keeps_what_it_recorded(tmp_path: Path) -> None:
    """SIGKILL leaves the program no time to save its part: the profile is
    made from its tables file, which holds what it had recorded (its held
    block), and says the process did not complete; one line says so."""
    proc = start(tmp_path, "wait")
    seen = wait_ready(proc)
    os.kill(int(printed(seen, "pid")), signal.SIGKILL)
    rc, out, err = finish(proc, seen)
    assert rc == -signal.SIGKILL, err
    assert err.startswith("heapline: the program was ended by SIGKILL; its profile holds what "
                          "it had recorded until then\n"), err
    doc = json.loads((tmp_path / "p.json").read_text())
    assert abs(held_line(doc)["alloc_bytes"] - 48 * MiB) < 0.1 * 48 * MiB
    [process] = doc["processes"]
    assert process["pid"] == int(printed(seen, "pid"))
    assert process["complete"] is False
    assert process["exit_code"] == -signal.SIGKILL
    assert not list(tmp_path.glob("heapline-*")), "the private directory was left behind"


def test_ignored_sigint_stays_ignored(tmp_path: Path) -> None:
    """A program started with SIGINT ignored (nohup, `prog &` in a script)
    inherits that, under heapline as without it."""
    def ignore() -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    def seen(cmd: list[str]) -> str:
        proc = subprocess.run(cmd, env=plain_env(), stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, preexec_fn=ignore, timeout=120, check=False)
        assert proc.returncode == 0, describe(proc)
        return printed(proc.stdout, "sigint")

    plain = seen([sys.executable, str(PROG)])
    assert plain in ("Handlers.SIG_IGN", str(int(signal.SIG_IGN))), plain
    assert seen([*heapline_cmd(), "run", "--no-report", str(PROG)]) == plain


@pytest.mark.parametrize("mode", [[], ["--in-process"]], ids=["preload", "in-process"])
def test_report_to_a_pipe_its_reader_closed(tmp_path: Path, mode: list[str]) -> None:
    """`heapline run prog.py 2>&1 | head -c 1`: the reader is gone before the
    report is printed. heapline ends as the program did (exit 0) and leaves
    no run directory behind; before, rich's broken-pipe exit made it 1 (120
    in process, from the interpreter's last flush)."""
    prog = tmp_path / "prints_then_waits.py"
    prog.write_text("import time\nprint('hello', flush=True)\ntime.sleep(1)\n")
    cmd = " ".join(f"'{w}'" for w in [*heapline_cmd(), "run", *mode, str(prog)])
    shell = f"{cmd} 2>&1 | head -c 1 >/dev/null; echo \"rc=${{PIPESTATUS[0]}}\""
    proc = run_process(["bash", "-c", shell], cwd=tmp_path,
                       env={"TMPDIR": str(tmp_path)})
    assert proc.stdout.strip() == "rc=0", describe(proc)
    assert not list(tmp_path.glob("heapline-*")), list(tmp_path.iterdir())
