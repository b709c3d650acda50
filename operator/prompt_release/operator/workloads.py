"""Deployments, StatefulSets and DaemonSets: which use a release's ConfigMap, and how they fare.

kopf's index `workloads_by_config_map` keeps a small summary (`core.workloads.Workload`) of
every workload per ConfigMap it uses, from the watch, so a reconcile finds its consumers and
their rollout state without listing anything. A workload's change wakes the releases whose
ConfigMaps it uses.
"""

from __future__ import annotations

from typing import Any

import kopf

from prompt_release.core.workloads import Workload

WORKLOADS = (
    ("apps", "v1", "deployments"),
    ("apps", "v1", "statefulsets"),
    ("apps", "v1", "daemonsets"),
)

WorkloadIndex = kopf.Index[tuple[str, str], Workload]
ReleasesByConfigMap = kopf.Index[tuple[str, str], str]


def workloads_by_config_map(namespace: str | None, body: Any, resource: Any, **_: Any) -> Any:
    """Index: (namespace, ConfigMap) -> the summary of each workload whose pods use it."""
    workload = Workload.of(body, resource.kind)
    return {(namespace, name): workload for name, _how in workload.uses}


def consumers(index: WorkloadIndex, namespace: str, config_map: str) -> list[Workload]:
    return list(index.get((namespace, config_map), ()))


def releases_to_wake(by_config_map: ReleasesByConfigMap, namespace: str, body: Any) -> list[str]:
    """The releases whose ConfigMaps this workload uses."""
    names = {
        release
        for config_map, _how in Workload.of(body, "").uses
        for release in by_config_map.get((namespace, config_map), ())
    }
    return sorted(names)
