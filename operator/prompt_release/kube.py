"""The one Kubernetes client the operator and `kubectl prompt` share. No rules live here.

A read of an object that doesn't exist answers None; every other API error is raised as the
client's `ApiException` for the caller's edge to turn into a retry (the operator) or an exit
code (the plugin).
"""

from __future__ import annotations

import builtins
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, cast

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from prompt_release import CRD_VERSION, GROUP

ApiError = ApiException
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
        self.custom = client.CustomObjectsApi(self.api)
        self.core = client.CoreV1Api(self.api)
        self.apps = client.AppsV1Api(self.api)
        self._options: dict[str, Any] = {} if timeout is None else {"_request_timeout": timeout}
        self._raw: dict[str, Any] = {**self._options, "_preload_content": False}

    @classmethod
    def in_operator(cls) -> Kube:
        """In-cluster credentials in a Pod, else the current kubeconfig."""
        try:
            config.load_incluster_config()  # type: ignore[no-untyped-call]
        except config.ConfigException:
            config.load_kube_config()  # type: ignore[no-untyped-call]
        return cls()

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

    def plain(self, found: object) -> dict[str, Any]:
        """Custom objects come back as dicts and built-ins as models: always a dict."""
        if isinstance(found, dict):
            return found
        return cast(dict[str, Any], self.api.sanitize_for_serialization(found))  # type: ignore[no-untyped-call]

    @staticmethod
    def raw(response: object) -> dict[str, Any]:
        """The JSON body of a call made with `_preload_content=False`: the client's models
        are skipped both ways (deserializing a ConfigMap into one costs more than its request)."""
        return cast(dict[str, Any], json.loads(cast(Any, response).data))

    def _absent_as_none(self, read: Callable[[], object]) -> dict[str, Any] | None:
        try:
            return self.raw(read())
        except ApiException as error:
            if error.status == 404:
                return None
            raise

    # -- the two kinds -------------------------------------------------------------------------

    def find(self, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        return self._absent_as_none(
            lambda: self.custom.get_namespaced_custom_object(
                GROUP, CRD_VERSION, namespace, plural, name, **self._raw
            )
        )

    def list(self, plural: str, namespace: str) -> list[dict[str, Any]]:
        listed = self.custom.list_namespaced_custom_object(
            GROUP, CRD_VERSION, namespace, plural, **self._options
        )
        return list(self.plain(listed).get("items") or [])

    def list_everywhere(self, plural: str) -> builtins.list[dict[str, Any]]:
        """Every object of one kind, in all namespaces."""
        listed = self.custom.list_cluster_custom_object(GROUP, CRD_VERSION, plural, **self._options)
        return list(self.plain(listed).get("items") or [])

    def create(self, plural: str, body: Mapping[str, Any], field_manager: str) -> dict[str, Any]:
        namespace = body["metadata"]["namespace"]
        return self.plain(
            self.custom.create_namespaced_custom_object(
                GROUP,
                CRD_VERSION,
                namespace,
                plural,
                dict(body),
                field_manager=field_manager,
                **self._options,
            )
        )

    def merge_patch(
        self, plural: str, namespace: str, name: str, patch: Mapping[str, Any], field_manager: str
    ) -> dict[str, Any]:
        return self.raw(
            self.custom.patch_namespaced_custom_object(
                GROUP,
                CRD_VERSION,
                namespace,
                plural,
                name,
                dict(patch),
                field_manager=field_manager,
                _content_type="application/merge-patch+json",
                **self._raw,
            )
        )

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
        return self.raw(
            self.custom.patch_namespaced_custom_object_status(
                GROUP,
                CRD_VERSION,
                meta["namespace"],
                plural,
                meta["name"],
                patch,
                _content_type="application/merge-patch+json",
                **self._raw,
            )
        )

    # -- ConfigMaps ----------------------------------------------------------------------------

    def find_config_map(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self._absent_as_none(
            lambda: self.core.read_namespaced_config_map(name, namespace, **self._raw)
        )

    def write_config_map(
        self, desired: Mapping[str, Any], existing: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        """Create, or replace guarded by the live resourceVersion (a hand edit in between wins
        a conflict, and the next pass reverts it); the ConfigMap written."""
        meta = desired["metadata"]
        if existing is None:
            written = self.core.create_namespaced_config_map(
                meta["namespace"], cast(Any, dict(desired)), **self._raw
            )
            return self.raw(written)
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
        written = self.core.replace_namespaced_config_map(
            meta["name"], meta["namespace"], cast(Any, replacement), **self._raw
        )
        return self.raw(written)

    def list_config_maps(self, namespace: str, selector: str) -> builtins.list[dict[str, Any]]:
        listed = self.core.list_namespaced_config_map(
            namespace, label_selector=selector, **self._raw
        )
        return list(self.raw(listed).get("items") or [])

    def delete_config_map(self, namespace: str, name: str, uid: str, resource_version: str) -> None:
        """Delete exactly the ConfigMap that was read: 409 if it changed or was replaced since."""
        preconditions = client.V1Preconditions(uid=uid, resource_version=resource_version)
        self.core.delete_namespaced_config_map(
            name,
            namespace,
            body=client.V1DeleteOptions(preconditions=preconditions),
            **self._options,
        )

    # -- Jobs (a canary's analysis) -------------------------------------------------------------

    def find_job(self, namespace: str, name: str) -> dict[str, Any] | None:
        batch = client.BatchV1Api(self.api)
        return self._absent_as_none(lambda: batch.read_namespaced_job(name, namespace, **self._raw))

    def create_job(self, body: Mapping[str, Any]) -> dict[str, Any]:
        batch = client.BatchV1Api(self.api)
        namespace = body["metadata"]["namespace"]
        return self.plain(
            batch.create_namespaced_job(namespace, cast(Any, dict(body)), **self._options)
        )

    def delete_job(self, namespace: str, name: str) -> None:
        """Delete a Job and its pods (in the background); absent already is fine."""
        batch = client.BatchV1Api(self.api)
        try:
            batch.delete_namespaced_job(
                name,
                namespace,
                body=client.V1DeleteOptions(propagation_policy="Background"),
                **self._options,
            )
        except ApiException as error:
            if error.status != 404:
                raise

    # -- workloads -----------------------------------------------------------------------------

    def patch_workload(
        self, kind: str, namespace: str, name: str, patch: Mapping[str, Any]
    ) -> dict[str, Any]:
        """A merge patch of a Deployment, StatefulSet or DaemonSet (e.g. its pod template)."""
        call = {
            "Deployment": self.apps.patch_namespaced_deployment,
            "StatefulSet": self.apps.patch_namespaced_stateful_set,
            "DaemonSet": self.apps.patch_namespaced_daemon_set,
        }[kind]
        return self.plain(
            call(
                name,
                namespace,
                dict(patch),
                _content_type="application/merge-patch+json",
                **self._options,
            )
        )


def _kubeconfig_namespace(kubeconfig: str | None, context: str | None) -> str:
    contexts, active = config.list_kube_config_contexts(config_file=kubeconfig)  # type: ignore[no-untyped-call]
    chosen = next((c for c in contexts if c["name"] == context), active) if context else active
    return str(((chosen or {}).get("context") or {}).get("namespace") or "default")
