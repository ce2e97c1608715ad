"""One profile from the parts that the processes of a program's tree left in the
run directory (rundir.py): the raw data of each process that ended normally,
and, for one that did not (SIGKILL, the OOM killer, a crash), what its tables
file held when it died.

The merged raw data has the shape of one session's (Session.raw), so the
document is built from it as from a single process's, plus `processes`:

- a process that SIGTERM ended (the core notes it in the tables file, see
  posix/term_signal.c) is whole from its tables: its lines, timeline and
  peak; its counters and leak evidence are not there;
- per line, every figure is the sum over the processes (a line run by 8 pool
  workers shows the time and bytes of all 8); `peak_bytes` of a line sums what
  each process held there at its own peak, and `live_bytes` what each held
  when it ended;
- the timeline is the sum of the footprints of the processes alive at each
  moment (a forked child counts from what it had at the fork: the memory it
  shares with its parent is the parent's), the peak is the highest point of
  that sum, and the peak's line is that of the process that held most then;
- CPU totals, samples and counters are sums; leaks, the exit footprint and the
  elapsed time are the top process's.
"""

from __future__ import annotations

import marshal
import os
import sys

from heapline import rundir

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: Most points kept in the merged timeline.
TIMELINE_POINTS = 4096


class MergeError(Exception):
    """No profile can be made from the directory (one line, for the user)."""


def _load(path: str, name: str) -> Any:
    try:
        return marshal.loads(rundir.read(path, name))
    except (OSError, ValueError, EOFError, TypeError):
        return None


def collect(path: str) -> tuple[list[dict[str, Any]], list[str]]:
    """The parts in a run directory, one per profiled process, and one line per
    file that could not be used."""
    try:
        names = sorted(os.listdir(path))
    except OSError as e:
        raise MergeError(f"cannot read {path}: {e.strerror}") from None
    starts: dict[str, dict[str, Any]] = {}
    raws: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    for name in names:
        if name.startswith(rundir.START_PREFIX):
            value = _load(path, name)
            if isinstance(value, dict) and isinstance(value.get("key"), str):
                starts[value["key"]] = value
            else:
                problems.append(f"{name}: unreadable")
        elif name.startswith(rundir.RAW_PREFIX) and name.endswith(rundir.RAW_SUFFIX):
            value = _load(path, name)
            if isinstance(value, dict) and isinstance(value.get("process"), dict):
                raws[value["process"].get("key", name)] = value
            else:
                problems.append(f"{name}: unreadable")
    parts: list[dict[str, Any]] = []
    for key, start in starts.items():
        raw = raws.pop(key, None)
        # a process that saved its part: only its exit status is wanted
        tables = _tables(path, start.get("tables"), header_only=raw is not None)
        if raw is not None:
            part = raw
            part["complete"] = True
        elif tables is not None:
            part = _from_tables(start, tables)
        else:
            problems.append(f"process {start.get('pid')}: left no data")
            continue
        if tables is not None and tables.get("exit_status") is not None:
            part["process"]["exit_code"] = tables["exit_status"]
        parts.append(part)
    for raw in raws.values():  # a raw part without its start file: still a process
        raw["complete"] = True
        parts.append(raw)
    return parts, problems


def _tables(path: str, name: Any, header_only: bool = False) -> dict[str, Any] | None:
    """What a process's tables file says (None without one or a readable one,
    or when the core cannot load in this interpreter)."""
    if not isinstance(name, str) or os.sep in name:
        return None
    try:
        from heapline import _core
    except ImportError:
        return None
    reader = _core.read_tables_header if header_only else _core.read_tables_file
    try:
        return reader(os.path.join(path, name))
    except (OSError, ValueError):
        return None


def _from_tables(start: dict[str, Any], tables: dict[str, Any]) -> dict[str, Any]:
    """The part of a process that died without saving its raw data."""
    cpu = [0.0, 0.0, 0.0]
    samples = 0
    for row in tables["lines"]:
        cpu[0] += row[7]
        cpu[1] += row[8]
        cpu[2] += row[9]
        samples += row[10]
    t0 = start.get("t0", 0.0)
    snap = {
        "lines": tables["lines"],
        "timeline": [(t - t0, b) for t, b in tables["timeline"] if t >= t0],
        "peak_bytes": tables["peak_bytes"],
        "peak_at_s": max(0.0, tables["peak_at_s"] - t0),
        "peak_file": None,
        "peak_line": 0,
        "current_bytes": tables["current_bytes"],
        "cpu": {"interval_s": start.get("cpu_interval", 0.0), "wall": False, "samples": samples,
                "python_s": cpu[0], "native_s": cpu[1], "system_s": cpu[2]},
        "counters": {},
        "samples": sum(row[4] for row in tables["lines"]),
        "interval_bytes": start.get("interval", 0),
        "live_untracked": 0,
        "compile_sites": {},
    }
    process = dict(start)
    process["elapsed_s"] = max(0.0, tables.get("updated_s", t0) - t0)
    process["exit_code"] = tables.get("exit_status")
    # an exit status in the file: the process ended on its way (a child that
    # SIGTERM ended notes it there), with all it had recorded
    complete = process["exit_code"] is not None
    return {"snap": snap, "process": process, "complete": complete,
            "elapsed_s": process["elapsed_s"], "program": start.get("program", ""),
            "argv": start.get("argv", []), "cpu_on": True, "memory_on": True}


