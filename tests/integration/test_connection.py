"""The one client's ways of connecting, on the real API server (RBAC enforced): client
certificates (inline and files), bearer tokens and token files, exec credential plugins (a
token or a client certificate), impersonation (the kubeconfig's and `kubectl prompt --as`),
a proxy, the TLS server name and insecure-skip-tls-verify."""

from __future__ import annotations

import base64
import json
import select
import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from prompt_release.kube import ApiError, Kube
from tests.integration.conftest import Prompt
from tests.kube import Kubectl
from tests.prompts import apply, version

pytestmark = pytest.mark.integration

SELF = "/apis/authentication.k8s.io/v1/selfsubjectreviews"


@pytest.fixture
def editor_token(kubectl: Kubectl, namespace: str) -> str:
    """A ServiceAccount's token, allowed to edit ConfigMaps in the test's namespace only."""
    kubectl("create", "serviceaccount", "editor")
    kubectl("create", "role", "editor", "--verb=get,list,create,delete", "--resource=configmaps")
    kubectl(
        "create", "rolebinding", "editor", "--role=editor", f"--serviceaccount={namespace}:editor"
    )
    return kubectl("create", "token", "editor").strip()


def _flat(admin: Kubectl) -> dict[str, Any]:
    return dict(json.loads(admin("config", "view", "--raw", "--minify", "--flatten", "-o", "json")))


def _kubeconfig(
    folder: Path,
    admin: Kubectl,
    user: dict[str, Any],
    namespace: str,
    **cluster: Any,
) -> Path:
    """A kubeconfig of the admin's cluster (with `cluster` fields over it) and `user`."""
    server = {**_flat(admin)["clusters"][0]["cluster"], **cluster}
    path = folder / "kubeconfig"
    path.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "here", "cluster": {k: v for k, v in server.items() if v}}],
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
    return path


def _admin_user(admin: Kubectl) -> dict[str, Any]:
    return dict(_flat(admin)["users"][0]["user"])


def _pem(user: dict[str, Any], key: str) -> str:
    return base64.b64decode(user[key]).decode()


def _exec_plugin(folder: Path, status: dict[str, Any], version: str) -> dict[str, Any]:
    """A credential plugin (a python script) printing an ExecCredential with `status`."""
    script = folder / "credential-plugin"
    credential = {"apiVersion": version, "kind": "ExecCredential", "status": status}
    script.write_text(f"#!{sys.executable}\nprint({json.dumps(json.dumps(credential))})\n")
    script.chmod(0o755)
    return {"exec": {"apiVersion": version, "command": "./credential-plugin", "args": []}}


def _user(form: str, admin: Kubectl, token: str, folder: Path) -> dict[str, Any]:
    admin_user = _admin_user(admin)
    cert, key = _pem(admin_user, "client-certificate-data"), _pem(admin_user, "client-key-data")
    if form == "client certificate data":
        return admin_user
    if form == "client certificate files":
        (folder / "pki").mkdir()
        (folder / "pki" / "me.crt").write_text(cert)
        (folder / "pki" / "me.key").write_text(key)
        return {"client-certificate": "pki/me.crt", "client-key": "pki/me.key"}
    if form == "bearer token":
        return {"token": token}
    if form == "token file":
        (folder / "token").write_text(token + "\n")
        return {"tokenFile": "token"}
    if form == "exec plugin token":
        user = _exec_plugin(folder, {"token": token}, "client.authentication.k8s.io/v1")
        user["exec"]["interactiveMode"] = "Never"
        return user
    status = {"clientCertificateData": cert, "clientKeyData": key}
    return _exec_plugin(folder, status, "client.authentication.k8s.io/v1beta1")


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


def _who(kube: Kube) -> dict[str, Any]:
    """Who the API server says the request is from (a SelfSubjectReview)."""
    review = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
    return dict(kube.call("POST", SELF, review)["status"]["userInfo"])


@pytest.mark.parametrize(
    "form",
    [
        "client certificate data",
        "client certificate files",
        "bearer token",
        "token file",
        "exec plugin token",
        "exec plugin client certificate",
    ],
)
def test_each_way_of_authenticating_reads_writes_and_reports_errors(
    form: str,
    admin_kubectl: Kubectl,
    editor_token: str,
    namespace: str,
    tmp_path: Path,
) -> None:
    user = _user(form, admin_kubectl, editor_token, tmp_path)
    kube = Kube.connect(str(_kubeconfig(tmp_path, admin_kubectl, user, namespace)), timeout=15)
    assert kube.namespace == namespace
    _round_trip(kube, namespace)
    expected = "admin" if "certificate" in form else f"system:serviceaccount:{namespace}:editor"
    assert expected in _who(kube)["username"]


def test_a_token_without_rights_is_refused_by_authorization(
    kubectl: Kubectl, admin_kubectl: Kubectl, namespace: str, tmp_path: Path
) -> None:
    """403 (authenticated, not allowed), not 401: the token reached the API server."""
    kubectl("create", "serviceaccount", "nobody")
    token = kubectl("create", "token", "nobody").strip()
    path = _kubeconfig(tmp_path, admin_kubectl, {"token": token}, namespace)
    kube = Kube.connect(str(path))
    with pytest.raises(ApiError) as refused:
        kube.list_config_maps(namespace, "a=b")
    assert refused.value.status == 403
    assert "system:serviceaccount:" in json.loads(refused.value.body)["message"]


