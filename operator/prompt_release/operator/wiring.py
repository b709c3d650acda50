"""Wire the handlers into a kopf registry, explicitly, from one Options object."""

from __future__ import annotations

import logging
from typing import Any

import kopf
from kopf._core.engines import posting

from prompt_release import GROUP
from prompt_release.core import protection
from prompt_release.core.canary_plan import RELEASE_LABEL
from prompt_release.core.configmap import MANAGED_SELECTOR
from prompt_release.kube import Kube
from prompt_release.operator import approvals as approval_handlers
from prompt_release.operator import protection as protection_handlers
from prompt_release.operator import releases as release_handlers
from prompt_release.operator import startup
from prompt_release.operator import versions as version_handlers
from prompt_release.operator import workloads as workload_handlers
from prompt_release.operator.bookkeeping import NoDiffBase
from prompt_release.operator.canaries import JOBS
from prompt_release.operator.echoes import Memories, resource_version, spec_state
from prompt_release.operator.informers import Informers, OwnIndex
from prompt_release.operator.options import Options
from prompt_release.operator.recent import Recent
from prompt_release.operator.versions import RELEASES, VERSIONS
from prompt_release.operator.workloads import WORKLOADS

FINALIZER = protection.FINALIZER
POSTING = (posting.settings_var, posting.event_queue_var, posting.event_queue_loop_var)
LIST_PAGE = 500
WORKER_IDLE = 0.5  # seconds
EVENT_POSTERS = 4  # Events posted at once
EVENT_POSTER_IDLE = 0.01  # seconds: a poster that waited longer would hold a place idle


