"""The one Kubernetes client the operator and `kubectl prompt` share. No rules live here.

A read of an object that doesn't exist answers None; every other API error is raised as
`ApiError` for the caller's edge to turn into a retry (the operator) or an exit code (the
plugin).

Calls go straight to the REST paths, in and out as JSON, over `Http`: pooled, kept-alive
connections (urllib3) that present what `connection` resolved from the whole kubeconfig.
"""

from __future__ import annotations

import base64
import builtins
import json
import ssl
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self, cast
from urllib.parse import quote, unquote, urlencode, urlsplit

import urllib3

from prompt_release import CRD_VERSION, GROUP, __version__, connection
from prompt_release.connection import (
    Certificate,
    Credentials,
    ExecCredential,
    UnsupportedConfigError,
    exec_credential,
    forget_exec_credential,
    proxy_for,
)

OPERATOR_AGENT = f"prompt-release-operator/{__version__}"
PLUGIN_AGENT = f"kubectl-prompt/{__version__}"
CONNECTIONS = 32  # kept-alive connections to the API server, at least one per calling thread
TOKEN_REREAD_AFTER = 60.0  # seconds; the kubelet rotates a projected token well before it expires


class ApiError(Exception):
    """A response outside 2xx: its status, reason and body (the API server's Status)."""

    def __init__(
        self, status: int, reason: str, body: str, headers: Mapping[str, str] | None = None
    ):
        super().__init__(status, reason)
        self.status = status
        self.reason = reason
        self.body = body
        self.headers = dict(headers or {})

    def __str__(self) -> str:
        return f"({self.status})\nReason: {self.reason}\nHTTP response body: {self.body}"


def is_status(error: BaseException, *codes: int) -> bool:
    return isinstance(error, ApiError) and error.status in codes


def namespace_terminating(error: BaseException) -> bool:
    """The write was refused because its namespace is being deleted: the objects it would touch
    are going with the namespace, so there is nothing to retry."""
    if not is_status(error, 403):
        return False
    try:
        details = json.loads(cast(ApiError, error).body).get("details") or {}
    except (ValueError, AttributeError):
        return False
    causes = details.get("causes") or []
    return any(cause.get("reason") == "NamespaceTerminating" for cause in causes)


