"""spec.verification: a window after a new revision goes live (without a canary) in
which a Prometheus query watches it, as a canary analysis watches a candidate.

Pure. `due()` tells the shell which query to send; `assess()` adds the reading to
status.verification and says where the window stands:
- more than failureLimit failed measurements: Failed. With rollbackOnFailure the decision
  restores the previous revision, as a failed rollout does (`release.roll_back`), and the
  failed revision's history entry keeps the window with its measurements;
- more than inconclusiveLimit inconclusive ones: Inconclusive (nothing live changes);
- the window ends with at least `count` conclusive measurements within the limits: Successful;
  with fewer it is Inconclusive (a Prometheus that was down never adds up to a pass).
A revision the operator made by rolling back is not verified again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from prompt_release.core import analysis, claims
from prompt_release.core import release as release_core
from prompt_release.core.analysis import PrometheusSpec, Query, Reading
from prompt_release.core.canary_spec import parse_duration
from prompt_release.core.configmap import OPERATOR
from prompt_release.core.release import NORMAL, WARNING, Event, ReleasePlan
from prompt_release.core.views import ReleaseStatusView, ReleaseView, VersionView

STEP = -1
"""A Reading's step for the verification window (a canary's steps count from 0)."""
PLACEHOLDERS = ("prompt", "label", "namespace", "release", "stable.version", "stable.hash")
INVALID_VERIFICATION = "InvalidVerification"
VERIFICATION_STARTED = "VerificationStarted"
VERIFICATION_PASSED = "VerificationPassed"
VERIFICATION_FAILED = "VerificationFailed"
VERIFICATION_INCONCLUSIVE = "VerificationInconclusive"
ROLLBACK_PREFIX = "Automatic rollback"
_TIME = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True)
class VerificationSpec:
    duration: float
    prometheus: PrometheusSpec

    @classmethod
    def of(cls, body: Mapping[str, Any]) -> VerificationSpec | None:
        raw = (body.get("spec") or {}).get("verification")
        if not isinstance(raw, Mapping) or not isinstance(raw.get("prometheus"), Mapping):
            return None
        return cls(
            duration=parse_duration(raw.get("duration")) or 0.0,
            prometheus=PrometheusSpec.of(raw["prometheus"], parse_duration),
        )

    def problem(self) -> str | None:
        found = self.prometheus.problem(PLACEHOLDERS)
        return None if found is None else f"spec.verification.prometheus: {found}"


def invalid(body: Mapping[str, Any]) -> str | None:
    """Why spec.verification can't run (the release is refused), else None."""
    spec = VerificationSpec.of(body)
    return None if spec is None else spec.problem()


@dataclass
class Assessment:
    state: dict[str, Any] | None
    """status.verification as it is after this pass (None: no window)."""
    failed: str | None = None
    """Why the window failed, this pass: the decision rolls back with rollbackOnFailure."""
    events: list[Event] = field(default_factory=list)
    wake_in: float | None = None


def _time(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, _TIME).replace(tzinfo=dt.UTC)


def _text(moment: dt.datetime) -> str:
    return moment.strftime(_TIME)


def _verified(status: Mapping[str, Any]) -> bool:
    """Is the live revision one to verify (not an automatic rollback's)?"""
    entry = (status.get("history") or [{}])[0]
    made_by_us = entry.get("releasedBy") == OPERATOR
    return not (made_by_us and str(entry.get("changelog") or "").startswith(ROLLBACK_PREFIX))


def _start(
    release: Any, status: Mapping[str, Any], spec: VerificationSpec, now: str
) -> dict[str, Any]:
    ends = _time(now) + dt.timedelta(seconds=spec.duration)
    return {
        "revision": int(status["revision"]),
        "version": str(status.get("version")),
        "hash": str(status.get("hash")),
        "startedAt": now,
        "endsAt": _text(ends),
        "phase": analysis.RUNNING,
        "query": spec.prometheus.render(analysis.context(release, status)),
    }


def assess(
    release: Any,
    body: Mapping[str, Any],
    status: Mapping[str, Any],
    reading: Reading | None,
    now: str,
) -> Assessment:
    """status.verification brought up to date for the live revision of `status`."""
    spec = VerificationSpec.of(body)
    before = status.get("verification")
    if spec is None or not status.get("revision") or (body.get("spec") or {}).get("canary"):
        return Assessment(before)
    if spec.problem() is not None:
        return Assessment(before)  # refused by the decision before anything is served
    if before is None or before.get("revision") != status["revision"]:
        if not _verified(status):
            return Assessment(before)
        state = _start(release, status, spec, now)
        told = (
            f"Revision {state['revision']} ({state['version']}) is verified until {state['endsAt']}"
        )
        return Assessment(state, events=[Event(NORMAL, VERIFICATION_STARTED, told)], wake_in=0.0)
    state = dict(before)
    if state.get("phase") != analysis.RUNNING:
        return Assessment(state)
    ours = reading is not None and (reading.step, reading.hash) == (STEP, state["hash"])
    if ours and reading is not None and analysis.is_due(state, spec.prometheus, now):
        analysis.add(state, spec.prometheus, reading)
    return _judge(state, spec, now)


