"""Memory the operator is done with goes back to the system once it is idle again.

Two things kept it after a restart over thousands of objects or a burst:
- Garbage in reference cycles (finished asyncio tasks and their frames, kopf's per-event
  objects): Python's full collection runs only once a quarter more objects have survived
  than at the last one, so after a start-up that ran its last one midway, a third of the
  objects left were garbage nobody collected.
- The C heap: Python hands every object over 512 bytes to the C library's malloc, and glibc
  keeps what is freed in its heap (it returns only the top of it), in one arena per thread
  that allocates (up to 8 per core), each fragmenting on its own.

So a daemon thread looks every `LOOK_EVERY` seconds. Once the operator is idle (less than
`IDLE_CPU` of CPU since the last look) after at least `WORK` of CPU since the last full
collection, it runs one; never while work goes on, so no pass waits for it. Where the C library
is glibc, the operator uses two arenas (as `MALLOC_ARENA_MAX=2` would), and the heap's free
pages are returned (`malloc_trim(0)`, a few milliseconds) after each such collection, and
whenever `FREED` more bytes lie free than at the last look.
"""

from __future__ import annotations

import ctypes
import gc
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger("prompt_release")

LOOK_EVERY = 2.0  # seconds
IDLE_CPU = 0.02  # CPU seconds per second: idle below
WORK = 2.0  # CPU seconds since the last full collection that are worth one
FREED = 8 << 20  # bytes newly free in the C heap that are worth a trim
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


def free_bytes(libc: Any) -> int:
    """Bytes lying free in the C heap (whether or not their pages were returned)."""
    return int(libc.mallinfo2().fordblks)


class Keeper:
    """One look at a time: a full collection once idle after work, a trim once enough is
    free. `cpu` and `collect` are the process's (tests pass their own)."""

    def __init__(
        self,
        libc: Any,
        every: float = LOOK_EVERY,
        cpu: Callable[[], float] = time.process_time,
        collect: Callable[[], int] = gc.collect,
    ) -> None:
        self.libc, self.every, self.cpu, self.collect = libc, every, cpu, collect
        self._cpu = cpu()
        self._work = 0.0
        self._free = free_bytes(libc) if libc is not None else 0
        self.collections = self.trims = 0

    def look(self) -> None:
        now = self.cpu()
        busy, self._cpu = now - self._cpu, now
        self._work += busy
        collected = busy < IDLE_CPU * self.every and self._work >= WORK
        if collected:
            self.collect()
            self.collections += 1
            self._work = 0.0
        if self.libc is None:
            return
        free = free_bytes(self.libc)
        if not collected and free < self._free + FREED:
            self._free = min(self._free, free)  # reused since: count what is freed from here
            return
        self.libc.malloc_trim(0)
        self._free = free
        self.trims += 1


def keep_small(every: float = LOOK_EVERY) -> threading.Event:
    """Start looking every `every` seconds until the returned event is set. Call it before
    the threads that allocate start (kopf's, the work queue's): the arenas are set then."""
    libc = _glibc()
    if libc is None:
        log.info("not glibc: the C heap's free memory stays with the process")
    else:
        libc.mallopt(M_ARENA_MAX, ARENAS)
    keeper = Keeper(libc, every)
    stop = threading.Event()

    def looking() -> None:
        while not stop.wait(every):
            try:
                keeper.look()
            except Exception:
                log.exception("looking at the heap failed")

    threading.Thread(target=looking, name="heap", daemon=True).start()
    return stop
