"""Maps source lines to the functions that contain them (from the source's
syntax tree), to total the per-line figures by function."""

from __future__ import annotations

import ast
import functools
from collections import namedtuple

# A function's lines: name is qualified ("Class.method"; "<module>" for top
# level).  A namedtuple, not a dataclass: dataclasses costs start-up time.
Span = namedtuple("Span", ["name", "first", "last"])


def _collect(node: ast.AST, prefix: str, out: list[Span]) -> None:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            name = f"{prefix}{child.name}"
            first = min([child.lineno] + [d.lineno for d in child.decorator_list])
            if not isinstance(child, ast.ClassDef):
                out.append(Span(name, first, child.end_lineno or child.lineno))
                _collect(child, f"{name}.<locals>.", out)
            else:
                _collect(child, f"{name}.", out)
        else:
            _collect(child, prefix, out)


@functools.lru_cache(maxsize=64)
def source_bytes(path: str) -> bytes | None:
    """A source file's bytes, read once for both its function spans and the
    source text of its lines in the document; None if it can't be read."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


@functools.lru_cache(maxsize=256)
def spans_of(path: str) -> tuple[Span, ...]:
    """Functions of a source file, innermost last; empty if it can't be parsed."""
    data = source_bytes(path)
    if data is None:
        return ()
    try:
        tree = ast.parse(data, path)
    except (SyntaxError, ValueError):
        return ()
    out: list[Span] = []
    _collect(tree, "", out)
    return tuple(out)


def function_of(path: str, line: int) -> Span | None:
    """The innermost function containing the line, or None for module level."""
    best: Span | None = None
    for s in spans_of(path):
        if s.first <= line <= s.last and (best is None or s.first >= best.first):
            best = s
    return best
