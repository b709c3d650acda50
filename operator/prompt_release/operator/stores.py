"""The operator's only cache: kopf indexes, each keeping what the reconcilers read.

kopf fills every index from its watches before it calls any event handler, so a key missing
from an index is an object that doesn't exist. Each kind has one index of its objects keyed
by (namespace, name), trimmed to what a pass reads; a few more map references back (which
releases name a version, use a ConfigMap, ...) so an event knows which keys to enqueue.
Index functions are async: kopf calls them on its loop, with no thread hop per event.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from prompt_release.core import version as version_core
from prompt_release.core.canary_jobs import JobState
from prompt_release.core.governance import ApprovalView, PolicyView
from prompt_release.core.history import version_owners
from prompt_release.core.views import ReleaseView
from prompt_release.core.workloads import Workload

V = TypeVar("V")
Key = tuple[str, str]  # (namespace, name)
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def trimmed(body: Mapping[str, Any]) -> dict[str, Any]:
    """A prompt object as a pass reads it: managedFields cut to the entries owning
    spec.version (who released, core/history.py), and no copy of itself from client-side
    `kubectl apply`."""
    meta = dict(body.get("metadata") or {})
    owners = version_owners(meta.pop("managedFields", None))
    if owners:
        meta["managedFields"] = owners
    annotations = meta.get("annotations")
    if isinstance(annotations, Mapping) and LAST_APPLIED in annotations:
        meta["annotations"] = {k: v for k, v in annotations.items() if k != LAST_APPLIED}
    kept = {key: body[key] for key in ("apiVersion", "kind", "spec", "status") if key in body}
    return {**kept, "metadata": meta}


def config_map_of(body: Mapping[str, Any]) -> dict[str, Any]:
    meta = {k: v for k, v in (body.get("metadata") or {}).items() if k != "managedFields"}
    kept = {key: body[key] for key in ("apiVersion", "kind", "data", "binaryData") if key in body}
    return {**kept, "metadata": meta}


# -- index functions (kopf calls each with the object's fields as keyword arguments) -----------


async def releases(namespace: str | None, name: str, body: Any, **_: Any) -> Any:
    return {(namespace, name): trimmed(body)}


async def versions(namespace: str | None, name: str, body: Any, **_: Any) -> Any:
    return {(namespace, name): trimmed(body)}


async def config_maps(namespace: str | None, name: str, body: Any, **_: Any) -> Any:
    """The operator's ConfigMaps (its watch selects them by label)."""
    return {(namespace, name): config_map_of(body)}


async def analysis_jobs(namespace: str | None, name: str, body: Any, **_: Any) -> Any:
    return {(namespace, name): JobState.of(body)}


async def workloads_by_config_map(namespace: str | None, body: Any, **_: Any) -> Any:
    """(namespace, ConfigMap) -> each workload whose pods use it."""
    workload = Workload.of(body)
    return {(namespace, config_map): workload for config_map, _how in workload.uses}


async def releases_by_version(namespace: str | None, name: str, spec: Any, **_: Any) -> Any:
    """(namespace, version) -> the releases whose spec names it (as stable or as canary)."""
    found = {(namespace, str(spec.get("version"))): name}
    canary = spec.get("canary")
    if isinstance(canary, Mapping) and canary.get("version"):
        found[namespace, str(canary["version"])] = name
    return found


async def release_links(namespace: str | None, body: Any, **_: Any) -> Any:
    """(namespace, version) -> what each release says of it (holds, serves, plans)."""
    by_version: dict[tuple[str | None, str], list[version_core.Link]] = {}
    for link in version_core.release_links(ReleaseView.of(body)):
        by_version.setdefault((namespace, link[0]), []).append(link)
    return {key: tuple(links) for key, links in by_version.items()}


async def releases_by_config_map(namespace: str | None, name: str, body: Any, **_: Any) -> Any:
    """(namespace, ConfigMap) -> the release writing it."""
    return {(namespace, ReleaseView.of(body).config_map_name): name}


async def releases_by_namespace(namespace: str | None, name: str, **_: Any) -> Any:
    return {namespace: name}


async def versions_by_label(
    namespace: str | None, name: str, spec: Any, status: Any, **_: Any
) -> Any:
    """(namespace, prompt, label) -> the versions whose status says they serve it."""
    prompt = spec.get("prompt")
    return {(namespace, prompt, label): name for label in (status or {}).get("releasedAs") or ()}


async def policies_by_namespace(namespace: str | None, body: Any, **_: Any) -> Any:
    return {namespace: PolicyView.of(body)}


async def approvals_by_release(namespace: str | None, body: Any, **_: Any) -> Any:
    approval = ApprovalView.of(body)
    return {(namespace, approval.release): approval}


IndexFunction = Callable[..., Coroutine[Any, Any, Any]]
INDEXES: dict[str, tuple[IndexFunction, ...]] = {
    "promptreleases": (
        releases,
        releases_by_version,
        release_links,
        releases_by_config_map,
        releases_by_namespace,
    ),
    "promptversions": (versions, versions_by_label),
    "configmaps": (config_maps,),
    "jobs": (analysis_jobs,),
    "workloads": (workloads_by_config_map,),
    "promptpolicies": (policies_by_namespace,),
    "promptapprovals": (approvals_by_release,),
}
"""The index functions of each watched kind (by plural; "workloads": Deployments,
StatefulSets and DaemonSets, which share one index)."""


@dataclass
class Stores:
    """Every index, by its function's name, as kopf hands them to handlers."""

    indexes: Mapping[str, Mapping[Any, Any]]

    def values(self, index: str, key: Any) -> list[Any]:
        """Every value kept under `key` (copied: the loop may change the index later)."""
        return list(self.indexes[index].get(key, ()))

    def one(self, index: str, key: Any) -> Any:
        return next(iter(self.indexes[index].get(key, ())), None)

    def keys(self, index: str) -> list[Any]:
        return list(self.indexes[index])
