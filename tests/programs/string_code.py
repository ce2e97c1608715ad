"""Runs code compiled from a string (tests/test_compiled_code.py): the profile
must name the pseudo file `<string>` by where it was compiled and show the
compiled source beside its lines."""

SOURCE = """\
def hot(n):
    return [bytearray(64 * 1024) for _ in range(n)]  # 64 KiB each
"""

scope: dict[str, object] = {}
exec(compile(SOURCE, "<string>", "exec"), scope)  # MARK: compiled
held = scope["hot"](512)  # MARK: called
print(len(held))
