"""Which files are profiled: --profile-only, the default exclusion of the
standard library and installed packages, and --profile-all."""

from __future__ import annotations

import json
import os
import sys
import sysconfig

import pytest

from conftest import (
    MiB,
    SEED,
    Heapline,
    Profiled,
    assert_within,
    describe,
    file_entry,
    marked,
    marked_or_zero,
    program,
    run_process,
    runs_programs,
    summarize,
)

pytestmark = runs_programs

MAIN = program("uses_helper.py")
HELPER = program("hl_helper.py")
STDLIB_PROG = program("stdlib_alloc.py")


def library_prefixes() -> list[str]:
    """Directories of the standard library and installed packages."""
    paths = sysconfig.get_paths()
    out: set[str] = set()
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        if paths.get(key):
            out.add(os.path.join(paths[key], ""))
            out.add(os.path.join(os.path.realpath(paths[key]), ""))
    return sorted(out)


def is_library_file(path: str) -> bool:
    return any(path.startswith(p) or os.path.realpath(path).startswith(p)
               for p in library_prefixes())


def heapline_package_dir() -> str:
    import heapline

    return os.path.join(os.path.dirname(os.path.realpath(heapline.__file__)), "")


# ---- --profile-only ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def helper_runs(heapline: Heapline) -> dict[str, Profiled]:
    runs = {}
    for name, only in [("default", None), ("helper", "hl_helper"), ("main", "uses_helper"),
                       ("list", "no_such_file_xyz,hl_helper")]:
        options = ["--seed", str(SEED)] + (["--profile-only", only] if only else [])
        runs[name] = heapline.run(str(MAIN), options=options)
    return runs


def test_default_profiles_both_user_files(helper_runs: dict[str, Profiled]) -> None:
    doc = helper_runs["default"].doc
    assert_within(marked(doc, HELPER, "helper-alloc")["alloc_bytes"], 96 * MiB,
                  "helper line", doc)
    assert_within(marked(doc, MAIN, "main-own")["alloc_bytes"], 64 * MiB, "main line", doc)
    # The caller is not charged for what the helper's line allocated.
    assert marked_or_zero(doc, MAIN, "main-call")["alloc_bytes"] < 0.1 * 96 * MiB, summarize(doc)


@pytest.mark.parametrize("variant", ["helper", "list"])
def test_profile_only_the_helper(helper_runs: dict[str, Profiled], variant: str) -> None:
    doc = helper_runs[variant].doc
    paths = [f["path"] for f in doc["files"]]
    assert paths, summarize(doc)
    assert all("hl_helper" in p for p in paths), f"files outside --profile-only: {paths}"
    assert_within(marked(doc, HELPER, "helper-alloc")["alloc_bytes"], 96 * MiB,
                  "helper line", doc)
    # uses_helper.py's own 64 MiB has no profiled line on the stack.
    assert doc["unattributed"]["alloc_bytes"] >= 0.9 * 64 * MiB, summarize(doc)


def test_profile_only_the_main_script(helper_runs: dict[str, Profiled]) -> None:
    """With the helper not profiled, its allocation is charged to the profiled
    line that called it."""
    doc = helper_runs["main"].doc
    paths = [f["path"] for f in doc["files"]]
    assert all("uses_helper" in p for p in paths), f"files outside --profile-only: {paths}"
    assert file_entry(doc, HELPER) is None
    assert_within(marked(doc, MAIN, "main-call")["alloc_bytes"], 96 * MiB,
                  "calling line (helper not profiled)", doc)
    assert_within(marked(doc, MAIN, "main-own")["alloc_bytes"], 64 * MiB, "main line", doc)


# ---- standard library -----------------------------------------------------------------


@pytest.fixture(scope="module")
def json_truth() -> int:
    proc = run_process([sys.executable, str(STDLIB_PROG), "--truth"])
    assert proc.returncode == 0, describe(proc)
    truth = int(json.loads(proc.stdout)["line_bytes"])
    assert truth >= 64 * MiB
    return truth


def test_default_excludes_the_standard_library(heapline: Heapline, json_truth: int) -> None:
    doc = heapline.run(str(STDLIB_PROG), options=["--seed", str(SEED)]).doc
    library = [f["path"] for f in doc["files"] if is_library_file(f["path"])]
    assert library == [], f"library files profiled by default: {library}"
    # json.loads's objects are charged to the user's line that called it.
    line = marked(doc, STDLIB_PROG, "json-loads")
    assert_within(line["live_bytes"], json_truth, "json.loads line: live_bytes vs tracemalloc", doc)


def test_profile_all_includes_the_standard_library(heapline: Heapline, json_truth: int) -> None:
    doc = heapline.run(str(STDLIB_PROG), options=["--seed", str(SEED), "--profile-all"]).doc
    json_files = [f for f in doc["files"]
                  if is_library_file(f["path"]) and f"{os.sep}json{os.sep}" in f["path"]]
    assert json_files, f"no json/ file of the standard library profiled:{summarize(doc)}"
    live = sum(ln["live_bytes"] for f in json_files for ln in f["lines"])
    assert_within(live, json_truth, "json package lines: live_bytes vs tracemalloc", doc)
    line = marked_or_zero(doc, STDLIB_PROG, "json-loads")
    assert line["live_bytes"] < 0.1 * json_truth, f"charged to json's own lines now: {line}"
    own = heapline_package_dir()
    assert not [f["path"] for f in doc["files"] if f["path"].startswith(own)], (
        "heapline's own files are never profiled")
