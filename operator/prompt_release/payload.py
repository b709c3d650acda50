"""The ConfigMap a workload mounts: its payload, keys, labels, annotations and owner."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from prompt_release import GROUP
from prompt_release.templates import F_STRING

PAYLOAD_FORMAT = 1
PAYLOAD_KEY = "prompt.json"
TEMPLATE_KEY = "template.txt"
CONFIGMAP_LIMIT = 1_048_576  # the API server's limit on a ConfigMap's data, in bytes
MANAGED_BY = "app.kubernetes.io/managed-by"
OPERATOR = "prompt-release-operator"
PROMPT_LABEL = f"{GROUP}/prompt"
LABEL_LABEL = f"{GROUP}/label"
VERSION_ANNOTATION = f"{GROUP}/version"
HASH_ANNOTATION = f"{GROUP}/hash"
REVISION_ANNOTATION = f"{GROUP}/revision"
SPEC_FIELDS = (
    "prompt",
    "template",
    "messages",
    "templateFormat",
    "variables",
    "model",
    "description",
)


def build(
    version_spec: Mapping[str, Any],
    *,
    label: str,
    version: str,
    content_hash: str,
    revision: int,
    released_at: str,
    changelog: str | None,
) -> dict[str, Any]:
    """The release payload (prompt.json). `specFields` lets a reader re-hash the spec."""
    payload: dict[str, Any] = {
        "format": PAYLOAD_FORMAT,
        "prompt": version_spec["prompt"],
        "label": label,
        "version": version,
        "hash": content_hash,
        "revision": revision,
        "releasedAt": released_at,
        "changelog": changelog or "",
        "templateFormat": version_spec.get("templateFormat") or F_STRING,
        "variables": list(version_spec.get("variables") or []),
        "model": version_spec.get("model"),
    }
    if version_spec.get("template") is not None:
        payload["template"] = version_spec["template"]
    else:
        payload["messages"] = version_spec.get("messages") or []
    if version_spec.get("description") is not None:
        payload["description"] = version_spec["description"]
    payload["specFields"] = [key for key in SPEC_FIELDS if key in version_spec]
    return payload


def data(payload: Mapping[str, Any]) -> dict[str, str]:
    """The ConfigMap keys: prompt.json always, template.txt for text prompts."""
    keys = {PAYLOAD_KEY: json.dumps(payload, indent=2, ensure_ascii=False) + "\n"}
    if "template" in payload:
        keys[TEMPLATE_KEY] = str(payload["template"])
    return keys


def size(config_data: Mapping[str, str]) -> int:
    return sum(len(value.encode("utf-8")) for value in config_data.values())


def config_map(
    release: Mapping[str, Any],
    name: str,
    config_data: Mapping[str, str],
    payload: Mapping[str, Any],
) -> dict[str, Any]:
    """The whole desired ConfigMap, controlled by the release. No tracking labels are copied."""
    meta = release["metadata"]
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": meta["namespace"],
            "labels": {
                MANAGED_BY: OPERATOR,
                PROMPT_LABEL: str(payload["prompt"]),
                LABEL_LABEL: str(payload["label"]),
            },
            "annotations": {
                VERSION_ANNOTATION: str(payload["version"]),
                HASH_ANNOTATION: str(payload["hash"]),
                REVISION_ANNOTATION: str(payload["revision"]),
            },
            "ownerReferences": [
                {
                    "apiVersion": release["apiVersion"],
                    "kind": release["kind"],
                    "name": meta["name"],
                    "uid": meta["uid"],
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "data": dict(config_data),
    }


def controller_uid(existing: Mapping[str, Any]) -> str | None:
    for owner in existing.get("metadata", {}).get("ownerReferences") or ():
        if owner.get("controller"):
            return str(owner.get("uid"))
    return None


def managed_by(existing: Mapping[str, Any], release_uid: str) -> bool:
    """Ours to write: labelled as managed by the operator and controlled by this release."""
    labels = existing.get("metadata", {}).get("labels") or {}
    return labels.get(MANAGED_BY) == OPERATOR and controller_uid(existing) == release_uid


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
