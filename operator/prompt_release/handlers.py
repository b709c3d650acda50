"""The kopf shell: read, call the pure core, write once. Level-based and idempotent.

Every path that can change what a release should serve (its own spec, its PromptVersion, a hand
edit or deletion of its ConfigMap) ends in `reconcile_release`, which plans from fresh reads
and writes only what differs. A restart over unchanged objects therefore writes nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

import kopf

from prompt_release import GROUP, VERSION, conditions, kube, metrics, payload
from prompt_release import release as release_core
from prompt_release import version as version_core
from prompt_release.bookkeeping import SpecDigestStorage

log = logging.getLogger("prompt_release")

VERSIONS = (GROUP, VERSION, kube.VERSIONS)
RELEASES = (GROUP, VERSION, kube.RELEASES)
FINALIZER = f"{GROUP}/in-use-protection"
CONFLICT_RETRIES = 5
RETRY_STALLED_SECONDS = 10
# Seconds a silent peer counts as alive (set by the runner); 0 keeps kopf's default.
PEERING_LIFETIME = 0

_locks: defaultdict[tuple[str, str], threading.Lock] = defaultdict(threading.Lock)
_locks_guard = threading.Lock()


def now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@contextmanager
def _locked(namespace: str, name: str) -> Iterator[None]:
    """One reconcile per release at a time in this process (handlers run in threads)."""
    with _locks_guard:
        lock = _locks[(namespace, name)]
    with lock:
        yield


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
    settings.persistence.finalizer = FINALIZER
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
    settings.persistence.diffbase_storage = SpecDigestStorage()
    settings.posting.level = logging.INFO
    settings.watching.server_timeout = 300
    settings.execution.max_workers = 8
    settings.scanning.disabled = True  # no cluster-wide CRD watch: least privilege
    if PEERING_LIFETIME:
        settings.peering.lifetime = PEERING_LIFETIME
    kube.load_config()


# -- indexes: kopf keeps them from its watches, so lookups cost no API call --------------------


@kopf.index(*RELEASES)
def releases_by_version(namespace: str | None, name: str, spec: Any, **_: Any) -> Any:
    return {(namespace, spec.get("version")): name}


# -- PromptRelease ---------------------------------------------------------------------------


@kopf.on.resume(*RELEASES)
@kopf.on.create(*RELEASES)
@kopf.on.update(*RELEASES)
def release_changed(namespace: str | None, name: str, **_: Any) -> None:
    reconcile_release(_namespaced(namespace), name)


def _not_ready(status: Any, **_: Any) -> bool:
    return not conditions.is_ready(status)


@kopf.timer(*RELEASES, interval=RETRY_STALLED_SECONDS, idle=RETRY_STALLED_SECONDS, when=_not_ready)
def release_retry(namespace: str | None, name: str, **_: Any) -> None:
    """Causes we don't watch (an unmanaged ConfigMap deleted, say) clear without a spec change."""
    reconcile_release(_namespaced(namespace), name)


def reconcile_release(namespace: str, name: str) -> None:
    """Bring one release's ConfigMap and status to what its spec asks for."""
    with _locked(namespace, name):
        for _attempt in range(CONFLICT_RETRIES):
            try:
                _reconcile_release_once(namespace, name)
                return
            except Exception as error:
                if kube.is_status(error, 409):
                    continue  # someone wrote in between: plan again from fresh reads
                raise
        raise kopf.TemporaryError(f"{CONFLICT_RETRIES} write conflicts in a row", delay=1)


def _reconcile_release_once(namespace: str, name: str) -> None:
    with metrics.reconciling("PromptRelease") as outcome:
        body = kube.get_custom(kube.RELEASES, namespace, name)
        if body is None or body["metadata"].get("deletionTimestamp"):
            metrics.RELEASES.forget(namespace, name)
            return
        if not _release_once(body):
            outcome["result"] = "refused"


def _release_once(body: dict[str, Any]) -> bool:
    """One pass over a release; True when it ends Ready."""
    namespace, name = body["metadata"]["namespace"], body["metadata"]["name"]
    if not (body.get("status") or {}).get("conditions"):
        body = kube.patch_status(kube.RELEASES, body, release_core.first_visit(body, now()))
    spec = body["spec"]
    version = kube.get_custom(kube.VERSIONS, namespace, spec["version"])
    existing = kube.get_config_map(namespace, release_core.config_map_name(body))
    plan = release_core.plan(body, version, existing, now())
    if plan.config_map is not None:
        kube.write_config_map(plan.config_map, existing)
    if conditions.status_changed(body.get("status"), plan.status):
        kube.patch_status(kube.RELEASES, body, plan.status)
        was = (body.get("status") or {}).get("version")
        if was != plan.status.get("version"):
            _refresh_released_as(namespace, {was, plan.status.get("version")})
    for event in plan.events:
        kopf.event(cast(Any, body), type=event.type, reason=event.reason, message=event.message)
    metrics.RELEASES.record(namespace, name, spec, plan.status)
    ready = conditions.ready_of(plan.status)
    if plan.events or plan.config_map is not None:
        log.info(
            "PromptRelease %s/%s: %s %s",
            namespace,
            name,
            ready.get("reason"),
            ready.get("message"),
        )
    return plan.ready


