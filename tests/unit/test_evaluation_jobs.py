"""spec.evaluation decided without a cluster: one paired run per candidate, named the same
after a restart, its failure held on the release, its thresholds evidence rules."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prompt_release.core import evaluation_jobs, evaluation_schedule, promotion
from prompt_release.core.canary_jobs import JobState
from prompt_release.core.decision import Decision, Now, Observed, decide
from prompt_release.core.evaluation import EvaluationView
from prompt_release.core.views import ReleaseView, VersionView
from tests.unit.test_promotion import T0, evaluation, hash_of, staging
from tests.unit.test_release_plan import release, version

SOAKED = "2026-12-04T10:00:00Z"
SOAKING = "2026-12-04T09:30:00Z"
SPEC = {
    "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "judge"}]}}}},
    "serviceAccountName": "evaluator",
    "dataset": {"name": "tickets", "cases": [{"ticket": "printer on fire"}]},
    "minScore": 0.8,
    "maxRegression": 0.02,
}


def production(**evaluation_spec: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Production live at p-v1, pointed at p-v2 behind spec.promotion and spec.evaluation;
    and its live ConfigMap."""
    first = decide(
        Observed(body=release(), version=VersionView.of(version()), config_map=None), Now(T0, 0)
    )
    assert first.status is not None and first.config_map is not None
    spec = {
        **release()["spec"],
        "version": "p-v2",
        "promotion": {"from": "staging", "soak": "1h"},
        "evaluation": {**SPEC, **evaluation_spec},
    }
    return {**release(), "spec": spec, "status": first.status}, first.config_map


def at(
    body: Mapping[str, Any],
    config_map: Mapping[str, Any],
    now: str = SOAKED,
    jobs: Mapping[str, JobState] | None = None,
    evaluations: tuple[EvaluationView, ...] = (),
) -> Decision:
    return decide(
        Observed(
            body=body,
            version=VersionView.of(version(body["spec"]["version"])),
            config_map=config_map,
            promotion=promotion.Inputs(
                source=staging(),
                candidate=VersionView.of(version("p-v2")),
                live=VersionView.of(version("p-v1")),
                evaluations=evaluations,
            ),
            evaluation=evaluation_jobs.Inputs(jobs=jobs or {}),
        ),
        Now(now, 0),
    )


def condition(decided: Decision, kind: str = "Ready") -> Mapping[str, Any]:
    return next(c for c in decided.planned_status["conditions"] if c["type"] == kind)


