"""What a release pass does: one pure function from what was observed to what to write.

`decide(observed, now)` runs every rule of a PromptRelease in one fixed order, on data the
shell gathered beforehand: the stable plan (release.py), its rollout to the workloads
(rollout.py, with the automatic rollback), the canary's part (canary_plan.py), a writer
fighting the operator over the ConfigMap (fights.py) and governance's report (governance.py);
a new revision first passes the consumer contract gate (consumer_gate.py).
The shell then carries out the decision's actions in the order of the `Decision` fields.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from prompt_release.core import (
    canary_plan,
    canary_spec,
    chain,
    claims,
    conditions,
    consumer_gate,
    governance,
    promotion,
    recovery,
    rollout,
    verification,
)
from prompt_release.core import release as release_core
from prompt_release.core.analysis import Reading
from prompt_release.core.canary_jobs import JobState
from prompt_release.core.fights import DRIFT_REASONS, FOUGHT, Fight, FightPolicy
from prompt_release.core.fights import decide as decide_fight
from prompt_release.core.fights import message as fight_message
from prompt_release.core.release import Event, ReleasePlan
from prompt_release.core.views import ReleaseStatusView, ReleaseView, VersionView
from prompt_release.core.workloads import Workload, stamp_patch

WAKE_MARGIN = 0.5
"""Seconds added to a canary pause's end before the release is looked at again."""
POLL_SECONDS = 5.0
"""A running analysis Job is looked at this often even without a watch event."""


@dataclass(frozen=True)
class Now:
    """The time of a pass: as the API writes it, and the monotonic clock fights count in."""

    text: str
    monotonic: float


@dataclass(frozen=True)
class Observed:
    """Everything one release pass reads, gathered from the stores before deciding."""

    body: Mapping[str, Any]
    version: VersionView | None
    """The version spec.version names (None: it doesn't exist)."""
    config_map: Mapping[str, Any] | None
    """The ConfigMap named by the release as it is now (None: absent)."""
    consumers: Sequence[Workload] = ()
    gate: governance.Gate | None = None
    previous: VersionView | None = None
    """The version of the history entry before the live one (an automatic rollback's)."""
    candidate: VersionView | None = None
    """The version spec.canary names."""
    job: JobState | None = None
    """The analysis Job of the canary's current step (or a creation the API server refused)."""
    fight: Fight = field(default_factory=Fight)
    fight_policy: FightPolicy = field(default_factory=FightPolicy)
    rivals: Sequence[claims.Rival] = ()
    """The other releases claiming the ConfigMap name this one writes (`claims.rivals` of the
    releases `releases_by_config_map` gives for that name, and of the release of that name)."""
    unrecorded: Sequence[Mapping[str, Any]] = ()
    """Records (ControllerRevisions) of sealed entries an earlier pass could not write."""
    promotion: promotion.Inputs | None = None
    """For a release with spec.promotion: the `from` release, the versions and the evidence."""
    reading: Reading | None = None
    """The Prometheus measurement the shell took for the canary's analysis step (if due)."""


@dataclass(frozen=True)
class Decision:
    """What to write, in this order, and when to look again."""

    stale: bool = False
    """What was observed is older than what was written (the ConfigMap is ahead of the
    status): nothing is written; the pass is made again once the stores catch up."""
    record_first: dict[str, Any] | None = None
    """A status that records a revision the ConfigMap serves, written before it moves on."""
    create_jobs: list[dict[str, Any]] = field(default_factory=list)
    config_map: dict[str, Any] | None = None
    remove_stale_config_maps: bool = False
    stamps: list[tuple[Workload, dict[str, Any]]] = field(default_factory=list)
    status: dict[str, Any] | None = None
    """The release's new status (None: it says this already)."""
    records: list[dict[str, Any]] = field(default_factory=list)
    """The immutable records (ControllerRevisions, `core/chain.py`) of the history entries the
    status writes add, written after it: off the way to Ready."""
    delete_jobs: list[str] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    fight: Fight = field(default_factory=Fight)
    requeue_after: float | None = None
    ready: bool = False
    """Ready, or a canary on its way (its own timers look again); else retried later."""
    planned_status: dict[str, Any] = field(default_factory=dict)
    """The status as this pass leaves it, written or not (for metrics and logs)."""


