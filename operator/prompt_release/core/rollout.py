"""Where the live revision stands in the workloads that use it, and what that makes of Ready.

`assess()` looks at every consumer of the release's ConfigMap (`core.workloads`) and says which
pod templates to stamp (strategy Restart), how far each workload has rolled out, and the
release's conditions: `Ready` only when the ConfigMap is live *and* every Restart consumer
finished, so `kubectl wait`, kstatus and Argo CD sync waves wait for the pods too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from prompt_release.core import conditions
from prompt_release.core.release import NORMAL, ROLLED_BACK_ON_FAILURE, WARNING, Event
from prompt_release.core.views import ReleaseView
from prompt_release.core.workloads import ENV, ENV_FROM, SUB_PATH, Workload, hot_reloads

HOT_RELOAD, RESTART = "HotReload", "Restart"
PROGRESSING, COMPLETE, FAILED = "Progressing", "Complete", "Failed"
ROLLED_OUT = "RolledOut"
# Condition reasons (see docs/api.md).
ROLLING_OUT = "RollingOut"
ROLLOUT_FAILED = "RolloutFailed"


@dataclass(frozen=True)
class Assessment:
    """The rollout part of one release pass."""

    rollout: dict[str, Any]
    stamps: list[Workload] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    @property
    def phase(self) -> str:
        return str(self.rollout["phase"])

    @property
    def failed_workloads(self) -> list[str]:
        return [
            f"{w['kind']} {w['name']}"
            for w in self.rollout.get("workloads") or ()
            if w["state"] == FAILED
        ]


def strategy_of(release: ReleaseView, workload: Workload) -> str:
    """Restart when the release asks for it or the workload opted in on its own."""
    return RESTART if release.rollout_strategy == RESTART or workload.opted_in else HOT_RELOAD


def _cannot_hot_reload(uses: set[str]) -> str:
    how = sorted(uses & {ENV, ENV_FROM, SUB_PATH})
    return (
        f"reads the prompt through {', '.join(how)}: it keeps the old prompt until its pods "
        "restart (set spec.rollout.strategy: Restart, or annotate the workload "
        'promptrelease.io/restart-on-release: "true")'
    )


def _one(
    release: ReleaseView, workload: Workload, revision: int, content_hash: str
) -> tuple[dict[str, Any], bool]:
    """One workload's entry in status.rollout, and whether its pod template needs stamping."""
    uses = workload.uses_of(release.config_map_name)
    strategy = strategy_of(release, workload)
    entry: dict[str, Any] = {
        "kind": workload.kind,
        "name": workload.name,
        "strategy": strategy,
        "uses": sorted(uses),
        "desired": workload.desired,
        "updated": workload.updated,
        "ready": workload.ready,
        "available": workload.available,
    }
    if strategy == HOT_RELOAD:
        entry["state"] = COMPLETE
        if not hot_reloads(uses):
            entry["message"] = _cannot_hot_reload(uses)
        return entry, False
    stamped_revision, stamped_hash = workload.stamped(release.name)
    entry["revision"] = stamped_revision
    if (stamped_revision, stamped_hash) != (revision, content_hash):
        entry["state"] = PROGRESSING
        entry["message"] = f"restarting its pods onto revision {revision}"
        entry["revision"] = revision
        return entry, True
    current = workload.observed_generation >= workload.generation
    if current and workload.deadline_exceeded:
        entry["state"] = FAILED
        entry["message"] = (
            f"exceeded its progress deadline: {workload.available}/{workload.desired} "
            f"available on revision {revision}"
        )
    elif workload.settled:
        entry["state"] = COMPLETE
    else:
        entry["state"] = PROGRESSING
        entry["message"] = (
            f"{workload.updated}/{workload.desired} updated, "
            f"{workload.available}/{workload.desired} available"
        )
    return entry, False


