"""Code compiled from a string shows under a pseudo file (`<string>`); the
profile names it by the line of profiled code where it was compiled, and
shows the compiled source beside its lines (src/heapline/compile_sites.py).
The truth: tests/programs/string_code.py, which compiles known source at a
marked line and allocates 32 MiB on the compiled code's line 2."""

from __future__ import annotations

import pytest

from conftest import MiB, Heapline, describe, marker_line, program, runs_programs

pytestmark = runs_programs

PROG = program("string_code.py")


@pytest.mark.parametrize("mode", ["preload", "in-process"])
def test_string_code_is_named_by_where_it_was_compiled(heapline: Heapline, mode: str) -> None:
    if mode == "preload" and heapline.mode != "preload":
        pytest.skip("no preload mode here")
    # --profile-all: by default `<string>` is not charged (its lines go to the
    # nearest line of your code, as library code's do)
    run = heapline.in_mode(mode).run(str(PROG), options=["--profile-all"])
    entries = [f for f in run.doc["files"] if f["path"] == "<string>"]
    assert len(entries) == 1, describe(run.proc)
    entry = entries[0]
    site = marker_line(PROG, "compiled")
    assert entry["name"] in (f"<string at {PROG.name}:{site}>",
                             f"<string at programs/{PROG.name}:{site}>"), entry["name"]
    line2 = [e for e in entry["lines"] if e["line"] == 2]
    assert line2, entry
    assert line2[0]["source"] == "return [bytearray(64 * 1024) for _ in range(n)]  # 64 KiB each"
    assert abs(line2[0]["alloc_bytes"] - 32 * MiB) <= 0.1 * 32 * MiB, line2[0]


def test_default_filter_charges_the_calling_line(heapline: Heapline) -> None:
    """Without --profile-all, `<string>` is library-like: its bytes are charged
    to the line of the program that called into it."""
    run = heapline.run(str(PROG))
    assert not [f for f in run.doc["files"] if f["path"] == "<string>"]
    mine = [f for f in run.doc["files"] if f["path"].endswith(PROG.name)]
    assert mine, describe(run.proc)
    called = marker_line(PROG, "called")
    line = [e for e in mine[0]["lines"] if e["line"] == called]
    assert line and abs(line[0]["alloc_bytes"] - 32 * MiB) <= 0.1 * 32 * MiB, mine[0]["lines"]
