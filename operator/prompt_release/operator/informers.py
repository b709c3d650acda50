"""The operator's indexes, kept from the watch streams, and the gate handlers wait behind.

kopf's own indexes make every object of every kind wait, in the middle of kopf's processing
of it, until every indexed kind has been listed. A restart over thousands of prompts then held
thousands of half-processed objects at once (each with its body, patch, loggers and task), and
the memory they took stayed with the process. Here the indexes are filled by the watch streams
themselves (startup.py), as each event arrives and before kopf queues it, as client-go's
informers do. The streams call each kind's event handler too (`Informers.on_event`,
`Direct`): kopf is passed only the events it has to handle itself (a version in its deletion
cycle), and keeps nothing of the other objects.

What kopf's wait promised stays true: a handler runs only once every indexed kind of its
namespace has been listed (`Listings`), so a name missing from an index is an object that
doesn't exist. Until then a handler's call is held, the latest per object and handler, and
made as soon as the last of those listings is in.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypeVar

import kopf

from prompt_release.core.packing import pack, unpack

log = logging.getLogger("prompt_release")

Kind = tuple[str, str]  # (group, plural), as the watch taps name them
ObjectRef = tuple[str, str | None, str]  # (plural, namespace, name): kinds may share an index
Listed = set[tuple[str | None, str]]  # (namespace, name) of each object a listing brought
IndexFunction = Callable[..., Mapping[Any, Any] | None]
K = TypeVar("K")
V = TypeVar("V")
Index = Mapping[K, tuple[V, ...]]  # what handlers see: key -> the values indexed under it

# What a handler's held call keeps of kopf's keyword arguments: the event, never kopf's
# per-object machinery (patch, loggers, memo).
KEPT: tuple[str, ...] = ("type", "event", "body", "meta", "spec", "status", "name", "namespace")
KEPT += ("uid", "labels", "annotations", "resource")


def object_ref(plural: str, obj: Mapping[str, Any]) -> ObjectRef:
    meta = obj.get("metadata") or {}
    return plural, meta.get("namespace"), str(meta.get("name", ""))


def arguments(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments an index function takes, as kopf would give them."""
    meta = obj.get("metadata") or {}
    return {
        "body": obj,
        "meta": meta,
        "spec": obj.get("spec") or {},
        "status": obj.get("status") or {},
        "name": meta.get("name"),
        "namespace": meta.get("namespace"),
        "labels": meta.get("labels") or {},
        "annotations": meta.get("annotations") or {},
    }


