"""PromptVersion: the one writer of its status (hash, validity, releasedAs, heldBy).

The status is computed in one place (`core.version.status`) from the version as its watch or
our last status write brought it (read again when neither is known to be the latest) and from
the index of what every release says about versions, then written once, guarded by
resourceVersion: a body that was already stale meets a 409, and the retry reads. Releases
never write it; when what they serve changes, `release_event` asks for a refresh here.

A refresh is written `version_status_delay` after it is first asked for, and every request in
between joins it; while a release naming the version has yet to plan that spec, the refresh
waits for it (at most `version_status_wait` in all), and while no release names it but
releases are changing (a burst: the one naming it may be right behind), a new version waits
for one (at most `version_status_burst_wait`). A new version and the release that goes live
with it cost one status write (hash, validity and releasedAs together), not two.
"""

from __future__ import annotations

import contextvars
import logging
import time
from collections.abc import Iterable
from typing import Any

import kopf

from prompt_release import CRD_VERSION, GROUP, RELEASE_PLURAL, VERSION_PLURAL
from prompt_release.core import conditions
from prompt_release.core import version as version_core
from prompt_release.core.views import ReleaseView, VersionView
from prompt_release.kube import Kube, is_status
from prompt_release.operator import metrics
from prompt_release.operator.echoes import Echoes, Memories, spec_state
from prompt_release.operator.informers import Index
from prompt_release.operator.options import Options
from prompt_release.operator.recent import Recent
from prompt_release.operator.shell import namespaced, now, until_no_conflict
from prompt_release.operator.wakeups import Wakeups

log = logging.getLogger("prompt_release")

VERSIONS = (GROUP, CRD_VERSION, VERSION_PLURAL)
RELEASES = (GROUP, CRD_VERSION, RELEASE_PLURAL)

LinkIndex = Index[tuple[str, str], tuple[version_core.Link, ...]]
LabelIndex = Index[tuple[str, str, str], str]

BUSY_SECONDS = 1.0  # releases count as changing this long after one was created or changed


# -- indexes: kept from the watches (informers.py), so lookups cost no API call --------------


def release_links(namespace: str | None, body: Any, **_: Any) -> Any:
    """Per version a release names: what it says of it (holds it, serves it as a label)."""
    by_version: dict[tuple[str | None, str], list[version_core.Link]] = {}
    for link in version_core.release_links(ReleaseView.of(body)):
        by_version.setdefault((namespace, link[0]), []).append(link)
    return {key: tuple(links) for key, links in by_version.items()}


def versions_by_label(namespace: str | None, name: str, spec: Any, status: Any, **_: Any) -> Any:
    """The versions whose status says they serve a (prompt, label): those to refresh when it
    moves elsewhere."""
    prompt = spec.get("prompt")
    return {(namespace, prompt, label): name for label in (status or {}).get("releasedAs") or ()}


def _links(index: LinkIndex, namespace: str, name: str) -> list[version_core.Link]:
    return [link for links in index.get((namespace, name), ()) for link in links]


