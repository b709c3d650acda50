"""One store per watched kind, filled by kopf's event handlers, with its secondary indexes, and
the barrier every controller waits behind until each store holds what was there at start.

client-go's shape: a controller starts once its informers have synced (`WaitForCacheSync`), so
a key missing from a store is an object that doesn't exist. What was there at start is listed
once, by name only, before kopf's watches list it (`expect`); the store is synced when each of
those objects has come through kopf's watch, or is confirmed gone (deleted in between).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any

from prompt_release.operator.runtime import compact as compact_json

log = logging.getLogger("prompt_release")

Key = tuple[str, str]  # (namespace, name)
Body = Mapping[str, Any]
Keep = Callable[[Body], Any]
"""What the store keeps of an object's body (trimmed to what the reconcilers read)."""
IndexFunction = Callable[[str, str, Body], Mapping[Hashable, Any]]
"""(namespace, name, body) -> {index key: value} for one object."""


def key_of(body: Body) -> Key:
    meta = body.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


def resource_version(body: Body | None) -> str | None:
    found = None if body is None else (body.get("metadata") or {}).get("resourceVersion")
    return None if found is None else str(found)


class Index:
    """index key -> {object key: value}, kept in step with the store's objects."""

    def __init__(self, name: str, function: IndexFunction) -> None:
        self.name = name
        self.function = function
        self._by_key: dict[Hashable, dict[Key, Any]] = {}
        self._of: dict[Key, tuple[Hashable, ...]] = {}

    def put(self, key: Key, body: Body) -> None:
        self.drop(key)
        try:
            entries = self.function(key[0], key[1], body)
        except Exception:
            log.exception("index %s failed on %s/%s", self.name, *key)
            return
        for index_key, value in entries.items():
            self._by_key.setdefault(index_key, {})[key] = value
        if entries:
            self._of[key] = tuple(entries)

    def drop(self, key: Key) -> None:
        for index_key in self._of.pop(key, ()):
            found = self._by_key.get(index_key)
            if found is not None:
                found.pop(key, None)
                if not found:
                    del self._by_key[index_key]

    def values(self, index_key: Hashable) -> list[Any]:
        return list((self._by_key.get(index_key) or {}).values())

    def keys(self) -> list[Hashable]:
        return list(self._by_key)


def _same(value: Any) -> Any:
    return value


class Informer:
    """The objects of one kind (one or more resources), by (namespace, name)."""

    def __init__(
        self, name: str, keep: Keep, indexes: Iterable[Index] = (), compact: bool = False
    ) -> None:
        """`compact`: keep each object as JSON bytes (`runtime/compact.py`)."""
        self.name = name
        self._keep = (lambda body: compact_json.encode(keep(body))) if compact else keep
        self._read: Callable[[Any], Any] = compact_json.decode if compact else _same
        self._objects: dict[Key, Any] = {}
        self.indexes = {index.name: index for index in indexes}
        self._expected: set[Key] | None = None
        self.synced = asyncio.Event()

    def apply(self, type: str | None, body: Body) -> Key:
        """One watch event (type None: an object kopf's listing brought)."""
        key = key_of(body)
        if type == "DELETED":
            self._objects.pop(key, None)
            for index in self.indexes.values():
                index.drop(key)
        else:
            self._objects[key] = self._keep(body)
            for index in self.indexes.values():
                index.put(key, body)
        self._seen(key)
        return key

    def get(self, key: Key) -> Any:
        found = self._objects.get(key)
        return None if found is None else self._read(found)

    def __len__(self) -> int:
        return len(self._objects)

    def __contains__(self, key: object) -> bool:
        return key in self._objects

    # -- the start-up barrier -------------------------------------------------------------

    def expect(self, keys: Iterable[Key]) -> None:
        """The objects that existed before kopf's listing (listed by the operator first)."""
        self._expected = set(keys) - set(self._objects)
        if not self._expected:
            self.synced.set()

    def missing(self) -> set[Key]:
        return set(self._expected or ())

    def gone(self, key: Key) -> None:
        """An expected object confirmed deleted before kopf's listing could bring it."""
        self._seen(key)

    def _seen(self, key: Key) -> None:
        if self._expected is not None and key in self._expected:
            self._expected.discard(key)
            if not self._expected:
                self.synced.set()


async def wait_for_sync(
    informers: Iterable[Informer],
    still_there: Callable[[Informer, Key], bool],
    patience: float = 2.0,
) -> None:
    """Wait until every informer has synced. While some wait with no progress for `patience`
    seconds, the objects they still miss are looked up (`still_there`, a GET): one deleted
    between the operator's listing and kopf's never comes through the watch."""
    informers = list(informers)
    loop = asyncio.get_running_loop()
    while True:
        waiting = [informer for informer in informers if not informer.synced.is_set()]
        if not waiting:
            return
        before = sum(len(informer.missing()) for informer in waiting)
        synced = asyncio.gather(*(informer.synced.wait() for informer in waiting))
        try:
            await asyncio.wait_for(synced, patience)
            continue
        except TimeoutError:
            pass
        if sum(len(informer.missing()) for informer in waiting) < before:
            continue  # the listing is still coming in
        for informer in waiting:
            for key in informer.missing():
                there = await loop.run_in_executor(None, still_there, informer, key)
                if not there:
                    informer.gone(key)
        left = sum(len(informer.missing()) for informer in waiting)
        (log.info if left != before else log.debug)(
            "waiting for the first listings: %s",
            ", ".join(f"{i.name} {len(i.missing())}" for i in waiting if i.missing()) or "done",
        )
