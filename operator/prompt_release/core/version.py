"""What a PromptVersion's status should say, computed in one place from fresh reads.

Its hash, validity and portability (does every SDK render it alike: mustache yes, f-string and
jinja2 Python-only) come from the version itself; `releasedAs` (the labels serving it now)
and `heldBy` (the releases holding back its deletion) from the releases that name it. The
operator writes the result in one guarded write, so no field is ever erased by another writer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from prompt_release.core import conditions
from prompt_release.core.hashing import short_hash
from prompt_release.core.templates import is_portable
from prompt_release.core.views import ReleaseView, VersionView

VALID = "Valid"
INVALID = "Invalid"


def status(
    version: VersionView,
    now: str,
    *,
    released_as: Iterable[str] | None = None,
    held_by: Iterable[str] | None = None,
) -> dict[str, Any]:
    """The whole status of a version. `None` for released_as/held_by keeps what it says now."""
    old = dict(version.status)
    new = dict(old)
    found = version.warnings
    new["observedGeneration"] = version.generation
    new["portable"] = is_portable(version.template_format)
    if version.content_hash is not None:
        new["hash"] = version.content_hash
        new["shortHash"] = short_hash(version.content_hash)
    else:
        new.pop("hash", None)
        new.pop("shortHash", None)
    if version.problems:
        new["conditions"] = conditions.stalled(
            INVALID, "; ".join(version.problems), version.generation, now, old.get("conditions")
        )
    else:
        new["conditions"] = conditions.ready(
            VALID, _valid_message(found), version.generation, now, old.get("conditions")
        )
    if version.composed is not None and version.included:
        new["includes"] = version.included
    else:
        new.pop("includes", None)
    if found:
        new["warnings"] = found
    else:
        new.pop("warnings", None)
    if released_as is not None:
        _set_list(new, "releasedAs", released_as)
    if held_by is not None:
        _set_list(new, "heldBy", held_by)
    return new


def _valid_message(warnings: list[str]) -> str:
    if not warnings:
        return "Valid; can be released"
    return f"Valid; can be released, with {len(warnings)} warning(s) in status.warnings"


def _set_list(status: dict[str, Any], key: str, values: Iterable[str]) -> None:
    """A sorted list, or no key at all when empty (what the API shows as unset)."""
    listed = sorted(set(values))
    if listed:
        status[key] = listed
    else:
        status.pop(key, None)


HOLDS, SERVES, PLANS = "holds", "serves", "plans"
Link = tuple[str, str, str]
"""(version name, relation, value): a release holds a version by name, serves it by label, or
has yet to plan its spec naming it (by name)."""


def release_links(release: ReleaseView) -> list[Link]:
    """What one release says about versions: which it holds (spec; not once it is being
    deleted), which it serves (status), and which it names in a spec it hasn't planned yet
    (its status doesn't say the spec's generation): what it serves may change soon."""
    links: list[Link] = [] if release.deleting else [(release.version, HOLDS, release.name)]
    if release.status.revision and release.status.version:
        links.append((release.status.version, SERVES, release.label))
    if not release.deleting and not release.planned:
        links.append((release.version, PLANS, release.name))
    return links


def linked(version_name: str, relation: str, links: Iterable[Link]) -> list[str]:
    return sorted(
        {value for name, kind, value in links if name == version_name and kind == relation}
    )


def _links(releases: Iterable[Mapping[str, Any]]) -> list[Link]:
    return [link for body in releases for link in release_links(ReleaseView.of(body))]


def holders(version_name: str, releases: Iterable[Mapping[str, Any]]) -> list[str]:
    """Releases whose spec points at this version: they hold back its deletion."""
    return linked(version_name, HOLDS, _links(releases))


def released_as(version_name: str, releases: Iterable[Mapping[str, Any]]) -> list[str]:
    """Labels of the releases serving this version now (their status, not their spec)."""
    return linked(version_name, SERVES, _links(releases))
