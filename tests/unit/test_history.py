"""Revisions, rollbacks and who released what."""

from __future__ import annotations

from prompt_release.core.history import is_live, new_entry, prepend, released_by, version_owners

H1, H2 = "sha256:" + "1" * 64, "sha256:" + "2" * 64


def _managed(
    manager: str, time: str, fields: dict[str, object], sub: str = ""
) -> dict[str, object]:
    entry: dict[str, object] = {"manager": manager, "time": time, "fieldsV1": fields}
    if sub:
        entry["subresource"] = sub
    return entry


def test_released_by_is_the_newest_manager_of_spec_version() -> None:
    fields = [
        _managed("argocd-controller", "2026-01-01T00:00:00Z", {"f:spec": {"f:version": {}}}),
        _managed("kubectl-prompt", "2026-01-02T00:00:00Z", {"f:spec": {"f:version": {}}}),
        _managed("someone", "2026-01-03T00:00:00Z", {"f:spec": {"f:changelog": {}}}),
        _managed("operator", "2026-01-04T00:00:00Z", {"f:status": {}}, sub="status"),
    ]
    assert released_by(fields) == "kubectl-prompt"
    assert released_by([]) is None
    assert released_by(None) is None


def test_version_owners_keep_only_what_released_by_reads() -> None:
    fields = [
        _managed("argocd-controller", "2026-01-01T00:00:00Z", {"f:spec": {"f:version": {}}}),
        _managed(
            "kubectl-prompt", "2026-01-02T00:00:00Z", {"f:spec": {"f:version": {}, "f:x": {}}}
        ),
        _managed("someone", "2026-01-03T00:00:00Z", {"f:spec": {"f:changelog": {}}}),
        _managed("operator", "2026-01-04T00:00:00Z", {"f:spec": {"f:version": {}}}, sub="status"),
        _managed("odd", "2026-01-05T00:00:00Z", {"f:spec": "not a map"}),
        "not an entry",
    ]
    owners = version_owners(fields)
    assert [entry["manager"] for entry in owners] == ["argocd-controller", "kubectl-prompt"]
    assert owners[1]["fieldsV1"] == {"f:spec": {"f:version": {}}}
    assert released_by(owners) == released_by(fields[:5]) == "kubectl-prompt"  # type: ignore[arg-type]
    assert version_owners(None) == version_owners("junk") == version_owners([]) == []


def test_first_release_is_revision_one() -> None:
    entry = new_entry({}, version="v1", content_hash=H1, changelog="hi", released_at="t", by="me")
    assert entry == {
        "revision": 1,
        "version": "v1",
        "hash": H1,
        "releasedAt": "t",
        "changelog": "hi",
        "releasedBy": "me",
    }


def test_returning_to_an_earlier_state_says_which_revision_it_restores() -> None:
    status = {
        "revision": 3,
        "history": [
            {"revision": 3, "version": "v1", "hash": H1},
            {"revision": 2, "version": "v2", "hash": H2},
            {"revision": 1, "version": "v1", "hash": H1},
        ],
    }
    entry = new_entry(
        status, version="v2", content_hash=H2, changelog=None, released_at="t", by=None
    )
    assert entry["revision"] == 4 and entry["restores"] == 2
    assert "changelog" not in entry and "releasedBy" not in entry
    same_name_other_content = new_entry(
        status, version="v2", content_hash=H1, changelog=None, released_at="t", by=None
    )
    assert "restores" not in same_name_other_content


def test_is_live_needs_name_and_hash() -> None:
    status = {"revision": 1, "version": "v1", "hash": H1}
    assert is_live(status, "v1", H1)
    assert not is_live(status, "v1", H2)
    assert not is_live(status, "v2", H1)
    assert not is_live({}, "v1", H1)


def test_prepend_keeps_newest_first_within_the_limit() -> None:
    history = [{"revision": n} for n in (3, 2, 1)]
    assert prepend(history, {"revision": 4}, 2) == [{"revision": 4}, {"revision": 3}]
    assert len(prepend([{"revision": n} for n in range(20, 0, -1)], {"revision": 21}, None)) == 10
