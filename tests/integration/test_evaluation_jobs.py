"""spec.evaluation on the real API server: the operator runs one paired evaluation Job for the
candidate spec.promotion waits for, its result (recorded as the evaluator's ServiceAccount
would) opens the evidence gate, and a Job that fails leaves what is live as it was.

kwok runs no containers: the test records the PromptEvaluation itself, impersonating the Job's
ServiceAccount, and a Job fails through kwok's exit-code annotation on its pod template.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from prompt_release.core.evaluation import dataset_hash
from prompt_release.core.identity import EVALUATION_REQUESTED_BY
from tests.integration.conftest import REPO, Prompt
from tests.integration.test_governance import as_user, policy
from tests.integration.test_history_records import defaults, grant_releases  # noqa: F401
from tests.integration.test_promotion import CASES, hash_of
from tests.kube import Kubectl, OperatorProcess, eventually
from tests.prompts import API, apply, condition, release, released, version, wait_reason

pytestmark = pytest.mark.integration

PRODUCTION, STAGING = "summarizer-production", "summarizer-staging"
EVALUATOR = "evaluator"


EXIT_CODE = "kwok.promptrelease.io/exit-code"


def evaluation(exit_code: int | None = None) -> dict[str, Any]:
    """spec.evaluation: a judge Job (kwok: runs until the test records, or exits with
    `exit_code`), inline cases, paired thresholds."""
    annotations = {} if exit_code is None else {EXIT_CODE: str(exit_code)}
    pod = {
        "metadata": {"annotations": annotations},
        "spec": {"containers": [{"name": "judge", "image": "example.com/judge:1.4.0"}]},
    }
    return {
        "jobTemplate": {"spec": {"template": pod}},
        "serviceAccountName": EVALUATOR,
        "dataset": {"name": "tickets", "cases": CASES},
        "minScore": 0.8,
        "maxRegression": 0.05,
        "deadline": "2m",
    }


@pytest.fixture
def evaluator(kubectl: Kubectl, namespace: str) -> Callable[..., Any]:
    """The evaluator's ServiceAccount, allowed what the chart's prompt-evaluator role allows;
    kubectl impersonating it."""
    kubectl("create", "serviceaccount", EVALUATOR)
    kubectl(
        "create",
        "role",
        "prompt-evaluator",
        "--verb=create,get,list",
        "--resource=promptevaluations.promptrelease.io",
    )
    account = f"{namespace}:{EVALUATOR}"
    kubectl(
        "create", "rolebinding", EVALUATOR, "--role=prompt-evaluator", f"--serviceaccount={account}"
    )

    def run(*args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return kubectl.run(f"--as=system:serviceaccount:{account}", *args, input=input, check=False)

    return run


def staged(
    kubectl: Kubectl, exit_code: int | None = None, by: Callable[..., Any] | None = None
) -> None:
    """staging and production at v1; staging at v2; production asks for v2 behind a 1 s soak
    and spec.evaluation (applied `by` someone else than the admin, if given)."""
    apply(kubectl, version("summarizer-v1"), version("summarizer-v2"))
    apply(kubectl, release("summarizer-v1", label="staging"), release("summarizer-v1"))
    released(kubectl, STAGING, 1)
    released(kubectl, PRODUCTION, 1)
    apply(kubectl, release("summarizer-v2", label="staging"))
    released(kubectl, STAGING, 2)
    promotion = {"from": "staging", "soak": "1s"}
    target = release("summarizer-v2", promotion=promotion, evaluation=evaluation(exit_code))
    if by is None:
        apply(kubectl, target)
        return
    done = by("apply", "-f", "-", input=json.dumps(target))
    assert done.returncode == 0, done.stderr


def evaluation_jobs(kubectl: Kubectl) -> list[dict[str, Any]]:
    listed = json.loads(kubectl("get", "jobs", "-l", "promptrelease.io/evaluation", "-o", "json"))
    return list(listed["items"])


def running_job(kubectl: Kubectl) -> dict[str, Any]:
    name = eventually(
        lambda: (kubectl.get("promptrelease", PRODUCTION)["status"].get("evaluation") or {}).get(
            "job"
        ),
        what="the evaluation Job in status.evaluation",
    )
    return eventually(
        lambda: next((j for j in evaluation_jobs(kubectl) if j["metadata"]["name"] == name), None),
        what=f"Job {name}",
    )


def result(version_name: str, content_hash: str, baseline: dict[str, Any]) -> dict[str, Any]:
    """The PromptEvaluation the judge records (as `kubectl prompt eval record` would)."""
    return {
        "apiVersion": API,
        "kind": "PromptEvaluation",
        "metadata": {"generateName": f"{version_name}-"},
        "spec": {
            "version": version_name,
            "hash": content_hash,
            "dataset": {"name": "tickets", "hash": dataset_hash(CASES), "size": len(CASES)},
            "evaluator": {"name": "judge", "version": "1.4.0"},
            "score": 0.9,
            "threshold": 0.8,
            "passed": True,
            "baseline": baseline,
        },
    }


class Writes:
    """What the operator writes to one object, counted from a watch of it."""

    def __init__(self, kubectl: Kubectl, kind: str) -> None:
        argv = [str(kubectl.binary), "-n", str(kubectl.namespace), "get", kind]
        argv += [PRODUCTION, "-w", "--output-watch-events", "-o", "json"]
        self.process = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, env=kubectl.env)

    def versions(self) -> list[int]:
        self.process.terminate()
        out, _ = self.process.communicate(timeout=10)
        decoder, found, at = json.JSONDecoder(), [], 0
        while at < len(out.strip()):
            event, at = decoder.raw_decode(out, at)
            found.append(int(event["object"]["metadata"]["resourceVersion"]))
            while at < len(out) and out[at].isspace():
                at += 1
        return found


def created_since(kubectl: Kubectl, kind: str, since: int) -> list[dict[str, Any]]:
    listed = json.loads(kubectl("get", kind, "-o", "json"))["items"]
    return [o for o in listed if int(o["metadata"]["resourceVersion"]) > since]


def test_a_paired_evaluation_job_gathers_the_evidence_that_promotes(
    kubectl: Kubectl,
    run_operator: Callable[..., OperatorProcess],
    evaluator: Callable[..., Any],
) -> None:
    first = run_operator()
    staged(kubectl)
    job = running_job(kubectl)
    waiting = wait_reason(kubectl, PRODUCTION, "AwaitingEvidence")
    assert waiting["status"]["version"] == "summarizer-v1"
    v1, v2 = hash_of(kubectl, "summarizer-v1"), hash_of(kubectl, "summarizer-v2")
    state = waiting["status"]["evaluation"]
    assert (state["subject"], state["phase"]) == ("Candidate", "Evaluating")
    assert (state["hash"], state["baselineHash"]) == (v2, v1)
    assert job["metadata"]["ownerReferences"][0]["name"] == PRODUCTION
    pod = job["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == EVALUATOR and job["spec"]["activeDeadlineSeconds"] == 120
    env = {e["name"]: e["value"] for e in pod["containers"][0]["env"]}
    assert env["PROMPT_CANDIDATE_HASH"] == v2 and env["PROMPT_BASELINE_HASH"] == v1
    assert env["PROMPT_DATASET_HASH"] == dataset_hash(CASES)
    assert (env["PROMPT_MIN_SCORE"], env["PROMPT_MAX_REGRESSION"]) == ("0.8", "0.05")
    mounted = kubectl.get("configmap", job["metadata"]["name"])["data"]
    live = kubectl.get("configmap", PRODUCTION)["data"]["prompt.json"]
    assert mounted["baseline.json"] == live  # the live content, frozen for the run
    assert json.loads(mounted["candidate.json"])["hash"] == v2
    assert [json.loads(line) for line in mounted["cases.json"].splitlines()] == CASES

    first.stop()  # a restart never starts a second run for the same candidate
    run_operator()
    time.sleep(2)
    assert [j["metadata"]["name"] for j in evaluation_jobs(kubectl)] == [job["metadata"]["name"]]

    writes, config_map_writes = Writes(kubectl, "promptrelease"), Writes(kubectl, "configmap")
    time.sleep(1)  # both watches started
    body = result("summarizer-v2", v2, {"version": "summarizer-v1", "hash": v1, "score": 0.92})
    made = evaluator("create", "-o", "json", "-f", "-", input=json.dumps(body))
    assert made.returncode == 0, made.stderr
    recorded_at = int(json.loads(made.stdout)["metadata"]["resourceVersion"])
    start = time.monotonic()
    promoted = released(kubectl, PRODUCTION, 2, interval=0.1)
    took = time.monotonic() - start
    entry = promoted["status"]["history"][0]
    assert entry["version"] == "summarizer-v2"
    assert entry["promotion"]["evidence"][0]["baselineScore"] == 0.92
    assert promoted["status"]["evaluation"]["phase"] == "Passed"
    time.sleep(2)  # what the operator writes once promoted, counted too
    status_writes = [v for v in writes.versions() if v > recorded_at]
    config_maps = [v for v in config_map_writes.versions() if v > recorded_at]
    records = created_since(kubectl, "controllerrevisions", recorded_at)
    events = created_since(kubectl, "events", recorded_at)
    print(
        f"\nevidence recorded -> promoted: {took:.2f} s; operator writes: "
        f"{len(status_writes)} release status, {len(config_maps)} ConfigMap, "
        f"{len(records)} history record, "
        f"{len(events)} Events ({', '.join(sorted(e['reason'] for e in events))})"
    )


def test_a_failed_evaluation_job_says_so_keeps_what_is_live_and_runs_again_on_request(
    kubectl: Kubectl,
    operator: OperatorProcess,
    evaluator: Callable[..., Any],
    prompt: Prompt,
) -> None:
    staged(kubectl, exit_code=1)
    failed = wait_reason(kubectl, PRODUCTION, "EvaluationFailed")
    assert condition(failed, "Stalled")["status"] == "True"
    assert "evaluation Job" in condition(failed)["message"]
    assert "still serving revision 1 (summarizer-v1)" in condition(failed)["message"]
    assert failed["status"]["evaluation"]["phase"] == "Failed"
    assert failed["status"]["promotion"]["state"] == "EvaluationFailed"
    annotations = kubectl.get("configmap", PRODUCTION)["metadata"]["annotations"]
    assert annotations["promptrelease.io/version"] == "summarizer-v1"
    reasons = json.loads(kubectl("get", "events", "-o", "json"))["items"]
    assert "EvaluationFailed" in {e["reason"] for e in reasons}
    assert len(evaluation_jobs(kubectl)) == 1  # no retry by itself
    shown = prompt("eval", "status", PRODUCTION)
    assert shown.returncode == 1, shown.stderr
    assert "Evidence" in shown.stdout and "NO" in shown.stdout and "Failed" in shown.stdout

    judge = evaluation()  # the judge fixed (a merge patch removes the annotation by null)
    judge["jobTemplate"]["spec"]["template"]["metadata"]["annotations"] = {EXIT_CODE: None}
    fixed = {"spec": {"evaluation": judge}}  # and a run on request
    kubectl("patch", "promptrelease", PRODUCTION, "--type=merge", "-p", json.dumps(fixed))
    started = prompt("eval", "run", "summarizer", "-l", "production")
    assert started.returncode == 0, started.stdout + started.stderr
    assert "Evaluating" in started.stdout
    assert len(evaluation_jobs(kubectl)) == 2
    wait_reason(kubectl, PRODUCTION, "AwaitingEvidence")
    v1, v2 = hash_of(kubectl, "summarizer-v1"), hash_of(kubectl, "summarizer-v2")
    body = result("summarizer-v2", v2, {"version": "summarizer-v1", "hash": v1, "score": 0.88})
    assert evaluator("create", "-f", "-", input=json.dumps(body)).returncode == 0
    released(kubectl, PRODUCTION, 2)
    settled = prompt("eval", "status", PRODUCTION)
    assert settled.returncode == 0, settled.stdout + settled.stderr
    assert " yes " in settled.stdout  # the result counts


@pytest.fixture
def people(kubectl: Kubectl) -> tuple[Any, Any]:
    """eve may release, nadia is also the namespace's admin (she may create Jobs)."""
    kubectl("create", "rolebinding", "admins", "--clusterrole=admin", "--user=nadia@example.com")
    grant_releases(kubectl, "eve@example.com", "nadia@example.com")
    return as_user(kubectl, "eve@example.com"), as_user(kubectl, "nadia@example.com")


