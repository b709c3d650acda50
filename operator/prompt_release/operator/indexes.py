"""One kopf index per prompt kind, read through views under the names handlers look up.

kopf runs every index function through its whole handler machinery on every event of its kind
(keyword arguments, context, outcome, store update): in a burst that was a fifth of the
operator's CPU. So each kind has one index function, whose keys are tagged with the part they
belong to, and `views` hands the handlers each part as an index of its own (`.get`, `[]`,
iteration over its keys), as separate kopf indexes would be.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

RELEASE_INDEX = "release_index"
VERSION_INDEX = "version_index"

# Each part by the name handlers use: the merged index it lives in, and its tag there.
PARTS: dict[str, tuple[str, str]] = {
    "releases_by_version": (RELEASE_INDEX, "version"),
    "release_links": (RELEASE_INDEX, "links"),
    "releases_by_config_map": (RELEASE_INDEX, "config_map"),
    "versions_by_label": (VERSION_INDEX, "label"),
    "version_meta": (VERSION_INDEX, "meta"),
}


def merged(index: str, functions: Mapping[str, Callable[..., Any]]) -> Callable[..., Any]:
    """One index function giving the keys and values of each part's function, tagged."""
    strays = [name for name in functions if PARTS[name][0] != index]
    if strays:
        raise ValueError(f"not parts of {index}: {', '.join(strays)}")
    parts = [(PARTS[name][1], function) for name, function in functions.items()]

    def index_function(**kwargs: Any) -> Any:
        return {
            (tag, *key): value
            for tag, function in parts
            for key, value in function(**kwargs).items()
        }

    index_function.__qualname__ = index
    return index_function


class IndexPart:
    """One tagged part of a merged kopf index, with the lookups of an index of its own."""

    __slots__ = ("_index", "_tag")

    def __init__(self, index: Mapping[Any, Any], tag: str) -> None:
        self._index = index
        self._tag = tag

    def get(self, key: tuple[Any, ...], default: Any = None) -> Any:
        return self._index.get((self._tag, *key), default)

    def __getitem__(self, key: tuple[Any, ...]) -> Any:
        return self._index[(self._tag, *key)]

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return (key[1:] for key in list(self._index) if key[0] == self._tag)


def views(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """A handler's keyword arguments, with each part of the merged indexes under its name."""
    found = dict(kwargs)
    for name, (index, tag) in PARTS.items():
        if index in kwargs:
            found[name] = IndexPart(kwargs[index], tag)
    return found


def with_views(handler: Callable[..., Any]) -> Callable[..., Any]:
    """`handler` called with `views` of its keyword arguments (for handlers kopf runs in its
    thread pool; `shell.inline` does the same for those on the loop)."""

    def viewed(**kwargs: Any) -> Any:
        return handler(**views(kwargs))

    viewed.__qualname__ = getattr(handler, "__qualname__", "handler")
    return viewed
