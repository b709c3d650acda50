"""What is live, judged again: the newest PromptEvaluation of the live hash (from the schedule's
CronJob, `kubectl prompt eval run`, or anyone) says whether it still passes.

A failing result newer than the last passing one makes the `Evaluated` condition False (reason
EvaluationFailed) with a Warning Event once per result; with spec.evaluation.rollbackOnFailure
the previous revision comes back, as after a failed rollout (the failed version is held back
until spec.version names another). No result of the live hash: no condition. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from prompt_release.core import claims, conditions
from prompt_release.core import release as release_core
from prompt_release.core.evaluation import EvaluationView, Requirements, verdict
from prompt_release.core.evaluation_manifests import Settings
from prompt_release.core.hashing import short_hash
from prompt_release.core.release import WARNING, Event, ReleasePlan
from prompt_release.core.views import ReleaseStatusView, ReleaseView, VersionView

EVALUATED = "Evaluated"
PASSED, EVALUATION_FAILED = "Passed", "EvaluationFailed"
EMPTY: Mapping[str, Any] = {}


@dataclass(frozen=True)
class Judgement:
    """The Evaluated condition of what is live, and whether it failed (why)."""

    condition: dict[str, Any] | None = None
    failed: str | None = None
    events: list[Event] = field(default_factory=list)


def judge(
    body: Mapping[str, Any],
    status: Mapping[str, Any],
    evaluations: Sequence[EvaluationView],
    generation: int,
    now: str,
    previous: Sequence[Mapping[str, Any]] | None,
) -> Judgement:
    """The newest result of the version and hash `status` serves, under spec.evaluation."""
    settings = Settings.of(body)
    version, content = str(status.get("version") or ""), str(status.get("hash") or "")
    if settings is None or not version or not content:
        return Judgement()
    mine = [e for e in evaluations if (e.version, e.hash) == (version, content)]
    newest = max(mine, key=lambda e: (e.created, e.name), default=None)
    if newest is None:
        return Judgement()
    rules = Requirements(min_score=settings.min_score)
    found = verdict([newest], version, content, rules)
    label = f"{version} ({short_hash(content)})"
    if found.counting:
        message = f"{newest.short} of {label}: score {newest.score:g}, passed"
        made = conditions.condition(EVALUATED, "True", PASSED, message, generation, now, previous)
        return Judgement(made)
    why = "; ".join(found.refused) or f"{newest.short} does not count"
    message = f"what is live, {label}, failed its evaluation: {why}"
    made = conditions.condition(
        EVALUATED, "False", EVALUATION_FAILED, message, generation, now, previous
    )
    before = conditions.find(previous, EVALUATED) or EMPTY
    news = (before.get("status"), before.get("message")) != ("False", message)
    return Judgement(made, why, [Event(WARNING, EVALUATION_FAILED, message)] if news else [])


def rolls_back(body: Mapping[str, Any]) -> bool:
    settings = Settings.of(body)
    return settings is not None and settings.rollback_on_failure


def with_condition(status: Mapping[str, Any], found: Judgement) -> dict[str, Any]:
    """The status with the Evaluated condition (dropped when there is none)."""
    out = dict(status)
    kept = [c for c in out.get("conditions") or () if c.get("type") != EVALUATED]
    out["conditions"] = kept if found.condition is None else [*kept, found.condition]
    return out


def roll_back_on_failure(
    release: ReleaseView,
    body: Mapping[str, Any],
    plan: ReleasePlan,
    existing: Mapping[str, Any] | None,
    previous: VersionView | None,
    evaluations: Sequence[EvaluationView],
    now: str,
    rivals: Sequence[claims.Rival] = (),
) -> ReleasePlan:
    """With rollbackOnFailure, a live version whose newest result fails gives way to the
    previous revision (the plan is live: its status names what is served)."""
    if not rolls_back(body) or previous is None or release.held_back:
        return plan
    previous_conditions = release.status.raw.get("conditions")
    found = judge(body, plan.status, evaluations, release.generation, now, previous_conditions)
    if found.failed is None:
        return plan
    live = replace(release, status=ReleaseStatusView(plan.status))
    why = f"its evaluation failed: {found.failed}"
    rolled = release_core.roll_back(live, previous, existing, now, why, rivals)
    return replace(rolled, events=[*plan.events, *found.events, *rolled.events])
