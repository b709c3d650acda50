"""What happens when a release changes: one pure function from what is to what should be.

`plan()` takes the PromptRelease, the PromptVersion it names (or None) and the ConfigMap that
exists now (or None), and returns the status to write, the ConfigMap to write (None: leave it
exactly as it is) and the Events worth telling a human. A failure never produces a ConfigMap,
so production keeps serving the last good prompt.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from prompt_release.core import (
    claims,
    conditions,
    configmap,
    governance,
    history,
    payload,
    recovery,
)
from prompt_release.core.configmap import OPERATOR
from prompt_release.core.hashing import short_hash
from prompt_release.core.views import ReleaseStatusView, ReleaseView, VersionView

# Condition reasons: part of the API (see docs/api.md).
RELEASED = "Released"
VERSION_NOT_FOUND = "VersionNotFound"
PROMPT_MISMATCH = "PromptMismatch"
VERSION_INVALID = "VersionInvalid"
HASH_MISMATCH = "HashMismatch"
PAYLOAD_TOO_LARGE = "PayloadTooLarge"
CONFIGMAP_CONFLICT = "ConfigMapConflict"
PROGRESSING = "Progressing"
ROLLED_BACK_ON_FAILURE = "RolledBackOnFailure"
CONFIGMAP_RECLAIMED = "ConfigMapReclaimed"
CONFIGMAP_ADOPTED = "ConfigMapAdopted"

NORMAL, WARNING = "Normal", "Warning"


@dataclass(frozen=True)
class Event:
    type: str
    reason: str
    message: str


@dataclass(frozen=True)
class ReleasePlan:
    status: dict[str, Any]
    config_map: dict[str, Any] | None = None
    events: list[Event] = field(default_factory=list)
    stamps: list[tuple[Any, dict[str, Any]]] = field(default_factory=list)
    """(workload, merge patch): pod templates to stamp so their pods restart (Restart)."""

    @property
    def ready(self) -> bool:
        return conditions.is_ready(self.status)


class _RefusedError(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason, self.message = reason, message


def first_visit(release: ReleaseView, now: str) -> dict[str, Any]:
    """The status written before any work, so nobody reads an empty status as done."""
    status = dict(release.status.raw)
    status["observedGeneration"] = release.generation
    status["conditions"] = conditions.reconciling(
        PROGRESSING,
        "Resolving the PromptVersion",
        release.generation,
        now,
        status.get("conditions"),
    )
    return status


def resolve(release: ReleaseView, version: VersionView | None) -> str:
    """Check the version can be released here and return its content hash."""
    if version is None:
        raise _RefusedError(
            VERSION_NOT_FOUND,
            f"PromptVersion {release.target_version} not found in namespace {release.namespace}",
        )
    mismatch = version.mismatch(release.prompt)
    if mismatch:
        raise _RefusedError(PROMPT_MISMATCH, mismatch)
    if version.problems:
        raise _RefusedError(
            VERSION_INVALID,
            f"PromptVersion {version.name} is invalid: " + "; ".join(version.problems),
        )
    computed = version.content_hash
    assert computed is not None  # a spec without a hash has a problem that says so
    if release.pin and release.pin != computed and not release.held_back:
        raise _RefusedError(
            HASH_MISMATCH,
            f"spec.hash pins {release.pin}, but PromptVersion {release.version} hashes to "
            f"{computed}",
        )
    return computed


def plan(
    release: ReleaseView,
    version: VersionView | None,
    existing: Mapping[str, Any] | None,
    now: str,
    gate: governance.Gate | None = None,
    rivals: Sequence[claims.Rival] = (),
) -> ReleasePlan:
    """One pass: serve `version` (the release's target version, None when it doesn't exist).

    `gate` holds a new revision back until it is approved, when a PromptPolicy says so;
    `rivals`: the other releases claiming its ConfigMap name (`claims`)."""
    release = recovery.with_unrecorded(release, existing)
    try:
        computed = resolve(release, version)
        assert version is not None
        entry: dict[str, Any] | None = None
        if not release.status.serves(version.name, computed):
            lint_refusal = governance.refused_warnings(gate, version)
            if lint_refusal is not None:
                raise _RefusedError(governance.LINT_REFUSED, lint_refusal)
            entry = history.new_entry(
                release.status.raw,
                version=version.name,
                content_hash=computed,
                changelog=release.changelog,
                released_at=now,
                by=release.released_by,
                via=release.via,
                approved_by=governance.approved_by(gate, version.name, computed),
                attested=release.requester is not None,
            )
        return _go_live(release, version, computed, entry, existing, now, rivals)
    except _RefusedError as refused:
        return _refusal(release, now, refused)
    except governance.HeldError as held:
        return _refusal(release, now, _RefusedError(held.reason, held.message), held)


def roll_back(
    release: ReleaseView,
    previous: VersionView,
    existing: Mapping[str, Any] | None,
    now: str,
    why: str,
    rivals: Sequence[claims.Rival] = (),
) -> ReleasePlan:
    """Serve `previous` again as a new revision, because what is live failed to roll out.

    The failed revision is marked in the history, and spec.version is held back (not released
    again) until it names another version.
    """
    release = recovery.with_unrecorded(release, existing)
    old = dict(release.status.raw)
    failed_revision = release.status.revision
    old["history"] = [
        {**entry, "rolloutFailed": why} if entry.get("revision") == failed_revision else dict(entry)
        for entry in release.status.history
    ]
    old["rollout"] = {
        **release.status.rollout,
        "failedVersion": release.status.version,
        "failedHash": release.status.hash,
    }
    marked = replace(release, status=ReleaseStatusView(old))
    try:
        computed = resolve(marked, previous)
        entry = history.new_entry(
            old,
            version=previous.name,
            content_hash=computed,
            changelog=f"Automatic rollback: {why}",
            released_at=now,
            by=OPERATOR,
        )
        result = _go_live(marked, previous, computed, entry, existing, now, rivals)
    except _RefusedError as refused:
        return _refusal(marked, now, refused)
    message = (
        f"Revision {failed_revision} ({release.status.version}) failed to roll out: {why}; "
        f"revision {entry['revision']} restores revision {entry.get('restores')} "
        f"({previous.name})"
    )
    return ReleasePlan(
        status=result.status,
        config_map=result.config_map,
        events=[Event(WARNING, ROLLED_BACK_ON_FAILURE, message)],
    )


def _go_live(
    release: ReleaseView,
    version: VersionView,
    computed: str,
    entry: dict[str, Any] | None,
    existing: Mapping[str, Any] | None,
    now: str,
    rivals: Sequence[claims.Rival],
) -> ReleasePlan:
    """Serve `version`: a new revision when `entry` is given, else keep the live one in place."""
    old = dict(release.status.raw)
    name = release.config_map_name
    claimed = claims.conflict(release, rivals)
    if claimed:
        raise _RefusedError(CONFIGMAP_CONFLICT, claimed)
    reclaimed = existing is not None and not configmap.managed_by(existing, release.uid)
    adopted = reclaimed and configmap.orphaned_for(existing or {}, release)
    if reclaimed and not adopted and not claims.takes_over(release, rivals, existing or {}):
        raise _RefusedError(
            CONFIGMAP_CONFLICT,
            f"ConfigMap {name} exists and is not managed by this release; rename or delete "
            "it, or create a release of another name",
        )
    live = entry or history.live_entry(old)
    desired = _desired_config_map(release, version, computed, live)
    write = existing is None or not configmap.up_to_date(existing, desired)
    status = _live_status(release, old, version, computed, live, entry)
    message = (
        f"Revision {live['revision']}: PromptVersion {version.name} "
        f"({short_hash(computed)}) is live in ConfigMap {name}"
    )
    status["conditions"] = conditions.ready(
        RELEASED, message, release.generation, now, old.get("conditions")
    )
    events = _events(entry, message, name, int(live["revision"]), write, existing is not None)
    if adopted:
        events = [
            *(e for e in events if e.reason != "DriftReverted"),
            Event(
                NORMAL,
                CONFIGMAP_ADOPTED,
                f"ConfigMap {name} was left by a deleted release (orphaned); adopted it with "
                f"revision {live['revision']}",
            ),
        ]
    elif reclaimed:
        writer = (configmap.controller_of(existing or {}) or {}).get("name")
        events = [
            *(e for e in events if e.reason != "DriftReverted"),
            Event(
                WARNING,
                CONFIGMAP_RECLAIMED,
                f"ConfigMap {name} was written by PromptRelease {writer}, which does not hold "
                f"its name; took it over with revision {live['revision']}",
            ),
        ]
    return ReleasePlan(status=status, config_map=desired if write else None, events=events)


def _desired_config_map(
    release: ReleaseView, version: VersionView, computed: str, live: Mapping[str, Any]
) -> dict[str, Any]:
    """The ConfigMap that serves `version` as the `live` revision; refused when too large."""
    body = payload.build(
        version.spec,
        label=release.label,
        version=version.name,
        content_hash=computed,
        revision=int(live["revision"]),
        released_at=str(live["releasedAt"]),
        changelog=live.get("changelog"),
    )
    config_data = payload.data(body)
    size = configmap.size(config_data)
    if size > configmap.CONFIGMAP_LIMIT:
        raise _RefusedError(
            PAYLOAD_TOO_LARGE,
            f"the payload of PromptVersion {version.name} is {size} bytes, over the "
            f"ConfigMap limit of {configmap.CONFIGMAP_LIMIT} bytes",
        )
    return configmap.desired(release, config_data, body)


def _live_status(
    release: ReleaseView,
    old: Mapping[str, Any],
    version: VersionView,
    computed: str,
    live: Mapping[str, Any],
    entry: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The status with `version` live (conditions aside), its history kept to the limit."""
    status = dict(old)
    status.pop("approval", None)  # what spec.version asks for is live: nothing waits
    status.update(
        observedGeneration=release.generation,
        version=version.name,
        hash=computed,
        shortHash=short_hash(computed),
        revision=int(live["revision"]),
        releasedAt=str(live["releasedAt"]),
        configMap=release.config_map_name,
    )
    if entry is not None:
        status["history"] = history.prepend(old.get("history"), entry, release.history_limit)
    elif release.history_limit_override and len(old.get("history") or []) > release.history_limit:
        status["history"] = list(old["history"])[: release.history_limit]
    return status


