"""Start-up over thousands of objects in linear time: kopf's index pre-population, unsquared.

Before any handler runs, kopf fills every index from the first listing of each resource. It
tracks this with one toggle per object in a set (`operator_indexed`), and every object's worker
waits for the whole set. kopf's set wakes every waiter on every toggle added or dropped, and
each waiter re-checks every toggle: O(n²) wake-ups of O(n) checks. Over 2,000 prompts (6,000
objects) resuming took minutes, almost all of it there.

`CountingToggleSet` keeps the same interface and meaning, counts the toggles that are on, and
wakes the waiters only when the set's own state flips. `install()` makes kopf use it; it is
called before `kopf.run` and checks that kopf still builds its sets the way it is written for.

`install()` also slims every watched object as it arrives, before kopf queues it: its
managedFields go, but for the entries owning spec.version (who released, core/history.py), as
controller-runtime's caches strip them (about half of a parsed prompt object), and so does a
prompt object's last-applied-configuration (client-side apply's copy of it). A restart holds
every listed object until all kinds are indexed. The operator never sends a watched prompt
object back whole (it writes patches), and a ConfigMap's replacement takes only its labels and
annotations from the body watched, so nothing it writes loses what was dropped.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

from kopf._cogs.aiokits import aiotoggles
from kopf._cogs.clients import watching

from prompt_release import GROUP
from prompt_release.core.history import version_owners

# Client-side `kubectl apply` keeps the whole applied object here: for a PromptVersion, its
# prompt a second time. The operator never writes a prompt object back whole, so never drops it.
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

log = logging.getLogger("prompt_release")


class _CountedToggle(aiotoggles.Toggle):
    """A toggle that tells its set when it is turned (kopf turns some of them directly)."""

    def __init__(self, state: bool, *, name: str | None, owner: CountingToggleSet) -> None:
        super().__init__(state, name=name, condition=owner._condition)
        self._owner = owner

    async def turn_to(self, __state: bool) -> None:
        async with self._condition:
            self._owner._turned(self, bool(__state))


class CountingToggleSet(aiotoggles.ToggleSet):
    def __init__(self, fn: Callable[[Iterable[bool]], bool]) -> None:
        super().__init__(fn)
        if fn not in (all, any):
            raise ValueError("CountingToggleSet counts for all() or any() only")
        self._on = 0

    def is_on(self) -> bool:
        if self._fn is all:
            return self._on == len(self._toggles)
        return self._on > 0

    async def wait_for(self, __state: bool) -> None:
        if self.is_on() == bool(__state):
            return
        async with self._condition:
            await self._condition.wait_for(lambda: self.is_on() == bool(__state))

    async def make_toggle(self, __val: bool = False, *, name: str | None = None) -> Any:
        toggle = _CountedToggle(bool(__val), name=name, owner=self)
        async with self._condition:
            before = self.is_on()
            self._toggles.add(toggle)
            self._on += toggle.is_on()
            self._wake_if_flipped(before)
        return toggle

    async def drop_toggle(self, toggle: aiotoggles.Toggle) -> None:
        await self.drop_toggles([toggle])

    async def drop_toggles(self, toggles: Iterable[aiotoggles.Toggle]) -> None:
        async with self._condition:
            before = self.is_on()
            for toggle in toggles:
                if toggle in self._toggles:
                    self._toggles.discard(toggle)
                    self._on -= toggle.is_on()
            self._wake_if_flipped(before)

    def _turned(self, toggle: _CountedToggle, state: bool) -> None:
        """Under the condition's lock: one toggle turned."""
        if toggle._state == state:
            return
        if toggle in self._toggles:
            self._on += 1 if state else -1
        toggle._state = state
        self._condition.notify_all()  # its own waiters, and the set's if it flipped

    def _wake_if_flipped(self, before: bool) -> None:
        if self.is_on() != before:
            self._condition.notify_all()


def slim(raw_event: Any) -> Any:
    """A watch event with its object's managedFields cut to the spec.version owners, and a
    prompt object's copy of itself from client-side `kubectl apply` dropped."""
    obj = raw_event.get("object") if isinstance(raw_event, dict) else None
    if not isinstance(obj, dict) or not isinstance(obj.get("metadata"), dict):
        return raw_event
    meta = obj["metadata"]
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
# operator's memory of recent bodies (operator/recent.py). At start-up every object is listed
# long before kopf runs any handler (it first waits for every kind to be indexed), so a pass
# then finds what it needs there instead of reading it again.
Tap = Callable[[str | None, dict[str, Any]], None]
WATCH_TAPS: dict[tuple[str, str], Tap] = {}


def tap_of(resource: Any) -> Tap | None:
    """The tap of a watched resource (a kopf Resource), if any."""
    return WATCH_TAPS.get(
        (str(getattr(resource, "group", "")), str(getattr(resource, "plural", "")))
    )


def tapped(tap: Tap | None, raw_event: Any) -> None:
    """Show a (slimmed) watch event to its resource's tap, if any. A tap's failure is logged
    and never breaks the watch: kopf's own handling of the event follows anyway."""
    obj = raw_event.get("object") if isinstance(raw_event, dict) else None
    if tap is None or not isinstance(obj, dict) or raw_event.get("type") in ("BOOKMARK", "ERROR"):
        return
    try:
        tap(raw_event.get("type"), obj)
    except Exception:
        log.exception("watch tap %s failed", getattr(tap, "__qualname__", tap))


def _slimmed(watch: Callable[..., AsyncIterator[Any]]) -> Callable[..., AsyncIterator[Any]]:
    async def slimmed_watch(**kwargs: Any) -> AsyncIterator[Any]:
        tap = tap_of(kwargs.get("resource"))  # once per stream, not per event
        async for raw_event in watch(**kwargs):
            slim(raw_event)
            tapped(tap, raw_event)
            yield raw_event

    slimmed_watch.slims = True  # type: ignore[attr-defined]
    return slimmed_watch


def install() -> None:
    """Make kopf build its toggle sets as `CountingToggleSet` and slim what it watches
    (idempotent; each only where kopf is built the way it is written for)."""
    if not getattr(watching.infinite_watch, "slims", False):
        watching.infinite_watch = _slimmed(watching.infinite_watch)
    if aiotoggles.ToggleSet is CountingToggleSet:
        return
    needed = ("make_toggle", "drop_toggle", "drop_toggles", "wait_for", "is_on")
    if not all(hasattr(aiotoggles.ToggleSet, method) for method in needed):
        return  # a kopf whose sets are built differently: leave it alone
    aiotoggles.ToggleSet = CountingToggleSet  # type: ignore[misc]