def first_visit_status(release: ReleaseView, now: str) -> dict[str, Any] | None:
    """A release never visited plans from the status a first visit says (Reconciling)."""
    if release.status.raw.get("conditions"):
        return None
    return release_core.first_visit(release, now)


def decide(observed: Observed, now: Now) -> Decision:
    """The whole pass over one release (see the module docstring)."""
    stored = ReleaseView.of(observed.body)
    first = first_visit_status(stored, now.text)
    body = observed.body if first is None else {**observed.body, "status": first}
    release = ReleaseView.of(body)
    existing = observed.config_map
    if recovery.ahead(release, existing):
        return Decision(stale=True)
    stable_existing = canary_plan.stable_part(existing)
    choice = promotion.choose(
        observed.body, release, observed.version, observed.promotion, observed.gate, now.text
    )
    plan = _plan(release, body, choice, observed, stable_existing, now.text)
    verify_wake = None
    if plan.ready:
        plan = _roll_out(release, plan, stable_existing, observed, now.text)
        plan, verify_wake = _verify(release, body, plan, stable_existing, observed, now.text)
    split = canary_plan.plan(
        release,
        body,
        plan,
        existing,
        observed.candidate,
        observed.job,
        now.text,
        gate=observed.gate,
        reading=observed.reading,
        consumers=observed.consumers,
    )
    plan, fight, wait = _fight(release, split.plan, observed, now.monotonic)
    plan = report(plan, release, observed.version, observed.gate, now.text)
    plan = _promotion_report(plan, choice, stored, now.text)
    record_first, plan, status_changed, records = _to_write(observed, stored, release, plan)
    waiting = (canary_spec.CANARY_PROGRESSING, canary_spec.CANARY_PAUSED)
    ready = plan.ready or conditions.ready_of(plan.status).get("reason") in waiting
    return Decision(
        record_first=record_first,
        create_jobs=split.create_jobs,
        config_map=plan.config_map,
        remove_stale_config_maps=plan.ready
        and release.status.config_map != release.config_map_name
        and release.generation > 1,
        stamps=plan.stamps,
        status=plan.status if status_changed else None,
        records=records,
        delete_jobs=split.delete_jobs,
        events=plan.events,
        fight=fight,
        requeue_after=_earliest(
            wait or None,
            None if split.wake_in is None else split.wake_in + WAKE_MARGIN,
            POLL_SECONDS if split.poll else None,
            None if choice is None else choice.wait,
            None if verify_wake is None else verify_wake + WAKE_MARGIN,
        ),
        ready=ready,
        planned_status=plan.status,
    )


def _plan(
    release: ReleaseView,
    body: Mapping[str, Any],
    choice: promotion.Choice | None,
    observed: Observed,
    existing: Mapping[str, Any] | None,
    now: str,
) -> ReleasePlan:
    """The stable plan, through the consumer contract gate (`core/consumer_gate.py`)."""
    plan = _chosen_plan(release, body, choice, observed, existing, now)
    target = observed.version if choice is None else choice.version
    return consumer_gate.apply(release, plan, target, observed.consumers, existing, now)


def _chosen_plan(
    release: ReleaseView,
    body: Mapping[str, Any],
    choice: promotion.Choice | None,
    observed: Observed,
    existing: Mapping[str, Any] | None,
    now: str,
) -> ReleasePlan:
    """The stable plan: spec.version, or what spec.promotion chose (held: the live revision
    stays, nothing is written but the status); refused while spec.verification can't
    run."""
    invalid = verification.invalid(body)
    if invalid is not None:
        return release_core.refuse(release, now, verification.INVALID_VERIFICATION, invalid)
    if choice is None:
        return release_core.plan(
            release, observed.version, existing, now, observed.gate, observed.rivals
        )
    if choice.hold is not None:
        return ReleasePlan(status=promotion.held(release, *choice.hold, now))
    return release_core.plan(
        choice.release, choice.version, existing, now, choice.gate, observed.rivals
    )


