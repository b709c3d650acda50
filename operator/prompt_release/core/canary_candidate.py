"""spec.canary is set: its candidate resolved, gated, then started, carried on, held or
promoted, and the canary.json that serves it.

The candidate passes the same rules as spec.version (`release.resolve`, the approval gate), so
a canary can't serve what a release would refuse.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from prompt_release.core import (
    analysis,
    canary,
    canary_steps,
    conditions,
    configmap,
    consumers,
    governance,
    payload,
)
from prompt_release.core import release as release_core
from prompt_release.core.canary_jobs import JobState
from prompt_release.core.canary_pass import CanaryPass
from prompt_release.core.canary_spec import (
    ABORTED,
    ANALYSIS_FAILED,
    AWAITING_APPROVAL,
    CANARY_ABORTED,
    CANARY_STARTED,
    HELD,
    OUTCOME_ABORTED,
    OUTCOME_PROMOTED,
    PROGRESSING,
    PROMOTED,
    REJECTED,
    CanarySpec,
    percent,
)
from prompt_release.core.hashing import short_hash
from prompt_release.core.release import NORMAL, WARNING
from prompt_release.core.views import ReleaseStatusView, VersionView


def run(
    work: CanaryPass,
    spec: CanarySpec,
    before: dict[str, Any] | None,
    candidate: VersionView | None,
    job: JobState | None,
    live_text: str | None,
    gate: governance.Gate | None = None,
) -> str | None:
    """spec.canary is set: start, carry on, or hold the canary; the canary.json to serve."""
    computed, refused = _resolve(work, spec, candidate)
    problem = spec.problem()
    if refused is None and problem is not None:
        refused = (analysis.INVALID_ANALYSIS, problem)
    if refused is not None or candidate is None or computed is None:
        _refused(work, before, refused or ("VersionNotFound", "no candidate"))
        return live_text
    live = (work.status.get("version"), work.status.get("hash"))
    if live == (spec.version, computed):
        state = _promoted(work, before, spec, computed)
        work.status["canary"] = state
        return None
    verdict = consumers.check(spec.version, computed, candidate.spec, work.consumers)
    if not verdict.passed:
        _refused(work, before, (consumers.CONSUMER_INCOMPATIBLE, verdict.message()))
        return live_text
    lint_refusal = governance.refused_warnings(gate, candidate)
    if lint_refusal is not None:
        _refused(work, before, (governance.LINT_REFUSED, lint_refusal))
        return live_text
    try:
        approvers = governance.approved_by(
            None if gate is None else gate.for_canary(), spec.version, computed
        )
    except governance.HeldError as held:
        _held(work, spec, before, computed, held)
        return None
    state = _start_or_continue(work, spec, before, computed)
    if approvers:
        state["approvedBy"] = approvers
    if state.get("phase") == ABORTED:
        work.status["canary"] = state
        work.summary = ("stalled", ANALYSIS_FAILED, _aborted_message(work, state))
        return None
    too_large = _too_large(work, candidate, _candidate_text(work, spec, candidate, state))
    if too_large is not None:
        _refused(work, before, too_large)
        return live_text
    state = canary_steps.advance(work, spec, state, job, canary_live=_holds(live_text, state))
    work.status["canary"] = state
    if state.get("phase") == ABORTED:
        work.summary = ("stalled", ANALYSIS_FAILED, _aborted_message(work, state))
        return None
    return _candidate_text(work, spec, candidate, state)


def _refusal_of(error: Exception) -> tuple[str, str] | None:
    """`release.resolve` refuses with a reason and a message, as it does a release."""
    reason, message = getattr(error, "reason", None), getattr(error, "message", None)
    if isinstance(reason, str) and isinstance(message, str):
        return reason, message
    return None


def _resolve(
    work: CanaryPass, spec: CanarySpec, candidate: VersionView | None
) -> tuple[str | None, tuple[str, str] | None]:
    """The candidate's hash, or the reason and message it is refused with."""
    view = replace(work.release, version=spec.version, pin=spec.pin, status=ReleaseStatusView())
    try:
        return release_core.resolve(view, candidate), None
    except Exception as error:
        refused = _refusal_of(error)
        if refused is None:
            raise
        return None, refused


def _candidate_text(
    work: CanaryPass, spec: CanarySpec, candidate: VersionView, state: Mapping[str, Any]
) -> str:
    body = payload.build(
        candidate.spec,
        label=work.release.label,
        version=candidate.name,
        content_hash=str(state["hash"]),
        revision=int(work.status["revision"]),
        released_at=str(state["startedAt"]),
        changelog=None,
    )
    document = canary.document(
        body,
        weight=float(state.get("weight") or 0),
        salt=canary.salt_for(work.release.uid, str(state["hash"])),
        segments=spec.segments,
        started_at=str(state["startedAt"]),
    )
    return canary.text(document)


def _too_large(work: CanaryPass, candidate: VersionView, text: str) -> tuple[str, str] | None:
    """The refusal of a canary.json that doesn't fit in the ConfigMap next to the stable part."""
    size = configmap.size(work.stable_data) + len(text.encode("utf-8"))
    if size <= configmap.CONFIGMAP_LIMIT:
        return None
    return (
        release_core.PAYLOAD_TOO_LARGE,
        f"prompt.json, template.txt and canary.json would be {size} bytes with "
        f"PromptVersion {candidate.name} as the candidate, over the ConfigMap limit of "
        f"{configmap.CONFIGMAP_LIMIT} bytes",
    )