def merge_patch_of(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON merge patch (RFC 7386) turning `old` into `new`: a key `new` lacks is null, at
    any depth of objects; lists are replaced whole."""
    patch: dict[str, Any] = {key: None for key in old if key not in new}
    for key, value in new.items():
        before = old.get(key)
        if isinstance(value, Mapping) and isinstance(before, Mapping):
            patch[key] = merge_patch_of(before, value)
        else:
            patch[key] = value
    return patch


class Kube:
    """Typed-enough calls over one transport; `timeout` bounds each request (None: none).
    `credentials` are the ones the transport connects with (for kopf's login)."""

    def __init__(
        self,
        transport: Transport,
        timeout: float | None = None,
        credentials: Credentials | None = None,
        namespace: str = "default",
    ):
        self.transport = transport
        self.timeout = timeout
        self.credentials = credentials
        self.namespace = namespace  # the kubeconfig context's (or the Pod's) namespace

    @classmethod
    def connect(
        cls,
        kubeconfig: str | None = None,
        context: str | None = None,
        timeout: float | None = None,
        user_agent: str = PLUGIN_AGENT,
        connections: int = 10,
        retries: int = 3,
        *,
        as_user: str | None = None,
        as_groups: Sequence[str] = (),
        as_uid: str | None = None,
    ) -> Self:
        """kubectl's choice of credentials (`connection.load`), with kubectl's `--as`,
        `--as-group` and `--as-uid` over the kubeconfig's impersonation. The API server names
        the writer of every field after the user agent (managedFields) and audit logs show it."""
        credentials = connection.load(
            kubeconfig, context, as_user=as_user, as_groups=as_groups, as_uid=as_uid
        )
        http = Http(credentials, user_agent, connections, retries)
        return cls(http, timeout, credentials, credentials.namespace)

    @classmethod
    def in_operator(cls) -> Self:
        """The Pod's service account, else the current kubeconfig. One kept-alive connection
        per thread that calls the API server (the pass workers and the wake-up pools): past the
        pool's size, each call would open a connection and drop it (a TLS handshake each)."""
        return cls.connect(user_agent=OPERATOR_AGENT, connections=CONNECTIONS)

    # -- the one way in ------------------------------------------------------------------------

    def call(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        query: Mapping[str, str] | None = None,
        content_type: str = "application/json",
        accept: str = "application/json",
    ) -> dict[str, Any]:
        """One request; the response's JSON. A status outside 2xx raises `ApiError`."""
        response = self.transport.request(
            method, path, query, body, content_type, self.timeout, accept
        )
        if not 200 <= response.status <= 299:
            text = response.data.decode("utf-8", "replace")
            raise ApiError(response.status, response.reason, text, response.headers)
        return cast(dict[str, Any], json.loads(response.data))

    def _found(self, path: str) -> dict[str, Any] | None:
        try:
            return self.call("GET", path)
        except ApiError as error:
            if error.status == 404:
                return None
            raise

    # -- the two kinds -------------------------------------------------------------------------

    def find(self, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        return self._found(_custom(plural, namespace, name))

    def list(self, plural: str, namespace: str) -> list[dict[str, Any]]:
        return list(self.call("GET", _custom(plural, namespace)).get("items") or [])

    def list_everywhere(self, plural: str) -> builtins.list[dict[str, Any]]:
        """Every object of one kind, in all namespaces."""
        listed = self.call("GET", f"/apis/{GROUP}/{CRD_VERSION}/{plural}")
        return list(listed.get("items") or [])

    def create(self, plural: str, body: Mapping[str, Any], field_manager: str) -> dict[str, Any]:
        path = _custom(plural, body["metadata"]["namespace"])
        return self.call("POST", path, body, {"fieldManager": field_manager})

    def merge_patch(
        self, plural: str, namespace: str, name: str, patch: Mapping[str, Any], field_manager: str
    ) -> dict[str, Any]:
        path = _custom(plural, namespace, name)
        return self.call("PATCH", path, patch, {"fieldManager": field_manager}, MERGE_PATCH)

    def write_status(
        self, plural: str, body: Mapping[str, Any], status: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Write the whole status once, guarded: 409 if the object changed since `body` was
        read (what the status was computed from). Fields the new status drops are removed."""
        meta = body["metadata"]
        patch = {
            "metadata": {"resourceVersion": meta["resourceVersion"]},
            "status": merge_patch_of(body.get("status") or {}, status),
        }
        path = _custom(plural, meta["namespace"], meta["name"]) + "/status"
        return self.call("PATCH", path, patch, content_type=MERGE_PATCH)

    # -- ConfigMaps ----------------------------------------------------------------------------

    def find_config_map(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self._found(_core("configmaps", namespace, name))

    def write_config_map(
        self, desired: Mapping[str, Any], existing: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        """Create, or replace guarded by the live resourceVersion (a hand edit in between wins
        a conflict, and the next pass reverts it); the ConfigMap written."""
        meta = desired["metadata"]
        if existing is None:
            return self.call("POST", _core("configmaps", meta["namespace"]), desired)
        live_meta = existing["metadata"]
        replacement = {
            **desired,
            "metadata": {
                **meta,
                "resourceVersion": live_meta["resourceVersion"],
                "labels": {**(live_meta.get("labels") or {}), **meta["labels"]},
                "annotations": {**(live_meta.get("annotations") or {}), **meta["annotations"]},
            },
        }
        return self.call("PUT", _core("configmaps", meta["namespace"], meta["name"]), replacement)

    def list_config_maps(self, namespace: str, selector: str) -> builtins.list[dict[str, Any]]:
        listed = self.call("GET", _core("configmaps", namespace), query={"labelSelector": selector})
        return list(listed.get("items") or [])

    def delete_config_map(self, namespace: str, name: str, uid: str, resource_version: str) -> None:
        """Delete exactly the ConfigMap that was read: 409 if it changed or was replaced since."""
        options = {"preconditions": {"uid": uid, "resourceVersion": resource_version}}
        self.call("DELETE", _core("configmaps", namespace, name), options)

    # -- Jobs (a canary's analysis) -------------------------------------------------------------

    def find_job(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self._found(_group("batch/v1", "jobs", namespace, name))

    def create_job(self, body: Mapping[str, Any]) -> dict[str, Any]:
        return self.call("POST", _group("batch/v1", "jobs", body["metadata"]["namespace"]), body)

    def delete_job(self, namespace: str, name: str) -> None:
        """Delete a Job and its pods (in the background); absent already is fine."""
        try:
            path = _group("batch/v1", "jobs", namespace, name)
            self.call("DELETE", path, {"propagationPolicy": "Background"})
        except ApiError as error:
            if error.status != 404:
                raise

    def may(
        self,
        username: str,
        groups: Sequence[str],
        namespace: str,
        verb: str,
        group: str,
        plural: str,
    ) -> tuple[bool, str]:
        """Whether the API server would let `username` (in `groups`) do `verb` on `plural` in
        `namespace` (a LocalSubjectAccessReview), and its reason."""
        path = _group("authorization.k8s.io/v1", "localsubjectaccessreviews", namespace)
        review = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "LocalSubjectAccessReview",
            "metadata": {"namespace": namespace},
            "spec": {
                "user": username,
                "groups": list(groups),
                "resourceAttributes": {
                    "namespace": namespace,
                    "verb": verb,
                    "group": group,
                    "resource": plural,
                },
            },
        }
        status = self.call("POST", path, review).get("status") or {}
        return bool(status.get("allowed")), str(status.get("reason") or "")

    # -- Secrets (the webhook sinks' signing keys) ----------------------------------------------

    def find_secret(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self._found(_core("secrets", namespace, name))

    # -- history records (ControllerRevisions) -------------------------------------------------

    def create_controller_revision(self, body: Mapping[str, Any]) -> dict[str, Any]:
        path = _group("apps/v1", "controllerrevisions", body["metadata"]["namespace"])
        return self.call("POST", path, body)

    def list_controller_revisions(
        self, namespace: str, selector: str
    ) -> builtins.list[dict[str, Any]]:
        path = _group("apps/v1", "controllerrevisions", namespace)
        listed = self.call("GET", path, query={"labelSelector": selector})
        return list(listed.get("items") or [])

    # -- workloads -----------------------------------------------------------------------------

    def list_workloads(self, kind: str, namespace: str) -> builtins.list[dict[str, Any]]:
        """Every Deployment, StatefulSet or DaemonSet (`kind`) of a namespace."""
        listed = self.call("GET", _group("apps/v1", WORKLOAD_PLURALS[kind], namespace))
        return list(listed.get("items") or [])

    def patch_workload(
        self, kind: str, namespace: str, name: str, patch: Mapping[str, Any]
    ) -> dict[str, Any]:
        """A merge patch of a Deployment, StatefulSet or DaemonSet (e.g. its pod template)."""
        plural = WORKLOAD_PLURALS[kind]
        return self.call(
            "PATCH", _group("apps/v1", plural, namespace, name), patch, None, MERGE_PATCH
        )


MERGE_PATCH = "application/merge-patch+json"
WORKLOAD_PLURALS = {
    "Deployment": "deployments",
    "StatefulSet": "statefulsets",
    "DaemonSet": "daemonsets",
}


def _path(prefix: str, plural: str, namespace: str, name: str | None) -> str:
    path = f"{prefix}/namespaces/{quote(namespace, safe='')}/{plural}"
    return path if name is None else f"{path}/{quote(name, safe='')}"


def _custom(plural: str, namespace: str, name: str | None = None) -> str:
    return _path(f"/apis/{GROUP}/{CRD_VERSION}", plural, namespace, name)


def _core(plural: str, namespace: str, name: str | None = None) -> str:
    return _path("/api/v1", plural, namespace, name)


def _group(group_version: str, plural: str, namespace: str, name: str | None = None) -> str:
    return _path(f"/apis/{group_version}", plural, namespace, name)


# -- the transport -----------------------------------------------------------------------------


@dataclass
class Request:
    method: str
    path: str
    query: Mapping[str, str]
    body: Mapping[str, Any] | None
    headers: dict[str, str]
    timeout: float | None


@dataclass
class Response:
    status: int
    reason: str
    data: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


class Transport:
    """One way of sending requests to the API server; the request is the same for all."""

    def request(
        self,
        method: str,
        path: str,
        query: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        content_type: str = "application/json",
        timeout: float | None = None,
        accept: str = "application/json",
    ) -> Response:
        headers = {"Accept": accept}
        if body is not None:
            headers["Content-Type"] = content_type
        return self.send(Request(method, path, query or {}, body, headers, timeout))

    def send(self, request: Request) -> Response:
        raise NotImplementedError


class Http(Transport):
    """Requests to one API server over a pool of kept-alive connections, safe across threads.
    A 401 is answered once more with fresh credentials (a rotated token file, a new exec
    credential) when there are any to get; the API server acted on nothing it refused."""

    def __init__(
        self,
        credentials: Credentials,
        user_agent: str,
        connections: int = 10,
        retries: int = 3,
    ):
        self.credentials = credentials
        self.user_agent = user_agent
        self.connections = connections
        self.retries = retries
        self.impersonation = credentials.impersonation.headers()
        self._lock = threading.Lock()
        self._token = ("", -float("inf"))
        self._pool_certificate = (
            credentials.cert_file,
            credentials.cert_data,
            credentials.key_file,
            credentials.key_data,
        )
        self.pool = self._pool(self._pool_certificate)

    def send(self, request: Request) -> Response:
        for attempt in (1, 2):
            used, reply = self._open(request, preload=True)
            if reply.status != 401 or attempt == 2 or not self._forget(used):
                break
        return Response(reply.status, reply.reason or "", reply.data, dict(reply.headers))

    def open(self, request: Request) -> urllib3.BaseHTTPResponse:
        """The response unread, for a watch to read as it arrives; the caller releases it."""
        return self._open(request, preload=False)[1]

    def _open(
        self, r: Request, preload: bool
    ) -> tuple[ExecCredential | None, urllib3.BaseHTTPResponse]:
        c = self.credentials
        data = None if r.body is None else json.dumps(r.body, separators=(",", ":")).encode()
        url = c.server + r.path + (f"?{urlencode(r.query)}" if r.query else "")
        used = exec_credential(c.exec) if c.exec and c.uses_exec() else None
        headers = urllib3.HTTPHeaderDict({**r.headers, "User-Agent": self.user_agent})
        headers.update(self.authorization(used))
        for name, value in self.impersonation:
            headers.add(name, value)
        reply = self._current_pool(used).request(
            r.method,
            url,
            body=data,
            headers=headers,
            timeout=urllib3.Timeout(total=r.timeout) if r.timeout else None,
            preload_content=preload,
        )
        return used, reply

    def authorization(self, used: ExecCredential | None = None) -> dict[str, str]:
        """The Authorization header: basic auth, else the bearer token (`used`: the exec
        plugin's credential of this request)."""
        c = self.credentials
        if c.username and c.password:
            basic = base64.b64encode(f"{c.username}:{c.password}".encode()).decode()
            return {"Authorization": f"Basic {basic}"}
        token = self.token(used)
        return {"Authorization": f"Bearer {token}"} if token else {}

    def token(self, used: ExecCredential | None = None) -> str | None:
        """The bearer token; a token file is read again once a minute (it rotates)."""
        if self.credentials.token_file is None:
            return self.credentials.read_token(used)
        with self._lock:
            token, until = self._token
            if not token or time.monotonic() >= until:
                token = self.credentials.read_token() or ""
                self._token = (token, time.monotonic() + TOKEN_REREAD_AFTER)
            return token

    def _forget(self, used: ExecCredential | None) -> bool:
        """Drop what a 401 refused; whether anything new may be had."""
        if used is not None and self.credentials.exec is not None:
            forget_exec_credential(self.credentials.exec, used)
            return True
        if self.credentials.token_file is not None:
            with self._lock:
                self._token = ("", -float("inf"))
            return True
        return False

    def _current_pool(self, used: ExecCredential | None) -> urllib3.PoolManager:
        """The pool presenting the client certificate of now (an exec plugin's may change)."""
        if used is None:
            return self.pool
        certificate = self.credentials.client_certificate(used)
        with self._lock:
            if certificate != self._pool_certificate:
                old, self.pool = self.pool, self._pool(certificate)
                self._pool_certificate = certificate
                old.clear()
            return self.pool

    def _pool(self, certificate: Certificate) -> urllib3.PoolManager:
        c = self.credentials
        options: dict[str, Any] = {
            "num_pools": 2,
            "maxsize": self.connections,
            "ssl_context": ssl_context(c, certificate),
            "retries": urllib3.Retry(total=self.retries, redirect=False, raise_on_status=False),
        }
        if c.tls_server_name:
            options["server_hostname"] = c.tls_server_name
            options["assert_hostname"] = False if c.insecure else c.tls_server_name
        elif c.insecure:
            options["assert_hostname"] = False
        proxy = proxy_for(c)
        if proxy is None:
            return urllib3.PoolManager(**options)
        parts = urlsplit(proxy)
        if parts.scheme not in ("http", "https"):
            raise UnsupportedConfigError(
                f"proxy {parts.scheme}://{parts.hostname}: only http and https proxies are "
                "supported"
            )
        auth = {}
        if parts.username is not None:
            login = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            auth = urllib3.util.make_headers(proxy_basic_auth=login)
        bare = f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        return urllib3.ProxyManager(bare, proxy_headers=auth, **options)


def ssl_context(
    credentials: Credentials,
    certificate: Certificate | None = None,
) -> ssl.SSLContext:
    """Verify the server with the kubeconfig's CA (else the system's); present the client
    certificate if there is one (PEM data goes through a private file only while it loads)."""
    c = credentials
    context = ssl.create_default_context(cafile=c.ca_file, cadata=c.ca_data)
    if c.insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    cert_file, cert_data, key_file, key_data = certificate or c.client_certificate()
    if (cert_file or cert_data) and (key_file or key_data):
        with tempfile.TemporaryDirectory() as private:
            cert = cert_file or _written(Path(private, "cert.pem"), cert_data)
            key = key_file or _written(Path(private, "key.pem"), key_data)
            context.load_cert_chain(certfile=cert, keyfile=key)
    return context


def _written(path: Path, text: str | None) -> str:
    path.touch(mode=0o600)
    path.write_text(text or "", encoding="ascii")
    return str(path)
