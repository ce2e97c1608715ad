"""Properties every profile document has (docs/profile-format.md), the
recorded options, and --seed."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

import pytest

from conftest import (Doc, Heapline, Profiled, all_lines, describe, heapline_cmd, linux_only,
                      marked, program, run_process)

pytestmark = linux_only

SEEDED = program("seeded.py")
STDLIB_PROG = program("stdlib_alloc.py")
DEFAULT_INTERVAL = 64 * 1024


@pytest.fixture(scope="module")
def docs(heapline: Heapline) -> dict[str, Profiled]:
    return {
        "default": heapline.run(str(SEEDED)),
        "profile-all": heapline.run(str(STDLIB_PROG), options=["--profile-all"]),
    }


KINDS = ["default", "profile-all"]


@pytest.mark.parametrize("kind", KINDS)
def test_file_paths_are_absolute(docs: dict[str, Profiled], kind: str) -> None:
    paths = [f["path"] for f in docs[kind].doc["files"]]
    assert paths
    # docs/profile-format.md: with --profile-all, code compiled from a string
    # (such as the methods namedtuple makes: this program imports tokenize,
    # which makes one) is charged under its pseudo-name; every other path is
    # absolute
    pseudo = {"<string>"} if kind == "profile-all" else set()
    bad = [p for p in paths if not os.path.isabs(p) and p not in pseudo]
    assert bad == [], f"paths that are not absolute: {bad}"


@pytest.mark.parametrize("kind", KINDS)
def test_lines(docs: dict[str, Profiled], kind: str) -> None:
    doc = docs[kind].doc
    for f in doc["files"]:
        numbers = [ln["line"] for ln in f["lines"]]
        assert len(numbers) == len(set(numbers)), f"{f['path']}: a line listed twice"
        assert all(n >= 1 for n in numbers), f"{f['path']}: line numbers are 1-based: {numbers}"
    for path, ln in all_lines(doc):
        assert ln["alloc_bytes"] == ln["alloc_python_bytes"] + ln["alloc_native_bytes"], (path, ln)


@pytest.mark.parametrize("kind", KINDS)
def test_source_is_the_text_of_the_line(docs: dict[str, Profiled], kind: str) -> None:
    doc = docs[kind].doc
    checked = 0
    for f in doc["files"]:
        if not os.path.isfile(f["path"]):
            continue
        text = Path(f["path"]).read_text(encoding="utf-8", errors="replace").splitlines()
        for ln in f["lines"]:
            if ln["source"] == "":  # allowed when the file could not be read
                continue
            assert ln["source"].strip() == text[ln["line"] - 1].strip(), (f["path"], ln)
            checked += 1
    assert checked


@pytest.mark.parametrize("kind", KINDS)
def test_every_sample_is_charged_once(docs: dict[str, Profiled], kind: str) -> None:
    """Every sampled allocation is charged to exactly one place: a line or a bucket."""
    doc = docs[kind].doc
    charged = (sum(ln["alloc_samples"] for _, ln in all_lines(doc))
               + doc["native_threads"]["alloc_samples"] + doc["unattributed"]["alloc_samples"])
    assert charged == doc["sampling"]["samples"]


@pytest.mark.parametrize("kind", KINDS)
def test_memory_section(docs: dict[str, Profiled], kind: str) -> None:
    doc = docs[kind].doc
    memory = doc["memory"]
    assert memory["peak_bytes"] >= memory["exit_bytes"]
    times = [t for t, _ in memory["timeline"]]
    assert times == sorted(times), "timeline is in increasing time order"
    # All times count from the start of the program, as elapsed_s does.
    assert 0 <= memory["peak_at_s"] <= doc["elapsed_s"], (
        f"peak_at_s {memory['peak_at_s']} is after the end (elapsed_s {doc['elapsed_s']})")
    assert all(0 <= t <= doc["elapsed_s"] for t in times), (
        f"timeline spans {times[0]}..{times[-1]} s, elapsed_s is {doc['elapsed_s']}")
    assert all(b <= memory["peak_bytes"] for _, b in memory["timeline"]), "peak is the highest"


def test_run_description(docs: dict[str, Profiled]) -> None:
    doc = docs["default"].doc
    assert doc["python"] == platform.python_version()
    assert doc["program"] == str(SEEDED)
    assert doc["argv"] == [str(SEEDED)]
    assert doc["platform"].startswith("linux")
    assert doc["sampling"]["interval_bytes"] == DEFAULT_INTERVAL
    for hook in ("malloc", "calloc", "realloc", "free", "mmap", "munmap",
                 "py_malloc", "py_calloc", "py_realloc"):
        assert hook in doc["counters"], hook
    assert doc["counters"]["malloc"]["calls"] > 0
    assert doc["counters"]["py_malloc"]["calls"] > 0


def test_sampling_interval_option(heapline: Heapline) -> None:
    doc = heapline.run(str(SEEDED), options=["--sampling-interval", "1048576"]).doc
    assert doc["sampling"]["interval_bytes"] == 1048576


def estimates(doc: Doc) -> list[tuple[int, int, int]]:
    return [(ln["alloc_bytes"], ln["live_bytes"], ln["alloc_samples"])
            for ln in (marked(doc, SEEDED, "floats"), marked(doc, SEEDED, "tuples"))]


def fixed_layout() -> list[str]:
    """The prefix that runs a command without address-space randomization
    (`setarch -R`); skips the test where that cannot be had. With it, the
    heap's layout changes from run to run, and now and then so does what one
    of the interpreter's allocations hands the countdown (a usable size: see
    seeded.py), which moves every later draw: one run in ten on 3.15 here,
    rarer on 3.11 but seen in CI, with the same numbers of calls to each
    allocator function. No run in 22 differed without it."""
    prefix = ["setarch", platform.machine(), "-R"]
    try:
        if run_process([*prefix, "true"]).returncode == 0:
            return prefix
    except OSError:
        pass
    pytest.skip("address-space randomization cannot be turned off here (setarch -R)")


@linux_only
def test_seed_makes_a_run_reproducible(heapline: Heapline) -> None:
    """The same seed gives the same samples, whatever heapline did before the
    program's first line (session.restart_draws) and whatever the output
    file is called: the fixture's two profiles are in directories whose names
    can differ in length (profile9, profile10), which once moved two samples.
    The program's marked lines make fixed-size objects only (no list that
    grows: see seeded.py); the first run writes the byte-code caches; the runs
    have a fixed address layout (fixed_layout). Memory only: the CPU
    sampler's requests interrupt the loop at moments that vary, and on 3.15
    an interrupted loop turn now and then charges its int to the tuple's line
    or the other way round (one run in six)."""
    seeded = ["--memory-only", "--seed", "7"]
    launcher = [*fixed_layout(), *heapline_cmd()]
    heapline.run(str(SEEDED), options=seeded, launcher=launcher)
    first = estimates(heapline.run(str(SEEDED), options=seeded, launcher=launcher).doc)
    again = estimates(heapline.run(str(SEEDED), options=seeded, launcher=launcher).doc)
    assert first == again


@linux_only
def test_seed_ignores_the_output_path(heapline: Heapline, tmp_path: Path) -> None:
    """Output paths of different lengths: the same samples (the supervisor
    writes the outputs; the program's process is not told their paths)."""
    docs = []
    for name in ("warm.json", "p.json", "a-much-longer-name-for-the-same-profile.json"):
        out = tmp_path / name
        proc = run_process([*fixed_layout(), *heapline_cmd(), "run", "--no-report",
                            "--memory-only", "--seed", "7", "-o", str(out), str(SEEDED)])
        assert proc.returncode == 0, describe(proc)
        docs.append(json.loads(out.read_text(encoding="utf-8")))
    assert estimates(docs[1]) == estimates(docs[2])


def test_seed_changes_the_draws(heapline: Heapline) -> None:
    """Estimates made from a few hundred samples each differ between two seeds."""
    one = estimates(heapline.run(str(SEEDED), options=["--seed", "7"]).doc)
    other = estimates(heapline.run(str(SEEDED), options=["--seed", "8"]).doc)
    assert one != other, f"--seed 7 and --seed 8 gave the same estimates: {one}"
