"""spec.evaluation: the paired evaluation Job the operator runs for a candidate, and what its
outcome does to the release. Pure: the shell gathers the Jobs and results, this decides.

A candidate is the version spec.promotion waits for (spec.version, or with `auto` what `from`
serves) while its Evidence gate is missing. For it the operator starts ONE Job (its name a
digest of the release, the candidate's and the live version's hashes and the last
`kubectl prompt eval run` request) that judges the candidate against what is live on the
same dataset and records a PromptEvaluation with a baseline: the evidence the gate reads.
`kubectl prompt eval run` (the annotation RUN_ANNOTATION) starts a new run now: for the
candidate, or for what is live when none waits.

A run whose Job fails, passes its deadline, or completes without a result that counts is
`Failed`: the release says EvaluationFailed (held: Ready=False, Stalled=True) and keeps serving
its live revision; a new candidate or `kubectl prompt eval run` starts over.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from prompt_release import GROUP
from prompt_release.core import conditions, evaluation_manifests, evaluation_schedule, payload
from prompt_release.core.canary_jobs import JOB_COMPLETE, JOB_FAILED, JobState
from prompt_release.core.evaluation import EvaluationView, Requirements, verdict
from prompt_release.core.evaluation_manifests import CANDIDATE, LIVE, Judged, Settings
from prompt_release.core.evaluation_schedule import CronState
from prompt_release.core.hashing import short_hash
from prompt_release.core.release import NORMAL, WARNING, Event, still_serving
from prompt_release.core.views import ReleaseView, VersionView

RUN_ANNOTATION = f"{GROUP}/evaluate"
"""Set by `kubectl prompt eval run` (any new value): start a run now."""
EVALUATING, PASSED, FAILED = "Evaluating", "Passed", "Failed"
EVALUATION_STARTED = "EvaluationStarted"
EVALUATION_FAILED = "EvaluationFailed"
EMPTY: Mapping[str, Any] = {}


@dataclass(frozen=True)
class Inputs:
    """What the shell gathers for a release with spec.evaluation."""

    jobs: Mapping[str, JobState] = field(default_factory=dict)
    """This release's evaluation Jobs, by name (a creation refused: its failed state)."""
    live_evaluations: Sequence[EvaluationView] = ()
    """The PromptEvaluations of the version live now."""
    cron_job: CronState | None = None
    """The CronJob of spec.evaluation.schedule, as it is now."""


@dataclass(frozen=True)
class Outcome:
    """What spec.evaluation adds to one pass."""

    create: list[dict[str, Any]] = field(default_factory=list)
    """The run's ConfigMap, then its Job (each: one that exists is the same run's)."""
    status: dict[str, Any] | None = None
    """status.evaluation (None: none, or spec.evaluation is gone)."""
    failed: str | None = None
    """The candidate's run failed: why (the release says EvaluationFailed)."""
    events: list[Event] = field(default_factory=list)
    schedule: evaluation_schedule.Action | None = None
    """What to do about the schedule's CronJob."""


def thresholds(body: Mapping[str, Any]) -> dict[str, Any]:
    """spec.evaluation's minScore and maxRegression, as evidence rules."""
    raw = (body.get("spec") or EMPTY).get("evaluation")
    if not isinstance(raw, Mapping):
        return {}
    return {k: raw[k] for k in ("minScore", "maxRegression") if raw.get(k) is not None}


def waiting_candidate(promotion: Mapping[str, Any] | None) -> tuple[str, str] | None:
    """(version, hash) of the candidate whose Evidence gate is missing, if any."""
    found = promotion or EMPTY
    gates = found.get("gates") or ()
    missing = any(g.get("name") == "Evidence" and not g.get("passed") for g in gates)
    if not missing or not found.get("candidate") or not found.get("candidateHash"):
        return None
    return str(found["candidate"]), str(found["candidateHash"])


