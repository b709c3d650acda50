"""What both controllers read for composition: versions by name (from the store, or from the
API server for a version the store doesn't have yet) and what a label serves of each included
prompt."""

from __future__ import annotations

from typing import Any

from prompt_release import VERSION_PLURAL
from prompt_release.core import composition
from prompt_release.core.views import ReleaseView, VersionView, release_name
from prompt_release.kube import Kube
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
