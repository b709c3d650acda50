"""Rollout to the workloads, on the real control plane with kwok running the pods."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.integration.conftest import Prompt
from tests.integration.test_install import AGREE, argocd_health, kstatus
from tests.kube import Kubectl, OperatorProcess, eventually
from tests.prompts import apply, condition, release, released, version

pytestmark = pytest.mark.integration

HOLD = "kwok.promptrelease.io/ready"  # "false" holds a kwok pod not Ready (tests/controlplane)
REVISION = "promptrelease.io/revision"  # on the pod template: <release>=<revision>, ...
RESTART = {"strategy": "Restart", "rollbackOnFailure": True}


def deployment(
    name: str,
    *,
    replicas: int = 3,
    env: bool = False,
    deadline: int = 600,
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "app", "image": "example.invalid/app:1"}
    pod: dict[str, Any] = {"containers": [container]}
    if env:
        container["envFrom"] = [{"configMapRef": {"name": "summarizer-production"}}]
    else:
        container["volumeMounts"] = [{"name": "prompt", "mountPath": "/etc/prompt"}]
        pod["volumes"] = [{"name": "prompt", "configMap": {"name": "summarizer-production"}}]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "annotations": annotations or {}},
        "spec": {
            "replicas": replicas,
            "progressDeadlineSeconds": deadline,
            "strategy": {"rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": pod},
        },
    }


def rollout_of(kubectl: Kubectl, name: str = "summarizer-production") -> dict[str, Any]:
    return dict(kubectl.get("promptrelease", name).get("status", {}).get("rollout") or {})


def event_reasons(kubectl: Kubectl, *wanted: str) -> set[str]:
    """The Event reasons in the namespace, once all of `wanted` are among them."""

    def probe() -> set[str] | None:
        reasons = {e["reason"] for e in json.loads(kubectl("get", "events", "-o", "json"))["items"]}
        return reasons if set(wanted) <= reasons else None

    return eventually(probe, what=f"Events {', '.join(wanted)}")


def available(kubectl: Kubectl, name: str, replicas: int, revision: int) -> dict[str, Any]:
    """The Deployment once every replica runs the pod template stamped with `revision`."""

    def probe() -> dict[str, Any] | None:
        found = kubectl.get("deployment", name)
        annotations = found["spec"]["template"]["metadata"].get("annotations") or {}
        status = found.get("status", {})
        done = (
            annotations.get(REVISION) == f"summarizer-production={revision}"
            and status.get("observedGeneration", 0) >= found["metadata"]["generation"]
            and status.get("updatedReplicas") == replicas
            and status.get("availableReplicas") == replicas
            and status.get("replicas") == replicas
        )
        return found if done else None

    return eventually(probe, timeout=120, what=f"{name}: {replicas} pods on revision {revision}")


@contextmanager
def changes(kubectl: Kubectl, kind: str, name: str) -> Iterator[list[tuple[str, int]]]:
    """(resourceVersion, generation) of every change of one object seen through a watch while
    the block runs (filled after it)."""
    template = '{.metadata.resourceVersion} {.metadata.generation}{"\\n"}'
    argv = [str(kubectl.binary), "-n", str(kubectl.namespace), "get", kind, name]
    watch = subprocess.Popen(
        [*argv, "--watch-only", "-o", f"jsonpath={template}"],
        stdout=subprocess.PIPE,
        text=True,
        env=kubectl.env,
    )
    seen: list[tuple[str, int]] = []
    try:
        time.sleep(1)  # the watch is established before the block writes
        yield seen
        time.sleep(1)  # the last changes arrive
    finally:
        watch.terminate()
        out, _ = watch.communicate(timeout=10)
    for line in out.splitlines(keepends=True):
        if line.endswith("\n"):  # a line cut by the terminate is not a change
            version, generation = line.split()
            seen.append((version, int(generation)))


def test_restart_rolls_the_deployment_and_ready_waits_for_the_new_pods(
    kubectl: Kubectl, operator: OperatorProcess, prompt: Prompt
) -> None:
    apply(kubectl, version("summarizer-v1"), version("summarizer-v2"), deployment("web"))
    apply(kubectl, release("summarizer-v1", rollout=RESTART))
    released(kubectl, "summarizer-production", 1)
    before = available(kubectl, "web", 3, 1)["metadata"]["generation"]

    with (
        changes(kubectl, "promptrelease", "summarizer-production") as release_writes,
        changes(kubectl, "deployment", "web") as web_changes,
    ):
        started = time.monotonic()
        apply(kubectl, release("summarizer-v2", rollout=RESTART))

        def rolling() -> dict[str, Any] | None:
            obj = kubectl.get("promptrelease", "summarizer-production")
            return obj if obj.get("status", {}).get("revision") == 2 else None

        during = eventually(rolling, what="revision 2 written")
        # Ready waits for the pods: never True for revision 2 before the Deployment finished.
        done = released(kubectl, "summarizer-production", 2)
        took = time.monotonic() - started
        web = available(kubectl, "web", 3, 2)
    assert condition(done, "RolledOut")["status"] == "True"
    rollout = done["status"]["rollout"]
    assert rollout["phase"] == "Complete" and rollout["revision"] == 2
    (entry,) = rollout["workloads"]
    assert entry["kind"] == "Deployment" and entry["name"] == "web"
    assert (entry["strategy"], entry["desired"], entry["available"]) == ("Restart", 3, 3)
    assert web["status"]["availableReplicas"] == 3
    if condition(during).get("status") == "True":  # the operator was faster than the watch
        assert during["status"].get("rollout", {}).get("phase") == "Complete"
    # Writes seen through watches: the user's apply is one change of the release, every other
    # one is a status write of the operator's; a new Deployment generation is a template stamp.
    status_writes = len({version for version, _ in release_writes}) - 1
    stamps = len({generation for _, generation in web_changes} - {before})
    assert stamps == 1, "one stamp of the pod template per revision"
    print(
        f"\napply -> RolledOut=True for 3 replicas: {took:.1f} s; operator writes: "
        f"{status_writes} release status, {stamps} Deployment template stamp"
    )
    watched = prompt("rollout", "status", "summarizer", "-l", "production", "--timeout", "60s")
    assert watched.returncode == 0, watched.stderr
    assert 'promptrelease "summarizer-production" successfully rolled out' in watched.stdout


def test_hot_reload_consumers_are_listed_and_env_consumers_named(
    kubectl: Kubectl, operator: OperatorProcess
) -> None:
    apply(
        kubectl,
        version("summarizer-v1"),
        deployment("mounts", replicas=1),
        deployment("reads-env", replicas=1, env=True),
    )
    apply(kubectl, release("summarizer-v1"))
    released(kubectl, "summarizer-production", 1)

    def listed() -> dict[str, Any] | None:
        found = rollout_of(kubectl)
        return found if len(found.get("workloads") or []) == 2 else None

    rollout = eventually(listed, what="both consumers in status.rollout")
    by_name = {w["name"]: w for w in rollout["workloads"]}
    assert by_name["mounts"]["strategy"] == "HotReload" and "message" not in by_name["mounts"]
    assert by_name["reads-env"]["uses"] == ["envFrom"]
    assert "envFrom" in by_name["reads-env"]["message"]
    assert rollout["phase"] == "Complete"
    template = kubectl.get("deployment", "mounts")["spec"]["template"]["metadata"]
    assert REVISION not in (template.get("annotations") or {})  # hot reload never restarts
    event_reasons(kubectl, "CannotHotReload")


def test_a_workload_opts_in_to_restarts_with_an_annotation(
    kubectl: Kubectl, operator: OperatorProcess
) -> None:
    opted = deployment(
        "opted", replicas=1, annotations={"promptrelease.io/restart-on-release": "true"}
    )
    apply(kubectl, version("summarizer-v1"), opted)
    apply(kubectl, release("summarizer-v1"))
    released(kubectl, "summarizer-production", 1)
    available(kubectl, "opted", 1, 1)


def test_a_failed_rollout_is_rolled_back_once_and_the_pods_serve_the_old_prompt(
    kubectl: Kubectl, operator: OperatorProcess, prompt: Prompt
) -> None:
    apply(kubectl, version("summarizer-v1"), version("summarizer-v2"))
    apply(kubectl, deployment("web", replicas=3, deadline=10))
    apply(kubectl, release("summarizer-v1", rollout=RESTART))
    released(kubectl, "summarizer-production", 1)
    available(kubectl, "web", 3, 1)

    # v2 "breaks" the pods: the new ones never become Ready, past a 10 s progress deadline.
    kubectl(
        "patch",
        "deployment",
        "web",
        "--type=merge",
        "-p",
        json.dumps({"spec": {"template": {"metadata": {"annotations": {HOLD: "false"}}}}}),
    )
    apply(kubectl, release("summarizer-v2", rollout=RESTART))

    def rolled_back() -> dict[str, Any] | None:
        obj = kubectl.get("promptrelease", "summarizer-production")
        return obj if obj.get("status", {}).get("revision") == 3 else None

    obj = eventually(rolled_back, timeout=120, what="the automatic rollback to revision 3")
    status = obj["status"]
    newest, failed = status["history"][0], status["history"][1]
    assert newest["version"] == "summarizer-v1" and newest["restores"] == 1
    assert newest["changelog"].startswith("Automatic rollback: revision 2 failed to roll out")
    assert newest["releasedBy"] == "prompt-release-operator"
    assert failed["revision"] == 2 and "progress deadline" in failed["rolloutFailed"]
    assert status["rollout"]["failedVersion"] == "summarizer-v2"
    cm = json.loads(kubectl.get("configmap", "summarizer-production")["data"]["prompt.json"])
    assert (cm["version"], cm["revision"]) == ("summarizer-v1", 3)
    event_reasons(kubectl, "RolloutFailed", "RolledBackOnFailure")
    looked = prompt("rollout", "status", "summarizer", "-l", "production")
    assert looked.returncode == 1 and "rolled back" in looked.stdout

    # The cause goes away: the Deployment rolls back to pods on the old prompt (revision 3).
    kubectl(
        "patch",
        "deployment",
        "web",
        "--type=json",
        "-p",
        json.dumps(
            [
                {
                    "op": "remove",
                    "path": "/spec/template/metadata/annotations/" + HOLD.replace("/", "~1"),
                }
            ]
        ),
    )
    available(kubectl, "web", 3, 3)

    def settled() -> dict[str, Any] | None:
        found = kubectl.get("promptrelease", "summarizer-production")
        return found if condition(found, "RolledOut").get("status") == "True" else None

    final = eventually(settled, timeout=120, what="RolledOut=True on revision 3")
    assert final["status"]["revision"] == 3  # never loops back to the failed version
    ready = condition(final)
    assert (ready["status"], ready["reason"]) == ("False", "RolledBackOnFailure")
    assert condition(final, "Stalled")["status"] == "True"

    # Pointing spec.version elsewhere releases again.
    apply(kubectl, version("summarizer-v3"), release("summarizer-v3", rollout=RESTART))
    released(kubectl, "summarizer-production", 4)
    available(kubectl, "web", 3, 4)
    assert "failedVersion" not in rollout_of(kubectl)


def hold_pods(kubectl: Kubectl, name: str) -> None:
    """Every new pod of this Deployment stays not Ready (kwok), as a broken prompt would make it."""
    patch = {"spec": {"template": {"metadata": {"annotations": {HOLD: "false"}}}}}
    kubectl("patch", "deployment", name, "--type=merge", "-p", json.dumps(patch))


def test_argocd_kstatus_and_rollout_status_read_a_rollout_alike(
    kubectl: Kubectl, operator: OperatorProcess, prompt: Prompt
) -> None:
    apply(kubectl, version("summarizer-v1"), deployment("web", replicas=2))
    hold_pods(kubectl, "web")
    apply(kubectl, release("summarizer-v1", rollout={"strategy": "Restart"}))

    def phase(wanted: str) -> dict[str, Any] | None:
        obj = kubectl.get("promptrelease", "summarizer-production")
        return obj if obj.get("status", {}).get("rollout", {}).get("phase") == wanted else None

    rolling = eventually(lambda: phase("Progressing"), what="a rollout in progress")
    assert condition(rolling)["status"] == "Unknown"
    assert condition(rolling, "Reconciling")["reason"] == "RollingOut"
    assert argocd_health(rolling) == "Progressing"
    assert kstatus([rolling]) == [AGREE["Progressing"]]
    once = prompt("rollout", "status", "summarizer", "-l", "production", "--watch=false")
    assert once.returncode == 0 and "Waiting for rollout to finish" in once.stdout

    patch = {"spec": {"progressDeadlineSeconds": 5}}
    kubectl("patch", "deployment", "web", "--type=merge", "-p", json.dumps(patch))
    failed = eventually(lambda: phase("Failed"), timeout=90, what="the rollout to fail")
    assert condition(failed, "Stalled")["reason"] == "RolloutFailed"
    assert condition(failed, "RolledOut")["status"] == "False"
    assert argocd_health(failed) == "Degraded"
    assert kstatus([failed]) == [AGREE["Degraded"]]
    verdict = prompt("rollout", "status", "summarizer", "-l", "production", "--timeout", "30s")
    assert verdict.returncode == 1 and "failed to roll out" in verdict.stdout
