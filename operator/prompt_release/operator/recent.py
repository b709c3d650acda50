"""The latest bodies of a bounded number of objects, as watch events and our own writes bring
them, so that a pass can plan without reading them again.

Only what a guarded write makes safe to reuse is kept: a pass that plans from a body older than
the server's meets a 409 on its write and plans again from fresh reads. Memory stays flat: at
most `capacity` bodies, each at most `max_bytes` (bigger ones are always read), the least
recently used dropped first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

Key = tuple[str, str]


class Recent:
    def __init__(self, capacity: int = 1000, max_bytes: int = 16 * 1024) -> None:
        self.capacity = capacity
        self.max_bytes = max_bytes
        self._items: OrderedDict[Key, tuple[Hashable, Any]] = OrderedDict()
        self._guard = threading.Lock()

    def put(self, key: Key, tag: Hashable, value: Any, bulk: Any) -> None:
        """Keep `value` for `key`, known by `tag` (a resourceVersion, a spec state); `bulk` is
        the part of it whose text counts against `max_bytes` (a spec, a ConfigMap's data). A
        value over that only drops the older one."""
        size = text_size(bulk, self.max_bytes)
        with self._guard:
            self._keep(key, tag, value, size)

    def advance(
        self, key: Key, held: Callable[[Any], bool], tag: Hashable, value: Any, bulk: Any
    ) -> None:
        """`put`, only if `held` says the value held now is what `value` was made from (a
        write's response after the body it was guarded by): a body that came in between is
        never replaced by an older one, and nothing is kept for a key not held."""
        size = text_size(bulk, self.max_bytes)
        with self._guard:
            found = self._items.get(key)
            if found is not None and held(found[1]):
                self._keep(key, tag, value, size)

    def _keep(self, key: Key, tag: Hashable, value: Any, size: int) -> None:
        """Under the guard."""
        self._items.pop(key, None)
        if size > self.max_bytes:
            return
        self._items[key] = (tag, value)
        if len(self._items) > self.capacity:
            self._items.popitem(last=False)

    def get(self, key: Key) -> tuple[Hashable, Any] | None:
        with self._guard:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def drop(self, key: Key) -> None:
        with self._guard:
            self._items.pop(key, None)

    def __len__(self) -> int:
        return len(self._items)


def text_size(value: Any, limit: int) -> int:
    """About how many bytes the strings in a JSON-like value hold, counted only up to just past
    `limit` (cheap: no encoding; iterative: specs may nest thousands deep)."""
    total, stack = 0, [value]
    while stack and total <= limit:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item)
        elif isinstance(item, dict):
            total += sum(len(str(key)) for key in item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        else:
            total += 8
    return total
