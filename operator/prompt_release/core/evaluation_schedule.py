"""spec.evaluation.schedule: a CronJob, owned by the release, that evaluates what is live on a
cron schedule. Pure: the CronJob the release asks for, and what to do about the one there.

Its Jobs mount the release's own ConfigMap, its prompt.json as candidate.json (what is live at
the moment the Job starts, so the CronJob never changes with a release) and the dataset's
ConfigMap; PROMPT_EVALUATION_SUBJECT is `Live` and the evaluator reads the version and hash
from the payload. Their results are what `evaluation_live.py` judges.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from prompt_release import GROUP
from prompt_release.core import evaluation_manifests, payload
from prompt_release.core.canonical import canonical_json
from prompt_release.core.evaluation_manifests import CANDIDATE_KEY, Judged, Settings
from prompt_release.core.views import ReleaseView

SPEC_DIGEST = f"{GROUP}/spec-digest"
"""On the CronJob: the digest of what the operator wrote, to tell when it must be replaced."""
CREATE, REPLACE, DELETE = "create", "replace", "delete"
EMPTY: Mapping[str, Any] = {}


@dataclass(frozen=True)
class CronState:
    """What the shell saw of a release's CronJob."""

    name: str
    resource_version: str
    digest: str

    @classmethod
    def of(cls, body: Mapping[str, Any]) -> CronState:
        meta = body.get("metadata") or EMPTY
        return cls(
            name=str(meta.get("name") or ""),
            resource_version=str(meta.get("resourceVersion") or ""),
            digest=str((meta.get("annotations") or EMPTY).get(SPEC_DIGEST) or ""),
        )


@dataclass(frozen=True)
class Action:
    """create or replace `body`, or delete the CronJob `name`."""

    verb: str
    name: str
    body: dict[str, Any] | None = None


def cron_job_name(release: ReleaseView) -> str:
    return f"{release.name[:40].rstrip('-')}-evaluate"


def desired(release: ReleaseView, body: Mapping[str, Any]) -> dict[str, Any] | None:
    """The CronJob spec.evaluation.schedule asks for (None: no schedule)."""
    settings = Settings.of(body)
    if settings is None or not settings.schedule:
        return None
    name = cron_job_name(release)
    live = {
        "name": release.config_map_name,
        "items": [{"key": payload.PAYLOAD_KEY, "path": CANDIDATE_KEY}],
    }
    judged = Judged(evaluation_manifests.LIVE, "", "", "")
    job = evaluation_manifests.job(release, name, judged, settings, source=live)
    meta = job["metadata"]
    cron: dict[str, Any] = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {
            "name": name,
            "namespace": release.namespace,
            "labels": meta["labels"],
            "annotations": {},
            "ownerReferences": meta["ownerReferences"],
        },
        "spec": {
            "schedule": settings.schedule,
            "concurrencyPolicy": "Forbid",
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {"spec": job["spec"]},
        },
    }
    digest = hashlib.sha256(canonical_json(cron)).hexdigest()[:16]
    return {**cron, "metadata": {**cron["metadata"], "annotations": {SPEC_DIGEST: digest}}}


def plan(release: ReleaseView, body: Mapping[str, Any], found: CronState | None) -> Action | None:
    """What to do about the release's CronJob: create, replace (another digest), delete."""
    wanted = desired(release, body)
    if wanted is None:
        return None if found is None else Action(DELETE, found.name)
    if found is None:
        return Action(CREATE, wanted["metadata"]["name"], wanted)
    if found.digest != wanted["metadata"]["annotations"][SPEC_DIGEST]:
        meta = {**wanted["metadata"], "resourceVersion": found.resource_version}
        return Action(REPLACE, found.name, {**wanted, "metadata": meta})
    return None
