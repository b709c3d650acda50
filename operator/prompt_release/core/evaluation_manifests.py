"""The objects of one evaluation run: a ConfigMap holding what is judged (the candidate's
payload, the live version's, inline cases) and the evaluator Job that mounts it.

The evaluator contract (docs/evaluation.md): the payloads are at MOUNT_PATH, a dataset
ConfigMap at DATASET_PATH, and the PROMPT_* variables name both hashes and the thresholds.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from prompt_release import GROUP
from prompt_release.core import configmap, payload
from prompt_release.core.canary_jobs import RELEASE_LABEL
from prompt_release.core.canary_spec import parse_duration
from prompt_release.core.evaluation import DEFAULT_DATASET_KEY, dataset_hash
from prompt_release.core.views import ReleaseView

EMPTY: Mapping[str, Any] = {}
CANDIDATE, LIVE = "Candidate", "Live"
EVALUATION_LABEL = f"{GROUP}/evaluation"
"""On a run's Job and ConfigMap: `Candidate` or `Live` (what it judges)."""
BASELINE_ANNOTATION = f"{GROUP}/baseline-hash"
MOUNT_PATH = "/etc/prompt-evaluation"
DATASET_PATH = "/etc/prompt-dataset"
VOLUME, DATASET_VOLUME = "prompt-evaluation", "prompt-dataset"
CANDIDATE_KEY, BASELINE_KEY, CASES_KEY = "candidate.json", "baseline.json", "cases.json"
DEFAULT_DEADLINE = 600.0
"""activeDeadlineSeconds of an evaluation Job whose template and spec say nothing."""


@dataclass(frozen=True)
class Settings:
    """spec.evaluation as the rules read it."""

    job_template: Mapping[str, Any]
    service_account: str | None
    dataset: Mapping[str, Any]
    min_score: float | None
    max_regression: float | None
    deadline: float
    schedule: str | None
    rollback_on_failure: bool

    @classmethod
    def of(cls, body: Mapping[str, Any]) -> Settings | None:
        raw = (body.get("spec") or EMPTY).get("evaluation")
        if not isinstance(raw, Mapping) or not isinstance(raw.get("jobTemplate"), Mapping):
            return None

        def number(key: str) -> float | None:
            value = raw.get(key)
            return None if value is None else float(value)

        return cls(
            job_template=raw["jobTemplate"],
            service_account=raw.get("serviceAccountName") or None,
            dataset=raw.get("dataset") or EMPTY,
            min_score=number("minScore"),
            max_regression=number("maxRegression"),
            deadline=parse_duration(raw.get("deadline") or "") or DEFAULT_DEADLINE,
            schedule=raw.get("schedule") or None,
            rollback_on_failure=bool(raw.get("rollbackOnFailure")),
        )

    @property
    def dataset_name(self) -> str:
        return str(self.dataset.get("name") or self.dataset.get("configMap") or "")

    @property
    def dataset_hash(self) -> str | None:
        """The cases' hash: the pinned one, else computed from inline cases, else unknown."""
        pinned = self.dataset.get("hash")
        if pinned:
            return str(pinned)
        cases = self.dataset.get("cases")
        return dataset_hash(cases) if isinstance(cases, list) else None

    @property
    def dataset_file(self) -> str | None:
        if isinstance(self.dataset.get("cases"), list):
            return f"{MOUNT_PATH}/{CASES_KEY}"
        if self.dataset.get("configMap"):
            return f"{DATASET_PATH}/{self.dataset.get('key') or DEFAULT_DATASET_KEY}"
        return None


@dataclass(frozen=True)
class Judged:
    """What one run judges: a version's payload and, for a paired run, the live one's."""

    kind: str
    """`Candidate` or `Live`."""
    version: str
    hash: str
    payload: str
    """prompt.json of what is judged."""
    baseline_version: str | None = None
    baseline_hash: str | None = None
    baseline_payload: str | None = None


def job_name(release: ReleaseView, judged: Judged, run: str) -> str:
    """One run's Job (and ConfigMap) name: the same for the same release, content, baseline
    and `kubectl prompt eval run` request, so a restarted operator never starts a second."""
    seed = f"{release.uid}:{judged.kind}:{judged.hash}:{judged.baseline_hash}:{run}"
    digest = hashlib.sha256(seed.encode()).hexdigest()[:10]
    return f"{release.name[:40].rstrip('-')}-eval-{digest}"


def candidate_payload(
    spec: Mapping[str, Any], release: ReleaseView, name: str, content_hash: str, now: str
) -> str:
    """The candidate's prompt.json as this release would serve it (revision 0: not live)."""
    built = payload.build(
        spec,
        label=release.label,
        version=name,
        content_hash=content_hash,
        revision=0,
        released_at=now,
        changelog=None,
    )
    return payload.data(built)[payload.PAYLOAD_KEY]


