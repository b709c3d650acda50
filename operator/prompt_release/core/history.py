"""Revisions and release history: what went live, when, by whom, and what a rollback restores."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

DEFAULT_HISTORY_LIMIT = 10


def _owns_version(entry: Mapping[str, Any]) -> bool:
    fields = entry.get("fieldsV1")
    spec = fields.get("f:spec") if isinstance(fields, Mapping) else None
    return entry.get("subresource", "") == "" and isinstance(spec, Mapping) and "f:version" in spec


def released_by(managed_fields: Iterable[Mapping[str, Any]] | None) -> str | None:
    """The field manager that last set spec.version (the newest entry that owns it)."""
    owners = [entry for entry in managed_fields or () if _owns_version(entry)]
    if not owners:
        return None
    newest = max(owners, key=lambda entry: str(entry.get("time", "")))
    return str(newest.get("manager")) if newest.get("manager") else None


def version_owners(managed_fields: Any) -> list[dict[str, Any]]:
    """Of an object's managedFields, only what `released_by` reads: the entries owning
    spec.version, each cut to its manager, operation, time and that one field. A watched object's
    managedFields are about half of its parsed size, and nothing else reads them."""
    if not isinstance(managed_fields, list):
        return []
    return [
        {
            "manager": entry.get("manager"),
            "operation": entry.get("operation"),
            "time": entry.get("time"),
            "fieldsV1": {"f:spec": {"f:version": {}}},
        }
        for entry in managed_fields
        if isinstance(entry, Mapping) and _owns_version(entry)
    ]


def is_live(status: Mapping[str, Any], version: str, content_hash: str) -> bool:
    """Is exactly this version (by name and hash) what the release serves now?"""
    return bool(
        status.get("revision")
        and status.get("version") == version
        and status.get("hash") == content_hash
    )


def new_entry(
    status: Mapping[str, Any],
    *,
    version: str,
    content_hash: str,
    changelog: str | None,
    released_at: str,
    by: str | None,
    via: str | None = None,
    approved_by: list[str] | None = None,
    attested: bool | None = None,
) -> dict[str, Any]:
    """The history entry for the next revision; a return to an earlier state says which.

    `by` is who released it, `via` the field manager they used, `approved_by` who approved it,
    `attested` whether `by` is an identity the API server stamped (None: the operator's own).
    """
    revision = int(status.get("revision") or 0) + 1
    entry: dict[str, Any] = {
        "revision": revision,
        "version": version,
        "hash": content_hash,
        "releasedAt": released_at,
    }
    if changelog:
        entry["changelog"] = changelog
    if by:
        entry["releasedBy"] = by
    if via:
        entry["via"] = via
    if approved_by:
        entry["approvedBy"] = list(approved_by)
    if attested is not None:
        entry["attested"] = attested
    earlier = next(
        (
            old
            for old in status.get("history") or ()
            if old.get("version") == version and old.get("hash") == content_hash
        ),
        None,
    )
    if earlier is not None:
        entry["restores"] = int(earlier["revision"])
    return entry


def prepend(
    history: Iterable[Mapping[str, Any]] | None, entry: Mapping[str, Any], limit: int | None
) -> list[dict[str, Any]]:
    """Newest first, at most `limit` entries."""
    bound = limit or DEFAULT_HISTORY_LIMIT
    return [dict(entry), *(dict(old) for old in history or ())][:bound]


def live_entry(status: Mapping[str, Any]) -> dict[str, Any]:
    """The history entry of what is live now (or a stand-in built from the status)."""
    for entry in status.get("history") or ():
        if entry.get("revision") == status.get("revision"):
            return dict(entry)
    return {
        "revision": status["revision"],
        "releasedAt": status.get("releasedAt"),
        "version": status.get("version"),
        "hash": status.get("hash"),
    }


def previous_entry(status: Mapping[str, Any]) -> dict[str, Any] | None:
    """What a plain rollback brings back: the newest earlier revision serving something else."""
    live = (status.get("version"), status.get("hash"))
    current = int(status.get("revision") or 0)
    return next(
        (
            dict(entry)
            for entry in status.get("history") or ()
            if int(entry.get("revision") or 0) < current
            and (entry.get("version"), entry.get("hash")) != live
        ),
        None,
    )


def entry_at(status: Mapping[str, Any], revision: int) -> dict[str, Any] | None:
    """The kept history entry of one revision, if it is still kept."""
    return next(
        (dict(entry) for entry in status.get("history") or () if entry.get("revision") == revision),
        None,
    )
