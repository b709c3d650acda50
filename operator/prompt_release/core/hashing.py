"""The content hash of a PromptVersion: what production is tied to.

`sha256:` + hex SHA-256 of the RFC 8785 canonical JSON of the spec without its `hash` field,
with null members of objects dropped (at any depth) and nulls inside lists kept: `kubectl apply`
drops null members before it sends a manifest and the API server prunes them from typed fields,
so an offline hash equals the live one however the object was written.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from prompt_release.core.canonical import canonical_json

PREFIX = "sha256:"
SHORT_HEX = 12


def without_null_members(value: Any) -> Any:
    """Drop object members whose value is null, at any depth; keep nulls that are list items.

    `kubectl apply` drops a null member of an object (`description: null`, `{z: null}` inside
    parameters) and the API server prunes one from typed fields; both keep a null list item.
    """
    if isinstance(value, Mapping):
        return {key: without_null_members(item) for key, item in value.items() if item is not None}
    if isinstance(value, list | tuple):
        return [without_null_members(item) for item in value]
    return value


def content_hash(spec: Mapping[str, Any]) -> str:
    """Hash a PromptVersion spec as the API server stores it, ignoring its own `hash` pin."""
    unpinned = {key: value for key, value in spec.items() if key != "hash"}
    return PREFIX + hashlib.sha256(canonical_json(without_null_members(unpinned))).hexdigest()


def short_hash(full: str) -> str:
    """`sha256:` + the first 12 hex digits: enough to tell versions apart in a table."""
    return full[: len(PREFIX) + SHORT_HEX]