def _promotion_report(
    plan: ReleasePlan, choice: promotion.Choice | None, stored: ReleaseView, now: str
) -> ReleasePlan:
    """status.promotion, the Promotion condition and the promotion's Events; both dropped
    from a release whose spec.promotion is gone."""
    if choice is None:
        if "promotion" not in plan.status:
            return plan
        status = {k: v for k, v in plan.status.items() if k != "promotion"}
        status["conditions"] = [
            c for c in status.get("conditions") or () if c.get("type") != promotion.PROMOTION
        ]
        return replace(plan, status=status)
    status, events = promotion.finish(choice, stored, plan.status, now)
    return replace(plan, status=status, events=[*plan.events, *events])


def _to_write(
    observed: Observed, stored: ReleaseView, release: ReleaseView, plan: ReleasePlan
) -> tuple[dict[str, Any] | None, ReleasePlan, bool, list[dict[str, Any]]]:
    """The status to record before the ConfigMap (if any), the plan with its status sealed,
    whether that status differs from the stored one, and the history records to create."""
    record_first = None
    if plan.config_map is not None:
        revision = int(plan.status.get("revision") or 0)
        record_first = recovery.record_first(release, observed.config_map, revision)
    status_changed = conditions.status_changed(stored.status.raw, plan.status)
    record_first, status, records = _seal(observed, stored, record_first, plan.status)
    if status_changed:
        plan = replace(plan, status=status)
    else:
        records = []
    return record_first, plan, status_changed, _pending(records, observed.unrecorded)


def _seal(
    observed: Observed,
    stored: ReleaseView,
    record_first: dict[str, Any] | None,
    status: dict[str, Any],
) -> tuple[dict[str, Any] | None, dict[str, Any], list[dict[str, Any]]]:
    """The statuses to write with their new history entries sealed into the chain, and the
    records of those entries (`core/chain.py`)."""
    owner = chain.Owner.of(observed.body)
    known = stored.status.history
    if record_first is not None:
        record_first = chain.seal_status(owner, record_first, known)
    first_history = (record_first or {}).get("history")
    sealed = chain.seal_status(owner, status, known, first_history)
    new = {
        str(entry[chain.DIGEST]): entry
        for entry in [
            *chain.unrecorded(known, first_history),
            *chain.unrecorded(known, sealed.get("history")),
        ]
    }
    ordered = sorted(new.values(), key=lambda entry: int(entry.get("revision") or 0))
    return record_first, sealed, [chain.record(owner, entry) for entry in ordered]


