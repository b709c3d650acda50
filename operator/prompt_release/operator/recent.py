"""The latest bodies of a bounded number of objects, as watch events and our own writes bring
them, so that a pass can plan without reading them again.

Only what a guarded write makes safe to reuse is kept: a pass that plans from a body older than
the server's meets a 409 on its write and plans again from fresh reads. Memory stays flat: at
most `capacity` bodies, each at most `max_bytes` (bigger ones are always read), the least
recently used dropped first.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from prompt_release.core.lru import LRU

Key = tuple[str, str]


class Recent:
    def __init__(self, capacity: int = 4096, max_bytes: int = 16 * 1024) -> None:
        self.capacity = capacity
        self.max_bytes = max_bytes
        self._items: LRU[Key, tuple[Hashable, Any]] = LRU(capacity)

    def put(self, key: Key, tag: Hashable, value: Any, bulk: Any) -> None:
        """Keep `value` for `key`, known by `tag` (a resourceVersion, a spec state); `bulk` is
        the part of it whose text counts against `max_bytes` (a spec, a ConfigMap's data). A
        value over that only drops the older one."""
        if text_size(bulk, self.max_bytes) > self.max_bytes:
            self._items.drop(key)
        else:
            self._items.put(key, (tag, value))

    def advance(
        self, key: Key, held: Callable[[Any], bool], tag: Hashable, value: Any, bulk: Any
    ) -> None:
        """`put`, only if `held` says the value held now is what `value` was made from (a
        write's response after the body it was guarded by): a body that came in between is
        never replaced by an older one, and nothing is kept for a key not held."""

        def made_from_it(found: tuple[Hashable, Any]) -> bool:
            return held(found[1])

        if text_size(bulk, self.max_bytes) > self.max_bytes:
            self._items.drop_if(key, made_from_it)
        else:
            self._items.put_if(key, made_from_it, (tag, value))

    def get(self, key: Key) -> tuple[Hashable, Any] | None:
        return self._items.get(key)

    def drop(self, key: Key) -> None:
        self._items.drop(key)

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
