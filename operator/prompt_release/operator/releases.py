"""PromptRelease: the one writer of its status and its ConfigMap.

Every path that can change what a release should serve (its own spec, its PromptVersion, a hand
edit or deletion of its ConfigMap) ends in `Releases.reconcile`, which plans from fresh reads
and writes only what differs. A restart over unchanged objects therefore writes nothing.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

import kopf

from prompt_release import RELEASE_PLURAL, VERSION_PLURAL
from prompt_release.core import conditions
from prompt_release.core import release as release_core
from prompt_release.core.views import ReleaseView, VersionView
from prompt_release.kube import Kube
from prompt_release.operator import metrics
from prompt_release.operator.options import Options
from prompt_release.operator.shell import namespaced, now, until_no_conflict

log = logging.getLogger("prompt_release")

ReleasesByVersion = kopf.Index[tuple[str, str], str]


def releases_by_version(namespace: str | None, name: str, spec: Any, **_: Any) -> Any:
    """Index: the releases naming each version in their spec."""
    return {(namespace, spec.get("version")): name}


def not_ready(status: Any, **_: Any) -> bool:
    return not conditions.is_ready(status)


class Releases:
    """Handlers of PromptReleases, and of what they react to (their versions, ConfigMaps)."""

    def __init__(self, kube: Kube, options: Options) -> None:
        self.kube = kube
        self.options = options
        self._locks: defaultdict[tuple[str, str], threading.Lock] = defaultdict(threading.Lock)
        self._locks_guard = threading.Lock()

    def changed(self, namespace: str | None, name: str, **_: Any) -> None:
        self.reconcile(namespaced(namespace), name)

    def retry(self, namespace: str | None, name: str, **_: Any) -> None:
        """Causes we don't watch (an unmanaged ConfigMap deleted, say) clear without a change."""
        self.reconcile(namespaced(namespace), name)

    def event(self, type: str, body: Any, namespace: str | None, **_: Any) -> None:
        if type == "DELETED":
            metrics.RELEASES.forget(namespaced(namespace), body["metadata"]["name"])

    def version_event(self, namespace: str | None, name: str, **indexes: Any) -> None:
        """A version appeared, changed or went: the releases naming it may now succeed or fail."""
        namespace = namespaced(namespace)
        by_version: ReleasesByVersion = indexes["releases_by_version"]
        for release_name in list(by_version.get((namespace, name), [])):
            self.reconcile(namespace, release_name)

    def config_map_event(self, body: Any, namespace: str | None, **_: Any) -> None:
        """A hand edit or deletion of a managed ConfigMap: let its release put it back."""
        if namespace is None:
            return
        for owner in body.get("metadata", {}).get("ownerReferences") or ():
            if owner.get("controller") and owner.get("kind") == "PromptRelease":
                self.reconcile(namespace, str(owner["name"]))

    @contextmanager
    def _locked(self, namespace: str, name: str) -> Iterator[None]:
        """One reconcile per release at a time in this process (handlers run in threads)."""
        with self._locks_guard:
            lock = self._locks[(namespace, name)]
        with lock:
            yield

    def reconcile(self, namespace: str, name: str) -> None:
        """Bring one release's ConfigMap and status to what its spec asks for."""
        with self._locked(namespace, name):
            until_no_conflict(lambda: self._once(namespace, name), self.options.conflict_retries)

    def _once(self, namespace: str, name: str) -> None:
        with metrics.reconciling("PromptRelease") as outcome:
            body = self.kube.find(RELEASE_PLURAL, namespace, name)
            if body is None or body["metadata"].get("deletionTimestamp"):
                metrics.RELEASES.forget(namespace, name)
                return
            if not self._pass(body):
                outcome["result"] = "refused"

    def _pass(self, body: dict[str, Any]) -> bool:
        """One pass over a release: read, plan, write once. True when it ends Ready."""
        if not (body.get("status") or {}).get("conditions"):
            body = self.kube.write_status(
                RELEASE_PLURAL, body, release_core.first_visit(ReleaseView.of(body), now())
            )
        release = ReleaseView.of(body)
        found = self.kube.find(VERSION_PLURAL, release.namespace, release.version)
        version = None if found is None else VersionView.of(found)
        existing = self.kube.find_config_map(release.namespace, release.config_map_name)
        plan = release_core.plan(release, version, existing, now())
        if plan.config_map is not None:
            self.kube.write_config_map(plan.config_map, existing)
        if conditions.status_changed(release.status.raw, plan.status):
            self.kube.write_status(RELEASE_PLURAL, body, plan.status)
        for event in plan.events:
            kopf.event(cast(Any, body), type=event.type, reason=event.reason, message=event.message)
        metrics.RELEASES.record(release, plan.status)
        if plan.events or plan.config_map is not None:
            ready = conditions.ready_of(plan.status)
            log.info(
                "PromptRelease %s/%s: %s %s",
                release.namespace,
                release.name,
                ready.get("reason"),
                ready.get("message"),
            )
        return plan.ready
