"""The operator assembled: kopf's watches feed one store per kind and enqueue keys; the
controllers (one per kind written, and the notifications' when sinks are configured) work
their queues once every store has synced. Everything goes through kopf's public API.

Where things go: a watched kind is a row of `WATCHED` and a store in `stores.informers`; what
its events wake is one handler below; a timer is `Result(requeue_after=...)` from the
reconciler of the object it concerns.
"""

from __future__ import annotations

import asyncio
import fnmatch
import logging
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

import kopf

from prompt_release import CRD_VERSION, GROUP, RELEASE_PLURAL, VERSION_PLURAL
from prompt_release.core.canary_jobs import RELEASE_LABEL
from prompt_release.core.configmap import MANAGED_SELECTOR, OPERATOR
from prompt_release.core.evaluation import EVALUATION_PLURAL
from prompt_release.core.governance import APPROVAL_PLURAL, POLICY_PLURAL, ApprovalView
from prompt_release.core.views import ReleaseView
from prompt_release.core.workloads import Workload
from prompt_release.kube import Kube, is_status
from prompt_release.operator import stores
from prompt_release.operator.controllers import includes
from prompt_release.operator.controllers.notification import NotificationReconciler
from prompt_release.operator.controllers.release import ReleaseReconciler
from prompt_release.operator.controllers.shell import Shell
from prompt_release.operator.controllers.version import VersionReconciler
from prompt_release.operator.options import Options
from prompt_release.operator.runtime.controller import Controller
from prompt_release.operator.runtime.events import EventRecorder
from prompt_release.operator.runtime.expectations import Expectations
from prompt_release.operator.runtime.informer import (
    Informer,
    Key,
    key_of,
    resource_version,
    wait_for_sync,
)
from prompt_release.operator.stores import Stores

log = logging.getLogger("prompt_release")

Resource = tuple[str, str, str]  # (group, version, plural)
RELEASES: Resource = (GROUP, CRD_VERSION, RELEASE_PLURAL)
VERSIONS: Resource = (GROUP, CRD_VERSION, VERSION_PLURAL)
CONFIG_MAPS: Resource = ("", "v1", "configmaps")
JOBS: Resource = ("batch", "v1", "jobs")
WATCHED: dict[str, Resource] = {
    "releases": RELEASES,
    "versions": VERSIONS,
    "config_maps": CONFIG_MAPS,
    "analysis_jobs": JOBS,
    "cron_jobs": ("batch", "v1", "cronjobs"),
    "deployments": ("apps", "v1", "deployments"),
    "statefulsets": ("apps", "v1", "statefulsets"),
    "daemonsets": ("apps", "v1", "daemonsets"),
    "policies": (GROUP, CRD_VERSION, POLICY_PLURAL),
    "approvals": (GROUP, CRD_VERSION, APPROVAL_PLURAL),
    "evaluations": (GROUP, CRD_VERSION, EVALUATION_PLURAL),
}
"""The resource of each store."""
SELECTORS = {
    "config_maps": MANAGED_SELECTOR,
    "analysis_jobs": f"{MANAGED_SELECTOR},{RELEASE_LABEL}",
    "cron_jobs": f"{MANAGED_SELECTOR},{RELEASE_LABEL}",
}
"""Only the operator's own ConfigMaps and Jobs cross the wire (server-side label selectors)."""
OWNED_STORES = {"configmaps": "config_maps", "jobs": "analysis_jobs", "cronjobs": "cron_jobs"}
"""The store of each kind the release controller writes and watches."""
WORKLOAD_KINDS = ("deployments", "statefulsets", "daemonsets")
METADATA = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"
"""A listing of names only (the API server's metadata-only form, else the whole objects)."""
LIST_PAGE = 500
"""Objects per page of a listing, as client-go's reflectors page them."""


