"""Canary and A/B releases on the real API server, with the operator as its own process.

The split is measured the way a workload sees it: the ConfigMap's data, read back from the API
server, is laid out as the kubelet mounts it and read by the SDK's `MountedPrompt.select`.
Analysis Jobs run on the control plane's fake node: kwok ends their pods with the exit code
of the `kwok.promptrelease.io/exit-code` annotation.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from prompt_release.core import canary
from prompt_release.sdk import MountedPrompt
from tests.integration.test_rollout import RESTART, available, deployment
from tests.integration.test_workloads import job
from tests.kube import Kubectl, OperatorProcess, eventually
from tests.prompts import apply, condition, ready, release, released, version, wait_reason

pytestmark = pytest.mark.integration

NAME = "summarizer-production"
KEYS = [f"user-{n}" for n in range(20_000)]


class KubeletVolume:
    """A ConfigMap volume as the kubelet lays it out: `..data` -> a timestamped folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.count = 0

    def write(self, files: dict[str, str]) -> None:
        self.count += 1
        stamp = f"..2026_11_28_00_00_{self.count:02d}.{os.getpid()}"
        (self.root / stamp).mkdir()
        for key, text in files.items():
            (self.root / stamp / key).write_text(text)
        tmp = self.root / "..data_tmp"
        tmp.symlink_to(stamp)
        os.rename(tmp, self.root / "..data")
        for key in files:
            link = self.root / key
            if not link.is_symlink():
                link.symlink_to(Path("..data") / key)
        for child in self.root.iterdir():  # keys the ConfigMap no longer has
            if child.is_symlink() and child.name not in files and not child.name.startswith(".."):
                child.unlink()


def data(kubectl: Kubectl) -> dict[str, str]:
    return dict(kubectl.get("configmap", NAME)["data"])


def stable_keys(found: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in found.items() if k != canary.CANARY_KEY}


def mounted(kubectl: Kubectl, volume: KubeletVolume) -> MountedPrompt:
    volume.write(data(kubectl))
    return MountedPrompt(volume.root, check_interval=0)


def canary_state(kubectl: Kubectl, **expected: Any) -> dict[str, Any]:
    """Wait until status.canary has these fields; the release."""

    def probe() -> dict[str, Any] | None:
        obj = kubectl.get("promptrelease", NAME)
        state = obj.get("status", {}).get("canary") or {}
        return obj if all(state.get(k) == v for k, v in expected.items()) else None

    return eventually(probe, timeout=60, interval=0.3, what=f"status.canary with {expected}")


def patch_canary(kubectl: Kubectl, value: dict[str, Any] | None) -> None:
    patch = {"spec": {"canary": value}}
    kubectl("patch", "promptrelease", NAME, "--type=merge", "-p", json.dumps(patch))


def served_weight(kubectl: Kubectl, weight: float) -> dict[str, str]:
    """Wait until the ConfigMap's canary.json serves this weight; the ConfigMap's data."""

    def probe() -> dict[str, str] | None:
        found = data(kubectl)
        text = found.get(canary.CANARY_KEY)
        return found if text and json.loads(text)["weight"] == weight else None

    return eventually(probe, timeout=60, interval=0.3, what=f"canary.json at {weight} %")


def no_canary_json(kubectl: Kubectl) -> dict[str, str]:
    return eventually(
        lambda: (lambda d: d if canary.CANARY_KEY not in d else None)(data(kubectl)),
        timeout=60,
        what="canary.json gone",
    )


def promote_in_git(kubectl: Kubectl) -> None:
    """Promote as Git would: spec.version becomes the candidate and spec.canary goes."""
    kubectl(
        "patch",
        "promptrelease",
        NAME,
        "--type=merge",
        "-p",
        json.dumps({"spec": {"version": "summarizer-v2", "canary": None}}),
    )


def v1_live_with_v2_ready(kubectl: Kubectl) -> tuple[dict[str, Any], dict[str, str], str]:
    """summarizer-v1 released as revision 1, v2 there to be a candidate: the released release,
    its ConfigMap's data, and v2's hash."""
    apply(kubectl, version("summarizer-v1"), version("summarizer-v2"))
    apply(kubectl, release("summarizer-v1"))
    first = released(kubectl, NAME, 1)
    # v2 is named by no release yet: its status is written on its own schedule, not v1's.
    v2_hash = ready(kubectl, "promptversion", "summarizer-v2")["status"]["hash"]
    return first, data(kubectl), v2_hash


