"""spec.promotion: a release that accepts a version only once it soaked on another label and
has evidence for its exact content. Pure: the decision reads what the shell gathered.

The gates, for a version new to this release (content it served before is a rollback, never
gated):

- **Soak**: the version (by name and hash) has been live on the `from` release for `soak`:
  either it is live there now and `RolledOut`, since the later of its revision's `releasedAt`
  and the `RolledOut` condition's last transition (both in that release's status, so a restart
  of the operator keeps the clock), or an earlier revision there served it for `soak` without
  failing to roll out.
- **Evidence** (when `evidence` is set): a passing PromptEvaluation of exactly this version and
  hash, meeting `minScore`, `maxRegression` (a paired run against what this release serves),
  `evaluator` and `dataset` (`core/evaluation.py`).
- **Approval**: governance's two-person rule, applied by `release.plan` as for any release.

Without `auto`, the candidate is spec.version: until its gates hold the release keeps serving
its live revision with Ready=False (reason `Soaking` or `AwaitingEvidence`). With `auto`, the
candidate is what `from` serves now; the release follows it once the gates hold, spec untouched,
and stays Ready on its live revision meanwhile; a new spec.version (a human's choice, e.g.
`kubectl prompt rollback`) is carried out first, and auto-promotion never brings back content
this release served before. The `Promotion` condition says where the candidate stands.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from prompt_release.core import conditions
from prompt_release.core.configmap import OPERATOR
from prompt_release.core.evaluation import EvaluationView
from prompt_release.core.governance import Gate
from prompt_release.core.hashing import short_hash
from prompt_release.core.promotion_gates import (
    AWAITING_EVIDENCE,
    EMPTY,
    PROMOTED,
    SOAKING,
    Gates,
    PromotionSpec,
    gates,
    time_of,
)
from prompt_release.core.release import NORMAL, Event, ReleasePlan, still_serving
from prompt_release.core.views import ReleaseView, VersionView, release_name

# The condition type and its reasons; status.promotion.state (docs/api.md). The gates'
# reasons (Soaking, AwaitingEvidence, Promoted) are in promotion_gates.py.
PROMOTION = "Promotion"
UP_TO_DATE = "UpToDate"
AWAITING_APPROVAL = "AwaitingApproval"
SOURCE_NOT_SERVING = "SourceNotServing"
VIA = "promotion"
"""The history's `via` of an automatic promotion (releasedBy: the operator)."""


@dataclass(frozen=True)
class Inputs:
    """What the shell gathers for a release with spec.promotion."""

    source: Mapping[str, Any] | None
    """The `from` release (None: it doesn't exist)."""
    candidate: VersionView | None = None
    """The version the `from` release serves now (auto's candidate)."""
    live: VersionView | None = None
    """The version this release serves now (what auto keeps serving while it waits)."""
    evaluations: Sequence[EvaluationView] = ()


FOLLOW_AFTER = 1.0
"""Seconds after carrying out spec.version before an auto release follows `from`."""


@dataclass(frozen=True)
class Choice:
    """What the release pass serves under spec.promotion."""

    release: ReleaseView
    """The release as the plan sees it (auto: its version is the candidate, or the live one)."""
    version: VersionView | None
    gate: Gate | None
    status: dict[str, Any]
    """status.promotion."""
    hold: tuple[str, str] | None = None
    """(reason, message): spec.version waits; the live revision stays (Ready=False)."""
    record: dict[str, Any] | None = None
    """The history entry's `promotion` when the version planned goes live now."""
    wait: float | None = None
    events: list[Event] = field(default_factory=list)


def _record(spec: PromotionSpec, found: Gates, auto: bool) -> dict[str, Any]:
    record: dict[str, Any] = {"from": spec.source}
    if found.source_revision:
        record["revision"] = found.source_revision
    if found.soaked_since:
        record["soakedSince"] = found.soaked_since
    if auto:
        record["auto"] = True
    if found.evidence:
        record["evidence"] = found.evidence
    return record


def _served_before(release: ReleaseView, content_hash: str) -> dict[str, Any] | None:
    return next((dict(e) for e in release.status.history if e.get("hash") == content_hash), None)


def _status(
    spec: PromotionSpec,
    spec_version: str | None,
    state: str,
    message: str,
    candidate: tuple[str, str] | None = None,
    found: Gates | None = None,
) -> dict[str, Any]:
    status: dict[str, Any] = {"from": spec.source, "state": state, "message": message}
    if spec_version:
        status["specVersion"] = spec_version
    if candidate is not None:
        status["candidate"], status["candidateHash"] = candidate
    if found is not None:
        if found.rows:
            status["gates"] = found.rows
        if found.soaked_since:
            status["soakedSince"] = found.soaked_since
        if found.soak_ends_at:
            status["soakEndsAt"] = found.soak_ends_at
    return status


