"""Typed views of the two kinds: each object parsed once, carrying the rules about it.

The operator and `kubectl prompt` read objects through these, so a rule (the release name, the
ConfigMap name, the template format's default, the history limit, the live entry, what a
rollback restores, which prompt a version belongs to) exists in one place. The raw spec stays
on the version view only for hashing, which must see it exactly as stored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from prompt_release.core import conditions, history, identity, lint
from prompt_release.core.lru import LRU
from prompt_release.core.templates import template_format_of
from prompt_release.core.validation import HashResult, hash_result, problems

EMPTY: Mapping[str, Any] = {}


def release_name(prompt: str, label: str) -> str:
    """A release's name: one (prompt, label) pair per namespace (the CRD enforces it too)."""
    return f"{prompt}-{label}"


def _generation(meta: Mapping[str, Any]) -> int:
    return int(meta.get("generation") or 1)


Checked = tuple[HashResult, list[str], list[tuple[str, str]]]
"""A version's content hash (or why it has none), its problems and its lint warnings (kind,
message)."""


def checked_versions(capacity: int = 16384) -> LRU[tuple[str, str, str, int], Checked]:
    """The hash and the problems of the versions checked lately, by (namespace, name, uid,
    generation): under one key the spec can't differ (the API server refuses edits; a new
    object has a new uid). Hashing and validating a 300 KiB prompt costs milliseconds, and
    every version is checked by its own status and again by each pass of a release naming it."""
    return LRU(capacity)


CHECKED = checked_versions()


@dataclass(frozen=True)
class VersionView:
    """A PromptVersion: its spec as stored (for hashing) and what the rules need of it."""

    name: str
    namespace: str
    generation: int
    spec: Mapping[str, Any]
    status: Mapping[str, Any]
    deleting: bool = False
    uid: str = ""  # known for objects read from the API server: their checks are remembered

    @classmethod
    def of(cls, body: Mapping[str, Any]) -> VersionView:
        meta = body.get("metadata") or EMPTY
        return cls(
            name=str(meta.get("name", "")),
            namespace=str(meta.get("namespace", "")),
            generation=_generation(meta),
            spec=body.get("spec") or {},
            status=body.get("status") or {},
            deleting=bool(meta.get("deletionTimestamp")),
            uid=str(meta.get("uid") or ""),
        )

    @property
    def prompt(self) -> str:
        return str(self.spec.get("prompt", ""))

    @property
    def template_format(self) -> str:
        return template_format_of(self.spec)

    @property
    def is_chat(self) -> bool:
        return self.spec.get("template") is None and self.spec.get("messages") is not None

    @cached_property
    def _checked(self) -> Checked:
        """The content hash (or why there is none) and the problems: computed once per view,
        and once per stored version while CHECKED remembers it."""
        key = (self.namespace, self.name, self.uid, self.generation)
        found = CHECKED.get(key) if self.uid else None
        if found is None:
            hashed = hash_result(self.spec)
            found = (hashed, problems(self.spec, hashed), lint.flagged(self.spec))
            if self.uid:
                CHECKED.put(key, found)
        return found

    @property
    def hashed(self) -> HashResult:
        return self._checked[0]

    @property
    def content_hash(self) -> str | None:
        return self.hashed if isinstance(self.hashed, str) else None

    @property
    def problems(self) -> list[str]:
        return list(self._checked[1])

    @property
    def warnings(self) -> list[str]:
        """What looks wrong but doesn't stop a release (`core/lint.py`)."""
        return [message for _, message in self._checked[2]]

    @property
    def flagged(self) -> list[tuple[str, str]]:
        """The warnings with their kinds (Secret, PII, SystemVariable)."""
        return list(self._checked[2])

    def mismatch(self, prompt: str) -> str | None:
        """Why this version can't be released as `prompt`; None when it belongs to it."""
        if self.prompt == prompt:
            return None
        return f"PromptVersion {self.name} belongs to prompt {self.prompt!r}, not {prompt!r}"


@dataclass(frozen=True)
class ReleaseStatusView:
    """What a release serves now, and its history (newest first)."""

    raw: Mapping[str, Any] = field(default_factory=dict)

    @property
    def revision(self) -> int:
        return int(self.raw.get("revision") or 0)

    @property
    def version(self) -> str | None:
        found = self.raw.get("version")
        return None if found is None else str(found)

    @property
    def hash(self) -> str | None:
        found = self.raw.get("hash")
        return None if found is None else str(found)

    @property
    def config_map(self) -> str | None:
        found = self.raw.get("configMap")
        return None if found is None else str(found)

    @property
    def rollout(self) -> Mapping[str, Any]:
        return self.raw.get("rollout") or {}

    @property
    def history(self) -> Sequence[Mapping[str, Any]]:
        return list(self.raw.get("history") or ())

    @property
    def ready(self) -> Mapping[str, Any]:
        return conditions.ready_of(self.raw)

    @property
    def is_ready(self) -> bool:
        return conditions.is_ready(self.raw)

    def serves(self, version: str, content_hash: str) -> bool:
        return history.is_live(self.raw, version, content_hash)

    def live_entry(self) -> dict[str, Any] | None:
        """The history entry of what is live; None before the first release."""
        return history.live_entry(self.raw) if self.revision else None

    def previous_entry(self) -> dict[str, Any] | None:
        return history.previous_entry(self.raw)

    def entry_at(self, revision: int) -> dict[str, Any] | None:
        return history.entry_at(self.raw, revision)


