"""The gates of spec.promotion for one candidate: how long it soaked on the `from` release, and
the evidence for its exact content. Pure, like the rest of `core/`; `promotion.py` decides
what the release serves from them."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from prompt_release.core import conditions
from prompt_release.core.canary_spec import parse_duration
from prompt_release.core.evaluation import EvaluationView, Requirements, verdict
from prompt_release.core.evaluation_jobs import thresholds
from prompt_release.core.hashing import short_hash
from prompt_release.core.views import ReleaseView

SOAKING = "Soaking"
AWAITING_EVIDENCE = "AwaitingEvidence"
PROMOTED = "Promoted"
WAKE_MARGIN = 1.0
"""Seconds past a soak's end at which the release is looked at again."""
_TIME = "%Y-%m-%dT%H:%M:%SZ"
EMPTY: Mapping[str, Any] = {}


def time_of(text: str) -> dt.datetime | None:
    try:
        return dt.datetime.strptime(text, _TIME).replace(tzinfo=dt.UTC)
    except (TypeError, ValueError):
        return None


def text_of(moment: dt.datetime) -> str:
    return moment.strftime(_TIME)


def _span(seconds: float) -> str:
    """A duration as people read it: 1h 05m, 4m 10s, 12s."""
    whole = max(0, math.ceil(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


@dataclass(frozen=True)
class PromotionSpec:
    source: str
    soak: float
    evidence: Requirements | None
    auto: bool

    @classmethod
    def of(cls, body: Mapping[str, Any]) -> PromotionSpec | None:
        raw = (body.get("spec") or EMPTY).get("promotion")
        if not isinstance(raw, Mapping) or not raw.get("from"):
            return None
        evidence = raw.get("evidence")
        paired = thresholds(body)  # spec.evaluation's thresholds are evidence rules too
        if paired:
            evidence = {**paired, **(evidence or {})}
        return cls(
            source=str(raw["from"]),
            soak=parse_duration(raw.get("soak") or 0) or 0.0,
            evidence=None if evidence is None else Requirements.of(evidence),
            auto=bool(raw.get("auto")),
        )


@dataclass(frozen=True)
class Gates:
    """The gates of one candidate: each as (name, passed, message), and the timer."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    soaked_since: str | None = None
    soak_ends_at: str | None = None
    wait: float | None = None
    source_revision: int | None = None
    evidence: list[dict[str, Any]] = field(default_factory=list)

    @property
    def failing(self) -> dict[str, Any] | None:
        return next((row for row in self.rows if not row["passed"]), None)

    @property
    def reason(self) -> str:
        failing = self.failing
        if failing is None:
            return PROMOTED
        return SOAKING if failing["name"] == "Soak" else AWAITING_EVIDENCE

    @property
    def message(self) -> str:
        return "; ".join(str(row["message"]) for row in self.rows if not row["passed"])


# -- the soak ----------------------------------------------------------------------------------


def _soaked_live(source: ReleaseView, soak: float, now: dt.datetime) -> Gates:
    """The candidate is live on the source now: since when it is live and RolledOut."""
    entry = source.status.live_entry() or {}
    rolled = conditions.find(source.status.raw.get("conditions"), "RolledOut") or {}
    label = f"{source.label} (revision {source.status.revision})"
    if rolled.get("status") != "True":
        message = f"not RolledOut on {label} yet: {rolled.get('message') or 'no rollout yet'}"
        return Gates([{"name": "Soak", "passed": False, "message": message}])
    times = [time_of(str(entry.get("releasedAt"))), time_of(str(rolled.get("lastTransitionTime")))]
    since = max((t for t in times if t is not None), default=now)
    ends = since + dt.timedelta(seconds=soak)
    left = (ends - now).total_seconds()
    passed = left <= 0
    message = (
        f"soaked {_span(soak)} on {label} since {text_of(since)}"
        if passed
        else f"soaking on {label}: {_span(left)} left of {_span(soak)} (until {text_of(ends)})"
    )
    return Gates(
        [{"name": "Soak", "passed": passed, "message": message}],
        soaked_since=text_of(since),
        soak_ends_at=text_of(ends),
        wait=None if passed else left + WAKE_MARGIN,
        source_revision=source.status.revision,
    )


def _soaked_before(source: ReleaseView, name: str, content_hash: str, soak: float) -> Gates:
    """The candidate was live on the source at an earlier revision: for long enough?"""
    history = list(source.status.history)  # newest first
    for index, entry in enumerate(history):
        if (entry.get("version"), entry.get("hash")) != (name, content_hash) or index == 0:
            continue
        start = time_of(str(entry.get("releasedAt")))
        end = time_of(str(history[index - 1].get("releasedAt")))
        if start is None or end is None or entry.get("rolloutFailed"):
            continue
        if (end - start).total_seconds() >= soak:
            message = (
                f"soaked {_span(soak)} on {source.label} at revision {entry.get('revision')} "
                f"({text_of(start)} to {text_of(end)})"
            )
            return Gates(
                [{"name": "Soak", "passed": True, "message": message}],
                soaked_since=text_of(start),
                source_revision=int(entry.get("revision") or 0),
            )
    message = f"{name} ({short_hash(content_hash)}) has not soaked {_span(soak)} on {source.label}"
    return Gates([{"name": "Soak", "passed": False, "message": message}])


def soak_gate(
    source: ReleaseView | None, name: str, content_hash: str, soak: float, now: dt.datetime
) -> Gates:
    if source is None:
        return Gates([{"name": "Soak", "passed": False, "message": "the source release is absent"}])
    if source.status.serves(name, content_hash):
        return _soaked_live(source, soak, now)
    return _soaked_before(source, name, content_hash, soak)


# -- the gates of one candidate ----------------------------------------------------------------


def gates(
    spec: PromotionSpec,
    release: ReleaseView,
    source: ReleaseView | None,
    candidate: tuple[str, str],
    evaluations: Sequence[EvaluationView],
    now: dt.datetime,
) -> Gates:
    """Soak, then evidence, for `candidate` (name, hash)."""
    name, content_hash = candidate
    found = soak_gate(source, name, content_hash, spec.soak, now)
    if spec.evidence is None:
        return found
    judged = verdict(evaluations, name, content_hash, spec.evidence, release.status.hash)
    best = judged.best
    if best is not None:
        row = {
            "name": "Evidence",
            "passed": True,
            "message": f"{best.short}: score {best.score:g} on dataset "
            f"{short_hash(best.dataset_hash)} by {best.evaluator_label}",
        }
        evidence = [best.record()]
    else:
        why = "; ".join(judged.refused) or "none recorded"
        row = {
            "name": "Evidence",
            "passed": False,
            "message": f"no passing PromptEvaluation of {name} ({short_hash(content_hash)}) "
            f"that counts: {why}",
        }
        evidence = []
    return replace(found, rows=[*found.rows, row], evidence=evidence)