@pytest.fixture
def viewer_and_editor(kubectl: Kubectl, crds: None) -> None:
    """User `viewer` may read ConfigMaps and prompts; group `editors` may also write them."""
    resources = "--resource=configmaps,promptversions,promptreleases"
    kubectl("create", "role", "reader", "--verb=get,list,watch", resources)
    kubectl("create", "role", "writer", "--verb=get,list,watch,create,patch,delete", resources)
    kubectl("create", "rolebinding", "viewer", "--role=reader", "--user=viewer")
    kubectl("create", "rolebinding", "editors", "--role=writer", "--group=editors")


def test_impersonation_in_the_kubeconfig_is_what_the_api_server_authorizes(
    admin_kubectl: Kubectl, namespace: str, tmp_path: Path, viewer_and_editor: None
) -> None:
    admin = _admin_user(admin_kubectl)
    impersonating = {
        **admin,
        "as": "viewer",
        "as-uid": "u-1",
        "as-groups": ["auditors", "system:authenticated"],
        "as-user-extra": {"scopes.example.com/team": ["a", "b c"]},
    }
    path = str(_kubeconfig(tmp_path, admin_kubectl, impersonating, namespace))
    kube = Kube.connect(path, timeout=15)
    assert _who(kube) == {
        "username": "viewer",
        "uid": "u-1",
        "groups": ["auditors", "system:authenticated"],
        "extra": {"scopes.example.com/team": ["a", "b c"]},
    }
    assert kube.list_config_maps(namespace, "a=b") == []  # reading is allowed
    body = {"metadata": {"name": "written", "namespace": namespace}}
    with pytest.raises(ApiError) as refused:
        kube.call("POST", f"/api/v1/namespaces/{namespace}/configmaps", body)
    assert refused.value.status == 403
    message = json.loads(refused.value.body)["message"]
    assert 'User "viewer" cannot create resource "configmaps"' in message
    editor = Kube.connect(path, timeout=15, as_user="someone", as_groups=["editors"])
    assert _who(editor)["groups"] == ["editors", "system:authenticated"]
    assert editor.call("POST", f"/api/v1/namespaces/{namespace}/configmaps", body)


def test_the_plugin_acts_as_the_kubeconfig_and_its_as_flags_say(
    prompt: Prompt,
    kubectl: Kubectl,
    admin_kubectl: Kubectl,
    namespace: str,
    tmp_path: Path,
    viewer_and_editor: None,
) -> None:
    apply(kubectl, version("summarizer-v1"))
    release = ("release", "summarizer", "-l", "staging", "--version", "summarizer-v1", "--no-wait")
    as_viewer = {**_admin_user(admin_kubectl), "as": "viewer"}
    viewing = _kubeconfig(tmp_path, admin_kubectl, as_viewer, namespace)
    refused = prompt(*release, kubeconfig=viewing)
    assert refused.returncode == 4, refused.stderr
    assert 'User "viewer" cannot create resource "promptreleases"' in refused.stderr
    flagged = prompt(*release, "--as", "viewer", "--as-group", "system:authenticated")
    assert flagged.returncode == 4 and 'User "viewer"' in flagged.stderr  # admin's kubeconfig
    written = prompt(*release, "--as", "ed", "--as-group", "editors", kubeconfig=viewing)
    assert written.returncode == 0, written.stderr
    assert kubectl.get("promptrelease", "summarizer-staging")["spec"]["version"] == "summarizer-v1"


class ConnectProxy:
    """An HTTP proxy on loopback that tunnels CONNECT requests and counts them."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.tunnels: list[str] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._tunnel, args=(client,), daemon=True).start()

    def _tunnel(self, client: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            head += client.recv(4096)
        target = head.split(b" ")[1].decode()
        self.tunnels.append(target)
        host, port = target.rsplit(":", 1)
        upstream = socket.create_connection((host, int(port)))
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        ends = [client, upstream]
        while True:
            ready, _, _ = select.select(ends, [], [], 30)
            if not ready:
                break
            for end in ready:
                data = end.recv(65536)
                if not data:
                    client.close()
                    upstream.close()
                    return
                (upstream if end is client else client).sendall(data)

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def proxy() -> Iterator[ConnectProxy]:
    started = ConnectProxy()
    yield started
    started.close()


def test_the_clusters_proxy_url_carries_the_requests(
    admin_kubectl: Kubectl, namespace: str, tmp_path: Path, proxy: ConnectProxy
) -> None:
    user = _admin_user(admin_kubectl)
    path = _kubeconfig(tmp_path, admin_kubectl, user, namespace, **{"proxy-url": proxy.url})
    _round_trip(Kube.connect(str(path), timeout=15), namespace)
    server = _flat(admin_kubectl)["clusters"][0]["cluster"]["server"]
    assert proxy.tunnels and set(proxy.tunnels) == {server.removeprefix("https://")}


def test_tls_server_name_is_the_name_verified_and_insecure_verifies_none(
    admin_kubectl: Kubectl, namespace: str, tmp_path: Path
) -> None:
    user = _admin_user(admin_kubectl)
    right = {"tls-server-name": "localhost"}
    named = _kubeconfig(tmp_path, admin_kubectl, user, namespace, **right)
    _round_trip(Kube.connect(str(named), timeout=15), namespace)  # a name the certificate has
    wrong = {"tls-server-name": "api.example.com"}
    path = _kubeconfig(tmp_path, admin_kubectl, user, namespace, **wrong)
    with pytest.raises(Exception, match=r"'api\.example\.com' doesn't match"):
        Kube.connect(str(path), timeout=15, retries=0).find_config_map(namespace, "x")
    no_ca = {"certificate-authority-data": None, "insecure-skip-tls-verify": True}
    insecure = _kubeconfig(tmp_path, admin_kubectl, user, namespace, **no_ca)
    _round_trip(Kube.connect(str(insecure), timeout=15), namespace)
