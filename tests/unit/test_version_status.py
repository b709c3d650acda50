"""A PromptVersion's status."""

from __future__ import annotations

from typing import Any

from prompt_release.core import version as core
from prompt_release.core.hashing import content_hash
from prompt_release.core.version import holders, released_as
from prompt_release.core.views import VersionView


def status(body: dict[str, Any], now: str) -> dict[str, Any]:
    return core.status(VersionView.of(body), now)


def test_valid_version_gets_hash_and_ready() -> None:
    spec = {"prompt": "p", "template": "x"}
    result = status({"metadata": {"generation": 1}, "spec": spec}, "t")
    assert result["hash"] == content_hash(spec)
    assert result["shortHash"] == result["hash"][:19]
    assert result["conditions"][0]["status"] == "True" and result["observedGeneration"] == 1


def test_invalid_version_says_why_and_keeps_other_fields() -> None:
    body = {
        "metadata": {"generation": 1},
        "spec": {"prompt": "p", "template": "{x}"},
        "status": {"heldBy": ["r"]},
    }
    result = status(body, "t")
    ready = result["conditions"][0]
    assert ready["status"] == "False" and ready["reason"] == "Invalid"
    assert "not declared in variables: x" in ready["message"]
    assert result["heldBy"] == ["r"]


def test_holders_are_releases_whose_spec_points_here() -> None:
    releases = [
        {"metadata": {"name": "b"}, "spec": {"version": "v1"}},
        {"metadata": {"name": "a"}, "spec": {"version": "v1"}},
        {"metadata": {"name": "c"}, "spec": {"version": "v2"}},
    ]
    assert holders("v1", releases) == ["a", "b"]
    assert holders("v3", releases) == []


def test_released_as_lists_labels_whose_status_serves_the_version() -> None:
    releases: list[dict[str, Any]] = [
        {"spec": {"label": "staging", "version": "v2"}, "status": {"version": "v1", "revision": 3}},
        {
            "spec": {"label": "production", "version": "v1"},
            "status": {"version": "v1", "revision": 1},
        },
        {"spec": {"label": "canary", "version": "v1"}, "status": {}},
    ]
    assert released_as("v1", releases) == ["production", "staging"]  # what is live, not asked
    assert released_as("v2", releases) == []
