"""Workloads roll out on the control plane: the scheduler binds pods to kwok's fake node, the
workload controllers count them Ready, and tests steer pods with kwok's annotations.

`kwok.promptrelease.io/ready: "false"` holds a pod not Ready and `kwok.promptrelease.io/exit-code`
ends it (tests/controlplane/kwok/stages.yaml). Each manifest also says the same to a real kubelet
(a readiness probe that fails, a command that exits), so the tests hold on any backend.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import Cluster
from tests.controlplane.cluster import EXIT_CODE, FAKE_NODE_ANNOTATION, HOLD_NOT_READY
from tests.kube import Kubectl

pytestmark = pytest.mark.integration

IMAGE = "registry.k8s.io/pause:3.10"


def deployment(name: str, replicas: int = 3, deadline: int = 600) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "progressDeadlineSeconds": deadline,
            "strategy": {"rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": IMAGE}]},
            },
        },
    }


def job(name: str, exit_code: int) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "metadata": {"annotations": {EXIT_CODE: str(exit_code)}},
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [
                        {
                            "name": "task",
                            "image": "busybox:1.37",
                            "command": ["sh", "-c", f"exit {exit_code}"],
                        }
                    ],
                },
            },
        },
    }


def apply(kubectl: Kubectl, manifest: dict[str, Any]) -> None:
    kubectl.apply(json.dumps(manifest))


def pods(kubectl: Kubectl, selector: str) -> list[dict[str, Any]]:
    return list(json.loads(kubectl("get", "pods", "-l", selector, "-o", "json"))["items"])


def condition(obj: dict[str, Any], kind: str) -> dict[str, Any]:
    found = [c for c in obj.get("status", {}).get("conditions", []) if c["type"] == kind]
    assert found, f"no {kind} condition in {obj.get('status')}"
    return dict(found[0])


def rolled_out(kubectl: Kubectl, name: str, replicas: int) -> None:
    kubectl("rollout", "status", f"deployment/{name}", "--timeout=60s")
    kubectl(
        "wait",
        f"--for=jsonpath={{.status.availableReplicas}}={replicas}",
        f"deployment/{name}",
        "--timeout=60s",
    )


def test_deployment_pods_are_scheduled_on_the_fake_node_and_become_available(
    cluster: Cluster, kubectl: Kubectl, admin_kubectl: Kubectl
) -> None:
    apply(kubectl, deployment("web"))
    rolled_out(kubectl, "web", 3)

    running = pods(kubectl, "app=web")
    assert len(running) == 3
    assert {p["status"]["phase"] for p in running} == {"Running"}
    assert all(condition(p, "Ready")["status"] == "True" for p in running)
    nodes = {p["spec"]["nodeName"] for p in running}
    if cluster.backend == "local":
        for node in nodes:
            annotations = admin_kubectl.get("node", node)["metadata"]["annotations"]
            assert annotations.get(FAKE_NODE_ANNOTATION[0]) == FAKE_NODE_ANNOTATION[1]


def test_rolling_update_of_the_pod_template_completes(kubectl: Kubectl) -> None:
    apply(kubectl, deployment("web"))
    rolled_out(kubectl, "web", 3)
    kubectl(
        "patch",
        "deployment",
        "web",
        "--type=merge",
        "-p",
        json.dumps({"spec": {"template": {"metadata": {"annotations": {"rev": "2"}}}}}),
    )
    rolled_out(kubectl, "web", 3)

    status = kubectl.get("deployment", "web")["status"]
    assert (status["updatedReplicas"], status["readyReplicas"]) == (3, 3)
    assert condition(kubectl.get("deployment", "web"), "Progressing")["reason"] == (
        "NewReplicaSetAvailable"
    )
    replica_sets = json.loads(kubectl("get", "replicasets", "-l", "app=web", "-o", "json"))
    sizes = sorted(rs["status"]["replicas"] for rs in replica_sets["items"])
    assert sizes == [0, 3]  # the old ReplicaSet scaled to nothing, the new one to all
    assert all(p["metadata"]["annotations"]["rev"] == "2" for p in pods(kubectl, "app=web"))


def test_rollout_whose_new_pods_stay_not_ready_exceeds_its_progress_deadline(
    kubectl: Kubectl,
) -> None:
    apply(kubectl, deployment("web", replicas=2, deadline=10))
    rolled_out(kubectl, "web", 2)
    held = {
        "metadata": {"annotations": dict([HOLD_NOT_READY])},
        # What a real kubelet makes of it: the pause image has no `false`, so the probe fails.
        "spec": {
            "containers": [
                {"name": "app", "readinessProbe": {"exec": {"command": ["false"]}}},
            ]
        },
    }
    kubectl(
        "patch",
        "deployment",
        "web",
        "--type=strategic",
        "-p",
        json.dumps({"spec": {"template": held}}),
    )
    kubectl("wait", "--for=condition=Progressing=False", "deployment/web", "--timeout=60s")

    deployment_now = kubectl.get("deployment", "web")
    progressing = condition(deployment_now, "Progressing")
    assert progressing["reason"] == "ProgressDeadlineExceeded", progressing
    # maxUnavailable 0: the old pods keep serving while the new one never becomes Ready.
    assert deployment_now["status"]["availableReplicas"] == 2
    assert condition(deployment_now, "Available")["status"] == "True"
    new = [
        p
        for p in pods(kubectl, "app=web")
        if p["metadata"].get("annotations", {}).get(HOLD_NOT_READY[0]) == HOLD_NOT_READY[1]
    ]
    assert len(new) == 1
    assert new[0]["status"]["phase"] == "Running"
    assert condition(new[0], "Ready")["status"] == "False"


def test_job_whose_pod_exits_zero_completes(kubectl: Kubectl) -> None:
    apply(kubectl, job("succeeds", 0))
    kubectl("wait", "--for=condition=Complete", "job/succeeds", "--timeout=60s")

    assert kubectl.get("job", "succeeds")["status"]["succeeded"] == 1
    (pod,) = pods(kubectl, "job-name=succeeds")
    assert pod["status"]["phase"] == "Succeeded"
    assert pod["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 0


def test_job_whose_pod_exits_nonzero_fails(kubectl: Kubectl) -> None:
    apply(kubectl, job("fails", 3))
    kubectl("wait", "--for=condition=Failed", "job/fails", "--timeout=60s")

    failed = condition(kubectl.get("job", "fails"), "Failed")
    assert failed["reason"] == "BackoffLimitExceeded", failed
    (pod,) = pods(kubectl, "job-name=fails")
    assert pod["status"]["phase"] == "Failed"
    assert pod["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 3


def test_statefulset_and_daemonset_roll_out(kubectl: Kubectl, admin_kubectl: Kubectl) -> None:
    template = {
        "metadata": {"labels": {"app": "db"}},
        "spec": {"containers": [{"name": "db", "image": IMAGE}]},
    }
    selector = {"matchLabels": {"app": "db"}}
    apply(
        kubectl,
        {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {"name": "db"},
            "spec": {
                "replicas": 2,
                "serviceName": "db",
                "selector": selector,
                "template": template,
            },
        },
    )
    agent = json.loads(json.dumps(template).replace('"db"', '"agent"'))
    apply(
        kubectl,
        {
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": {"name": "agent"},
            "spec": {"selector": {"matchLabels": {"app": "agent"}}, "template": agent},
        },
    )
    kubectl("rollout", "status", "statefulset/db", "--timeout=60s")
    kubectl("rollout", "status", "daemonset/agent", "--timeout=60s")

    assert sorted(p["metadata"]["name"] for p in pods(kubectl, "app=db")) == ["db-0", "db-1"]
    schedulable = [
        n
        for n in json.loads(admin_kubectl("get", "nodes", "-o", "json"))["items"]
        if not n["spec"].get("unschedulable") and not n["spec"].get("taints")
    ]
    assert kubectl.get("daemonset", "agent")["status"]["numberReady"] == len(schedulable)


def test_a_held_pod_becomes_ready_when_released_and_ends_with_the_exit_code_it_is_given(
    cluster: Cluster, kubectl: Kubectl
) -> None:
    if cluster.backend != "local":
        pytest.skip("the annotations steer kwok's fake kubelet, not a real one")
    key, value = HOLD_NOT_READY
    kubectl("run", "held", f"--image={IMAGE}", f"--annotations={key}={value}")
    kubectl("wait", "--for=jsonpath={.status.phase}=Running", "pod/held", "--timeout=60s")
    assert condition(kubectl.get("pod", "held"), "Ready")["status"] == "False"

    kubectl("annotate", "pod", "held", f"{key}-")
    kubectl("wait", "--for=condition=Ready", "pod/held", "--timeout=60s")

    kubectl("annotate", "pod", "held", f"{EXIT_CODE}=7")
    kubectl("wait", "--for=jsonpath={.status.phase}=Failed", "pod/held", "--timeout=60s")
    state = kubectl.get("pod", "held")["status"]["containerStatuses"][0]["state"]
    assert state["terminated"]["exitCode"] == 7