@pytest.mark.usefixtures("defaults")  # the chart's default policies: identity stamped
def test_an_evaluation_job_runs_only_for_a_requester_who_could_create_it(
    kubectl: Kubectl, operator: OperatorProcess, people: tuple[Any, Any]
) -> None:
    """eve may release but not create Jobs: the spec.evaluation she sets runs nothing (the
    release says EvaluationFailed, naming her); a run nadia asks for (she may create Jobs)
    starts."""
    eve, nadia = people
    staged(kubectl, by=eve)
    annotations = kubectl.get("promptrelease", PRODUCTION)["metadata"]["annotations"]
    assert annotations[EVALUATION_REQUESTED_BY] == "eve@example.com"
    refused = wait_reason(kubectl, PRODUCTION, "EvaluationFailed")
    message = condition(refused)["message"]
    assert "eve@example.com set spec.evaluation or asked for this run and may not" in message
    assert evaluation_jobs(kubectl) == []
    asked = nadia("annotate", "promptrelease", PRODUCTION, "promptrelease.io/evaluate=1")
    assert asked.returncode == 0, asked.stderr
    annotations = kubectl.get("promptrelease", PRODUCTION)["metadata"]["annotations"]
    assert annotations[EVALUATION_REQUESTED_BY] == "nadia@example.com"
    eventually(lambda: evaluation_jobs(kubectl), what="the evaluation Job nadia asked for")
    wait_reason(kubectl, PRODUCTION, "AwaitingEvidence")


