"""PromptRelease: the one writer of its status and its ConfigMap.

Every path that can change what a release should serve (its own spec, its PromptVersion, a hand
edit or deletion of its ConfigMap) ends in `Releases.reconcile`, which plans from fresh reads
and writes only what differs. A restart over unchanged objects therefore writes nothing.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, cast

import kopf

from prompt_release import RELEASE_PLURAL, VERSION_PLURAL
from prompt_release.core import canary_plan, conditions, recovery, rollout
from prompt_release.core import release as release_core
from prompt_release.core.views import ReleaseStatusView, ReleaseView, VersionView
from prompt_release.core.workloads import stamp_patch
from prompt_release.kube import Kube
from prompt_release.operator import configmaps, metrics, workloads
from prompt_release.operator.approvals import Governance
from prompt_release.operator.canaries import POLL_SECONDS, WAKE_MARGIN, Canaries, release_of_job
from prompt_release.operator.echoes import Echoes, InFlight, Memories, spec_state
from prompt_release.operator.fights import Fights
from prompt_release.operator.informers import Index
from prompt_release.operator.options import Options
from prompt_release.operator.recent import Recent
from prompt_release.operator.shell import StaleReadError, namespaced, now, until_no_conflict
from prompt_release.operator.wakeups import Wakeups
from prompt_release.operator.workqueue import WorkQueue

log = logging.getLogger("prompt_release")

ReleasesByVersion = Index[tuple[str, str], str]
PACK_AFTER = 64  # releases waiting for a pass past which their bodies wait packed
LOCK_STRIPES = 64  # locks the releases share, one reconcile each at a time (> the workers)


def releases_by_version(namespace: str | None, name: str, spec: Any, **_: Any) -> Any:
    """Index: the releases naming each version in their spec."""
    return {(namespace, spec.get("version")): name}


def releases_by_config_map(namespace: str | None, body: Any, **_: Any) -> Any:
    """Index: the release writing each ConfigMap (to wake it when a consumer changes)."""
    return {(namespace, ReleaseView.of(body).config_map_name): body["metadata"]["name"]}


def managed_config_maps(namespace: str | None, meta: Any, **_: Any) -> Any:
    """Index: the resourceVersion of every ConfigMap labelled as the operator's. Complete
    before any handler runs, so a name missing here is a ConfigMap that doesn't exist."""
    return {(namespace, meta["name"]): meta.get("resourceVersion")}