# -- PromptVersion ---------------------------------------------------------------------------


@kopf.on.resume(*VERSIONS)
@kopf.on.create(*VERSIONS)
@kopf.on.update(*VERSIONS)
def version_changed(body: Any, namespace: str | None, name: str, **_: Any) -> None:
    """Hash and validate the version (the releases naming it react in `version_event`)."""
    with metrics.reconciling("PromptVersion") as outcome:
        current = dict(body)
        status = version_core.status(current, now())
        ready = conditions.ready_of(status)
        if ready.get("status") != "True":
            outcome["result"] = "refused"
        if not conditions.status_changed(current.get("status"), status):
            return
        kube.patch_status(kube.VERSIONS, _plain(current), status, guarded=False)
        log.info(
            "PromptVersion %s/%s: %s %s", namespace, name, ready.get("reason"), status.get("hash")
        )
        if ready.get("status") == "False":
            kopf.event(
                body,
                type="Warning",
                reason=str(ready.get("reason")),
                message=str(ready.get("message")),
            )


@kopf.on.event(*VERSIONS)
def version_event(namespace: str | None, name: str, **kwargs: Any) -> None:
    """A version appeared, changed or went: the releases naming it may now succeed or fail."""
    index: kopf.Index[Any, str] = kwargs["releases_by_version"]
    for release_name in list(index.get((namespace, name), [])):
        reconcile_release(_namespaced(namespace), release_name)


@kopf.on.delete(*VERSIONS)
def version_deleted(body: Any, namespace: str | None, name: str, **_: Any) -> None:
    """Hold back deletion while any release points here (the finalizer stays)."""
    releases = kube.list_custom(kube.RELEASES, _namespaced(namespace))
    holders = version_core.holders(name, releases)
    current = _plain(dict(body))
    old_status = dict(current.get("status") or {})
    message = f"deletion waits until no release points here; held by: {', '.join(holders)}"
    if old_status.get("heldBy") != (holders or None):  # say it once per change, not per retry
        status = {**old_status, "heldBy": holders or None}
        try:
            kube.patch_status(kube.VERSIONS, current, status, guarded=False)
        except Exception as error:
            if not kube.is_status(error, 404, 409):
                raise
        if holders:
            kopf.event(body, type="Warning", reason="InUse", message=message)
    if holders:
        raise kopf.TemporaryError(message, delay=3)


@kopf.on.event(*RELEASES)
def release_event(type: str, body: Any, namespace: str | None, **_: Any) -> None:
    """A deleted release no longer serves its version: say so on the version."""
    if type == "DELETED":
        metrics.RELEASES.forget(_namespaced(namespace), body["metadata"]["name"])
        _refresh_released_as(_namespaced(namespace), {(body.get("status") or {}).get("version")})


def _refresh_released_as(namespace: str, version_names: set[Any]) -> None:
    """Write status.releasedAs on these versions from what the releases serve now."""
    names = sorted(str(name) for name in version_names if name)
    if not names:
        return
    releases = kube.list_custom(kube.RELEASES, namespace)
    for name in names:
        found = kube.get_custom(kube.VERSIONS, namespace, name)
        if found is None:
            continue
        labels = version_core.released_as(name, releases) or None
        old = dict(found.get("status") or {})
        if old.get("releasedAs") != labels:
            kube.patch_status(kube.VERSIONS, found, {**old, "releasedAs": labels}, guarded=False)


# -- ConfigMaps we manage --------------------------------------------------------------------


@kopf.on.event("", "v1", "configmaps", labels={payload.MANAGED_BY: payload.OPERATOR})
def config_map_event(body: Any, namespace: str | None, **_: Any) -> None:
    """A hand edit or deletion of a managed ConfigMap: let its release put it back."""
    if namespace is None:
        return
    for owner in body.get("metadata", {}).get("ownerReferences") or ():
        if owner.get("controller") and owner.get("kind") == "PromptRelease":
            reconcile_release(namespace, str(owner["name"]))


def _namespaced(namespace: str | None) -> str:
    """Both kinds are namespaced; kopf's signatures allow None for cluster-scoped kinds."""
    if namespace is None:
        raise kopf.PermanentError("a namespaced object arrived without a namespace")
    return namespace


def _plain(body: dict[str, Any]) -> dict[str, Any]:
    """A kopf body as plain dicts (kopf hands out read-only views)."""
    meta = dict(body.get("metadata") or {})
    return {**body, "metadata": meta, "status": dict(body.get("status") or {})}
