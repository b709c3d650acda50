"""The stores: what each index keeps of an object, and what the reconcilers read back."""

from __future__ import annotations

import asyncio
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
    by_version = asyncio.run(stores.releases_by_version("ns", "p-production", release["spec"]))
    assert by_version == {("ns", "p-v2"): "p-production", ("ns", "p-v3"): "p-production"}
    links = asyncio.run(stores.release_links("ns", release))
    assert links == {
        ("ns", "p-v2"): (("p-v2", HOLDS, "p-production"), ("p-v2", PLANS, "p-production"))
    }


def test_stores_hand_out_copies_and_none_for_what_does_not_exist() -> None:
    index = {("ns", "a"): ["x"], ("ns", "b"): ["y", "z"]}
    found = Stores({"things": index})
    assert found.one("things", ("ns", "a")) == "x"
    assert found.one("things", ("ns", "c")) is None
    values = found.values("things", ("ns", "b"))
    values.append("w")
    assert index[("ns", "b")] == ["y", "z"]