class Manager:
    """The stores, the controllers and the kopf handlers that connect them."""

    def __init__(self, kube: Kube, options: Options, namespaces: Iterable[str] = ()) -> None:
        self.kube = kube
        self.options = options
        self.namespaces = list(namespaces)  # none: every namespace
        self.informers = stores.informers(WORKLOAD_KINDS, options.compact_stores)
        self.stores = Stores(self.informers)
        self.events = EventRecorder(self._post_event, OPERATOR)
        self.written = Expectations()
        shell = Shell(kube, self.stores, self.events, self.written)
        self.releases: Controller[Key] = Controller(
            "releases",
            ReleaseReconciler(shell, options),
            options.release_workers,
            options.backoff,
        )
        self.versions: Controller[Key] = Controller(
            "versions",
            VersionReconciler(shell, options.version_timing),
            options.version_workers,
            options.backoff,
        )
        self.notifications: Controller[Key] | None = None
        if options.notifications is not None:
            self.notifications = Controller(
                "notifications",
                NotificationReconciler(shell, options.notifications),
                options.notification_workers,
                options.backoff,
            )
        self._starting: asyncio.Task[None] | None = None

    def _post_event(self, namespace: str, body: dict[str, Any]) -> object:
        return self.kube.call("POST", f"/api/v1/namespaces/{namespace}/events", body)

    # -- kopf's side ----------------------------------------------------------------------

    def registry(self) -> kopf.OperatorRegistry:
        registry = kopf.OperatorRegistry()
        kopf.on.startup(registry=registry, id="start")(self.start)
        kopf.on.cleanup(registry=registry, id="stop")(self.stop)
        kopf.on.login(registry=registry, id="login")(login(self.kube))
        handlers: dict[str, Callable[..., Coroutine[Any, Any, None]]] = {
            "releases": self.release_event,
            "versions": self.version_event,
            "config_maps": self.owned_event,
            "analysis_jobs": self.owned_event,
            "cron_jobs": self.owned_event,
            "policies": self.policy_event,
            "approvals": self.approval_event,
            "evaluations": self.evaluation_event,
            **dict.fromkeys(WORKLOAD_KINDS, self.workload_event),
        }
        for name, handler in handlers.items():
            resource = WATCHED[name]
            kopf.on.event(*resource, registry=registry, id=f"{name}_event")(handler)
        return registry

    async def start(self, settings: kopf.OperatorSettings, **_: Any) -> None:
        """Configure kopf and list what exists, before kopf's watches start; the controllers
        start once every store has synced."""
        configure(settings, self.options)
        loop = asyncio.get_running_loop()
        existing = await loop.run_in_executor(None, self._list_existing)
        for informer in self.informers:
            informer.expect(existing[informer.name])
        self._starting = asyncio.create_task(self._start_when_synced())

    async def _start_when_synced(self) -> None:
        await wait_for_sync(self.informers, self._still_there)
        log.info("every store has synced: %d releases, %d versions", *self._sizes())
        for controller in self._controllers():
            controller.start()

    def _controllers(self) -> list[Controller[Key]]:
        found = [self.releases, self.versions]
        return found if self.notifications is None else [*found, self.notifications]

    def _sizes(self) -> tuple[int, int]:
        return len(self.stores.informers["releases"]), len(self.stores.informers["versions"])

    async def stop(self, **_: Any) -> None:
        if self._starting is not None:
            self._starting.cancel()
        for controller in self._controllers():
            await controller.stop()

    # -- what existed at start (by name), for the stores' sync --------------------------------

    def _list_existing(self) -> dict[str, set[Key]]:
        namespaces = self._namespaces()
        return {
            name: {
                key
                for namespace in namespaces
                for key in self._list(resource, namespace, SELECTORS.get(name))
            }
            for name, resource in WATCHED.items()
        }

    def _namespaces(self) -> list[str | None]:
        """The namespaces watched (None: all of them), globs resolved as kopf resolves them."""
        if not self.namespaces:
            return [None]
        if not any(set(pattern) & set("*?[!") for pattern in self.namespaces):
            return list(self.namespaces)
        listed = self._list(("", "v1", "namespaces"), None, None)
        return [name for _, name in listed if matches(name, self.namespaces)]

    def _list(self, resource: Resource, namespace: str | None, selector: str | None) -> list[Key]:
        """The (namespace, name) of every object of a resource, page by page, as metadata."""
        found: list[Key] = []
        query = {"limit": str(LIST_PAGE)}
        if selector:
            query["labelSelector"] = selector
        while True:
            page = self.kube.call("GET", path(resource, namespace), query=query, accept=METADATA)
            for item in page.get("items") or ():
                meta = item.get("metadata") or {}
                found.append((str(meta.get("namespace") or ""), str(meta.get("name"))))
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                return found
            query["continue"] = token

    def _still_there(self, informer: Informer, key: Key) -> bool:
        resource = WATCHED[informer.name]
        try:
            self.kube.call("GET", path(resource, key[0]) + f"/{key[1]}")
        except Exception as error:
            if is_status(error, 404):
                return False
            raise
        return True

    # -- what each kind's events wake ---------------------------------------------------------

    async def release_event(self, type: str | None, body: Any, **_: Any) -> None:
        """A release changed: it (unless this is our own status write coming back), and the
        versions whose status or finalizer it affects."""
        own = self.written.is_own(("releases", *key_of(body)), resource_version(body))
        key = self.stores.informers["releases"].apply(type, body)
        release = ReleaseView.of(body)
        if self.notifications is not None:
            self.notifications.queue.add(key)  # our own status writes are the transitions
        if not own:
            self.releases.queue.add(key)
            self._wake_rivals(key, release)
        included = (key[0], release.prompt)
        for including in self.stores.values("releases_by_included_prompt", included):
            if including != key[1]:
                self.releases.queue.add((key[0], including))  # what its label serves changed
        source = (key[0], release.prompt, release.label)
        for promoting in self.stores.values("releases_by_promotion_source", source):
            self.releases.queue.add((key[0], promoting))  # what it promotes from changed
        named = {release.version, release.status.version, release.canary_version}
        label = (key[0], release.prompt, release.label)
        named.update(self.stores.values("versions_by_label", label))
        for version in named:
            if version:
                self.versions.queue.add((key[0], version))
                found = self.stores.get("versions", (key[0], version))
                for held in includes.included(self.stores, key[0], (found or {}).get("spec") or {}):
                    self.versions.queue.add(held)  # its includes are held back with it

    def _wake_rivals(self, key: Key, release: ReleaseView) -> None:
        """The other releases claiming this one's ConfigMap name (core/claims.py) may have
        won or lost it."""
        config_map = (key[0], release.config_map_name)
        rivals = {*self.stores.values("releases_by_config_map", config_map), config_map[1]}
        for rival in rivals - {key[1]}:
            if (key[0], rival) in self.stores.informers["releases"]:
                self.releases.queue.add((key[0], rival))

    async def version_event(self, type: str | None, body: Any, **_: Any) -> None:
        """A version changed; one that appeared or went changes the releases naming it (its
        spec never changes: the API server refuses edits)."""
        own = self.written.is_own(("versions", *key_of(body)), resource_version(body))
        key = self.stores.informers["versions"].apply(type, body)
        if not own:
            self.versions.queue.add(key)
        if type in ("ADDED", "DELETED"):
            for version in [key, *includes.includers(self.stores, key)]:
                if version != key:
                    self.versions.queue.add(version)
                for release in self.stores.values("releases_by_version", version):
                    self.releases.queue.add((key[0], release))
            for version in includes.included(self.stores, key[0], body.get("spec") or {}):
                self.versions.queue.add(version)  # who holds it back may have changed

    async def owned_event(self, type: str | None, body: Any, resource: Any, **_: Any) -> None:
        """A ConfigMap, a Job or a CronJob changed: its release looks again (unless this is
        our own write of the ConfigMap coming back)."""
        store = OWNED_STORES[resource.plural]
        own = self.written.is_own((store, *key_of(body)), resource_version(body))
        key = self.stores.informers[store].apply(type, body)
        if own:
            return
        for owner in (body.get("metadata") or {}).get("ownerReferences") or ():
            if owner.get("controller") and owner.get("kind") == "PromptRelease":
                self.releases.queue.add((key[0], str(owner["name"])))

    async def workload_event(self, type: str | None, body: Any, resource: Any, **_: Any) -> None:
        """A workload changed: the releases whose ConfigMaps it uses look at their rollout."""
        key = self.stores.informers[resource.plural].apply(type, body)
        for config_map, _how in Workload.of(body).uses:
            for release in self.stores.values("releases_by_config_map", (key[0], config_map)):
                self.releases.queue.add((key[0], release))

    async def approval_event(self, type: str | None, body: Any, **_: Any) -> None:
        key = self.stores.informers["approvals"].apply(type, body)
        self.releases.queue.add((key[0], ApprovalView.of(body).release))

    async def evaluation_event(self, type: str | None, body: Any, **_: Any) -> None:
        """New evidence (or evidence gone): the releases with spec.promotion look again."""
        key = self.stores.informers["evaluations"].apply(type, body)
        for release in self.stores.values("promoting_releases", key[0]):
            self.releases.queue.add((key[0], release))

    async def policy_event(self, type: str | None, body: Any, **_: Any) -> None:
        key = self.stores.informers["policies"].apply(type, body)
        for release in self.stores.values("releases_by_namespace", key[0]):
            self.releases.queue.add((key[0], release))


