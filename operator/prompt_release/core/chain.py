"""The release history as a hash chain, each revision also kept as an immutable record.

Every history entry carries `digest`, and from the second revision on `previousDigest`:

    digest = "sha256:" + hex(SHA-256(canonical_json({
        "release": {"namespace": ..., "name": ..., "uid": ...},
        "entry": the entry without "digest", "rolloutFailed" and "verification",
    })))

canonical_json is RFC 8785 (`core/canonical.py`), as for content hashes. `previousDigest` is the
digest of the entry of revision N-1 of the same release (same uid), so rewriting or dropping one
entry breaks every link after it (previousDigest is part of the entry). `rolloutFailed` and
`verification` are left out: the operator adds them to an entry later, when that revision fails
to roll out or fails its verification window.

Each sealed entry is also written as an apps/v1 ControllerRevision (`record`): its `data` is
immutable at the API server, it has no owner (deleting the release doesn't remove it), and it is
labelled with the prompt and label, so the history outlives the release and `verify` can
recompute the chain from the records and the status and say what was rewritten or is missing.
Pure: no I/O.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Self

from prompt_release import GROUP
from prompt_release.core import configmap
from prompt_release.core.canonical import canonical_json
from prompt_release.core.evaluation import evidence_problem

FORMAT = 1
DIGEST = "digest"
PREVIOUS = "previousDigest"
UNSEALED = ("digest", "rolloutFailed", "verification")
"""Fields of an entry outside its digest: the digest itself, and what is added later."""
RELEASE_LABEL = f"{GROUP}/release"
RELEASE_UID_LABEL = f"{GROUP}/release-uid"
RECORD_KIND = "ControllerRevision"
RECORD_API_VERSION = "apps/v1"


@dataclass(frozen=True)
class Owner:
    """The release an entry belongs to: part of every digest."""

    namespace: str
    name: str
    uid: str
    prompt: str
    label: str

    @classmethod
    def of(cls, body: Mapping[str, Any]) -> Self:
        meta, spec = body.get("metadata") or {}, body.get("spec") or {}
        return cls(
            namespace=str(meta.get("namespace", "")),
            name=str(meta.get("name", "")),
            uid=str(meta.get("uid", "")),
            prompt=str(spec.get("prompt", "")),
            label=str(spec.get("label", "")),
        )


def sealed_part(entry: Mapping[str, Any]) -> dict[str, Any]:
    """What an entry's digest covers."""
    return {key: value for key, value in entry.items() if key not in UNSEALED}


def digest(owner: Owner, entry: Mapping[str, Any]) -> str:
    """The digest of `entry` (its `previousDigest` included) as `owner`'s."""
    document = {
        "release": {"namespace": owner.namespace, "name": owner.name, "uid": owner.uid},
        "entry": sealed_part(entry),
    }
    return "sha256:" + hashlib.sha256(canonical_json(document)).hexdigest()


def _digests(histories: Iterable[Iterable[Mapping[str, Any]] | None]) -> dict[int, str]:
    found: dict[int, str] = {}
    for entries in histories:
        for entry in entries or ():
            if entry.get(DIGEST):
                found.setdefault(int(entry.get("revision") or 0), str(entry[DIGEST]))
    return found


def seal(
    owner: Owner,
    entries: Sequence[Mapping[str, Any]] | None,
    *known: Iterable[Mapping[str, Any]] | None,
) -> list[dict[str, Any]] | None:
    """`entries` (newest first) with every entry that has no digest yet sealed, oldest first:
    its `previousDigest` is the digest of revision N-1 found in `entries` or in `known` (the
    histories written before, which may keep what `entries` was trimmed of). Sealed entries
    are kept as they are. None stays None."""
    if entries is None:
        return None
    digests = _digests([entries, *known])
    sealed = [dict(entry) for entry in entries]
    for entry in reversed(sealed):
        if entry.get(DIGEST):
            continue
        revision = int(entry.get("revision") or 0)
        entry.pop(PREVIOUS, None)
        before = digests.get(revision - 1)
        if before:
            entry[PREVIOUS] = before
        entry[DIGEST] = digest(owner, entry)
        digests[revision] = entry[DIGEST]
    return sealed


def seal_status(
    owner: Owner, status: Mapping[str, Any], *known: Iterable[Mapping[str, Any]] | None
) -> dict[str, Any]:
    """A status whose history entries are all sealed (see `seal`)."""
    entries = status.get("history")
    if not entries or all(entry.get(DIGEST) for entry in entries):
        return dict(status)
    return {**status, "history": seal(owner, entries, *known)}


