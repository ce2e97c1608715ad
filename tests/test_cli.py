"""Command-line errors: exit status 2 and one `heapline: error: ...` line, no
traceback; and `heapline show`."""

from __future__ import annotations

import json
import sys
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

from conftest import Heapline, describe, heapline_cmd, linux_only, program, run_process

pytestmark = linux_only

OK_PROG = program("hl_behave.py")


def assert_usage_error(proc: subprocess.CompletedProcess[str]) -> None:
    lines = proc.stderr.splitlines()
    assert proc.returncode == 2, describe(proc)
    assert len(lines) == 1, f"expected one line on stderr\n{describe(proc)}"
    assert lines[0].startswith("heapline: error:"), describe(proc)
    assert "Traceback" not in proc.stderr + proc.stdout, describe(proc)
    assert proc.stdout == "", describe(proc)


def heapline_run(args: Sequence[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_process([*heapline_cmd(), *args], cwd=cwd)


def test_missing_script(tmp_path: Path) -> None:
    proc = heapline_run(["run", str(tmp_path / "no_such_script.py")], tmp_path)
    assert_usage_error(proc)
    assert "no_such_script.py" in proc.stderr


def test_syntax_error_in_script(tmp_path: Path) -> None:
    bad = tmp_path / "broken.py"
    bad.write_text("print('fine')\ndef oops(:\n    pass\n")
    proc = heapline_run(["run", str(bad)], tmp_path)
    assert_usage_error(proc)
    assert "broken.py" in proc.stderr
    assert "fine" not in proc.stdout, "the program must not start"


def test_sampling_interval_not_a_number(tmp_path: Path) -> None:
    assert_usage_error(heapline_run(["run", "--sampling-interval", "abc", str(OK_PROG)], tmp_path))


def test_unknown_option(tmp_path: Path) -> None:
    assert_usage_error(heapline_run(["run", "--bogus", str(OK_PROG)], tmp_path))


def test_output_directory_missing(tmp_path: Path) -> None:
    proc = heapline_run(["run", "-o", "/nonexistent/dir/p.json", str(OK_PROG)], tmp_path)
    assert_usage_error(proc)
    assert "to stderr" not in proc.stderr, "the program must not start"


def test_missing_module(tmp_path: Path) -> None:
    assert_usage_error(heapline_run(["run", "-m", "hl_no_such_module_here"], tmp_path))


def test_no_target(tmp_path: Path) -> None:
    assert_usage_error(heapline_run(["run"], tmp_path))


def test_show_prints_a_report(heapline: Heapline, tmp_path: Path) -> None:
    run = heapline.run(str(OK_PROG), "ok", cwd=tmp_path)
    proc = run_process([*heapline_cmd(), "show", str(run.json_path)], cwd=tmp_path)
    assert proc.returncode == 0, describe(proc)
    assert OK_PROG.name in proc.stdout, describe(proc)
    assert "Traceback" not in proc.stderr, describe(proc)


@pytest.mark.parametrize("content", [
    "{\"format\": \"heapline-profile\", \"version\": 1, ",  # cut short
    "not json at all",
    json.dumps({"format": "something-else", "version": 1}),
    json.dumps({"format": "heapline-profile", "version": 99}),
    "",
], ids=["truncated", "garbage", "wrong-format", "wrong-version", "empty"])
def test_show_of_a_bad_file(tmp_path: Path, content: str) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    assert_usage_error(run_process([*heapline_cmd(), "show", str(bad)], cwd=tmp_path))


def test_show_of_a_missing_file(tmp_path: Path) -> None:
    proc = run_process([*heapline_cmd(), "show", str(tmp_path / "missing.json")], cwd=tmp_path)
    assert_usage_error(proc)


def test_report_goes_to_stderr_not_stdout(tmp_path: Path) -> None:
    """Without --no-report the report is on stderr; stdout is the program's alone."""
    out = tmp_path / "p.json"
    proc = run_process([*heapline_cmd(), "run", "-o", str(out), str(OK_PROG), "ok"], cwd=tmp_path)
    assert proc.returncode == 0, describe(proc)
    plain = run_process([sys.executable, str(OK_PROG), "ok"], cwd=tmp_path)
    assert proc.stdout == plain.stdout
    assert proc.stderr.startswith(plain.stderr), describe(proc)
    assert len(proc.stderr) > len(plain.stderr), "no report was printed"
    assert out.is_file()


# `heapline run` command lines that heapline.commands.runline reads without
# argparse: each must give what argparse gives.
QUICK_LINES = [
    ["prog.py"],
    ["prog.py", "--json", "x", "-o", "y", "--help"],
    ["--no-report", "-o", "out.json", "prog.py", "a", "b"],
    ["--json=out.json", "--html", "p.html", "prog.py"],
    ["-oout.json", "--cpu-only", "--cpu-interval", "0.002", "prog.py"],
    ["--memory-only", "--sampling-interval", "4096", "--seed", "7", "prog.py"],
    ["--sampling-interval=1000", "--seed=3", "--cpu-interval=1e-3", "prog.py"],
    ["--profile-all", "--profile-only", "a,b", "--off", "--wall", "prog.py"],
    ["--no-children", "--keep-run-dir", "--in-process", "prog.py", "-o", "x"],
    ["-o", "a", "-o", "b", "--seed", "1", "--seed", "2", "prog.py"],
    ["--json=", "prog.py"],
    ["--", "prog.py", "--no-report"],
    ["-m", "http.server", "8000"],
    ["--no-report", "-mhttp.server", "--help"],
    ["-m"],
]

# Lines it leaves to argparse (which accepts some of them, refuses others).
ARGPARSE_LINES = [
    [],
    ["--help"],
    ["-h", "prog.py"],
    ["--no-rep", "prog.py"],  # an abbreviation
    ["--json"],
    ["--json", "--no-report", "prog.py"],
    ["-o=out.json", "prog.py"],
    ["--json=-x", "prog.py"],
    ["--seed", "-1", "prog.py"],
    ["--seed", "0", "prog.py"],
    ["--sampling-interval", "1e3", "prog.py"],
    ["--cpu-interval", "nan", "prog.py"],
    ["--cpu-interval", "inf", "prog.py"],
    ["--cpu-only", "--memory-only", "prog.py"],
    ["--off=1", "prog.py"],
    ["--unknown", "prog.py"],
    ["-", "prog.py"],
    ["--"],
]


def _argparse_reading(words: list[str]) -> dict[str, object] | str:
    """What heapline.cli's argparse parser makes of `heapline run WORDS`: its
    attributes, with the target as options_from_args takes it, or the error."""
    from heapline.cli import build_parser
    from heapline.commands import UsageError
    from heapline.commands.run import split_module_target

    line = split_module_target(["run", *words])
    try:
        ns = build_parser(line).parse_args(line)
    except UsageError as e:
        return f"error: {e}"
    except SystemExit:  # --help
        return "exit"
    return _comparable(vars(ns))


def _comparable(attrs: dict[str, object]) -> dict[str, object]:
    attrs = dict(attrs)
    target = list(attrs["target"])  # type: ignore[call-overload]
    attrs["target"] = target[1:] if target[:1] == ["--"] else target
    return attrs


@pytest.mark.parametrize("words", QUICK_LINES, ids=" ".join)
def test_quick_reading_of_run_is_argparse_s(words: list[str]) -> None:
    from heapline.commands import runline

    quick = runline.read(words)
    assert quick is not None, f"left to argparse: {words}"
    assert _comparable(vars(quick)) == _argparse_reading(words)


@pytest.mark.parametrize("words", ARGPARSE_LINES, ids=" ".join)
def test_unusual_run_lines_are_left_to_argparse(words: list[str]) -> None:
    from heapline.commands import runline

    assert runline.read(words) is None


@linux_only
def test_run_starts_the_program_before_importing_argparse(tmp_path: Path) -> None:
    """The program's first line runs before heapline imports argparse, re or
    enum (6-9 ms of its start-up): the supervisor imports them, if at all,
    while the program runs."""
    script = tmp_path / "prog.py"
    marker = tmp_path / "started"
    script.write_text(f"open({str(marker)!r}, 'w').close()\n")
    check = (
        "import sys, runpy\n"
        "from heapline import supervisor\n"
        "spawn = supervisor.os.posix_spawn\n"
        "def watched(*a, **k):\n"
        "    print(sorted(m for m in ('argparse', 're', 'enum') if m in sys.modules))\n"
        "    return spawn(*a, **k)\n"
        "supervisor.os.posix_spawn = watched\n"
        "from heapline.cli import main\n"
        f"main(['run', '--no-report', '-o', {str(tmp_path / 'p.json')!r}, {str(script)!r}])\n"
    )
    proc = run_process([sys.executable, "-c", check])
    assert proc.returncode == 0, describe(proc)
    assert marker.exists()
    assert proc.stdout.splitlines()[0] == "[]", describe(proc)