def _pending(
    records: list[dict[str, Any]], unrecorded: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """This pass's records after those still owed, each once (by name)."""
    named = {str(r["metadata"]["name"]): dict(r) for r in [*unrecorded, *records]}
    return list(named.values())


def _earliest(*delays: float | None) -> float | None:
    found = [delay for delay in delays if delay is not None]
    return min(found) if found else None


def _roll_out(
    release: ReleaseView,
    plan: ReleasePlan,
    existing: Mapping[str, Any] | None,
    observed: Observed,
    now: str,
) -> ReleasePlan:
    """Add the workloads to a plan whose ConfigMap is live: stamps, status.rollout, Ready.

    A failed rollout with rollbackOnFailure brings the previous revision back (once: the
    failed version is held back until spec.version names another one)."""
    found = list(observed.consumers)
    assessment = rollout.assess(
        release, int(plan.status["revision"]), str(plan.status["hash"]), found
    )
    if (
        assessment.phase == rollout.FAILED
        and release.rollback_on_failure
        and not release.held_back
        and observed.previous is not None
    ):
        plan = release_core.roll_back(
            release,
            observed.previous,
            existing,
            now,
            str(assessment.rollout["message"]),
            observed.rivals,
        )
        if not plan.ready:
            return plan
        release = replace(release, status=ReleaseStatusView(plan.status))
        assessment = rollout.assess(
            release, int(plan.status["revision"]), str(plan.status["hash"]), found
        )
    status = dict(plan.status)
    status["rollout"] = assessment.rollout
    status["conditions"] = rollout.conditions_for(release, plan.status, assessment, now)
    revision, content_hash = int(status["revision"]), str(status["hash"])
    return ReleasePlan(
        status=status,
        config_map=plan.config_map,
        events=[*plan.events, *assessment.events],
        stamps=[
            (workload, stamp_patch(workload, release.name, revision, content_hash))
            for workload in assessment.stamps
        ],
    )


def _verify(
    release: ReleaseView,
    body: Mapping[str, Any],
    plan: ReleasePlan,
    existing: Mapping[str, Any] | None,
    observed: Observed,
    now: str,
) -> tuple[ReleasePlan, float | None]:
    """spec.verification's window over the live revision; a failed one brings the
    previous revision back with rollbackOnFailure, the window kept in the failed entry."""
    found = verification.assess(release, body, plan.status, observed.reading, now)
    if found.state is None:
        return plan, None
    plan = replace(plan, status={**plan.status, "verification": found.state})
    plan = replace(plan, events=[*plan.events, *found.events])
    if not (found.failed and release.rollback_on_failure and observed.previous is not None):
        return plan, found.wake_in
    live = replace(release, status=ReleaseStatusView(plan.status))
    rolled = release_core.roll_back(
        live, observed.previous, existing, now, found.failed, observed.rivals
    )
    if not rolled.ready:
        return replace(rolled, events=[*plan.events, *rolled.events]), None
    state = {**found.state, "rolledBackBy": rolled.status["revision"]}
    history = [
        {**entry, "verification": state} if entry.get("revision") == state["revision"] else entry
        for entry in rolled.status.get("history") or ()
    ]
    status = {**rolled.status, "history": history, "verification": state}
    return replace(rolled, status=status, events=[*plan.events, *rolled.events]), 0.0


def _fight(
    release: ReleaseView, plan: ReleasePlan, observed: Observed, clock: float
) -> tuple[ReleasePlan, Fight, float]:
    """A plan that only puts back a ConfigMap someone else changed goes through the fight
    policy: at once, or held back (the plan without its ConfigMap write) for the wait given."""
    if plan.config_map is None or not any(e.reason in DRIFT_REASONS for e in plan.events):
        return plan, observed.fight, 0.0
    fought = decide_fight(observed.fight_policy, observed.fight, clock)
    if fought.wait:
        kept = [event for event in plan.events if event.reason not in DRIFT_REASONS]
        return replace(plan, config_map=None, events=kept), fought.fight, fought.wait
    if fought.announce:
        text = fight_message(release.config_map_name, observed.fight_policy, fought)
        plan = replace(plan, events=[*plan.events, Event(release_core.WARNING, FOUGHT, text)])
    return plan, fought.fight, 0.0


def report(
    plan: ReleasePlan,
    release: ReleaseView,
    version: VersionView | None,
    gate: governance.Gate | None,
    now: str,
) -> ReleasePlan:
    """Add the Compliant condition (and a PolicyViolation Event when it is news), judged on
    the status this pass writes (a revision that just went live with approvals counts)."""
    previous = release.status.raw.get("conditions")
    after = replace(release, status=ReleaseStatusView(plan.status))
    condition, news = governance.compliance(gate, after, version, previous, now)
    if condition is None:
        return plan
    status = dict(plan.status)
    status["conditions"] = conditions.with_condition(
        list(status.get("conditions") or []), condition
    )
    events = list(plan.events)
    if news:
        events.append(Event(release_core.WARNING, governance.POLICY_VIOLATION, news))
    return replace(plan, status=status, events=events)
