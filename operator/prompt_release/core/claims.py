"""Which release may write a ConfigMap name, when several name it.

Since the CRD's rule, a release's ConfigMap is its own name or `<its name>.<suffix>`, which no
other release can name (release names have no dots). Releases created before that rule may
still name any ConfigMap, another release's included; for them the operator decides:

- the release whose name it is holds the name, whoever came first;
- else the oldest release naming it (creation time, then name) holds it;
- the holder writes it, taking it over from a release that wrote it without holding it (only a
  ConfigMap labelled as the operator's and controlled by that release, never anyone else's);
- every other release naming it is refused with `ConfigMapConflict`, its message naming the
  holder, and writes nothing.

The shell passes the other releases of the namespace that name the same ConfigMap, and the
release whose name it is (`rivals`); this module needs nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from prompt_release.core import configmap
from prompt_release.core.views import ReleaseView


@dataclass(frozen=True)
class Rival:
    """Another release of the namespace, as far as its claim on a ConfigMap name goes."""

    name: str
    uid: str
    created: str
    config_map: str

    @classmethod
    def of(cls, release: ReleaseView) -> Rival:
        return cls(
            release.name, release.uid, release.creation_timestamp or "", release.config_map_name
        )


def rivals(release: ReleaseView, others: Iterable[Mapping[str, Any] | None]) -> tuple[Rival, ...]:
    """The releases among `others` (bodies; None and duplicates skipped) that claim the
    ConfigMap name `release` writes: by naming it, or by being named so."""
    found: dict[str, Rival] = {}
    for body in others:
        if body is None:
            continue
        other = ReleaseView.of(body)
        if other.uid == release.uid or other.name == release.name or other.deleting:
            continue
        if release.config_map_name in (other.name, other.config_map_name):
            found[other.name] = Rival.of(other)
    return tuple(found[name] for name in sorted(found))


def _rank(name: str, created: str, config_map: str) -> tuple[int, str, str]:
    """Lower holds: the release named as the ConfigMap, then the oldest, then by name."""
    return (0 if name == config_map else 1, created, name)


def holder(release: ReleaseView, found: Sequence[Rival]) -> str:
    """The name of the release that holds `release`'s ConfigMap name."""
    name = release.config_map_name
    ranked = [
        (_rank(r.name, r.created, name), r.name) for r in found if name in (r.name, r.config_map)
    ]
    ranked.append((_rank(release.name, release.creation_timestamp or "", name), release.name))
    return min(ranked)[1]


def conflict(release: ReleaseView, found: Sequence[Rival]) -> str | None:
    """Why `release` may not write its ConfigMap (another release holds the name), or None."""
    held_by = holder(release, found)
    if held_by == release.name:
        return None
    name = release.config_map_name
    why = "it is that release's name" if held_by == name else "that release named it first"
    return (
        f"ConfigMap {name} belongs to PromptRelease {held_by} ({why}); a release writes only "
        f"its own name or <its name>.<suffix>: create a release that does, and delete this one"
    )


def takes_over(release: ReleaseView, found: Sequence[Rival], existing: Mapping[str, Any]) -> bool:
    """May the holder write over `existing`? Only the operator's ConfigMap, controlled by a
    release naming it without holding it."""
    labels = (existing.get("metadata") or {}).get("labels") or {}
    if labels.get(configmap.MANAGED_BY) != configmap.OPERATOR:
        return False
    owner = configmap.controller_of(existing)
    if owner is None or owner.get("kind") != release.kind:
        return False
    losers = {r.uid for r in found if r.config_map == release.config_map_name}
    return str(owner.get("uid")) in losers and holder(release, found) == release.name
