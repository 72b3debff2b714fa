"""The zygote's memory: what its children may find in it, and what forking costs.

Every child is a fork of the zygote, so it can read all of the zygote's
memory, freed blocks included.  Submission bytes and the bytes children send
back therefore only ever live in buffers the zygote owns, which are zeroed as
soon as they are no longer needed (``zero``, ``Capture``).
"""

from __future__ import annotations

import ctypes
import gc

MADV_HUGEPAGE = 14
MADV_COLLAPSE = 25

_libc = ctypes.CDLL(None, use_errno=True)


def zero(buf: bytearray) -> None:
    """Overwrite a buffer in place (no temporary copy of its contents)."""
    n = len(buf)
    if n:
        ctypes.memset((ctypes.c_char * n).from_buffer(buf), 0, n)


class Capture:
    """What one pipe delivered: kept up to ``cap`` bytes, in pieces this
    process owns (and zeroes); ``total`` counts everything, kept or not."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.pieces: list[bytearray] = []
        self.kept = 0
        self.total = 0

    def feed(self, view: memoryview) -> None:
        self.total += len(view)
        room = self.cap - self.kept
        if room > 0:
            piece = bytearray(view[:room])
            self.pieces.append(piece)
            self.kept += len(piece)

    def parts(self, limit: int) -> list[memoryview]:
        out, left = [], limit
        for piece in self.pieces:
            if left <= 0:
                break
            out.append(memoryview(piece)[:left])
            left -= len(out[-1])
        return out

    def scrub(self) -> None:
        for piece in self.pieces:
            zero(piece)
        self.pieces.clear()


def freeze_heap() -> None:
    """Move every object to the garbage collector's permanent generation: the
    children's collections then never write to (and so copy) the inherited heap."""
    gc.collect()
    gc.freeze()


def compact() -> None:
    """Make forking cheap.  A fork copies the page tables of this process's
    anonymous memory (about 140 MiB once torch is imported): one entry per
    4 KiB page, about 15 ms per fork on a virtual machine.  Backing that
    memory with 2 MiB huge pages (MADV_COLLAPSE, Linux 6.1+) leaves 512 times
    fewer entries to copy; where the kernel cannot, nothing changes."""
    freeze_heap()
    huge = 1 << 21
    try:
        with open("/proc/self/maps") as fh:
            maps = fh.read().splitlines()
    except OSError:
        return
    for line in maps:
        fields = line.split()
        # private anonymous memory: "start-end rw-p 00000000 00:00 0 [heap]"
        if len(fields) < 5 or fields[1] != "rw-p" or fields[3] != "00:00" or fields[4] != "0":
            continue
        start, end = (int(x, 16) for x in fields[0].split("-"))
        start, end = (start + huge - 1) & ~(huge - 1), end & ~(huge - 1)
        if end - start < huge:
            continue
        addr, length = ctypes.c_void_p(start), ctypes.c_size_t(end - start)
        if _libc.madvise(addr, length, MADV_HUGEPAGE) == 0:
            _libc.madvise(addr, length, MADV_COLLAPSE)
