"""A bounded map that forgets the least recently used entry first, safe across threads.

What the operator remembers per object (a version's checks, the latest bodies its watches and
writes brought) must stay flat however many objects there are: this is the one shape of it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LRU(Generic[K, V]):
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._items: OrderedDict[K, V] = OrderedDict()
        self._guard = threading.Lock()

    def get(self, key: K) -> V | None:
        """The value, now the most recently used; None if not held."""
        with self._guard:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: K, value: V) -> tuple[K, V] | None:
        """Hold `value` as the most recently used, dropping the least if over capacity (and
        returning it)."""
        with self._guard:
            return self._put(key, value)

    def drop(self, key: K) -> None:
        with self._guard:
            self._items.pop(key, None)

    def __len__(self) -> int:
        return len(self._items)

    def _put(self, key: K, value: V) -> tuple[K, V] | None:
        """Under the guard."""
        self._items[key] = value
        self._items.move_to_end(key)
        if len(self._items) > self.capacity:
            return self._items.popitem(last=False)
        return None