# -- the choice --------------------------------------------------------------------------------


def _spec_version(release: ReleaseView) -> str | None:
    found = (release.status.raw.get("promotion") or EMPTY).get("specVersion")
    return None if found is None else str(found)


def choose(
    body: Mapping[str, Any],
    release: ReleaseView,
    version: VersionView | None,
    inputs: Inputs | None,
    gate: Gate | None,
    now: str,
) -> Choice | None:
    """What this pass serves under spec.promotion (None: the release has none)."""
    spec = PromotionSpec.of(body)
    if spec is None:
        return None
    if spec.evidence is not None and gate is not None and gate.trusted_evaluators:
        spec = replace(spec, evidence=replace(spec.evidence, trusted=gate.trusted_evaluators))
    inputs = inputs or Inputs(source=None)
    moment = time_of(now) or dt.datetime.now(dt.UTC)
    pending = _spec_version(release) != release.version
    if spec.auto and not pending and release.status.revision and inputs.live is not None:
        return _follow(spec, release, inputs, gate, moment)
    chosen = _by_spec(spec, release, version, inputs, gate, moment)
    if spec.auto and chosen.hold is None:
        # spec.version goes live this pass, and nothing of ours wakes the release after its
        # own write: look again, to follow `from` from there.
        wait = FOLLOW_AFTER if chosen.wait is None else min(chosen.wait, FOLLOW_AFTER)
        chosen = replace(chosen, wait=wait)
    return chosen


def _by_spec(
    spec: PromotionSpec,
    release: ReleaseView,
    version: VersionView | None,
    inputs: Inputs,
    gate: Gate | None,
    now: dt.datetime,
) -> Choice:
    """The candidate is spec.version: gated unless this release serves or served its content."""
    old = _spec_version(release)
    content = None if version is None or version.mismatch(release.prompt) else version.content_hash
    if version is None or content is None:  # the plan refuses it, with its own reason
        message = f"spec.version {release.version} can't be released"
        return Choice(release, version, gate, _status(spec, old, UP_TO_DATE, message))
    candidate = (version.name, content)
    if release.status.serves(*candidate):
        message = f"{version.name} ({short_hash(content)}) is live"
        return Choice(release, version, gate, _status(spec, old, UP_TO_DATE, message))
    earlier = _served_before(release, content)
    if earlier is not None:
        message = (
            f"{version.name} ({short_hash(content)}) was live here at revision "
            f"{earlier.get('revision')}: bringing it back needs no promotion gates"
        )
        return Choice(release, version, gate, _status(spec, old, UP_TO_DATE, message))
    source = ReleaseView.of(inputs.source) if inputs.source is not None else None
    found = gates(spec, release, source, candidate, inputs.evaluations, now)
    status = _status(spec, old, found.reason, found.message, candidate, found)
    if found.failing is not None:
        return Choice(
            release, version, gate, status, hold=(found.reason, found.message), wait=found.wait
        )
    status["message"] = "; ".join(str(row["message"]) for row in found.rows)
    return Choice(release, version, gate, status, record=_record(spec, found, auto=False))


def _follow(
    spec: PromotionSpec,
    release: ReleaseView,
    inputs: Inputs,
    gate: Gate | None,
    now: dt.datetime,
) -> Choice:
    """auto: the candidate is what `from` serves now; the live revision stays until it passes."""
    old = _spec_version(release)
    live = inputs.live
    assert live is not None
    keep = replace(release, version=live.name, pin=release.status.hash)
    source = ReleaseView.of(inputs.source) if inputs.source is not None else None
    source_name = release_name(release.prompt, spec.source)
    if source is None or not source.status.revision or not source.status.hash:
        message = f"PromptRelease {source_name} serves nothing yet"
        return Choice(keep, live, gate, _status(spec, old, SOURCE_NOT_SERVING, message))
    candidate = (str(source.status.version), source.status.hash)
    name, content = candidate
    if release.status.serves(*candidate):
        message = f"{name} ({short_hash(content)}) is live here and on {spec.source}"
        return Choice(keep, live, gate, _status(spec, old, UP_TO_DATE, message))
    earlier = _served_before(release, content)
    if earlier is not None:
        message = (
            f"{name} ({short_hash(content)}) on {spec.source} was live here at revision "
            f"{earlier.get('revision')} and was replaced: automatic promotion never brings "
            "content back (a rollback is a human's call)"
        )
        return Choice(keep, live, gate, _status(spec, old, UP_TO_DATE, message))
    version = inputs.candidate
    if version is None or version.content_hash != content:
        message = f"PromptVersion {name} is gone, or no longer hashes to {short_hash(content)}"
        return Choice(keep, live, gate, _status(spec, old, SOURCE_NOT_SERVING, message))
    found = gates(spec, release, source, candidate, inputs.evaluations, now)
    status = _status(spec, old, found.reason, found.message, candidate, found)
    if found.failing is not None:
        return Choice(keep, live, gate, status, wait=found.wait)
    status["message"] = "; ".join(str(row["message"]) for row in found.rows)
    evidence = ", ".join(f"{e['name']} ({e['score']:g})" for e in found.evidence)
    promoted = replace(
        release,
        version=name,
        pin=content,
        changelog=f"Promoted from {spec.source} revision {found.source_revision}"
        + (f" on {evidence}" if evidence else ""),
        acting=(OPERATOR, VIA),
    )
    gate = None if gate is None else replace(gate, requester=None)
    return Choice(promoted, version, gate, status, record=_record(spec, found, auto=True))