def _judge(state: dict[str, Any], spec: VerificationSpec, now: str) -> Assessment:
    counts = {key: int(state.get(key) or 0) for key in ("successful", "failed", "inconclusive")}
    state.update(counts)
    last = (state.get("measurements") or [{}])[-1]
    tally = (
        f"{counts['successful']} successful, {counts['failed']} failed, "
        f"{counts['inconclusive']} inconclusive; the last: {analysis.said(last)}"
    )
    where = f"Revision {state['revision']} ({state['version']})"
    prometheus = spec.prometheus
    ended = _time(now) >= _time(str(state["endsAt"]))
    if counts["failed"] > prometheus.failure_limit:
        why = f"verification failed: {tally} (successCondition {prometheus.success_condition})"
        return _ended(state, analysis.FAILED, why, WARNING, VERIFICATION_FAILED, where, failed=True)
    if counts["inconclusive"] > prometheus.inconclusive_limit or (
        ended and counts["successful"] + counts["failed"] < prometheus.count
    ):
        why = f"verification inconclusive: {tally}"
        return _ended(state, analysis.INCONCLUSIVE, why, WARNING, VERIFICATION_INCONCLUSIVE, where)
    if ended:
        why = f"verification passed: {tally}"
        return _ended(state, analysis.SUCCESSFUL, why, NORMAL, VERIFICATION_PASSED, where)
    state["message"] = f"verifying until {state['endsAt']}: {tally}"
    due = analysis.next_at(state, prometheus)
    moment = _time(now)
    wait = 0.0 if due is None else max(0.0, (due - moment).total_seconds())
    until_end = (_time(str(state["endsAt"])) - moment).total_seconds()
    return Assessment(state, wake_in=min(wait, until_end))


def _ended(
    state: dict[str, Any],
    phase: str,
    why: str,
    kind: str,
    reason: str,
    where: str,
    failed: bool = False,
) -> Assessment:
    state.update(phase=phase, message=why)
    event = Event(kind, reason, f"{where}: {why}")
    return Assessment(state, failed=why if failed else None, events=[event])


def due(body: Mapping[str, Any], now: str) -> Query | None:
    """The query the shell should send for the live revision's window, when one is due."""
    spec = VerificationSpec.of(body)
    status = body.get("status") or {}
    state = status.get("verification") or {}
    if spec is None or state.get("phase") != analysis.RUNNING or not state.get("query"):
        return None
    if state.get("revision") != status.get("revision") or spec.problem() is not None:
        return None
    if not analysis.is_due(state, spec.prometheus, now):
        return None
    return Query(STEP, str(state["hash"]), str(state["query"]))


def apply(
    release: ReleaseView,
    body: Mapping[str, Any],
    plan: ReleasePlan,
    existing: Mapping[str, Any] | None,
    reading: Reading | None,
    previous: VersionView | None,
    rivals: Sequence[claims.Rival],
    now: str,
) -> tuple[ReleasePlan, float | None]:
    """spec.verification's window over the live revision, and when to look again; a failed
    one brings `previous` back with rollbackOnFailure, the window kept in the failed entry."""
    found = assess(release, body, plan.status, reading, now)
    if found.state is None:
        return plan, None
    plan = replace(plan, status={**plan.status, "verification": found.state})
    plan = replace(plan, events=[*plan.events, *found.events])
    if not (found.failed and release.rollback_on_failure and previous is not None):
        return plan, found.wake_in
    live = replace(release, status=ReleaseStatusView(plan.status))
    rolled = release_core.roll_back(live, previous, existing, now, found.failed, rivals)
    if not rolled.ready:
        return replace(rolled, events=[*plan.events, *rolled.events]), None
    state = {**found.state, "rolledBackBy": rolled.status["revision"]}
    history = [
        {**entry, "verification": state} if entry.get("revision") == state["revision"] else entry
        for entry in rolled.status.get("history") or ()
    ]
    status = {**rolled.status, "history": history, "verification": state}
    return replace(rolled, status=status, events=[*plan.events, *rolled.events]), 0.0
