"""The consumer contract gate applied to a release's stable plan (`consumers.check` judges).

A plan that would make a new revision live is refused with `ConsumerIncompatible` when a
consumer can't use the version (the ConfigMap stays exactly as it was); a plan that keeps the
live revision records how its consumers fare and blocks nothing. Either way
`status.consumers` says which workloads were checked, which declare nothing (unchecked) and
what each incompatible one lacks (absent while no workload uses the ConfigMap).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from prompt_release.core import consumers, recovery
from prompt_release.core import release as release_core
from prompt_release.core.release import ReleasePlan
from prompt_release.core.views import ReleaseView, VersionView
from prompt_release.core.workloads import Workload

WARN = "Warn"
"""spec.consumerCheck that releases an incompatible version with a Warning (Enforce: held)."""


def apply(
    release: ReleaseView,
    plan: ReleasePlan,
    target: VersionView | None,
    workloads: Sequence[Workload],
    existing: Mapping[str, Any] | None,
    now: str,
) -> ReleasePlan:
    """`plan` with the gate's verdict on `target` (the version it serves) added; `existing`:
    the ConfigMap as it is (a revision it serves that the status lacks isn't a move)."""
    if not plan.ready or target is None or plan.status.get("version") != target.name:
        return plan
    if not workloads:  # nothing to check, nothing to list
        status = {k: v for k, v in plan.status.items() if k != "consumers"}
        return plan if status == plan.status else replace(plan, status=status)
    release = recovery.with_unrecorded(release, existing)
    content_hash = str(plan.status.get("hash") or target.content_hash or "")
    verdict = consumers.check(target.name, content_hash, target.spec, workloads)
    moves = int(plan.status.get("revision") or 0) != release.status.revision
    if moves and not verdict.passed and release.consumer_check != WARN:
        refused = release_core.refuse(
            release, now, consumers.CONSUMER_INCOMPATIBLE, verdict.message()
        )
        status = {**refused.status, "consumers": verdict.to_status()}
        return replace(refused, status=status)
    status = {**plan.status, "consumers": verdict.to_status()}
    events = list(plan.events)
    if moves and not verdict.passed:
        events.append(
            release_core.Event(
                release_core.WARNING,
                consumers.CONSUMER_INCOMPATIBLE,
                f"{verdict.message()}; released anyway (spec.consumerCheck: {WARN})",
            )
        )
    return replace(plan, status=status, events=events)