# -- after the plan ----------------------------------------------------------------------------


def held(release: ReleaseView, reason: str, message: str, now: str) -> dict[str, Any]:
    """spec.version waits for its gates: Ready=False, Reconciling=True (in progress, nothing to
    fix); the live fields stay as they are."""
    status = dict(release.status.raw)
    status["observedGeneration"] = release.generation
    message = still_serving(release, message)
    previous = status.get("conditions")
    status["conditions"] = [
        conditions.condition(kind, value, reason, message, release.generation, now, previous)
        for kind, value in (
            (conditions.READY, "False"),
            (conditions.RECONCILING, "True"),
            (conditions.STALLED, "False"),
        )
    ]
    return status


def finish(
    choice: Choice, stored: ReleaseView, status: Mapping[str, Any], now: str
) -> tuple[dict[str, Any], list[Event]]:
    """The plan's status with status.promotion, the Promotion condition and the promotion
    record on a new history entry; the Events worth telling."""
    out = dict(status)
    promotion = dict(choice.status)
    ready = conditions.ready_of(out)
    went_live = int(out.get("revision") or 0) > stored.status.revision
    if ready.get("reason") in ("AwaitingApproval", "ApprovalRejected"):
        promotion.update(state=AWAITING_APPROVAL, message=str(ready.get("message")))
    if went_live and choice.record is not None:
        history = [dict(entry) for entry in out.get("history") or ()]
        history[0]["promotion"] = choice.record
        if choice.record.get("auto"):
            history[0].pop("attested", None)
        out["history"] = history
        promotion["state"] = PROMOTED
    if out.get("version") == stored.version and out.get("revision"):
        promotion["specVersion"] = stored.version  # spec.version is carried out
    out["promotion"] = promotion
    state = str(promotion["state"])
    good = state in (UP_TO_DATE, PROMOTED)
    condition = conditions.condition(
        PROMOTION,
        "True" if good else "False",
        state,
        str(promotion.get("message") or ""),
        stored.generation,
        now,
        stored.status.raw.get("conditions"),
    )
    out["conditions"] = conditions.with_condition(list(out.get("conditions") or ()), condition)
    return out, _events(choice, stored, promotion, went_live)


def _events(
    choice: Choice, stored: ReleaseView, promotion: Mapping[str, Any], went_live: bool
) -> list[Event]:
    before = stored.status.raw.get("promotion") or EMPTY
    state = promotion["state"]
    if went_live and choice.record is not None:
        return [
            Event(NORMAL, PROMOTED, f"Promoted {choice.release.version}: {promotion['message']}")
        ]
    news = (before.get("state"), before.get("candidate")) != (state, promotion.get("candidate"))
    if news and state in (SOAKING, AWAITING_EVIDENCE):
        return [Event(NORMAL, str(state), str(promotion.get("message")))]
    return []


def report(plan: ReleasePlan, choice: Choice | None, stored: ReleaseView, now: str) -> ReleasePlan:
    """status.promotion, the Promotion condition and the promotion's Events; both dropped
    from a release whose spec.promotion is gone."""
    if choice is None:
        if "promotion" not in plan.status:
            return plan
        status = {k: v for k, v in plan.status.items() if k != "promotion"}
        status["conditions"] = [
            c for c in status.get("conditions") or () if c.get("type") != PROMOTION
        ]
        return replace(plan, status=status)
    status, events = finish(choice, stored, plan.status, now)
    return replace(plan, status=status, events=[*plan.events, *events])
