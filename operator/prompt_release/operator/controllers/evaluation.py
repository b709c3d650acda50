"""The release controller's hands for spec.evaluation: what a pass reads of its evaluation
Jobs and the live version's results, and the creation of a run's ConfigMap and Job.

A run's Job is created only for someone who could create it: whoever last set spec.evaluation
or asked for a run, as the admission policy stamped them (a LocalSubjectAccessReview), as for a
canary's analysis Jobs (docs/security.md).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from prompt_release.core import evaluation_jobs, identity
from prompt_release.core.canary_jobs import JOB_FAILED, JobState
from prompt_release.core.evaluation_manifests import Settings
from prompt_release.core.evaluation_schedule import DELETE, REPLACE, Action, cron_job_name
from prompt_release.core.views import ReleaseView
from prompt_release.kube import ApiError, is_status
from prompt_release.operator.controllers.shell import Shell, api_message
from prompt_release.operator.runtime.informer import Key

log = logging.getLogger("prompt_release")


class EvaluationRuns:
    def __init__(self, shell: Shell) -> None:
        self.kube = shell.kube
        self.stores = shell.stores
        # Written by the workers, read by gather: a run's creation the API server refused.
        self.refused: dict[Key, JobState] = {}

    def gather(
        self, key: Key, body: Mapping[str, Any], release: ReleaseView
    ) -> evaluation_jobs.Inputs | None:
        """The release's evaluation Jobs and the live version's results (on the loop)."""
        cron_job = self.stores.get("cron_jobs", (key[0], cron_job_name(release)))
        if Settings.of(body) is None and cron_job is None:
            return None
        jobs: dict[str, JobState] = {
            job.name: job for job in self.stores.values("evaluation_jobs_by_release", key)
        }
        refused = self.refused.get(key)
        if refused is not None and refused.name not in jobs:
            jobs[refused.name] = refused
        live = release.status.version
        found = self.stores.values("evaluations_by_version", (key[0], live)) if live else []
        return evaluation_jobs.Inputs(jobs, tuple(found), cron_job)

    def carry_out(
        self, key: Key, outcome: evaluation_jobs.Outcome, body: Mapping[str, Any]
    ) -> bool:
        """The run's objects, then the schedule's CronJob; False when the run was refused."""
        if not self._create(key, outcome.create, body):
            return False
        if outcome.schedule is not None:
            self._schedule(outcome.schedule, str(body["metadata"]["namespace"]), body)
        return True

    def _schedule(self, action: Action, namespace: str, body: Mapping[str, Any]) -> None:
        """Create, replace (guarded by its resourceVersion: a 409 retries the pass) or delete
        the CronJob; created only for a requester who may create CronJobs."""
        path = f"/apis/batch/v1/namespaces/{namespace}/cronjobs"
        if action.verb == DELETE:
            options = {"propagationPolicy": "Background"}
            try:
                self.kube.call("DELETE", f"{path}/{action.name}", options)
            except ApiError as error:
                if not is_status(error, 404):
                    raise
            return
        denied = self._denied_to_requester(namespace, body, "cronjobs")
        if denied is not None:
            log.warning("CronJob %s/%s: not written: %s", namespace, action.name, denied)
            return
        if action.verb == REPLACE:
            self.kube.call("PUT", f"{path}/{action.name}", action.body)
            return
        try:
            self.kube.call("POST", path, action.body)
        except ApiError as error:
            if not is_status(error, 409):
                raise

    def _create(
        self, key: Key, objects: Sequence[Mapping[str, Any]], body: Mapping[str, Any]
    ) -> bool:
        """Create a run's ConfigMap and Job (one that exists is the same run's); False when
        the requester may not create Jobs or the API server refused, which the next pass
        observes as the run's failure."""
        for found in objects:
            meta = found["metadata"]
            namespace, name = str(meta["namespace"]), str(meta["name"])
            if found["kind"] == "Job":
                denied = self._denied_to_requester(namespace, body, "jobs")
                if denied is not None:
                    self.refused[key] = _refused(name, denied)
                    return False
            try:
                if found["kind"] == "Job":
                    self.kube.create_job(found)
                else:
                    self.kube.call("POST", f"/api/v1/namespaces/{namespace}/configmaps", found)
            except ApiError as error:
                if is_status(error, 409):
                    continue
                if is_status(error, 400, 403, 422):
                    self.refused[key] = _refused(name, api_message(error))
                    return False
                raise
        return True

    def _denied_to_requester(
        self, namespace: str, body: Mapping[str, Any], plural: str
    ) -> str | None:
        annotations = (body.get("metadata") or {}).get("annotations")
        requester = identity.evaluation_requester(annotations)
        if requester is None:
            return None
        allowed, reason = self.kube.may(
            requester.username, requester.groups, namespace, "create", "batch", plural
        )
        if allowed:
            return None
        return (
            f"{requester} set spec.evaluation or asked for this run and may not create "
            f"{'Jobs' if plural == 'jobs' else 'CronJobs'} in "
            f"{namespace}{f' ({reason})' if reason else ''}: the operator runs an evaluation "
            "Job only for someone who could create it"
        )

    def forget(self, key: Key) -> None:
        self.refused.pop(key, None)


def _refused(name: str, why: str) -> JobState:
    return JobState(name, JOB_FAILED, f"the evaluation Job could not be created: {why}")
