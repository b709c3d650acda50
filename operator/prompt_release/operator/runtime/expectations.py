"""What this process wrote last of each object, until the object's store shows it.

A pass planned from a store that hasn't caught up with our own last write would only meet a
409 (its writes are guarded by resourceVersion): it waits for the watch instead. And the event
of our own write is known as ours, so it wakes nobody (client-go's controllers keep the same
kind of expectations). resourceVersions are compared as increasing integers, which the API
guarantees since Kubernetes 1.35 (KEP-5504); anything else never counts as older.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable


def older(observed: str | None, written: str) -> bool:
    if observed is None:
        return True
    if not (observed.isdigit() and written.isdigit()):
        return False
    return int(observed) < int(written)


class Expectations:
    def __init__(self, patience: float = 10.0, clock: Callable[[], float] = time.monotonic):
        """`patience`: how long a write is waited for (the object may be gone, its event
        lost with a broken watch); past it the store is trusted again."""
        self._patience = patience
        self._clock = clock
        self._written: dict[Hashable, tuple[str, float]] = {}

    def wrote(self, ref: Hashable, resource_version: str) -> None:
        self._written[ref] = (resource_version, self._clock())

    def pending(self, ref: Hashable, observed: str | None) -> bool:
        """Is the store's `observed` resourceVersion older than our last write of `ref`?"""
        found = self._written.get(ref)
        if found is None:
            return False
        written, at = found
        if older(observed, written) and self._clock() - at < self._patience:
            return True
        self._written.pop(ref, None)
        return False

    def is_own(self, ref: Hashable, resource_version: str | None) -> bool:
        """Is this event the echo of our own last write? Once it is, nothing waits for it."""
        found = self._written.get(ref)
        if found is None or found[0] != resource_version:
            return False
        del self._written[ref]
        return True

    def forget(self, ref: Hashable) -> None:
        self._written.pop(ref, None)
