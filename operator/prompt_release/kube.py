"""The one Kubernetes client the operator and `kubectl prompt` share. No rules live here.

A read of an object that doesn't exist answers None; every other API error is raised as
`ApiError` for the caller's edge to turn into a retry (the operator) or an exit code (the
plugin).

Calls go straight to the REST paths, in and out as JSON, over `connection.Http` (urllib3); a
kubeconfig only the kubernetes client understands (an exec plugin, say) goes through that
client's `ApiClient` instead, imported only then.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Mapping
from typing import Any, Self, cast
from urllib.parse import quote

from prompt_release import CRD_VERSION, GROUP, __version__, connection
from prompt_release.connection import Credentials, Request, Response, Transport

OPERATOR_AGENT = f"prompt-release-operator/{__version__}"
PLUGIN_AGENT = f"kubectl-prompt/{__version__}"
CONNECTIONS = 32  # kept-alive connections to the API server, at least one per calling thread


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
    `credentials` is None when the kubernetes client connects (it keeps its own)."""

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
    ) -> Self:
        """kubectl's choice of credentials (`connection.load`). The API server names the
        writer of every field after the user agent (managedFields) and audit logs show it."""
        try:
            credentials = connection.load(kubeconfig, context)
        except connection.UnsupportedConfigError:
            return cls._through_kubernetes_client(
                kubeconfig, context, timeout, user_agent, connections, retries
            )
        http = connection.Http(credentials, user_agent, connections, retries)
        return cls(http, timeout, credentials, credentials.namespace)

    @classmethod
    def in_operator(cls) -> Self:
        """The Pod's service account, else the current kubeconfig. One kept-alive connection
        per thread that calls the API server (the pass workers and the wake-up pools): past the
        pool's size, each call would open a connection and drop it (a TLS handshake each)."""
        return cls.connect(user_agent=OPERATOR_AGENT, connections=CONNECTIONS)

    @classmethod
    def _through_kubernetes_client(
        cls,
        kubeconfig: str | None,
        context: str | None,
        timeout: float | None,
        agent: str,
        connections: int,
        retries: int,
    ) -> Self:
        """The same connection (pool size, retries, user agent) on the kubernetes client."""
        try:
            from kubernetes import client, config
        except ImportError as error:
            raise connection.ConfigError(
                f"{error.name} is needed for this kubeconfig: pip install kubernetes"
            ) from error
        configuration = client.Configuration()
        try:
            config.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=kubeconfig, context=context, client_configuration=configuration
            )
            contexts, active = config.list_kube_config_contexts(config_file=kubeconfig)  # type: ignore[no-untyped-call]
        except config.ConfigException as error:
            raise connection.ConfigError(str(error)) from error
        configuration.connection_pool_maxsize = connections
        configuration.retries = retries
        api = client.ApiClient(configuration)
        api.user_agent = agent
        chosen = next((c for c in contexts if c["name"] == context), active) if context else active
        namespace = str(((chosen or {}).get("context") or {}).get("namespace") or "default")
        return cls(ClientTransport(api), timeout, None, namespace)

    # -- the one way in ------------------------------------------------------------------------

    def call(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        query: Mapping[str, str] | None = None,
        content_type: str = "application/json",
    ) -> dict[str, Any]:
        """One request; the response's JSON. A status outside 2xx raises `ApiError`."""
        response = self.transport.request(method, path, query, body, content_type, self.timeout)
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

    # -- workloads -----------------------------------------------------------------------------

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


class ClientTransport(Transport):
    """Requests through the kubernetes client's `ApiClient` (its credentials, refreshed by its
    exec plugins and auth providers, and its connection pool)."""

    def __init__(self, api: Any):
        self.api = api

    def send(self, request: Request) -> Response:
        verb, url, sent_headers, *_ = self.api.param_serialize(
            method=request.method,
            resource_path=request.path,
            query_params=list(request.query.items()),
            header_params=request.headers,
            auth_settings=["BearerToken"],
        )
        reply = self.api.call_api(
            verb,
            url,
            header_params=sent_headers,
            body=None if request.body is None else dict(request.body),
            _request_timeout=request.timeout,
        )
        data = reply.read()
        return Response(reply.status, reply.reason or "", data, dict(reply.getheaders() or {}))
