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
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from prompt_release import GROUP
from prompt_release.core import canary, conditions, configmap, governance, payload
from prompt_release.core import release as release_core
from prompt_release.core.hashing import short_hash
from prompt_release.core.release import NORMAL, WARNING, Event, ReleasePlan
from prompt_release.core.views import ReleaseStatusView, ReleaseView, VersionView

# status.canary.phase
PROGRESSING, PAUSED, COMPLETED, ABORTED, PROMOTED = (
    "Progressing",
    "Paused",
    "Completed",
    "Aborted",
    "Promoted",
)
# status.canary.phase of a candidate held by the two-person rule (nothing served).
AWAITING_APPROVAL, REJECTED = governance.AWAITING_APPROVAL, governance.REJECTED
HELD = (AWAITING_APPROVAL, REJECTED)
# Condition and Event reasons (see docs/api.md).
CANARY_PROGRESSING = "CanaryProgressing"
CANARY_PAUSED = "CanaryPaused"
ANALYSIS_FAILED = "AnalysisFailed"
CANARY_ABORTED = "CanaryAborted"
CANARY_STARTED = "CanaryStarted"
CANARY_WEIGHT = "CanaryWeightChanged"
CANARY_COMPLETED = "CanaryCompleted"
CANARY_PROMOTED = "CanaryPromoted"
ANALYSIS_STARTED = "AnalysisStarted"
ANALYSIS_PASSED = "AnalysisPassed"
# status.lastCanary.outcome
OUTCOME_PROMOTED, OUTCOME_ABORTED = "Promoted", "Aborted"

SET_WEIGHT, PAUSE, ANALYSIS = "setWeight", "pause", "analysis"
JOB_COMPLETE, JOB_FAILED, JOB_RUNNING = "Complete", "Failed", "Running"

MOUNT_PATH = "/etc/prompt-canary"
VOLUME = "prompt-canary"
ENV_VERSION, ENV_HASH, ENV_DIR = "PROMPT_CANARY_VERSION", "PROMPT_CANARY_HASH", "PROMPT_CANARY_DIR"
RELEASE_LABEL = f"{GROUP}/release"
STEP_LABEL = f"{GROUP}/canary-step"

_DURATION = re.compile(r"^([0-9]+)(s|m|h)?$")
_UNITS = {"s": 1, "m": 60, "h": 3600, None: 1}
_TIME = "%Y-%m-%dT%H:%M:%SZ"


def parse_duration(text: object) -> float | None:
    """Seconds of `90`, `90s`, `5m`, `1h`; None when it is none of these."""
    found = _DURATION.match(str(text).strip())
    return None if found is None else float(int(found.group(1)) * _UNITS[found.group(2)])


def _time(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, _TIME).replace(tzinfo=dt.UTC)


def _text(moment: dt.datetime) -> str:
    return moment.strftime(_TIME)


def _percent(weight: float) -> str:
    return f"{canary.normal_weight(weight)} %"


@dataclass(frozen=True)
class Step:
    index: int
    type: str
    weight: float | None = None
    duration: float | None = None
    job_template: Mapping[str, Any] | None = None

    @classmethod
    def of(cls, index: int, raw: Mapping[str, Any]) -> Step:
        if raw.get("setWeight") is not None:
            return cls(index, SET_WEIGHT, weight=float(raw["setWeight"]))
        if raw.get("analysis") is not None:
            template = (raw.get("analysis") or {}).get("jobTemplate") or {}
            return cls(index, ANALYSIS, job_template=template)
        pause = raw.get("pause") or {}
        duration = pause.get("duration")
        return cls(index, PAUSE, duration=None if duration is None else parse_duration(duration))

    @property
    def manual(self) -> bool:
        return self.type == PAUSE and self.duration is None


