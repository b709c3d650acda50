"""Workloads that use a release's ConfigMap: found in their pod templates, never declared.

A Deployment, StatefulSet or DaemonSet uses a ConfigMap through a `configMap` volume, a
`projected` volume source, `envFrom` or `env[].valueFrom.configMapKeyRef`. Only whole volumes
without `subPath` see the kubelet swap the files; the rest read the prompt once, at start.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from prompt_release import GROUP
from prompt_release.core.consumers import ACCEPTS_RESPONSE_FORMAT, SUPPLIES_VARIABLES, parse_list

KINDS = ("Deployment", "StatefulSet", "DaemonSet")

VOLUME, PROJECTED, ENV_FROM, ENV, SUB_PATH = "volume", "projected", "envFrom", "env", "subPath"
HOT_RELOADING = frozenset({VOLUME, PROJECTED})

RESTART_ANNOTATION = f"{GROUP}/restart-on-release"
"""On a workload: "true" restarts it on every release of any prompt it uses, whatever the
release's strategy (as Reloader's `reloader.stakater.com/auto` does)."""


REVISION_ANNOTATION = f"{GROUP}/revision"
HASH_ANNOTATION = f"{GROUP}/hash"
"""Pod-template annotations a Restart stamps, one `<release>=<value>` entry per release (comma
separated), so a workload using two releases' ConfigMaps carries both and they never fight."""


def parse_stamps(value: str | None) -> dict[str, str]:
    """`a=1,b=2` -> {"a": "1", "b": "2"}; anything malformed is ignored."""
    entries = (part.partition("=") for part in (value or "").split(",") if part.strip())
    return {name.strip(): stamped.strip() for name, sep, stamped in entries if sep and name}


def format_stamps(stamps: Mapping[str, str]) -> str:
    return ",".join(f"{name}={stamps[name]}" for name in sorted(stamps))


