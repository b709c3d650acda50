"""Memory freed by the operator goes back to the system, not only to the C heap.

Python hands every object over 512 bytes (a prompt's text, a parsed body's bigger dicts and
lists, a response being read) to the C library's malloc. glibc keeps what is freed in its heap
and gives back only what lies at its very top, so after a restart over thousands of objects,
or a burst, tens of MiB sit free inside the process and still count in its RSS. And it gives
each thread that allocates its own arena (up to 8 per core), each fragmenting on its own.

So, where the C library is glibc: the operator uses two arenas (as `MALLOC_ARENA_MAX=2`
would), and a daemon thread looks at the heap every `CHECK_EVERY` seconds and returns its free
pages to the system (`malloc_trim(0)`, a few milliseconds) once `FREED` more bytes lie free
than at its last look: after a start-up's listing or a burst, not while nothing changes.
Elsewhere both are skipped.
"""

from __future__ import annotations

import ctypes
import logging
import threading

log = logging.getLogger("prompt_release")

CHECK_EVERY = 5.0  # seconds
FREED = 8 << 20  # bytes freed since the last look that are worth a trim
ARENAS = 2
M_ARENA_MAX = -8  # glibc's mallopt parameter


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",  # free bytes in the heap's chunks (all arenas)
            "keepcost",
        )
    ]


def _glibc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(None)
    except OSError:
        return None
    if not all(hasattr(libc, name) for name in ("malloc_trim", "mallopt", "mallinfo2")):
        return None
    libc.mallinfo2.restype = _MallInfo2
    return libc


def free_bytes(libc: ctypes.CDLL) -> int:
    """Bytes lying free in the C heap (whether or not their pages were returned)."""
    return int(libc.mallinfo2().fordblks)


def trim_now() -> bool:
    """Return the heap's free pages now; False where the C library isn't glibc."""
    libc = _glibc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True


class Trimmer:
    """Returns the heap's free pages when enough was freed since the last look."""

    def __init__(self, libc: ctypes.CDLL, freed: int = FREED) -> None:
        self.libc = libc
        self.freed = freed
        self.last = free_bytes(libc)
        self.trims = 0

    def look(self) -> bool:
        """One look; True when it trimmed."""
        free = free_bytes(self.libc)
        if free < self.last + self.freed:
            self.last = min(self.last, free)  # reused since: count what is freed from here
            return False
        self.libc.malloc_trim(0)
        self.last = free
        self.trims += 1
        return True


def keep_small(every: float = CHECK_EVERY) -> threading.Event | None:
    """Two arenas, and a look at the heap every `every` seconds until the returned event is
    set. Call it before the threads that allocate start (kopf's, the work queue's). None: not
    glibc, nothing done."""
    libc = _glibc()
    if libc is None:
        log.info("not glibc: the C heap's free memory stays with the process")
        return None
    libc.mallopt(M_ARENA_MAX, ARENAS)
    trimmer = Trimmer(libc)
    stop = threading.Event()

    def looking() -> None:
        while not stop.wait(every):
            trimmer.look()

    threading.Thread(target=looking, name="heap-trim", daemon=True).start()
    return stop
