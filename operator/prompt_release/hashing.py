"""The content hash of a PromptVersion: what production is tied to.

`sha256:` + hex SHA-256 of the RFC 8785 canonical JSON of the spec without its `hash` field.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from prompt_release.canonical import canonical_json

PREFIX = "sha256:"
SHORT_HEX = 12


def content_hash(spec: Mapping[str, Any]) -> str:
    """Hash a PromptVersion spec exactly as written, ignoring its own `hash` pin."""
    unpinned = {key: value for key, value in spec.items() if key != "hash"}
    return PREFIX + hashlib.sha256(canonical_json(unpinned)).hexdigest()


def short_hash(full: str) -> str:
    """`sha256:` + the first 12 hex digits: enough to tell versions apart in a table."""
    return full[: len(PREFIX) + SHORT_HEX]
