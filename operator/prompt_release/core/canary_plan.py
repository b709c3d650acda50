"""What a release's canary does in one pass: a pure function run after the stable plan.

`plan()` takes the stable plan of `core/release.py` (what prompt.json and template.txt say),
the release with its `spec.canary`, the ConfigMap as it is, the candidate PromptVersion and the
analysis Job (if one runs), and returns the same plan with `canary.json` added to (or removed
from) the ConfigMap, `status.canary` / `status.lastCanary` / the conditions brought up to date,
the Jobs to create or delete, and when to look again.

The rules:
- prompt.json and template.txt are the stable plan's, always: a canary never changes them.
- The candidate is resolved by the same rules as a release (`release.resolve`: same reasons).
  A refused candidate leaves canary.json exactly as it is (a canary already running carries on)
  and says why in `Ready=False`.
- Steps run in order; each step's start time is in `status.canary.stepStartedAt`, so a pause
  ends on time across operator restarts. A manual pause (no duration) waits until
  `spec.canary.resumeStep` reaches it. An analysis step runs a Job only once canary.json is
  live; the Job completing moves on, failing aborts the canary (`AnalysisFailed`): canary.json
  goes, stable stays, and the canary stays aborted until `spec.canary` changes.
- On a label whose PromptPolicy requires approval, the candidate passes the same gate as
  spec.version (`governance.approved_by` on `Gate.for_canary`): canary.json is written only
  once someone other than whoever set spec.canary.version approved that exact version and hash.
  Until then the canary waits (phase AwaitingApproval, nothing served); a rejection (or an
  approval that is gone) stops a canary that ran, and stable stays exactly as it is.
- The operator never edits the spec: promoting is pointing `spec.version` at the candidate (and
  removing `spec.canary`); that new revision's history entry says it was a canary, at which
  weight. Removing `spec.canary` otherwise aborts it. Either way `status.lastCanary` keeps how
  it ended.

The parts: `canary_spec` (spec.canary read once), `canary_candidate` (the candidate resolved,
gated, started or held), `canary_steps` (the steps), `canary_jobs` (the analysis Job),
`canary_pass` (the state they share); `canary_edits` holds the spec edits of the verbs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from prompt_release.core import (
    analysis,
    canary,
    canary_candidate,
    conditions,
    configmap,
    governance,
)
from prompt_release.core.analysis import Reading
from prompt_release.core.canary_jobs import JobState
from prompt_release.core.canary_pass import CanaryPass
from prompt_release.core.canary_spec import (
    ABORTED,
    CANARY_ABORTED,
    CANARY_PROMOTED,
    COMPLETED,
    HELD,
    OUTCOME_ABORTED,
    OUTCOME_PROMOTED,
    PROMOTED,
    CanarySpec,
    percent,
)
from prompt_release.core.hashing import short_hash
from prompt_release.core.release import NORMAL, WARNING, ReleasePlan
from prompt_release.core.views import ReleaseView, VersionView
from prompt_release.core.workloads import Workload


@dataclass(frozen=True)
class CanaryPlan:
    plan: ReleasePlan
    create_jobs: list[dict[str, Any]] = field(default_factory=list)
    delete_jobs: list[str] = field(default_factory=list)
    wake_in: float | None = None
    """Look again in this many seconds (a timed pause ends, canary.json waits to be live)."""
    poll: bool = False
    """An analysis Job is running: look at it again soon."""


def stable_part(existing: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """The ConfigMap as the stable plan sees it: without canary.json, which it never writes."""
    if existing is None or canary.CANARY_KEY not in (existing.get("data") or {}):
        return existing
    data = {k: v for k, v in existing["data"].items() if k != canary.CANARY_KEY}
    return {**existing, "data": data}


def _stable_live(stable: ReleasePlan) -> bool:
    """Did the stable plan serve its version (Ready, or only its rollout isn't done)?"""
    if not stable.status.get("revision"):
        return False
    reason = conditions.ready_of(stable.status).get("reason")
    return stable.ready or reason in {"RollingOut", "RolloutFailed", "RolledBackOnFailure"}


def plan(
    release: ReleaseView,
    body: Mapping[str, Any],
    stable: ReleasePlan,
    existing: Mapping[str, Any] | None,
    candidate: VersionView | None,
    job: JobState | None,
    now: str,
    gate: governance.Gate | None = None,
    reading: Reading | None = None,
    consumers: Sequence[Workload] = (),
) -> CanaryPlan:
    """The stable plan with the canary's part added (see the module's docstring); `gate`
    holds the candidate back until it is approved, when a PromptPolicy says so."""
    if not _stable_live(stable):
        return CanaryPlan(stable)  # the stable version is refused: the canary waits as it is
    spec = CanarySpec.of(body)
    before: dict[str, Any] | None = dict(release.status.raw.get("canary") or {}) or None
    work = CanaryPass(
        release, stable, now, dict(stable.status), reading=reading, consumers=consumers
    )
    if stable.config_map is not None:
        work.stable_data = dict(stable.config_map["data"])
    else:
        work.stable_data = dict((stable_part(existing) or {}).get("data") or {})
    live_text = ((existing or {}).get("data") or {}).get(canary.CANARY_KEY)
    _mark_promotion(work, before)
    if spec is None:
        _end(work, before)
        text = None
    else:
        text = canary_candidate.run(work, spec, before, candidate, job, live_text, gate)
    config_map = _config_map(work, text, live_text, existing, before)
    _conditions(work)
    return CanaryPlan(
        plan=replace(
            stable,
            status=work.status,
            config_map=config_map,
            events=[*stable.events, *work.events],
        ),
        create_jobs=work.create_jobs,
        delete_jobs=work.delete_jobs,
        wake_in=work.wake_in,
        poll=work.poll,
    )


def _mark_promotion(work: CanaryPass, before: Mapping[str, Any] | None) -> None:
    """A new revision serving the canary's candidate: its history entry says so."""
    status, old = work.status, work.release.status
    if not before or before.get("phase") in (ABORTED, *HELD):
        return
    if int(status.get("revision") or 0) <= old.revision:
        return
    if (status.get("version"), status.get("hash")) != (before.get("version"), before.get("hash")):
        return
    history = [dict(entry) for entry in status.get("history") or ()]
    if history and history[0].get("revision") == status["revision"]:
        origin = {
            key: before[key]
            for key in ("weight", "step", "startedAt")
            if before.get(key) is not None
        }
        analyses = analysis.summary(before.get("steps"))
        if analyses:
            origin["analyses"] = analyses
        history[0]["canary"] = origin
        status["history"] = history
    work.say(
        NORMAL,
        CANARY_PROMOTED,
        f"Revision {status['revision']} promotes the canary {before['version']} "
        f"({short_hash(str(before['hash']))}), which served {percent(before.get('weight', 0))}",
    )


def _end(work: CanaryPass, before: Mapping[str, Any] | None) -> None:
    """spec.canary is gone: promoted if the candidate is live now, else aborted."""
    work.status.pop("canary", None)
    if not before or before.get("phase") in HELD:
        return  # it never served
    live = (work.status.get("version"), work.status.get("hash"))
    if before.get("phase") == ABORTED:
        outcome = str(before.get("reason") or OUTCOME_ABORTED)
        work.status["lastCanary"] = work.ended(before, outcome)
    elif before.get("phase") == PROMOTED or live == (before.get("version"), before.get("hash")):
        work.status["lastCanary"] = work.ended(before, OUTCOME_PROMOTED, "promoted")
    else:
        message = (
            f"spec.canary was removed: the canary {before.get('version')} "
            f"({short_hash(str(before.get('hash')))}) at {percent(before.get('weight', 0))} "
            "is aborted; everyone gets the stable version"
        )
        work.status["lastCanary"] = work.ended(before, OUTCOME_ABORTED, message)
        work.say(WARNING, CANARY_ABORTED, message)


def _config_map(
    work: CanaryPass,
    text: str | None,
    live_text: str | None,
    existing: Mapping[str, Any] | None,
    before: Mapping[str, Any] | None,
) -> dict[str, Any] | None:
    """The ConfigMap to write: the stable plan's, with canary.json as `text` (None: absent)."""
    stable = work.stable.config_map
    if stable is None and text == live_text:
        return None
    if stable is not None:
        desired = {**stable, "data": dict(stable["data"])}
    else:
        status = work.status
        meta = {
            "prompt": work.release.prompt,
            "label": work.release.label,
            "version": status["version"],
            "hash": status["hash"],
            "revision": status["revision"],
        }
        desired = configmap.desired(work.release, work.stable_data, meta)
    desired["data"].pop(canary.CANARY_KEY, None)
    if text is not None:
        desired["data"][canary.CANARY_KEY] = text
    if (
        stable is None
        and existing is not None
        and (before or {}) == (work.status.get("canary") or {})
    ):
        work.say(
            WARNING,
            "DriftReverted",
            f"ConfigMap {work.release.config_map_name}: {canary.CANARY_KEY} was changed by "
            "hand; put it back",
        )
    return desired


def _conditions(work: CanaryPass) -> None:
    """Ready, Reconciling and Stalled with the canary's say, when the stable part is Ready."""
    if work.summary is None and not work.status.get("canary"):
        return
    if conditions.ready_of(work.stable.status).get("status") != "True":
        return  # the stable version's rollout isn't done, or failed: that comes first
    release, status = work.release, work.status
    previous = release.status.raw.get("conditions")
    if work.summary is None:
        ready = conditions.ready_of(status)
        state = status.get("canary") or {}
        message = str(ready.get("message", ""))
        if state.get("phase") == COMPLETED:
            message += (
                f"; canary {state.get('version')} ({state.get('shortHash')}) serves "
                f"{percent(state.get('weight') or 0)} ({state.get('message')})"
            )
        elif state.get("phase") == PROMOTED:
            message += f"; {state.get('message')}"
        triple = conditions.ready(
            str(ready.get("reason")), message, release.generation, work.now, previous
        )
    elif work.summary[0] == "held" and work.held is not None:
        message = work.summary[2]
        triple = work.held.conditions(message, release.generation, work.now, previous)
    else:
        kind, reason, message = work.summary
        if kind == "reconciling":
            state = status.get("canary") or {}
            message = (
                f"revision {status.get('revision')} ({status.get('version')}) is live; canary "
                f"{state.get('version')} ({state.get('shortHash')}) serves "
                f"{percent(state.get('weight') or 0)}, {message}"
            )
        make = {
            "ready": conditions.ready,
            "reconciling": conditions.reconciling,
            "stalled": conditions.stalled,
        }[kind]
        triple = make(reason, message, release.generation, work.now, previous)
    status["conditions"] = _with_triple(status.get("conditions") or [], triple)


def _with_triple(
    current: Sequence[Mapping[str, Any]], triple: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Replace Ready, Reconciling and Stalled; keep any other condition (RolledOut)."""
    kinds = {c["type"] for c in triple}
    return [dict(c) for c in triple] + [dict(c) for c in current if c.get("type") not in kinds]
