"""heapline refuses interpreters it does not support (free-threaded builds,
versions outside 3.11-3.15) with one sentence and exit status 2, before its C
core is loaded, and runs on the supported ones."""

from __future__ import annotations

import sys

import pytest

from conftest import describe, program, run_process
from heapline import interpreter


def test_this_interpreter_is_supported() -> None:
    assert interpreter.refusal() is None


def test_free_threaded_build_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "abiflags", "t", raising=False)
    why = interpreter.refusal()
    assert why is not None and "free-threaded" in why and "%d.%dt" % sys.version_info[:2] in why


@pytest.mark.parametrize("version", [(3, 10, 0), (3, 16, 0)])
def test_unknown_version_is_refused(monkeypatch: pytest.MonkeyPatch,
                                    version: tuple[int, int, int]) -> None:
    monkeypatch.setattr(sys, "version_info", version)
    why = interpreter.refusal()
    assert why == f"heapline supports CPython 3.11 to 3.15, not {version[0]}.{version[1]}"


# What `heapline run` and `import heapline.api` do where refusal() answers: the
# interpreter's own flags are set as a free-threaded build would have them.
PRETEND = "import sys; sys.abiflags = 't'; "


@pytest.mark.parametrize("mode", [[], ["--in-process"]])
def test_run_refuses_in_one_line(mode: list[str]) -> None:
    target = str(program("hl_behave.py"))
    proc = run_process([sys.executable, "-c",
                        PRETEND + "from heapline.cli import main; "
                        f"sys.exit(main(['run', *{mode!r}, {target!r}]))"])
    assert proc.returncode == 2, describe(proc)
    assert proc.stderr.startswith("heapline: error: heapline does not support free-threaded"), \
        describe(proc)
    assert proc.stderr.count("\n") == 1 and not proc.stdout, describe(proc)


def test_api_import_refuses_before_loading_the_core() -> None:
    proc = run_process([sys.executable, "-c",
                        PRETEND + "import heapline\n"
                        "try:\n    heapline.start()\nexcept ImportError as e:\n"
                        "    print(e); print('heapline._core' in sys.modules)"])
    assert proc.returncode == 0, describe(proc)
    assert proc.stdout.splitlines()[1] == "False", describe(proc)
    assert "free-threaded" in proc.stdout.splitlines()[0], describe(proc)