@dataclass(frozen=True)
class CanarySpec:
    """spec.canary, read once."""

    version: str
    pin: str | None
    weight: float
    segments: tuple[canary.Segment, ...]
    steps: tuple[Step, ...]
    resume_step: int | None
    digest: str

    @classmethod
    def of(cls, body: Mapping[str, Any]) -> CanarySpec | None:
        raw = (body.get("spec") or {}).get("canary")
        if not isinstance(raw, Mapping):
            return None
        resume = raw.get("resumeStep")
        return cls(
            version=str(raw.get("version", "")),
            pin=raw.get("hash") or None,
            weight=float(raw.get("weight") or 0),
            segments=tuple(canary.Segment.of(s) for s in raw.get("segments") or ()),
            steps=tuple(Step.of(i, s) for i, s in enumerate(raw.get("steps") or ())),
            resume_step=None if resume is None else int(resume),
            digest=hashlib.sha256(
                json.dumps(raw, sort_keys=True, separators=(",", ":")).encode()
            ).hexdigest()[:16],
        )


@dataclass(frozen=True)
class JobState:
    """What the shell saw of an analysis Job."""

    name: str
    phase: str
    message: str = ""

    @classmethod
    def of(cls, job: Mapping[str, Any]) -> JobState:
        name = str((job.get("metadata") or {}).get("name", ""))
        for found in (job.get("status") or {}).get("conditions") or ():
            if found.get("status") != "True":
                continue
            if found.get("type") == "Complete":
                return cls(name, JOB_COMPLETE)
            if found.get("type") == "Failed":
                why = ": ".join(str(x) for x in (found.get("reason"), found.get("message")) if x)
                return cls(name, JOB_FAILED, why)
        return cls(name, JOB_RUNNING)

    @classmethod
    def refused(cls, name: str, why: str) -> JobState:
        """A Job the API server would not create: the analysis fails with this."""
        return cls(name, JOB_FAILED, f"the analysis Job could not be created: {why}")


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


def job_name(release: ReleaseView, state: Mapping[str, Any], index: int) -> str:
    """The analysis Job of one step of one canary run: the same after a restart, another for
    another run (its start time is in the name's digest)."""
    seed = f"{release.uid}:{state.get('hash')}:{state.get('startedAt')}:{index}"
    digest = hashlib.sha256(seed.encode()).hexdigest()[:8]
    return f"{release.name[:44].rstrip('-')}-a{index}-{digest}"


def analysis_job(
    release: ReleaseView, step: Step, name: str, version: str, content_hash: str
) -> dict[str, Any]:
    """The Job of an analysis step: the user's template, with the release's ConfigMap (and so
    canary.json) mounted at MOUNT_PATH and the candidate's version and hash in the env."""
    template = json.loads(json.dumps(step.job_template or {}))  # a deep copy
    meta = template.get("metadata") or {}
    spec = dict(template.get("spec") or {})
    pod = dict(spec.get("template") or {})
    pod_spec = dict(pod.get("spec") or {})
    volumes = [v for v in pod_spec.get("volumes") or () if v.get("name") != VOLUME]
    volumes.append({"name": VOLUME, "configMap": {"name": release.config_map_name}})
    pod_spec["volumes"] = volumes
    env = [
        {"name": ENV_VERSION, "value": version},
        {"name": ENV_HASH, "value": content_hash},
        {"name": ENV_DIR, "value": MOUNT_PATH},
    ]
    for kind in ("initContainers", "containers"):
        if kind not in pod_spec:
            continue
        containers = []
        for container in pod_spec[kind] or ():
            container = dict(container)
            ours = {e["name"] for e in env}
            container["env"] = [e for e in container.get("env") or () if e.get("name") not in ours]
            container["env"] += env
            mounts = [m for m in container.get("volumeMounts") or () if m.get("name") != VOLUME]
            mounts.append({"name": VOLUME, "mountPath": MOUNT_PATH, "readOnly": True})
            container["volumeMounts"] = mounts
            containers.append(container)
        pod_spec[kind] = containers
    pod["spec"] = pod_spec
    spec["template"] = pod
    labels = {
        **(meta.get("labels") or {}),
        configmap.MANAGED_BY: configmap.OPERATOR,
        configmap.PROMPT_LABEL: release.prompt,
        configmap.LABEL_LABEL: release.label,
        RELEASE_LABEL: release.name,
        STEP_LABEL: str(step.index),
    }
    annotations = {
        **(meta.get("annotations") or {}),
        configmap.VERSION_ANNOTATION: version,
        configmap.HASH_ANNOTATION: content_hash,
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": release.namespace,
            "labels": labels,
            "annotations": annotations,
            "ownerReferences": [configmap.owner_reference(release)],
        },
        "spec": spec,
    }


