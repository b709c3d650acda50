"""Notifications: which transitions a release's recorded status holds, who subscribed to them,
and the CloudEvent each delivery carries.

Everything here reads the status the release controller recorded (history entries, the canary
runs, what waits), never the live spec: a notification says what happened, not what was asked.
Each transition has an id fixed by the release's uid and the transition itself, so a delivery
repeated after a crash carries the same CloudEvents `id` and a receiver drops the copy.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from prompt_release import API_VERSION
from prompt_release.core.chain import Owner
from prompt_release.core.configmap import OPERATOR

PREFIX = "notifications.promptrelease.io/subscribe."
"""`notifications.promptrelease.io/subscribe.<trigger>.<sink>: ""` (Argo's grammar)."""
SIGNATURE_HEADER = "X-Prompt-Release-Signature"
CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"
EVENT_TYPE = "io.promptrelease.release."
"""A CloudEvent's `type`: this prefix and the transition's Event reason."""

RELEASED = "Released"
ROLLED_BACK = "RolledBack"
ROLLED_BACK_ON_FAILURE = "RolledBackOnFailure"
CANARY_STARTED = "CanaryStarted"
CANARY_PROMOTED = "CanaryPromoted"
CANARY_ABORTED = "CanaryAborted"
ANALYSIS_FAILED = "AnalysisFailed"
AWAITING_APPROVAL = "AwaitingApproval"
AWAITING_EVIDENCE = "AwaitingEvidence"
PROMOTED = "Promoted"
TRIGGERS = {
    "on-released": RELEASED,
    "on-rolled-back": ROLLED_BACK,
    "on-rolled-back-on-failure": ROLLED_BACK_ON_FAILURE,
    "on-canary-started": CANARY_STARTED,
    "on-canary-promoted": CANARY_PROMOTED,
    "on-canary-aborted": CANARY_ABORTED,
    "on-analysis-failed": ANALYSIS_FAILED,
    "on-awaiting-approval": AWAITING_APPROVAL,
    "on-awaiting-evidence": AWAITING_EVIDENCE,
    "on-promoted": PROMOTED,
}
ANY = "on-any"
"""The trigger of every transition."""
AUTOMATIC_ROLLBACK = "Automatic rollback"
"""How the changelog of a rollback the operator made after a failed rollout starts."""


@dataclass(frozen=True)
class Subscription:
    trigger: str
    sink: str

    def wants(self, reason: str) -> bool:
        return self.trigger == ANY or TRIGGERS.get(self.trigger) == reason


@dataclass(frozen=True)
class Subscriptions:
    found: frozenset[Subscription] = frozenset()
    problems: tuple[str, ...] = ()
    """Annotations that name no trigger, or no sink: said in an Event, never guessed."""

    def sinks(self) -> list[str]:
        return sorted({s.sink for s in self.found})

    def wants(self, sink: str, reason: str) -> bool:
        return any(s.sink == sink and s.wants(reason) for s in self.found)

    def __or__(self, other: Subscriptions) -> Subscriptions:
        return Subscriptions(self.found | other.found, (*self.problems, *other.problems))


def subscriptions(
    annotations: Mapping[str, Any] | None, where: str, sinks: Iterable[str]
) -> Subscriptions:
    """The subscriptions of a release's (or its namespace's) annotations; `where` names the
    object in problems, `sinks` are the sinks the operator is configured with."""
    known = set(sinks)
    found: set[Subscription] = set()
    problems: list[str] = []
    for key in sorted(annotations or {}):
        if not key.startswith(PREFIX):
            continue
        trigger, _, sink = key[len(PREFIX) :].partition(".")
        if trigger != ANY and trigger not in TRIGGERS:
            problems.append(
                f"{where}: annotation {key}: no trigger {trigger!r} (one of {ANY}, "
                f"{', '.join(TRIGGERS)})"
            )
        elif sink not in known:
            problems.append(
                f"{where}: annotation {key}: no sink {sink!r} is configured "
                f"({', '.join(sorted(known)) or 'none'})"
            )
        else:
            found.add(Subscription(trigger, sink))
    return Subscriptions(frozenset(found), tuple(problems))


@dataclass(frozen=True)
class Transition:
    """One thing that happened to a release, as its status recorded it."""

    reason: str
    key: str
    """What makes it one: the revision, or the canary run (candidate hash and start)."""
    time: str | None
    """When it was recorded; None for a state that holds now (something waits)."""
    revision: int | None
    data: dict[str, Any] = field(default_factory=dict)

    def id(self, uid: str) -> str:
        """The CloudEvents `id`: the same for the same transition of the same release."""
        return hashlib.sha256(f"{uid}/{self.reason}/{self.key}".encode()).hexdigest()[:32]


def transitions(status: Mapping[str, Any]) -> list[Transition]:
    """Every transition a release's status still records, oldest first."""
    found = [
        *(t for entry in reversed(status.get("history") or ()) for t in _of_revision(entry)),
        *_of_canaries(status),
        *_waiting(status),
    ]
    unique = {t.id(""): t for t in found}  # the same canary seen running and ended
    return sorted(unique.values(), key=lambda t: (t.time is None, t.time or "", t.revision or 0))


def _of_revision(entry: Mapping[str, Any]) -> list[Transition]:
    revision = int(entry.get("revision") or 0)
    data = {k: v for k, v in entry.items() if k not in ("previousDigest",)}
    time = str(entry.get("releasedAt") or "") or None
    if "restores" not in entry:
        first = RELEASED
    elif entry.get("releasedBy") == OPERATOR and str(entry.get("changelog") or "").startswith(
        AUTOMATIC_ROLLBACK
    ):
        first = ROLLED_BACK_ON_FAILURE
    else:
        first = ROLLED_BACK
    reasons = [first]
    if entry.get("canary"):
        reasons.append(CANARY_PROMOTED)
    if entry.get("promotion"):
        reasons.append(PROMOTED)
    return [Transition(reason, f"revision {revision}", time, revision, data) for reason in reasons]


CANARY_FIELDS = ("version", "hash", "weight", "step", "phase", "reason", "message", "startedAt")


def _of_canaries(status: Mapping[str, Any]) -> list[Transition]:
    """The running canary and the last one that ended: each started, and how it ended."""
    found = []
    for run in (status.get("canary"), status.get("lastCanary")):
        if not isinstance(run, Mapping) or not run.get("startedAt") or not run.get("hash"):
            continue  # a candidate held for approval never started
        key = f"canary {run['hash']} {run['startedAt']}"
        data = {k: run[k] for k in (*CANARY_FIELDS, "endedAt", "outcome") if k in run}
        found.append(Transition(CANARY_STARTED, key, str(run["startedAt"]), None, data))
        ended = _canary_end(run)
        if ended is not None:
            found.append(Transition(ended, key, run.get("endedAt"), None, data))
    return found


def _canary_end(run: Mapping[str, Any]) -> str | None:
    """How a run ended, as `lastCanary.outcome` says (or will say: an aborted run still in
    `status.canary` gets the outcome of its reason)."""
    outcome = run.get("outcome")
    if outcome is None and run.get("phase") == "Aborted":
        outcome = ANALYSIS_FAILED if run.get("reason") == ANALYSIS_FAILED else "Aborted"
    if outcome == ANALYSIS_FAILED:
        return ANALYSIS_FAILED
    if outcome in ("Aborted", "ApprovalRejected"):
        return CANARY_ABORTED
    return None


def _waiting(status: Mapping[str, Any]) -> list[Transition]:
    """What waits now on the live revision: a version (or a canary's candidate) for an
    approval, spec.promotion's candidate for evidence."""
    revision = int(status.get("revision") or 0)
    found = []
    approval = status.get("approval")
    if isinstance(approval, Mapping) and approval.get("state") == "Pending":
        key = f"revision {revision} approval {approval.get('version')} {approval.get('hash')}"
        found.append(Transition(AWAITING_APPROVAL, key, None, revision, dict(approval)))
    canary = status.get("canary")
    if isinstance(canary, Mapping) and canary.get("phase") == AWAITING_APPROVAL:
        key = f"revision {revision} canary approval {canary.get('version')} {canary.get('hash')}"
        data = {"canary": True, **dict(canary.get("approval") or {})}
        found.append(Transition(AWAITING_APPROVAL, key, None, revision, data))
    promotion = status.get("promotion")
    if isinstance(promotion, Mapping) and promotion.get("state") == AWAITING_EVIDENCE:
        candidate = promotion.get("candidateHash") or promotion.get("candidate")
        key = f"revision {revision} evidence {candidate}"
        data = {
            k: promotion[k]
            for k in ("from", "candidate", "candidateHash", "message")
            if k in promotion
        }
        found.append(Transition(AWAITING_EVIDENCE, key, None, revision, data))
    return found


# -- the CloudEvent ------------------------------------------------------------------------


@dataclass(frozen=True)
class Subject(Owner):
    """The release a transition happened to: the identity its history chain names."""

    @property
    def source(self) -> str:
        return f"/apis/{API_VERSION}/namespaces/{self.namespace}/promptreleases/{self.name}"


def cloud_event(subject: Subject, transition: Transition, sent: str) -> dict[str, Any]:
    """A CloudEvents 1.0 event in structured mode (JSON). `time` is when the transition was
    recorded (when it was first seen, for a state that waits: `sent`)."""
    event: dict[str, Any] = {
        "specversion": "1.0",
        "id": transition.id(subject.uid),
        "source": subject.source,
        "type": EVENT_TYPE + transition.reason,
        "subject": f"{subject.prompt}/{subject.label}",
        "time": transition.time or sent,
        "datacontenttype": "application/json",
        "data": {
            "reason": transition.reason,
            "release": {"namespace": subject.namespace, "name": subject.name, "uid": subject.uid},
            "prompt": subject.prompt,
            "label": subject.label,
            **({"revision": transition.revision} if transition.revision is not None else {}),
            "transition": transition.data,
        },
    }
    if transition.revision is not None:
        event["promptreleaserevision"] = transition.revision  # a CloudEvents extension
    return event


def encode(event: Mapping[str, Any]) -> bytes:
    """The request body: compact JSON, keys sorted (what the signature covers)."""
    return json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def signature(key: bytes, body: bytes) -> str:
    """`sha256=<hex>`: HMAC-SHA256 of the exact body bytes with the sink's key."""
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def headers(key: bytes, body: bytes) -> dict[str, str]:
    return {"Content-Type": CONTENT_TYPE, SIGNATURE_HEADER: signature(key, body)}