@pytest.mark.usefixtures("defaults")  # the chart's default policies: recordedBy stamped
def test_on_a_protected_label_only_a_trusted_evaluators_result_counts(
    kubectl: Kubectl, operator: OperatorProcess, evaluator: Callable[..., Any]
) -> None:
    """PromptPolicy trustedEvaluators: a passing result recorded by the namespace's admin is
    named and ignored; the same result recorded by the evaluator's ServiceAccount promotes."""
    trusted = {"serviceAccounts": [{"name": EVALUATOR}]}
    apply(kubectl, policy("evaluators", labels=["production"], trustedEvaluators=trusted))
    staged(kubectl)
    running_job(kubectl)
    v1, v2 = hash_of(kubectl, "summarizer-v1"), hash_of(kubectl, "summarizer-v2")
    body = result("summarizer-v2", v2, {"version": "summarizer-v1", "hash": v1, "score": 0.88})
    kubectl("create", "-f", "-", input=json.dumps(body))  # the admin, not a trusted evaluator

    def refused() -> str | None:
        gates = kubectl.get("promptrelease", PRODUCTION)["status"]["promotion"].get("gates") or []
        found = [g["message"] for g in gates if g["name"] == "Evidence" and not g["passed"]]
        return found[0] if found and "trusted evaluators" in found[0] else None

    message = eventually(refused, what="the admin's result named as untrusted")
    assert "not one of the trusted evaluators of PromptPolicy evaluators" in message
    assert kubectl.get("promptrelease", PRODUCTION)["status"]["revision"] == 1
    assert evaluator("create", "-f", "-", input=json.dumps(body)).returncode == 0
    promoted = released(kubectl, PRODUCTION, 2)
    (kept,) = promoted["status"]["history"][0]["promotion"]["evidence"]
    assert kept["recordedBy"] == f"system:serviceaccount:{kubectl.namespace}:{EVALUATOR}"