def test_a_sticky_split_through_the_sdk_then_abort_and_promote(
    kubectl: Kubectl, operator: OperatorProcess, tmp_path: Path
) -> None:
    first, stable, v2_hash = v1_live_with_v2_ready(kubectl)

    patch_canary(kubectl, {"version": "summarizer-v2", "weight": 10})
    obj = canary_state(kubectl, version="summarizer-v2", weight=10, phase="Completed")
    state = obj["status"]["canary"]
    assert state["hash"] == v2_hash and state["startedAt"]
    assert obj["status"]["revision"] == 1 and condition(obj)["status"] == "True"
    at10 = served_weight(kubectl, 10)
    assert stable_keys(at10) == stable  # prompt.json and template.txt: byte for byte

    volume = KubeletVolume(tmp_path / "mount")
    volume.root.mkdir()
    prompt = mounted(kubectl, volume)
    picks10 = {key: prompt.select(key=key) for key in KEYS}
    chosen10 = {key for key, p in picks10.items() if p.variant == "canary"}
    assert abs(len(chosen10) / len(KEYS) - 0.10) <= 0.015, len(chosen10)
    sample = picks10[next(iter(chosen10))]
    assert (sample.version, sample.hash) == ("summarizer-v2", v2_hash)
    assert sample.tracing_attributes()["promptrelease.variant"] == "canary"
    other = picks10[next(k for k in KEYS if k not in chosen10)]
    assert (
        other.version == "summarizer-v1"
        and other.tracing_attributes()["promptrelease.variant"] == "stable"
    )
    assert prompt.render(ticket="t") == "Summarize for summarizer-v1: t"  # render: stable
    counts = prompt.selections()
    assert counts[("canary", "summarizer-v2", v2_hash)] == len(chosen10)
    assert sum(counts.values()) == len(KEYS)
    # the same keys, asked again, get the same variant
    assert {k for k in KEYS[:2000] if prompt.select(key=k).variant == "canary"} == {
        k for k in KEYS[:2000] if k in chosen10
    }

    patch_canary(kubectl, {"version": "summarizer-v2", "weight": 50})
    at50 = served_weight(kubectl, 50)
    assert stable_keys(at50) == stable
    volume.write(at50)
    chosen50 = {key for key in KEYS if prompt.select(key=key).variant == "canary"}
    assert chosen10 <= chosen50  # raising the weight only adds keys
    assert abs(len(chosen50) / len(KEYS) - 0.50) <= 0.015, len(chosen50)
    print(
        f"\ncanary through the SDK over {len(KEYS)} keys: {len(chosen10)} "
        f"({100 * len(chosen10) / len(KEYS):.2f} %) at 10 %, {len(chosen50)} "
        f"({100 * len(chosen50) / len(KEYS):.2f} %) at 50 %, all of the first kept"
    )

    # abort: spec.canary removed; stable untouched; recorded in lastCanary
    patch_canary(kubectl, None)
    assert no_canary_json(kubectl) == stable
    aborted = eventually(
        lambda: kubectl.get("promptrelease", NAME)["status"].get("lastCanary"),
        what="status.lastCanary",
    )
    assert (aborted["outcome"], aborted["version"], aborted["weight"]) == (
        "Aborted",
        "summarizer-v2",
        50,
    )
    after = kubectl.get("promptrelease", NAME)
    assert "canary" not in after["status"] and after["status"]["revision"] == 1
    assert after["status"]["history"] == first["status"]["history"]

    # start again and promote: the candidate becomes revision 2, its history says so
    patch_canary(kubectl, {"version": "summarizer-v2", "weight": 25})
    served_weight(kubectl, 25)
    promote_in_git(kubectl)
    promoted = released(kubectl, NAME, 2)
    entry = promoted["status"]["history"][0]
    assert (entry["revision"], entry["version"], entry["hash"]) == (2, "summarizer-v2", v2_hash)
    assert entry["canary"]["weight"] == 25
    assert promoted["status"]["lastCanary"]["outcome"] == "Promoted"
    final = no_canary_json(kubectl)
    assert json.loads(final["prompt.json"])["version"] == "summarizer-v2"
    volume.write(final)
    assert prompt.select(key="anyone").version == "summarizer-v2"
    assert prompt.select(key="anyone").variant == "stable"


