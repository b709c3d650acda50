"""The operator assembled: kopf's watches fill the stores and enqueue keys, and two
controllers (one per kind) work their queues. Everything goes through kopf's public API.

Where things go: a watched kind is a row of `WATCHED` plus its index functions in
`stores.INDEXES`; what its events wake is one handler below; a timer is `add_after` on the
queue of the controller that owns the object.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

import kopf

from prompt_release import CRD_VERSION, GROUP, RELEASE_PLURAL, VERSION_PLURAL
from prompt_release.core.canary_jobs import RELEASE_LABEL
from prompt_release.core.configmap import MANAGED_SELECTOR, OPERATOR
from prompt_release.core.governance import APPROVAL_PLURAL, POLICY_PLURAL, ApprovalView
from prompt_release.core.views import ReleaseView
from prompt_release.core.workloads import Workload
from prompt_release.kube import Kube
from prompt_release.operator import stores
from prompt_release.operator.controllers.release import ReleaseReconciler
from prompt_release.operator.controllers.version import VersionReconciler
from prompt_release.operator.options import Options
from prompt_release.operator.runtime.controller import Controller
from prompt_release.operator.runtime.events import EventRecorder
from prompt_release.operator.stores import Key, Stores

log = logging.getLogger("prompt_release")

Resource = tuple[str, str, str]  # (group, version, plural)
RELEASES: Resource = (GROUP, CRD_VERSION, RELEASE_PLURAL)
VERSIONS: Resource = (GROUP, CRD_VERSION, VERSION_PLURAL)
POLICIES: Resource = (GROUP, CRD_VERSION, POLICY_PLURAL)
APPROVALS: Resource = (GROUP, CRD_VERSION, APPROVAL_PLURAL)
CONFIG_MAPS: Resource = ("", "v1", "configmaps")
JOBS: Resource = ("batch", "v1", "jobs")
WORKLOADS: tuple[Resource, ...] = (
    ("apps", "v1", "deployments"),
    ("apps", "v1", "statefulsets"),
    ("apps", "v1", "daemonsets"),
)
WATCHED: dict[str, tuple[Resource, ...]] = {
    "promptreleases": (RELEASES,),
    "promptversions": (VERSIONS,),
    "configmaps": (CONFIG_MAPS,),
    "jobs": (JOBS,),
    "workloads": WORKLOADS,
    "promptpolicies": (POLICIES,),
    "promptapprovals": (APPROVALS,),
}
"""Each watched kind's resources, by the name of its indexes in `stores.INDEXES`."""
LIST_PAGE = 500
"""Objects per page of a first listing, as client-go's reflectors page them."""


