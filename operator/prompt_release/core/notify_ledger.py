"""The delivery ledger of one release: per sink, which transitions were delivered, since when
it listens, and the failure it is retrying. Kept in a ConfigMap the notification controller
alone writes (`notified.<release>`, owned by the release), so it survives restarts of the
operator and never competes with the release controller's writes of the release.

A delivery is recorded right after the receiver accepted it; an operator killed in between
delivers it again with the same CloudEvents `id` (at least once, one id per transition).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from prompt_release.core.notify import Subscriptions, Transition
from prompt_release.core.notify_config import Retry

KEY = "ledger.json"
COMPONENT = "notification-ledger"
LABELS = {
    "app.kubernetes.io/part-of": "prompt-release-operator",
    "app.kubernetes.io/component": COMPONENT,
}
RELEASE_ANNOTATION = "promptrelease.io/release"
RECENT = 64
"""Delivered ids kept beyond those the status still records."""
NAME_LIMIT = 253


def ledger_name(release: str) -> str:
    """`notified.<release>`: no release's ConfigMap can be named so (their names start with
    the release's name, which holds a dash, before any dot)."""
    name = f"notified.{release}"
    if len(name) <= NAME_LIMIT:
        return name
    digest = hashlib.sha256(release.encode()).hexdigest()[:10]
    return f"{name[: NAME_LIMIT - 11]}-{digest}"