def _judged(
    release: ReleaseView,
    candidate: tuple[str, str] | None,
    versions: Sequence[VersionView | None],
    live_payload: str | None,
    fresh: bool,
    now: str,
) -> Judged | None:
    """What this pass's run judges: the waiting candidate paired with what is live, or (on a
    fresh request with no candidate) what is live."""
    live = release.status
    if candidate is not None:
        name, content = candidate
        version = next(
            (v for v in versions if v is not None and (v.name, v.content_hash) == candidate), None
        )
        if version is None:
            return None
        text = evaluation_manifests.candidate_payload(version.spec, release, name, content, now)
        if not live.revision or live_payload is None:
            return Judged(CANDIDATE, name, content, text)
        return Judged(CANDIDATE, name, content, text, live.version, live.hash or None, live_payload)
    if fresh and live.revision and live.version and live.hash and live_payload is not None:
        return Judged(LIVE, live.version, live.hash, live_payload)
    return None


def live_payload(config_map: Mapping[str, Any] | None) -> str | None:
    """The live ConfigMap's prompt.json, as workloads read it."""
    found = ((config_map or EMPTY).get("data") or EMPTY).get(payload.PAYLOAD_KEY)
    return None if found is None else str(found)


def plan(
    release: ReleaseView,
    body: Mapping[str, Any],
    promotion: Mapping[str, Any] | None,
    versions: Sequence[VersionView | None],
    config_map: Mapping[str, Any] | None,
    inputs: Inputs | None,
    now: str,
) -> Outcome:
    """The run of this pass: which, whether to start its Job, and where it stands."""
    settings = Settings.of(body)
    inputs = inputs or Inputs()
    schedule = evaluation_schedule.plan(release, body, inputs.cron_job)
    if settings is None:
        return Outcome(schedule=schedule)
    stored = dict(release.status.raw.get("evaluation") or EMPTY)
    run = str((release.annotations or EMPTY).get(RUN_ANNOTATION) or "")
    fresh = bool(run) and run != stored.get("run")
    judged = _judged(
        release, waiting_candidate(promotion), versions, live_payload(config_map), fresh, now
    )
    if judged is None:
        return Outcome(status=_settled(stored, release, promotion) or None, schedule=schedule)
    same = (stored.get("subject"), stored.get("hash"), stored.get("baselineHash")) == (
        judged.kind,
        judged.hash,
        judged.baseline_hash,
    )
    if same and not fresh:
        name, started = str(stored.get("job") or ""), str(stored.get("startedAt") or now)
    else:
        name, started = evaluation_manifests.job_name(release, judged, run), now
        stored = {}
    state = inputs.jobs.get(name)
    phase, message, result = _phase(judged, state, promotion, settings, inputs, started)
    status = {
        "subject": judged.kind,
        "version": judged.version,
        "hash": judged.hash,
        "baselineVersion": judged.baseline_version,
        "baselineHash": judged.baseline_hash,
        "job": name,
        "run": run or None,
        "startedAt": started,
        "phase": phase,
        "message": message,
        "result": result,
    }
    status = {k: v for k, v in status.items() if v is not None}
    create: list[dict[str, Any]] = []
    if state is None and phase == EVALUATING:
        create = [
            evaluation_manifests.config_map(release, name, judged, settings),
            evaluation_manifests.job(release, name, judged, settings),
        ]
    events = _events(stored, status, bool(create))
    failed = message if judged.kind == CANDIDATE and phase == FAILED else None
    return Outcome(create, status, failed, events, schedule)


def _phase(
    judged: Judged,
    state: JobState | None,
    promotion: Mapping[str, Any] | None,
    settings: Settings,
    inputs: Inputs,
    started: str,
) -> tuple[str, str, str | None]:
    """(phase, message, the PromptEvaluation it rests on) of a run."""
    if judged.kind == LIVE:
        found = _live_result(judged, settings, inputs.live_evaluations, started)
        if found is not None:
            return found
        why = "no PromptEvaluation of it recorded since the run started"
    else:
        gates = (promotion or EMPTY).get("gates") or ()
        why = next((str(g["message"]) for g in gates if g.get("name") == "Evidence"), "")
    if state is not None and state.phase == JOB_FAILED:
        return FAILED, f"evaluation Job {state.name} failed: {state.message or 'no reason'}", None
    if state is not None and state.phase == JOB_COMPLETE:
        return (
            FAILED,
            f"evaluation Job {state.name} completed without a result that counts: {why}",
            None,
        )
    target = f"{judged.version} ({short_hash(judged.hash)})"
    against = (
        f" against {judged.baseline_version} ({short_hash(judged.baseline_hash)})"
        if judged.baseline_hash
        else ""
    )
    return EVALUATING, f"evaluating {target}{against}", None