def _holds(live_text: str | None, state: Mapping[str, Any]) -> bool:
    """Does the live canary.json serve this candidate (so a Job mounting it reads it)?"""
    try:
        found = json.loads(live_text or "")
    except ValueError:
        return False
    return isinstance(found, dict) and (found.get("version"), found.get("hash")) == (
        state.get("version"),
        state.get("hash"),
    )


def _aborted_message(work: CanaryPass, state: Mapping[str, Any]) -> str:
    return (
        f"the canary {state.get('version')} ({short_hash(str(state.get('hash')))}) was aborted: "
        f"{state.get('message')}; serving revision {work.status.get('revision')} "
        f"({work.status.get('version')}) to all; change or remove spec.canary"
    )


def _refused(work: CanaryPass, before: Mapping[str, Any] | None, refused: tuple[str, str]) -> None:
    """A refused candidate: canary.json and status.canary stay as they are."""
    reason, why = refused
    status = work.status
    if before and before.get("phase") not in (ABORTED, PROMOTED, *HELD):
        tail = (
            f"the canary of {before.get('version')} at {percent(before.get('weight', 0))} "
            "carries on"
        )
    else:
        tail = f"still serving revision {status.get('revision')} ({status.get('version')}) to all"
    message = f"canary: {why}; {tail}"
    work.summary = ("stalled", reason, message)
    if conditions.ready_of(work.release.status.raw).get("message") != message:
        work.say(WARNING, reason, message)


def _held(
    work: CanaryPass,
    spec: CanarySpec,
    before: Mapping[str, Any] | None,
    computed: str,
    held: governance.HeldError,
) -> None:
    """The candidate isn't approved (yet), or was rejected: nothing of it is served. A canary
    that served (its approval is gone, or someone rejected it since) ends here."""
    if before and before.get("phase") not in (ABORTED, PROMOTED, *HELD):
        outcome = held.reason if not held.waiting else OUTCOME_ABORTED
        why = f"stopped: {held.message}"
        work.status["lastCanary"] = work.ended(before, outcome, why)
        work.say(WARNING, CANARY_ABORTED, f"Canary {before.get('version')} {why}")
    state: dict[str, Any] = {
        "version": spec.version,
        "hash": computed,
        "shortHash": short_hash(computed),
        "weight": 0,  # nothing of it is served
        "step": 0,
        "phase": AWAITING_APPROVAL if held.waiting else REJECTED,
        "reason": held.reason,
        "message": held.message,
        "approval": held.approval,
        "specDigest": spec.digest,
    }
    work.status["canary"] = state
    status = work.status
    message = (
        f"revision {status.get('revision')} ({status.get('version')}) serves everyone; "
        f"canary: {held.message}"
    )
    work.summary = ("held", held.reason, message)
    news = (before or {}).get("phase") != state["phase"] or (before or {}).get(
        "message"
    ) != held.message
    if news:
        work.say(held.event_type, held.reason, message)
    work.held = held


def _promoted(
    work: CanaryPass, before: Mapping[str, Any] | None, spec: CanarySpec, computed: str
) -> dict[str, Any]:
    """The candidate is the stable version now: nothing left to split."""
    state = dict(before or {})
    if (state.get("version"), state.get("hash")) != (spec.version, computed) or state.get(
        "phase"
    ) in HELD:
        state = {"version": spec.version, "hash": computed, "startedAt": work.now}
    if state.get("analysisJob"):
        work.delete_jobs.append(str(state.pop("analysisJob")))
    state.pop("resumesAt", None)
    state.update(
        shortHash=short_hash(computed),
        phase=PROMOTED,
        specDigest=spec.digest,
        message=f"{spec.version} is the stable version (revision "
        f"{work.status.get('revision')}): remove spec.canary",
    )
    return state


def _start_or_continue(
    work: CanaryPass, spec: CanarySpec, before: dict[str, Any] | None, computed: str
) -> dict[str, Any]:
    """The run status.canary already holds, or a new one (ending the one it replaces)."""
    if before is not None and before.get("phase") in HELD:
        before = None  # it waited for approval and never served: it starts now
    same = before is not None and (before.get("version"), before.get("hash")) == (
        spec.version,
        computed,
    )
    if (
        before is not None
        and same
        and before.get("phase") != PROMOTED
        and not (before.get("phase") == ABORTED and before.get("specDigest") != spec.digest)
    ):
        return dict(before)
    if before:  # another candidate, or a retry of an aborted one: the old run ends here
        work.status["lastCanary"] = _replaced(work, before)
    state: dict[str, Any] = {
        "version": spec.version,
        "hash": computed,
        "shortHash": short_hash(computed),
        "weight": canary.normal_weight(spec.weight),
        "specWeight": canary.normal_weight(spec.weight),
        "step": 0,
        "phase": PROGRESSING,
        "startedAt": work.now,
        "stepStartedAt": work.now,
        "steps": [],
        "specDigest": spec.digest,
    }
    work.say(
        NORMAL,
        CANARY_STARTED,
        f"Canary {spec.version} ({short_hash(computed)}) started at {percent(spec.weight)} "
        f"next to revision {work.status.get('revision')} ({work.status.get('version')})",
    )
    return state


def _replaced(work: CanaryPass, before: Mapping[str, Any]) -> dict[str, Any]:
    """status.lastCanary of a run a new one replaces."""
    if before.get("phase") == PROMOTED:
        outcome = OUTCOME_PROMOTED
    elif before.get("phase") == ABORTED:
        outcome = str(before.get("reason") or OUTCOME_ABORTED)
    else:
        outcome = OUTCOME_ABORTED
    return work.ended(before, outcome, None if outcome != OUTCOME_ABORTED else "replaced")