def test_the_shipped_evaluator_judges_what_the_operator_mounts(
    kubectl: Kubectl, operator: OperatorProcess, evaluator: Callable[..., Any], tmp_path: Path
) -> None:
    """manifests/examples/evaluation over the examples: the operator starts the Job for v2
    against v1; judge.py, given exactly what the Job mounts and its environment, records the
    result that opens production's Evidence gate (its soak still runs)."""
    examples = REPO / "manifests" / "examples"
    kubectl("apply", "-f", str(examples / "ticket-summarizer.yaml"))
    built = yaml.safe_load_all(kubectl("kustomize", str(examples / "evaluation")))
    objects = [o for o in built if o["kind"] not in ("RoleBinding", "ServiceAccount")]
    for found in objects:
        found["metadata"].pop("namespace", None)
    apply(kubectl, *objects)
    name = "ticket-summarizer-production"
    try:
        job = eventually(lambda: evaluation_jobs(kubectl), what="the example's evaluation Job")[0]
    except AssertionError as error:
        status = kubectl.get("promptrelease", name).get("status")
        raise AssertionError(f"{error}\n{name} status: {json.dumps(status, indent=1)}") from None
    container = job["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["PROMPT_DATASET_FILE"] == "/etc/prompt-dataset/cases.jsonl"
    mounted = kubectl.get("configmap", job["metadata"]["name"])["data"]
    dataset = kubectl.get("configmap", "support-tickets")["data"]["cases.jsonl"]
    files = {
        "PROMPT_CANDIDATE_FILE": mounted["candidate.json"],
        "PROMPT_BASELINE_FILE": mounted["baseline.json"],
        "PROMPT_DATASET_FILE": dataset,
    }
    for key, text in files.items():
        (tmp_path / key).write_text(text)
        env[key] = str(tmp_path / key)
    judged = subprocess.run(
        [sys.executable, str(examples / "evaluation" / "judge.py"), "--print"],
        env={**os.environ, **env, "PYTHONPATH": str(REPO / "operator")},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert judged.returncode == 0, judged.stderr
    made = evaluator("create", "-f", "-", input=judged.stdout)
    assert made.returncode == 0, made.stderr

    def gates() -> dict[str, Any] | None:
        found = kubectl.get("promptrelease", name).get("status", {}).get("promotion") or {}
        passed = {g["name"]: g["passed"] for g in found.get("gates") or ()}
        return found if passed == {"Soak": False, "Evidence": True} else None

    found = eventually(gates, what="v2 soaking with the judge's evidence counted")
    assert found["candidate"] == "ticket-summarizer-v2"


def test_a_failing_result_of_what_is_live_rolls_back_when_the_release_asks(
    kubectl: Kubectl, operator: OperatorProcess, evaluator: Callable[..., Any]
) -> None:
    """What is live judged again (as a scheduled run records): a failing result newer than the
    passing one sets Evaluated=False with an Event, and rollbackOnFailure brings v1 back."""
    apply(kubectl, version("summarizer-v1"), version("summarizer-v2"))
    apply(kubectl, release("summarizer-v1"))
    released(kubectl, PRODUCTION, 1)
    spec = {**evaluation(), "rollbackOnFailure": True}
    apply(kubectl, release("summarizer-v2", evaluation=spec))
    released(kubectl, PRODUCTION, 2)
    v2 = hash_of(kubectl, "summarizer-v2")
    good = result("summarizer-v2", v2, {})
    del good["spec"]["baseline"]
    assert evaluator("create", "-f", "-", input=json.dumps(good)).returncode == 0

    def evaluated(status: str) -> dict[str, Any] | None:
        found = kubectl.get("promptrelease", PRODUCTION)
        return found if condition(found, "Evaluated").get("status") == status else None

    eventually(lambda: evaluated("True"), what="Evaluated=True on the passing result")
    time.sleep(1)  # the failing result is the newer one (creation times are in seconds)
    bad = json.loads(json.dumps(good))
    bad["spec"].update(score=0.4, passed=False)
    assert evaluator("create", "-f", "-", input=json.dumps(bad)).returncode == 0
    try:
        rolled = wait_reason(kubectl, PRODUCTION, "RolledBackOnFailure")
    except AssertionError as error:
        status = kubectl.get("promptrelease", PRODUCTION).get("status")
        raise AssertionError(f"{error}\nstatus: {json.dumps(status, indent=1)}") from None
    assert (rolled["status"]["version"], rolled["status"]["revision"]) == ("summarizer-v1", 3)
    assert "its evaluation failed" in rolled["status"]["history"][1]["rolloutFailed"]
    reasons = {e["reason"] for e in json.loads(kubectl("get", "events", "-o", "json"))["items"]}
    assert {"EvaluationFailed", "RolledBackOnFailure"} <= reasons


def test_the_schedule_is_a_cron_job_that_follows_spec_evaluation(
    kubectl: Kubectl, operator: OperatorProcess
) -> None:
    """spec.evaluation.schedule: the operator's CronJob mounts what is live and follows the
    schedule (replaced when it changes, deleted when it goes); inline cases are refused."""
    apply(kubectl, version("summarizer-v1"))
    inline = {**evaluation(), "schedule": "0 3 * * *"}
    refused = kubectl.run(
        "apply",
        "-f",
        "-",
        input=json.dumps(release("summarizer-v1", evaluation=inline)),
        check=False,
    )
    assert refused.returncode != 0 and "put the cases in dataset.configMap" in refused.stderr
    spec = {**evaluation(), "schedule": "0 3 * * *", "dataset": {"configMap": "tickets"}}
    apply(kubectl, release("summarizer-v1", evaluation=spec))
    released(kubectl, PRODUCTION, 1)
    name = f"{PRODUCTION}-evaluate"
    eventually(lambda: kubectl.exists("cronjob", name), what="the schedule's CronJob")
    cron = kubectl.get("cronjob", name)
    assert cron["metadata"]["ownerReferences"][0]["name"] == PRODUCTION
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    volumes = {v["name"]: v["configMap"] for v in pod["volumes"]}
    assert volumes["prompt-evaluation"]["name"] == PRODUCTION
    assert volumes["prompt-dataset"]["name"] == "tickets"
    hourly = {"spec": {"evaluation": {"schedule": "@hourly"}}}
    kubectl("patch", "promptrelease", PRODUCTION, "--type=merge", "-p", json.dumps(hourly))
    eventually(
        lambda: kubectl.get("cronjob", name)["spec"]["schedule"] == "@hourly",
        what="the CronJob on the new schedule",
    )
    gone = {"spec": {"evaluation": {"schedule": None}}}
    kubectl("patch", "promptrelease", PRODUCTION, "--type=merge", "-p", json.dumps(gone))
    eventually(lambda: not kubectl.exists("cronjob", name), what="the CronJob deleted")
