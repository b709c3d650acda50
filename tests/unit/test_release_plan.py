"""`release.plan`: what happens when a release changes, without a cluster."""

from __future__ import annotations

import json
from typing import Any

import pytest

from prompt_release.core import configmap
from prompt_release.core import release as core
from prompt_release.core.hashing import content_hash
from prompt_release.core.payload import PAYLOAD_KEY
from prompt_release.core.release import ReleasePlan
from prompt_release.core.views import ReleaseView, VersionView

UID = "11111111-2222-3333-4444-555555555555"


def version(name: str = "p-v1", prompt: str = "p", **spec: Any) -> dict[str, Any]:
    body = {"prompt": prompt, "template": f"{name}: {{x}}", "variables": ["x"], **spec}
    return {"metadata": {"name": name, "namespace": "ns"}, "spec": body}


def release(ver: str = "p-v1", status: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "promptrelease.io/v1alpha1",
        "kind": "PromptRelease",
        "metadata": {
            "name": "p-production",
            "namespace": "ns",
            "uid": UID,
            "generation": 2,
            "managedFields": [
                {"manager": "kubectl", "time": "t", "fieldsV1": {"f:spec": {"f:version": {}}}}
            ],
        },
        "spec": {"prompt": "p", "label": "production", "version": ver, **spec},
        "status": status or {},
    }


def plan(
    rel: dict[str, Any], ver: dict[str, Any] | None, cm: dict[str, Any] | None, now: str
) -> ReleasePlan:
    """The plan over raw objects, parsed into views as the operator parses them."""
    return core.plan(ReleaseView.of(rel), None if ver is None else VersionView.of(ver), cm, now)


def config_map_name(rel: dict[str, Any]) -> str:
    return ReleaseView.of(rel).config_map_name


def first_visit(rel: dict[str, Any], now: str) -> dict[str, Any]:
    return core.first_visit(ReleaseView.of(rel), now)


def ready_reason(result: ReleasePlan) -> str:
    return str(next(c["reason"] for c in result.status["conditions"] if c["type"] == "Ready"))


def test_first_release_writes_the_config_map_and_revision_one() -> None:
    result = plan(release(changelog="first"), version(), None, "t1")
    assert result.ready and ready_reason(result) == "Released"
    status = result.status
    assert status["revision"] == 1 and status["version"] == "p-v1"
    assert status["hash"] == content_hash(version()["spec"])
    assert status["observedGeneration"] == 2 and status["configMap"] == "p-production"
    assert status["history"] == [
        {
            "revision": 1,
            "version": "p-v1",
            "hash": status["hash"],
            "releasedAt": "t1",
            "changelog": "first",
            "releasedBy": "kubectl",  # no stamp of the admission policy: the field manager
            "via": "kubectl",
            "attested": False,  # ... which the entry says
        }
    ]
    cm = result.config_map
    assert cm is not None and cm["metadata"]["name"] == "p-production"
    body = json.loads(cm["data"]["prompt.json"])
    assert body["revision"] == 1 and body["changelog"] == "first"
    assert cm["data"]["template.txt"] == "p-v1: {x}"
    assert cm["metadata"]["ownerReferences"][0]["uid"] == UID
    assert [e.reason for e in result.events] == ["Released"]


