"""A release's canary, in the shell: the reads and writes around `core/canary_plan.py`.

`Releases._pass` plans the stable part first (on the ConfigMap without canary.json), then
`Canaries.plan` adds the canary's part. The analysis Jobs it asks for are created before the
status is written (a Job the API server refuses fails the analysis, re-planned at once); the
Jobs of an ended canary are deleted after it. A Job's events wake its release (`job_event`),
and a running Job is looked at again every `POLL_SECONDS` as well, in case a watch event is
missed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from prompt_release import VERSION_PLURAL
from prompt_release.core import canary_plan
from prompt_release.core.canary_plan import CanaryPlan, CanarySpec, JobState
from prompt_release.core.governance import Gate
from prompt_release.core.release import ReleasePlan
from prompt_release.core.views import ReleaseView, VersionView
from prompt_release.kube import ApiError, Kube, is_status

log = logging.getLogger("prompt_release")

JOBS = ("batch", "v1", "jobs")
POLL_SECONDS = 5.0
"""A running analysis Job is looked at this often even without a watch event."""
WAKE_MARGIN = 0.5
"""Seconds added to a pause's end before the release is looked at again."""


def release_of_job(body: Mapping[str, Any]) -> str | None:
    """The PromptRelease that owns an analysis Job (its controller), if any."""
    for owner in (body.get("metadata") or {}).get("ownerReferences") or ():
        if owner.get("controller") and owner.get("kind") == "PromptRelease":
            return str(owner["name"])
    return None


def _api_message(error: BaseException) -> str:
    """The API server's own words for a refusal."""
    body = getattr(error, "body", None)
    try:
        found = json.loads(body) if isinstance(body, (str, bytes)) else None
    except ValueError:
        found = None
    if isinstance(found, dict) and found.get("message"):
        return str(found["message"])
    return str(getattr(error, "reason", None) or error)


class Canaries:
    def __init__(self, kube: Kube) -> None:
        self.kube = kube

    def plan(
        self,
        body: Mapping[str, Any],
        release: ReleaseView,
        stable: ReleasePlan,
        existing: Mapping[str, Any] | None,
        now: str,
        job: JobState | None = None,
        gate: Gate | None = None,
    ) -> CanaryPlan:
        """The stable plan with the canary's part added, from fresh reads of the candidate
        and of the running analysis Job (`job` overrides the read: a refused creation); `gate`
        is the release's governance (the candidate passes the two-person rule too)."""
        spec = CanarySpec.of(body)
        candidate = None if spec is None else self._version(release.namespace, spec.version)
        if job is None:
            job = self._job(release, spec)
        return canary_plan.plan(release, body, stable, existing, candidate, job, now, gate)

    def create_jobs(self, result: CanaryPlan) -> JobState | None:
        """Create the analysis Jobs the plan asks for (one that exists already is the same
        run's). A Job the API server refuses comes back as a failed analysis."""
        for job in result.create_jobs:
            name = str(job["metadata"]["name"])
            try:
                self.kube.create_job(job)
            except ApiError as error:
                if is_status(error, 409):
                    continue
                if is_status(error, 400, 403, 422):
                    return JobState.refused(name, _api_message(error))
                raise
        return None

    def delete_jobs(self, namespace: str, result: CanaryPlan) -> None:
        for name in result.delete_jobs:
            try:
                self.kube.delete_job(namespace, name)
            except ApiError as error:  # it goes with its release anyway (owner reference)
                log.warning("Job %s/%s: could not delete it: %s", namespace, name, error)

    def _version(self, namespace: str, name: str) -> VersionView | None:
        found = self.kube.find(VERSION_PLURAL, namespace, name) if name else None
        return None if found is None else VersionView.of(found)

    def _job(self, release: ReleaseView, spec: CanarySpec | None) -> JobState | None:
        """The analysis Job of the current step, if it exists: the one the status names, else
        the one this step's run would create (created before a status write that failed)."""
        state: Mapping[str, Any] = release.status.raw.get("canary") or {}
        name = state.get("analysisJob")
        if not name and spec is not None and state.get("phase") == canary_plan.PROGRESSING:
            index = int(state.get("step") or 0)
            if index < len(spec.steps) and spec.steps[index].type == canary_plan.ANALYSIS:
                name = canary_plan.job_name(release, state, index)
        if not name:
            return None
        found = self.kube.find_job(release.namespace, str(name))
        return None if found is None else JobState.of(found)