def env_of(job: Mapping[str, Any]) -> dict[str, str]:
    container = job["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e["value"] for e in container["env"]}


def test_a_candidate_waiting_for_evidence_gets_one_paired_run_even_while_it_soaks() -> None:
    body, config_map = production()
    decided = at(body, config_map, now=SOAKING)
    made, job = decided.evaluation.create
    assert made["kind"] == "ConfigMap" and job["kind"] == "Job"
    assert made["metadata"]["name"] == job["metadata"]["name"]
    assert made["data"]["baseline.json"] == config_map["data"]["prompt.json"]
    env = env_of(job)
    assert env["PROMPT_CANDIDATE_HASH"] == hash_of("p-v2")
    assert env["PROMPT_BASELINE_HASH"] == hash_of("p-v1")
    assert env["PROMPT_MAX_REGRESSION"] == "0.02"
    assert job["spec"]["activeDeadlineSeconds"] == 600 and job["spec"]["backoffLimit"] == 0
    assert job["spec"]["template"]["spec"]["serviceAccountName"] == "evaluator"
    assert decided.planned_status["evaluation"]["phase"] == "Evaluating"
    assert [e.reason for e in decided.events if e.reason.startswith("Evaluation")] == [
        "EvaluationStarted"
    ]
    again = at(body, config_map, now=SOAKED)
    assert again.evaluation.create[1]["metadata"]["name"] == job["metadata"]["name"]


def test_a_run_in_progress_is_not_started_again() -> None:
    body, config_map = production()
    first = at(body, config_map)
    name = first.planned_status["evaluation"]["job"]
    body = {**body, "status": first.planned_status}
    running = at(body, config_map, jobs={name: JobState(name, "Running")})
    assert running.evaluation.create == [] and condition(running)["reason"] == "AwaitingEvidence"


def test_a_failed_run_holds_the_candidate_with_evaluation_failed() -> None:
    body, config_map = production()
    first = at(body, config_map)
    name = first.planned_status["evaluation"]["job"]
    body = {**body, "status": first.planned_status}
    failed = at(body, config_map, jobs={name: JobState(name, "Failed", "DeadlineExceeded")})
    ready = condition(failed)
    assert (ready["status"], ready["reason"]) == ("False", "EvaluationFailed")
    assert "DeadlineExceeded" in ready["message"] and "still serving revision 1" in ready["message"]
    assert condition(failed, "Stalled")["status"] == "True"
    assert failed.config_map is None and failed.evaluation.create == []
    assert failed.planned_status["promotion"]["state"] == "EvaluationFailed"
    assert "EvaluationFailed" in [e.reason for e in failed.events]
    settled = at(
        {**body, "status": failed.planned_status}, config_map, jobs={name: JobState(name, "Failed")}
    )
    assert "EvaluationFailed" not in [e.reason for e in settled.events]  # told once


def test_the_thresholds_of_spec_evaluation_are_evidence_rules() -> None:
    body, config_map = production()
    baseline = {"version": "p-v1", "hash": hash_of("p-v1"), "score": 0.9}
    worse = evaluation(score=0.85, baseline=baseline)
    held = at(body, config_map, evaluations=(worse,))
    assert "regresses: 0.85" in held.planned_status["promotion"]["message"]
    good = evaluation(score=0.89, baseline=baseline)
    promoted = at(body, config_map, evaluations=(good,))
    assert promoted.planned_status["version"] == "p-v2"
    assert promoted.evaluation.create == []


def test_a_run_request_without_a_candidate_evaluates_what_is_live() -> None:
    body, config_map = production()
    body["spec"] = {**body["spec"], "version": "p-v1"}
    body["metadata"] = {**body["metadata"], "annotations": {evaluation_jobs.RUN_ANNOTATION: "1"}}
    decided = at(body, config_map)
    state = decided.planned_status["evaluation"]
    assert (state["subject"], state["version"], state["run"]) == ("Live", "p-v1", "1")
    assert "PROMPT_BASELINE_HASH" not in env_of(decided.evaluation.create[1])


def live_at_v2(**evaluation_spec: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Production live at p-v2 (revision 2, after p-v1), with spec.evaluation."""
    first = decide(
        Observed(body=release(), version=VersionView.of(version()), config_map=None), Now(T0, 0)
    )
    assert first.status is not None
    body = {**release("p-v2"), "status": first.status}
    second = decide(
        Observed(body=body, version=VersionView.of(version("p-v2")), config_map=first.config_map),
        Now(T0, 0),
    )
    assert second.status is not None and second.config_map is not None
    spec = {**release("p-v2")["spec"], "evaluation": {**SPEC, **evaluation_spec}}
    return {**release("p-v2"), "spec": spec, "status": second.status}, second.config_map


def judged(
    body: Mapping[str, Any], config_map: Mapping[str, Any], *results: EvaluationView
) -> Decision:
    return decide(
        Observed(
            body=body,
            version=VersionView.of(version("p-v2")),
            config_map=config_map,
            previous=VersionView.of(version("p-v1")),
            evaluation=evaluation_jobs.Inputs(live_evaluations=results),
        ),
        Now(SOAKED, 0),
    )


def result_at(name: str, created: str, score: float) -> EvaluationView:
    found = evaluation(name=name, score=score, passed=score >= 0.8)
    return EvaluationView.of(
        {
            "metadata": {"name": name, "namespace": "ns", "creationTimestamp": created},
            "spec": {
                "version": found.version,
                "hash": found.hash,
                "dataset": {"name": "tickets", "hash": found.dataset_hash},
                "evaluator": {"name": "judge", "version": "1"},
                "score": score,
                "passed": found.passed,
            },
        }
    )


def test_a_failing_result_of_what_is_live_newer_than_the_passing_one_says_so() -> None:
    body, config_map = live_at_v2()
    good = result_at("good", "2026-12-04T09:00:00Z", 0.9)
    passing = judged(body, config_map, good)
    assert condition(passing, "Evaluated")["status"] == "True"
    bad = result_at("bad", "2026-12-04T09:30:00Z", 0.5)
    failing = judged(body, config_map, good, bad)
    evaluated = condition(failing, "Evaluated")
    assert (evaluated["status"], evaluated["reason"]) == ("False", "EvaluationFailed")
    assert "bad did not pass (score 0.5)" in evaluated["message"]
    assert "EvaluationFailed" in [e.reason for e in failing.events]
    assert failing.planned_status["version"] == "p-v2"  # no rollback unless asked
    again = judged({**body, "status": failing.planned_status}, config_map, good, bad)
    assert "EvaluationFailed" not in [e.reason for e in again.events]  # told once
    newer = result_at("newer", "2026-12-04T09:45:00Z", 0.95)
    assert condition(judged(body, config_map, good, bad, newer), "Evaluated")["status"] == "True"


def test_with_rollback_on_failure_a_failing_live_version_gives_way_to_the_previous() -> None:
    body, config_map = live_at_v2(rollbackOnFailure=True)
    bad = result_at("bad", "2026-12-04T09:30:00Z", 0.5)
    rolled = judged(body, config_map, bad)
    status = rolled.planned_status
    assert (status["version"], status["revision"]) == ("p-v1", 3)
    assert "its evaluation failed" in status["history"][1]["rolloutFailed"]
    reasons = [e.reason for e in rolled.events]
    assert "EvaluationFailed" in reasons and "RolledBackOnFailure" in reasons
    assert rolled.config_map is not None


def test_a_schedule_is_a_cron_job_created_replaced_and_deleted_with_it() -> None:
    body, _ = live_at_v2(schedule="0 3 * * *", dataset={"configMap": "tickets"})
    release_view = ReleaseView.of(body)
    created = evaluation_schedule.plan(release_view, body, None)
    assert created is not None and created.verb == "create" and created.body is not None
    cron = created.body
    assert cron["spec"]["schedule"] == "0 3 * * *"
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (live,) = [v for v in pod["volumes"] if v["name"] == "prompt-evaluation"]
    assert live["configMap"]["items"] == [{"key": "prompt.json", "path": "candidate.json"}]
    assert "PROMPT_CANDIDATE_HASH" not in env_of(cron["spec"]["jobTemplate"])
    same = evaluation_schedule.CronState.of(cron)
    assert evaluation_schedule.plan(release_view, body, same) is None
    body["spec"]["evaluation"]["schedule"] = "@hourly"
    replaced = evaluation_schedule.plan(release_view, body, same)
    assert replaced is not None and replaced.verb == "replace"
    del body["spec"]["evaluation"]["schedule"]
    deleted = evaluation_schedule.plan(release_view, body, same)
    assert deleted is not None and deleted.verb == "delete"