def _refusal_of(error: Exception) -> tuple[str, str] | None:
    """`release.resolve` refuses with a reason and a message, as it does a release."""
    reason, message = getattr(error, "reason", None), getattr(error, "message", None)
    if isinstance(reason, str) and isinstance(message, str):
        return reason, message
    return None


def _stable_live(stable: ReleasePlan) -> bool:
    """Did the stable plan serve its version (Ready, or only its rollout isn't done)?"""
    if not stable.status.get("revision"):
        return False
    reason = conditions.ready_of(stable.status).get("reason")
    return stable.ready or reason in {"RollingOut", "RolloutFailed", "RolledBackOnFailure"}


@dataclass
class _Pass:
    """The working state of one canary pass."""

    release: ReleaseView
    stable: ReleasePlan
    now: str
    status: dict[str, Any]
    events: list[Event] = field(default_factory=list)
    create_jobs: list[dict[str, Any]] = field(default_factory=list)
    delete_jobs: list[str] = field(default_factory=list)
    wake_in: float | None = None
    poll: bool = False
    stable_data: dict[str, str] = field(default_factory=dict)
    """prompt.json and template.txt as they will be."""
    summary: tuple[str, str, str] | None = None
    """(kind: ready|reconciling|stalled|held, reason, message) for the conditions; None: leave
    them."""
    held: governance.HeldError | None = None
    """The candidate waits for approval, or was rejected (summary kind "held")."""

    def say(self, kind: str, reason: str, message: str) -> None:
        self.events.append(Event(kind, reason, message))

    def wake(self, seconds: float) -> None:
        self.wake_in = seconds if self.wake_in is None else min(self.wake_in, seconds)


def plan(
    release: ReleaseView,
    body: Mapping[str, Any],
    stable: ReleasePlan,
    existing: Mapping[str, Any] | None,
    candidate: VersionView | None,
    job: JobState | None,
    now: str,
    gate: governance.Gate | None = None,
) -> CanaryPlan:
    """The stable plan with the canary's part added (see the module's docstring); `gate`
    holds the candidate back until it is approved, when a PromptPolicy says so."""
    if not _stable_live(stable):
        return CanaryPlan(stable)  # the stable version is refused: the canary waits as it is
    spec = CanarySpec.of(body)
    before: dict[str, Any] | None = dict(release.status.raw.get("canary") or {}) or None
    work = _Pass(release, stable, now, dict(stable.status))
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
        text = _run(work, spec, before, candidate, job, live_text, gate)
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


def _mark_promotion(work: _Pass, before: Mapping[str, Any] | None) -> None:
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
        history[0]["canary"] = origin
        status["history"] = history
    work.say(
        NORMAL,
        CANARY_PROMOTED,
        f"Revision {status['revision']} promotes the canary {before['version']} "
        f"({short_hash(str(before['hash']))}), which served {_percent(before.get('weight', 0))}",
    )


def _ended(
    work: _Pass, state: Mapping[str, Any], outcome: str, message: str | None = None
) -> dict[str, Any]:
    last = {k: v for k, v in state.items() if k not in ("resumesAt", "analysisJob", "specDigest")}
    last.update(endedAt=work.now, outcome=outcome)
    if message:
        last["message"] = message
    if state.get("analysisJob"):
        work.delete_jobs.append(str(state["analysisJob"]))
    return last


