"""A controller: one work queue, its workers, and one reconciler.

A pass has two halves. `gather(key)` runs on the loop that owns the stores (kopf's): it only
reads them, so what it returns is one consistent snapshot. `reconcile(key, gathered)` runs on
one of the controller's threads: it decides (a pure function) and writes. What it returns says
when to come back; an exception backs the key off (`WorkQueue.add_rate_limited`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from prompt_release.kube import namespace_terminating
from prompt_release.operator.runtime.queue import Backoff, ShutDownError, WorkQueue

log = logging.getLogger("prompt_release")

K = TypeVar("K", bound=Hashable)
K_contra = TypeVar("K_contra", bound=Hashable, contravariant=True)


@dataclass(frozen=True)
class Result:
    """How a pass ended. `requeue_after`: look again in that many seconds (a timer).
    `retry`: what it read was stale or a write met a conflict; try again after the key's
    backoff."""

    requeue_after: float | None = None
    retry: bool = False


class Reconciler(Protocol[K_contra]):
    def gather(self, key: K_contra) -> Any:
        """Read what the pass needs from the stores (on the loop; no I/O)."""

    def reconcile(self, key: K_contra, gathered: Any) -> Result:
        """Decide and write (on a worker thread)."""


class Controller(Generic[K]):
    def __init__(
        self,
        name: str,
        reconciler: Reconciler[K],
        workers: int,
        backoff: Backoff | None = None,
    ) -> None:
        self.name = name
        self.reconciler = reconciler
        self.workers = workers
        self.queue: WorkQueue[K] = WorkQueue(name, backoff)
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix=name)
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        """Start the workers on the running loop."""
        self._tasks = [
            asyncio.create_task(self._work(), name=f"{self.name}-{n}") for n in range(self.workers)
        ]

    async def stop(self) -> None:
        self.queue.shut_down()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                key = await self.queue.get()
            except ShutDownError:
                return
            try:
                gathered = self.reconciler.gather(key)
                result = await loop.run_in_executor(
                    self._executor, self.reconciler.reconcile, key, gathered
                )
            except asyncio.CancelledError:
                raise
            except Exception as error:
                if namespace_terminating(error):
                    log.debug("%s %s: namespace terminating, pass dropped", self.name, key)
                    self.queue.forget(key)
                    continue
                delay = self.queue.add_rate_limited(key)
                log.warning("%s %s: pass failed, again in %.2fs: %s", self.name, key, delay, error)
            else:
                if result.retry:
                    self.queue.add_rate_limited(key)
                else:
                    self.queue.forget(key)
                if result.requeue_after is not None:
                    self.queue.add_after(key, result.requeue_after)
            finally:
                self.queue.done(key)