def _events(
    entry: Mapping[str, Any] | None,
    message: str,
    config_map: str,
    revision: int,
    write: bool,
    existed: bool,
) -> list[Event]:
    """What a human wants to hear of a successful pass."""
    if entry is not None:
        if "restores" in entry:
            return [
                Event(NORMAL, "RolledBack", f"{message}, restoring revision {entry['restores']}")
            ]
        return [Event(NORMAL, RELEASED, message)]
    if write and existed:
        return [
            Event(
                WARNING,
                "DriftReverted",
                f"ConfigMap {config_map} was changed by hand; restored revision {revision}",
            )
        ]
    if write:
        return [
            Event(
                NORMAL,
                "ConfigMapRestored",
                f"ConfigMap {config_map} was missing; restored revision {revision}",
            )
        ]
    return []


def refuse(release: ReleaseView, now: str, reason: str, message: str) -> ReleasePlan:
    """A pass refused for a cause found outside `plan` (a spec part that can't run)."""
    return _refusal(release, now, _RefusedError(reason, message))


def _refusal(
    release: ReleaseView,
    now: str,
    refused: _RefusedError,
    held: governance.HeldError | None = None,
) -> ReleasePlan:
    """Ready=False with the cause; the live fields and the ConfigMap stay as they were."""
    status = dict(release.status.raw)
    status.pop("approval", None)
    status["observedGeneration"] = release.generation
    message = still_serving(release, refused.message)
    if held is None:
        status["conditions"] = conditions.stalled(
            refused.reason, message, release.generation, now, status.get("conditions")
        )
        kind = WARNING
    else:  # a new revision waits for approval, or was rejected
        status["approval"] = held.approval
        status["conditions"] = held.conditions(
            message, release.generation, now, status.get("conditions")
        )
        kind = held.event_type
    repeated = release.status.ready.get("message") == message
    events = [] if repeated else [Event(kind, refused.reason, message)]
    return ReleasePlan(status=status, events=events)


def still_serving(release: ReleaseView, message: str) -> str:
    """`message`, and what the release keeps serving while it stands."""
    if release.status.revision:
        return (
            f"{message}; still serving revision {release.status.revision} "
            f"({release.status.version})"
        )
    return f"{message}; nothing released yet"
