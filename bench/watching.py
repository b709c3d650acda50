"""Watches that timestamp every change the bench waits for: nothing here polls.

A `Watcher` lists a kind once (for a resourceVersion), then follows its watch in a thread,
keeping, per object, a small summary of each version it saw with the wall-clock time it
arrived. Waiting for a state is waiting on a condition variable the watch thread notifies.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from kubernetes import client, watch

from prompt_release import CRD_VERSION, GROUP


@dataclass(frozen=True)
class Seen:
    """What the bench wants of one version of an object, and when the watch delivered it."""

    at: float
    resource_version: str
    generation: int
    ready: str  # the Ready condition's status ("True", "False", "Unknown", "")
    ready_generation: int  # the Ready condition's observedGeneration
    version: str  # a release's status.version
    revision: int  # a release's status.revision
    deleted: bool = False


def summarize(obj: Mapping[str, Any], at: float, deleted: bool) -> Seen:
    meta = obj.get("metadata") or {}
    status = obj.get("status") or {}
    ready: Mapping[str, Any] = next(
        (c for c in status.get("conditions") or () if c.get("type") == "Ready"), {}
    )
    return Seen(
        at=at,
        resource_version=str(meta.get("resourceVersion", "")),
        generation=int(meta.get("generation") or 0),
        ready=str(ready.get("status", "")),
        ready_generation=int(ready.get("observedGeneration") or 0),
        version=str(status.get("version") or ""),
        revision=int(status.get("revision") or 0),
        deleted=deleted,
    )


Key = tuple[str, str]  # (namespace, name)


class Watcher:
    """One kind, in one namespace or all, followed in a thread from a list's resourceVersion."""

    def __init__(self, api: client.ApiClient, plural: str, namespace: str | None = None) -> None:
        self.api = api
        self.plural = plural
        self.namespace = namespace
        self.seen: dict[Key, list[Seen]] = {}
        self.events = 0
        self._cond = threading.Condition()
        self._watch = watch.Watch()  # type: ignore[no-untyped-call]
        self._stopped = False
        self._thread = threading.Thread(target=self._follow, name=f"watch-{plural}", daemon=True)
        self._resource_version = ""

    def _lister(self) -> Callable[..., Any]:
        namespace = self.namespace
        if self.plural == "configmaps":
            core = client.CoreV1Api(self.api)
            if namespace:
                return lambda **kw: core.list_namespaced_config_map(namespace, **kw)
            return core.list_config_map_for_all_namespaces
        custom = client.CustomObjectsApi(self.api)
        if namespace:
            return lambda **kw: custom.list_namespaced_custom_object(
                GROUP, CRD_VERSION, namespace, self.plural, **kw
            )
        return lambda **kw: custom.list_cluster_custom_object(GROUP, CRD_VERSION, self.plural, **kw)

    def start(self) -> Watcher:
        listed = self._lister()(_preload_content=False)
        body = json.loads(listed.data)
        now = time.time()
        for item in body.get("items") or ():
            self._record(item, now, deleted=False)
        self._resource_version = str(body["metadata"]["resourceVersion"])
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped = True
        self._watch.stop()  # type: ignore[no-untyped-call]

    def _record(self, obj: Mapping[str, Any], at: float, deleted: bool) -> None:
        meta = obj.get("metadata") or {}
        key = (str(meta.get("namespace", "")), str(meta.get("name", "")))
        with self._cond:
            self.seen.setdefault(key, []).append(summarize(obj, at, deleted))
            self.events += 1
            self._cond.notify_all()

    def _follow(self) -> None:
        lister = self._lister()
        while not self._stopped:
            try:
                for event in self._watch.stream(  # type: ignore[no-untyped-call]
                    lister,
                    resource_version=self._resource_version,
                    timeout_seconds=3600,
                    deserialize=False,
                ):
                    at = time.time()
                    obj = event["raw_object"] if "raw_object" in event else event["object"]
                    if event["type"] == "BOOKMARK":
                        continue
                    self._record(obj, at, deleted=event["type"] == "DELETED")
                    self._resource_version = str(obj["metadata"]["resourceVersion"])
            except Exception:  # a dropped connection: resume from the last version seen
                if self._stopped:
                    return
                time.sleep(0.1)

    # -- questions ------------------------------------------------------------------------------

    def first(self, key: Key, holds: Callable[[Seen], bool]) -> Seen | None:
        with self._cond:
            return next((s for s in self.seen.get(key, ()) if holds(s)), None)

    def wait(self, key: Key, holds: Callable[[Seen], bool], timeout: float) -> Seen | None:
        """The first version of `key` for which `holds` is true, waiting up to `timeout`."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = next((s for s in self.seen.get(key, ()) if holds(s)), None)
                left = deadline - time.monotonic()
                if found is not None or left <= 0:
                    return found
                self._cond.wait(left)

    def wait_all(
        self, keys: list[Key], holds: Callable[[Seen], bool], deadline: float
    ) -> dict[Key, float]:
        """When each key first held (wall clock, as the watch delivered it); keys that never did
        before `deadline` (monotonic) are missing. Looks at what the watch kept twice a second:
        the times are the watch's, so this costs no precision."""
        done: dict[Key, float] = {}
        looked: dict[Key, int] = {}
        while True:
            with self._cond:
                for key in keys:
                    if key in done:
                        continue
                    seen = self.seen.get(key, [])
                    for s in seen[looked.get(key, 0) :]:
                        if holds(s):
                            done[key] = s.at
                            break
                    looked[key] = len(seen)
            if len(done) == len(keys) or time.monotonic() >= deadline:
                return done
            time.sleep(0.5)


def ready_at_generation(generation: int = 1) -> Callable[[Seen], bool]:
    return lambda s: s.ready == "True" and s.ready_generation >= generation


def serves(version: str, generation: int) -> Callable[[Seen], bool]:
    """A release Ready on `version`, having seen the spec of `generation`."""
    return lambda s: s.ready == "True" and s.ready_generation >= generation and s.version == version
