"""The operator's few Kubernetes calls, through the official client. No logic lives here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from prompt_release import GROUP, VERSION

VERSIONS = "promptversions"
RELEASES = "promptreleases"


def load_config() -> None:
    """In-cluster credentials in a Pod, else the current kubeconfig."""
    try:
        config.load_incluster_config()  # type: ignore[no-untyped-call]
    except config.ConfigException:
        config.load_kube_config()  # type: ignore[no-untyped-call]


def plain(found: object) -> dict[str, Any]:
    """The client returns dicts for custom objects and models for built-ins: always a dict."""
    if isinstance(found, dict):
        return found
    return cast(dict[str, Any], client.ApiClient().sanitize_for_serialization(found))  # type: ignore[no-untyped-call]


def _custom() -> client.CustomObjectsApi:
    return client.CustomObjectsApi()


def _core() -> client.CoreV1Api:
    return client.CoreV1Api()


def is_status(error: Exception, *codes: int) -> bool:
    return isinstance(error, ApiException) and error.status in codes


def _absent_as_none(read: Callable[[], object]) -> dict[str, Any] | None:
    """Read one object; None when the API server says it doesn't exist."""
    try:
        return plain(read())
    except ApiException as error:
        if error.status == 404:
            return None
        raise


def get_custom(plural: str, namespace: str, name: str) -> dict[str, Any] | None:
    return _absent_as_none(
        lambda: _custom().get_namespaced_custom_object(GROUP, VERSION, namespace, plural, name)
    )


def list_custom(plural: str, namespace: str) -> list[dict[str, Any]]:
    listed = plain(_custom().list_namespaced_custom_object(GROUP, VERSION, namespace, plural))
    return list(listed.get("items") or [])


def patch_status(
    plural: str, body: dict[str, Any], status: dict[str, Any], *, guarded: bool = True
) -> dict[str, Any]:
    """Write the whole status once; guarded, it fails with 409 if the object changed since
    `body` was read (what the status was planned from)."""
    meta = body["metadata"]
    patch: dict[str, Any] = {"status": status}
    if guarded:
        patch["metadata"] = {"resourceVersion": meta["resourceVersion"]}
    return plain(
        _custom().patch_namespaced_custom_object_status(
            GROUP, VERSION, meta["namespace"], plural, meta["name"], patch
        )
    )


def get_config_map(namespace: str, name: str) -> dict[str, Any] | None:
    return _absent_as_none(lambda: _core().read_namespaced_config_map(name, namespace))


def write_config_map(desired: dict[str, Any], existing: dict[str, Any] | None) -> None:
    """Create, or replace guarded by the live resourceVersion (a hand edit in between wins a
    conflict, and the next pass reverts it)."""
    meta = desired["metadata"]
    if existing is None:
        _core().create_namespaced_config_map(meta["namespace"], cast(Any, desired))
        return
    replacement = dict(desired)
    live_meta = existing["metadata"]
    replacement["metadata"] = {
        **meta,
        "resourceVersion": live_meta["resourceVersion"],
        "labels": {**(live_meta.get("labels") or {}), **meta["labels"]},
        "annotations": {**(live_meta.get("annotations") or {}), **meta["annotations"]},
    }
    _core().replace_namespaced_config_map(meta["name"], meta["namespace"], cast(Any, replacement))
