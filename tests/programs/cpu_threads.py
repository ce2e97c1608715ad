"""Two worker threads running different pure-Python functions at the same
time. With --truth, runs each function alone and prints its CPU seconds."""

import json
import sys
import threading
import time


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
    if "--truth" in sys.argv:
        out = {}
        for name, fn, arg in WORK:
            t0 = time.thread_time()
            fn(arg)
            out[name] = time.thread_time() - t0
        print(json.dumps(out))
        return
    threads = [threading.Thread(target=fn, args=(arg,)) for _name, fn, arg in WORK]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("done")


if __name__ == "__main__":
    main()