def _live(ver: dict[str, Any] | None = None, **spec: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """A release at revision 1 and the ConfigMap it wrote."""
    first = plan(release(**spec), ver or version(), None, "t1")
    assert first.config_map is not None
    return release(status=first.status, **spec), first.config_map


def test_nothing_to_do_when_live_and_config_map_match() -> None:
    rel, cm = _live()
    again = plan(rel, version(), cm, "t2")
    assert again.config_map is None and again.events == []
    assert again.status["revision"] == 1 and again.status["releasedAt"] == "t1"


def test_a_hand_edit_is_reverted_without_a_new_revision() -> None:
    rel, cm = _live()
    edited = {**cm, "data": {**cm["data"], "template.txt": "evil"}}
    result = plan(rel, version(), edited, "t2")
    assert result.config_map is not None and result.config_map["data"] == cm["data"]
    assert result.status["revision"] == 1
    assert [e.reason for e in result.events] == ["DriftReverted"]


def test_a_missing_config_map_is_restored() -> None:
    rel, cm = _live()
    result = plan(rel, version(), None, "t2")
    assert result.config_map == cm
    assert [e.reason for e in result.events] == ["ConfigMapRestored"]


def test_new_version_is_a_new_revision_and_going_back_restores() -> None:
    rel, cm = _live()
    second = plan(release("p-v2", status=rel["status"]), version("p-v2"), cm, "t2")
    assert second.status["revision"] == 2 and second.config_map is not None
    third = plan(release("p-v1", status=second.status), version(), second.config_map, "t3")
    assert third.status["revision"] == 3
    assert third.status["history"][0]["restores"] == 1
    assert [e.reason for e in third.events] == ["RolledBack"]
    assert json.loads(third.config_map["data"]["prompt.json"])["revision"] == 3  # type: ignore[index]


def test_history_limit_lowered_trims_without_a_release() -> None:
    rel, cm = _live()
    status = dict(rel["status"])
    status["history"] = [dict(status["history"][0], revision=n) for n in (1, 1, 1)]
    result = plan(release(status=status, historyLimit=1), version(), cm, "t2")
    assert len(result.status["history"]) == 1


BAD_HASH = "sha256:" + "0" * 64


@pytest.mark.parametrize(
    ("ver", "spec", "reason", "fragment"),
    [
        (None, {}, "VersionNotFound", "PromptVersion p-v1 not found in namespace ns"),
        (version(prompt="other"), {}, "PromptMismatch", "belongs to prompt 'other'"),
        (version(variables=[]), {}, "VersionInvalid", "not declared in variables: x"),
        (version(hash=BAD_HASH), {}, "VersionInvalid", "hash pin mismatch"),
        (version(), {"hash": BAD_HASH}, "HashMismatch", f"spec.hash pins {BAD_HASH}"),
        (version(template="a" * 600_000 + "{x}"), {}, "PayloadTooLarge", "over the ConfigMap"),
    ],
)
def test_failures_keep_the_live_state_and_write_no_config_map(
    ver: dict[str, Any] | None, spec: dict[str, Any], reason: str, fragment: str
) -> None:
    rel, cm = _live()
    broken = release(status=rel["status"], **spec)
    result = plan(broken, ver, cm, "t2")
    assert result.config_map is None
    assert not result.ready and ready_reason(result) == reason
    message = next(c["message"] for c in result.status["conditions"] if c["type"] == "Ready")
    assert fragment in message and "still serving revision 1 (p-v1)" in message
    stalled = next(c for c in result.status["conditions"] if c["type"] == "Stalled")
    assert stalled["status"] == "True" and stalled["reason"] == reason
    for key in ("revision", "version", "hash", "history", "releasedAt"):
        assert result.status[key] == rel["status"][key]
    assert [e.type for e in result.events] == ["Warning"]
    # The same failure seen again posts no second Event.
    assert plan(release(status=result.status, **spec), ver, cm, "t3").events == []


def test_an_unmanaged_config_map_is_a_conflict() -> None:
    foreign = {"metadata": {"name": "p-production", "labels": {}}, "data": {"a": "b"}}
    result = plan(release(), version(), foreign, "t1")
    assert result.config_map is None and ready_reason(result) == "ConfigMapConflict"
    assert "nothing released yet" in result.status["conditions"][0]["message"]
    other_owner = {
        "metadata": {
            "labels": {configmap.MANAGED_BY: configmap.OPERATOR},
            "ownerReferences": [{"controller": True, "uid": "other"}],
        }
    }
    assert ready_reason(plan(release(), version(), other_owner, "t1")) == "ConfigMapConflict"


def test_only_an_intact_orphaned_projection_is_adopted() -> None:
    """A ConfigMap a deleted release left (`--cascade=orphan`) is adopted; one that only wears
    the operator's labels, or whose payload was altered, is someone's data: a conflict."""
    served = plan(release(), version(), None, "t1").config_map
    assert served is not None
    orphan = json.loads(json.dumps(served))
    del orphan["metadata"]["ownerReferences"]
    adopted = plan(release(), version(), orphan, "t2")
    assert ready_reason(adopted) == "Released"
    assert [e.reason for e in adopted.events if e.reason == "ConfigMapAdopted"]
    look_alike = {"metadata": {**orphan["metadata"]}, "data": {"x": "y"}}
    assert ready_reason(plan(release(), version(), look_alike, "t2")) == "ConfigMapConflict"
    altered = json.loads(json.dumps(orphan))
    altered["data"][PAYLOAD_KEY] = altered["data"][PAYLOAD_KEY].replace(
        "p-v1: {x}", "p-v1: {x} and more"
    )
    assert ready_reason(plan(release(), version(), altered, "t2")) == "ConfigMapConflict"


def test_config_map_name_defaults_to_the_release_name() -> None:
    assert config_map_name(release()) == "p-production"
    assert config_map_name(release(configMapName="custom")) == "custom"
    result = plan(release(configMapName="custom"), version(), None, "t1")
    assert result.config_map["metadata"]["name"] == "custom"  # type: ignore[index]


def test_first_visit_says_reconciling_before_any_work() -> None:
    status = first_visit(release(), "t0")
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    reconciling = next(c for c in status["conditions"] if c["type"] == "Reconciling")
    assert ready["status"] == "Unknown" and reconciling["status"] == "True"
    assert status["observedGeneration"] == 2


def test_chat_payload_has_messages_and_no_template_file() -> None:
    chat = {
        "metadata": {"name": "p-v1"},
        "spec": {
            "prompt": "p",
            "messages": [{"role": "user", "content": "{x}"}],
            "variables": ["x"],
            "model": {"name": "m", "parameters": {"temperature": 1}},
            "description": "d",
        },
    }
    result = plan(release(), chat, None, "t1")
    assert result.config_map is not None
    assert set(result.config_map["data"]) == {"prompt.json"}
    body = json.loads(result.config_map["data"]["prompt.json"])
    assert body["messages"] == [{"role": "user", "content": "{x}"}]
    assert body["model"] == {"name": "m", "parameters": {"temperature": 1}}
    spec = {key: body[key] for key in body["specFields"]}
    assert content_hash(spec) == body["hash"]  # a reader can re-hash the payload