def event_arguments(type: str | None, obj: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments an event handler takes, as kopf would give them."""
    kwargs = arguments(obj)
    kwargs.update(type=type, event={"type": type, "object": obj}, uid=kwargs["meta"].get("uid"))
    return kwargs


class OwnIndex(Mapping[Any, tuple[Any, ...]]):
    """key -> the values every object indexed under it gives (as a kopf index's stores).

    Written only on the event loop (by the watch streams); read from worker threads too:
    every read copies under the GIL (a tuple, a list of keys), never iterates a live dict."""

    def __init__(self, name: str, function: IndexFunction) -> None:
        self.name = name
        self._function = function
        # object -> its key here, or a list of its keys when it gives several (keys are
        # hashable, never lists): a tuple of one key cost 48 bytes per object and index.
        self._of: dict[ObjectRef, Any] = {}
        # key -> (object, value) while one object gives it (most keys: a release's version, a
        # ConfigMap), else object -> value: a dict per key cost 200 bytes per object.
        self._at: dict[Any, tuple[ObjectRef, Any] | dict[ObjectRef, Any]] = {}

    def update(self, type: str | None, ref: ObjectRef, kwargs: Mapping[str, Any]) -> None:
        """One event of one object: its entries replace what it gave before."""
        self.drop(ref)
        if type == "DELETED":
            return
        try:
            entries = self._function(**kwargs) or {}
        except Exception:
            log.exception("index %s failed on %s %s/%s", self.name, *ref)
            return
        for key, value in entries.items():
            found = self._at.get(key)
            if found is None:
                self._at[key] = (ref, value)
            elif isinstance(found, tuple):
                self._at[key] = {found[0]: found[1], ref: value}
            else:
                found[ref] = value
        if len(entries) == 1:
            self._of[ref] = next(iter(entries))
        elif entries:
            self._of[ref] = list(entries)

    def drop(self, ref: ObjectRef) -> None:
        if ref not in self._of:
            return
        keys = self._of.pop(ref)
        for key in keys if isinstance(keys, list) else (keys,):
            found = self._at.get(key)
            if isinstance(found, tuple):
                if found[0] == ref:
                    del self._at[key]
            elif found is not None:
                found.pop(ref, None)
                if len(found) == 1:
                    self._at[key] = next(iter(found.items()))

    def keep_only(self, plural: str, namespace: str | None, listed: Listed) -> None:
        """After a (re-)listing of a kind in a namespace (None: all of them): forget the
        objects it no longer has (deleted while the watch was down, with no event to say so)."""
        for ref in list(self._of):
            if ref[0] == plural and namespace in (None, ref[1]) and ref[1:] not in listed:
                self.drop(ref)

    def __getitem__(self, key: Any) -> tuple[Any, ...]:
        found = self._at[key]
        return (found[1],) if isinstance(found, tuple) else tuple(found.values())

    def __iter__(self) -> Iterator[Any]:
        return iter(list(self._at))

    def __len__(self) -> int:
        return len(self._at)

    def __contains__(self, key: object) -> bool:
        return key in self._at


class Listings:
    """Which kinds each namespace has been listed for (None: cluster-wide), and the handler
    calls held until its namespace has all of them.

    A held call is made from a watch stream, outside kopf's handling of its object: it runs
    with the values `carried` had when it was held (kopf's settings and Event queue, which
    kopf sets for each object it handles and `kopf.event` needs)."""

    def __init__(self, kinds: Iterable[Kind], carried: Iterable[contextvars.ContextVar[Any]] = ()):
        self._listed: dict[Kind, set[str | None]] = {kind: set() for kind in kinds}
        self._held: dict[str | None, dict[Any, Callable[[], Any]]] = {}
        self._carried = tuple(carried)
        self._values: dict[contextvars.ContextVar[Any], Any] = {}

    def is_open(self, namespace: str | None) -> bool:
        return all(None in done or namespace in done for done in self._listed.values())

    def hold(self, namespace: str | None, key: Any, call: Callable[[], Any]) -> None:
        """Make `call` once `namespace` is open; a later call under the same key replaces it
        (kopf, too, handles only the latest event of an object that waited)."""
        held = self._held.setdefault(namespace, {})
        held.pop(key, None)
        held[key] = call
        context = contextvars.copy_context()
        self._values.update((var, context[var]) for var in self._carried if var in context)

    def held(self) -> int:
        return sum(len(calls) for calls in self._held.values())

    def listed(self, kind: Kind, namespace: str | None) -> None:
        """A stream of `kind` finished a listing: make the calls held for what is now open."""
        done = self._listed.get(kind)
        if done is None or namespace in done:
            return
        done.add(namespace)
        calls = [
            call
            for waiting in [ns for ns in self._held if self.is_open(ns)]
            for call in self._held.pop(waiting).values()
        ]
        if calls:
            contextvars.copy_context().run(self._make, calls)

    def _make(self, calls: list[Callable[[], Any]]) -> None:
        for var, value in self._values.items():
            var.set(value)
        for call in calls:
            try:
                call()
            except Exception:
                log.exception("a handler held for the first listings failed")


class Informers:
    """The indexes of every watched kind, fed by its stream, and the gate of the handlers."""

    def __init__(
        self,
        indexes: Mapping[Kind, Iterable[OwnIndex]],
        carried: Iterable[contextvars.ContextVar[Any]] = (),
    ) -> None:
        """`carried`: what a held call needs of kopf's context (Listings)."""
        self._by_kind = {kind: tuple(found) for kind, found in indexes.items()}
        self.indexes: dict[str, OwnIndex] = {
            index.name: index for found in self._by_kind.values() for index in found
        }
        self.listings = Listings(self._by_kind, carried)
        self.direct: dict[Kind, Direct] = {}  # each kind's handler, called by its stream

    def tap(self, kind: Kind) -> Callable[[str | None, dict[str, Any]], None]:
        """The watch tap updating every index of `kind` from one event."""
        found = self._by_kind[kind]

        def update(type: str | None, obj: dict[str, Any]) -> None:
            ref, kwargs = object_ref(kind[1], obj), arguments(obj)
            for index in found:
                index.update(type, ref, kwargs)

        return update

    def listed(self, kind: Kind) -> Callable[[str | None, Listed], None]:
        """What a stream of `kind` calls when a listing is complete."""
        found = self._by_kind[kind]

        def done(namespace: str | None, seen: Listed) -> None:
            for index in found:
                index.keep_only(kind[1], namespace, seen)
            self.listings.listed(kind, namespace)

        return done

    def views(self, kwargs: Mapping[str, Any]) -> dict[str, Any]:
        """A handler's keyword arguments with every index under its name."""
        return {**kwargs, **self.indexes}

    def gate(self, handler: Callable[..., Any], hold_listed: bool = True) -> Callable[..., Any]:
        """`handler`, called once its namespace is listed (held until then) with the indexes:
        for event handlers that only look at the event and the indexes and ask for work.
        `hold_listed=False`: the handler does nothing with an object first listed (the taps
        keep all it needs), so such a call is dropped, not held with its body."""
        listings = self.listings

        def gated(**kwargs: Any) -> Any:
            namespace = kwargs.get("namespace")
            if listings.is_open(namespace):
                return handler(**self.views(kwargs))
            if not hold_listed and kwargs.get("type") is None:
                return None
            key = (id(handler), namespace, kwargs.get("name"))
            listings.hold(namespace, key, self._held(handler, kwargs))
            return None

        gated.__qualname__ = getattr(handler, "__qualname__", "handler")
        return gated

    def _held(self, handler: Callable[..., Any], kwargs: Mapping[str, Any]) -> Callable[[], Any]:
        """The call to make once open. A raw watch event (the stream's own call) waits with
        its object packed (core/packing.py): a restart holds every listed release and version
        until the last kind is listed. kopf's call keeps what KEPT names."""
        event = kwargs.get("event")
        if isinstance(event, dict) and isinstance(event.get("object"), dict):
            return HeldEvent(handler, self.views, event.get("type"), pack(event["object"]))
        kept = {name: kwargs[name] for name in KEPT if name in kwargs}
        return lambda: handler(**self.views(kept))

    def on_event(
        self,
        registry: kopf.OperatorRegistry,
        resource: tuple[str, str, str],
        id: str,
        handler: Callable[..., Any],
        kopfs: Callable[[Mapping[str, Any]], bool] | None = None,
        hold_listed: bool = True,
    ) -> None:
        """Register an event handler of a kind (group, version, plural). Its stream calls it
        directly with each event (`direct`), gated; kopf calls it only for the events that
        `kopfs` says are kopf's (an object in a deletion cycle kopf runs), so kopf keeps
        nothing per object of the rest. kopf still has it registered: that makes kopf watch
        the kind, which is where the stream comes from. `hold_listed`: see `gate`."""
        group, _, plural = resource
        gated = self.gate(handler, hold_listed)
        kopf.on.event(*resource, registry=registry, id=id)(_on_loop(gated))
        self.direct[group, plural] = Direct(gated, kopfs)

    def threaded(self, handler: Callable[..., Any]) -> Callable[..., Any]:
        """A handler kopf runs in its thread pool (a deletion's), with the indexes; until its
        namespace is listed it asks kopf to try again shortly."""

        def viewed(**kwargs: Any) -> Any:
            if not self.listings.is_open(kwargs.get("namespace")):
                raise kopf.TemporaryError("waiting for the first listings", delay=1)
            return handler(**self.views(kwargs))

        viewed.__qualname__ = getattr(handler, "__qualname__", "handler")
        return viewed


class HeldEvent:
    """A raw event's handler call waiting for the first listings, its object packed: a
    restart holds one per listed release and version, so it is as small as it gets."""

    __slots__ = ("handler", "packed", "type", "views")

    def __init__(
        self,
        handler: Callable[..., Any],
        views: Callable[[Mapping[str, Any]], dict[str, Any]],
        type: str | None,
        packed: bytes,
    ) -> None:
        self.handler, self.views, self.type, self.packed = handler, views, type, packed

    def __call__(self) -> Any:
        return self.handler(**self.views(event_arguments(self.type, unpack(self.packed))))


def _on_loop(gated: Callable[..., Any]) -> Callable[..., Any]:
    async def on_loop(**kwargs: Any) -> Any:
        return gated(**kwargs)

    on_loop.__qualname__ = gated.__qualname__
    return on_loop


class Direct:
    """One kind's event handler, called by its watch stream for each raw event, instead of
    through kopf's per-object processing (a task, a memory, a body view, loggers and a patch
    per object, kept for good): for a handler that only asks for work, that processing was
    most of the operator's CPU in a burst and most of what it kept per object."""

    def __init__(
        self, gated: Callable[..., Any], kopfs: Callable[[Mapping[str, Any]], bool] | None
    ) -> None:
        self._gated = gated
        self._kopfs = kopfs

    def __call__(self, raw_event: Mapping[str, Any]) -> bool:
        """Handle one event; False when it is kopf's to handle (passed on untouched)."""
        obj = raw_event.get("object")
        if not isinstance(obj, Mapping) or raw_event.get("type") in ("BOOKMARK", "ERROR"):
            return False
        if self._kopfs is not None and self._kopfs(obj):
            return False
        kwargs = event_arguments(raw_event.get("type"), obj)
        try:
            self._gated(**kwargs)
        except Exception:
            log.exception(
                "handler %s failed on %s/%s",
                self._gated.__qualname__,
                kwargs["namespace"],
                kwargs["name"],
            )
        return True