def path(resource: Resource, namespace: str | None) -> str:
    group, version, plural = resource
    base = f"/api/{version}" if not group else f"/apis/{group}/{version}"
    return f"{base}/namespaces/{namespace}/{plural}" if namespace else f"{base}/{plural}"


def matches(namespace: str, patterns: Iterable[str]) -> bool:
    """kopf's namespace patterns: globs, and `!glob` to exclude."""
    patterns = list(patterns)
    included = any(fnmatch.fnmatchcase(namespace, p) for p in patterns if not p.startswith("!"))
    excluded = any(fnmatch.fnmatchcase(namespace, p[1:]) for p in patterns if p.startswith("!"))
    return included and not excluded


class NoDiffBase(kopf.DiffBaseStorage):
    """The operator's kopf handlers only observe (`on.event`): no handler reads a diff, so no
    essence is kept or built. kopf's default builds one per event, a deep copy of the body."""

    def build(self, *, body: kopf.Body, extra_fields: Any = None) -> kopf.BodyEssence:
        return kopf.BodyEssence()

    def fetch(self, *, body: kopf.Body) -> kopf.BodyEssence | None:
        return None

    def store(self, *, body: kopf.Body, patch: kopf.Patch, essence: kopf.BodyEssence) -> None:
        return None


def configure(settings: kopf.OperatorSettings, options: Options) -> None:
    """kopf's settings, by their documented names."""
    settings.posting.enabled = False  # Events are the operator's own (runtime/events.py)
    settings.persistence.diffbase_storage = NoDiffBase()
    settings.watching.server_timeout = 300
    settings.watching.chunk_size = LIST_PAGE
    settings.queueing.idle_timeout = options.kopf_idle_timeout
    settings.scanning.disabled = True  # no cluster-wide CRD watch: least privilege
    for name, selector in SELECTORS.items():
        settings.watching.label_selectors[WATCHED[name]] = selector
    if options.peering_lifetime:
        settings.peering.lifetime = options.peering_lifetime


def login(kube: Kube) -> Callable[..., kopf.ConnectionInfo]:
    """kopf's watches log in with the operator's own credentials, resolved at each login (a
    token file read again, an exec plugin's credential renewed: kopf logs in again when the
    API server answers 401 or the credential expires)."""
    credentials = kube.credentials
    if credentials is None:
        raise ValueError("the operator's client was made without credentials")

    def with_own_credentials(**_: Any) -> kopf.ConnectionInfo:
        return kopf.ConnectionInfo(**credentials.connection_info_fields())

    return with_own_credentials
