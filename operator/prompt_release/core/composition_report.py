"""What a release's status says of the includes it serves: status.includes (each included
version as the live revision pins it, and what the release's label serves of that prompt now)
and the IncludesUpToDate condition, whose reason UpdateAvailable says a newer version of an
included prompt is live on the same label. It never changes what is served: only a release of
a version that pins the newer one does."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from prompt_release.core import composition, conditions
from prompt_release.core.release import NORMAL, Event, ReleasePlan
from prompt_release.core.views import ReleaseView, VersionView

INCLUDES_UP_TO_DATE = "IncludesUpToDate"
UP_TO_DATE = "UpToDate"


def live_closure(
    plan_status: Mapping[str, Any], stored: ReleaseView, version: VersionView | None
) -> list[dict[str, Any]]:
    """The included versions of what the plan leaves live: the target version's closure when
    it is live, else what the status recorded of the live revision."""
    live = (plan_status.get("version"), plan_status.get("hash"))
    if version is not None and live == (version.name, version.content_hash):
        return version.included
    if live == (stored.status.version, stored.status.hash):
        return [
            {k: v for k, v in entry.items() if k != "newer"}
            for entry in stored.status.raw.get("includes") or ()
        ]
    return []


def report(
    plan: ReleasePlan,
    release: ReleaseView,
    version: VersionView | None,
    served: Mapping[str, composition.Served],
    now: str,
) -> ReleasePlan:
    """status.includes and IncludesUpToDate for what is live (both dropped when it includes
    nothing), and an UpdateAvailable Event when a newer version is news."""
    status = dict(plan.status)
    closure = live_closure(status, release, version)
    kept = [c for c in status.get("conditions") or () if c.get("type") != INCLUDES_UP_TO_DATE]
    if not closure:
        if "includes" not in status and len(kept) == len(status.get("conditions") or ()):
            return plan
        status.pop("includes", None)
        status["conditions"] = kept
        return replace(plan, status=status)
    entries = composition.live_includes(closure, served)
    message = composition.updates_message(entries, release.label)
    previous = release.status.raw.get("conditions")
    condition = conditions.condition(
        INCLUDES_UP_TO_DATE,
        "False" if message else "True",
        composition.UPDATE_AVAILABLE if message else UP_TO_DATE,
        message or f"every included version is what {release.label} serves, or unreleased",
        release.generation,
        now,
        previous,
    )
    status["includes"] = entries
    status["conditions"] = [*kept, condition]
    events = list(plan.events)
    before = conditions.find(previous, INCLUDES_UP_TO_DATE) or {}
    if message and before.get("message") != message:
        events.append(Event(NORMAL, composition.UPDATE_AVAILABLE, message))
    return replace(plan, status=status, events=events)
