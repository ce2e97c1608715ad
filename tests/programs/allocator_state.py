"""Prints two facts about the state of glibc's allocator that a profiler must
not change (tests/test_fidelity.py compares them with and without heapline).

- trimmed: after 8 MB of 2000-byte blocks are freed, the heap's top is given
  back to the system. glibc trims when the free top exceeds its trim threshold
  (128 KiB until the program frees an mmapped chunk, which raises it to twice
  that chunk's size).
- mmapped: three 1 MiB mallocs are served by mmap, as they are while the mmap
  threshold is at its default of 128 KiB (freeing an mmapped chunk raises the
  threshold to that chunk's size, so these would come from the heap). The
  size is far above the free top that a trimmed heap keeps (its 128 KiB pad),
  so the answer depends on the threshold, not on how the heap happens to be
  laid out.

The blocks are taken with the C library's malloc through ctypes, so the probe
measures the allocator the program itself would use.
"""

import ctypes
import ctypes.util
import sys


class Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


def main() -> None:
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    libc.mallinfo2.restype = Mallinfo2

    count = 4000
    blocks = (ctypes.c_void_p * count)()  # made before the blocks, below them
    for i in range(count):
        blocks[i] = libc.malloc(2000)
    for i in reversed(range(count)):
        libc.free(blocks[i])
    keepcost = libc.mallinfo2().keepcost

    before = libc.mallinfo2().hblks
    for _ in range(3):
        libc.malloc(1 << 20)  # kept: freeing it would raise the threshold itself
    mmapped = libc.mallinfo2().hblks == before + 3

    print(f"trimmed={keepcost < (1 << 20)} mmapped={mmapped}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