def _meta(release: ReleaseView, name: str, judged: Judged) -> dict[str, Any]:
    pairs = (
        (configmap.VERSION_ANNOTATION, judged.version),
        (configmap.HASH_ANNOTATION, judged.hash),
        (BASELINE_ANNOTATION, judged.baseline_hash),
    )
    annotations = {key: value for key, value in pairs if value}
    return {
        "name": name,
        "namespace": release.namespace,
        "labels": {
            configmap.MANAGED_BY: configmap.OPERATOR,
            RELEASE_LABEL: configmap.label_value(release.name),
            EVALUATION_LABEL: judged.kind,
        },
        "annotations": annotations,
        "ownerReferences": [configmap.owner_reference(release)],
    }


def config_map(
    release: ReleaseView, name: str, judged: Judged, settings: Settings
) -> dict[str, Any]:
    """What the run judges, frozen for its whole life (the live ConfigMap may move on)."""
    data = {CANDIDATE_KEY: judged.payload}
    if judged.baseline_payload is not None:
        data[BASELINE_KEY] = judged.baseline_payload
    cases = settings.dataset.get("cases")
    if isinstance(cases, list):
        data[CASES_KEY] = "".join(json.dumps(case) + "\n" for case in cases)
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta(release, name, judged),
        "data": data,
    }


def _environment(release: ReleaseView, judged: Judged, settings: Settings) -> list[dict[str, str]]:
    found = {
        "PROMPT_RELEASE": release.name,
        "PROMPT_EVALUATION_DIR": MOUNT_PATH,
        "PROMPT_EVALUATION_SUBJECT": judged.kind,
        "PROMPT_CANDIDATE_VERSION": judged.version,
        "PROMPT_CANDIDATE_HASH": judged.hash,
        "PROMPT_CANDIDATE_FILE": f"{MOUNT_PATH}/{CANDIDATE_KEY}",
        "PROMPT_BASELINE_VERSION": judged.baseline_version,
        "PROMPT_BASELINE_HASH": judged.baseline_hash,
        "PROMPT_BASELINE_FILE": None
        if judged.baseline_payload is None
        else f"{MOUNT_PATH}/{BASELINE_KEY}",
        "PROMPT_DATASET_NAME": settings.dataset_name or None,
        "PROMPT_DATASET_HASH": settings.dataset_hash,
        "PROMPT_DATASET_FILE": settings.dataset_file,
        "PROMPT_MIN_SCORE": None if settings.min_score is None else f"{settings.min_score:g}",
        "PROMPT_MAX_REGRESSION": None
        if settings.max_regression is None
        else f"{settings.max_regression:g}",
    }
    return [{"name": key, "value": value} for key, value in found.items() if value]


def job(
    release: ReleaseView,
    name: str,
    judged: Judged,
    settings: Settings,
    source: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The user's template with the run's ConfigMap (or `source`, a ConfigMap volume source)
    and the dataset's mounted and the PROMPT_* variables in every container; a deadline, no
    retries and the ServiceAccount of spec.evaluation unless the template says otherwise."""
    template = json.loads(json.dumps(settings.job_template))  # a deep copy
    meta = template.get("metadata") or {}
    spec = dict(template.get("spec") or {})
    spec.setdefault("activeDeadlineSeconds", int(settings.deadline))
    spec.setdefault("backoffLimit", 0)
    pod = dict(spec.get("template") or {})
    pod_spec = dict(pod.get("spec") or {})
    pod_spec.setdefault("restartPolicy", "Never")
    if settings.service_account:
        pod_spec.setdefault("serviceAccountName", settings.service_account)
    mounts = [{"name": VOLUME, "mountPath": MOUNT_PATH, "readOnly": True}]
    volumes = [{"name": VOLUME, "configMap": dict(source or {"name": name})}]
    if settings.dataset.get("configMap") and not isinstance(settings.dataset.get("cases"), list):
        mounts.append({"name": DATASET_VOLUME, "mountPath": DATASET_PATH, "readOnly": True})
        volumes.append(
            {"name": DATASET_VOLUME, "configMap": {"name": str(settings.dataset["configMap"])}}
        )
    ours = {v["name"] for v in volumes}
    pod_spec["volumes"] = [
        *(v for v in pod_spec.get("volumes") or () if v.get("name") not in ours),
        *volumes,
    ]
    env = _environment(release, judged, settings)
    for kind in ("initContainers", "containers"):
        if kind in pod_spec:
            pod_spec[kind] = [_mounted(c, env, mounts) for c in pod_spec[kind] or ()]
    pod["spec"] = pod_spec
    spec["template"] = pod
    own = _meta(release, name, judged)
    own["labels"] = {**(meta.get("labels") or {}), **own["labels"]}
    own["annotations"] = {**(meta.get("annotations") or {}), **own["annotations"]}
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": own, "spec": spec}


def _mounted(
    container: Mapping[str, Any], env: list[dict[str, str]], mounts: list[dict[str, Any]]
) -> dict[str, Any]:
    found = dict(container)
    names = {e["name"] for e in env}
    found["env"] = [e for e in found.get("env") or () if e.get("name") not in names] + env
    ours = {m["name"] for m in mounts}
    kept = [m for m in found.get("volumeMounts") or () if m.get("name") not in ours]
    found["volumeMounts"] = kept + mounts
    return found