class Versions:
    """Handlers of PromptVersions, and the refresh releases trigger."""

    def __init__(
        self, kube: Kube, options: Options, recent: Recent, memories: Memories | None = None
    ) -> None:
        memories = memories or Memories()
        self.kube = kube
        self.options = options
        self.recent = recent  # the latest body of each version (small ones), for both kinds
        self.wakeups = Wakeups()
        self.seen = Echoes(memories.versions)  # spec_state of each version
        self.served = Echoes(memories.releases)  # per release: (the version it serves, its label)
        # Per version: the resourceVersion our last write made (its status, or its in-use
        # finalizer's patch: Protection notes those here too).
        self.written = Echoes(memories.versions)
        self._release_links: LinkIndex | None = None
        # Per release: its spec_state (ours echo, users change it).
        self.release_specs = Echoes(memories.releases)
        self._release_event_at = -BUSY_SECONDS  # time.monotonic() of the last such change

    def event(
        self, type: str | None, body: Any, namespace: str | None, name: str, **indexes: Any
    ) -> None:
        """A version appeared (or was listed at start), or is being deleted: hash and validate
        it. Only a status that would change is written; its own status and finalizer writes
        coming back change nothing it reads."""
        namespace = namespaced(namespace)
        self._release_links = indexes["release_links"]
        if type == "DELETED":
            self.seen.forget((namespace, name))
            self.written.forget((namespace, name))
            return
        state = spec_state(body)
        if self.written.is_echo((namespace, name), body["metadata"].get("resourceVersion")):
            self.written.forget((namespace, name))  # the watch caught up with our last write
        if not self.seen.news((namespace, name), state):
            return
        version = VersionView.of(body)
        status, _ = self._status(version, indexes["release_links"])
        if conditions.status_changed(version.status, status):
            self.refresh(namespace, name)

    def refresh(
        self, namespace: str, name: str, delay: float | None = None, waited: float = 0.0
    ) -> None:
        """Write the version's status soon; requests until then join this one."""
        wait = self.options.version_status_delay if delay is None else delay
        context = contextvars.copy_context()  # kopf.event finds kopf's settings there
        self.wakeups.at(
            (namespace, name),
            wait,
            lambda: context.run(self._refresh, namespace, name, waited + wait),
        )

    def _refresh(self, namespace: str, name: str, waited: float) -> None:
        assert self._release_links is not None
        links = _links(self._release_links, namespace, name)
        planning = version_core.linked(name, version_core.PLANS, links)
        if planning and waited < self.options.version_status_wait:
            self.refresh(namespace, name, waited=waited)  # a release is about to say more
            return
        if (
            not links
            and waited < self.options.version_status_burst_wait
            and self.releases_busy()
            and self._new(namespace, name)
        ):
            self.refresh(namespace, name, waited=waited)  # one naming it may be right behind
            return
        try:
            self.reconcile(namespace, name, self._release_links)
        except Exception as error:
            log.warning("PromptVersion %s/%s: status not written: %s", namespace, name, error)
            self.refresh(namespace, name, self.options.retry_stalled_seconds, waited)

    def _new(self, namespace: str, name: str) -> bool:
        """A version whose status we never wrote (as its watch last brought it)."""
        recent = self.recent.get((namespace, name))
        return recent is not None and not (recent[1].get("status") or {}).get("hash")

    def releases_busy(self) -> bool:
        """Was a release created, or its spec changed, in the last BUSY_SECONDS? Neither the
        start-up listing nor our own status writes coming back count."""
        return time.monotonic() - self._release_event_at < BUSY_SECONDS

    def _status(
        self, version: VersionView, release_links: LinkIndex
    ) -> tuple[dict[str, Any], list[str]]:
        """The status the version should have now, and the releases holding it."""
        links = _links(release_links, version.namespace, version.name)
        holders = version_core.linked(version.name, version_core.HOLDS, links)
        status = version_core.status(
            version,
            now(),
            released_as=version_core.linked(version.name, version_core.SERVES, links),
            held_by=holders if version.deleting else None,
        )
        return status, holders

    def deleted(self, namespace: str | None, name: str, **indexes: Any) -> None:
        """Hold back deletion while any release points here (the finalizer stays)."""
        holders = self.reconcile(namespaced(namespace), name, indexes["release_links"])
        if holders:
            raise kopf.TemporaryError(
                f"deletion waits until no release points here; held by: {', '.join(holders)}",
                delay=self.options.deletion_retry_seconds,
            )

    def release_event(
        self, type: str | None, body: Any, namespace: str | None, name: str, **indexes: Any
    ) -> None:
        """A release changed what it serves, or went: refresh the versions it served and
        serves now, and those whose status says they serve its label. Each refresh writes only
        a status that changes; which ones do is never judged from an index of our own status
        writes, which may not have caught up with the last one."""
        namespace = namespaced(namespace)
        if type == "DELETED":
            self.release_specs.forget((namespace, name))
        elif self.release_specs.news((namespace, name), spec_state(body)) and type is not None:
            self._release_event_at = time.monotonic()  # created or its spec changed
        release_links: LinkIndex = indexes["release_links"]
        self._release_links = release_links
        versions_by_label: LabelIndex = indexes["versions_by_label"]
        release = ReleaseView.of(body)
        key = (namespace, name)
        before = self.served.get(key)
        now_serving = None if type == "DELETED" else (release.status.version, release.label)
        if type == "DELETED":
            self.served.forget(key)
        elif before == now_serving:
            return
        else:
            self.served.note(key, now_serving)
            if type is None and before is None:
                return  # first listed: each version checks itself on its own first listing
        candidates = set(versions_by_label.get((namespace, release.prompt, release.label), ()))
        for served in (before, now_serving):
            if isinstance(served, tuple) and served[0]:
                candidates.add(str(served[0]))
        for version in sorted(candidates):
            self.refresh(namespace, version)

    def reconcile(self, namespace: str, name: str, release_links: LinkIndex) -> list[str]:
        """Write the version's whole status if it changed; the releases holding it back.
        The first attempt judges from the latest body known (`_latest`); after a conflict,
        from a fresh read."""
        attempts = iter(range(self.options.conflict_retries + 1))
        return until_no_conflict(
            lambda: self._once(namespace, name, release_links, next(attempts) > 0),
            self.options.conflict_retries,
        )

    def _latest(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The version as last known (its watch, or the response of our own last write), if
        that is our last write or newer (its echo may not be back yet, and an older event may
        have come in between: then None, and the caller reads)."""
        recent = self.recent.get((namespace, name))
        if recent is None:
            return None
        body: dict[str, Any] = recent[1]
        ours = self.written.get((namespace, name))
        if ours is not None and ours != body["metadata"].get("resourceVersion"):
            return None
        return body

    def _once(self, namespace: str, name: str, release_links: LinkIndex, fresh: bool) -> list[str]:
        with metrics.reconciling("PromptVersion") as outcome:
            body = None if fresh else self._latest(namespace, name)
            if body is None:
                body = self.kube.find(VERSION_PLURAL, namespace, name)
            if body is None:
                return []
            version = VersionView.of(body)
            status, holders = self._status(version, release_links)
            ready = conditions.ready_of(status)
            if ready.get("status") != "True":
                outcome["result"] = "refused"
            if not conditions.status_changed(version.status, status):
                return holders
            try:
                written = self.kube.write_status(VERSION_PLURAL, body, status)
            except Exception as error:
                if version.deleting and is_status(error, 404):
                    return []  # gone while we looked
                raise
            key = (namespace, name)
            self.written.note(key, written["metadata"].get("resourceVersion"))
            self.recent.put(key, spec_state(written), written, written.get("spec"))
            self._tell(body, version, status, holders)
            return holders

    def _tell(
        self, body: Any, version: VersionView, status: dict[str, Any], holders: Iterable[str]
    ) -> None:
        """Log and post what a human wants to know of a status change."""
        ready = conditions.ready_of(status)
        old_ready = conditions.ready_of(version.status)
        if ready != old_ready or status.get("hash") != version.status.get("hash"):
            log.info(
                "PromptVersion %s/%s: %s %s",
                version.namespace,
                version.name,
                ready.get("reason"),
                status.get("hash"),
            )
        if ready.get("status") == "False" and not conditions.same([dict(ready)], [dict(old_ready)]):
            kopf.event(
                body,
                type="Warning",
                reason=str(ready.get("reason")),
                message=str(ready.get("message")),
            )
        held = sorted(holders)
        if version.deleting and held and version.status.get("heldBy") != held:
            kopf.event(
                body,
                type="Warning",
                reason="InUse",
                message="deletion waits until no release points here; held by: " + ", ".join(held),
            )
