"""`canary_plan.plan`: a release's canary pass after pass, without a cluster.

`World` plays the operator's shell: it plans the stable part, then the canary part, writes the
ConfigMap, the status and the Jobs as `operator/canaries.py` does, at a clock the test moves.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from prompt_release.core import canary, canary_jobs, canary_plan, conditions, payload
from prompt_release.core import release as release_core
from prompt_release.core.canary_jobs import JobState
from prompt_release.core.canary_spec import CanarySpec, parse_duration
from prompt_release.core.governance import Gate
from prompt_release.core.hashing import content_hash
from prompt_release.core.release import Event
from prompt_release.core.views import ReleaseView, VersionView

UID = "11111111-2222-3333-4444-555555555555"
START = dt.datetime(2026, 11, 25, 10, 0, 0, tzinfo=dt.UTC)


def version(name: str, prompt: str = "p", **spec: Any) -> dict[str, Any]:
    body = {"prompt": prompt, "template": f"{name}: {{x}}", "variables": ["x"], **spec}
    return {"metadata": {"name": name, "namespace": "ns"}, "spec": body}


def hash_of(name: str, **spec: Any) -> str:
    return content_hash(version(name, **spec)["spec"])


JOB = {"spec": {"backoffLimit": 0, "template": {"spec": {"containers": [{"name": "eval"}]}}}}


@dataclass
class World:
    versions: dict[str, dict[str, Any]]
    spec: dict[str, Any]
    status: dict[str, Any] = field(default_factory=dict)
    config_map: dict[str, Any] | None = None
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    job_results: dict[str, JobState] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    deleted_jobs: list[str] = field(default_factory=list)
    clock: dt.datetime = START
    generation: int = 1
    last: canary_plan.CanaryPlan | None = None

    @property
    def now(self) -> str:
        return self.clock.strftime("%Y-%m-%dT%H:%M:%SZ")

    def body(self) -> dict[str, Any]:
        return {
            "apiVersion": "promptrelease.io/v1alpha1",
            "kind": "PromptRelease",
            "metadata": {
                "name": "p-production",
                "namespace": "ns",
                "uid": UID,
                "generation": self.generation,
            },
            "spec": {"prompt": "p", "label": "production", **self.spec},
            "status": self.status,
        }

    def edit(self, **spec: Any) -> None:
        for key, value in spec.items():
            if value is None:
                self.spec.pop(key, None)
            else:
                self.spec[key] = value
        self.generation += 1

    def edit_canary(self, **changes: Any) -> None:
        self.edit(canary={**self.spec["canary"], **changes})

    def view(self, name: str | None) -> VersionView | None:
        found = self.versions.get(name or "")
        return None if found is None else VersionView.of(found)

    def job_state(self) -> JobState | None:
        name = (self.status.get("canary") or {}).get("analysisJob")
        if not name or name not in self.jobs:
            return None
        return self.job_results.get(name, JobState(name, canary_jobs.JOB_RUNNING))

    def gate(self) -> Gate | None:
        """No PromptPolicy here: nothing waits for approval."""
        return None

    def reconcile(self, seconds: float = 0) -> canary_plan.CanaryPlan:
        self.clock += dt.timedelta(seconds=seconds)
        body = self.body()
        release = ReleaseView.of(body)
        gate = self.gate()
        stable = release_core.plan(
            release,
            self.view(release.target_version),
            canary_plan.stable_part(self.config_map),
            self.now,
            gate,
        )
        spec = CanarySpec.of(body)
        candidate = self.view(spec.version) if spec else None
        result = canary_plan.plan(
            release, body, stable, self.config_map, candidate, self.job_state(), self.now, gate
        )
        for job in result.create_jobs:
            self.jobs.setdefault(job["metadata"]["name"], job)
        self.deleted_jobs += result.delete_jobs
        if result.plan.config_map is not None:
            self.config_map = result.plan.config_map
        self.status = result.plan.status
        self.events += result.plan.events
        self.last = result
        return result

    # what a workload sees

    def data(self) -> dict[str, str]:
        assert self.config_map is not None
        return dict(self.config_map["data"])

    def split(self) -> canary.Canary[payload.Payload] | None:
        text = self.data().get(canary.CANARY_KEY)
        return None if text is None else canary.parse(text)

    def ready(self) -> dict[str, Any]:
        return dict(conditions.ready_of(self.status))

    def reasons(self) -> list[str]:
        return [event.reason for event in self.events]


def world(**canary_spec: Any) -> World:
    versions = {n: version(n) for n in ("p-v1", "p-v2", "p-v3")}
    w = World(versions=versions, spec={"version": "p-v1"})
    w.reconcile()
    assert w.status["revision"] == 1
    if canary_spec:
        w.edit(canary={"version": "p-v2", **canary_spec})
        w.reconcile()
    return w


def test_a_canary_adds_canary_json_and_never_touches_the_stable_keys() -> None:
    w = world()
    stable = dict(w.data())
    w.edit(canary={"version": "p-v2", "weight": 10})
    w.reconcile()
    data = w.data()
    assert {k: v for k, v in data.items() if k != canary.CANARY_KEY} == stable
    split = w.split()
    assert split is not None
    assert (split.prompt.version, split.prompt.hash) == ("p-v2", hash_of("p-v2"))
    assert split.weight == 10 and split.prompt.revision == 1
    assert split.split.salt == canary.salt_for(UID, hash_of("p-v2"))
    state = w.status["canary"]
    assert (state["version"], state["weight"], state["phase"]) == ("p-v2", 10, "Completed")
    assert state["startedAt"] == w.now
    assert w.status["revision"] == 1  # a canary is no revision
    assert w.ready()["status"] == "True" and "canary p-v2" in w.ready()["message"]
    assert "CanaryStarted" in w.reasons()
    # nothing changes: nothing is written
    again = w.reconcile(5)
    assert again.plan.config_map is None and again.plan.events == []


def test_a_refused_candidate_leaves_the_config_map_and_says_why() -> None:
    w = world()
    before = w.data()
    w.edit(canary={"version": "p-v9", "weight": 10})
    result = w.reconcile()
    assert result.plan.config_map is None and w.data() == before
    assert (w.ready()["status"], w.ready()["reason"]) == ("False", "VersionNotFound")
    assert w.ready()["message"].startswith("canary: PromptVersion p-v9 not found")
    assert "still serving revision 1 (p-v1)" in w.ready()["message"]
    assert "canary" not in w.status

    # a running canary carries on when the spec names a bad candidate
    w.edit(canary={"version": "p-v2", "weight": 10})
    w.reconcile()
    live = w.data()
    w.edit(canary={"version": "p-v2", "weight": 10, "hash": "sha256:" + "0" * 64})
    w.reconcile()
    assert w.data() == live
    assert w.ready()["reason"] == "HashMismatch"
    assert "the canary of p-v2 at 10 % carries on" in w.ready()["message"]

    w.versions["bad"] = version("bad", prompt="other")
    w.edit(canary={"version": "bad", "weight": 10})
    w.reconcile()
    assert w.ready()["reason"] == "PromptMismatch" and w.data() == live


def test_the_weight_follows_the_spec_and_the_salt_keeps_keys_sticky() -> None:
    w = world(weight=10)
    first = w.split()
    assert first is not None
    chosen10 = {k for k in range(5000) if first.split.serves_candidate(f"user-{k}")}
    w.edit_canary(weight=50)
    w.reconcile()
    second = w.split()
    assert second is not None and second.weight == 50
    chosen50 = {k for k in range(5000) if second.split.serves_candidate(f"user-{k}")}
    assert chosen10 <= chosen50
    assert 0.08 < len(chosen10) / 5000 < 0.12 and 0.47 < len(chosen50) / 5000 < 0.53
    assert "CanaryWeightChanged" in w.reasons()


def test_a_new_candidate_gets_a_new_salt() -> None:
    w = world(weight=10)
    first = w.split()
    w.edit_canary(version="p-v3")
    w.reconcile()
    second = w.split()
    assert first is not None and second is not None
    assert first.split.salt != second.split.salt and second.prompt.version == "p-v3"
    assert w.status["lastCanary"]["version"] == "p-v2"
    assert w.status["lastCanary"]["outcome"] == "Aborted"


def test_steps_advance_on_time_and_survive_a_restart() -> None:
    w = world(
        weight=1,
        steps=[
            {"setWeight": 10},
            {"pause": {"duration": "30s"}},
            {"setWeight": 50},
            {"pause": {"duration": "1m"}},
        ],
    )
    state = w.status["canary"]
    assert (state["weight"], state["step"], state["phase"]) == (10, 1, "Progressing")
    assert state["resumesAt"] == "2026-11-25T10:00:30Z"
    assert w.last is not None and w.last.wake_in == 30
    assert w.ready()["reason"] == "CanaryProgressing" and w.ready()["status"] == "Unknown"
    assert "paused until 2026-11-25T10:00:30Z" in w.ready()["message"]
    assert w.split() is not None and w.split().weight == 10  # type: ignore[union-attr]

    w.reconcile(20)  # a restart mid-pause: nothing starts from zero
    assert w.status["canary"]["step"] == 1 and w.last is not None and w.last.wake_in == 10
    w.reconcile(10)
    state = w.status["canary"]
    assert (state["weight"], state["step"]) == (50, 3)
    assert state["stepStartedAt"] == "2026-11-25T10:00:30Z"
    w.reconcile(61)
    state = w.status["canary"]
    assert (state["phase"], state["step"]) == ("Completed", 4)
    assert [(s["index"], s["type"]) for s in state["steps"]] == [
        (0, "setWeight"),
        (1, "pause"),
        (2, "setWeight"),
        (3, "pause"),
    ]
    assert all(s.get("finishedAt") for s in state["steps"])
    assert w.ready()["status"] == "True"
    assert "CanaryCompleted" in w.reasons()


def test_a_manual_pause_waits_for_resume_step() -> None:
    w = world(weight=5, steps=[{"setWeight": 10}, {"pause": {}}, {"setWeight": 30}])
    state = w.status["canary"]
    assert (state["phase"], state["step"], state["weight"]) == ("Paused", 1, 10)
    assert w.ready()["reason"] == "CanaryPaused"
    w.reconcile(3600)
    assert w.status["canary"]["phase"] == "Paused"
    assert w.reasons().count("CanaryPaused") == 1
    w.edit_canary(resumeStep=1)
    w.reconcile(1)
    state = w.status["canary"]
    assert (state["phase"], state["weight"]) == ("Completed", 30)


def test_set_weight_by_spec_overrides_until_the_next_set_weight_step() -> None:
    w = world(weight=5, steps=[{"setWeight": 10}, {"pause": {}}, {"setWeight": 30}])
    w.edit_canary(weight=20)
    w.reconcile()
    assert w.status["canary"]["weight"] == 20
    w.edit_canary(weight=20, resumeStep=1)
    w.reconcile()
    assert w.status["canary"]["weight"] == 30


def test_an_analysis_job_gates_the_next_step() -> None:
    w = world(weight=10, steps=[{"analysis": {"jobTemplate": JOB}}, {"setWeight": 40}])
    # the first pass writes canary.json; the Job starts once it is live
    assert w.jobs == {}
    w.reconcile()
    (name,) = w.jobs
    job = w.jobs[name]
    assert job["metadata"]["ownerReferences"][0]["uid"] == UID
    assert job["metadata"]["labels"]["promptrelease.io/release"] == "p-production"
    pod = job["spec"]["template"]["spec"]
    assert pod["volumes"] == [{"name": "prompt-canary", "configMap": {"name": "p-production"}}]
    (container,) = pod["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["PROMPT_CANARY_HASH"] == hash_of("p-v2")
    assert env["PROMPT_CANARY_VERSION"] == "p-v2"
    assert container["volumeMounts"][0]["mountPath"] == "/etc/prompt-canary"
    assert w.status["canary"]["analysisJob"] == name
    assert w.last is not None and w.last.poll

    w.reconcile(5)  # still running; the same Job (a restart re-plans to the same name)
    assert list(w.jobs) == [name] and w.status["canary"]["phase"] == "Progressing"
    w.job_results[name] = JobState(name, canary_jobs.JOB_COMPLETE)
    w.reconcile(5)
    state = w.status["canary"]
    assert (state["phase"], state["weight"]) == ("Completed", 40)
    assert "analysisJob" not in state and "AnalysisPassed" in w.reasons()


def test_a_failed_analysis_aborts_and_keeps_stable_exactly() -> None:
    w = world(weight=10, steps=[{"analysis": {"jobTemplate": JOB}}, {"setWeight": 40}])
    stable = {k: v for k, v in w.data().items() if k != canary.CANARY_KEY}
    w.reconcile()
    (name,) = w.jobs
    w.job_results[name] = JobState(name, canary_jobs.JOB_FAILED, "BackoffLimitExceeded")
    w.reconcile(3)
    assert w.data() == stable  # canary.json gone, the stable keys byte for byte
    assert w.status["revision"] == 1
    state = w.status["canary"]
    assert (state["phase"], state["reason"]) == ("Aborted", "AnalysisFailed")
    ready = w.ready()
    assert (ready["status"], ready["reason"]) == ("False", "AnalysisFailed")
    assert "BackoffLimitExceeded" in ready["message"]
    assert "AnalysisFailed" in w.reasons() and w.deleted_jobs == []  # the failed Job stays
    # it stays aborted: no new Job, no canary.json
    w.reconcile(60)
    assert list(w.jobs) == [name] and canary.CANARY_KEY not in w.data()
    # a change of spec.canary starts it again, with a new Job
    w.edit_canary(weight=5)
    w.reconcile(1)
    w.reconcile(1)
    assert len(w.jobs) == 2 and w.status["canary"]["phase"] == "Progressing"
    assert w.status["lastCanary"]["outcome"] == "AnalysisFailed"


def test_a_job_the_api_server_refuses_fails_the_analysis() -> None:
    w = world(weight=10, steps=[{"analysis": {"jobTemplate": JOB}}])
    body = w.body()
    release = ReleaseView.of(body)
    name = canary_jobs.job_name(release, w.status["canary"], 0)
    stable = release_core.plan(
        release, w.view("p-v1"), canary_plan.stable_part(w.config_map), w.now
    )
    result = canary_plan.plan(
        release,
        body,
        stable,
        w.config_map,
        w.view("p-v2"),
        JobState.refused(name, "spec.template.spec.containers: Required value"),
        w.now,
    )
    assert result.plan.status["canary"]["phase"] == "Aborted"
    assert "could not be created" in result.plan.status["canary"]["message"]


def test_promote_by_spec_is_a_new_revision_that_says_it_was_a_canary() -> None:
    w = world(weight=25)
    w.edit(version="p-v2", hash=hash_of("p-v2"), changelog="promote", canary=None)
    w.reconcile(10)
    assert (w.status["revision"], w.status["version"]) == (2, "p-v2")
    entry = w.status["history"][0]
    assert entry["revision"] == 2
    assert entry["canary"] == {"weight": 25, "step": 0, "startedAt": "2026-11-25T10:00:00Z"}
    assert canary.CANARY_KEY not in w.data()
    assert json.loads(w.data()["prompt.json"])["version"] == "p-v2"
    assert "canary" not in w.status
    assert w.status["lastCanary"]["outcome"] == "Promoted"
    assert "CanaryPromoted" in w.reasons() and "CanaryAborted" not in w.reasons()


def test_promote_in_git_while_spec_canary_stays_is_promoted_too() -> None:
    w = world(weight=25)
    w.edit(version="p-v2")
    w.reconcile(10)
    assert w.status["history"][0]["canary"]["weight"] == 25
    assert w.status["canary"]["phase"] == "Promoted"
    assert canary.CANARY_KEY not in w.data() and w.ready()["status"] == "True"
    assert "remove spec.canary" in w.ready()["message"]


def test_abort_by_removing_spec_canary_is_recorded() -> None:
    w = world(weight=25, steps=[{"analysis": {"jobTemplate": JOB}}])
    w.reconcile()
    (name,) = w.jobs
    w.edit(canary=None)
    w.reconcile(5)
    assert canary.CANARY_KEY not in w.data() and w.status["revision"] == 1
    last = w.status["lastCanary"]
    assert (last["outcome"], last["version"], last["weight"]) == ("Aborted", "p-v2", 25)
    assert last["endedAt"] == w.now
    assert w.deleted_jobs == [name]  # a running analysis stops with it
    assert "CanaryAborted" in w.reasons()
    assert w.ready()["status"] == "True"


def test_a_hand_edit_of_canary_json_is_put_back() -> None:
    w = world(weight=10)
    good = w.data()[canary.CANARY_KEY]
    assert w.config_map is not None
    w.config_map["data"][canary.CANARY_KEY] = good.replace('"weight": 10', '"weight": 100')
    result = w.reconcile(1)
    assert w.data()[canary.CANARY_KEY] == good
    assert [e.reason for e in result.plan.events] == ["DriftReverted"]


def test_the_stable_release_refused_freezes_the_canary() -> None:
    w = world(weight=10)
    before = dict(w.data())
    w.edit(version="p-v9")
    result = w.reconcile(1)
    assert result.plan.config_map is None and w.data() == before
    assert w.ready()["reason"] == "VersionNotFound"


def test_a_candidate_too_large_next_to_stable_is_refused() -> None:
    w = world()
    w.versions["big"] = version("big", description="x" * 700_000)
    w.versions["p-v1"] = w.versions["p-v1"]
    w.edit(version="p-v1", canary=None)
    w.versions["big2"] = version("big2", description="y" * 600_000)
    w.edit(version="big", canary={"version": "big2", "weight": 1})
    w.reconcile()
    assert w.status["version"] == "big"
    assert w.ready()["reason"] == "PayloadTooLarge"
    assert canary.CANARY_KEY not in w.data()


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90), ("90s", 90), ("5m", 300), ("2h", 7200), ("1d", None), ("-1", None)],
)
def test_durations(text: str, seconds: float | None) -> None:
    assert parse_duration(text) == seconds


def test_job_names_fit_a_label_and_differ_per_run() -> None:
    release = ReleaseView.of(
        {"metadata": {"name": "a" * 200 + "-production", "uid": UID}, "spec": {}}
    )
    one = canary_jobs.job_name(release, {"hash": "h", "startedAt": "t1"}, 3)
    two = canary_jobs.job_name(release, {"hash": "h", "startedAt": "t2"}, 3)
    assert one != two and len(one) <= 63 and one.endswith(one[-8:])
    # a run restarted in the same second by another spec.canary: another Job
    again = canary_jobs.job_name(release, {"hash": "h", "startedAt": "t1", "specDigest": "d2"}, 3)
    assert again != one
