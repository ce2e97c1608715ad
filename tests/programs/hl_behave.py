"""A program whose visible behaviour must not change under `heapline run`
(tests/test_behaviour.py). Also run as a module: `-m hl_behave`.

Usage: hl_behave.py MODE [args...]; prints what it sees, writes to stderr,
then ends as MODE says.
"""

from __future__ import annotations

import os
import subprocess
import sys


def show() -> None:
    print("argv:", sys.argv)
    print("name:", __name__)
    print("path0:", sys.path[0])
    print("file:", __file__)
    print("cwd:", os.getcwd())


def fail_deep(n: int) -> None:
    if n == 0:
        raise ValueError(f"failure at depth {n}")
    fail_deep(n - 1)


def chained() -> None:
    try:
        fail_deep(1)
    except ValueError as e:
        raise RuntimeError("explicitly chained") from e


def implicit_context() -> None:
    table: dict[str, int] = {}
    try:
        table["missing"]
    except KeyError:
        raise TypeError("raised while handling")


def main_module_attributes() -> None:
    main = sys.modules["__main__"]
    g = globals()
    print("main dict is globals:", main.__dict__ is g)
    print("loader:", type(g.get("__loader__")).__name__)
    spec = g.get("__spec__")
    print("spec:", None if spec is None else (spec.name, spec.origin))
    print("package:", repr(g.get("__package__")))
    print("builtins is module:", type(g.get("__builtins__")).__name__)
    print("doc:", repr(g.get("__doc__"))[:40])


def children() -> None:
    sh = subprocess.run(["sh", "-c", "echo hi from sh; echo err from sh >&2; exit 4"],
                        capture_output=True, text=True)
    print("sh:", repr(sh.stdout), repr(sh.stderr), sh.returncode)
    py = subprocess.run([sys.executable, "-c", "import sys; print('hi from python', sys.argv)",
                         "x"], capture_output=True, text=True)
    print("python:", repr(py.stdout), repr(py.stderr), py.returncode)
    inherited = subprocess.run(["sh", "-c", "echo inherited stdout"])
    print("inherited:", inherited.returncode)


def at_the_recursion_limit(n: int) -> str:
    """In the deepest frame Python's recursion limit allows, makes audited
    calls (id(), sys._getframe()): on 3.12+, which limits Python frames apart
    from C calls, they succeed unless an audit hook runs Python code for them
    (heapline's hook is C, and does nothing for events other than
    "compile")."""
    try:
        return at_the_recursion_limit(n + 1)
    except RecursionError:
        try:
            id(n)
            sys._getframe()
        except RecursionError:
            return "audited calls at the recursion limit: RecursionError"
        return "audited calls at the recursion limit: ok"


def main() -> None:
    mode = sys.argv[1] if len(sys.argv) > 1 else "ok"
    show()
    print("to stderr:", mode, file=sys.stderr)
    if mode == "ok":
        return
    if mode == "stdin":
        print("stdin:", repr(sys.stdin.read()))
    elif mode == "exit3":
        sys.exit(3)
    elif mode == "exitmsg":
        sys.exit("exit message for stderr")
    elif mode == "raise":
        fail_deep(3)
    elif mode == "chain":
        chained()
    elif mode == "context":
        implicit_context()
    elif mode == "interrupt":
        raise KeyboardInterrupt
    elif mode == "globals":
        main_module_attributes()
    elif mode == "syspath":
        for entry in sys.path:
            print("sys.path entry:", entry)
    elif mode == "child-env":
        out = subprocess.run(["sh", "-c", 'echo "preload: $LD_PRELOAD"'], capture_output=True,
                             text=True).stdout
        print(out, end="")
    elif mode == "children":
        children()
    elif mode == "audited":
        print(at_the_recursion_limit(0))
    else:
        sys.exit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main()