def test_steps_advance_a_manual_pause_waits_and_a_restart_carries_on(
    kubectl: Kubectl, run_operator: Callable[..., OperatorProcess]
) -> None:
    operator = run_operator()
    apply(kubectl, version("summarizer-v1"), version("summarizer-v2"))
    apply(kubectl, release("summarizer-v1"))
    released(kubectl, NAME, 1)
    steps = [
        {"setWeight": 10},
        {"pause": {"duration": "3s"}},
        {"setWeight": 20},
        {"pause": {}},
        {"setWeight": 30},
        {"pause": {"duration": "20s"}},
        {"setWeight": 40},
    ]
    patch_canary(kubectl, {"version": "summarizer-v2", "weight": 1, "steps": steps})
    # the timed pause ends on its own; the manual one holds
    obj = canary_state(kubectl, phase="Paused", step=3, weight=20)
    assert condition(obj)["reason"] == "CanaryPaused"
    served_weight(kubectl, 20)
    time.sleep(5)
    assert kubectl.get("promptrelease", NAME)["status"]["canary"]["step"] == 3

    patch_canary(
        kubectl, {"version": "summarizer-v2", "weight": 1, "steps": steps, "resumeStep": 3}
    )
    paused = canary_state(kubectl, phase="Progressing", step=5, weight=30)
    step_started = paused["status"]["canary"]["stepStartedAt"]
    resumes_at = paused["status"]["canary"]["resumesAt"]
    operator.stop()  # mid-pause
    time.sleep(2)
    second = run_operator()
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    assert now < resumes_at, "the restart should land inside the pause"
    assert kubectl.get("promptrelease", NAME)["status"]["canary"]["step"] == 5
    done = canary_state(kubectl, phase="Completed", step=7, weight=40)
    state = done["status"]["canary"]
    record = next(s for s in state["steps"] if s["index"] == 5)
    assert record["startedAt"] == step_started  # the pause did not start over
    assert record["finishedAt"] >= resumes_at
    assert [s["index"] for s in state["steps"]] == list(range(7))
    served_weight(kubectl, 40)
    assert done["status"]["revision"] == 1 and condition(done)["status"] == "True"

    # a restart over a canary that has finished its steps writes nothing
    second.stop()

    def versions() -> dict[str, str]:
        return {
            kind: kubectl.get(kind, NAME)["metadata"]["resourceVersion"]
            for kind in ("promptrelease", "configmap")
        }

    before = versions()
    third = run_operator()
    time.sleep(6)  # resume handlers run for every object within this
    assert third.healthy() and versions() == before


def analysis(exit_code: int) -> dict[str, Any]:
    """An analysis step whose Job's pod exits with `exit_code` (kwok plays it)."""
    return {"analysis": {"jobTemplate": {"spec": job("evaluate", exit_code)["spec"]}}}


