"""CPU-bound pure Python: permutation flipping (fannkuch), a small n-body
integration and dictionary counting, about 2-3 s unprofiled. Prints a checksum."""


def fannkuch(n: int) -> int:
    perm1 = list(range(n))
    count = [0] * n
    max_flips = 0
    r = n
    checksum = 0
    permutations = 0
    while True:
        while r != 1:
            count[r - 1] = r
            r -= 1
        perm = perm1[:]
        flips = 0
        k = perm[0]
        while k:
            perm[: k + 1] = perm[k::-1]
            flips += 1
            k = perm[0]
        max_flips = max(max_flips, flips)
        checksum += flips if permutations % 2 == 0 else -flips
        while True:
            if r == n:
                return max_flips * 1000 + checksum
            p0 = perm1[0]
            perm1[:r] = perm1[1 : r + 1]
            perm1[r] = p0
            count[r] -= 1
            if count[r] > 0:
                break
            r += 1
        permutations += 1


def nbody(steps: int) -> float:
    bodies = [[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 39.47],
              [4.84, -1.16, -0.10, 0.606, 2.81, -0.02, 0.037],
              [8.34, 4.12, -0.40, -1.01, 1.82, 0.008, 0.011],
              [12.89, -15.11, -0.22, 1.08, 0.868, -0.010, 0.0017],
              [15.37, -25.91, 0.179, 0.979, 0.594, -0.034, 0.002]]
    dt = 0.01
    for _ in range(steps):
        for i in range(5):
            bi = bodies[i]
            for j in range(i + 1, 5):
                bj = bodies[j]
                dx, dy, dz = bi[0] - bj[0], bi[1] - bj[1], bi[2] - bj[2]
                d2 = dx * dx + dy * dy + dz * dz
                mag = dt / (d2 * d2 ** 0.5)
                bi[3] -= dx * bj[6] * mag
                bi[4] -= dy * bj[6] * mag
                bi[5] -= dz * bj[6] * mag
                bj[3] += dx * bi[6] * mag
                bj[4] += dy * bi[6] * mag
                bj[5] += dz * bi[6] * mag
        for b in bodies:
            b[0] += dt * b[3]
            b[1] += dt * b[4]
            b[2] += dt * b[5]
    return sum(b[0] for b in bodies)


def word_counts(rounds: int) -> int:
    words = ("alpha beta gamma delta epsilon zeta eta theta iota kappa " * 20).split()
    total = 0
    for r in range(rounds):
        counts: dict[str, int] = {}
        for w in words:
            counts[w] = counts.get(w, 0) + r % 3
        total += sum(counts.values())
    return total


if __name__ == "__main__":
    print(fannkuch(9), round(nbody(120_000), 6), word_counts(8_000))
