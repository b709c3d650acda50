"""What the controllers and the event handlers read for composition: versions by name (from
the store, or from the API server for a version the store doesn't have yet), what a label
serves of each included prompt, and the versions above and below one in the include graph."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prompt_release import VERSION_PLURAL
from prompt_release.core import composition
from prompt_release.core.includes import pins
from prompt_release.core.version import HOLDS, Link
from prompt_release.core.views import ReleaseView, VersionView, release_name
from prompt_release.kube import Kube
from prompt_release.operator.runtime.informer import Key
from prompt_release.operator.stores import Stores


def store_lookup(stores: Stores, namespace: str) -> composition.Lookup:
    """Versions of a namespace by name, from the store (on kopf's loop)."""

    def lookup(name: str) -> VersionView | None:
        found = stores.get("versions", (namespace, name))
        return None if found is None else VersionView.of(found)

    return lookup


def api_lookup(kube: Kube, namespace: str) -> composition.Lookup:
    """Versions of a namespace by name, read from the API server (on a worker thread)."""

    def lookup(name: str) -> VersionView | None:
        found = kube.find(VERSION_PLURAL, namespace, name)
        return None if found is None else VersionView.of(found)

    return lookup


def served_includes(
    stores: Stores, release: ReleaseView, target: VersionView | None
) -> dict[str, composition.Served]:
    """What the release's label serves of each prompt its target or live version includes,
    by prompt (for IncludesUpToDate)."""
    entries: list[Any] = [*(target.included if target else ()), *_live(release)]
    prompts = {str(entry.get("prompt") or "") for entry in entries}
    served: dict[str, composition.Served] = {}
    for prompt in sorted(p for p in prompts if p):
        name = release_name(prompt, release.label)
        found = stores.get("releases", (release.namespace, name))
        status = ReleaseView.of(found).status if found is not None else None
        if status is not None and status.revision and status.version and status.hash:
            served[prompt] = composition.Served(name, status.version, status.hash)
    return served


def _live(release: ReleaseView) -> list[Any]:
    found = release.status.raw.get("includes")
    return list(found) if isinstance(found, list) else []


def includers(stores: Stores, key: Key) -> list[Key]:
    """The versions that include this one, directly or not (their closure holds it)."""
    found: dict[Key, None] = {}
    pending = [key]
    while pending:
        for name in stores.values("versions_by_include", pending.pop()):
            including = (key[0], str(name))
            if including not in found and including != key:
                found[including] = None
                pending.append(including)
    return list(found)


def included(stores: Stores, namespace: str, spec: Mapping[str, Any]) -> list[Key]:
    """The versions a spec includes, directly or not, as far as the store has them."""
    found: dict[Key, None] = {}
    pending = [name for name, _ in pins(spec)]
    while pending:
        key = (namespace, pending.pop())
        if key in found:
            continue
        found[key] = None
        body = stores.get("versions", key)
        if body is not None:
            pending.extend(name for name, _ in pins(body.get("spec") or {}))
    return list(found)


def inherited_holds(stores: Stores, key: Key) -> tuple[Link, ...]:
    """What the releases holding a version that includes this one say of it: they hold it
    too, since its deletion would break their closure."""
    return tuple(
        (key[1], HOLDS, str(value))
        for including in includers(stores, key)
        for links in stores.values("release_links", including)
        for _, relation, value in links
        if relation == HOLDS
    )
