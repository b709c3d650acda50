"""The one Kubernetes client the operator and `kubectl prompt` share. No rules live here.

A read of an object that doesn't exist answers None; every other API error is raised as the
client's `ApiException` for the caller's edge to turn into a retry (the operator) or an exit
code (the plugin).

Calls go straight to the REST paths through the kubernetes client's `ApiClient` (its
configuration, credentials and connection pool), in and out as JSON: the generated API classes
validate every argument and, for the core group alone, hold tens of MB of models in memory.
"""

from __future__ import annotations

import builtins
import json
import os
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from prompt_release import CRD_VERSION, GROUP, __version__

ApiError = ApiException
OPERATOR_AGENT = f"prompt-release-operator/{__version__}"
CONNECTIONS = 32  # kept-alive connections to the API server, at least one per calling thread
SERVICE_ACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


def is_status(error: BaseException, *codes: int) -> bool:
    return isinstance(error, ApiException) and error.status in codes


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
    """Typed-enough calls on one API client; `timeout` bounds each request (None: none)."""

    def __init__(self, api: client.ApiClient | None = None, timeout: float | None = None):
        self.api = api or client.ApiClient()
        self.timeout = timeout

    @classmethod
    def in_operator(cls) -> Kube:
        """In-cluster credentials in a Pod, else the current kubeconfig."""
        try:
            config.load_incluster_config()  # type: ignore[no-untyped-call]
        except config.ConfigException:
            config.load_kube_config()  # type: ignore[no-untyped-call]
        # One kept-alive connection per thread that calls the API server (the pass workers and
        # the wake-up pools): past the pool's size, urllib3 opens a connection per call and
        # drops it (a TLS handshake each time, "Connection pool is full" in the log).
        configuration = client.Configuration.get_default_copy()
        configuration.connection_pool_maxsize = CONNECTIONS
        kube = cls(client.ApiClient(configuration))
        # The API server names the writer of every field after the user agent (managedFields,
        # `kubectl get --show-managed-fields`) and audit logs show it: say who we are.
        kube.api.user_agent = OPERATOR_AGENT
        return kube

    @classmethod
    def for_user(
        cls, kubeconfig: str | None, context: str | None, timeout: float
    ) -> tuple[Kube, str]:
        """kubectl's choice of credentials, and the namespace its context names."""
        if (
            kubeconfig is None
            and "KUBERNETES_SERVICE_HOST" in os.environ
            and not os.environ.get("KUBECONFIG")
        ):
            config.load_incluster_config()  # type: ignore[no-untyped-call]
            api = client.ApiClient()
            namespace = (
                SERVICE_ACCOUNT_NAMESPACE.read_text().strip()
                if SERVICE_ACCOUNT_NAMESPACE.exists()
                else "default"
            )
        else:
            api = config.new_client_from_config(  # type: ignore[no-untyped-call]
                config_file=kubeconfig, context=context
            )
            namespace = _kubeconfig_namespace(kubeconfig, context)
        api.configuration.retries = 1
        return cls(api, timeout), namespace

    # The generated API classes, for tests and tools that want them (the operator doesn't).
    @cached_property
    def custom(self) -> client.CustomObjectsApi:
        return client.CustomObjectsApi(self.api)

    @cached_property
    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self.api)

    def plain(self, found: object) -> dict[str, Any]:
        """Custom objects come back as dicts and built-ins as models: always a dict."""
        if isinstance(found, dict):
            return found
        return cast(dict[str, Any], self.api.sanitize_for_serialization(found))  # type: ignore[no-untyped-call]

    # -- the one way in ------------------------------------------------------------------------

    def call(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        query: Mapping[str, str] | None = None,
        content_type: str = "application/json",
    ) -> dict[str, Any]:
        """One request; the response's JSON. A status outside 2xx raises `ApiException`."""
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type
        serialized = self.api.param_serialize(
            method=method,
            resource_path=path,
            query_params=list((query or {}).items()),
            header_params=headers,
            auth_settings=["BearerToken"],
        )
        verb, url, sent_headers = serialized[0], serialized[1], serialized[2]
        response = self.api.call_api(
            verb,
            url,
            header_params=sent_headers,
            body=None if body is None else dict(body),
            _request_timeout=self.timeout,
        )
        data = response.read()  # type: ignore[no-untyped-call]
        if not 200 <= response.status <= 299:
            raise ApiException.from_response(
                http_resp=response, body=data.decode("utf-8", "replace"), data=None
            )
        return cast(dict[str, Any], json.loads(data))

    def _found(self, path: str) -> dict[str, Any] | None:
        try:
            return self.call("GET", path)
        except ApiException as error:
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
        except ApiException as error:
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


def _kubeconfig_namespace(kubeconfig: str | None, context: str | None) -> str:
    contexts, active = config.list_kube_config_contexts(config_file=kubeconfig)  # type: ignore[no-untyped-call]
    chosen = next((c for c in contexts if c["name"] == context), active) if context else active
    return str(((chosen or {}).get("context") or {}).get("namespace") or "default")
