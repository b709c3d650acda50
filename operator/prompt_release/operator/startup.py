"""What the operator's watches feed, as each event arrives and before kopf queues it.

`install()` puts the operator's own watch taps into kopf's streams: each event goes to the
operator's indexes and memories of recent bodies (operator/informers.py, recent.py) as it
arrives, and the end of each listing is told to them. With no kopf index registered, kopf
never makes a listed object wait for the other kinds' listings (the informers' gate does that
for the handlers alone), so a restart over thousands of objects holds none of them half-done.
Then the stream calls the kind's event handler itself (`WATCH_HANDLERS`, informers.Direct)
and passes kopf only the events the handler leaves to it (a version in its deletion cycle):
kopf keeps no memory, task or body of the other objects.

`install()` also slims every watched object before kopf queues it: its managedFields go, but
for the entries owning spec.version (who released, core/history.py), as controller-runtime's
caches strip them (about half of a parsed prompt object), and so does a prompt object's
last-applied-configuration (client-side apply's copy of it). The operator never sends a
watched prompt object back whole (it writes patches), and a ConfigMap's replacement takes only
its labels and annotations from the body watched, so nothing it writes loses what was dropped.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Mapping
from typing import Any

from kopf._cogs.clients import watching
from kopf._core.engines import posting
from kopf._core.reactor import queueing

from prompt_release import GROUP
from prompt_release.core.history import version_owners

# Client-side `kubectl apply` keeps the whole applied object here: for a PromptVersion, its
# prompt a second time. The operator never writes a prompt object back whole, so never drops it.
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
NAMES = ("name", "namespace", "uid")  # kept by the operator's memories: interned as they come

log = logging.getLogger("prompt_release")


def slim(raw_event: Any) -> Any:
    """A watch event with its object's managedFields cut to the spec.version owners, a
    prompt object's copy of itself from client-side `kubectl apply` dropped, and its name,
    namespace and uid interned."""
    obj = raw_event.get("object") if isinstance(raw_event, dict) else None
    if not isinstance(obj, dict) or not isinstance(obj.get("metadata"), dict):
        return raw_event
    meta = obj["metadata"]
    for field in NAMES:  # one copy of each, however many memories and indexes key on it
        if type(meta.get(field)) is str:
            meta[field] = sys.intern(meta[field])
    if "managedFields" in meta:
        owners = version_owners(meta.pop("managedFields"))
        if owners:
            meta["managedFields"] = owners
    annotations = meta.get("annotations")
    if (
        isinstance(annotations, dict)
        and LAST_APPLIED in annotations
        and str(obj.get("apiVersion", "")).startswith(f"{GROUP}/")
    ):
        del annotations[LAST_APPLIED]
    return raw_event


# What sees each object as its watch brings it, before kopf queues it, by (group, plural): the
# operator's indexes (informers.py) and its memory of recent bodies (recent.py). At start-up
# every object is listed long before a pass needs it, so a pass finds it there instead of
# reading it again. And what a stream calls when it has listed everything (with the names the
# listing had): the indexes forget what is gone, the handlers of a namespace listed may run.
Kind = tuple[str, str]  # (group, plural)
Ref = tuple[str | None, str]  # (namespace, name)
Tap = Callable[[str | None, dict[str, Any]], None]
Listed = Callable[[str | None, set[Ref]], None]
Handle = Callable[[Mapping[str, Any]], bool]  # handles an event itself; False: kopf's to handle
WATCH_TAPS: dict[Kind, list[Tap]] = {}
WATCH_LISTED: dict[Kind, list[Listed]] = {}
# Each kind's event handler, called by the stream itself (informers.Direct): an event it
# handles never reaches kopf, which then keeps nothing of the object.
WATCH_HANDLERS: dict[Kind, Handle] = {}


def kind_of(resource: Any) -> Kind:
    """(group, plural) of a watched resource (a kopf Resource)."""
    return str(getattr(resource, "group", "")), str(getattr(resource, "plural", ""))


def tapped(taps: Iterable[Tap], raw_event: Any) -> None:
    """Show a (slimmed) watch event to its resource's taps. A tap's failure is logged and never
    breaks the watch: kopf's own handling of the event follows anyway."""
    obj = raw_event.get("object") if isinstance(raw_event, dict) else None
    if not isinstance(obj, dict) or raw_event.get("type") in ("BOOKMARK", "ERROR"):
        return
    for tap in taps:
        try:
            tap(raw_event.get("type"), obj)
        except Exception:
            log.exception("watch tap %s failed", getattr(tap, "__qualname__", tap))


def listed(done: Iterable[Listed], namespace: str | None, seen: set[Ref]) -> None:
    """Tell what follows a kind's listings that one is complete, with what it brought."""
    for call in done:
        try:
            call(namespace, seen)
        except Exception:
            log.exception("end of listing %s failed", getattr(call, "__qualname__", call))


def listed_ref(raw_event: dict[str, Any]) -> Ref | None:
    """(namespace, name) of an object a listing brought (kopf marks them with type None)."""
    if raw_event.get("type") is not None:
        return None
    meta = (raw_event.get("object") or {}).get("metadata")
    return (meta.get("namespace"), str(meta.get("name", ""))) if isinstance(meta, dict) else None


def _slimmed(watch: Callable[..., AsyncIterator[Any]]) -> Callable[..., AsyncIterator[Any]]:
    async def slimmed_watch(**kwargs: Any) -> AsyncIterator[Any]:
        kind = kind_of(kwargs.get("resource"))  # once per stream, not per event
        taps, done = tuple(WATCH_TAPS.get(kind, ())), tuple(WATCH_LISTED.get(kind, ()))
        handle = WATCH_HANDLERS.get(kind)
        seen: set[Ref] = set()  # what the listing under way has brought
        async for raw_event in watch(**kwargs):
            if raw_event is watching.Bookmark.LISTED:
                listed(done, kwargs.get("namespace"), seen)
                seen = set()
            elif isinstance(raw_event, dict):
                slim(raw_event)
                ref = listed_ref(raw_event) if done else None
                if ref is not None:
                    seen.add(ref)
                tapped(taps, raw_event)
                if handle is not None and handle(raw_event):
                    continue  # handled here: kopf never sees it
            yield raw_event

    slimmed_watch.slims = True  # type: ignore[attr-defined]
    return slimmed_watch


def _posting(
    watcher: Callable[..., Coroutine[Any, Any, None]],
) -> Callable[..., Coroutine[Any, Any, None]]:
    async def posting_watcher(**kwargs: Any) -> None:
        # kopf sets its Event queue only in the task of each object it processes; a handler
        # its stream calls directly posts Events through the same queue, found here.
        queue = getattr(kwargs.get("processor"), "keywords", {}).get("event_queue")
        if queue is not None:
            posting.event_queue_var.set(queue)
            posting.event_queue_loop_var.set(asyncio.get_running_loop())
        await watcher(**kwargs)

    posting_watcher.posts = True  # type: ignore[attr-defined]
    return posting_watcher


def install() -> None:
    """Make kopf's watch streams slim what they bring, show it to the taps and hand it to the
    handlers that take it directly, with kopf's Event queue at hand (idempotent)."""
    if not getattr(watching.infinite_watch, "slims", False):
        watching.infinite_watch = _slimmed(watching.infinite_watch)
    if not getattr(queueing.watcher, "posts", False):
        queueing.watcher = _posting(queueing.watcher)
