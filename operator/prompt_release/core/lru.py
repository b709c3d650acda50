"""A bounded map that forgets the least recently used entry first, safe across threads.

What the operator remembers per object (a version's checks, the latest bodies its watches and
writes brought) must stay flat however many objects there are: this is the one shape of it.
Bounded by a count, and optionally by the total `weigh` gives its values (bytes, say): a value
heavier than that alone is not kept.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LRU(Generic[K, V]):
    def __init__(
        self, capacity: int, max_weight: int | None = None, weigh: Callable[[V], int] | None = None
    ) -> None:
        self.capacity = capacity
        self.max_weight = max_weight
        self.weight = 0
        self._weigh = weigh
        self._items: OrderedDict[K, V] = OrderedDict()
        self._guard = threading.Lock()

    def get(self, key: K) -> V | None:
        """The value, now the most recently used; None if not held."""
        with self._guard:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: K, value: V) -> list[tuple[K, V]]:
        """Hold `value` as the most recently used, dropping the least recently used while over
        a bound; what was dropped, oldest first."""
        with self._guard:
            return self._put(key, value)

    def drop(self, key: K) -> None:
        with self._guard:
            self._drop(key)

    def __len__(self) -> int:
        return len(self._items)

    def _put(self, key: K, value: V) -> list[tuple[K, V]]:
        """Under the guard."""
        self._drop(key)
        weight = self._weight_of(value)
        if self.max_weight is not None and weight > self.max_weight:
            return []
        self._items[key] = value
        self.weight += weight
        dropped: list[tuple[K, V]] = []
        while len(self._items) > self.capacity or (
            self.max_weight is not None and self.weight > self.max_weight
        ):
            dropped.append(self._items.popitem(last=False))
            self.weight -= self._weight_of(dropped[-1][1])
        return dropped

    def _drop(self, key: K) -> None:
        """Under the guard."""
        if key in self._items:
            self.weight -= self._weight_of(self._items.pop(key))

    def _weight_of(self, value: V) -> int:
        return self._weigh(value) if self._weigh is not None else 0
