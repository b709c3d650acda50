"""A revision that went live in the ConfigMap but never reached the release's status.

The operator writes the ConfigMap first and the status second. Between the two, the status
write can fail: the operator is killed, or `spec.version` changes (the guarded write meets a
newer object and the pass is planned again from fresh reads). Workloads have then already read
revision N+1 of the ConfigMap; without this rule the next pass would plan N+1 again for another
version, and one revision number would have meant two prompts. So a ConfigMap of this release
that carries exactly the next revision, intact (its payload re-hashes, its annotations agree),
is recorded as that revision before planning: the history says what workloads saw.

Two more rules keep a ConfigMap at most one revision ahead of the status, so that this one
suffices: a pass that would go past an unrecorded revision records it in the status first
(`record_first`), and a ConfigMap further ahead than one revision means the status was read
stale, so the pass is planned again from fresh reads (`ahead`).
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


def record_first(
    release: ReleaseView, existing: Mapping[str, Any] | None, planned_revision: int
) -> dict[str, Any] | None:
    """The status to write *before* a ConfigMap of `planned_revision`, or None.

    When `existing` serves a revision the status hasn't recorded and the plan goes past it
    (`spec.version` changed again meanwhile), the status records that revision first. Else the
    ConfigMap would be overwritten with revision N+2 while N+1 was known only to the ConfigMap:
    should the status write fail too (two operators without peering, a kill), the next pass
    would find N+2 over a status at N, and revision N+1 would be lost and its number reused."""
    entry = unrecorded_entry(release, existing)
    if entry is None or planned_revision <= int(entry["revision"]):
        return None
    return dict(with_unrecorded(release, existing).status.raw)


def ahead(release: ReleaseView, existing: Mapping[str, Any] | None) -> int | None:
    """The revision `existing` carries when it is more than one past the release's status (the
    status was read before a newer one was recorded and the ConfigMap written again): plan
    again from fresh reads rather than reuse a number the ConfigMap has already served."""
    if existing is None or not configmap.managed_by(existing, release.uid):
        return None
    annotations = existing.get("metadata", {}).get("annotations") or {}
    claimed = annotations.get(configmap.REVISION_ANNOTATION)
    if not (isinstance(claimed, str) and claimed.isdigit()):
        return None
    if int(claimed) <= release.status.revision + 1:
        return None  # the usual case, known without parsing (and re-hashing) the payload
    try:
        served: payload.Payload = payload.parse(
            (existing.get("data") or {}).get(payload.PAYLOAD_KEY, "")
        )
    except payload.PayloadError:
        return None  # not intact: a hand edit, which the plan puts back
    if claimed != str(served.revision) or (
        served.name,
        served.label,
    ) != (release.prompt, release.label):
        return None
    return served.revision if served.revision > release.status.revision + 1 else None