@dataclass(frozen=True)
class ReleaseView:
    """A PromptRelease: its spec's fields by name, its identity, and its status."""

    name: str
    namespace: str
    uid: str
    generation: int
    api_version: str
    kind: str
    prompt: str
    label: str
    version: str
    pin: str | None
    changelog: str | None
    config_map_override: str | None
    history_limit_override: int | None
    status: ReleaseStatusView
    rollout_strategy: str = "HotReload"
    rollback_on_failure: bool = False
    consumer_check: str = "Enforce"
    """spec.consumerCheck: Enforce (a consumer's contract blocks a move) or Warn."""
    managed_fields: Sequence[Mapping[str, Any]] = ()
    creation_timestamp: str | None = None
    deleting: bool = False
    annotations: Mapping[str, Any] = field(default_factory=dict)
    canary_version: str | None = None
    acting: tuple[str, str] | None = None
    """(releasedBy, via) of a revision the operator makes on its own (an automatic promotion):
    nobody requested it through spec.version."""

    @classmethod
    def of(cls, body: Mapping[str, Any]) -> ReleaseView:
        meta, spec = body.get("metadata") or EMPTY, body.get("spec") or EMPTY
        limit = spec.get("historyLimit")
        rollout = spec.get("rollout") or {}
        return cls(
            name=str(meta.get("name", "")),
            namespace=str(meta.get("namespace", "")),
            uid=str(meta.get("uid", "")),
            generation=_generation(meta),
            api_version=str(body.get("apiVersion", "")),
            kind=str(body.get("kind", "")),
            prompt=str(spec.get("prompt", "")),
            label=str(spec.get("label", "")),
            version=str(spec.get("version", "")),
            pin=spec.get("hash") or None,
            changelog=spec.get("changelog") or None,
            config_map_override=spec.get("configMapName") or None,
            history_limit_override=None if limit is None else int(limit),
            status=ReleaseStatusView(body.get("status") or {}),
            rollout_strategy=str(rollout.get("strategy") or "HotReload"),
            rollback_on_failure=bool(rollout.get("rollbackOnFailure")),
            consumer_check=str(spec.get("consumerCheck") or "Enforce"),
            managed_fields=list(meta.get("managedFields") or ()),
            creation_timestamp=meta.get("creationTimestamp"),
            deleting=bool(meta.get("deletionTimestamp")),
            annotations=dict(meta.get("annotations") or {}),
            canary_version=(
                str((spec.get("canary") or EMPTY).get("version") or "") or None
                if isinstance(spec.get("canary"), Mapping)
                else None
            ),
        )

    @property
    def config_map_name(self) -> str:
        """The ConfigMap to write: spec.configMapName, else the release's own name."""
        return self.config_map_override or self.name

    @property
    def served_config_map(self) -> str:
        """The ConfigMap workloads read now: what the status says was written, else the rule."""
        return self.status.config_map or self.config_map_name

    @property
    def history_limit(self) -> int:
        return self.history_limit_override or history.DEFAULT_HISTORY_LIMIT

    @property
    def planned(self) -> bool:
        """The operator has answered this spec: the status says its generation."""
        return self.status.raw.get("observedGeneration") == self.generation

    @property
    def held_back(self) -> bool:
        """spec.version failed to roll out and was rolled back: it isn't retried until
        spec.version names another version."""
        return bool(self.version) and self.status.rollout.get("failedVersion") == self.version

    @property
    def target_version(self) -> str:
        """The version to serve: spec.version, or what is live while spec.version is held back."""
        if self.held_back and self.status.version:
            return self.status.version
        return self.version

    @property
    def via(self) -> str | None:
        """The field manager that last set spec.version (kubectl, Argo CD, ...)."""
        if self.acting is not None:
            return self.acting[1]
        return history.released_by(self.managed_fields)

    @property
    def requester(self) -> identity.Identity | None:
        """Who set spec.version as the API server saw them (stamped at admission), if known."""
        if self.acting is not None:
            return None
        return identity.requester(self.annotations, self.version)

    @property
    def canary_requester(self) -> identity.Identity | None:
        """Who set spec.canary.version as the API server saw them (stamped at admission)."""
        if not self.canary_version:
            return None
        return identity.canary_requester(self.annotations, self.canary_version)

    @property
    def released_by(self) -> str | None:
        """The requester when the admission policy stamped one, else the field manager."""
        if self.acting is not None:
            return self.acting[0]
        who = self.requester
        return who.username if who else self.via
