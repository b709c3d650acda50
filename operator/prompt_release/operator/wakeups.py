"""Calls to make later, without kopf timers: a release that waits (a revert held back by the
backoff of a ConfigMap fight, a release that isn't Ready yet) is looked at again on time.

kopf's timers would do, but kopf puts its finalizer on every object a timer matches, and adds
and removes it as the timer's filter flips: two writes each time, and objects that can't be
deleted once the operator is gone. One thread keeps the schedule; the calls run on a small pool.
At most one call is pending per key: the earliest wins.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor

log = logging.getLogger("prompt_release")


class Wakeups:
    def __init__(self, workers: int = 2, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._workers = workers
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Hashable]] = []
        self._pending: dict[Hashable, tuple[float, Callable[[], None]]] = {}
        self._order = itertools.count()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._stopped = False

    def at(self, key: Hashable, delay: float, call: Callable[[], None]) -> None:
        """Make `call` in `delay` seconds, unless a call for `key` is already due sooner."""
        when = self._clock() + max(delay, 0.0)
        with self._cond:
            if self._stopped:
                return
            pending = self._pending.get(key)
            if pending is not None and pending[0] <= when:
                return
            self._pending[key] = (when, call)
            heapq.heappush(self._heap, (when, next(self._order), key))
            if self._thread is None:
                self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="wakeup")
                self._thread = threading.Thread(target=self._run, name="wakeups", daemon=True)
                self._thread.start()
            self._cond.notify()

    def pending(self, key: Hashable) -> float | None:
        """Seconds until the call for `key`, if one is pending."""
        with self._cond:
            found = self._pending.get(key)
        return None if found is None else max(found[0] - self._clock(), 0.0)

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._pending.clear()
            self._heap.clear()
            self._cond.notify()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def _run(self) -> None:
        while True:
            with self._cond:
                call = self._next_due()
                if call is None:
                    return
            assert self._pool is not None
            self._pool.submit(self._call, call)

    def _next_due(self) -> Callable[[], None] | None:
        """Wait for the next due call (None once stopped). Holds the condition's lock."""
        while not self._stopped:
            if not self._heap:
                self._cond.wait()
                continue
            when, _, key = self._heap[0]
            wait = when - self._clock()
            if wait > 0:
                self._cond.wait(wait)
                continue
            heapq.heappop(self._heap)
            pending = self._pending.get(key)
            if pending is not None and pending[0] == when:
                del self._pending[key]
                return pending[1]
        return None

    @staticmethod
    def _call(call: Callable[[], None]) -> None:
        try:
            call()
        except Exception:
            log.exception("a scheduled retry failed; the next change or retry tries again")