class Manager:
    """The stores, the two controllers and the kopf handlers that connect them."""

    def __init__(self, kube: Kube, options: Options) -> None:
        self.kube = kube
        self.options = options
        self.stores = Stores({})
        self.events = EventRecorder(self._post_event, OPERATOR)
        self.releases: Controller[Key] = Controller(
            "releases",
            ReleaseReconciler(
                kube,
                self.stores,
                self.events,
                options.retry_stalled_seconds,
                options.fight_policy,
            ),
            options.release_workers,
            options.backoff,
        )
        self.versions: Controller[Key] = Controller(
            "versions",
            VersionReconciler(kube, self.stores, self.events, options.version_timing),
            options.version_workers,
            options.backoff,
        )

    def _post_event(self, namespace: str, body: dict[str, Any]) -> object:
        return self.kube.call("POST", f"/api/v1/namespaces/{namespace}/events", body)

    # -- kopf's side ----------------------------------------------------------------------

    def registry(self) -> kopf.OperatorRegistry:
        registry = kopf.OperatorRegistry()
        kopf.on.startup(registry=registry, id="start")(self.start)
        kopf.on.cleanup(registry=registry, id="stop")(self.stop)
        kopf.on.login(registry=registry, id="login")(login(self.kube))
        for kind, functions in stores.INDEXES.items():
            for resource in WATCHED[kind]:
                for function in functions:
                    kopf.index(*resource, registry=registry, id=function.__name__)(function)
        handlers: dict[str, Callable[..., Coroutine[Any, Any, None]]] = {
            "promptreleases": self.release_event,
            "promptversions": self.version_event,
            "configmaps": self.owned_event,
            "jobs": self.owned_event,
            "workloads": self.workload_event,
            "promptpolicies": self.policy_event,
            "promptapprovals": self.approval_event,
        }
        for kind, handler in handlers.items():
            for resource in WATCHED[kind]:
                kopf.on.event(*resource, registry=registry, id=f"{resource[2]}_event")(handler)
        return registry

    async def start(self, settings: kopf.OperatorSettings, **indexes: Any) -> None:
        configure(settings, self.options)
        self.stores.indexes = {name: indexes[name] for name in _index_names()}
        self.releases.start()
        self.versions.start()

    async def stop(self, **_: Any) -> None:
        await self.releases.stop()
        await self.versions.stop()
        self.events.stop()

    # -- what each kind's events wake ---------------------------------------------------------

    async def release_event(
        self, type: str | None, body: Any, namespace: str | None, name: str, **_: Any
    ) -> None:
        """A release changed: it, and the versions whose status or finalizer it affects."""
        self.releases.queue.add(key(namespace, name))
        release = ReleaseView.of(body)
        named = {release.version, release.status.version, release.canary_version}
        named.update(
            self.stores.values("versions_by_label", (namespace, release.prompt, release.label))
        )
        for version in named:
            if version:
                self.versions.queue.add(key(namespace, version))

    async def version_event(
        self, type: str | None, namespace: str | None, name: str, **_: Any
    ) -> None:
        """A version changed; one that appeared or went changes the releases naming it (its
        spec never changes: the API server refuses edits)."""
        self.versions.queue.add(key(namespace, name))
        if type in ("ADDED", "DELETED"):
            for release in self.stores.values("releases_by_version", (namespace, name)):
                self.releases.queue.add(key(namespace, release))

    async def owned_event(self, namespace: str | None, meta: Any, **_: Any) -> None:
        """A ConfigMap or an analysis Job changed: its release looks again."""
        for owner in meta.get("ownerReferences") or ():
            if owner.get("controller") and owner.get("kind") == "PromptRelease":
                self.releases.queue.add(key(namespace, str(owner["name"])))

    async def workload_event(self, namespace: str | None, body: Any, **_: Any) -> None:
        """A workload changed: the releases whose ConfigMaps it uses look at their rollout."""
        for config_map, _how in Workload.of(body).uses:
            for release in self.stores.values("releases_by_config_map", (namespace, config_map)):
                self.releases.queue.add(key(namespace, release))

    async def approval_event(self, namespace: str | None, body: Any, **_: Any) -> None:
        self.releases.queue.add(key(namespace, ApprovalView.of(body).release))

    async def policy_event(self, namespace: str | None, **_: Any) -> None:
        for release in self.stores.values("releases_by_namespace", namespace):
            self.releases.queue.add(key(namespace, release))


def key(namespace: str | None, name: str) -> Key:
    """The queue key of a namespaced object (kopf's signatures allow None for cluster-scoped
    kinds; every kind here is namespaced)."""
    return (namespace or "", name)


def _index_names() -> Iterable[str]:
    return {function.__name__ for functions in stores.INDEXES.values() for function in functions}


def configure(settings: kopf.OperatorSettings, options: Options) -> None:
    """kopf's settings, by their documented names."""
    settings.posting.enabled = False  # Events are the operator's own (runtime/events.py)
    settings.watching.server_timeout = 300
    settings.watching.chunk_size = LIST_PAGE
    settings.queueing.idle_timeout = options.kopf_idle_timeout
    settings.scanning.disabled = True  # no cluster-wide CRD watch: least privilege
    # Only the operator's own ConfigMaps and Jobs cross the wire (server-side selectors).
    settings.watching.label_selectors[CONFIG_MAPS] = MANAGED_SELECTOR
    settings.watching.label_selectors[JOBS] = f"{MANAGED_SELECTOR},{RELEASE_LABEL}"
    if options.peering_lifetime:
        settings.peering.lifetime = options.peering_lifetime


def login(kube: Kube) -> Any:
    """kopf's watches log in with the operator's own credentials (a token file is read again
    at each login: kopf logs in again when the API server answers 401)."""
    credentials = kube.credentials
    if credentials is None:
        return kopf.login_via_client

    def with_own_credentials(**_: Any) -> kopf.ConnectionInfo:
        c = credentials
        return kopf.ConnectionInfo(
            server=c.server,
            ca_path=c.ca_file,
            ca_data=c.ca_data,
            insecure=c.insecure or None,
            certificate_path=c.cert_file,
            certificate_data=c.cert_data,
            private_key_path=c.key_file,
            private_key_data=c.key_data,
            token=c.read_token(),
            username=c.username,
            password=c.password,
            default_namespace=c.namespace,
        )

    return with_own_credentials
