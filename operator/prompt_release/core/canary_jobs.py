"""An analysis step's Job: its name, its manifest, and what the shell saw of it.

The Job reads the candidate the way a workload would: from canary.json in the release's
ConfigMap, mounted at MOUNT_PATH, with the candidate's version and hash in its environment.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from prompt_release import GROUP
from prompt_release.core import configmap
from prompt_release.core.canary_spec import Step
from prompt_release.core.views import ReleaseView

JOB_COMPLETE, JOB_FAILED, JOB_RUNNING = "Complete", "Failed", "Running"

MOUNT_PATH = "/etc/prompt-canary"
VOLUME = "prompt-canary"
ENV_VERSION, ENV_HASH, ENV_DIR = "PROMPT_CANARY_VERSION", "PROMPT_CANARY_HASH", "PROMPT_CANARY_DIR"
RELEASE_LABEL = f"{GROUP}/release"
"""The release's name, as a label value (`configmap.label_value`: a digest past 63 characters);
the operator finds a Job's release by its ownerReference, never by this value."""
STEP_LABEL = f"{GROUP}/canary-step"


@dataclass(frozen=True)
class JobState:
    """What the shell saw of an analysis Job."""

    name: str
    phase: str
    message: str = ""

    @classmethod
    def of(cls, job: Mapping[str, Any]) -> JobState:
        name = str((job.get("metadata") or {}).get("name", ""))
        for found in (job.get("status") or {}).get("conditions") or ():
            if found.get("status") != "True":
                continue
            if found.get("type") == "Complete":
                return cls(name, JOB_COMPLETE)
            if found.get("type") == "Failed":
                why = ": ".join(str(x) for x in (found.get("reason"), found.get("message")) if x)
                return cls(name, JOB_FAILED, why)
        return cls(name, JOB_RUNNING)

    @classmethod
    def refused(cls, name: str, why: str) -> JobState:
        """A Job the API server would not create: the analysis fails with this."""
        return cls(name, JOB_FAILED, f"the analysis Job could not be created: {why}")


def job_name(release: ReleaseView, state: Mapping[str, Any], index: int) -> str:
    """The analysis Job of one step of one canary run: the same after a restart, another for
    another run (its start time and its spec's digest are in the name's digest: a run restarted
    within the same second by a new spec.canary gets a Job of its own)."""
    seed = (
        f"{release.uid}:{state.get('hash')}:{state.get('startedAt')}:"
        f"{state.get('specDigest')}:{index}"
    )
    digest = hashlib.sha256(seed.encode()).hexdigest()[:8]
    return f"{release.name[:44].rstrip('-')}-a{index}-{digest}"


def analysis_job(
    release: ReleaseView, step: Step, name: str, version: str, content_hash: str
) -> dict[str, Any]:
    """The Job of an analysis step: the user's template, with the release's ConfigMap (and so
    canary.json) mounted at MOUNT_PATH and the candidate's version and hash in the env."""
    template = json.loads(json.dumps(step.job_template or {}))  # a deep copy
    meta = template.get("metadata") or {}
    spec = dict(template.get("spec") or {})
    pod = dict(spec.get("template") or {})
    pod["spec"] = _pod_spec(release, pod.get("spec") or {}, version, content_hash)
    spec["template"] = pod
    labels = {
        **(meta.get("labels") or {}),
        configmap.MANAGED_BY: configmap.OPERATOR,
        configmap.PROMPT_LABEL: configmap.label_value(release.prompt),
        configmap.LABEL_LABEL: configmap.label_value(release.label),
        RELEASE_LABEL: configmap.label_value(release.name),
        STEP_LABEL: str(step.index),
    }
    annotations = {
        **(meta.get("annotations") or {}),
        configmap.VERSION_ANNOTATION: version,
        configmap.HASH_ANNOTATION: content_hash,
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": release.namespace,
            "labels": labels,
            "annotations": annotations,
            "ownerReferences": [configmap.owner_reference(release)],
        },
        "spec": spec,
    }


def _pod_spec(
    release: ReleaseView, template: Mapping[str, Any], version: str, content_hash: str
) -> dict[str, Any]:
    """The template's pod spec with our volume, and our env and mount in every container."""
    pod_spec = dict(template)
    volumes = [v for v in pod_spec.get("volumes") or () if v.get("name") != VOLUME]
    volumes.append({"name": VOLUME, "configMap": {"name": release.config_map_name}})
    pod_spec["volumes"] = volumes
    env = [
        {"name": ENV_VERSION, "value": version},
        {"name": ENV_HASH, "value": content_hash},
        {"name": ENV_DIR, "value": MOUNT_PATH},
    ]
    for kind in ("initContainers", "containers"):
        if kind in pod_spec:
            pod_spec[kind] = [_mounted(container, env) for container in pod_spec[kind] or ()]
    return pod_spec


def _mounted(container: Mapping[str, Any], env: list[dict[str, str]]) -> dict[str, Any]:
    """A container with our env (replacing any of the same names) and the ConfigMap mounted."""
    found = dict(container)
    ours = {e["name"] for e in env}
    found["env"] = [e for e in found.get("env") or () if e.get("name") not in ours]
    found["env"] += env
    mounts = [m for m in found.get("volumeMounts") or () if m.get("name") != VOLUME]
    mounts.append({"name": VOLUME, "mountPath": MOUNT_PATH, "readOnly": True})
    found["volumeMounts"] = mounts
    return found
