"""The run directory of a `heapline run`: where every profiled process of the
program's tree leaves its part, and from which the profile is merged.

Layout (all files 0600, the directory 0700, its name unpredictable):

- `heapline-run`: the marker, written first by the supervising process; its
  content is the options of the run (marshal), which the program's child
  processes take as their own;
- `start-KEY`: written by each profiled process as it starts profiling: who
  it is (pid, parent, command line, start time) and which tables file is its;
- `tables-PID`: the C core's tables of process PID, a file-backed shared
  mapping kept up to date as the process runs (what a killed process had
  recorded is there);
- `proc-KEY.raw`: the raw data a process leaves as it ends normally
  (Session.raw() plus its process record), written under another name and
  renamed, so a reader never sees half of one.

A child process finds the directory in the environment (CHILDREN_ENV). The
value is not trusted: a process writes into it only when it is a directory of
this user's, not a link, with no access for anyone else and holding the marker
(a regular file of this user's, not a link); and it writes only new files there
(O_EXCL | O_NOFOLLOW), with names it makes itself. So a value planted in the
environment can make a process write nowhere but into a run directory.
"""

from __future__ import annotations

import marshal
import os
import stat

TYPE_CHECKING = False  # not typing's: imported at every profiled start-up
if TYPE_CHECKING:
    from typing import Any

#: Names the run directory for the program's child processes; present only
#: while children are followed (not with --no-children).
CHILDREN_ENV = "HEAPLINE_CHILDREN"

MARKER = "heapline-run"
START_PREFIX = "start-"
RAW_PREFIX = "proc-"
RAW_SUFFIX = ".raw"
TABLES_PREFIX = "tables-"

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_BINARY = getattr(os, "O_BINARY", 0)


class RunDirError(Exception):
    """A directory that is not a usable run directory (one line, for the user)."""


def create(options: dict[str, Any]) -> str:
    """A new run directory, with the run's options in its marker file."""
    base = _temp_dir()
    for _ in range(100):
        path = os.path.join(os.path.abspath(base), f"heapline-{os.urandom(12).hex()}")
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            continue
        write_new(path, MARKER, marshal.dumps(options))
        return path
    raise OSError(f"could not make a private directory in {base}")


def _temp_dir() -> str:
    """Where tempfile would make it (without importing tempfile: 15 ms)."""
    for var in ("TMPDIR", "TEMP", "TMP"):
        value = os.environ.get(var)
        if value and os.path.isdir(value):
            return os.path.abspath(value)
    return "/tmp" if os.name == "posix" else os.getcwd()


def _owned_private(st: os.stat_result, kind: int) -> bool:
    if stat.S_IFMT(st.st_mode) != kind:
        return False
    if os.name != "posix":  # Windows: no modes; the user's temp directory's ACL
        return True
    return st.st_uid == _euid() and st.st_mode & 0o077 == 0


def _euid() -> int:
    return os.geteuid() if hasattr(os, "geteuid") else 0


def check(path: str) -> str:
    """`path` if it is a run directory this process may write into; raises
    RunDirError otherwise (see the module's docstring)."""
    if not path or not os.path.isabs(path) or os.path.normpath(path) != path:
        raise RunDirError(f"not an absolute, normal path: {path!r}")
    try:
        st = os.lstat(path)
        marker = os.lstat(os.path.join(path, MARKER))
    except OSError as e:
        raise RunDirError(f"{path}: {e.strerror}") from None
    if not _owned_private(st, stat.S_IFDIR):
        raise RunDirError(f"{path} is not a private directory of this user's")
    if stat.S_IFMT(marker.st_mode) != stat.S_IFREG or (os.name == "posix"
                                                        and marker.st_uid != _euid()):
        raise RunDirError(f"{path} has no run marker of this user's")
    return path


def options(path: str) -> dict[str, Any]:
    """The run's options, from the marker of a checked directory."""
    data = read(path, MARKER)
    try:
        value = marshal.loads(data)
    except (ValueError, EOFError, TypeError) as e:
        raise RunDirError(f"{path}: unreadable options: {e}") from None
    if not isinstance(value, dict):
        raise RunDirError(f"{path}: unreadable options")
    return value


def write_new(path: str, name: str, data: bytes) -> None:
    """Writes a new file `name` (no separators) in the directory, atomically:
    under a temporary name made here, then renamed."""
    if os.sep in name or (os.altsep and os.altsep in name) or name in ("", ".", ".."):
        raise ValueError(f"bad file name {name!r}")
    tmp = os.path.join(path, f".{name}.{os.urandom(4).hex()}.part")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC | _BINARY,
                 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, os.path.join(path, name))
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def read(path: str, name: str) -> bytes:
    fd = os.open(os.path.join(path, name), os.O_RDONLY | _NOFOLLOW | _CLOEXEC | _BINARY)
    with os.fdopen(fd, "rb") as f:
        return f.read()


def new_key() -> str:
    """A name for one profiled process's files (its pid, made unique)."""
    return f"{os.getpid()}-{os.urandom(4).hex()}"


def save_start(path: str, key: str, start: dict[str, Any]) -> None:
    write_new(path, START_PREFIX + key, marshal.dumps(start))


def save_raw(path: str, key: str, raw: dict[str, Any]) -> None:
    """Leaves a process's raw data in the run directory (marshal: built in, so
    nothing is imported as the process ends)."""
    write_new(path, RAW_PREFIX + key + RAW_SUFFIX, marshal.dumps(raw))


def is_run_dir(path: str) -> bool:
    return os.path.isdir(path) and os.path.isfile(os.path.join(path, MARKER))


def remove(path: str) -> None:
    """Removes the directory and its files (no subdirectories are made there)."""
    try:
        names = os.listdir(path)
    except OSError:
        return
    for name in names:
        try:
            os.unlink(os.path.join(path, name))
        except OSError:
            pass
    try:
        os.rmdir(path)
    except OSError:
        pass
