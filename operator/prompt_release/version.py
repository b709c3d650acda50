"""What a PromptVersion's status should say: its content hash and whether it can be released."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from prompt_release import conditions
from prompt_release.canonical import CanonicalizationError
from prompt_release.hashing import content_hash, short_hash
from prompt_release.validation import problems

VALID = "Valid"
INVALID = "Invalid"


def status(version: Mapping[str, Any], now: str) -> dict[str, Any]:
    """The whole status of a version (keeping fields other writers own, like heldBy)."""
    spec = version.get("spec") or {}
    generation = int(version["metadata"].get("generation") or 1)
    old = dict(version.get("status") or {})
    new = dict(old)
    new["observedGeneration"] = generation
    try:
        new["hash"] = content_hash(spec)
        new["shortHash"] = short_hash(new["hash"])
    except CanonicalizationError:
        new.pop("hash", None)
        new.pop("shortHash", None)
    found = problems(spec)
    if found:
        new["conditions"] = conditions.stalled(
            INVALID, "; ".join(found), generation, now, old.get("conditions")
        )
    else:
        new["conditions"] = conditions.ready(
            VALID, "Valid; can be released", generation, now, old.get("conditions")
        )
    return new


def holders(version_name: str, releases: Iterable[Mapping[str, Any]]) -> list[str]:
    """Releases whose spec points at this version: they hold back its deletion."""
    return sorted(
        str(release["metadata"]["name"])
        for release in releases
        if (release.get("spec") or {}).get("version") == version_name
    )


def released_as(version_name: str, releases: Iterable[Mapping[str, Any]]) -> list[str]:
    """Labels of the releases serving this version now (their status, not their spec)."""
    return sorted(
        str((release.get("spec") or {}).get("label"))
        for release in releases
        if (release.get("status") or {}).get("version") == version_name
        and (release.get("status") or {}).get("revision")
    )
