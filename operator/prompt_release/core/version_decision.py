"""What a PromptVersion pass does: its status (hash, validity, releasedAs, heldBy) and its
in-use finalizer, decided from the version and what every release says about it.

Two waits keep a new prompt at one status write, by requeue rather than by sleeping:
- while a release names the version in a spec it hasn't answered yet, what the version's
  status says (releasedAs) is about to change: the release's status write wakes the version
  (at most `Timing.planning` after the version was first seen);
- a new version no release names yet waits `Timing.new` after it was first seen for one, so a
  version applied together with its release is written once.

"First seen" is the version's creation, or the operator's start when that is later: an
operator started over prompts it never released (a standing start) writes each version once,
after its release, however long ago both were applied.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from prompt_release.core import conditions, protection
from prompt_release.core import version as version_core
from prompt_release.core.release import WARNING, Event
from prompt_release.core.version import HOLDS, PLANS, SERVES, Link, linked
from prompt_release.core.views import VersionView

IN_USE = "InUse"


@dataclass(frozen=True)
class Timing:
    new: float = 2.0
    """How long a new version no release names waits for one before its status is written."""
    planning: float = 300.0
    """How long at most a version waits for the releases naming it to answer their spec (they
    answer in their first pass, a failed one included: this bounds an operator that can't
    write)."""


@dataclass(frozen=True)
class VersionDecision:
    status: dict[str, object] | None = None
    """The status to write (None: it says this already, or it waits)."""
    held: bool | None = None
    """What the in-use finalizer must say (None: leave it as it is)."""
    events: list[Event] = field(default_factory=list)
    requeue_after: float | None = None
    ready: bool = True


def seen_for(creation: str | None, now: dt.datetime, running: float) -> float:
    """Seconds since a version was first seen: since its creationTimestamp (a large age when
    it is unknown), at most the `running` seconds since the operator started."""
    if not creation:
        return running
    created = dt.datetime.strptime(creation, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    return min((now - created).total_seconds(), running)


def decide_version(
    version: VersionView,
    finalizers: Iterable[str],
    links: Iterable[Link],
    seen: float,
    now: str,
    timing: Timing = Timing(),
) -> VersionDecision:
    links = list(links)
    holders = linked(version.name, HOLDS, links)
    if version.deleting:
        return _deleting(version, finalizers, holders, now)
    status = version_core.status(
        version, now, released_as=linked(version.name, SERVES, links), held_by=None
    )
    ready = conditions.is_ready(status)
    if linked(version.name, PLANS, links) and seen < timing.planning:
        return VersionDecision(requeue_after=timing.planning - seen, ready=ready)
    if not links and not version.status.get("hash") and seen < timing.new:
        return VersionDecision(requeue_after=timing.new - seen, ready=ready)
    changed = conditions.status_changed(version.status, status)
    held = bool(holders)
    return VersionDecision(
        status=status if changed else None,
        held=None if held == (protection.FINALIZER in finalizers) else held,
        events=_news(version, status) if changed else [],
        ready=ready,
    )


def _deleting(
    version: VersionView, finalizers: Iterable[str], holders: list[str], now: str
) -> VersionDecision:
    """A version being deleted goes once no release holds it; until then its status says
    which releases hold it back."""
    if not holders:
        return VersionDecision(held=False if protection.FINALIZER in finalizers else None)
    status = version_core.status(version, now, held_by=holders)
    events = []
    if version.status.get("heldBy") != holders:
        message = "deletion waits until no release points here; held by: " + ", ".join(holders)
        events.append(Event(WARNING, IN_USE, message))
    changed = conditions.status_changed(version.status, status)
    return VersionDecision(status=status if changed else None, events=events)


def _news(version: VersionView, status: dict[str, object]) -> list[Event]:
    """A Warning when the version newly became invalid."""
    ready = conditions.ready_of(status)
    old_ready = conditions.ready_of(version.status)
    if ready.get("status") == "False" and not conditions.same([dict(ready)], [dict(old_ready)]):
        return [Event(WARNING, str(ready.get("reason")), str(ready.get("message")))]
    return []
