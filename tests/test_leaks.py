"""Leak detection (heapline.leaks): a program with a line that leaks a known
amount steadily, one that churns many times that and one that fills a cache
once; only the first is a possible leak, with its growth near the truth the
program prints. Without the leak, none is reported. The same list comes from
heapline.snapshot() in process and shows in the terminal report."""

from __future__ import annotations

import json
import sys

import pytest

from conftest import (Heapline, describe, heapline_cmd, marker_line, program, run_process,
                      runs_programs)

LEAKY = program("leaky.py")


def check_leaks(leaks: list[dict[str, object]], truth: int, what: str) -> None:
    assert len(leaks) == 1, f"{what}: {leaks}"
    e = leaks[0]
    assert e["line"] == marker_line(LEAKY, "LEAK"), f"{what}: {leaks}"
    assert str(e["path"]).endswith("leaky.py"), f"{what}: {leaks}"
    growth = float(e["growth_bytes"])  # type: ignore[arg-type]
    assert 0.75 * truth <= growth <= 1.25 * truth, f"{what}: growth {growth}, truth {truth}"
    assert 0.3 <= float(e["confidence"]) <= 1.0, f"{what}: {leaks}"  # type: ignore[arg-type]


@runs_programs
@pytest.mark.parametrize("mode", ["preload", "in-process"])
def test_only_the_steady_leak_is_reported(heapline: Heapline, mode: str) -> None:
    h = heapline.in_mode(mode)
    r = h.run(str(LEAKY))
    truth = int(r.proc.stdout.split()[-1])
    assert truth == 3000 * sys.getsizeof(bytes(10_000))
    check_leaks(r.doc["leaks"], truth, mode)
    # the report's section
    show = run_process([*heapline_cmd(), "show", str(r.json_path)])
    assert show.returncode == 0, describe(show)
    section = show.stdout.split("Possible leaks")[1]
    assert f"leaky.py:{marker_line(LEAKY, 'LEAK')}" in section, show.stdout
    assert f"leaky.py:{marker_line(LEAKY, 'CACHE')}" not in section, show.stdout
    assert f"leaky.py:{marker_line(LEAKY, 'CHURN')}" not in section, show.stdout


@runs_programs
def test_no_leak_reports_none(heapline: Heapline) -> None:
    r = heapline.run(str(LEAKY), "--no-leak")
    assert r.doc["leaks"] == []
    show = run_process([*heapline_cmd(), "show", str(r.json_path)])
    assert "Possible leaks" not in show.stdout


@runs_programs
def test_snapshot_carries_the_leaks() -> None:
    proc = run_process([sys.executable, str(program("leaky_api.py"))])
    assert proc.returncode == 0, describe(proc)
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    check_leaks(out["leaks"], out["truth"], "snapshot()")


def test_distance_from_uniform() -> None:
    from heapline.leaks import distance_from_uniform, find_leaks

    assert distance_from_uniform([1] * 32) == pytest.approx(0.0)
    assert distance_from_uniform([10] + [0] * 31) == pytest.approx(31 / 32)
    assert distance_from_uniform([0] * 31 + [10]) == pytest.approx(31 / 32)
    assert distance_from_uniform([0] * 16 + [1] * 16) == pytest.approx(0.5)
    steady = ("/p.py", 3, 64, 64e6, [2] * 32, [2e6] * 32)
    step = ("/p.py", 4, 64, 64e6, [64] + [0] * 31, [64e6] + [0.0] * 31)
    few = ("/p.py", 5, 4, 4e6, [1, 0, 0, 0, 0, 0, 0, 0] * 4, [1e6] * 32)
    pseudo = ("<unattributed>", 0, 64, 64e6, [2] * 32, [2e6] * 32)
    leaks = find_leaks([step, steady, few, pseudo])
    assert [e["line"] for e in leaks] == [3]
    assert leaks[0]["growth_bytes"] == 64_000_000