def test_an_analysis_job_passes_then_one_fails_and_aborts_with_stable_untouched(
    kubectl: Kubectl, operator: OperatorProcess
) -> None:
    first, stable, v2_hash = v1_live_with_v2_ready(kubectl)
    # a refused candidate: the release's reason, and nothing live changes
    patch_canary(kubectl, {"version": "summarizer-v9", "weight": 10})
    refused = wait_reason(kubectl, NAME, "VersionNotFound")
    assert condition(refused)["message"].startswith("canary: PromptVersion summarizer-v9")
    assert data(kubectl) == stable and refused["status"]["revision"] == 1

    steps = [analysis(0), {"setWeight": 30}, analysis(1), {"setWeight": 60}]
    patch_canary(kubectl, {"version": "summarizer-v2", "weight": 10, "steps": steps})

    passed = canary_state(kubectl, step=2, weight=30)
    first_job = passed["status"]["canary"]["steps"][0]["job"]
    job = kubectl.get("job", first_job)
    (owner,) = job["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"]) == ("PromptRelease", NAME)
    (container,) = job["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["PROMPT_CANARY_HASH"] == v2_hash
    assert env["PROMPT_CANARY_VERSION"] == "summarizer-v2"
    assert container["volumeMounts"][-1]["mountPath"] == "/etc/prompt-canary"
    assert job["spec"]["template"]["spec"]["volumes"][-1]["configMap"]["name"] == NAME

    failed = wait_reason(kubectl, NAME, "AnalysisFailed")
    state = failed["status"]["canary"]
    assert (state["phase"], state["reason"]) == ("Aborted", "AnalysisFailed")
    assert condition(failed)["status"] == "False"
    assert no_canary_json(kubectl) == stable  # the stable keys, byte for byte
    assert failed["status"]["revision"] == 1
    assert failed["status"]["history"] == first["status"]["history"]
    cm = kubectl.get("configmap", NAME)
    assert cm["metadata"]["annotations"]["promptrelease.io/revision"] == "1"

    def reasons() -> set[str]:
        listed = json.loads(kubectl("get", "events", "-o", "json"))["items"]
        return {e["reason"] for e in listed if e["involvedObject"]["name"] == NAME}

    eventually(  # kopf posts Events in the background
        lambda: {"AnalysisStarted", "AnalysisPassed", "AnalysisFailed"} <= reasons() or None,
        what=f"the analysis Events (last seen: {sorted(reasons())})",
    )

    # aborted stays aborted: no new Job, canary.json stays away
    time.sleep(3)
    jobs = json.loads(kubectl("get", "jobs", "-o", "json"))["items"]
    assert len(jobs) == 2
    assert canary.CANARY_KEY not in data(kubectl)


def test_kubectl_prompt_canary_verbs(
    kubectl: Kubectl, operator: OperatorProcess, prompt: Any, tmp_path: Path
) -> None:
    _, _, v2_hash = v1_live_with_v2_ready(kubectl)
    where = ("summarizer", "-l", "production")

    dry = prompt("canary", "start", *where, "--version", "summarizer-v2", "--dry-run=client")
    assert dry.returncode == 0, dry.stderr
    assert "canary:\n    version: summarizer-v2\n    weight: 10\n" in dry.stdout
    assert "canary" not in kubectl.get("promptrelease", NAME)["spec"]  # nothing written

    steps = tmp_path / "steps.yaml"
    steps.write_text("- setWeight: 20\n- pause: {}\n- setWeight: 40\n")
    started = prompt(
        "canary", "start", *where, "--version", "summarizer-v2", "--steps-file", str(steps)
    )
    assert started.returncode == 0, started.stderr
    canary_state(kubectl, phase="Paused", step=1, weight=20)
    shown = prompt("canary", "status", *where)
    assert "summarizer-v2" in shown.stdout and "Paused" in shown.stdout and "20 %" in shown.stdout

    resumed = prompt("canary", "resume", *where)
    assert resumed.returncode == 0, resumed.stderr
    canary_state(kubectl, phase="Completed", weight=40)
    weighted = prompt("canary", "set-weight", *where, "--weight", "35")
    assert weighted.returncode == 0, weighted.stderr
    served_weight(kubectl, 35)

    wrong = prompt("canary", "start", *where, "--version", "summarizer-v1")
    assert wrong.returncode == 1 and "stable version" in wrong.stderr

    promoted = prompt("canary", "promote", *where, "-m", "v2 wins")
    assert promoted.returncode == 0, promoted.stderr
    obj = released(kubectl, NAME, 2)
    entry = obj["status"]["history"][0]
    assert (entry["version"], entry["hash"], entry["changelog"]) == (
        "summarizer-v2",
        v2_hash,
        "v2 wins",
    )
    assert entry["canary"]["weight"] == 35 and obj["spec"]["hash"] == v2_hash
    assert entry["via"] == "kubectl-prompt"

    gone = prompt("canary", "abort", *where)
    assert gone.returncode == 1 and "runs no canary" in gone.stderr
    last = prompt("canary", "status", *where)
    assert "runs no canary" in last.stdout and "promoted at 35 %" in last.stdout


def test_with_restart_a_canary_restarts_nothing_and_its_promotion_rolls_out(
    kubectl: Kubectl, operator: OperatorProcess
) -> None:
    apply(
        kubectl, version("summarizer-v1"), version("summarizer-v2"), deployment("web", replicas=2)
    )
    apply(kubectl, release("summarizer-v1", rollout=RESTART))
    released(kubectl, NAME, 1)
    generation = available(kubectl, "web", 2, 1)["metadata"]["generation"]

    patch_canary(kubectl, {"version": "summarizer-v2", "weight": 20})
    obj = canary_state(kubectl, phase="Completed", weight=20)
    served_weight(kubectl, 20)
    assert condition(obj)["status"] == "True" and obj["status"]["rollout"]["phase"] == "Complete"
    time.sleep(3)  # a stamp, if any, would have been written by now
    web = kubectl.get("deployment", "web")
    assert web["metadata"]["generation"] == generation  # no restart for a canary

    promote_in_git(kubectl)
    promoted = released(kubectl, NAME, 2)  # Ready waits for the pods of revision 2
    available(kubectl, "web", 2, 2)
    assert promoted["status"]["history"][0]["canary"]["weight"] == 20
    assert promoted["status"]["rollout"]["phase"] == "Complete"
    assert canary.CANARY_KEY not in data(kubectl)


def test_the_canary_example_runs_to_its_manual_pause(
    kubectl: Kubectl, operator: OperatorProcess
) -> None:
    examples = Path(__file__).resolve().parents[2] / "manifests" / "examples"
    kubectl("apply", "-f", str(examples / "ticket-summarizer.yaml"))
    released(kubectl, "ticket-summarizer-production", 1)
    kubectl("apply", "-f", str(examples / "canary" / "ticket-summarizer-production.yaml"))

    def paused() -> dict[str, Any] | None:
        obj = kubectl.get("promptrelease", "ticket-summarizer-production")
        state = obj.get("status", {}).get("canary") or {}
        return obj if (state.get("phase"), state.get("weight")) == ("Paused", 50) else None

    obj = eventually(paused, timeout=90, what="the example canary paused at 50 %")
    state = obj["status"]["canary"]
    assert state["version"] == "ticket-summarizer-v2" and state["step"] == 3
    assert [s["type"] for s in state["steps"]] == ["pause", "analysis", "setWeight", "pause"]
    assert obj["status"]["revision"] == 1
