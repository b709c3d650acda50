"""The PromptRelease controller: the one writer of a release's status, its ConfigMap, the
stamps on the workloads that use it and its canary's analysis Jobs.

`gather` reads one consistent snapshot of the stores on the loop; `reconcile` decides with
`core.decision.decide` and carries out the decision in its fixed order on a worker thread.
Every write is guarded by the resourceVersion it was planned from: a stale snapshot meets a
409 and the key is tried again once the stores catch up.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from prompt_release import RELEASE_PLURAL, VERSION_PLURAL
from prompt_release.core import (
    canary_jobs,
    canary_spec,
    canary_steps,
    claims,
    conditions,
    configmap,
    decision,
    evaluation_jobs,
    identity,
    promotion,
    promotion_gates,
    rollout,
    verification,
)
from prompt_release.core import release as release_core
from prompt_release.core.canary_jobs import JobState
from prompt_release.core.canary_spec import CanarySpec
from prompt_release.core.decision import Decision, Now, Observed
from prompt_release.core.fights import Fight
from prompt_release.core.governance import Gate
from prompt_release.core.views import ReleaseView, VersionView, release_name
from prompt_release.kube import ApiError, is_status
from prompt_release.operator import metrics, prometheus
from prompt_release.operator.clock import now_text
from prompt_release.operator.controllers import includes
from prompt_release.operator.controllers.evaluation import EvaluationRuns
from prompt_release.operator.controllers.shell import Shell, api_message
from prompt_release.operator.options import Options
from prompt_release.operator.runtime.controller import Result
from prompt_release.operator.runtime.informer import Key, resource_version

log = logging.getLogger("prompt_release")

REMOVED = "ConfigMapRemoved"


@dataclass(frozen=True)
class Gathered:
    observed: Observed | None
    """None: the release is gone (or being deleted), or the stores are behind our writes."""
    waiting: bool = False
    """The stores haven't caught up with our own last write of the release or its ConfigMap:
    the pass is made once they have (it would only meet a 409)."""


class ReleaseReconciler:
    def __init__(self, shell: Shell, options: Options) -> None:
        self.kube = shell.kube
        self.stores = shell.stores
        self.events = shell.events
        self.written = shell.written
        self.retry_stalled_seconds = options.retry_stalled_seconds
        self.fight_policy = options.fight_policy
        # Written by the workers, read by gather: one entry per release, replaced whole.
        self.fights: dict[Key, Fight] = {}
        self.refused_jobs: dict[Key, JobState] = {}
        self.evaluation = EvaluationRuns(shell)
        # A ConfigMap of the release's name that isn't the operator's (its watch selects only
        # the operator's): read once a create meets it, observed by the next pass alone.
        self.unmanaged: dict[Key, Mapping[str, Any]] = {}
        # History records a pass could not write: owed, and written by the next pass.
        self.owed: dict[Key, list[dict[str, Any]]] = {}
        self.prometheus = (
            None
            if options.prometheus_url is None
            else prometheus.Prometheus(options.prometheus_url, options.prometheus_timeout)
        )

    # -- on the loop ------------------------------------------------------------------------

    def gather(self, key: Key) -> Gathered:
        namespace, _ = key
        body = self.stores.get("releases", key)
        if body is None or body["metadata"].get("deletionTimestamp"):
            return Gathered(None)
        release = ReleaseView.of(body)
        config_map_key = (namespace, release.config_map_name)
        config_map = self.stores.get("config_maps", config_map_key)
        if self.written.pending(("releases", *key), resource_version(body)) or (
            self.written.pending(("config_maps", *config_map_key), resource_version(config_map))
        ):
            return Gathered(None, waiting=True)
        spec = CanarySpec.of(body)
        previous = release.status.previous_entry()
        version = self._version(namespace, release.target_version)
        return Gathered(
            Observed(
                body=body,
                version=version,
                config_map=self._config_map(key, release, config_map),
                consumers=self.stores.values("workloads_by_config_map", config_map_key),
                gate=Gate.of(
                    release,
                    self.stores.values("policies_by_namespace", namespace),
                    self.stores.values("approvals_by_release", key),
                ),
                previous=None
                if previous is None
                else self._version(namespace, str(previous["version"])),
                candidate=None if spec is None else self._version(namespace, spec.version),
                job=self._job(key, release, spec),
                fight=self.fights.get(key, Fight()),
                fight_policy=self.fight_policy,
                rivals=self._rivals(release, config_map_key),
                unrecorded=tuple(self.owed.get(key, ())),
                promotion=self._promotion(body, release),
                evaluation=self.evaluation.gather(key, body, release),
                served_includes=includes.served_includes(self.stores, release, version),
            )
        )

    def _promotion(self, body: Mapping[str, Any], release: ReleaseView) -> promotion.Inputs | None:
        """For spec.promotion: the `from` release, the version it serves, the live version
        and the evaluations of the candidates (spec.version and what `from` serves)."""
        spec = promotion_gates.PromotionSpec.of(body)
        if spec is None:
            return None
        namespace = release.namespace
        source = self.stores.get("releases", (namespace, release_name(release.prompt, spec.source)))
        served = ReleaseView.of(source).status.version if source is not None else None
        names = {release.version, served}
        return promotion.Inputs(
            source=source,
            candidate=self._version(namespace, served) if served else None,
            live=self._version(namespace, release.status.version or ""),
            evaluations=tuple(
                found
                for name in sorted(n for n in names if n)
                for found in self.stores.values("evaluations_by_version", (namespace, name))
            ),
        )

    def _rivals(self, release: ReleaseView, config_map_key: Key) -> tuple[claims.Rival, ...]:
        """The other releases claiming this release's ConfigMap name: naming it, or named so
        (only releases made before the API server fixed the name can)."""
        names = {*self.stores.values("releases_by_config_map", config_map_key), config_map_key[1]}
        others = names - {release.name}  # usually none: nothing to read
        return claims.rivals(
            release, [self.stores.get("releases", (release.namespace, n)) for n in sorted(others)]
        )

    def _config_map(
        self, key: Key, release: ReleaseView, found: Mapping[str, Any] | None
    ) -> Mapping[str, Any] | None:
        unmanaged = self.unmanaged.pop(key, None)
        if found is not None or unmanaged is None:
            return found
        named = unmanaged["metadata"].get("name") == release.config_map_name
        return unmanaged if named else None

    def _version(self, namespace: str, name: str) -> VersionView | None:
        """The version from the store, its includes resolved from the store too."""
        found = self.stores.get("versions", (namespace, name)) if name else None
        if found is None:
            return None
        return VersionView.of(found).with_includes(includes.store_lookup(self.stores, namespace))

    def _job(self, key: Key, release: ReleaseView, spec: CanarySpec | None) -> JobState | None:
        """The analysis Job of the current step: the one the status names, else the one this
        step's run would create; a creation the API server refused counts as its state."""
        state: Mapping[str, Any] = release.status.raw.get("canary") or {}
        name = state.get("analysisJob")
        if not name and spec is not None and state.get("phase") == canary_spec.PROGRESSING:
            index = int(state.get("step") or 0)
            if index < len(spec.steps) and spec.steps[index].type == canary_spec.ANALYSIS:
                name = canary_jobs.job_name(release, state, index)
        if not name:
            return None
        refused = self.refused_jobs.get(key)
        if refused is not None and refused.name == name:
            return refused
        job: JobState | None = self.stores.get("analysis_jobs", (release.namespace, str(name)))
        return job

    # -- on a worker thread -------------------------------------------------------------------

    def reconcile(self, key: Key, gathered: Gathered) -> Result:
        if gathered.waiting:
            return Result(retry=True)  # soon, then less often: the key's backoff
        observed = gathered.observed
        if observed is None:
            self.forget(key)
            return Result()
        with metrics.reconciling("PromptRelease") as outcome:
            observed = self._measure(self._confirm_absent(observed))
            chosen = decision.decide(observed, Now(now_text(), time.monotonic()))
            if chosen.stale:
                return Result(retry=True)
            try:
                result = self._carry_out(key, observed, chosen)
            except ApiError as error:
                if not is_status(error, 409):
                    self._first_visit(observed)
                    raise
                return Result(retry=True)  # planned from a stale snapshot: again, fresher
            if not chosen.ready:
                outcome["result"] = "refused"
            return result

    def _confirm_absent(self, observed: Observed) -> Observed:
        """A version the stores don't have may be on its way through another watch (applied
        with the release): read it before a pass says it doesn't exist."""
        release = ReleaseView.of(observed.body)
        if observed.version is None and release.target_version:
            found = self.kube.find(VERSION_PLURAL, release.namespace, release.target_version)
            if found is not None:
                observed = replace(observed, version=self._read_version(found))
        if observed.candidate is None and release.canary_version:
            found = self.kube.find(VERSION_PLURAL, release.namespace, release.canary_version)
            if found is not None:
                observed = replace(observed, candidate=self._read_version(found))
        return observed

    def _read_version(self, body: Mapping[str, Any]) -> VersionView:
        """A version read from the API server, its includes read from there too."""
        view = VersionView.of(body)
        return view.with_includes(includes.api_lookup(self.kube, view.namespace))

    def _measure(self, observed: Observed) -> Observed:
        """Take the canary analysis's measurement when one is due (on this worker, bounded
        by the query timeout): the pass judges it."""
        at = now_text()
        query = canary_steps.due(observed.body, at) or verification.due(observed.body, at)
        if query is None:
            return observed
        if self.prometheus is None:
            return replace(observed, reading=prometheus.unconfigured(query, at))
        return replace(observed, reading=self.prometheus.measure(query, at))

    def forget(self, key: Key) -> None:
        """A release is gone: drop what this process kept of it."""
        metrics.LIVE_RELEASES.forget(*key)
        self.written.forget(("releases", *key))
        self.fights.pop(key, None)
        self.refused_jobs.pop(key, None)
        self.evaluation.forget(key)
        self.unmanaged.pop(key, None)
        self._record(self.owed.pop(key, []))  # a release deleted meanwhile: its records stay

    def _first_visit(self, observed: Observed) -> None:
        """A pass that failed before its own status write leaves the first visit's status, so
        nobody reads an empty status as done."""
        first = decision.first_visit_status(ReleaseView.of(observed.body), now_text())
        if first is not None:
            with contextlib.suppress(Exception):
                self.kube.write_status(RELEASE_PLURAL, observed.body, first)

    def _carry_out(self, key: Key, observed: Observed, chosen: Decision) -> Result:
        """The decision's actions, in the order of its fields."""
        body = observed.body
        release = ReleaseView.of(body)
        stored: Mapping[str, Any] = body
        if chosen.record_first is not None:
            stored = self._write_status(key, stored, chosen.record_first)
        refused = self._create_jobs(chosen.create_jobs, body)
        if refused is not None:
            self.refused_jobs[key] = refused
            return Result(requeue_after=0)  # the refusal is what the next pass observes
        if not self.evaluation.carry_out(key, chosen.evaluation, body):
            return Result(requeue_after=0)  # the run's refusal, observed by the next pass
        if chosen.config_map is not None and not self._write_config_map(key, chosen, observed):
            return Result(requeue_after=0)  # what the create met is what the next pass observes
        self.fights[key] = chosen.fight  # a revert made counts, whatever follows
        if chosen.remove_stale_config_maps:
            self._remove_stale(body, release)
        for workload, patch in chosen.stamps:
            self.kube.patch_workload(workload.kind, workload.namespace, workload.name, patch)
        if chosen.status is not None:
            self._write_status(key, stored, chosen.status)
        owed = self._record(chosen.records)
        if owed:
            self.owed[key] = owed
        else:
            self.owed.pop(key, None)
        for name in chosen.delete_jobs:
            self._delete_job(release.namespace, name)
        self._tell(body, release, chosen)
        if owed:
            return Result(retry=True)  # the records still owed, after the key's backoff
        if chosen.requeue_after is not None:
            return Result(requeue_after=chosen.requeue_after)
        return Result(requeue_after=None if chosen.ready else self.retry_stalled_seconds)

    def _record(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Create the history records (one that exists is the same entry: its name holds the
        release's uid and the revision, and its data is immutable); those that failed."""
        owed = []
        for body in records:
            try:
                self.kube.create_controller_revision(body)
            except Exception as error:  # owed, whatever failed: the status holds the entry
                if is_status(error, 409):
                    continue
                meta = body["metadata"]
                log.warning(
                    "ControllerRevision %s/%s: not written: %s",
                    meta["namespace"],
                    meta["name"],
                    error,
                )
                owed.append(body)
        return owed

    def _write_config_map(self, key: Key, chosen: Decision, observed: Observed) -> bool:
        """Write the ConfigMap; False when a create found one of that name the stores don't
        know (not labelled as the operator's), which is then read for the next pass."""
        assert chosen.config_map is not None
        try:
            written = self.kube.write_config_map(chosen.config_map, observed.config_map)
        except ApiError as error:
            meta = chosen.config_map["metadata"]
            if observed.config_map is not None or not is_status(error, 409):
                raise
            found = self.kube.find_config_map(meta["namespace"], meta["name"])
            if found is None:
                raise  # gone again meanwhile: a conflict, tried again after the backoff
            self.unmanaged[key] = found
            return False
        ref = ("config_maps", key[0], str(written["metadata"]["name"]))
        self.written.wrote(ref, str(written["metadata"]["resourceVersion"]))
        return True

    def _write_status(
        self, key: Key, stored: Mapping[str, Any], status: Mapping[str, Any]
    ) -> Mapping[str, Any]:
        written = self.kube.write_status(RELEASE_PLURAL, stored, status)
        self.written.wrote(("releases", *key), str(written["metadata"]["resourceVersion"]))
        return written

    def _create_jobs(self, jobs: list[dict[str, Any]], body: Mapping[str, Any]) -> JobState | None:
        """Create the analysis Jobs asked for (one that exists already is the same run's); a
        Job the API server refuses, or its requester could not create, comes back as a failed
        analysis."""
        for job in jobs:
            denied = self._denied_to_requester(job, body)
            if denied is not None:
                return JobState.refused(str(job["metadata"]["name"]), denied)
            try:
                self.kube.create_job(job)
            except ApiError as error:
                if is_status(error, 409):
                    continue
                if is_status(error, 400, 403, 422):
                    return JobState.refused(str(job["metadata"]["name"]), api_message(error))
                raise
        return None

    def _denied_to_requester(self, job: Mapping[str, Any], body: Mapping[str, Any]) -> str | None:
        """Why the Job is not created, when whoever set the analysis steps (as the API server
        stamped them) may not create Jobs: the operator runs no pod its requester couldn't."""
        requester = identity.analysis_requester((body.get("metadata") or {}).get("annotations"))
        if requester is None:
            return None
        namespace = str(job["metadata"]["namespace"])
        allowed, reason = self.kube.may(
            requester.username, requester.groups, namespace, "create", "batch", "jobs"
        )
        if allowed:
            return None
        return (
            f"{requester} set the canary's analysis steps and may not create Jobs in "
            f"{namespace}{f' ({reason})' if reason else ''}: the operator runs an analysis "
            "Job only for someone who could create it; ask someone who may to set the steps"
        )

    def _delete_job(self, namespace: str, name: str) -> None:
        try:
            self.kube.delete_job(namespace, name)
        except ApiError as error:  # it goes with its release anyway (owner reference)
            log.warning("Job %s/%s: could not delete it: %s", namespace, name, error)

    def _remove_stale(self, body: Mapping[str, Any], release: ReleaseView) -> None:
        """Delete the ConfigMaps this release wrote under other names, each exactly as read."""
        listed = self.kube.list_config_maps(release.namespace, configmap.release_selector(release))
        for old in configmap.stale(listed, release):
            meta = old["metadata"]
            try:
                self.kube.delete_config_map(
                    release.namespace, meta["name"], meta["uid"], meta["resourceVersion"]
                )
            except ApiError as error:
                if is_status(error, 404, 409):
                    continue  # gone, or changed since: the next pass looks again
                raise
            message = (
                f"ConfigMap {meta['name']} is no longer spec.configMapName "
                f"({release.config_map_name}); deleted it"
            )
            self.events.event(body, "Normal", REMOVED, message)
            log.info("PromptRelease %s/%s: %s", release.namespace, release.name, message)

    def _tell(self, body: Mapping[str, Any], release: ReleaseView, chosen: Decision) -> None:
        """Events, metrics and a log line for what the pass did."""
        for event in chosen.events:
            self.events.event(body, event.type, event.reason, event.message)
        metrics.LIVE_RELEASES.record(release, chosen.planned_status)
        failed = [e for e in chosen.events if e.reason == evaluation_jobs.EVALUATION_FAILED]
        metrics.EVALUATIONS_FAILED.inc(len(failed))
        if any(event.reason == release_core.ROLLED_BACK_ON_FAILURE for event in chosen.events):
            cause = evaluation_jobs.EVALUATION_FAILED if failed else rollout.ROLLOUT_FAILED
            metrics.ROLLBACKS.labels(cause).inc()
        if chosen.events or chosen.config_map is not None:
            ready = conditions.ready_of(chosen.planned_status)
            log.info(
                "PromptRelease %s/%s: %s %s",
                release.namespace,
                release.name,
                ready.get("reason"),
                ready.get("message"),
            )
