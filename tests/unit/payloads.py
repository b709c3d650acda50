"""The payload of a released version, built as the operator builds it, for SDK and safety tests."""

from __future__ import annotations

from typing import Any

from prompt_release.core import payload
from prompt_release.core.hashing import content_hash


def released(
    spec: dict[str, Any],
    *,
    label: str = "production",
    version: str = "summarizer-v9",
    revision: int = 9,
    released_at: str = "2026-11-24T10:00:00Z",
    changelog: str = "hand-edited",
) -> dict[str, Any]:
    return payload.build(
        spec,
        label=label,
        version=version,
        content_hash=content_hash(spec),
        revision=revision,
        released_at=released_at,
        changelog=changelog,
    )
