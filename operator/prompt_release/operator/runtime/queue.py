"""A work queue of keys with client-go's guarantees, on one asyncio loop.

- It holds keys, never bodies: a worker reads the latest object from the stores when it starts,
  so a burst of events about one object costs one pass.
- `dirty` (waiting) and `processing` (held by a worker) make sure one key never runs on two
  workers at once: a key added while it is processing waits until `done(key)`.
- `add_after(key, delay)` is the only timer; the earliest pending time of a key wins.
- `add_rate_limited(key)` backs a failing key off exponentially (base, cap); `forget(key)`
  resets it after a success.

Every method runs on the loop that owns the queue (kopf's): no locks are needed.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Backoff:
    """Per-key exponential backoff: base * 2**failures, at most cap (seconds)."""

    base: float = 0.005
    cap: float = 60.0

    def delay(self, failures: int) -> float:
        return float(min(self.cap, self.base * 2 ** min(failures, 32)))


class ShutDownError(Exception):
    """The queue is shut down: no more keys will come."""


class WorkQueue(Generic[K]):
    def __init__(self, name: str, backoff: Backoff | None = None) -> None:
        self.name = name
        self.backoff = backoff or Backoff()
        self._order: deque[K] = deque()
        self._dirty: set[K] = set()
        self._processing: set[K] = set()
        self._timers: dict[K, tuple[float, asyncio.TimerHandle]] = {}
        self._failures: dict[K, int] = {}
        self._ready = asyncio.Event()
        self._shut_down = False

    def add(self, key: K) -> None:
        """Ask for a pass over `key`; a key already waiting is not queued twice."""
        if self._shut_down or key in self._dirty:
            return
        self._dirty.add(key)
        if key not in self._processing:
            self._order.append(key)
            self._ready.set()

    def add_after(self, key: K, delay: float) -> None:
        """Ask for a pass over `key` in `delay` seconds; an earlier pending time wins."""
        if delay <= 0:
            self.add(key)
            return
        loop = asyncio.get_running_loop()
        when = loop.time() + delay
        pending = self._timers.get(key)
        if pending is not None:
            if pending[0] <= when:
                return
            pending[1].cancel()
        self._timers[key] = (when, loop.call_at(when, self._fire, key))

    def _fire(self, key: K) -> None:
        self._timers.pop(key, None)
        self.add(key)

    def add_rate_limited(self, key: K) -> float:
        """A pass over `key` failed: try again after its backoff; the delay chosen."""
        failures = self._failures.get(key, 0)
        self._failures[key] = failures + 1
        delay = self.backoff.delay(failures)
        self.add_after(key, delay)
        return delay

    def forget(self, key: K) -> None:
        """`key` succeeded: its next failure starts the backoff from the base again."""
        self._failures.pop(key, None)

    def failures(self, key: K) -> int:
        return self._failures.get(key, 0)

    async def get(self) -> K:
        """The next key to process; it is `processing` until `done(key)`."""
        while not self._order:
            if self._shut_down:
                raise ShutDownError(self.name)
            self._ready.clear()
            await self._ready.wait()
        key = self._order.popleft()
        self._dirty.discard(key)
        self._processing.add(key)
        return key

    def done(self, key: K) -> None:
        """The pass over `key` ended; if it was added meanwhile, it goes back in line."""
        self._processing.discard(key)
        if key in self._dirty:
            self._order.append(key)
            self._ready.set()

    def shut_down(self) -> None:
        self._shut_down = True
        for _, timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        self._ready.set()

    def __len__(self) -> int:
        """Keys waiting (not those being processed or timed)."""
        return len(self._order)

    @property
    def processing(self) -> int:
        return len(self._processing)

    @property
    def timed(self) -> int:
        return len(self._timers)
