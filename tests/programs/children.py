"""Starts processes in the way the mode (argv[1]) says, for tests/test_children.py.
Each process allocates a known number of bytes on a marked line, or spends a
known CPU time; the program prints what the test compares the profile with.
"""

import multiprocessing as mp
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor

MiB = 2**20
HERE = os.path.dirname(os.path.abspath(__file__))


def alloc_task(n: int) -> int:
    block = bytearray(n * MiB)  # MARK: task
    return len(block)


def alloc_task_in(n: int) -> tuple[int, int]:
    """alloc_task, and the pid of the worker that ran it."""
    return os.getpid(), alloc_task(n)


def spin(seconds: float) -> float:
    """Spends `seconds` of this process's CPU time; returns what it measured."""
    t0 = time.process_time()
    x = 0
    while time.process_time() - t0 < seconds:  # MARK: spin
        x += 1
    return time.process_time() - t0


def nested_task(n: int) -> int:
    with mp.get_context("spawn").Pool(2) as pool:
        return sum(pool.map(alloc_task, [n, n]))


def hold(n: int, ready: "mp.synchronize.Event") -> None:
    block = bytearray(n * MiB)  # MARK: held
    block[::4096] = b"x" * len(block[::4096])
    ready.set()
    time.sleep(60)


def short_task(i: int) -> int:
    block = bytearray(64 * 1024)
    return os.getpid() + 0 * len(block)


def main(mode: str) -> int:
    if mode.startswith("pool-"):
        with mp.get_context(mode[5:]).Pool(4) as pool:
            done = pool.map(alloc_task_in, [12] * 8, chunksize=1)
        print("total", sum(n for _, n in done))  # 96 MiB
        print("worker pids", *sorted({pid for pid, _ in done}))
    elif mode == "executor":
        with ProcessPoolExecutor(2, mp_context=mp.get_context("spawn")) as ex:
            print("total", sum(ex.map(alloc_task, [8] * 4)))  # 32 MiB
    elif mode == "fork":
        pid = os.fork()
        if pid == 0:
            child = bytearray(64 * MiB)  # MARK: forked
            print("child", len(child), flush=True)
            sys.exit(5)
        _, status = os.waitpid(pid, 0)
        print("child exit", os.waitstatus_to_exitcode(status))
    elif mode == "subprocess":
        out = subprocess.run([sys.executable, os.path.join(HERE, "children_sub.py"), "32"],
                             capture_output=True, text=True, check=False)
        print(out.stdout.strip(), "rc", out.returncode)
    elif mode == "nested":
        # pool workers may not start processes (daemonic): an executor's may
        with ProcessPoolExecutor(2, mp_context=mp.get_context("spawn")) as ex:
            print("total", sum(ex.map(nested_task, [8, 8])))  # 4 x 8 MiB
    elif mode == "cpu":
        with mp.get_context("spawn").Pool(2) as pool:
            measured = pool.map(spin, [0.4] * 4)
        print("measured", sum(measured))
    elif mode == "killed":
        ctx = mp.get_context("spawn")
        ready = ctx.Event()
        p = ctx.Process(target=hold, args=(48, ready))
        p.start()
        if not ready.wait(60):
            return 9
        print("child pid", p.pid, flush=True)
        os.kill(p.pid, signal.SIGKILL)
        p.join()
        print("child exit", p.exitcode)
    elif mode == "many":
        n = int(sys.argv[2]) if len(sys.argv) > 2 else 200
        with mp.get_context(sys.argv[3] if len(sys.argv) > 3 else "fork").Pool(
                2, maxtasksperchild=1) as pool:
            pids = pool.map(short_task, range(n), chunksize=1)
        print("workers", len(set(pids)))
        if len(sys.argv) > 4:  # the workers' pids, for the test to compare
            with open(sys.argv[4], "w") as f:
                f.write(" ".join(map(str, pids)))
    elif mode == "native":
        # not Python: a C program, and the shell
        out = subprocess.run([sys.argv[2]], capture_output=True, text=True, check=False)
        print("c:", out.stdout.strip(), "rc", out.returncode)
        out = subprocess.run(["bash", "-c", "echo from bash; exit 3"], capture_output=True,
                             text=True, check=False)
        print("bash:", out.stdout.strip(), "rc", out.returncode)
    else:
        print("unknown mode", mode, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
