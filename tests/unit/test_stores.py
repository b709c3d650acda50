"""The stores: what each index keeps of an object, and what the reconcilers read back."""

from __future__ import annotations

from typing import Any

from prompt_release.core.version import HOLDS, PLANS
from prompt_release.operator import stores
from prompt_release.operator.stores import LAST_APPLIED, Stores, trimmed


def body(**meta: Any) -> dict[str, Any]:
    return {
        "apiVersion": "promptrelease.io/v1alpha1",
        "kind": "PromptRelease",
        "metadata": {"name": "p-production", "namespace": "ns", "generation": 2, **meta},
        "spec": {"prompt": "p", "label": "production", "version": "p-v2"},
        "status": {"observedGeneration": 1},
    }


def test_a_kept_object_has_only_the_managed_fields_that_say_who_released() -> None:
    owner = {"manager": "argocd", "operation": "Apply", "time": "t"}
    managed = [
        {**owner, "fieldsV1": {"f:spec": {"f:version": {}, "f:changelog": {}}}},
        {"manager": "kubectl", "operation": "Update", "fieldsV1": {"f:metadata": {}}},
    ]
    kept = trimmed(body(managedFields=managed, annotations={LAST_APPLIED: "{...}", "a": "b"}))
    assert kept["metadata"]["managedFields"] == [
        {**owner, "fieldsV1": {"f:spec": {"f:version": {}}}}
    ]
    assert kept["metadata"]["annotations"] == {"a": "b"}
    assert kept["spec"] == body()["spec"] and kept["status"] == body()["status"]


def test_the_reverse_indexes_name_the_releases_and_what_they_say_of_each_version() -> None:
    release = body()
    release["spec"]["canary"] = {"version": "p-v3"}
    by_version = stores.releases_by_version("ns", "p-production", release)
    assert by_version == {("ns", "p-v2"): "p-production", ("ns", "p-v3"): "p-production"}
    links = stores.release_links("ns", "p-production", release)
    assert links == {
        ("ns", "p-v2"): (("p-v2", HOLDS, "p-production"), ("p-v2", PLANS, "p-production"))
    }


def test_a_store_follows_each_object_and_its_indexes_drop_what_it_no_longer_says() -> None:
    found = Stores(stores.informers(["deployments"]))
    releases = found.informers["releases"]
    releases.apply(None, body())
    assert found.get("releases", ("ns", "p-production"))["spec"]["version"] == "p-v2"
    assert found.values("releases_by_version", ("ns", "p-v2")) == ["p-production"]
    moved = body()
    moved["spec"]["version"] = "p-v3"
    releases.apply("MODIFIED", moved)
    assert found.values("releases_by_version", ("ns", "p-v2")) == []
    assert found.values("releases_by_version", ("ns", "p-v3")) == ["p-production"]
    releases.apply("DELETED", moved)
    assert found.get("releases", ("ns", "p-production")) is None
    assert found.values("releases_by_namespace", "ns") == []


def test_a_store_is_synced_once_everything_listed_at_start_came_through_or_went() -> None:
    releases = stores.informers([])[0]
    releases.expect([("ns", "a"), ("ns", "b")])
    assert not releases.synced.is_set()
    releases.apply(None, {**body(), "metadata": {"name": "a", "namespace": "ns"}})
    assert releases.missing() == {("ns", "b")}
    releases.gone(("ns", "b"))
    assert releases.synced.is_set()


def test_a_compact_store_hands_back_what_a_parsed_one_does() -> None:
    parsed = Stores(stores.informers([], compact=False))
    compact = Stores(stores.informers([], compact=True))
    for found in (parsed, compact):
        found.informers["releases"].apply(None, body(annotations={"a": "ü"}))
    key = ("ns", "p-production")
    assert compact.get("releases", key) == parsed.get("releases", key)
    assert compact.values("releases_by_version", ("ns", "p-v2")) == ["p-production"]


def test_the_sync_looks_up_what_never_came_and_lets_go_of_what_is_gone() -> None:
    import asyncio

    from prompt_release.operator.runtime.informer import wait_for_sync

    async def scenario() -> list[tuple[str, str]]:
        releases = stores.informers([])[0]
        releases.expect([("ns", "listed"), ("ns", "deleted-meanwhile")])
        releases.apply(None, {**body(), "metadata": {"name": "listed", "namespace": "ns"}})
        asked: list[tuple[str, str]] = []

        def still_there(informer: object, key: tuple[str, str]) -> bool:
            asked.append(key)
            return False

        await asyncio.wait_for(wait_for_sync([releases], still_there, patience=0.01), 2)
        return asked

    assert asyncio.run(scenario()) == [("ns", "deleted-meanwhile")]


def test_namespace_patterns_are_globs_with_exclusions() -> None:
    from prompt_release.operator.manager import matches

    assert matches("team-a", ["team-*"]) and not matches("other", ["team-*"])
    assert not matches("team-b", ["team-*", "!team-b"])
