"""The terminal report: the footprint sparkline, the report of a program that
closes its standard streams, library files named from their import root, an
installed -m target profiled as the program, `heapline show`'s width, and
counts in the singular."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import (Heapline, describe, heapline_cmd, linux_only, marker_line, program,
                      run_process)

pytestmark = linux_only

KNOWN = program("report_known.py")
BLOCKS = "▁▂▃▄▅▆▇█"


def test_header_has_the_footprint_sparkline(tmp_path: Path) -> None:
    proc = run_process([*heapline_cmd(), "run", str(KNOWN)], cwd=tmp_path)
    assert proc.returncode == 0, describe(proc)
    spark = [ln for ln in proc.stderr.splitlines() if ln.startswith("footprint ")]
    assert len(spark) == 1, describe(proc)
    m = re.fullmatch(rf"footprint ([{BLOCKS}]{{40}}) 0 to (\d+\.\d MiB) over \d+\.\d\d s",
                     spark[0])
    assert m, spark[0]
    assert "█" in m.group(1), "the peak reaches the top"
    # the 48 MiB block makes the peak early and is freed: the line falls after it
    assert m.group(1)[-1] != "█"
    peak = re.search(r"peak footprint (\d+\.\d MiB)", proc.stderr)
    assert peak and peak.group(1) == m.group(2)


@pytest.mark.parametrize("mode", ["preload", "in-process"])
@pytest.mark.parametrize("closes", ["stdout", "stdout-and-stderr"])
def test_report_of_a_program_that_closes_its_streams(tmp_path: Path, mode: str,
                                                     closes: str) -> None:
    if mode == "preload" and closes == "stdout-and-stderr":
        pytest.skip("in preload mode the report is printed by heapline run's own process")
    prog = tmp_path / "closes.py"
    prog.write_text("import sys\n"
                    "x = [0] * 10**6\n"
                    "print('out')\n"
                    "sys.stdout.close()\n"
                    + ("sys.stderr.close()\n" if closes == "stdout-and-stderr" else ""))
    extra = ["--in-process"] if mode == "in-process" else []
    proc = run_process([*heapline_cmd(), "run", *extra, str(prog)], cwd=tmp_path)
    assert proc.returncode == 0, describe(proc)
    assert proc.stdout == "out\n"
    assert "could not print the report" not in proc.stderr, describe(proc)
    row = [ln for ln in proc.stderr.splitlines() if "closes.py:2" in ln and "7.6 MiB" in ln]
    assert row, f"no Memory row for the 8,000,000-byte list\n{describe(proc)}"


def test_library_files_are_named_from_their_import_root(heapline: Heapline,
                                                        tmp_path: Path) -> None:
    prog = tmp_path / "uses_json.py"
    prog.write_text("import json\n"
                    "data = json.loads('[' + ','.join(['1.5'] * 400000) + ']')\n")
    run = heapline.run(str(prog), options=["--profile-all"], cwd=tmp_path)
    names = {f["path"]: f["name"] for f in run.doc["files"]}
    decoder = [p for p in names if p.endswith("/json/decoder.py")]
    assert decoder and names[decoder[0]] == "json/decoder.py", names
    assert names[str(prog)] == "uses_json.py"
    show = run_process([*heapline_cmd(), "show", str(run.json_path)], cwd=tmp_path)
    assert "json/decoder.py:" in show.stdout and "…/json" not in show.stdout, show.stdout


def test_installed_module_target_is_the_program(heapline: Heapline, tmp_path: Path) -> None:
    """`heapline run -m json.tool`: json is in the standard library, where lines
    are not charged by default; as the target, its own package is."""
    data = tmp_path / "in.json"
    data.write_text(json.dumps([{"key": i, "value": [i * 0.5] * 20} for i in range(20000)]))
    run = heapline.run("-m", "json.tool", str(data), str(tmp_path / "out.json"), cwd=tmp_path)
    charged = {f["name"]: sum(ln["alloc_bytes"] for ln in f["lines"]) for f in run.doc["files"]}
    assert charged, "nothing was charged to the target's package"
    assert all(name.startswith("json/") for name in charged), charged
    assert sum(charged.values()) > 8 << 20, charged  # the decoded document, at least
    assert any(ln["line"] for f in run.doc["files"] if f["name"] == "json/tool.py"
               for ln in f["lines"]), charged


def test_show_is_as_wide_as_run(heapline: Heapline, tmp_path: Path) -> None:
    run = heapline.run(str(KNOWN), cwd=tmp_path)
    proc = run_process([*heapline_cmd(), "show", str(run.json_path)], cwd=tmp_path)
    assert proc.returncode == 0, describe(proc)
    widths = [len(ln) for ln in proc.stdout.splitlines()]
    assert 80 < max(widths) <= 120, max(widths)
    # and the numbers are on the rows of their lines (the line's row in the
    # memory table; it has one in the CPU table too when a CPU sample fell on
    # it, and its source says MiB there as well)
    rows = [ln for ln in proc.stdout.splitlines()
            if f"report_known.py:{marker_line(KNOWN, 'kept24')} " in ln]
    assert any(re.search(r"24\.0 MiB .* 24\.0 MiB", row) for row in rows), rows


def test_one_sample_is_singular(heapline: Heapline, tmp_path: Path) -> None:
    run = heapline.run(str(KNOWN), cwd=tmp_path)
    doc = run.doc
    doc["cpu"]["samples"] = 1
    doc["sampling"]["samples"] = 1
    doc["unattributed"].update(alloc_bytes=4096, alloc_samples=1)
    one = tmp_path / "one.json"
    one.write_text(json.dumps(doc))
    proc = run_process([*heapline_cmd(), "show", str(one)], cwd=tmp_path)
    assert proc.returncode == 0, describe(proc)
    assert "1 samples" not in proc.stdout, proc.stdout
    assert "1 sample every" in proc.stdout and "allocated, 1 sample\n" in proc.stdout
    assert "(1 sample)" in proc.stdout
