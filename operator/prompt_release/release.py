"""What happens when a release changes: one pure function from what is to what should be.

`plan()` takes the PromptRelease, the PromptVersion it names (or None) and the ConfigMap that
exists now (or None), and returns the status to write, the ConfigMap to write (None: leave it
exactly as it is) and the Events worth telling a human. A failure never produces a ConfigMap,
so production keeps serving the last good prompt.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from prompt_release import conditions, history, payload
from prompt_release.hashing import content_hash, short_hash
from prompt_release.validation import problems

# Condition reasons: part of the API (see docs/api.md).
RELEASED = "Released"
VERSION_NOT_FOUND = "VersionNotFound"
PROMPT_MISMATCH = "PromptMismatch"
VERSION_INVALID = "VersionInvalid"
HASH_MISMATCH = "HashMismatch"
PAYLOAD_TOO_LARGE = "PayloadTooLarge"
CONFIGMAP_CONFLICT = "ConfigMapConflict"
PROGRESSING = "Progressing"

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

    @property
    def ready(self) -> bool:
        return conditions.is_ready(self.status)


class _RefusedError(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason, self.message = reason, message


def config_map_name(release: Mapping[str, Any]) -> str:
    return str(release["spec"].get("configMapName") or release["metadata"]["name"])


def first_visit(release: Mapping[str, Any], now: str) -> dict[str, Any]:
    """The status written before any work, so nobody reads an empty status as done."""
    generation = int(release["metadata"].get("generation") or 1)
    status = dict(release.get("status") or {})
    status["observedGeneration"] = generation
    status["conditions"] = conditions.reconciling(
        PROGRESSING, "Resolving the PromptVersion", generation, now, status.get("conditions")
    )
    return status


def _resolve(release: Mapping[str, Any], version: Mapping[str, Any] | None) -> str:
    """Check the version can be released here and return its content hash."""
    spec, namespace = release["spec"], release["metadata"]["namespace"]
    if version is None:
        raise _RefusedError(
            VERSION_NOT_FOUND, f"PromptVersion {spec['version']} not found in namespace {namespace}"
        )
    version_spec = version.get("spec") or {}
    if version_spec.get("prompt") != spec["prompt"]:
        raise _RefusedError(
            PROMPT_MISMATCH,
            f"PromptVersion {spec['version']} belongs to prompt {version_spec.get('prompt')!r}, "
            f"not {spec['prompt']!r}",
        )
    found = problems(version_spec)
    if found:
        raise _RefusedError(
            VERSION_INVALID, f"PromptVersion {spec['version']} is invalid: " + "; ".join(found)
        )
    computed = content_hash(version_spec)
    if spec.get("hash") and spec["hash"] != computed:
        raise _RefusedError(
            HASH_MISMATCH,
            f"spec.hash pins {spec['hash']}, but PromptVersion {spec['version']} hashes to "
            f"{computed}",
        )
    return computed


def plan(
    release: Mapping[str, Any],
    version: Mapping[str, Any] | None,
    existing: Mapping[str, Any] | None,
    now: str,
) -> ReleasePlan:
    spec, meta = release["spec"], release["metadata"]
    old = dict(release.get("status") or {})
    generation = int(meta.get("generation") or 1)
    name = config_map_name(release)
    try:
        computed = _resolve(release, version)
        if existing is not None and not payload.managed_by(existing, str(meta["uid"])):
            raise _RefusedError(
                CONFIGMAP_CONFLICT,
                f"ConfigMap {name} exists and is not managed by this release; rename or delete "
                "it, or set spec.configMapName",
            )
        assert version is not None
        goes_live = not history.is_live(old, spec["version"], computed)
        entry: dict[str, Any] | None = None
        if goes_live:
            entry = history.new_entry(
                old,
                version=spec["version"],
                content_hash=computed,
                changelog=spec.get("changelog"),
                released_at=now,
                by=history.released_by(meta.get("managedFields")),
            )
        live = entry or _live_entry(old)
        body = payload.build(
            version["spec"],
            label=spec["label"],
            version=spec["version"],
            content_hash=computed,
            revision=int(live["revision"]),
            released_at=str(live["releasedAt"]),
            changelog=live.get("changelog"),
        )
        config_data = payload.data(body)
        size = payload.size(config_data)
        if size > payload.CONFIGMAP_LIMIT:
            raise _RefusedError(
                PAYLOAD_TOO_LARGE,
                f"the payload of PromptVersion {spec['version']} is {size} bytes, over the "
                f"ConfigMap limit of {payload.CONFIGMAP_LIMIT} bytes",
            )
    except _RefusedError as refused:
        return _refusal(release, old, generation, now, refused)

    desired = payload.config_map(release, name, config_data, body)
    write = existing is None or not payload.up_to_date(existing, desired)
    status = dict(old)
    status.update(
        observedGeneration=generation,
        version=spec["version"],
        hash=computed,
        shortHash=short_hash(computed),
        revision=int(live["revision"]),
        releasedAt=str(live["releasedAt"]),
        configMap=name,
    )
    if entry is not None:
        status["history"] = history.prepend(old.get("history"), entry, spec.get("historyLimit"))
    elif spec.get("historyLimit") and len(old.get("history") or []) > spec["historyLimit"]:
        status["history"] = list(old["history"])[: spec["historyLimit"]]
    message = (
        f"Revision {live['revision']}: PromptVersion {spec['version']} "
        f"({short_hash(computed)}) is live in ConfigMap {name}"
    )
    status["conditions"] = conditions.ready(
        RELEASED, message, generation, now, old.get("conditions")
    )
    events = []
    if entry is not None:
        if "restores" in entry:
            events.append(
                Event(NORMAL, "RolledBack", f"{message}, restoring revision {entry['restores']}")
            )
        else:
            events.append(Event(NORMAL, RELEASED, message))
    elif write and existing is not None:
        events.append(
            Event(
                WARNING,
                "DriftReverted",
                f"ConfigMap {name} was changed by hand; restored revision {live['revision']}",
            )
        )
    elif write:
        events.append(
            Event(
                NORMAL,
                "ConfigMapRestored",
                f"ConfigMap {name} was missing; restored revision {live['revision']}",
            )
        )
    return ReleasePlan(status=status, config_map=desired if write else None, events=events)


def _live_entry(status: Mapping[str, Any]) -> dict[str, Any]:
    """The history entry of what is live now (or a stand-in built from the status)."""
    for entry in status.get("history") or ():
        if entry.get("revision") == status.get("revision"):
            return dict(entry)
    return {
        "revision": status["revision"],
        "releasedAt": status.get("releasedAt"),
        "version": status.get("version"),
        "hash": status.get("hash"),
    }


def _refusal(
    release: Mapping[str, Any],
    old: dict[str, Any],
    generation: int,
    now: str,
    refused: _RefusedError,
) -> ReleasePlan:
    """Ready=False with the cause; the live fields and the ConfigMap stay as they were."""
    status = dict(old)
    status["observedGeneration"] = generation
    if old.get("revision"):
        message = f"{refused.message}; still serving revision {old['revision']} ({old['version']})"
    else:
        message = f"{refused.message}; nothing released yet"
    status["conditions"] = conditions.stalled(
        refused.reason, message, generation, now, old.get("conditions")
    )
    repeated = conditions.ready_of(old).get("message") == message
    events = [] if repeated else [Event(WARNING, refused.reason, message)]
    return ReleasePlan(status=status, events=events)
