"""spec.canary.steps run in order, as far as they go in one pass: weights, pauses, analyses.

Each step's start time is kept in status.canary.stepStartedAt, so a timed pause ends on time
across operator restarts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from prompt_release.core import analysis, canary
from prompt_release.core.canary_jobs import (
    JOB_COMPLETE,
    JOB_RUNNING,
    JobState,
    analysis_job,
    job_name,
)
from prompt_release.core.canary_pass import CanaryPass
from prompt_release.core.canary_spec import (
    ABORTED,
    ANALYSIS_FAILED,
    ANALYSIS_PASSED,
    ANALYSIS_STARTED,
    CANARY_COMPLETED,
    CANARY_PAUSED,
    CANARY_PROGRESSING,
    CANARY_WEIGHT,
    COMPLETED,
    PAUSE,
    PAUSED,
    PROGRESSING,
    SET_WEIGHT,
    CanarySpec,
    Step,
    percent,
)
from prompt_release.core.release import NORMAL, WARNING

_TIME = "%Y-%m-%dT%H:%M:%SZ"


def _time(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, _TIME).replace(tzinfo=dt.UTC)


def _text(moment: dt.datetime) -> str:
    return moment.strftime(_TIME)


def advance(
    work: CanaryPass,
    spec: CanarySpec,
    state: dict[str, Any],
    job: JobState | None,
    canary_live: bool,
) -> dict[str, Any]:
    """Apply a changed spec.canary.weight, then run the steps as far as they go now."""
    was = (state.get("phase"), state.get("step"))
    state = dict(state)
    state["steps"] = [dict(record) for record in state.get("steps") or ()]
    state.pop("resumesAt", None)
    state["specDigest"] = spec.digest
    if canary.normal_weight(spec.weight) != state.get("specWeight"):
        _set_weight(work, state, spec.weight, "spec.canary.weight")
        state["specWeight"] = canary.normal_weight(spec.weight)
    phase, message = _walk(work, spec, state, job, canary_live, was)
    if state.get("phase") == ABORTED:
        return state
    state.update(phase=phase, message=message)
    if phase == PROGRESSING:
        work.summary = ("reconciling", CANARY_PROGRESSING, message)
    elif phase == PAUSED:
        work.summary = ("reconciling", CANARY_PAUSED, message)
    return state


def _walk(
    work: CanaryPass,
    spec: CanarySpec,
    state: dict[str, Any],
    job: JobState | None,
    canary_live: bool,
    was: tuple[Any, Any],
) -> tuple[str, str]:
    """Run the steps from the current one until one waits: (phase, what it waits for)."""
    index = int(state.get("step") or 0)
    while index < len(spec.steps):
        step = spec.steps[index]
        record = _record(state, step)
        waits = _one_step(work, spec, state, step, record, job, canary_live, was)
        if waits is not None:
            return waits
        record["finishedAt"] = work.now
        index += 1
        state.update(step=index, stepStartedAt=work.now)
    if spec.steps and state.get("phase") != COMPLETED:
        work.say(
            NORMAL,
            CANARY_COMPLETED,
            f"Canary {state['version']} finished its steps at {percent(state['weight'])}",
        )
    if spec.steps:
        return COMPLETED, f"all {len(spec.steps)} steps done: promote it or abort it"
    return COMPLETED, "serving; promote it or abort it"


def _one_step(
    work: CanaryPass,
    spec: CanarySpec,
    state: dict[str, Any],
    step: Step,
    record: dict[str, Any],
    job: JobState | None,
    canary_live: bool,
    was: tuple[Any, Any],
) -> tuple[str, str] | None:
    """One look at the current step: None once it is done, else (phase, what it waits for)."""
    index = step.index
    where = f"step {index + 1}/{len(spec.steps)}"
    if step.type == SET_WEIGHT:
        _set_weight(work, state, float(step.weight or 0), f"{where} (setWeight)")
        return None
    if step.manual:
        if spec.resume_step is not None and spec.resume_step >= index:
            return None
        message = (
            f"{where}: paused until a human resumes it (kubectl prompt canary resume), "
            "promotes or aborts the canary"
        )
        if was != (PAUSED, index):
            work.say(NORMAL, CANARY_PAUSED, f"Canary {state['version']}: {message}")
        return PAUSED, message
    if step.type == PAUSE:
        now = _time(work.now)
        ends = _time(str(state["stepStartedAt"])) + dt.timedelta(seconds=step.duration or 0)
        if now >= ends:
            return None
        state["resumesAt"] = _text(ends)
        work.wake((ends - now).total_seconds())
        return PROGRESSING, f"{where}: paused until {_text(ends)}"
    if step.prometheus is not None:
        return _prometheus(work, spec, state, step, record, canary_live, where, was)
    stop, message = _analysis(work, state, step, record, job, canary_live, where)
    return (PROGRESSING, message) if stop else None


def _record(state: dict[str, Any], step: Step) -> dict[str, Any]:
    """The status record of the current step (added when the step starts)."""
    records: list[dict[str, Any]] = state["steps"]
    if not records or records[-1].get("index") != step.index or records[-1].get("finishedAt"):
        records.append(
            {"index": step.index, "type": step.type, "startedAt": state["stepStartedAt"]}
        )
    return records[-1]


def _set_weight(work: CanaryPass, state: dict[str, Any], weight: float, why: str) -> None:
    new = canary.normal_weight(weight)
    if state.get("weight") != new:
        work.say(
            NORMAL,
            CANARY_WEIGHT,
            f"Canary {state['version']}: {percent(state.get('weight') or 0)} -> "
            f"{percent(new)} ({why})",
        )
    state["weight"] = new


def _analysis(
    work: CanaryPass,
    state: dict[str, Any],
    step: Step,
    record: dict[str, Any],
    job: JobState | None,
    canary_live: bool,
    where: str,
) -> tuple[bool, str]:
    """One look at an analysis step: (stop here, what the canary waits for)."""
    name = job_name(work.release, state, step.index)
    record["job"] = name
    if job is None or job.name != name:
        if not canary_live:
            work.wake(1)
            return True, f"{where}: analysis waits for canary.json to be live"
        work.create_jobs.append(
            analysis_job(work.release, step, name, str(state["version"]), str(state["hash"]))
        )
        state["analysisJob"] = name
        work.say(NORMAL, ANALYSIS_STARTED, f"Canary {state['version']}: {where}: Job {name}")
        work.poll = True
        return True, f"{where}: analysis Job {name} is running"
    if job.phase == JOB_RUNNING:
        state["analysisJob"] = name
        work.poll = True
        return True, f"{where}: analysis Job {name} is running"
    state.pop("analysisJob", None)
    if job.phase == JOB_COMPLETE:
        record["message"] = f"Job {name} completed"
        work.say(
            NORMAL, ANALYSIS_PASSED, f"Canary {state['version']}: {where}: Job {name} completed"
        )
        return False, ""
    why = f"{where}: analysis Job {name} failed" + (f" ({job.message})" if job.message else "")
    record.update(finishedAt=work.now, message=why)
    state.update(phase=ABORTED, reason=ANALYSIS_FAILED, message=why)
    work.say(WARNING, ANALYSIS_FAILED, f"Canary {state['version']} aborted: {why}")
    return True, why


def _prometheus(
    work: CanaryPass,
    spec: CanarySpec,
    state: dict[str, Any],
    step: Step,
    record: dict[str, Any],
    canary_live: bool,
    where: str,
    was: tuple[Any, Any],
) -> tuple[str, str] | None:
    """One look at a Prometheus analysis step: None once it passed, else (phase, message)."""
    assert step.prometheus is not None
    if not canary_live:
        work.wake(1)
        return PROGRESSING, f"{where}: analysis waits for canary.json to be live"
    record["query"] = step.prometheus.render(analysis.context(work.release, work.status, state))
    reading = work.reading
    if reading is not None and (reading.step, reading.hash) != (step.index, state["hash"]):
        reading = None  # taken for another step or candidate: not this one's measurement
    verdict = analysis.judge(record, step.prometheus, reading, work.now)
    told = f"Canary {state['version']}: {where}: analysis {verdict.phase.lower()}"
    if verdict.phase == analysis.SUCCESSFUL:
        record["message"] = verdict.message
        work.say(NORMAL, ANALYSIS_PASSED, f"{told}: {verdict.message}")
        return None
    if verdict.phase == analysis.FAILED:
        why = f"{where}: analysis failed: {verdict.message}"
        record.update(finishedAt=work.now, message=why)
        state.update(phase=ABORTED, reason=ANALYSIS_FAILED, message=why)
        work.say(WARNING, ANALYSIS_FAILED, f"Canary {state['version']} aborted: {why}")
        return PROGRESSING, why
    if verdict.phase == analysis.INCONCLUSIVE:
        record["message"] = verdict.message
        if spec.resume_step is not None and spec.resume_step >= step.index:
            record["message"] = f"{verdict.message}; passed by a human (resumeStep)"
            return None
        message = (
            f"{where}: analysis inconclusive ({verdict.message}): paused until a human "
            "resumes (kubectl prompt canary resume), promotes or aborts the canary"
        )
        if was != (PAUSED, step.index):
            work.say(
                WARNING, analysis.ANALYSIS_INCONCLUSIVE, f"Canary {state['version']}: {message}"
            )
        return PAUSED, message
    work.wake(verdict.wait or 0.0)
    return PROGRESSING, f"{where}: analysis measuring: {verdict.message}"


def due(body: Mapping[str, Any], now: str) -> analysis.Query | None:
    """The Prometheus query the shell should send for this release's next pass, if a
    measurement of the canary's current analysis step is due now."""
    spec = CanarySpec.of(body)
    status = body.get("status") or {}
    state = status.get("canary") or {}
    if spec is None or state.get("phase") != PROGRESSING or not state.get("hash"):
        return None
    index = int(state.get("step") or 0)
    if index >= len(spec.steps) or spec.steps[index].prometheus is None:
        return None
    prometheus = spec.steps[index].prometheus
    assert prometheus is not None
    records = [r for r in state.get("steps") or () if r.get("index") == index]
    record = records[-1] if records else {}
    if not record.get("query") or record.get("finishedAt") or prometheus.problem() is not None:
        return None  # the step isn't measuring yet (canary.json not live), or is over
    if not analysis.is_due(record, prometheus, now):
        return None
    return analysis.Query(index, str(state["hash"]), str(record["query"]))
