"""What this process last wrote or saw of an object, to tell its own echoes from news.

Every write the operator makes comes back to it through a watch, and so does every status or
bookkeeping change of an object no release reads. Reconciling on those re-reads and re-plans
for nothing (several passes per new prompt); skipping them changes no outcome, because what is
remembered is exactly what a pass would find unchanged. The memory is this process's only: after
a restart everything is news once.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

Key = tuple[str, str]


def spec_state(body: Mapping[str, Any]) -> Hashable:
    """What a reader of an object's spec (and existence) tells apart: its uid, its generation
    and whether it is being deleted. Status and metadata changes leave it alone."""
    meta = body.get("metadata") or {}
    uid = meta.get("uid")
    if isinstance(uid, str):
        uid = sys.intern(uid)  # one copy however many memories and events hold it
    return (uid, meta.get("generation"), bool(meta.get("deletionTimestamp")))


def resource_version(body: Mapping[str, Any]) -> Hashable:
    """What tells each stored state of an object from the others (a ConfigMap's, which a pass
    reads whole): its resourceVersion."""
    return (body.get("metadata") or {}).get("resourceVersion")


def older(resource_version: object, than: object) -> bool:
    """Whether one resourceVersion of an object is older than another. Kubernetes 1.35 makes
    them comparable (KEP-5504): decimal integers without leading zeros, increasing within a
    resource type. Anything else is not known to be older."""
    a, b = str(resource_version or ""), str(than or "")
    if not all(v.isascii() and v.isdecimal() and v[0] != "0" for v in (a, b)):
        return False
    return (len(a), a) < (len(b), b)


UNSET: Any = object()  # a slot nothing was noted in (None can be a state)


class Rows:
    """One row per object (namespace, name) holding what several `Echoes` noted of it, each
    in its own column: one dict entry and one key for all of them. Nine maps of their own cost
    the operator about 1.5 KiB per prompt at ten thousand prompts, most of it keys and entries."""

    def __init__(self) -> None:
        self.rows: dict[Key, list[Any]] = {}
        self.width = 0
        self.guard = threading.Lock()

    def column(self) -> int:
        with self.guard:
            self.width += 1
            return self.width - 1


@dataclass
class Memories:
    """The rows the operator's `Echoes` share, one table per kind of key."""

    releases: Rows = field(default_factory=Rows)  # keyed by a release (or its ConfigMap)
    versions: Rows = field(default_factory=Rows)  # keyed by a version


class Echoes:
    """Per object (namespace, name): the last state noted, and whether an event brings news.
    Kept in a column of `rows` (shared with other Echoes), else of rows of its own."""

    def __init__(self, rows: Rows | None = None) -> None:
        self._rows = rows or Rows()
        self._column = self._rows.column()
        self._guard = self._rows.guard

    def _get(self, key: Key) -> Any:
        row = self._rows.rows.get(key)
        return UNSET if row is None or self._column >= len(row) else row[self._column]

    def _set(self, key: Key, state: Hashable) -> None:
        rows, column = self._rows.rows, self._column
        row = rows.get(key)
        if row is None:
            row = rows[key] = [UNSET] * self._rows.width
        elif column >= len(row):
            row.extend([UNSET] * (self._rows.width - len(row)))
        if isinstance(state, tuple):
            # Two columns often note the same state (a release's spec, seen by two parts): one
            # tuple for both.
            state = next((slot for slot in row if slot == state), state)
        row[column] = state

    def note(self, key: Key, state: Hashable) -> None:
        with self._guard:
            self._set(key, state)

    def is_echo(self, key: Key, state: Hashable) -> bool:
        """The object is in the state last noted (by a write of ours, or an earlier event)."""
        with self._guard:
            found = self._get(key)
            return found is not UNSET and found == state

    def news(self, key: Key, state: Hashable) -> bool:
        """Whether `state` differs from the one noted last; it is noted either way."""
        with self._guard:
            found = self._get(key)
            self._set(key, state)
            return found is UNSET or found != state

    def get(self, key: Key) -> Hashable | None:
        with self._guard:
            found = self._get(key)
            return None if found is UNSET else found

    def forget(self, key: Key) -> None:
        with self._guard:
            row = self._rows.rows.get(key)
            if row is None or self._column >= len(row):
                return
            row[self._column] = UNSET
            if all(slot is UNSET for slot in row):
                del self._rows.rows[key]

    def __len__(self) -> int:
        with self._guard:
            column = self._column
            rows = self._rows.rows.values()
            return sum(1 for row in rows if column < len(row) and row[column] is not UNSET)


class InFlight:
    """Writes on their way, per object. A write's echo can come back through the watch before
    the write's own response (which carries the resourceVersion that tells it is an echo); an
    event arriving meanwhile is held, and the write's end says whether any was news."""

    def __init__(self) -> None:
        self._held: dict[Key, list[Hashable]] = {}
        self._guard = threading.Lock()

    def begin(self, key: Key) -> None:
        with self._guard:
            self._held[key] = []

    def hold(self, key: Key, state: Hashable) -> bool:
        """Whether a write of the object is on its way: then the event is held for `end`."""
        with self._guard:
            held = self._held.get(key)
            if held is None:
                return False
            held.append(state)
            return True

    def end(self, key: Key, written: Hashable | None) -> bool:
        """The write is back (`written`: the state it made; None if it failed): whether an event
        held meanwhile brought another state than that (news, to be looked at again)."""
        with self._guard:
            held = self._held.pop(key, [])
        return any(state != written for state in held)
