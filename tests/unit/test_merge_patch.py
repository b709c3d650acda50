"""The status merge patch removes what the new status drops, at any depth."""

from __future__ import annotations

from typing import Any

from prompt_release.kube import merge_patch_of


def apply(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """RFC 7386, as the API server applies it."""
    out = dict(target)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = apply(out[key], value)
        else:
            out[key] = value
    return out


def test_dropped_keys_are_removed_at_every_depth() -> None:
    old = {"a": 1, "rollout": {"phase": "Complete", "failedVersion": "v2"}, "gone": True}
    new = {"a": 2, "rollout": {"phase": "Progressing"}, "list": [1, 2]}
    patch = merge_patch_of(old, new)
    assert patch == {
        "gone": None,
        "a": 2,
        "rollout": {"failedVersion": None, "phase": "Progressing"},
        "list": [1, 2],
    }
    assert apply(old, patch) == new