def merge(parts: list[dict[str, Any]], top_pid: int | None = None,
          top_status: int | None = None) -> dict[str, Any]:
    """The raw data of the whole tree, with its `processes`; `top_pid`: the
    process started as the program (its exit status `top_status`, when known).
    """
    if not parts:
        raise MergeError("no profiled process left any data")
    top = _top(parts, top_pid)
    if top_status is not None:
        top["process"]["exit_code"] = top_status
    origin = top["process"].get("start_mono", 0.0)
    processes = [_process_entry(p, origin) for p in parts]
    processes.sort(key=lambda e: (e["pid"] != top["process"].get("pid"), e["start_s"], e["pid"]))
    if len(parts) == 1:
        out = dict(top)
        out["processes"] = processes
        return out
    snap = dict(top["snap"])
    snap["lines"] = _sum_lines(parts)
    snap["cpu"] = _sum_cpu(parts, top)
    snap["counters"] = _sum_counters(parts)
    snap["samples"] = sum(p["snap"].get("samples", 0) for p in parts)
    snap["live_untracked"] = sum(p["snap"].get("live_untracked", 0) for p in parts)
    snap["compile_sites"] = _merge_sites(parts)
    timeline, peak, peak_at, holder = _tree_timeline(parts, origin)
    snap["timeline"] = timeline
    snap["peak_bytes"] = peak
    snap["peak_at_s"] = peak_at
    hs = holder["snap"]
    snap["peak_file"], snap["peak_line"] = hs.get("peak_file"), hs.get("peak_line", 0)
    out = dict(top)
    out["snap"] = snap
    out["processes"] = processes
    return out


def _top(parts: list[dict[str, Any]], top_pid: int | None) -> dict[str, Any]:
    for p in parts:
        if top_pid is not None and p["process"].get("pid") == top_pid:
            return p
    for p in parts:
        if p["process"].get("top"):
            return p
    return min(parts, key=lambda p: p["process"].get("start_mono", 0.0))


def _cpu_s(part: dict[str, Any]) -> float:
    cpu = part["snap"].get("cpu") or {}
    return float(cpu.get("python_s", 0.0) + cpu.get("native_s", 0.0) + cpu.get("system_s", 0.0))


def _process_entry(part: dict[str, Any], origin: float) -> dict[str, Any]:
    proc = part["process"]
    base = proc.get("base_bytes", 0)
    exit_code = proc.get("exit_code")
    return {
        "pid": int(proc.get("pid", 0)),
        "ppid": int(proc.get("ppid", 0)),
        "argv": [str(a) for a in proc.get("argv", [])],
        "start_s": round(max(0.0, proc.get("start_mono", origin) - origin), 6),
        "elapsed_s": round(max(0.0, float(part.get("elapsed_s", proc.get("elapsed_s", 0.0)))), 6),
        "exit_code": exit_code if isinstance(exit_code, int) else None,
        "peak_bytes": max(0, int(part["snap"].get("peak_bytes", 0)) - base),
        "cpu_s": round(_cpu_s(part), 6),
        "complete": bool(part.get("complete", True)),
    }