def registry(options: Options, kube: Kube) -> kopf.OperatorRegistry:
    """Every handler of the operator, bound to this client and these options."""
    reg = kopf.OperatorRegistry()
    on = kopf.on
    recent_versions = Recent()  # the latest body of each (small) version, from its watch
    memories = Memories()  # what each part last noted of each object, one row per object
    releases = release_handlers.Releases(kube, options, recent_versions, memories)
    versions = version_handlers.Versions(kube, options, recent_versions, memories)
    in_use = protection_handlers.Protection(
        kube, options, recent_versions, versions.written, memories
    )

    def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
        settings.persistence.finalizer = FINALIZER
        settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
        settings.persistence.diffbase_storage = NoDiffBase()  # no creation/update cycles
        settings.posting.level = logging.INFO
        # kopf posts each object's Events from a worker of its own, as many at once as there
        # are objects with one waiting, each on a connection of its own: a burst of a thousand
        # releases kept about 70 connections open, with a 256 KiB TLS buffer each (17 MiB).
        # A few posters, each gone soon after its object's last Event, keep up as well.
        settings.posting.worker_limit = EVENT_POSTERS
        settings.posting.idle_timeout = EVENT_POSTER_IDLE
        settings.watching.server_timeout = 300
        # The first listing in pages, as client-go's reflectors do: a restart over thousands of
        # objects never holds one whole list (its text and its parse) in memory at once.
        settings.watching.chunk_size = LIST_PAGE
        # An object's kopf worker (its task, queue and timer) ends this soon after its last
        # event, not 5 s: a listing of thousands isn't held in thousands of idle workers.
        settings.batching.idle_timeout = WORKER_IDLE
        settings.execution.max_workers = options.max_workers
        settings.scanning.disabled = True  # no cluster-wide CRD watch: least privilege
        # ConfigMaps and Jobs: only the operator's own reach it (a server-side label selector;
        # a cluster's thousands of other ConfigMaps never cross the wire).
        settings.watching.label_selectors["", "v1", "configmaps"] = MANAGED_SELECTOR
        settings.watching.label_selectors[JOBS] = f"{MANAGED_SELECTOR},{RELEASE_LABEL}"
        if options.peering_lifetime:
            settings.peering.lifetime = options.peering_lifetime

    on.startup(registry=reg, id="configure")(configure)
    on.login(registry=reg, id="login")(login(kube))  # see login() below

    def stop(**_: Any) -> None:
        releases.queue.stop()
        releases.wakeups.stop()
        versions.wakeups.stop()
        in_use.wakeups.stop()

    on.cleanup(registry=reg, id="stop_retries")(stop)

    # The indexes are kept from the watch streams (informers.py), not by kopf, and the event
    # handlers are called by the streams too (Informers.on_event): kopf processes only the
    # versions in their deletion cycle. The handlers still run only once their namespace is
    # listed for every indexed kind (held till then). Each runs on the event loop: it only
    # reads the event and the indexes and asks for work; passes run on worker threads.
    kinds: dict[tuple[str, str], list[OwnIndex]] = {
        (GROUP, RELEASES[2]): [
            OwnIndex("releases_by_version", release_handlers.releases_by_version),
            OwnIndex("release_links", version_handlers.release_links),
            OwnIndex("releases_by_config_map", release_handlers.releases_by_config_map),
        ],
        (GROUP, VERSIONS[2]): [
            OwnIndex("versions_by_label", version_handlers.versions_by_label),
            OwnIndex("version_meta", protection_handlers.version_meta),
        ],
        ("", "configmaps"): [OwnIndex("managed_config_maps", release_handlers.managed_config_maps)],
        **approval_handlers.indexes(),
    }
    by_config_map = OwnIndex("workloads_by_config_map", workload_handlers.workloads_by_config_map)
    for group, _version, plural in WORKLOADS:
        kinds[group, plural] = [by_config_map]  # one index of the three kinds, as kopf's was
    # kopf's settings and Event queue are context values (startup.py sets the queue in each
    # watch stream): a call held for the first listings is made from another stream, so it
    # carries them along.
    informers = Informers(kinds, carried=POSTING)
    # What each watch stream shows the indexes and the memories of recent bodies as each event
    # arrives, before kopf queues it (startup.py): a pass finds there the latest version and
    # ConfigMap known.
    startup.install()  # the taps in kopf's watch streams: nothing is handled without them
    for kind in kinds:
        startup.WATCH_TAPS[kind] = [informers.tap(kind)]
        startup.WATCH_LISTED[kind] = [informers.listed(kind)]
    startup.WATCH_TAPS[GROUP, VERSIONS[2]].append(recent_versions.tap(spec_state, "spec"))
    startup.WATCH_TAPS["", "configmaps"].append(
        releases.recent_config_maps.tap(resource_version, "data")
    )
    for group, version, plural in WORKLOADS:
        informers.on_event(
            reg, (group, version, plural), f"{plural}_event", releases.workload_event
        )
    # PromptPolicy and PromptApproval: their indexes make each release's Gate; a change wakes
    # the releases it may let go live (an approval) or report on (a policy).
    approval_handlers.register(reg, releases.reconcile, informers)

    # One low-level handler per kind and event (no kopf creation/update cycles: they write
    # kopf's bookkeeping into every object). Each part tells news from echoes itself. No kopf
    # timer retries stalled releases either (kopf would put its finalizer on each of them):
    # Releases.reconcile schedules its own retries (operator/wakeups.py).
    def release_event(**kwargs: Any) -> None:
        try:
            releases.event(**kwargs)  # first: its ConfigMap and Ready are what users wait for
        finally:
            versions.release_event(**kwargs)  # releasedAs of the versions it served and serves
            in_use.release_event(**kwargs)  # the finalizer of the versions it held and holds

    def version_event(**kwargs: Any) -> None:
        versions.event(**kwargs)
        in_use.version_event(**kwargs)
        releases.version_event(**kwargs)

    informers.on_event(reg, RELEASES, "release_event", release_event)
    # A version in its deletion cycle is kopf's (the deletion handler below); kopf then calls
    # this handler too.
    informers.on_event(
        reg, VERSIONS, "version_event", version_event, kopfs=protection_handlers.being_deleted
    )
    # The ConfigMaps and Jobs watched are the operator's alone (the label selectors above). A
    # ConfigMap listed at start only goes into memory (the taps): nothing to hold till then.
    informers.on_event(
        reg,
        ("", "v1", "configmaps"),
        "config_map_event",
        releases.config_map_event,
        hold_listed=False,
    )
    # A canary's analysis Jobs: one finishing moves its release's canary on.
    informers.on_event(reg, JOBS, "analysis_job_event", releases.job_event)
    # Every handler above is called by its watch stream, not by kopf (informers.Direct).
    startup.WATCH_HANDLERS.update(informers.direct)

    # The deletion cycle of the versions that carry the finalizer (Protection puts it exactly
    # where a release holds the version): wait for the holders, then let the version go.
    on.delete(
        *VERSIONS,
        registry=reg,
        id="version_deleted",
        when=protection_handlers.carries_finalizer,
    )(informers.threaded(versions.deleted))
    return reg


def login(kube: Kube) -> Any:
    """kopf's watches log in with the operator's own credentials (a token file is read again
    at each login: kopf logs in again when the API server answers 401); the kubernetes client's
    when it is what connects (an exec plugin, say)."""
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
