"""Reconciles waiting for a worker thread, at most one per object.

kopf's handlers only decide (from the event's body and kopf's indexes, on the event loop) that
an object needs a pass; the pass itself (reads and writes on the blocking client) runs here.
A request for an object that is already waiting joins it, so a burst of events about one
release costs one pass, not one per event; a request that arrives while its pass runs waits for
the next one (the pass in progress may have read too early). Requests run first come, first
served.

Once more than `pack_after` requests wait (a restart over thousands of releases queues them all
at once), the payloads of further ones wait packed (core/packing.py), so a long queue holds
a fraction of their parsed size.
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Callable, Hashable
from typing import Any

from prompt_release.core.packing import Packed

log = logging.getLogger("prompt_release")

Work = Callable[[Hashable, Any], None]


class WorkQueue:
    def __init__(
        self, workers: int, work: Work, name: str = "reconcile", pack_after: int | None = None
    ) -> None:
        self._work = work
        self._workers = workers
        self._name = name
        self._pack_after = pack_after
        self._cond = threading.Condition()
        # key -> (the latest payload offered for it, the context it was offered in)
        self._waiting: dict[Hashable, tuple[Any, contextvars.Context]] = {}
        self._threads: list[threading.Thread] = []
        self._stopped = False

    def add(self, key: Hashable, payload: Any = None) -> None:
        """Ask for a pass over `key`; `payload` (the object as last seen, if any) replaces the
        one offered earlier, and None keeps it."""
        context = contextvars.copy_context()  # kopf's settings, for the Events a pass posts
        after = self._pack_after
        if payload is not None and after is not None and len(self._waiting) > after:
            payload = Packed(payload)  # the length read unguarded: a hint is enough
        with self._cond:
            if self._stopped:
                return
            waiting = self._waiting.get(key)
            if waiting is not None:
                self._waiting[key] = (waiting[0] if payload is None else payload, context)
                return
            self._waiting[key] = (payload, context)
            if len(self._threads) < self._workers:
                self._start_worker()
            self._cond.notify()

    def __len__(self) -> int:
        with self._cond:
            return len(self._waiting)

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._waiting.clear()
            self._cond.notify_all()

    def _start_worker(self) -> None:
        thread = threading.Thread(
            target=self._run, name=f"{self._name}-{len(self._threads)}", daemon=True
        )
        self._threads.append(thread)
        thread.start()

    def _next(self) -> tuple[Hashable, Any, contextvars.Context] | None:
        with self._cond:
            while not self._waiting and not self._stopped:
                self._cond.wait()
            if self._stopped:
                return None
            key = next(iter(self._waiting))
            payload, context = self._waiting.pop(key)
            return key, payload, context

    def _run(self) -> None:
        while (item := self._next()) is not None:
            key, payload, context = item
            try:
                if isinstance(payload, Packed):
                    payload = payload.value()
                context.run(self._work, key, payload)
            except Exception:
                log.exception("%s of %s failed; it is retried", self._name, key)