def assess(
    release: ReleaseView, revision: int, content_hash: str, workloads: Iterable[Workload]
) -> Assessment:
    """The rollout of `revision` across `workloads` (those using the release's ConfigMap)."""
    entries: list[dict[str, Any]] = []
    stamps: list[Workload] = []
    for workload in sorted(workloads, key=lambda w: (w.kind, w.name)):
        entry, stamp = _one(release, workload, revision, content_hash)
        entries.append(entry)
        if stamp:
            stamps.append(workload)
    states = {entry["state"] for entry in entries}
    phase = FAILED if FAILED in states else PROGRESSING if PROGRESSING in states else COMPLETE
    rollout: dict[str, Any] = {"revision": revision, "phase": phase, "workloads": entries}
    old = release.status.rollout
    for key in ("failedVersion", "failedHash"):
        if old.get(key) and release.held_back:
            rollout[key] = old[key]
    rollout["message"] = _summary(phase, revision, entries)
    return Assessment(rollout=rollout, stamps=stamps, events=_events(release, rollout, entries))


def _summary(phase: str, revision: int, entries: list[dict[str, Any]]) -> str:
    restarts = [e for e in entries if e["strategy"] == RESTART]
    if not entries:
        return f"revision {revision}: no workload uses the ConfigMap"
    if phase == FAILED:
        failed = ", ".join(
            f"{e['kind']} {e['name']} {e['message']}" for e in entries if e["state"] == FAILED
        )
        return f"revision {revision} failed to roll out: {failed}"
    if phase == PROGRESSING:
        waiting = [e for e in restarts if e["state"] == PROGRESSING]
        return f"revision {revision}: waiting for " + ", ".join(
            f"{e['kind']} {e['name']} ({e.get('message', '')})" for e in waiting
        )
    return (
        f"revision {revision} is served by {len(entries)} workload(s): "
        f"{len(restarts)} restarted, {len(entries) - len(restarts)} hot-reloading"
    )


def _events(
    release: ReleaseView, rollout: Mapping[str, Any], entries: list[dict[str, Any]]
) -> list[Event]:
    """Said once per change: a finished or failed rollout, a consumer that can't hot-reload."""
    old = release.status.rollout
    events: list[Event] = []
    changed = (old.get("revision"), old.get("phase")) != (rollout["revision"], rollout["phase"])
    if changed and rollout["phase"] == FAILED:
        events.append(Event(WARNING, ROLLOUT_FAILED, str(rollout["message"])))
    elif (
        changed and rollout["phase"] == COMPLETE and any(e["strategy"] == RESTART for e in entries)
    ):
        events.append(Event(NORMAL, ROLLED_OUT, str(rollout["message"])))
    before = {(w.get("kind"), w.get("name"), w.get("message")) for w in old.get("workloads") or ()}
    for entry in entries:
        said = (entry["kind"], entry["name"], entry.get("message"))
        if entry["strategy"] == HOT_RELOAD and entry.get("message") and said not in before:
            events.append(
                Event(
                    WARNING,
                    "CannotHotReload",
                    f"{entry['kind']} {entry['name']} {entry['message']}",
                )
            )
    return events


def conditions_for(
    release: ReleaseView, status: Mapping[str, Any], assessment: Assessment, now: str
) -> list[dict[str, Any]]:
    """Ready, Reconciling, Stalled and RolledOut for a release whose ConfigMap is live.

    `status` is the plan's (Ready=True: the ConfigMap is live); transition times are kept
    from the conditions the release had before this pass.
    """
    previous = release.status.raw.get("conditions")
    generation = release.generation
    phase, message = assessment.phase, str(assessment.rollout["message"])
    if release.held_back:
        failed = assessment.rollout.get("failedVersion")
        summary = conditions.stalled(
            ROLLED_BACK_ON_FAILURE,
            f"PromptVersion {failed} failed to roll out and was rolled back; serving revision "
            f"{status.get('revision')} ({status.get('version')}); point spec.version at another "
            "version to release again",
            generation,
            now,
            previous,
        )
    elif phase == FAILED:
        summary = conditions.stalled(ROLLOUT_FAILED, message, generation, now, previous)
    elif phase == PROGRESSING:
        summary = conditions.reconciling(ROLLING_OUT, message, generation, now, previous)
    else:
        summary = [dict(c) for c in status.get("conditions") or () if c.get("type") != ROLLED_OUT]
    rolled_out = conditions.condition(
        ROLLED_OUT,
        "True" if phase == COMPLETE else "False",
        phase,
        message,
        generation,
        now,
        previous,
    )
    return conditions.with_condition(summary, rolled_out)
