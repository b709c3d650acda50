"""kstatus-style conditions: Ready summarises, Reconciling and Stalled say why it isn't."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

READY = "Ready"
RECONCILING = "Reconciling"
STALLED = "Stalled"

Conditions = list[dict[str, Any]]


def find(conditions: Iterable[Mapping[str, Any]] | None, kind: str) -> Mapping[str, Any] | None:
    return next((c for c in conditions or () if c.get("type") == kind), None)


def ready_of(status: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """The Ready condition of a status, or {} when it has none yet."""
    return find((status or {}).get("conditions"), READY) or {}


def is_ready(status: Mapping[str, Any] | None) -> bool:
    return ready_of(status).get("status") == "True"


def condition(
    kind: str,
    status: str,
    reason: str,
    message: str,
    generation: int,
    now: str,
    previous: Iterable[Mapping[str, Any]] | None,
) -> dict[str, Any]:
    """One condition; lastTransitionTime moves only when the status flips."""
    before = find(previous, kind)
    changed = before is None or before.get("status") != status
    return {
        "type": kind,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": now if changed else before["lastTransitionTime"],  # type: ignore[index]
        "observedGeneration": generation,
    }


def _summary(
    statuses: tuple[str, str, str],
    reason: str,
    message: str,
    generation: int,
    now: str,
    previous: Conditions | None,
) -> Conditions:
    """Ready, Reconciling and Stalled with these statuses, one reason and one message."""
    return [
        condition(kind, status, reason, message, generation, now, previous)
        for kind, status in zip((READY, RECONCILING, STALLED), statuses, strict=True)
    ]


def ready(
    reason: str, message: str, generation: int, now: str, previous: Conditions | None
) -> Conditions:
    """Done: Ready=True, nothing in progress, nothing stuck."""
    return _summary(("True", "False", "False"), reason, message, generation, now, previous)


def stalled(
    reason: str, message: str, generation: int, now: str, previous: Conditions | None
) -> Conditions:
    """Needs a human: Ready=False and Stalled=True, both with the same reason."""
    return _summary(("False", "False", "True"), reason, message, generation, now, previous)


def reconciling(
    reason: str, message: str, generation: int, now: str, previous: Conditions | None
) -> Conditions:
    """Working on it: Ready=Unknown, Reconciling=True (the first visit writes this)."""
    return _summary(("Unknown", "True", "False"), reason, message, generation, now, previous)


def same(a: Conditions | None, b: Conditions | None) -> bool:
    """Equal but for timestamps: used to skip writes that would change nothing."""

    def strip(conditions: Conditions | None) -> list[dict[str, Any]]:
        return [{k: v for k, v in c.items() if k != "lastTransitionTime"} for c in conditions or []]

    return strip(a) == strip(b)


def status_changed(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> bool:
    """Would writing `new` change anything but condition timestamps? (No write if not.)"""
    before = dict(old or {})
    if not same(before.get("conditions"), new.get("conditions")):
        return True
    return {k: v for k, v in before.items() if k != "conditions"} != {
        k: v for k, v in new.items() if k != "conditions"
    }


def with_condition(summary: Conditions, extra: dict[str, Any]) -> Conditions:
    """The kstatus triple plus one more condition of another type (replacing its old value)."""
    return [c for c in summary if c.get("type") != extra["type"]] + [extra]
