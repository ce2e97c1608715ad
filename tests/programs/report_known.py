"""Known allocations on marked lines, for the tests of the reports (the HTML
page, the terminal report): each block is far larger than the sampling
interval, so its estimate is its size; the transient block makes the peak,
the kept ones are live at exit. Two lines hold text that would be markup in a
page that mistook it for HTML."""

MiB = 1 << 20


def transient() -> int:
    block = bytearray(48 * MiB)  # MARK: transient48
    return len(block)


def kept() -> bytearray:
    return bytearray(24 * MiB)  # MARK: kept24


def texts() -> list[str]:
    return ["<img src=x onerror=\"window.pwned = 1\">"] * (2 * MiB)  # MARK: hostile


def closing_tag() -> int:
    s = "</script><script>window.pwned = 2</script>" * (MiB // 16)  # MARK: script
    return len(s)


def spin() -> int:
    return sum(i * i for i in range(300_000))  # MARK: spin


if __name__ == "__main__":
    n = transient()
    keep = kept()
    hostile = texts()
    m = closing_tag()
    total = spin()
    print(n, len(keep), len(hostile), m, total > 0)