def _sum_lines(parts: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    rows: dict[tuple[str, int], list[Any]] = {}
    for p in parts:
        for row in p["snap"]["lines"]:
            key = (row[0], row[1])
            have = rows.get(key)
            if have is None:
                rows[key] = list(row)
            else:
                for i in range(2, len(row)):
                    have[i] += row[i]
    return [tuple(r) for r in rows.values()]


def _sum_cpu(parts: list[dict[str, Any]], top: dict[str, Any]) -> dict[str, Any]:
    cpu = dict(top["snap"]["cpu"])
    for key in ("samples", "python_s", "native_s", "system_s"):
        cpu[key] = sum((p["snap"].get("cpu") or {}).get(key, 0) for p in parts)
    return cpu


def _sum_counters(parts: list[dict[str, Any]]) -> dict[str, tuple[int, int]]:
    out: dict[str, tuple[int, int]] = {}
    for p in parts:
        for name, (calls, nbytes) in (p["snap"].get("counters") or {}).items():
            c, b = out.get(name, (0, 0))
            out[name] = (c + calls, b + nbytes)
    return out


def _merge_sites(parts: list[dict[str, Any]]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for p in parts:
        for path, places in (p["snap"].get("compile_sites") or {}).items():
            have = out.setdefault(path, [])
            for place in places:
                if place not in have:
                    have.append(place)
    return out


def _tree_timeline(parts: list[dict[str, Any]], origin: float
                   ) -> tuple[list[tuple[float, int]], int, float, dict[str, Any]]:
    """The sum of the live processes' footprints over time (seconds from the
    top process's start), its peak, when, and the part that held most then."""
    events: list[tuple[float, int, int]] = []  # (time, part index, bytes from then on)
    for i, p in enumerate(parts):
        proc = p["process"]
        start = proc.get("start_mono", origin) - origin
        base = proc.get("base_bytes", 0)
        for t, b in p["snap"].get("timeline", []):
            events.append((start + t, i, max(0, b - base)))
        end = start + float(p.get("elapsed_s", 0.0))
        events.append((end, i, 0))
    events.sort(key=lambda e: (e[0], e[2] == 0))
    now = [0] * len(parts)
    total = 0
    points: list[tuple[float, int]] = []
    peak, peak_at, holder = -1, 0.0, 0
    for t, i, b in events:
        total += b - now[i]
        now[i] = b
        if points and points[-1][0] == t:
            points[-1] = (t, max(points[-1][1], total)) if b else (t, total)
        else:
            points.append((t, total))
        if total > peak:
            peak, peak_at = total, t
            holder = max(range(len(parts)), key=lambda k: now[k])
    # no process alone can be above the tree (timelines are sampled; peaks exact)
    for i, p in enumerate(parts):
        own = int(p["snap"].get("peak_bytes", 0)) - p["process"].get("base_bytes", 0)
        if own > peak:
            start = p["process"].get("start_mono", origin) - origin
            peak, peak_at, holder = own, start + p["snap"].get("peak_at_s", 0.0), i
    return _thin(points), max(0, peak), max(0.0, peak_at), parts[holder]


def _thin(points: list[tuple[float, int]]) -> list[tuple[float, int]]:
    """At most TIMELINE_POINTS points, keeping each bucket's highest."""
    if len(points) <= TIMELINE_POINTS:
        return points
    step = -(-len(points) // TIMELINE_POINTS)
    return [max(points[i:i + step], key=lambda pt: pt[1]) for i in range(0, len(points), step)]


def unfinished_pids(path: str) -> list[int]:
    """Processes that joined the run directory but have not saved their part
    (still running, or killed): those with a start file, and those with only
    a tables file, which the core makes for a forked child before its Python
    has run (so a child forked just before its parent ends is not missed)."""
    try:
        names = os.listdir(path)
    except OSError:
        return []
    done: set[int] = set()
    seen: set[int] = set()
    for n in names:
        if n.startswith(rundir.RAW_PREFIX) and n.endswith(rundir.RAW_SUFFIX):
            pid = _pid_of(n[len(rundir.RAW_PREFIX):])
            if pid:
                done.add(pid)
        elif n.startswith(rundir.START_PREFIX):
            pid = _pid_of(n[len(rundir.START_PREFIX):])
            if pid:
                seen.add(pid)
        elif n.startswith(rundir.TABLES_PREFIX):
            pid = _pid_of(n[len(rundir.TABLES_PREFIX):])
            if pid:
                seen.add(pid)
    return sorted(seen - done)


def _pid_of(key: str) -> int:
    try:
        return int(key.split("-")[0])
    except ValueError:
        return 0


#: How long the profile waits, once the program has ended, for profiled
#: processes of its tree that are still running (pool workers finishing,
#: a forked child outliving its parent) to save their part.
CHILD_GRACE_S = 2.0


def wait_for_unfinished(path: str, grace_s: float = CHILD_GRACE_S) -> None:
    """Waits up to `grace_s` for the profiled processes of the run that have
    not saved their part; those still running then are merged with what they
    recorded so far."""
    import time

    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        if not [pid for pid in unfinished_pids(path) if pid != os.getpid() and _alive(pid)]:
            return
        time.sleep(0.02)


def _alive(pid: int) -> bool:
    if sys.platform == "win32":  # (os.kill would end the process there)
        import _winapi

        try:
            handle = _winapi.OpenProcess(0x00100000, False, pid)  # SYNCHRONIZE
        except OSError:
            return False
        try:
            return _winapi.WaitForSingleObject(handle, 0) == _winapi.WAIT_TIMEOUT
        finally:
            _winapi.CloseHandle(handle)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
