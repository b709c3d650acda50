"""In-use protection: the finalizer only on the PromptVersions a release points at.

`Protection` is the finalizer's one writer: on each event of a release it settles the version
the release holds now (at once) and the one it held before (after `settle_delay`); on each event
of a version it settles that version. kopf's deletion handler `version_deleted` is registered
for exactly the versions that carry the finalizer, so kopf never adds or removes it on its own
and only runs the deletion cycle (wait for the holders, then let the version go). Versions are
read from the latest body known (shared with Versions, holding the responses of our own writes)
or the index of every version's finalizers and resourceVersion, never by GET. An entry older than
our own last write of the version is not patched from (it would meet a 409): that write's event
is on its way and settles it; a patch from an entry gone stale otherwise meets the 409, and the
version's own next event settles it.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Mapping
from typing import Any

from prompt_release import VERSION_PLURAL
from prompt_release.core import protection
from prompt_release.core import version as version_core
from prompt_release.core.configmap import OPERATOR
from prompt_release.core.views import ReleaseView
from prompt_release.kube import Kube, is_status
from prompt_release.operator.echoes import Echoes, Memories, older, spec_state
from prompt_release.operator.informers import Index
from prompt_release.operator.options import Options
from prompt_release.operator.recent import Recent
from prompt_release.operator.shell import namespaced
from prompt_release.operator.wakeups import Wakeups

log = logging.getLogger("prompt_release")

LinkIndex = Index[tuple[str, str], tuple[version_core.Link, ...]]
MetaIndex = Index[tuple[str, str], tuple[Any, ...]]


def holders(release_links: LinkIndex, namespace: str, name: str) -> list[str]:
    links = [link for links in release_links.get((namespace, name), ()) for link in links]
    return version_core.linked(name, version_core.HOLDS, links)


def carries_finalizer(meta: Any, **_: Any) -> bool:
    """kopf's filter of the deletion handler: exactly the versions that carry the finalizer.
    kopf then never adds or removes it on its own (Protection is its one writer); it runs the
    deletion handler, and lets the version go, once one of them is being deleted."""
    return protection.carries(meta)


def being_deleted(body: Mapping[str, Any]) -> bool:
    """A version in the deletion cycle kopf runs (deleted while it carries the finalizer): its
    events go through kopf, which calls the deletion handler and then lets it go."""
    meta = body.get("metadata") or {}
    return bool(meta.get("deletionTimestamp")) and protection.carries(meta)


BASIS = ("resourceVersion", "finalizers", "deletionTimestamp")


def version_meta(namespace: str | None, meta: Any, **_: Any) -> Any:
    """Index: what a finalizer patch of each version needs (no GET before writing one), as a
    tuple in the order of BASIS (a dict per version cost 120 bytes more)."""
    basis = patch_basis(meta)
    return {(namespace, meta["name"]): tuple(basis[field] for field in BASIS)}


def patch_basis(meta: Mapping[str, Any]) -> dict[str, Any]:
    """What a finalizer patch needs of a version's metadata."""
    return {
        "resourceVersion": meta.get("resourceVersion"),
        "finalizers": tuple(meta.get("finalizers") or ()),
        "deletionTimestamp": meta.get("deletionTimestamp"),
    }


