"""A small program to try heapline on: `heapline run examples/demo.py`.

It allocates in Python (a list of floats, a bytes buffer), in native code
(numpy arrays, when numpy is installed), in a worker thread, and frees a
temporary array on every loop iteration, so every column of the report has
something to show.
"""

import threading


def python_objects(n: int) -> list[float]:
    values = [i * 0.5 for i in range(n)]  # about 24 bytes a float + the list
    return values


def buffers() -> bytes:
    return b"x" * (64 * 2**20)  # 64 MiB, Python allocator


def numpy_work() -> float:
    try:
        import numpy as np
    except ImportError:
        return 0.0
    total = 0.0
    big = np.ones((2048, 4096))  # 64 MiB, native (held to the end)
    for _ in range(20):
        tmp = np.random.default_rng(0).random(2**20)  # 8 MiB each, freed each time
        total += float(tmp.sum())
    return total + float(big.sum())


def worker(out: list[int]) -> None:
    block = bytearray(32 * 2**20)  # 32 MiB in another thread
    out.append(len(block))


def main() -> None:
    values = python_objects(1_000_000)
    data = buffers()
    result: list[int] = []
    t = threading.Thread(target=worker, args=(result,))
    t.start()
    t.join()
    total = numpy_work()
    print(f"{len(values)} floats, {len(data) >> 20} MiB of bytes, "
          f"worker made {result[0] >> 20} MiB, numpy total {total:.1f}")


if __name__ == "__main__":
    main()
