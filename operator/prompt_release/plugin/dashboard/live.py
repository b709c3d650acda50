"""Live updates: watches of a namespace's prompt kinds, as server-sent events.

One `Feed` per namespace someone looks at: a thread per kind lists, then watches, and tells
every subscribed page (an SSE stream) which objects changed. A page re-fetches its live region
on the event, so what it shows always comes from a fresh read made as the user.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

from aiohttp import web

from prompt_release import API_VERSION, RELEASE_PLURAL, VERSION_PLURAL
from prompt_release.core.governance import APPROVAL_PLURAL
from prompt_release.kube import Http, Request
from prompt_release.plugin.client import Cluster

NAMESPACE_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
WATCHED = (RELEASE_PLURAL, VERSION_PLURAL, APPROVAL_PLURAL)
WATCH_SECONDS = 240  # the API server ends each watch request; the thread starts the next
RETRY_SECONDS = 2.0
COALESCE_SECONDS = 0.25  # a burst of events (a release pass writes several) makes one update
KEEP_ALIVE_SECONDS = 15.0


def _lines(cluster: Cluster, plural: str, resource_version: str) -> Iterator[dict[str, Any]]:
    """The events of one watch request of `plural` in the cluster's namespace."""
    transport = cluster.kube.transport
    if not isinstance(transport, Http):
        return
    query = {
        "watch": "1",
        "resourceVersion": resource_version,
        "timeoutSeconds": str(WATCH_SECONDS),
        "allowWatchBookmarks": "false",
    }
    path = f"/apis/{API_VERSION}/namespaces/{cluster.namespace}/{plural}"
    headers = {"Accept": "application/json"}
    reply = transport.open(Request("GET", path, query, None, headers, WATCH_SECONDS + 30))
    try:
        if reply.status != 200:
            return
        pending = b""
        for chunk in reply.stream(None):
            pending += chunk
            *complete, pending = pending.split(b"\n")
            for line in complete:
                if line.strip():
                    yield json.loads(line)
    finally:
        reply.release_conn()


class Feed:
    """The watched changes of one namespace, fanned out to the pages subscribed to it."""

    def __init__(self, cluster: Cluster, loop: asyncio.AbstractEventLoop) -> None:
        self.cluster = cluster
        self.loop = loop
        self.subscribers: set[asyncio.Queue[str]] = set()
        self.changes = 0  # how many changes were told: a page read before one needs a refresh
        self.stopped = threading.Event()
        self.threads = [
            threading.Thread(target=self._watch, args=(plural,), daemon=True, name=plural)
            for plural in WATCHED
        ]
        for thread in self.threads:
            thread.start()

    def subscribe(self) -> asyncio.Queue[str]:
        queue: asyncio.Queue[str] = asyncio.Queue()
        self.subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[str]) -> None:
        self.subscribers.discard(queue)

    def stop(self) -> None:
        self.stopped.set()

    def _publish(self, what: str) -> None:
        self.changes += 1
        for queue in self.subscribers:
            queue.put_nowait(what)

    def _tell(self, what: str) -> None:
        if not self.loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                self.loop.call_soon_threadsafe(self._publish, what)

    def _watch(self, plural: str) -> None:
        """List, then watch from the list's resourceVersion; start again after an error (a
        410 Gone included), telling the pages, as a change may have been missed."""
        path = f"/apis/{API_VERSION}/namespaces/{self.cluster.namespace}/{plural}"
        resource_version = ""
        while not self.stopped.is_set():
            try:
                if not resource_version:
                    listed = self.cluster.kube.call("GET", path, query={"limit": "1"})
                    resource_version = str(listed["metadata"]["resourceVersion"])
                    self._tell(f"{plural}/*")  # what changed before this list is unknown
                for event in _lines(self.cluster, plural, resource_version):
                    if self.stopped.is_set():
                        return
                    body = event.get("object") or {}
                    if event.get("type") == "ERROR":
                        resource_version = ""
                        break
                    meta = body.get("metadata") or {}
                    resource_version = str(meta.get("resourceVersion") or resource_version)
                    self._tell(f"{plural}/{meta.get('name')}")
            except Exception:  # the API server away or refusing: try again in a while
                resource_version = ""
                time.sleep(RETRY_SECONDS)


class Hub:
    """The feeds of the namespaces being looked at; each started by its first page."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.feeds: dict[str, Feed] = {}

    def feed(self, namespace: str) -> Feed:
        if namespace not in self.feeds:
            loop = asyncio.get_running_loop()
            self.feeds[namespace] = Feed(self.cluster.within(namespace), loop)
        return self.feeds[namespace]

    def stop(self) -> None:
        for feed in self.feeds.values():
            feed.stop()


HUB = web.AppKey("hub", Hub)


async def _next_changes(queue: asyncio.Queue[str]) -> list[str] | None:
    """What changed, a burst gathered into one list; None after a quiet keep-alive period."""
    try:
        first = await asyncio.wait_for(queue.get(), KEEP_ALIVE_SECONDS)
    except TimeoutError:
        return None
    await asyncio.sleep(COALESCE_SECONDS)
    changed = {first}
    while not queue.empty():
        changed.add(queue.get_nowait())
    return sorted(changed)


async def events(request: web.Request) -> web.StreamResponse:
    """`text/event-stream` of a namespace: an event `change` naming what changed, at once
    when something changed after the page was read (`?since=`, the feed's count then)."""
    namespace = request.match_info["namespace"]
    if not NAMESPACE_NAME.fullmatch(namespace):
        raise web.HTTPBadRequest(text=f"{namespace!r} is not a valid namespace name")
    feed = request.app[HUB].feed(namespace)
    text = request.query.get("since", "")
    since = int(text) if text.isdigit() else 0
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    )
    await response.prepare(request)
    queue = feed.subscribe()
    try:
        await response.write(b": watching\n\n")
        if feed.changes > since:
            await response.write(b'event: change\ndata: ["*"]\n\n')
        while True:
            changed = await _next_changes(queue)
            if changed is None:
                await response.write(b": keep-alive\n\n")
                continue
            data = json.dumps(changed[:50])
            await response.write(f"event: change\ndata: {data}\n\n".encode())
    except ConnectionResetError:  # the page went away
        pass
    finally:
        feed.unsubscribe(queue)
    return response
