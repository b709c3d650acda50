"""The latest bodies of a bounded number of objects, as watch events and our own writes bring
them, so that a pass can plan without reading them again.

Only what a guarded write makes safe to reuse is kept: a pass that plans from a body older than
the server's meets a 409 on its write and plans again from fresh reads. Memory stays flat: at
most `capacity` bodies of at most `max_bytes` each, and `large_capacity` bigger ones (a 300 KiB
prompt is read once by its release's pass and again by its own status: the last few are
kept, as a request can be at most a few MiB), the least recently used dropped first.

A body pushed out of either count goes on, packed with its tag (core/packing.py; a tag is a
JSON scalar or a flat tuple of them), until `packed_bytes` of small ones and
`packed_large_bytes` of big ones are held. A restart over ten thousand prompts lists every
version and ConfigMap long before the releases' passes need them, and finds them here instead
of reading each one again. A big version is pushed out by the events of other big ones (their
finalizers come and go as releases move), and released later: unpacking it (about 1 ms for
300 KiB, packed to about a fifth) is several times faster than reading it again.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Hashable
from typing import Any

from prompt_release.core.lru import LRU
from prompt_release.core.packing import pack, unpack

Key = tuple[str, str]
Tier = LRU[Key, tuple[Hashable, Any]]
PackedTier = LRU[Key, bytes]  # [tag, value] packed together: no object around them


class Recent:
    def __init__(
        self,
        capacity: int = 128,
        max_bytes: int = 16 * 1024,
        large_capacity: int = 8,
        packed_bytes: int = 8 * 1024 * 1024,
        packed_large_bytes: int = 2 * 1024 * 1024,
    ) -> None:
        self.capacity = capacity
        self.max_bytes = max_bytes
        self._small: Tier = LRU(capacity)
        self._large: Tier = LRU(large_capacity)
        self._packed: PackedTier = LRU(sys.maxsize, packed_bytes, len)
        self._packed_large: PackedTier = LRU(sys.maxsize, packed_large_bytes, len)
        self._guard = threading.Lock()  # a key moves between the tiers in one step

    def put(self, key: Key, tag: Hashable, value: Any, bulk: Any) -> None:
        """Keep `value` for `key`, known by `tag` (a resourceVersion, a spec state); `bulk` is
        the part of it whose text counts against `max_bytes` (a spec, a ConfigMap's data)."""
        tier, other = self._tiers(bulk)
        with self._guard:
            self._keep(key, tier, other, (tag, value))

    def _keep(self, key: Key, tier: Tier, other: Tier, item: tuple[Hashable, Any]) -> None:
        """Under the guard: `item` into `tier`, out of the others; what it pushes out is
        packed."""
        other.drop(key)
        self._packed.drop(key)
        self._packed_large.drop(key)
        packed = self._packed if tier is self._small else self._packed_large
        for pushed, (tag, value) in tier.put(key, item):
            packed.put(pushed, pack([tag, value]))

    def advance(
        self, key: Key, held: Callable[[Any], bool], tag: Hashable, value: Any, bulk: Any
    ) -> None:
        """`put`, only if `held` says the value held now is what `value` was made from (a
        write's response after the body it was guarded by): a body that came in between is
        never replaced by an older one, and nothing is kept for a key not held."""
        tier, other = self._tiers(bulk)
        with self._guard:
            found = self._get(key)
            if found is None or not held(found[1]):
                return
            self._keep(key, tier, other, (tag, value))

    def get(self, key: Key) -> tuple[Hashable, Any] | None:
        with self._guard:
            return self._get(key)

    def _get(self, key: Key) -> tuple[Hashable, Any] | None:
        found = self._small.get(key) or self._large.get(key)
        if found is not None:
            return found
        packed = self._packed.get(key) or self._packed_large.get(key)
        if packed is None:
            return None
        tag, value = unpack(packed)
        return (tuple(tag) if isinstance(tag, list) else tag), value

    def drop(self, key: Key) -> None:
        with self._guard:
            self._small.drop(key)
            self._large.drop(key)
            self._packed.drop(key)
            self._packed_large.drop(key)

    def __len__(self) -> int:
        tiers = (self._small, self._large, self._packed, self._packed_large)
        return sum(len(tier) for tier in tiers)

    def tap(
        self, tag: Callable[[dict[str, Any]], Hashable], bulk: str
    ) -> Callable[[str | None, dict[str, Any]], None]:
        """A watch tap (operator/startup.py) keeping each object's latest body here, known by
        `tag(body)`, its `bulk` field counted against `max_bytes`; dropped when it goes."""

        def keep(type: str | None, body: dict[str, Any]) -> None:
            meta = body.get("metadata") or {}
            key = (str(meta.get("namespace")), str(meta.get("name")))
            if type == "DELETED":
                self.drop(key)
            else:
                self.put(key, tag(body), dict(body), body.get(bulk))

        return keep

    def _tiers(self, bulk: Any) -> tuple[Tier, Tier]:
        """Where a value of this bulk goes, and the other tier."""
        if text_size(bulk, self.max_bytes) > self.max_bytes:
            return self._large, self._small
        return self._small, self._large


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