def _end(work: _Pass, before: Mapping[str, Any] | None) -> None:
    """spec.canary is gone: promoted if the candidate is live now, else aborted."""
    work.status.pop("canary", None)
    if not before or before.get("phase") in HELD:
        return  # it never served
    live = (work.status.get("version"), work.status.get("hash"))
    if before.get("phase") == ABORTED:
        outcome = str(before.get("reason") or OUTCOME_ABORTED)
        work.status["lastCanary"] = _ended(work, before, outcome)
    elif before.get("phase") == PROMOTED or live == (before.get("version"), before.get("hash")):
        work.status["lastCanary"] = _ended(work, before, OUTCOME_PROMOTED, "promoted")
    else:
        message = (
            f"spec.canary was removed: the canary {before.get('version')} "
            f"({short_hash(str(before.get('hash')))}) at {_percent(before.get('weight', 0))} "
            "is aborted; everyone gets the stable version"
        )
        work.status["lastCanary"] = _ended(work, before, OUTCOME_ABORTED, message)
        work.say(WARNING, CANARY_ABORTED, message)


def _resolve(
    work: _Pass, spec: CanarySpec, candidate: VersionView | None
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
    work: _Pass, spec: CanarySpec, candidate: VersionView, state: Mapping[str, Any]
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


def _run(
    work: _Pass,
    spec: CanarySpec,
    before: dict[str, Any] | None,
    candidate: VersionView | None,
    job: JobState | None,
    live_text: str | None,
    gate: governance.Gate | None = None,
) -> str | None:
    """spec.canary is set: start, carry on, or hold the canary; the canary.json to serve."""
    computed, refused = _resolve(work, spec, candidate)
    if refused is not None or candidate is None or computed is None:
        _refused(work, before, refused or ("VersionNotFound", "no candidate"))
        return live_text
    live = (work.status.get("version"), work.status.get("hash"))
    if live == (spec.version, computed):
        state = _promoted(work, before, spec, computed)
        work.status["canary"] = state
        return None
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
    text = _candidate_text(work, spec, candidate, state)
    size = configmap.size(work.stable_data) + len(text.encode("utf-8"))
    if size > configmap.CONFIGMAP_LIMIT:
        _refused(
            work,
            before,
            (
                release_core.PAYLOAD_TOO_LARGE,
                f"prompt.json, template.txt and canary.json would be {size} bytes with "
                f"PromptVersion {candidate.name} as the candidate, over the ConfigMap limit of "
                f"{configmap.CONFIGMAP_LIMIT} bytes",
            ),
        )
        return live_text
    state = _advance(work, spec, state, job, canary_live=_holds(live_text, state))
    work.status["canary"] = state
    if state.get("phase") == ABORTED:
        work.summary = ("stalled", ANALYSIS_FAILED, _aborted_message(work, state))
        return None
    return _candidate_text(work, spec, candidate, state)


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


def _refused(work: _Pass, before: Mapping[str, Any] | None, refused: tuple[str, str]) -> None:
    """A refused candidate: canary.json and status.canary stay as they are."""
    reason, why = refused
    status = work.status
    if before and before.get("phase") not in (ABORTED, PROMOTED, *HELD):
        tail = (
            f"the canary of {before.get('version')} at {_percent(before.get('weight', 0))} "
            "carries on"
        )
    else:
        tail = f"still serving revision {status.get('revision')} ({status.get('version')}) to all"
    message = f"canary: {why}; {tail}"
    work.summary = ("stalled", reason, message)
    if conditions.ready_of(work.release.status.raw).get("message") != message:
        work.say(WARNING, reason, message)


def _held(
    work: _Pass,
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
        work.status["lastCanary"] = _ended(work, before, outcome, why)
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
    work: _Pass, before: Mapping[str, Any] | None, spec: CanarySpec, computed: str
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
    work: _Pass, spec: CanarySpec, before: dict[str, Any] | None, computed: str
) -> dict[str, Any]:
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
        if before.get("phase") == PROMOTED:
            outcome = OUTCOME_PROMOTED
        elif before.get("phase") == ABORTED:
            outcome = str(before.get("reason") or OUTCOME_ABORTED)
        else:
            outcome = OUTCOME_ABORTED
        work.status["lastCanary"] = _ended(
            work, before, outcome, None if outcome != OUTCOME_ABORTED else "replaced"
        )
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
        f"Canary {spec.version} ({short_hash(computed)}) started at {_percent(spec.weight)} "
        f"next to revision {work.status.get('revision')} ({work.status.get('version')})",
    )
    return state


