"""The PromptVersion controller: the one writer of a version's status and of its in-use
finalizer (on exactly the versions a release points at).

`gather` reads the version and what every release says of it; `reconcile` decides with
`core.version_decision.decide_version` and writes the status, then the finalizer, each
guarded by the resourceVersion it was planned from.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from prompt_release import VERSION_PLURAL
from prompt_release.core import conditions, protection
from prompt_release.core.configmap import OPERATOR
from prompt_release.core.version import Link
from prompt_release.core.version_decision import Timing, decide_version, seen_for
from prompt_release.core.views import VersionView
from prompt_release.kube import ApiError, is_status
from prompt_release.operator import clock, metrics
from prompt_release.operator.controllers import includes
from prompt_release.operator.controllers.shell import Shell
from prompt_release.operator.runtime.controller import Result
from prompt_release.operator.runtime.informer import Key, resource_version

log = logging.getLogger("prompt_release")


@dataclass(frozen=True)
class Gathered:
    body: Mapping[str, Any] | None
    links: tuple[Link, ...] = ()
    version: VersionView | None = None
    """The version, its includes resolved from the store."""
    waiting: bool = False
    """The store hasn't caught up with our own last write of the version."""


class VersionReconciler:
    def __init__(self, shell: Shell, timing: Timing) -> None:
        self.kube = shell.kube
        self.stores = shell.stores
        self.events = shell.events
        self.written = shell.written
        self.timing = timing
        self.started = time.monotonic()

    def gather(self, key: Key) -> Gathered:
        body = self.stores.get("versions", key)
        if self.written.pending(("versions", *key), resource_version(body)):
            return Gathered(None, waiting=True)
        links = tuple(link for found in self.stores.values("release_links", key) for link in found)
        links += includes.inherited_holds(self.stores, key)
        if body is None:
            return Gathered(None, links)
        lookup = includes.store_lookup(self.stores, key[0])
        return Gathered(body, links, VersionView.of(body).with_includes(lookup))

    def reconcile(self, key: Key, gathered: Gathered) -> Result:
        if gathered.waiting:
            return Result(retry=True)  # soon, then less often: the key's backoff
        body = gathered.body
        if body is None:
            return Result()
        with metrics.reconciling("PromptVersion") as outcome:
            version = gathered.version or VersionView.of(body)
            meta = body["metadata"]
            now = dt.datetime.now(dt.UTC)
            chosen = decide_version(
                version,
                tuple(meta.get("finalizers") or ()),
                gathered.links,
                seen_for(meta.get("creationTimestamp"), now, time.monotonic() - self.started),
                clock.text(now),
                self.timing,
            )
            if not chosen.ready:
                outcome["result"] = "refused"
            try:
                if chosen.status is not None:
                    body = self.kube.write_status(VERSION_PLURAL, body, chosen.status)
                    self._wrote(key, body)
                    self._log(version, chosen.status)
                if chosen.held is not None:
                    self._set_finalizer(key, body["metadata"], chosen.held)
            except ApiError as error:
                if is_status(error, 404):
                    return Result()  # gone while we looked
                if is_status(error, 409):
                    return Result(retry=True)
                raise
            for event in chosen.events:
                self.events.event(body, event.type, event.reason, event.message)
            return Result(requeue_after=chosen.requeue_after)

    def _wrote(self, key: Key, body: Mapping[str, Any]) -> None:
        self.written.wrote(("versions", *key), str(body["metadata"]["resourceVersion"]))

    def _set_finalizer(self, key: Key, meta: Mapping[str, Any], held: bool) -> None:
        patch = protection.finalizer_patch(meta, held)
        if patch is None:
            return
        name, namespace = str(meta["name"]), str(meta["namespace"])
        self._wrote(key, self.kube.merge_patch(VERSION_PLURAL, namespace, name, patch, OPERATOR))
        log.debug("PromptVersion %s/%s: in-use protection %s", namespace, name, held)

    @staticmethod
    def _log(version: VersionView, status: Mapping[str, Any]) -> None:
        ready = conditions.ready_of(status)
        old = conditions.ready_of(version.status)
        if ready != old or status.get("hash") != version.status.get("hash"):
            log.info(
                "PromptVersion %s/%s: %s %s",
                version.namespace,
                version.name,
                ready.get("reason"),
                status.get("hash"),
            )
