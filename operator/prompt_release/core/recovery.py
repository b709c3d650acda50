"""A revision that went live in the ConfigMap but never reached the release's status.

The operator writes the ConfigMap first and the status second. Between the two, the status
write can fail: the operator is killed, or `spec.version` changes (the guarded write meets a
newer object and the pass is planned again from fresh reads). Workloads have then already read
revision N+1 of the ConfigMap; without this rule the next pass would plan N+1 again for another
version, and one revision number would have meant two prompts. So a ConfigMap of this release
that carries exactly the next revision, intact (its payload re-hashes, its annotations agree),
is recorded as that revision before planning: the history says what workloads saw.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from prompt_release.core import configmap, history, payload
from prompt_release.core.hashing import short_hash
from prompt_release.core.views import ReleaseStatusView, ReleaseView


def unrecorded_entry(
    release: ReleaseView, existing: Mapping[str, Any] | None
) -> dict[str, Any] | None:
    """The history entry of the revision `existing` serves, when it is the next one and the
    status doesn't know it yet; None otherwise."""
    if existing is None or not configmap.managed_by(existing, release.uid):
        return None
    annotations = existing.get("metadata", {}).get("annotations") or {}
    revision = annotations.get(configmap.REVISION_ANNOTATION)
    if revision != str(release.status.revision + 1):
        return None
    try:
        served: payload.Payload = payload.parse(
            (existing.get("data") or {}).get(payload.PAYLOAD_KEY, "")
        )
    except payload.PayloadError:
        return None  # not intact: a hand edit, which the plan puts back
    if (
        served.revision != release.status.revision + 1
        or (served.name, served.label) != (release.prompt, release.label)
        or annotations.get(configmap.VERSION_ANNOTATION) != served.version
        or annotations.get(configmap.HASH_ANNOTATION) != served.hash
    ):
        return None
    entry = history.new_entry(
        release.status.raw,
        version=served.version,
        content_hash=served.hash,
        changelog=served.changelog or None,
        released_at=served.released_at,
        by=None,
    )
    return entry if entry["revision"] == served.revision else None


def with_unrecorded(release: ReleaseView, existing: Mapping[str, Any] | None) -> ReleaseView:
    """The release as if its status had recorded the revision its ConfigMap already serves."""
    entry = unrecorded_entry(release, existing)
    if entry is None:
        return release
    status = dict(release.status.raw)
    status.update(
        version=entry["version"],
        hash=entry["hash"],
        revision=entry["revision"],
        shortHash=short_hash(str(entry["hash"])),
        releasedAt=entry["releasedAt"],
        configMap=release.config_map_name,
        history=history.prepend(status.get("history"), entry, release.history_limit),
    )
    return replace(release, status=ReleaseStatusView(status))
