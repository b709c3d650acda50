"""Proof that the harness runs a real control plane: CEL, GC, namespaces, kubectl, RBAC."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from tests.conftest import Cluster
from tests.kube import Kubectl, KubectlError, established, eventually

pytestmark = pytest.mark.integration

WIDGET_CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.harness.promptrelease.io}
spec:
  group: harness.promptrelease.io
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          status: {type: object, x-kubernetes-preserve-unknown-fields: true}
          spec:
            type: object
            properties:
              size: {type: integer}
            x-kubernetes-validations:
            - rule: self == oldSelf
              message: widget spec is frozen
"""


@pytest.fixture(scope="module")
def widget_crd(admin_kubectl: Kubectl) -> None:
    admin_kubectl.apply(WIDGET_CRD)
    established(admin_kubectl, "widgets.harness.promptrelease.io")
    # The new kind is served once discovery lists it.
    eventually(
        lambda: (
            "widgets" in admin_kubectl("api-resources", "--api-group", "harness.promptrelease.io")
        ),
        what="widgets in discovery",
    )


def widget(name: str, size: int) -> str:
    return (
        "apiVersion: harness.promptrelease.io/v1\nkind: Widget\n"
        f"metadata: {{name: {name}}}\nspec: {{size: {size}}}\n"
    )


def test_cel_transition_rule_refuses_update_with_its_message(
    widget_crd: None, kubectl: Kubectl
) -> None:
    kubectl.apply(widget("w", 1))
    with pytest.raises(KubectlError) as refused:
        kubectl.apply(widget("w", 2))
    assert "widget spec is frozen" in str(refused.value)
    assert kubectl.get("widget", "w")["spec"] == {"size": 1}


def test_dependent_is_garbage_collected_after_owner_is_deleted(
    cluster: Cluster, kubectl: Kubectl
) -> None:
    kubectl("create", "configmap", "owner")
    owner_uid = kubectl.get("configmap", "owner")["metadata"]["uid"]
    dependent = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "dependent",
            "ownerReferences": [
                {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner_uid}
            ],
        },
    }
    kubectl.apply(json.dumps(dependent))
    kubectl("delete", "configmap", "owner")
    eventually(
        lambda: not kubectl.exists("configmap", "dependent"),
        timeout=90,
        what="garbage collection of the dependent",
    )


def test_namespace_is_deleted_completely(admin_kubectl: Kubectl) -> None:
    name = f"gone-{uuid.uuid4().hex[:8]}"
    admin_kubectl("create", "namespace", name)
    admin_kubectl.in_namespace(name)("create", "configmap", "content", "--from-literal=a=b")
    admin_kubectl("delete", "namespace", name, "--wait=false")
    eventually(
        lambda: not admin_kubectl.exists("namespace", name),
        timeout=90,
        what=f"namespace {name} to be gone",
    )


def test_kubectl_apply_get_wait_work_through_harness_kubeconfig(
    widget_crd: None, kubectl: Kubectl
) -> None:
    kubectl.apply(widget("ready", 3))
    status = {
        "conditions": [
            {
                "type": "Ready",
                "status": "True",
                "reason": "Done",
                "message": "",
                "lastTransitionTime": "2026-01-01T00:00:00Z",
            }
        ]
    }
    kubectl(
        "patch",
        "widget",
        "ready",
        "--subresource=status",
        "--type=merge",
        "-p",
        json.dumps({"status": status}),
    )
    result = kubectl("wait", "--for=condition=Ready", "widget/ready", "--timeout=30s")
    assert "condition met" in result
    assert kubectl.get("widget", "ready")["status"]["conditions"][0]["reason"] == "Done"


def test_rbac_restricted_service_account_is_refused_where_it_should_be(
    kubectl: Kubectl, namespace: str, tmp_path: Path
) -> None:
    kubectl("create", "serviceaccount", "reader")
    kubectl("create", "role", "configmap-reader", "--verb=get,list", "--resource=configmaps")
    kubectl(
        "create",
        "rolebinding",
        "reader",
        "--role=configmap-reader",
        f"--serviceaccount={namespace}:reader",
    )
    kubectl("create", "configmap", "visible", "--from-literal=k=v")
    token = kubectl("create", "token", "reader").strip()
    reader = kubectl.as_token(token, tmp_path / "reader.kubeconfig")

    assert reader("get", "configmap", "visible", "-o", "name").strip() == "configmap/visible"
    denied_write = reader.run("delete", "configmap", "visible", check=False)
    assert denied_write.returncode != 0 and "forbidden" in denied_write.stderr.lower()
    denied_secrets = reader.run("get", "secrets", check=False)
    assert denied_secrets.returncode != 0 and "forbidden" in denied_secrets.stderr.lower()
    denied_other_ns = reader.in_namespace("default").run("get", "configmaps", check=False)
    assert denied_other_ns.returncode != 0
    assert f"system:serviceaccount:{namespace}:reader" in denied_other_ns.stderr
    assert kubectl.exists("configmap", "visible")
