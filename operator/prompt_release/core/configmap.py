"""The ConfigMap a workload mounts: its keys' size, labels, annotations, owner, ownership."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from prompt_release import GROUP
from prompt_release.core.payload import PAYLOAD_KEY, Payload, PromptError, parse
from prompt_release.core.views import ReleaseView

CONFIGMAP_LIMIT = 1_048_576  # the API server's limit on a ConfigMap's data, in bytes
MANAGED_BY = "app.kubernetes.io/managed-by"
OPERATOR = "prompt-release-operator"
PROMPT_LABEL = f"{GROUP}/prompt"
LABEL_LABEL = f"{GROUP}/label"
VERSION_ANNOTATION = f"{GROUP}/version"
HASH_ANNOTATION = f"{GROUP}/hash"
REVISION_ANNOTATION = f"{GROUP}/revision"
MANAGED_SELECTOR = f"{MANAGED_BY}={OPERATOR}"
LABEL_VALUE_LIMIT = 63
"""The API server's limit on a label value (a release's name may be up to 127 characters)."""
_DIGEST_CHARS = 10


def label_value(value: str) -> str:
    """`value` as a label value: itself when it fits, else a prefix and a digest of the whole,
    so two long names never share a value and the same name always gets the same one."""
    if len(value) <= LABEL_VALUE_LIMIT:
        return value
    digest = hashlib.sha256(value.encode("utf-8")).hexdigest()[:_DIGEST_CHARS]
    prefix = value[: LABEL_VALUE_LIMIT - _DIGEST_CHARS - 1].rstrip("-_.")
    return f"{prefix}-{digest}" if prefix else digest


def size(config_data: Mapping[str, str]) -> int:
    return sum(len(value.encode("utf-8")) for value in config_data.values())


def desired(
    release: ReleaseView, config_data: Mapping[str, str], payload: Mapping[str, Any]
) -> dict[str, Any]:
    """The whole desired ConfigMap, controlled by the release. No tracking labels are copied."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": release.config_map_name,
            "namespace": release.namespace,
            "labels": {
                MANAGED_BY: OPERATOR,
                PROMPT_LABEL: label_value(str(payload["prompt"])),
                LABEL_LABEL: label_value(str(payload["label"])),
            },
            "annotations": {
                VERSION_ANNOTATION: str(payload["version"]),
                HASH_ANNOTATION: str(payload["hash"]),
                REVISION_ANNOTATION: str(payload["revision"]),
            },
            "ownerReferences": [owner_reference(release)],
        },
        "data": dict(config_data),
    }


def controller_of(existing: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The ownerReference marked controller, if any."""
    for owner in existing.get("metadata", {}).get("ownerReferences") or ():
        if owner.get("controller"):
            return owner  # type: ignore[no-any-return]
    return None


def controller_uid(existing: Mapping[str, Any]) -> str | None:
    owner = controller_of(existing)
    return None if owner is None else str(owner.get("uid"))


def managed_by(existing: Mapping[str, Any], release_uid: str) -> bool:
    """Ours to write: labelled as managed by the operator and controlled by this release."""
    labels = existing.get("metadata", {}).get("labels") or {}
    return labels.get(MANAGED_BY) == OPERATOR and controller_uid(existing) == release_uid


def orphaned_for(existing: Mapping[str, Any], release: ReleaseView) -> bool:
    """Left by a deleted release of this prompt and label, orphaned on purpose (`kubectl delete
    --cascade=orphan`, so its workloads kept serving): the operator's labels, no controller,
    the name this release writes, and a payload of this prompt and label that re-hashes to
    its hash annotation. Its re-creation adopts it; a look-alike holding anything else is
    someone's data, never overwritten."""
    meta = existing.get("metadata") or {}
    labels = meta.get("labels") or {}
    return (
        labels.get(MANAGED_BY) == OPERATOR
        and controller_of(existing) is None
        and meta.get("name") == release.config_map_name
        and labels.get(PROMPT_LABEL) == label_value(release.prompt)
        and labels.get(LABEL_LABEL) == label_value(release.label)
        and _holds_payload_of(existing, release)
    )


def _holds_payload_of(existing: Mapping[str, Any], release: ReleaseView) -> bool:
    annotations = (existing.get("metadata") or {}).get("annotations") or {}
    try:
        found: Payload = parse(str((existing.get("data") or {}).get(PAYLOAD_KEY, "")))
    except PromptError:
        return False
    return (
        found.name == release.prompt
        and found.label == release.label
        and found.hash == annotations.get(HASH_ANNOTATION)
    )


def up_to_date(existing: Mapping[str, Any], desired: Mapping[str, Any]) -> bool:
    """Does the live ConfigMap already say exactly what we would write?"""
    live_meta, want_meta = existing.get("metadata", {}), desired["metadata"]
    live_labels = live_meta.get("labels") or {}
    live_annotations = live_meta.get("annotations") or {}
    return (
        (existing.get("data") or {}) == desired["data"]
        and not existing.get("binaryData")
        and all(live_labels.get(k) == v for k, v in want_meta["labels"].items())
        and all(live_annotations.get(k) == v for k, v in want_meta["annotations"].items())
        and controller_uid(existing) == want_meta["ownerReferences"][0]["uid"]
    )


def release_selector(release: ReleaseView) -> str:
    """The label selector of every ConfigMap this release may have written, under any name."""
    prompt, label = label_value(release.prompt), label_value(release.label)
    return f"{MANAGED_SELECTOR},{PROMPT_LABEL}={prompt},{LABEL_LABEL}={label}"


def stale(
    config_maps: Iterable[Mapping[str, Any]], release: ReleaseView
) -> list[Mapping[str, Any]]:
    """ConfigMaps this release wrote under a name it no longer writes (spec.configMapName
    changed): labelled as the operator's and controlled by this very release. Never another's."""
    return [
        existing
        for existing in config_maps
        if existing.get("metadata", {}).get("name") != release.config_map_name
        and managed_by(existing, release.uid)
        and not existing.get("metadata", {}).get("deletionTimestamp")
    ]


def owner_reference(release: ReleaseView) -> dict[str, Any]:
    """The release as the controller of what it makes (its ConfigMap, its analysis Jobs), so
    garbage collection removes them with it."""
    return {
        "apiVersion": release.api_version,
        "kind": release.kind,
        "name": release.name,
        "uid": release.uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }
