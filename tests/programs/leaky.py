"""A program with one steady leak, churn of many times its size and a cache
filled once (tests/test_leaks.py). `leaky.py N` runs N steps; `--no-leak`
leaves the leaking line out. Prints the bytes leaked (the truth)."""

import sys

LEAK_BLOCK = 10_000
leaked: list[bytes] = []
cache: list[bytes] = []


def churn() -> int:
    tmp = [bytes(2000) for _ in range(300)]  # about 600 KB, freed at once  # MARK: CHURN
    return len(tmp)


def step(leak: bool) -> None:
    if not cache:
        cache.extend([bytes(1000) for _ in range(10_000)])  # about 10 MB, held  # MARK: CACHE
    if leak:
        leaked.append(bytes(LEAK_BLOCK))  # MARK: LEAK
    churn()


def main() -> None:
    leak = "--no-leak" not in sys.argv
    n = int(next((a for a in sys.argv[1:] if a.isdigit()), "3000"))
    for _ in range(n):
        step(leak)
    print(sum(sys.getsizeof(b) for b in leaked))


if __name__ == "__main__":
    main()
