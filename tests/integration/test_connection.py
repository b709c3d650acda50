"""The one client's ways of connecting, on the real API server: its own connection with client
certificates or a bearer token, and the kubernetes client's for a kubeconfig only that client
understands (an exec credential plugin)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import pytest

from prompt_release.kube import ApiError, ClientTransport, Kube
from tests.kube import Kubectl

pytestmark = pytest.mark.integration


@pytest.fixture
def editor_token(kubectl: Kubectl, namespace: str) -> str:
    """A ServiceAccount's token, allowed to edit ConfigMaps in the test's namespace only."""
    kubectl("create", "serviceaccount", "editor")
    kubectl("create", "role", "editor", "--verb=get,list,create,delete", "--resource=configmaps")
    kubectl(
        "create", "rolebinding", "editor", "--role=editor", f"--serviceaccount={namespace}:editor"
    )
    return kubectl("create", "token", "editor").strip()


def _kubeconfig(folder: Path, admin: Kubectl, user: dict[str, Any], namespace: str) -> str:
    flat = json.loads(admin("config", "view", "--raw", "--minify", "--flatten", "-o", "json"))
    path = folder / "kubeconfig"
    path.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "here", "cluster": flat["clusters"][0]["cluster"]}],
                "users": [{"name": "me", "user": user}],
                "contexts": [
                    {
                        "name": "work",
                        "context": {"cluster": "here", "user": "me", "namespace": namespace},
                    }
                ],
                "current-context": "work",
            }
        )
    )
    return str(path)


def _admin_user(admin: Kubectl) -> dict[str, Any]:
    flat = json.loads(admin("config", "view", "--raw", "--minify", "--flatten", "-o", "json"))
    return dict(flat["users"][0]["user"])


def _exec_plugin(folder: Path, token: str) -> dict[str, Any]:
    script = folder / "credential-plugin"
    credential = {
        "apiVersion": "client.authentication.k8s.io/v1",
        "kind": "ExecCredential",
        "status": {"token": token},
    }
    script.write_text(f"#!/bin/sh\ncat <<'END'\n{json.dumps(credential)}\nEND\n")
    script.chmod(0o755)
    return {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1",
            "command": str(script),
            "interactiveMode": "Never",
        }
    }


def _round_trip(kube: Kube, namespace: str) -> None:
    """Read, create, be refused, read back and delete one ConfigMap."""
    name = "connection-check"
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    body = {"metadata": {"name": name, "namespace": namespace}, "data": {"key": "ünïcode"}}
    assert kube.find_config_map(namespace, name) is None
    kube.call("POST", path, body)
    with pytest.raises(ApiError) as refused:
        kube.call("POST", path, body)
    assert refused.value.status == 409
    assert json.loads(refused.value.body)["reason"] == "AlreadyExists"
    found = kube.find_config_map(namespace, name)
    assert found is not None and found["data"] == {"key": "ünïcode"}
    meta = found["metadata"]
    kube.delete_config_map(namespace, name, meta["uid"], meta["resourceVersion"])
    assert kube.find_config_map(namespace, name) is None


@pytest.mark.parametrize("auth", ["client certificate", "bearer token", "exec plugin"])
def test_each_way_of_connecting_reads_writes_and_reports_errors(
    auth: str,
    admin_kubectl: Kubectl,
    editor_token: str,
    namespace: str,
    tmp_path: Path,
) -> None:
    if auth == "client certificate":
        user = _admin_user(admin_kubectl)
    elif auth == "bearer token":
        user = {"token": editor_token}
    else:
        user = _exec_plugin(tmp_path, editor_token)
    kube = Kube.connect(_kubeconfig(tmp_path, admin_kubectl, user, namespace), timeout=15)
    assert kube.namespace == namespace
    through_kubernetes_client = auth == "exec plugin"
    assert isinstance(kube.transport, ClientTransport) is through_kubernetes_client
    assert (kube.credentials is None) is through_kubernetes_client
    if through_kubernetes_client:  # the same connection settings on the kubernetes client
        configuration = cast(ClientTransport, kube.transport).api.configuration
        assert (configuration.retries, configuration.connection_pool_maxsize) == (3, 10)
    _round_trip(kube, namespace)


def test_a_token_without_rights_is_refused_by_authorization(
    kubectl: Kubectl, admin_kubectl: Kubectl, namespace: str, tmp_path: Path
) -> None:
    """403 (authenticated, not allowed), not 401: the token reached the API server."""
    kubectl("create", "serviceaccount", "nobody")
    token = kubectl("create", "token", "nobody").strip()
    kube = Kube.connect(_kubeconfig(tmp_path, admin_kubectl, {"token": token}, namespace))
    with pytest.raises(ApiError) as refused:
        kube.list_config_maps(namespace, "a=b")
    assert refused.value.status == 403
    assert "system:serviceaccount:" in json.loads(refused.value.body)["message"]
