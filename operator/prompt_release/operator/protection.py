"""In-use protection: the finalizer only on the PromptVersions a release points at.

kopf manages it as the finalizer of the deletion handler `version_deleted`, registered with the
filter `held`: on each event of a version, kopf adds the finalizer when a release names the
version and removes it when none does. A release that moves to another version (or goes) is an
event of the release, not of its old and new versions, so `release_event` settles those two
straight away instead of waiting for their next event.
"""

from __future__ import annotations

import logging
from typing import Any

import kopf

from prompt_release import VERSION_PLURAL
from prompt_release.core import protection
from prompt_release.core import version as version_core
from prompt_release.core.configmap import OPERATOR
from prompt_release.core.views import ReleaseView
from prompt_release.kube import Kube, is_status
from prompt_release.operator.shell import namespaced

log = logging.getLogger("prompt_release")

LinkIndex = kopf.Index[tuple[str, str], tuple[version_core.Link, ...]]
ProtectedIndex = kopf.Index[str, str]
ServingIndex = kopf.Index[tuple[str, str], tuple[str, ...]]


def holders(release_links: LinkIndex, namespace: str, name: str) -> list[str]:
    links = [link for links in release_links.get((namespace, name), ()) for link in links]
    return version_core.linked(name, version_core.HOLDS, links)


def held(namespace: str | None, name: str, **indexes: Any) -> bool:
    """kopf's filter of the deletion handler: the finalizer is wanted while a release holds."""
    return bool(holders(indexes["release_links"], namespaced(namespace), name))


def protected_versions(namespace: str | None, meta: Any, **_: Any) -> Any:
    """Index: per namespace, the versions that carry the finalizer now."""
    return {namespace: meta["name"]} if protection.carries(meta) else {}


class Protection:
    def __init__(self, kube: Kube) -> None:
        self.kube = kube

    def release_event(self, body: Any, namespace: str | None, **indexes: Any) -> None:
        """A release changed or went: settle the finalizer of the version it names now and of
        every protected version of the namespace that nobody holds any more."""
        namespace = namespaced(namespace)
        release_links: LinkIndex = indexes["release_links"]
        protected_index: ProtectedIndex = indexes["protected_versions"]
        existing: ServingIndex = indexes["version_serving"]
        protected = set(protected_index.get(namespace, ()))
        unheld = {name for name in protected if not holders(release_links, namespace, name)}
        named = ReleaseView.of(body).version
        settle = set(unheld)
        if (namespace, named) in existing and named not in protected:
            settle.add(named)  # named now: may need the finalizer
        for name in sorted(settle):
            self.settle(namespace, name, release_links)

    def settle(self, namespace: str, name: str, release_links: LinkIndex) -> None:
        """Make the version's finalizer say whether a release holds it (one guarded patch)."""
        body = self.kube.find(VERSION_PLURAL, namespace, name)
        if body is None:
            return
        is_held = bool(holders(release_links, namespace, name))
        patch = protection.finalizer_patch(body["metadata"], is_held)
        if patch is None:
            return
        try:
            self.kube.merge_patch(VERSION_PLURAL, namespace, name, patch, OPERATOR)
        except Exception as error:
            if is_status(error, 404, 409):
                return  # gone, or changed: its own event settles it
            raise
        log.debug("PromptVersion %s/%s: in-use protection %s", namespace, name, is_held)
