"""The operator's only cache: one store per watched kind (`runtime/informer.py`), each keeping
what the reconcilers read, with the indexes that map references back (which releases name a
version, use a ConfigMap, ...) so that an event knows which keys to enqueue."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from typing import Any

from prompt_release.core import includes
from prompt_release.core import version as version_core
from prompt_release.core.canary_jobs import JobState
from prompt_release.core.evaluation import EvaluationView
from prompt_release.core.evaluation_manifests import EVALUATION_LABEL
from prompt_release.core.evaluation_schedule import CronState
from prompt_release.core.governance import ApprovalView, PolicyView
from prompt_release.core.history import version_owners
from prompt_release.core.views import ReleaseView
from prompt_release.core.workloads import Workload
from prompt_release.operator.runtime.informer import Index, Informer, Key

Body = Mapping[str, Any]
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def trimmed(body: Body) -> dict[str, Any]:
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


def config_map_of(body: Body) -> dict[str, Any]:
    meta = {k: v for k, v in (body.get("metadata") or {}).items() if k != "managedFields"}
    kept = {key: body[key] for key in ("apiVersion", "kind", "data", "binaryData") if key in body}
    return {**kept, "metadata": meta}


# -- index functions: (namespace, name, body) -> {index key: value} --------------------------


def releases_by_version(namespace: str, name: str, body: Body) -> Mapping[Hashable, Any]:
    """(namespace, version) -> the releases whose spec names it (as stable or as canary)."""
    release = ReleaseView.of(body)
    found: dict[Hashable, Any] = {(namespace, release.version): name}
    if release.canary_version:
        found[namespace, release.canary_version] = name
    return found


def release_links(namespace: str, name: str, body: Body) -> Mapping[Hashable, Any]:
    """(namespace, version) -> what each release says of it (holds, serves, plans)."""
    by_version: dict[Hashable, list[version_core.Link]] = {}
    for link in version_core.release_links(ReleaseView.of(body)):
        by_version.setdefault((namespace, link[0]), []).append(link)
    return {key: tuple(links) for key, links in by_version.items()}


def releases_by_config_map(namespace: str, name: str, body: Body) -> Mapping[Hashable, Any]:
    """(namespace, ConfigMap) -> the release writing it."""
    return {(namespace, ReleaseView.of(body).config_map_name): name}


def releases_by_namespace(namespace: str, name: str, body: Body) -> Mapping[Hashable, Any]:
    return {namespace: name}


def versions_by_label(namespace: str, name: str, body: Body) -> Mapping[Hashable, Any]:
    """(namespace, prompt, label) -> the versions whose status says they serve it."""
    prompt = (body.get("spec") or {}).get("prompt")
    labels = (body.get("status") or {}).get("releasedAs") or ()
    return {(namespace, prompt, label): name for label in labels}


def versions_by_include(namespace: str, name: str, body: Body) -> Mapping[Hashable, Any]:
    """(namespace, version) -> the versions whose spec.includes pins it."""
    return {(namespace, included): name for included, _ in includes.pins(body.get("spec") or {})}


def releases_by_included_prompt(namespace: str, name: str, body: Body) -> Mapping[Hashable, Any]:
    """(namespace, prompt) -> the releases whose live revision includes a version of it."""
    found = (body.get("status") or {}).get("includes") or ()
    return {
        (namespace, entry.get("prompt")): name
        for entry in found
        if isinstance(entry, Mapping) and entry.get("prompt")
    }


def workloads_by_config_map(namespace: str, name: str, body: Body) -> Mapping[Hashable, Any]:
    """(namespace, ConfigMap) -> each workload whose pods use it."""
    workload = Workload.of(body)
    return {(namespace, config_map): workload for config_map, _how in workload.uses}


def policies_by_namespace(namespace: str, name: str, body: Body) -> Mapping[Hashable, Any]:
    return {namespace: PolicyView.of(body)}


def approvals_by_release(namespace: str, name: str, body: Body) -> Mapping[Hashable, Any]:
    approval = ApprovalView.of(body)
    return {(namespace, approval.release): approval}


def releases_by_promotion_source(namespace: str, name: str, body: Body) -> Mapping[Hashable, Any]:
    """(namespace, prompt, label) -> the releases promoting from that label (spec.promotion)."""
    spec = body.get("spec") or {}
    promotion = spec.get("promotion")
    if not isinstance(promotion, Mapping) or not promotion.get("from"):
        return {}
    return {(namespace, spec.get("prompt"), promotion["from"]): name}


def promoting_releases(namespace: str, name: str, body: Body) -> Mapping[Hashable, Any]:
    """namespace -> the releases with spec.promotion or spec.evaluation (a new evaluation may
    open their gate, or settle their run)."""
    spec = body.get("spec") or {}
    reads = any(isinstance(spec.get(key), Mapping) for key in ("promotion", "evaluation"))
    return {namespace: name} if reads else {}


def evaluations_by_version(namespace: str, name: str, body: Body) -> Mapping[Hashable, Any]:
    """(namespace, version) -> the PromptEvaluations naming it."""
    evaluation = EvaluationView.of(body)
    return {(namespace, evaluation.version): evaluation}


def evaluation_jobs_by_release(namespace: str, name: str, body: Body) -> Mapping[Hashable, Any]:
    """(namespace, release) -> the state of each evaluation Job it owns (spec.evaluation)."""
    meta = body.get("metadata") or {}
    if EVALUATION_LABEL not in (meta.get("labels") or {}):
        return {}
    owners = [
        str(owner.get("name"))
        for owner in meta.get("ownerReferences") or ()
        if owner.get("controller") and owner.get("kind") == "PromptRelease"
    ]
    return {(namespace, owner): JobState.of(body) for owner in owners}


def _index(function: Any) -> Index:
    return Index(function.__name__, function)


def informers(workload_kinds: Iterable[str], compact: bool = False) -> list[Informer]:
    """One store per watched kind, each with its indexes; `compact`: the prompt objects and
    ConfigMaps kept as JSON bytes (`runtime/compact.py`)."""
    return [
        Informer(
            "releases",
            trimmed,
            [
                _index(releases_by_version),
                _index(release_links),
                _index(releases_by_config_map),
                _index(releases_by_namespace),
                _index(releases_by_promotion_source),
                _index(promoting_releases),
                _index(releases_by_included_prompt),
            ],
            compact,
        ),
        Informer(
            "versions", trimmed, [_index(versions_by_label), _index(versions_by_include)], compact
        ),
        Informer("config_maps", config_map_of, compact=compact),
        Informer("analysis_jobs", JobState.of, [_index(evaluation_jobs_by_release)]),
        Informer("cron_jobs", CronState.of),
        *(
            Informer(kind, lambda body: None, [_index(workloads_by_config_map)])
            for kind in workload_kinds
        ),
        Informer("policies", lambda body: None, [_index(policies_by_namespace)]),
        Informer("approvals", lambda body: None, [_index(approvals_by_release)]),
        Informer("evaluations", lambda body: None, [_index(evaluations_by_version)]),
    ]


class Stores:
    """Every store and index, by name, as the reconcilers read them (on the loop)."""

    def __init__(self, found: Iterable[Informer]) -> None:
        self.informers = {informer.name: informer for informer in found}
        self._indexes: dict[str, list[Index]] = {}
        for informer in self.informers.values():
            for index in informer.indexes.values():
                self._indexes.setdefault(index.name, []).append(index)

    def get(self, store: str, key: Key) -> Any:
        return self.informers[store].get(key)

    def values(self, index: str, key: Hashable) -> list[Any]:
        """Every value kept under `key`, in every store with this index (copied)."""
        return [value for found in self._indexes[index] for value in found.values(key)]
