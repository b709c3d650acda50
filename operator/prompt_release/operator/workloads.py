"""Deployments, StatefulSets and DaemonSets: which use a release's ConfigMap, and how they fare.

The index `workloads_by_config_map` keeps a small summary (`core.workloads.Workload`) of
every workload per ConfigMap it uses, from the watch, so a reconcile finds its consumers and
their rollout state without listing anything. A workload's change wakes the releases whose
ConfigMaps it uses.
"""

from __future__ import annotations

from typing import Any

from prompt_release.core.workloads import Workload
from prompt_release.operator.informers import Index

WORKLOADS = (
    ("apps", "v1", "deployments"),
    ("apps", "v1", "statefulsets"),
    ("apps", "v1", "daemonsets"),
)

WorkloadIndex = Index[tuple[str, str], Workload]
ReleasesByConfigMap = Index[tuple[str, str], str]


def workloads_by_config_map(namespace: str | None, body: Any, **_: Any) -> Any:
    """Index: (namespace, ConfigMap) -> the summary of each workload whose pods use it (the
    body's kind is there: kopf sets it on every listed item, as a watch event has it)."""
    workload = Workload.of(body)
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