def _record(state: dict[str, Any], step: Step) -> dict[str, Any]:
    """The status record of the current step (added when the step starts)."""
    records: list[dict[str, Any]] = state["steps"]
    if not records or records[-1].get("index") != step.index or records[-1].get("finishedAt"):
        records.append(
            {"index": step.index, "type": step.type, "startedAt": state["stepStartedAt"]}
        )
    return records[-1]


def _advance(
    work: _Pass, spec: CanarySpec, state: dict[str, Any], job: JobState | None, canary_live: bool
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
    now = _time(work.now)
    index = int(state.get("step") or 0)
    phase, message = PROGRESSING, ""
    while index < len(spec.steps):
        step = spec.steps[index]
        record = _record(state, step)
        where = f"step {index + 1}/{len(spec.steps)}"
        if step.type == SET_WEIGHT:
            _set_weight(work, state, float(step.weight or 0), f"{where} (setWeight)")
        elif step.manual:
            if spec.resume_step is None or spec.resume_step < index:
                phase = PAUSED
                message = (
                    f"{where}: paused until a human resumes it (kubectl prompt canary resume), "
                    "promotes or aborts the canary"
                )
                if was != (PAUSED, index):
                    work.say(NORMAL, CANARY_PAUSED, f"Canary {state['version']}: {message}")
                break
        elif step.type == PAUSE:
            ends = _time(str(state["stepStartedAt"])) + dt.timedelta(seconds=step.duration or 0)
            if now < ends:
                state["resumesAt"] = _text(ends)
                message = f"{where}: paused until {_text(ends)}"
                work.wake((ends - now).total_seconds())
                break
        else:
            stop, message = _analysis(work, state, step, record, job, canary_live, where)
            if stop:
                break
        record["finishedAt"] = work.now
        index += 1
        state.update(step=index, stepStartedAt=work.now)
    else:
        phase = COMPLETED
        message = (
            f"all {len(spec.steps)} steps done: promote it or abort it"
            if spec.steps
            else "serving; promote it or abort it"
        )
        if spec.steps and state.get("phase") != COMPLETED:
            work.say(
                NORMAL,
                CANARY_COMPLETED,
                f"Canary {state['version']} finished its steps at {_percent(state['weight'])}",
            )
    if state.get("phase") == ABORTED:
        return state
    state.update(phase=phase, message=message)
    if phase == PROGRESSING:
        work.summary = ("reconciling", CANARY_PROGRESSING, message)
    elif phase == PAUSED:
        work.summary = ("reconciling", CANARY_PAUSED, message)
    return state


def _set_weight(work: _Pass, state: dict[str, Any], weight: float, why: str) -> None:
    new = canary.normal_weight(weight)
    if state.get("weight") != new:
        work.say(
            NORMAL,
            CANARY_WEIGHT,
            f"Canary {state['version']}: {_percent(state.get('weight') or 0)} -> "
            f"{_percent(new)} ({why})",
        )
    state["weight"] = new


def _analysis(
    work: _Pass,
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


def _aborted_message(work: _Pass, state: Mapping[str, Any]) -> str:
    return (
        f"the canary {state.get('version')} ({short_hash(str(state.get('hash')))}) was aborted: "
        f"{state.get('message')}; serving revision {work.status.get('revision')} "
        f"({work.status.get('version')}) to all; change or remove spec.canary"
    )


def _config_map(
    work: _Pass,
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


def _conditions(work: _Pass) -> None:
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
                f"{_percent(state.get('weight') or 0)} ({state.get('message')})"
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
                f"{_percent(state.get('weight') or 0)}, {message}"
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


# -- what `kubectl prompt canary` does to a release's spec (the operator never edits it) ------


class CanaryEditError(ValueError):
    """A canary verb that doesn't fit the release as it is; the message says why."""


def _canary_of(spec: Mapping[str, Any], name: str) -> dict[str, Any]:
    found = spec.get("canary")
    if not isinstance(found, Mapping):
        raise CanaryEditError(f"{name} runs no canary (spec.canary is unset)")
    return dict(found)


def start_spec(
    spec: Mapping[str, Any],
    name: str,
    *,
    version: str,
    weight: float,
    pin: str | None = None,
    steps: Sequence[Mapping[str, Any]] | None = None,
    segments: Sequence[Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """spec with a canary of `version` (replacing any canary it runs)."""
    if version == spec.get("version"):
        raise CanaryEditError(f"{version} is the stable version of {name} already")
    if not 0 <= weight <= 100:
        raise CanaryEditError(f"the weight is a percentage (0-100), not {weight}")
    found: dict[str, Any] = {"version": version, "weight": canary.normal_weight(weight)}
    if pin:
        found["hash"] = pin
    if segments:
        found["segments"] = [dict(segment) for segment in segments]
    if steps:
        found["steps"] = [dict(step) for step in steps]
    return {**spec, "canary": found}


def weight_spec(spec: Mapping[str, Any], name: str, weight: float) -> dict[str, Any]:
    """spec with the canary's weight set (it applies at once, until the next setWeight step)."""
    found = _canary_of(spec, name)
    if not 0 <= weight <= 100:
        raise CanaryEditError(f"the weight is a percentage (0-100), not {weight}")
    return {**spec, "canary": {**found, "weight": canary.normal_weight(weight)}}


def promote_spec(
    spec: Mapping[str, Any], status: Mapping[str, Any], name: str, changelog: str | None
) -> dict[str, Any]:
    """spec with the candidate as the stable version, hash-pinned, and no canary: the next
    revision, whose history entry says it was a canary and at which weight."""
    found = _canary_of(spec, name)
    state = status.get("canary") or {}
    if state.get("version") != found.get("version") or not state.get("hash"):
        raise CanaryEditError(
            f"the canary {found.get('version')} of {name} isn't running (yet): see kubectl "
            "prompt canary status"
        )
    if state.get("phase") == ABORTED:
        raise CanaryEditError(
            f"the canary {state['version']} of {name} was aborted ({state.get('reason')}: "
            f"{state.get('message')}); start it again or release it with kubectl prompt release"
        )
    promoted = {k: v for k, v in spec.items() if k != "canary"}
    promoted.update(version=state["version"], hash=state["hash"])
    promoted["changelog"] = changelog or (
        f"Promote the canary {state['version']} from {_percent(state.get('weight') or 0)}"
    )
    return promoted


def abort_spec(spec: Mapping[str, Any], name: str) -> dict[str, Any]:
    """spec without its canary: everyone gets the stable version; status.lastCanary says so."""
    _canary_of(spec, name)
    return {k: v for k, v in spec.items() if k != "canary"}


def resume_spec(spec: Mapping[str, Any], status: Mapping[str, Any], name: str) -> dict[str, Any]:
    """spec that lets the canary past the manual pause it waits at."""
    found = _canary_of(spec, name)
    state = status.get("canary") or {}
    if state.get("phase") != PAUSED:
        raise CanaryEditError(
            f"the canary of {name} is not paused at a manual step "
            f"(phase {state.get('phase') or 'unknown'})"
        )
    return {**spec, "canary": {**found, "resumeStep": int(state.get("step") or 0)}}