class Protection:
    """The release side of in-use protection: the versions a release held and holds."""

    def __init__(
        self,
        kube: Kube,
        options: Options,
        recent: Recent,
        written: Echoes,
        memories: Memories | None = None,
    ) -> None:
        memories = memories or Memories()
        self.kube = kube
        self.options = options
        # The latest body of each version, shared with Versions: newer than the index when
        # it holds the response of our own last write.
        self.recent = recent
        # Versions' note of the resourceVersion our last write of each version made: a patch
        # here is such a write, and the status writer may plan from its response.
        self.written = written
        # Per release: the version it held at its last event.
        self.held = Echoes(memories.releases)
        # Per version: the resourceVersion its last patch started from.
        self.patched = Echoes(memories.versions)
        self.wakeups = Wakeups()
        self._indexes: Mapping[str, Any] = {}

    def release_event(
        self, type: str | None, body: Any, namespace: str | None, name: str, **indexes: Any
    ) -> None:
        """A release changed or went: settle the finalizer of the version it holds now, and of
        the one it held before in `settle_delay` (by then the version's own next event, its
        releasedAs changing, has usually let kopf remove it, and there is nothing left to
        write).

        The version it holds now is settled once the release's pass has answered its spec (the
        event of its status write), `settle_delay` at the latest: a finalizer patch writes the
        whole version (300 KiB for a large prompt), and made at once it would compete with the
        pass's own reads and writes on the API server, the path to Ready."""
        namespace = namespaced(namespace)
        self._indexes = indexes
        release = ReleaseView.of(body)
        holds = None if type == "DELETED" or release.deleting else release.version
        before = self.held.get((namespace, name))
        if type == "DELETED":
            self.held.forget((namespace, name))
        else:
            self.held.note((namespace, name), holds)
        if holds is not None and self._unsettled(namespace, holds):
            self.later(namespace, holds, 0.0 if release.planned else self.options.settle_delay)
        if before is not None and before != holds and self._unsettled(namespace, str(before)):
            self.later(namespace, str(before), self.options.settle_delay)

    def version_event(
        self, type: str | None, body: Any, namespace: str | None, name: str, **indexes: Any
    ) -> None:
        """A version appeared, was listed or changed: settle its finalizer if it says the wrong
        thing (a version no event of a release will touch: one held while the operator was
        down, one that lost its holder then, one created after the release naming it). A
        version being deleted is kopf's: its deletion handler decides."""
        namespace = namespaced(namespace)
        self._indexes = indexes
        if type == "DELETED":
            self.patched.forget((namespace, name))
            return
        patch, is_held = self._patch(namespace, name)
        if patch is not None:
            self.later(namespace, name, 0.0 if is_held else self.options.settle_delay)

    def later(self, namespace: str, name: str, delay: float) -> None:
        context = contextvars.copy_context()  # kopf's settings, for its Events
        self.wakeups.at((namespace, name), delay, lambda: context.run(self.settle, namespace, name))

    def _meta(self, namespace: str, name: str) -> dict[str, Any] | None:
        """What the patch needs of the version: from the index, unless it is older than our own
        last write of the version (a status or finalizer write's response is newer than the
        index until its event comes); then from the latest body known, which holds that
        response. None when neither is as new (a patch from there would only meet a 409): that
        write's event, on its way, settles it. The index first: a body may be kept packed, and
        a restart looks at every version."""
        key = (namespace, name)
        metas: MetaIndex = self._indexes["version_meta"]
        found = next(iter(metas.get(key, ())), None)
        if found is not None and not older(found[0], self.written.get(key)):
            return dict(zip(BASIS, found, strict=True))
        recent = self.recent.get(key)
        return None if recent is None else patch_basis(recent[1]["metadata"])

    def _patch(self, namespace: str, name: str) -> tuple[dict[str, Any] | None, bool]:
        """The finalizer patch the version needs now (None: none), and whether it is held."""
        meta = self._meta(namespace, name)
        if meta is None or meta.get("deletionTimestamp"):
            return None, False  # not seen yet (its own event settles it), or kopf's to delete
        is_held = bool(holders(self._indexes["release_links"], namespace, name))
        return protection.finalizer_patch(meta, is_held), is_held

    def _unsettled(self, namespace: str, name: str) -> bool:
        return self._patch(namespace, name)[0] is not None

    def settle(self, namespace: str, name: str) -> None:
        """Make the version's finalizer say whether a release holds it (one guarded patch,
        from the index: no read first)."""
        patch, is_held = self._patch(namespace, name)
        if patch is None:
            return
        read = patch["metadata"]["resourceVersion"]
        # Claimed before the write: two settles of one version can run at once (a release's
        # event and the version's own), and the second from the same state would only meet a 409.
        if not self.patched.news((namespace, name), read):
            return  # patched from this very state already (or now): its event is on its way
        try:
            written = self.kube.merge_patch(VERSION_PLURAL, namespace, name, patch, OPERATOR)
        except Exception as error:
            if is_status(error, 404, 409):
                return  # gone, or changed: its own event settles it
            self.patched.forget((namespace, name))  # not written: the next settle tries again
            raise
        # The version's status writer plans from this body, not the one before the patch
        # (which would meet a 409 and a read while the patch's event is on its way).
        self.written.note((namespace, name), written["metadata"].get("resourceVersion"))
        self.recent.advance(
            (namespace, name),
            lambda body: body["metadata"].get("resourceVersion") == read,
            spec_state(written),
            written,
            written.get("spec"),
        )
        log.debug("PromptVersion %s/%s: in-use protection %s", namespace, name, is_held)