def _containers(pod_spec: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    yield from pod_spec.get("initContainers") or ()
    yield from pod_spec.get("containers") or ()


def config_map_uses(template: Mapping[str, Any]) -> dict[str, set[str]]:
    """ConfigMap name -> how this pod template uses it: volume, projected, envFrom, env, subPath."""
    pod = template.get("spec") or {}
    uses: dict[str, set[str]] = {}
    by_volume: dict[str, str] = {}
    for volume in pod.get("volumes") or ():
        if (volume.get("configMap") or {}).get("name"):
            name = str(volume["configMap"]["name"])
            uses.setdefault(name, set()).add(VOLUME)
            by_volume[str(volume.get("name"))] = name
        for source in (volume.get("projected") or {}).get("sources") or ():
            if (source.get("configMap") or {}).get("name"):
                name = str(source["configMap"]["name"])
                uses.setdefault(name, set()).add(PROJECTED)
                by_volume[str(volume.get("name"))] = name
    for container in _containers(pod):
        for source in container.get("envFrom") or ():
            if (source.get("configMapRef") or {}).get("name"):
                uses.setdefault(str(source["configMapRef"]["name"]), set()).add(ENV_FROM)
        for variable in container.get("env") or ():
            ref = (variable.get("valueFrom") or {}).get("configMapKeyRef") or {}
            if ref.get("name"):
                uses.setdefault(str(ref["name"]), set()).add(ENV)
        for mount in container.get("volumeMounts") or ():
            if mount.get("subPath") and str(mount.get("name")) in by_volume:
                uses[by_volume[str(mount["name"])]].add(SUB_PATH)
    return uses


def hot_reloads(uses: set[str]) -> bool:
    """Does the kubelet's file swap reach every way this workload reads the ConfigMap?"""
    return bool(uses) and uses <= HOT_RELOADING


@dataclass(frozen=True)
class Workload:
    """What a rollout needs to know of one workload, from its spec and status."""

    kind: str
    namespace: str
    name: str
    generation: int
    observed_generation: int
    desired: int
    updated: int
    ready: int
    available: int
    total: int
    """Pods of every revision still there (old ones terminate last in a rolling update)."""
    deadline_exceeded: bool
    resource_version: str
    revisions: tuple[tuple[str, str], ...]
    """What Restarts stamped on its pod template: (release, revision)."""
    hashes: tuple[tuple[str, str], ...]
    """(release, content hash)."""
    opted_in: bool
    uses: tuple[tuple[str, tuple[str, ...]], ...]
    """(ConfigMap name, how it is used)."""
    supplies: tuple[str, ...] | None = None
    """The variables its pod template says it supplies (None: it says nothing)."""
    accepts: tuple[str, ...] | None = None
    """The response-format hashes its pod template says it accepts (None: it says nothing)."""

    @classmethod
    def of(cls, body: Mapping[str, Any], kind: str | None = None) -> Workload:
        """`kind` when the body may lack it (items of a list response do)."""
        kind = str(kind or body.get("kind", ""))
        meta, spec = body.get("metadata") or {}, body.get("spec") or {}
        status = body.get("status") or {}
        template = spec.get("template") or {}
        annotations = (template.get("metadata") or {}).get("annotations") or {}
        if kind == "DaemonSet":
            desired = int(status.get("desiredNumberScheduled") or 0)
            updated = int(status.get("updatedNumberScheduled") or 0)
            ready = int(status.get("numberReady") or 0)
            available = int(status.get("numberAvailable") or 0)
            total = int(status.get("currentNumberScheduled") or 0)
        else:
            desired = int(spec.get("replicas", 1) if spec.get("replicas") is not None else 1)
            updated = int(status.get("updatedReplicas") or 0)
            ready = int(status.get("readyReplicas") or 0)
            available = int(status.get("availableReplicas") or 0)
            total = int(status.get("replicas") or 0)
        progressing: Mapping[str, Any] = next(
            (c for c in status.get("conditions") or () if c.get("type") == "Progressing"), {}
        )
        return cls(
            kind=kind,
            namespace=str(meta.get("namespace", "")),
            name=str(meta.get("name", "")),
            generation=int(meta.get("generation") or 0),
            observed_generation=int(status.get("observedGeneration") or 0),
            desired=desired,
            updated=updated,
            ready=ready,
            available=available,
            total=total,
            deadline_exceeded=progressing.get("reason") == "ProgressDeadlineExceeded",
            resource_version=str(meta.get("resourceVersion", "")),
            revisions=tuple(sorted(parse_stamps(annotations.get(REVISION_ANNOTATION)).items())),
            hashes=tuple(sorted(parse_stamps(annotations.get(HASH_ANNOTATION)).items())),
            opted_in=str((meta.get("annotations") or {}).get(RESTART_ANNOTATION, "")).lower()
            == "true",
            uses=tuple(
                sorted(
                    (name, tuple(sorted(how))) for name, how in config_map_uses(template).items()
                )
            ),
            supplies=parse_list(annotations.get(SUPPLIES_VARIABLES)),
            accepts=parse_list(annotations.get(ACCEPTS_RESPONSE_FORMAT)),
        )

    def uses_of(self, config_map: str) -> set[str]:
        return next((set(how) for name, how in self.uses if name == config_map), set())

    def stamped(self, release_name: str) -> tuple[int | None, str | None]:
        """The revision and hash a Restart stamped for this release, if any."""
        revision = dict(self.revisions).get(release_name)
        return (
            int(revision) if revision and revision.isdigit() else None,
            dict(self.hashes).get(release_name),
        )

    @property
    def settled(self) -> bool:
        """Its controller saw the newest spec, every replica runs it, ready and available, and
        no pod of an older template is left (what `kubectl rollout status` waits for)."""
        return (
            self.observed_generation >= self.generation
            and self.updated >= self.desired
            and self.total <= self.updated
            and self.ready >= self.desired
            and self.available >= self.desired
        )


def stamp_patch(
    workload: Workload, release_name: str, revision: int, content_hash: str
) -> dict[str, Any]:
    """The merge patch that rolls a workload's pods onto this revision: this release's entry
    set, the other releases' entries kept, guarded by the resourceVersion they were read at."""
    revisions = {**dict(workload.revisions), release_name: str(revision)}
    hashes = {**dict(workload.hashes), release_name: content_hash}
    return {
        "metadata": {"resourceVersion": workload.resource_version},
        "spec": {
            "template": {
                "metadata": {
                    "annotations": {
                        REVISION_ANNOTATION: format_stamps(revisions),
                        HASH_ANNOTATION: format_stamps(hashes),
                    }
                }
            }
        },
    }