def _live_result(
    judged: Judged, settings: Settings, found: Sequence[EvaluationView], started: str
) -> tuple[str, str, str | None] | None:
    """A run of what is live: the newest result for its hash since the run started."""
    rules = Requirements(min_score=settings.min_score)
    recent = [e for e in found if e.created >= started]
    judged_now = verdict(recent, judged.version, judged.hash, rules)
    newest = max(
        (e for e in recent if e.version == judged.version and e.hash == judged.hash),
        key=lambda e: (e.created, e.name),
        default=None,
    )
    if newest is None:
        return None
    if newest in judged_now.counting:
        message = f"{newest.short}: score {newest.score:g} on {short_hash(newest.dataset_hash)}"
        return PASSED, message, newest.name
    why = next((w for w in judged_now.refused if w.startswith(newest.short)), newest.short)
    return FAILED, why, newest.name


def _settled(
    stored: dict[str, Any], release: ReleaseView, promotion: Mapping[str, Any] | None
) -> dict[str, Any]:
    """No run this pass: a candidate's run whose candidate went live, or whose evidence now
    counts, passed; anything else stays as it was."""
    if stored.get("subject") != CANDIDATE or stored.get("phase") != EVALUATING:
        return stored
    found = promotion or EMPTY
    evidence = next((g for g in found.get("gates") or () if g.get("name") == "Evidence"), None)
    same = (found.get("candidate"), found.get("candidateHash")) == (
        stored.get("version"),
        stored.get("hash"),
    )
    live = release.status.hash == stored.get("hash")
    if live or (same and evidence is not None and evidence.get("passed")):
        message = str(evidence["message"]) if same and evidence else "live now"
        return {**stored, "phase": PASSED, "message": message}
    return stored


def _events(stored: Mapping[str, Any], status: Mapping[str, Any], starting: bool) -> list[Event]:
    news = (stored.get("job"), stored.get("phase")) != (status.get("job"), status.get("phase"))
    if starting and stored.get("job") != status.get("job"):
        return [Event(NORMAL, EVALUATION_STARTED, f"Job {status['job']}: {status['message']}")]
    if news and status.get("phase") == FAILED:
        return [Event(WARNING, EVALUATION_FAILED, str(status.get("message")))]
    return []


def report(
    status: Mapping[str, Any], outcome: Outcome, release: ReleaseView, now: str
) -> dict[str, Any]:
    """The pass's status with status.evaluation; a failed candidate's run says
    EvaluationFailed in the Promotion condition and, while spec.version waits, in Ready
    (Stalled: it needs a new run or another candidate)."""
    out = {k: v for k, v in status.items() if k != "evaluation"}
    if outcome.status is not None:
        out["evaluation"] = outcome.status
    if outcome.failed is None:
        return out
    message = f"the evaluation of the candidate failed: {outcome.failed}"
    generation, previous = release.generation, release.status.raw.get("conditions")
    found = list(out.get("conditions") or ())
    if "promotion" in out:
        out["promotion"] = {**out["promotion"], "state": EVALUATION_FAILED, "message": message}
        found = conditions.with_condition(
            found,
            conditions.condition(
                "Promotion", "False", EVALUATION_FAILED, message, generation, now, previous
            ),
        )
    if conditions.ready_of(out).get("reason") in ("Soaking", "AwaitingEvidence"):
        for kind, value in (
            (conditions.READY, "False"),
            (conditions.RECONCILING, "False"),
            (conditions.STALLED, "True"),
        ):
            text = still_serving(release, message)
            found = conditions.with_condition(
                found,
                conditions.condition(
                    kind, value, EVALUATION_FAILED, text, generation, now, previous
                ),
            )
    out["conditions"] = found
    return out
