"""A PromptVersion's status."""

from __future__ import annotations

from typing import Any

import pytest

from prompt_release.core import version as core
from prompt_release.core.hashing import content_hash
from prompt_release.core.validation import HashResult, hash_result
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


def test_a_stored_version_is_hashed_and_validated_once_per_uid_and_generation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Its own status and each release pass look at the same stored spec: checked once."""
    from prompt_release.core import views

    calls: list[str] = []

    def counted(spec: Any) -> HashResult:
        calls.append(spec["template"])
        return hash_result(spec)

    monkeypatch.setattr(views, "CHECKED", views.checked_versions(capacity=2))
    monkeypatch.setattr(views, "hash_result", counted)

    def body(uid: str, generation: int = 1, template: str = "Hi {name}") -> dict[str, Any]:
        meta = {"name": "v", "namespace": "ns", "uid": uid, "generation": generation}
        spec = {"prompt": "p", "template": template, "variables": ["name"]}
        return {"metadata": meta, "spec": spec}

    first = VersionView.of(body("u1"))
    assert first.content_hash == content_hash(body("u1")["spec"]) and first.problems == []
    assert VersionView.of(body("u1")).content_hash == first.content_hash
    assert len(calls) == 1
    # A new object under the same name, or a new generation: checked again.
    recreated = VersionView.of(body("u2", template="Hi {nom}"))
    assert recreated.problems and recreated.content_hash != first.content_hash
    assert VersionView.of(body("u1", generation=2)).problems == []
    assert len(calls) == 3
    # Bounded: the oldest entry went, and a version without a uid is never remembered.
    unnamed = {"metadata": {"name": "v"}, "spec": body("")["spec"]}
    for again in (body("u1"), unnamed, unnamed):
        assert VersionView.of(again).content_hash == first.content_hash
    assert len(calls) == 6


def test_a_remembered_check_cannot_be_changed_by_its_reader() -> None:
    body = {
        "metadata": {"name": "w", "namespace": "ns", "uid": "u-bad", "generation": 1},
        "spec": {"prompt": "p", "template": "{x}"},
    }
    VersionView.of(body).problems.append("not a problem")
    assert "not a problem" not in VersionView.of(body).problems
