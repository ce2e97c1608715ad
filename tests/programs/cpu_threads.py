"""Two worker threads running different pure-Python functions at the same
time. With --truth, each worker times its own function (its thread's CPU
time from the kernel) and the program prints those seconds.

Each worker runs about 1.3 s of CPU on CPython 3.15 (more on 3.11): while the
main thread waits in join(), CPU samples come about every 45 ms, and what a
thread spends after its last sample is not charged, so shorter work (0.1 s,
as this was) made a worker's share err by up to 6 points on 3.15."""

import json
import sys
import threading
import time
from typing import Callable


def count_primes(limit: int) -> int:  # worker A
    found = 0
    for n in range(2, limit):
        d = 2
        while d * d <= n:
            if n % d == 0:
                break
            d += 1
        else:
            found += 1
    return found


def string_churn(rounds: int) -> int:  # worker B
    total = 0
    for i in range(rounds):
        s = str(i) * 3
        total += len(s.upper()) + s.count("1")
    return total


WORK = [("count_primes", count_primes, 800_000), ("string_churn", string_churn, 12_000_000)]


def main() -> None:
    spent: dict[str, float] = {}

    def worker(name: str, fn: Callable[[int], int], arg: int) -> None:
        t0 = time.thread_time()
        fn(arg)
        spent[name] = time.thread_time() - t0

    threads = [threading.Thread(target=worker, args=item) for item in WORK]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(json.dumps(spent) if "--truth" in sys.argv else "done")


if __name__ == "__main__":
    main()