class Releases:
    """Handlers of PromptReleases, and of what they react to (their versions, ConfigMaps)."""

    def __init__(
        self,
        kube: Kube,
        options: Options,
        recent_versions: Recent,
        memories: Memories | None = None,
    ) -> None:
        memories = memories or Memories()
        self.kube = kube
        self.options = options
        # The latest bodies watches brought (operator/recent.py): a pass's first attempt plans
        # from them; a retry after a conflict reads.
        self.recent_versions = recent_versions  # filled by Versions.event
        self.recent_config_maps = Recent()
        # One reconcile per release at a time: a fixed set of locks, each release hashed to
        # one (a lock per release cost about 150 bytes per release for the process's life).
        self._locks = [threading.RLock() for _ in range(LOCK_STRIPES)]
        self.fights = Fights(options.fight_policy)
        self.queue = WorkQueue(options.max_workers, self._work, pack_after=PACK_AFTER)
        self.wakeups = Wakeups()
        self.canaries = Canaries(kube)
        self._indexes: Mapping[str, Any] = {}
        self.governance = Governance()
        # What this process last read or wrote of each object (operator/echoes.py).
        self.releases_seen = Echoes(memories.releases)  # spec_state of each release
        # Per release: (its version, the spec_state it read).
        self.versions_read = Echoes(memories.releases)
        # Per ConfigMap: the resourceVersion last read or written.
        self.config_maps_written = Echoes(memories.releases)
        self.config_map_writes = InFlight()  # events that overtook a write's response

    def event(
        self, type: str | None, body: Any, namespace: str | None, name: str, **indexes: Any
    ) -> None:
        """A release appeared (or was listed at start), its spec changed, or it went. Its own
        status writes and metadata-only changes come back here too: nothing a pass reads."""
        namespace = namespaced(namespace)
        if type == "DELETED":
            self.forget(namespace, name)
        elif self.releases_seen.news((namespace, name), spec_state(body)):
            self.reconcile(namespace, name, indexes, body)

    def forget(self, namespace: str, name: str) -> None:
        """A release is gone: drop what this process kept of it."""
        metrics.RELEASES.forget(namespace, name)
        self.fights.forget((namespace, name))
        self.releases_seen.forget((namespace, name))
        self.versions_read.forget((namespace, name))

    def version_event(
        self, type: str | None, body: Any, namespace: str | None, name: str, **indexes: Any
    ) -> None:
        """A version appeared, changed or went: the releases naming it may now succeed or fail.
        Only releases that read it differently in their last pass here are woken: a change of
        its status or bookkeeping alone is nothing a release reads, and a release not planned
        yet in this process is planned on its own first event."""
        namespace = namespaced(namespace)
        state = None if type == "DELETED" else spec_state(body)
        by_version: ReleasesByVersion = indexes["releases_by_version"]
        for release_name in list(by_version.get((namespace, name), [])):
            read = self.versions_read.get((namespace, release_name))
            if read is not None and read != (name, state):
                self.reconcile(namespace, release_name, indexes)

    def config_map_event(
        self, type: str | None, body: Any, namespace: str | None, **indexes: Any
    ) -> None:
        """A hand edit or deletion of a managed ConfigMap: let its release put it back. One
        listed for the first time in this process only goes into memory: its release's own
        first event plans it (a re-listing after a watch broke is compared as any event)."""
        if namespace is None:
            return
        meta = body.get("metadata") or {}
        key = (namespace, str(meta.get("name")))
        if type == "DELETED":
            self.config_maps_written.forget(key)
        else:
            first_listing = type is None and self.config_maps_written.get(key) is None
            if first_listing or self.config_maps_written.is_echo(key, meta.get("resourceVersion")):
                return  # listed at start, or our own write coming back
            if self.config_map_writes.hold(key, meta.get("resourceVersion")):
                return  # ahead of our write's response: the pass writing it decides (_write)
        for owner in meta.get("ownerReferences") or ():
            if owner.get("controller") and owner.get("kind") == "PromptRelease":
                self.reconcile(namespace, str(owner["name"]), indexes)

    def workload_event(self, body: Any, namespace: str | None, **indexes: Any) -> None:
        """A workload using a release's ConfigMap changed: its rollout may have moved on."""
        if namespace is None:
            return
        by_config_map: workloads.ReleasesByConfigMap = indexes["releases_by_config_map"]
        for release_name in workloads.releases_to_wake(by_config_map, namespace, body):
            self.reconcile(namespace, release_name, indexes)

    def job_event(self, body: Any, namespace: str | None, **indexes: Any) -> None:
        """An analysis Job changed (it may have finished): its release's canary moves on."""
        release_name = release_of_job(body)
        if namespace is not None and release_name is not None:
            self.reconcile(namespace, release_name, indexes)

    @contextmanager
    def _locked(self, namespace: str, name: str) -> Iterator[None]:
        """One reconcile per release at a time in this process (handlers run in threads). Two
        releases may share a lock: they then take turns, which changes no outcome."""
        with self._locks[hash((namespace, name)) % LOCK_STRIPES]:
            yield

    def reconcile(
        self,
        namespace: str,
        name: str,
        indexes: Mapping[str, Any],
        body: Mapping[str, Any] | None = None,
    ) -> None:
        """Ask for a pass over one release (operator/workqueue.py); requests made while one
        waits join it. `body`: the release as its own watch event just brought it."""
        self._indexes = indexes
        self.queue.add((namespace, name), None if body is None else dict(body))

    def _work(self, key: Any, body: dict[str, Any] | None) -> None:
        namespace, name = key
        try:
            self.reconcile_now(namespace, name, self._indexes, body)
        except Exception as error:
            log.warning("PromptRelease %s/%s: pass failed, retried: %s", namespace, name, error)

    def reconcile_now(
        self,
        namespace: str,
        name: str,
        indexes: Mapping[str, Any],
        body: dict[str, Any] | None = None,
    ) -> None:
        """Bring one release's ConfigMap, consumers and status to what its spec asks for.

        `body`: the release as its own watch event brought it, planned from without a read;
        every write stays guarded by its resourceVersion, so if it is already stale the pass
        plans again from a fresh read (as on any conflict).

        A release that isn't Ready afterwards, or whose pass failed, is looked at again in
        `retry_stalled_seconds`: causes we don't watch (an unmanaged ConfigMap deleted, say)
        clear without a change."""
        self.governance.see(indexes)
        consumers: workloads.WorkloadIndex = indexes["workloads_by_config_map"]
        attempts = iter(range(self.options.conflict_retries + 1))
        try:
            with self._locked(namespace, name):
                ready = until_no_conflict(
                    lambda: self._once(namespace, name, consumers, body, next(attempts) > 0),
                    self.options.conflict_retries,
                )
        except BaseException:
            self.later(namespace, name, self.options.retry_stalled_seconds)
            raise
        if ready is False:
            self.later(namespace, name, self.options.retry_stalled_seconds)

    def later(self, namespace: str, name: str, delay: float) -> None:
        """Reconcile this release again in `delay` seconds (the earliest request wins).

        The request is made in a copy of this context: kopf.event finds kopf's settings and
        Event queue there, so a woken pass posts its Events like any other."""
        context = contextvars.copy_context()
        self.wakeups.at(
            (namespace, name),
            delay,
            lambda: context.run(self.reconcile, namespace, name, self._indexes),
        )

    def _once(
        self,
        namespace: str,
        name: str,
        consumers: workloads.WorkloadIndex,
        given: dict[str, Any] | None,
        fresh: bool,
    ) -> bool | None:
        """One pass; whether it ended Ready (None: the release is gone). `fresh`: read every
        object (a retry after a conflict), not the bodies watches brought."""
        with metrics.reconciling("PromptRelease") as outcome:
            body = (None if fresh else given) or self.kube.find(RELEASE_PLURAL, namespace, name)
            if body is None or body["metadata"].get("deletionTimestamp"):
                metrics.RELEASES.forget(namespace, name)
                self.fights.forget((namespace, name))
                return None
            self.releases_seen.note((namespace, name), spec_state(body))
            ready = self._pass(body, consumers, fresh)
            if not ready:
                outcome["result"] = "refused"
            return ready

    def _version(self, namespace: str, name: str) -> VersionView | None:
        found = self.kube.find(VERSION_PLURAL, namespace, name)
        return None if found is None else VersionView.of(found)

    def _target_version(self, release: ReleaseView, fresh: bool) -> VersionView | None:
        """The version the spec names, noted as read by this release (see version_event).
        Its spec can't change (the API server refuses edits): the body its watch brought
        last serves as well as a read."""
        name = release.target_version
        recent = None if fresh else self.recent_versions.get((release.namespace, name))
        found = recent[1] if recent is not None else None
        if found is None:
            found = self.kube.find(VERSION_PLURAL, release.namespace, name)
        state = None if found is None else spec_state(found)
        self.versions_read.note((release.namespace, release.name), (name, state))
        return None if found is None else VersionView.of(found)

    def _config_map(self, namespace: str, name: str, fresh: bool) -> dict[str, Any] | None:
        """The release's ConfigMap as it is now: from memory when the index of managed
        ConfigMaps (complete since start) and the last body seen agree, else read."""
        key = (namespace, name)
        if not fresh:
            index: Index[tuple[str, str], str] = self._indexes["managed_config_maps"]
            seen = {*index.get(key, ()), self.config_maps_written.get(key)} - {None}
            if not seen:
                return None  # none labelled as ours, and we wrote none: absent
            recent = self.recent_config_maps.get(key)
            if recent is not None and recent[0] in seen:
                return dict(recent[1])
        return self.kube.find_config_map(namespace, name)

    def _pass(self, body: dict[str, Any], consumers: workloads.WorkloadIndex, fresh: bool) -> bool:
        """One pass over a release: read, plan, write once. True when it ends Ready.

        A release never visited is planned from the status a first visit says (Reconciling),
        and that status is written only if the pass fails before its own write: nobody reads
        an empty status as done, and a release that goes live at once costs one status write."""
        if (body.get("status") or {}).get("conditions"):
            return self._planned(body, body, consumers, fresh)
        visited = {**body, "status": release_core.first_visit(ReleaseView.of(body), now())}
        try:
            return self._planned(body, visited, consumers, fresh)
        except Exception:
            with contextlib.suppress(Exception):
                self.kube.write_status(RELEASE_PLURAL, body, visited["status"])
            raise

    def _planned(
        self,
        stored: dict[str, Any],
        body: dict[str, Any],
        consumers: workloads.WorkloadIndex,
        fresh: bool,
    ) -> bool:
        """Plan from `body`; write guarded by, and as a patch of, `stored` (the server's copy)."""
        release = ReleaseView.of(body)
        existing = self._config_map(release.namespace, release.config_map_name, fresh)
        if existing is not None:
            self.config_maps_written.note(
                (release.namespace, release.config_map_name),
                existing["metadata"].get("resourceVersion"),
            )
        if recovery.ahead(release, existing):
            raise StaleReadError(f"ConfigMap {release.config_map_name} is ahead of the status")
        stable_existing = canary_plan.stable_part(existing)  # canary.json is the canary's part
        stamp_time = now()
        version = self._target_version(release, fresh)
        gate = self.governance.gate(release)
        plan = release_core.plan(release, version, stable_existing, stamp_time, gate)
        if plan.ready:
            plan = self._roll_out(release, plan, stable_existing, consumers, stamp_time)
        split = self.canaries.plan(body, release, plan, existing, stamp_time, gate=gate)
        refused_job = self.canaries.create_jobs(split)
        if refused_job is not None:
            split = self.canaries.plan(
                body, release, plan, existing, stamp_time, refused_job, gate=gate
            )
        plan = split.plan
        plan, wait = self.fights.gate(
            (release.namespace, release.name), plan, release.config_map_name
        )
        if wait:  # a revert held back: another writer keeps changing the ConfigMap
            self.later(release.namespace, release.name, wait)
        plan = self.governance.report(plan, release, version, gate, stamp_time)
        if plan.config_map is not None:
            first = recovery.record_first(release, existing, int(plan.status.get("revision") or 0))
            if first is not None:  # what workloads saw is recorded before it is overwritten
                stored = self.kube.write_status(RELEASE_PLURAL, stored, first)
            self._write(release, plan.config_map, existing)
        if plan.ready:
            configmaps.remove_stale(self.kube, body, release)
        for workload, patch in plan.stamps:
            self.kube.patch_workload(workload.kind, workload.namespace, workload.name, patch)
        if conditions.status_changed(stored.get("status") or {}, plan.status):
            self.kube.write_status(RELEASE_PLURAL, stored, plan.status)
        self.canaries.delete_jobs(release.namespace, split)
        if split.wake_in is not None:
            self.later(release.namespace, release.name, split.wake_in + WAKE_MARGIN)
        if split.poll:
            self.later(release.namespace, release.name, POLL_SECONDS)
        for event in plan.events:
            kopf.event(cast(Any, body), type=event.type, reason=event.reason, message=event.message)
        metrics.RELEASES.record(release, plan.status)
        if any(event.reason == release_core.ROLLED_BACK_ON_FAILURE for event in plan.events):
            metrics.ROLLBACKS.labels(rollout.ROLLOUT_FAILED).inc()
        if plan.events or plan.config_map is not None:
            ready = conditions.ready_of(plan.status)
            log.info(
                "PromptRelease %s/%s: %s %s",
                release.namespace,
                release.name,
                ready.get("reason"),
                ready.get("message"),
            )
        # A canary on its way is no stalled release: its own wake-ups look at it again.
        waiting = (canary_plan.CANARY_PROGRESSING, canary_plan.CANARY_PAUSED)
        return plan.ready or conditions.ready_of(plan.status).get("reason") in waiting

    def _write(
        self,
        release: ReleaseView,
        desired: Mapping[str, Any],
        existing: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        """Write the release's ConfigMap and remember it as written. An event of it that
        overtakes the response is held until then: our own write's echo is dropped, anything
        else asks for another pass. What was written is noted before the hold ends, so an echo
        arriving in between is known as one too."""
        key = (release.namespace, release.config_map_name)
        self.config_map_writes.begin(key)
        made: str | None = None
        try:
            written = self.kube.write_config_map(desired, existing)
            made = str(written["metadata"]["resourceVersion"])
            self.config_maps_written.note(key, made)
            self.recent_config_maps.put(key, made, written, written.get("data"))
            return written
        finally:
            if self.config_map_writes.end(key, made):
                self.reconcile(release.namespace, release.name, self._indexes)

    def _roll_out(
        self,
        release: ReleaseView,
        plan: release_core.ReleasePlan,
        existing: Mapping[str, Any] | None,
        consumers: workloads.WorkloadIndex,
        now_: str,
    ) -> release_core.ReleasePlan:
        """Add the workloads to a plan whose ConfigMap is live: stamps, status.rollout, Ready.

        A failed rollout with rollbackOnFailure brings the previous revision back (once: the
        failed version is held back until spec.version names another one).
        """
        found = workloads.consumers(consumers, release.namespace, release.config_map_name)
        assessment = rollout.assess(
            release, int(plan.status["revision"]), str(plan.status["hash"]), found
        )
        if (
            assessment.phase == rollout.FAILED
            and release.rollback_on_failure
            and not release.held_back
        ):
            earlier = release.status.previous_entry()
            previous = earlier and self._version(release.namespace, str(earlier["version"]))
            if isinstance(previous, VersionView):
                plan = release_core.roll_back(
                    release, previous, existing, now_, str(assessment.rollout["message"])
                )
                if not plan.ready:
                    return plan
                release = replace(release, status=ReleaseStatusView(plan.status))
                assessment = rollout.assess(
                    release, int(plan.status["revision"]), str(plan.status["hash"]), found
                )
        status = dict(plan.status)
        status["rollout"] = assessment.rollout
        status["conditions"] = rollout.conditions_for(release, plan.status, assessment, now_)
        return release_core.ReleasePlan(
            status=status,
            config_map=plan.config_map,
            events=[*plan.events, *assessment.events],
            stamps=[
                (
                    workload,
                    stamp_patch(
                        workload, release.name, int(status["revision"]), str(status["hash"])
                    ),
                )
                for workload in assessment.stamps
            ],
        )
