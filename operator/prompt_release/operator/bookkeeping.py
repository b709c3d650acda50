"""Kopf's bookkeeping without copies of prompt bodies.

Kopf remembers the last handled spec to tell real changes from noise; by default it copies the
whole spec into an annotation, which doubles every write and, for prompts above ~128 KiB, breaks
the 256 KiB annotation limit and blocks deletion. We keep a 64-character digest instead: enough
to know *that* the spec changed, which is all our level-based handlers need.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

import kopf

from prompt_release import GROUP
from prompt_release.core.canonical import canonical_json

DIGEST_ANNOTATION = f"{GROUP}/handled-spec-digest"


def spec_digest(spec: Any) -> str:
    return hashlib.sha256(canonical_json(spec)).hexdigest()


class SpecDigestStorage(kopf.DiffBaseStorage):
    """A diff base that stores only a digest of the handled spec."""

    def build(self, *, body: Any, extra_fields: Iterable[Any] | None = None) -> Any:
        return {"spec": dict(body.get("spec") or {})}

    def fetch(self, *, body: Any) -> Any:
        stored = (body.get("metadata", {}).get("annotations") or {}).get(DIGEST_ANNOTATION)
        if stored is None:
            return None  # never handled: a creation
        current = self.build(body=body)
        if stored == spec_digest(current["spec"]):
            return current  # nothing changed
        return {"spec": {DIGEST_ANNOTATION: stored}}  # a different essence: an update

    def store(self, *, body: Any, patch: Any, essence: Any) -> None:
        digest = spec_digest(dict(essence.get("spec") or {}))
        annotations = body.get("metadata", {}).get("annotations") or {}
        if annotations.get(DIGEST_ANNOTATION) != digest:
            patch.metadata.annotations[DIGEST_ANNOTATION] = digest
