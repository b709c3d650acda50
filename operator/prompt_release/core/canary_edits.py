"""What `kubectl prompt canary` does to a release's spec: the operator never edits it, so
each verb is one edit of spec.canary (or of spec.version, to promote), refused when it doesn't
fit the release as it is."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from prompt_release.core import canary
from prompt_release.core.canary_spec import ABORTED, PAUSED, percent


class CanaryEditError(ValueError):
    """A canary verb that doesn't fit the release as it is; the message says why."""


def _canary_of(spec: Mapping[str, Any], name: str) -> dict[str, Any]:
    found = spec.get("canary")
    if not isinstance(found, Mapping):
        raise CanaryEditError(f"{name} runs no canary (spec.canary is unset)")
    return dict(found)


def start_spec(
    spec: Mapping[str, Any],
    name: str,
    *,
    version: str,
    weight: float,
    pin: str | None = None,
    steps: Sequence[Mapping[str, Any]] | None = None,
    segments: Sequence[Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """spec with a canary of `version` (replacing any canary it runs)."""
    if version == spec.get("version"):
        raise CanaryEditError(f"{version} is the stable version of {name} already")
    if not 0 <= weight <= 100:
        raise CanaryEditError(f"the weight is a percentage (0-100), not {weight}")
    found: dict[str, Any] = {"version": version, "weight": canary.normal_weight(weight)}
    if pin:
        found["hash"] = pin
    if segments:
        found["segments"] = [dict(segment) for segment in segments]
    if steps:
        found["steps"] = [dict(step) for step in steps]
    return {**spec, "canary": found}


def weight_spec(spec: Mapping[str, Any], name: str, weight: float) -> dict[str, Any]:
    """spec with the canary's weight set (it applies at once, until the next setWeight step)."""
    found = _canary_of(spec, name)
    if not 0 <= weight <= 100:
        raise CanaryEditError(f"the weight is a percentage (0-100), not {weight}")
    return {**spec, "canary": {**found, "weight": canary.normal_weight(weight)}}


def promote_spec(
    spec: Mapping[str, Any], status: Mapping[str, Any], name: str, changelog: str | None
) -> dict[str, Any]:
    """spec with the candidate as the stable version, hash-pinned, and no canary: the next
    revision, whose history entry says it was a canary and at which weight."""
    found = _canary_of(spec, name)
    state = status.get("canary") or {}
    if state.get("version") != found.get("version") or not state.get("hash"):
        raise CanaryEditError(
            f"the canary {found.get('version')} of {name} isn't running (yet): see kubectl "
            "prompt canary status"
        )
    if state.get("phase") == ABORTED:
        raise CanaryEditError(
            f"the canary {state['version']} of {name} was aborted ({state.get('reason')}: "
            f"{state.get('message')}); start it again or release it with kubectl prompt release"
        )
    promoted = {k: v for k, v in spec.items() if k != "canary"}
    promoted.update(version=state["version"], hash=state["hash"])
    promoted["changelog"] = changelog or (
        f"Promote the canary {state['version']} from {percent(state.get('weight') or 0)}"
    )
    return promoted


def abort_spec(spec: Mapping[str, Any], name: str) -> dict[str, Any]:
    """spec without its canary: everyone gets the stable version; status.lastCanary says so."""
    _canary_of(spec, name)
    return {k: v for k, v in spec.items() if k != "canary"}


def resume_spec(spec: Mapping[str, Any], status: Mapping[str, Any], name: str) -> dict[str, Any]:
    """spec that lets the canary past the manual pause it waits at."""
    found = _canary_of(spec, name)
    state = status.get("canary") or {}
    if state.get("phase") != PAUSED:
        raise CanaryEditError(
            f"the canary of {name} is not paused at a manual step "
            f"(phase {state.get('phase') or 'unknown'})"
        )
    return {**spec, "canary": {**found, "resumeStep": int(state.get("step") or 0)}}
