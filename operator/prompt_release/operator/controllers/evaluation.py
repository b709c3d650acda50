"""The release controller's hands for spec.evaluation: what a pass reads of its evaluation
Jobs and the live version's results, and the creation of a run's ConfigMap and Job.

A run's Job is created only for someone who could create it: whoever last set spec.evaluation
or asked for a run, as the admission policy stamped them (a LocalSubjectAccessReview), as for a
canary's analysis Jobs (docs/security.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from prompt_release.core import evaluation_jobs, identity
from prompt_release.core.canary_jobs import JOB_FAILED, JobState
from prompt_release.core.evaluation_manifests import Settings
from prompt_release.core.views import ReleaseView
from prompt_release.kube import ApiError, is_status
from prompt_release.operator.controllers.shell import Shell, api_message
from prompt_release.operator.runtime.informer import Key


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
        if Settings.of(body) is None:
            return None
        jobs: dict[str, JobState] = {
            job.name: job for job in self.stores.values("evaluation_jobs_by_release", key)
        }
        refused = self.refused.get(key)
        if refused is not None and refused.name not in jobs:
            jobs[refused.name] = refused
        live = release.status.version
        found = self.stores.values("evaluations_by_version", (key[0], live)) if live else []
        return evaluation_jobs.Inputs(jobs=jobs, live_evaluations=tuple(found))

    def create(
        self, key: Key, objects: Sequence[Mapping[str, Any]], body: Mapping[str, Any]
    ) -> bool:
        """Create a run's ConfigMap and Job (one that exists is the same run's); False when
        the requester may not create Jobs or the API server refused, which the next pass
        observes as the run's failure."""
        for found in objects:
            meta = found["metadata"]
            namespace, name = str(meta["namespace"]), str(meta["name"])
            if found["kind"] == "Job":
                denied = self._denied_to_requester(namespace, body)
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

    def _denied_to_requester(self, namespace: str, body: Mapping[str, Any]) -> str | None:
        annotations = (body.get("metadata") or {}).get("annotations")
        requester = identity.evaluation_requester(annotations)
        if requester is None:
            return None
        allowed, reason = self.kube.may(
            requester.username, requester.groups, namespace, "create", "batch", "jobs"
        )
        if allowed:
            return None
        return (
            f"{requester} set spec.evaluation or asked for this run and may not create Jobs in "
            f"{namespace}{f' ({reason})' if reason else ''}: the operator runs an evaluation "
            "Job only for someone who could create it"
        )

    def forget(self, key: Key) -> None:
        self.refused.pop(key, None)


def _refused(name: str, why: str) -> JobState:
    return JobState(name, JOB_FAILED, f"the evaluation Job could not be created: {why}")
