"""The C frame walk (src/ext/frame_walk.c), which reads each CPython version's
interpreter frames directly, sees the same frames as the public frame API
(PyFrame_GetCode, PyFrame_GetLineNumber, PyFrame_GetBack) from every kind of
Python code: functions, generators, coroutines, class bodies, comprehensions,
code compiled from a string, deep recursion. heapline._core runs the same check
when it loads and refuses to load when it fails."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Iterator

import pytest

from heapline import _core


def plain() -> str | None:
    return _core.check_walk()


def in_generator() -> str | None:
    def gen() -> Iterator[str | None]:
        yield _core.check_walk()

    return next(gen())


def in_coroutine() -> str | None:
    async def inner() -> str | None:
        await asyncio.sleep(0)
        return _core.check_walk()

    async def outer() -> str | None:
        return await inner()

    return asyncio.run(outer())


def in_class_body() -> str | None:
    class Body:
        seen = _core.check_walk()

    return Body.seen


def in_comprehension() -> str | None:
    return [_core.check_walk() for _ in range(1)][0]


def in_exec() -> str | None:
    scope: dict[str, object] = {"_core": _core}
    exec(compile("x = 1\nresult = _core.check_walk()\n", "<walk>", "exec"), scope)
    return scope["result"]  # type: ignore[return-value]


def in_recursion(depth: int = 50) -> str | None:
    return _core.check_walk() if depth == 0 else in_recursion(depth - 1)


def in_lambda_via_c() -> str | None:
    """Python called back from C (sorted's key, map)."""
    seen: list[str | None] = []
    sorted([1, 0], key=lambda v: (seen.append(_core.check_walk()), v)[1])
    list(map(lambda v: seen.append(_core.check_walk()), [0]))
    assert len(seen) == 3
    return next((why for why in seen if why), None)


def in_exception_handler() -> str | None:
    try:
        raise ValueError
    except ValueError:
        return _core.check_walk()


@pytest.mark.parametrize("where", [plain, in_generator, in_coroutine, in_class_body,
                                   in_comprehension, in_exec, in_recursion, in_lambda_via_c,
                                   in_exception_handler])
def test_walk_matches_frame_api(where: Callable[[], str | None]) -> None:
    assert where() is None


def test_walk_in_a_thread() -> None:
    import threading

    seen: list[str | None] = []
    t = threading.Thread(target=lambda: seen.append(in_generator()))
    t.start()
    t.join()
    assert seen == [None]


def test_version_is_supported() -> None:
    assert (3, 11) <= sys.version_info[:2] <= (3, 15)
