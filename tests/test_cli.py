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
