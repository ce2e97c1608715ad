"""Two worker threads running different pure-Python functions at the same
time. With --truth, each worker times its own function (its thread's CPU
time from the kernel) and the program prints those seconds."""

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


WORK = [("count_primes", count_primes, 120_000), ("string_churn", string_churn, 1_200_000)]


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