def unrecorded(
    before: Iterable[Mapping[str, Any]] | None, after: Iterable[Mapping[str, Any]] | None
) -> list[dict[str, Any]]:
    """The sealed entries of `after` that `before` didn't have (by digest), oldest first: the
    records a status write adds."""
    had = {str(entry.get(DIGEST)) for entry in before or () if entry.get(DIGEST)}
    new = [dict(e) for e in after or () if e.get(DIGEST) and str(e[DIGEST]) not in had]
    return sorted(new, key=lambda entry: int(entry.get("revision") or 0))


# -- the records --------------------------------------------------------------------------------


def record_name(owner: Owner, revision: int) -> str:
    """`<release>-<first 8 of its uid>-<revision>`: a re-created release (a new uid) never
    meets the records of the one before."""
    return f"{owner.name}-{owner.uid[:8]}-{revision}"


def record_selector(prompt: str, label: str | None = None) -> str:
    """The label selector of the records of a prompt (of one label)."""
    selector = (
        f"{configmap.MANAGED_SELECTOR},{configmap.PROMPT_LABEL}={configmap.label_value(prompt)}"
    )
    if label is not None:
        selector += f",{configmap.LABEL_LABEL}={configmap.label_value(label)}"
    return selector


def record(owner: Owner, entry: Mapping[str, Any]) -> dict[str, Any]:
    """The ControllerRevision that keeps one sealed entry: no owner, so it outlives the
    release; `data` is immutable at the API server."""
    revision = int(entry["revision"])
    return {
        "apiVersion": RECORD_API_VERSION,
        "kind": RECORD_KIND,
        "metadata": {
            "name": record_name(owner, revision),
            "namespace": owner.namespace,
            "labels": {
                configmap.MANAGED_BY: configmap.OPERATOR,
                configmap.PROMPT_LABEL: configmap.label_value(owner.prompt),
                configmap.LABEL_LABEL: configmap.label_value(owner.label),
                RELEASE_LABEL: configmap.label_value(owner.name),
                RELEASE_UID_LABEL: owner.uid,
            },
        },
        "revision": revision,
        "data": {
            "format": FORMAT,
            "prompt": owner.prompt,
            "label": owner.label,
            "release": owner.name,
            "uid": owner.uid,
            "entry": sealed_part(entry) | {DIGEST: entry[DIGEST]},
        },
    }


@dataclass(frozen=True)
class Record:
    """A record as read back: whose, and which entry."""

    owner: Owner
    entry: Mapping[str, Any]
    name: str
    created: str

    @property
    def revision(self) -> int:
        return int(self.entry.get("revision") or 0)

    @classmethod
    def of(cls, body: Mapping[str, Any]) -> Record | None:
        """None: not one of ours (no entry in its data)."""
        data = body.get("data")
        meta = body.get("metadata") or {}
        if not isinstance(data, Mapping) or not isinstance(data.get("entry"), Mapping):
            return None
        owner = Owner(
            namespace=str(meta.get("namespace", "")),
            name=str(data.get("release", "")),
            uid=str(data.get("uid", "")),
            prompt=str(data.get("prompt", "")),
            label=str(data.get("label", "")),
        )
        return cls(
            owner,
            dict(data["entry"]),
            str(meta.get("name", "")),
            str(meta.get("creationTimestamp", "")),
        )


# -- verify -------------------------------------------------------------------------------------

OK, REWRITTEN, MISSING, UNSEALED_STATE, UNRECORDED, UNPROVEN = (
    "ok",
    "rewritten",
    "missing",
    "unsealed",
    "unrecorded",
    "unproven",
)


@dataclass
class Row:
    """One revision of one release (uid) as `verify` found it."""

    label: str
    release: str
    uid: str
    revision: int
    state: str
    entry: Mapping[str, Any]
    where: str
    """status, record, or both."""
    detail: str = ""


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(releases: Sequence[Mapping[str, Any]], records: Iterable[Mapping[str, Any]]) -> Report:
    """Recompute the chains of `releases` (PromptRelease bodies, those that exist now) and of
    `records` (ControllerRevisions, of those and of deleted releases): a row per revision, and
    a problem for every entry rewritten, missing from the records, missing from the status or
    out of its chain."""
    report = Report()
    by_uid: dict[str, dict[int, Record]] = {}
    for body in records:
        found = Record.of(body)
        if found is None:
            continue
        chain = by_uid.setdefault(found.owner.uid, {})
        chain[found.revision] = found
    statuses = {Owner.of(body).uid: body for body in releases}

    def age(uid: str) -> tuple[bool, str]:  # deleted releases first, oldest first
        return uid in statuses, min((r.created for r in by_uid.get(uid, {}).values()), default="")

    for uid in sorted({*by_uid, *statuses}, key=age):
        _verify_one(report, by_uid.get(uid, {}), statuses.get(uid))
    return report