def parse_time(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        found = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return found if found.tzinfo else found.replace(tzinfo=dt.UTC)


def time_text(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Failure:
    """The transition a sink fails to take, why (a stable reason), and when to try again."""

    id: str
    reason: str
    message: str
    attempts: int
    since: str
    retry_at: str


@dataclass(frozen=True)
class SinkState:
    since: str
    """Transitions recorded before this (the live revision's time when the subscription was
    first seen) are not delivered: subscribing never replays the whole history."""
    delivered: tuple[str, ...] = ()
    failure: Failure | None = None


@dataclass(frozen=True)
class Ledger:
    sinks: Mapping[str, SinkState] = field(default_factory=dict)
    problems: str = ""
    """The subscription problems last told (an Event is posted when they change)."""

    def to_data(self) -> dict[str, str]:
        sinks = {}
        for name, state in sorted(self.sinks.items()):
            found: dict[str, Any] = {"since": state.since, "delivered": list(state.delivered)}
            if state.failure is not None:
                failure = state.failure
                found["failure"] = {
                    "id": failure.id,
                    "reason": failure.reason,
                    "message": failure.message,
                    "attempts": failure.attempts,
                    "since": failure.since,
                    "retryAt": failure.retry_at,
                }
            sinks[name] = found
        body: dict[str, Any] = {"format": 1, "sinks": sinks}
        if self.problems:
            body["problems"] = self.problems
        return {KEY: json.dumps(body, indent=1, sort_keys=True)}

    @classmethod
    def of_data(cls, data: Mapping[str, Any] | None) -> Ledger:
        """A ledger read back; anything unreadable counts as empty (delivering again, under
        the same ids, is the safe side)."""
        try:
            found = json.loads((data or {}).get(KEY) or "{}")
            sinks = {
                str(name): SinkState(
                    since=str(state.get("since") or ""),
                    delivered=tuple(str(i) for i in state.get("delivered") or ()),
                    failure=_failure(state.get("failure")),
                )
                for name, state in (found.get("sinks") or {}).items()
            }
            return cls(sinks, str(found.get("problems") or ""))
        except (ValueError, AttributeError, TypeError):
            return cls()


def _failure(found: Any) -> Failure | None:
    if not isinstance(found, Mapping) or not found.get("id"):
        return None
    return Failure(
        str(found["id"]),
        str(found.get("reason") or ""),
        str(found.get("message") or ""),
        int(found.get("attempts") or 1),
        str(found.get("since") or ""),
        str(found.get("retryAt") or ""),
    )


def ledger_config_map(namespace: str, release: str, uid: str, ledger: Ledger) -> dict[str, Any]:
    """The ledger's ConfigMap, owned by the release (it goes with it)."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": ledger_name(release),
            "namespace": namespace,
            "labels": dict(LABELS),
            "annotations": {RELEASE_ANNOTATION: release},
            "ownerReferences": [
                {
                    "apiVersion": "promptrelease.io/v1alpha1",
                    "kind": "PromptRelease",
                    "name": release,
                    "uid": uid,
                }
            ],
        },
        "data": ledger.to_data(),
    }


def owned(config_map: Mapping[str, Any], uid: str) -> bool:
    """Is this ConfigMap the ledger of the release with this uid (not someone else's)?"""
    meta = config_map.get("metadata") or {}
    labels = meta.get("labels") or {}
    owners = meta.get("ownerReferences") or ()
    return labels.get("app.kubernetes.io/component") == COMPONENT and any(
        owner.get("uid") == uid for owner in owners
    )


def orphaned_for(config_map: Mapping[str, Any], release: str) -> bool:
    """A ledger a deleted release of this name left (`--cascade=orphan`): its successor
    adopts it, starting afresh (its ids were the old release's)."""
    meta = config_map.get("metadata") or {}
    labels = meta.get("labels") or {}
    annotations = meta.get("annotations") or {}
    return (
        labels.get("app.kubernetes.io/component") == COMPONENT
        and not meta.get("ownerReferences")
        and annotations.get(RELEASE_ANNOTATION) == release
    )


@dataclass(frozen=True)
class Plan:
    ledger: Ledger
    """The ledger to record before delivering (sinks new or gone, ids no longer kept)."""
    due: Mapping[str, Sequence[Transition]]
    """Per sink, what to deliver now, oldest first."""
    wait: float | None = None
    """Seconds until a failing sink is tried again."""
    problems: str | None = None
    """Subscription problems to tell (None: nothing new)."""


def plan(
    found: Sequence[Transition],
    subscriptions: Subscriptions,
    ledger: Ledger,
    uid: str,
    live_since: str,
    now: dt.datetime,
) -> Plan:
    """What one pass delivers. `live_since`: when the live revision went live (where a new
    subscription starts listening)."""
    ids = [t.id(uid) for t in found]
    states: dict[str, SinkState] = {}
    due: dict[str, list[Transition]] = {}
    waits: list[float] = []
    for sink in subscriptions.sinks():
        state = ledger.sinks.get(sink) or SinkState(since=live_since)
        kept = set(ids) | set(state.delivered[-RECENT:])
        state = replace(state, delivered=tuple(i for i in state.delivered if i in kept))
        since = parse_time(state.since)
        pending = [
            t
            for t in found
            if subscriptions.wants(sink, t.reason)
            and t.id(uid) not in state.delivered
            and not _before(t.time, since)
        ]
        failure = state.failure
        if failure is not None and failure.id not in {t.id(uid) for t in pending}:
            state = replace(state, failure=None)  # what failed is no longer owed
        elif failure is not None:
            retry_at = parse_time(failure.retry_at)
            if retry_at is not None and retry_at > now:
                waits.append((retry_at - now).total_seconds())
                pending = []
        states[sink] = state
        if pending:
            due[sink] = pending
    problems = "; ".join(subscriptions.problems)
    news = problems if problems != ledger.problems and problems else None
    return Plan(Ledger(states, problems), due, min(waits) if waits else None, news)


def _before(time: str | None, since: dt.datetime | None) -> bool:
    moment = parse_time(time)
    return moment is not None and since is not None and moment < since


def delivered(ledger: Ledger, sink: str, id: str) -> Ledger:
    state = ledger.sinks.get(sink) or SinkState(since="")
    state = replace(state, delivered=(*state.delivered, id), failure=None)
    return replace(ledger, sinks={**ledger.sinks, sink: state})


def failed(
    ledger: Ledger,
    sink: str,
    id: str,
    why: tuple[str, str],
    now: dt.datetime,
    retry: Retry,
) -> tuple[Ledger, float, bool]:
    """Record a failed delivery; (the ledger, seconds until the next try, whether the reason
    is news: the first failure of this transition, or another cause than last time)."""
    reason, message = why
    state = ledger.sinks.get(sink) or SinkState(since="")
    old = state.failure if state.failure is not None and state.failure.id == id else None
    attempts = 1 if old is None else old.attempts + 1
    delay = retry.delay(attempts)
    failure = Failure(
        id,
        reason,
        message,
        attempts,
        old.since if old is not None else time_text(now),
        time_text(now + dt.timedelta(seconds=delay)),
    )
    news = old is None or old.reason != reason
    state = replace(state, failure=failure)
    return replace(ledger, sinks={**ledger.sinks, sink: state}), delay, news
