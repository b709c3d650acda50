"""A transition as an event of Flux's event API (`event.toolkit.fluxcd.io/v1beta1` `Event`),
for a sink of `format: flux`: Flux's notification-controller receives it on its event address
and its Alerts and Providers (Slack, Teams, GitHub, generic webhooks, …) deliver it.

Flux's Alerts select only Flux kinds (Kustomization, HelmRelease, …), so the event's
`involvedObject` is the Flux object that applied the release, read from the labels Flux stamps
on what it applies; a release no Flux object applied is its own involved object, which no
Alert selects. What identifies the release travels in the metadata, under the event API's group,
which the notification-controller keeps and hands to every Provider.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prompt_release import API_VERSION
from prompt_release.core.notify import (
    ANALYSIS_FAILED,
    CANARY_ABORTED,
    ROLLED_BACK_ON_FAILURE,
    Subject,
    Transition,
)

CONTENT_TYPE = "application/json"
REPORTING_CONTROLLER = "prompt-release-operator"
METADATA_GROUP = "event.toolkit.fluxcd.io"
APPLIERS = (
    ("kustomize.toolkit.fluxcd.io", "kustomize.toolkit.fluxcd.io/v1", "Kustomization"),
    ("helm.toolkit.fluxcd.io", "helm.toolkit.fluxcd.io/v2", "HelmRelease"),
)
"""The label group Flux stamps on what an object applied (`<group>/name`, `<group>/namespace`),
that object's API version and kind."""
ERRORS = frozenset({ROLLED_BACK_ON_FAILURE, CANARY_ABORTED, ANALYSIS_FAILED})


def involved_object(subject: Subject, labels: Mapping[str, str] | None) -> dict[str, str]:
    """The Flux object that applied the release, or the release itself."""
    for group, api_version, kind in APPLIERS:
        name = (labels or {}).get(f"{group}/name")
        namespace = (labels or {}).get(f"{group}/namespace")
        if name and namespace:
            return {"apiVersion": api_version, "kind": kind, "namespace": namespace, "name": name}
    return {
        "apiVersion": API_VERSION,
        "kind": "PromptRelease",
        "namespace": subject.namespace,
        "name": subject.name,
        "uid": subject.uid,
    }


def message(subject: Subject, transition: Transition) -> str:
    """One line a person reads in Slack: what happened to which release, and to what."""
    data = transition.data
    what = f"PromptRelease {subject.namespace}/{subject.name}: {transition.reason}"
    if transition.revision is not None and "revision" in transition.key:
        what += f" revision {transition.revision}"
    version, hash_ = data.get("version"), data.get("hash") or data.get("candidateHash")
    if version or data.get("candidate"):
        what += f": {version or data.get('candidate')}"
        if hash_:
            what += f" ({str(hash_)[:19]})"
    detail = data.get("changelog") or data.get("message")
    return f"{what}. {detail}" if detail else what


def flux_event(
    subject: Subject, transition: Transition, sent: str, labels: Mapping[str, str] | None
) -> dict[str, Any]:
    """The event, as Flux's `eventv1beta1.Event` JSON."""
    data = transition.data
    metadata = {
        "promptrelease": f"{subject.namespace}/{subject.name}",
        "prompt": subject.prompt,
        "label": subject.label,
        "id": transition.id(subject.uid),
    }
    if transition.revision is not None:
        metadata["promptrevision"] = str(transition.revision)
    for key in ("version", "hash", "releasedBy"):
        if data.get(key):
            metadata[key] = str(data[key])
    return {
        "involvedObject": involved_object(subject, labels),
        "severity": "error" if transition.reason in ERRORS else "info",
        "timestamp": transition.time or sent,
        "message": message(subject, transition),
        "reason": transition.reason,
        "metadata": {f"{METADATA_GROUP}/{key}": value for key, value in metadata.items()},
        "reportingController": REPORTING_CONTROLLER,
    }