def _verify_one(
    report: Report, records: Mapping[int, Record], body: Mapping[str, Any] | None
) -> None:
    owner = Owner.of(body) if body is not None else next(iter(records.values())).owner
    status = (body or {}).get("status") or {}
    kept = {int(e.get("revision") or 0): e for e in status.get("history") or ()}
    name = owner.name + ("" if body is not None else " (deleted)")
    rows = _record_rows(owner, name, records, deleted=body is None)
    _status_rows(rows, owner, name, records, kept)
    _check_links(rows)
    if body is not None and kept:
        _check_kept(rows, records, kept, int(status.get("revision") or 0))
    for revision, row in sorted(rows.items()):
        if row.state in (REWRITTEN, MISSING):
            detail = row.detail
        elif row.state == UNRECORDED:
            detail = "in the status but not among the records"
        else:
            continue
        report.problems.append(f"{owner.label}: {name}: revision {revision}: {detail}")
    report.rows.extend(rows[r] for r in sorted(rows))


def _record_rows(
    owner: Owner, name: str, records: Mapping[int, Record], deleted: bool
) -> dict[int, Row]:
    """A row per record, judged on its own: does it name this release, and match its digest?"""
    rows: dict[int, Row] = {}
    for revision, found in sorted(records.items()):
        state, detail = OK, ""
        if found.owner != owner and not deleted:
            state, detail = REWRITTEN, "the record names another release"
        elif found.entry.get(DIGEST) != digest(found.owner, found.entry):
            state, detail = REWRITTEN, "the record's content does not match its digest"
        rows[revision] = Row(
            owner.label, name, owner.uid, revision, state, found.entry, "record", detail
        )
    return rows


def _status_rows(
    rows: dict[int, Row],
    owner: Owner,
    name: str,
    records: Mapping[int, Record],
    kept: Mapping[int, Mapping[str, Any]],
) -> None:
    """A row per status entry, judged against its digest and its record."""
    for revision, entry in sorted(kept.items()):
        on_record = records.get(revision)
        row = rows.get(revision)
        if not entry.get(DIGEST):
            if on_record is not None:
                state, detail = REWRITTEN, "its digest was removed from the status"
            else:
                state, detail = UNSEALED_STATE, "made before the history was chained"
        elif entry.get(DIGEST) != digest(owner, entry):
            state, detail = REWRITTEN, "the status entry does not match its digest"
        elif on_record is None:
            state, detail = UNRECORDED, "no record of it"
        elif on_record.entry.get(DIGEST) != entry.get(DIGEST):
            state, detail = REWRITTEN, "the status entry differs from its record"
        else:
            state, detail = (row.state, row.detail) if row is not None else (OK, "")
        where = "status" if on_record is None else "both"
        rows[revision] = Row(owner.label, name, owner.uid, revision, state, entry, where, detail)


def _check_links(rows: Mapping[int, Row]) -> None:
    """Each sealed entry names the digest of the revision before it."""
    for revision, row in sorted(rows.items()):
        if row.state != OK:
            continue
        before = rows.get(revision - 1)
        previous = row.entry.get(PREVIOUS)
        if before is None:
            if previous:
                row.state, row.detail = MISSING, f"revision {revision - 1} is missing before it"
            continue
        if previous != before.entry.get(DIGEST) and before.entry.get(DIGEST):
            row.state, row.detail = REWRITTEN, f"its link to revision {revision - 1} is broken"


def _check_kept(
    rows: Mapping[int, Row],
    records: Mapping[int, Record],
    kept: Mapping[int, Mapping[str, Any]],
    current: int,
) -> None:
    """What the status should still keep: its newest revisions, none skipped."""
    oldest = min(kept)
    for revision in records:
        if oldest <= revision <= current and revision not in kept:
            rows[revision].state = MISSING
            rows[revision].detail = "removed from the status history"
        if revision > current:
            rows[revision].state = MISSING
            rows[revision].detail = f"recorded, but the status says revision {current}"


def check_evidence(report: Report, evaluations: Mapping[str, Mapping[str, Any]]) -> None:
    """A promoted revision's evidence still proves it: each PromptEvaluation its entry names
    (`evaluations`, by name) exists, for its version and hash, with the dataset and score the
    entry kept. A revision whose evidence doesn't is `unproven`, and a problem."""
    for row in report.rows:
        promotion = row.entry.get("promotion") or {}
        for kept in promotion.get("evidence") or ():
            problem = evidence_problem(row.entry, kept, evaluations.get(str(kept.get("name"))))
            if problem is None:
                continue
            if row.state == OK:
                row.state, row.detail = UNPROVEN, problem
            report.problems.append(
                f"{row.label}: {row.release}: revision {row.revision}: {problem}"
            )
