"""Kopf keeps no bookkeeping in our objects.

Kopf's change detection stores a diff base (and progress) in annotations of every object it
handles: one or two extra writes per object and per change, and their echoes. Our handlers are
level-based `on.event` handlers that tell news from echoes themselves (`operator/echoes.py`), so
kopf is told that nothing ever changed: it runs no creation, update or resume cycle and stores
nothing. What it still does is the deletion cycle: the in-use finalizer on held PromptVersions
and the deletion handler that waits for their holders.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import kopf


class NoDiffBase(kopf.DiffBaseStorage):
    """A diff base under which every object looks already handled and never changed."""

    def build(self, *, body: Any, extra_fields: Iterable[Any] | None = None) -> Any:
        return {}

    def fetch(self, *, body: Any) -> Any:
        return {}

    def store(self, *, body: Any, patch: Any, essence: Any) -> None:
        return None
