"""`claims`: which release may write a ConfigMap name that several releases (created before the
CRD's configMapName rule) name; the others are refused, the holder takes it back."""

from __future__ import annotations

from typing import Any

from prompt_release.core import claims, configmap
from prompt_release.core import release as core
from prompt_release.core.decision import Now, Observed, decide
from prompt_release.core.release import ReleasePlan
from prompt_release.core.views import ReleaseView, VersionView

NOW = "2026-12-04T18:00:00Z"


def version() -> VersionView:
    spec = {"prompt": "foo", "template": "Hi {x}", "variables": ["x"]}
    return VersionView.of({"metadata": {"name": "foo-v1", "namespace": "ns"}, "spec": spec})


def release(label: str, created: str, config_map: str | None = None, **meta: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"prompt": "foo", "label": label, "version": "foo-v1"}
    if config_map:
        spec["configMapName"] = config_map
    return {
        "apiVersion": "promptrelease.io/v1alpha1",
        "kind": "PromptRelease",
        "metadata": {
            "name": f"foo-{label}",
            "namespace": "ns",
            "uid": f"uid-{label}",
            "generation": 1,
            "creationTimestamp": created,
            **meta,
        },
        "spec": spec,
    }


def plan(body: dict[str, Any], others: list[dict[str, Any] | None], cm: Any = None) -> ReleasePlan:
    view = ReleaseView.of(body)
    return core.plan(view, version(), cm, NOW, None, claims.rivals(view, others))


def ready(result: ReleasePlan) -> dict[str, Any]:
    return next(c for c in result.status["conditions"] if c["type"] == "Ready")


PRODUCTION = release("production", "2026-12-04T10:00:00Z")
SQUATTER = release("staging", "2026-12-04T09:00:00Z", config_map="foo-production")


def test_a_release_naming_another_releases_name_is_refused_even_when_older() -> None:
    result = plan(SQUATTER, [PRODUCTION])
    assert result.config_map is None
    assert ready(result)["reason"] == core.CONFIGMAP_CONFLICT
    assert ready(result)["message"].startswith(
        "ConfigMap foo-production belongs to PromptRelease foo-production (it is that "
        "release's name)"
    )


def test_the_release_of_that_name_takes_its_config_map_back_from_a_squatter() -> None:
    squatted = plan(SQUATTER, [])  # before foo-production existed, the squatter wrote it
    assert squatted.config_map is not None
    written = squatted.config_map
    result = plan(PRODUCTION, [SQUATTER], written)
    assert ready(result)["reason"] == core.RELEASED
    assert result.config_map is not None
    owner = result.config_map["metadata"]["ownerReferences"][0]
    assert (owner["name"], owner["uid"]) == ("foo-production", "uid-production")
    assert [e.reason for e in result.events] == ["Released", core.CONFIGMAP_RECLAIMED]
    assert "written by PromptRelease foo-staging" in result.events[-1].message


def test_the_holder_never_takes_over_a_config_map_that_is_not_a_rivals() -> None:
    foreign: dict[str, Any] = {
        "metadata": {
            "name": "foo-production",
            "labels": {configmap.MANAGED_BY: configmap.OPERATOR},
            "ownerReferences": [{"kind": "PromptRelease", "uid": "uid-gone", "controller": True}],
        },
        "data": {"x": "y"},
    }
    result = plan(PRODUCTION, [SQUATTER], foreign)
    assert result.config_map is None and ready(result)["reason"] == core.CONFIGMAP_CONFLICT
    rival_owner = [{"kind": "PromptRelease", "uid": "uid-staging", "controller": True}]
    unlabelled = {
        **foreign,
        "metadata": {**foreign["metadata"], "labels": {}, "ownerReferences": rival_owner},
    }
    result = plan(PRODUCTION, [SQUATTER], unlabelled)
    assert result.config_map is None and ready(result)["reason"] == core.CONFIGMAP_CONFLICT


def test_between_releases_naming_one_config_map_the_oldest_holds_it() -> None:
    older = release("a", "2026-12-04T09:00:00Z", config_map="shared")
    newer = release("b", "2026-12-04T10:00:00Z", config_map="shared")
    assert plan(older, [newer]).config_map is not None
    refused = plan(newer, [older])
    assert refused.config_map is None
    assert (
        "belongs to PromptRelease foo-a (that release named it first)"
        in (ready(refused)["message"])
    )
    same_time = release("c", "2026-12-04T09:00:00Z", config_map="shared")
    assert plan(same_time, [older]).config_map is None  # a tie: by name
    assert plan(older, [same_time]).config_map is not None


def test_rivals_are_only_the_other_releases_claiming_the_same_name() -> None:
    view = ReleaseView.of(SQUATTER)
    deleting = release(
        "canary", "2026-12-04T08:00:00Z", "foo-production", deletionTimestamp="2026-12-04T11:00:00Z"
    )
    unrelated = release("dev", "2026-12-04T08:00:00Z")
    found = claims.rivals(view, [None, SQUATTER, PRODUCTION, PRODUCTION, deleting, unrelated])
    assert [r.name for r in found] == ["foo-production"]


def test_a_release_of_its_own_name_or_a_dotted_suffix_has_no_rivals_to_fear() -> None:
    own = release("production", "2026-12-04T10:00:00Z", config_map="foo-production.v2")
    assert claims.rivals(ReleaseView.of(own), [SQUATTER, PRODUCTION]) == ()
    assert claims.conflict(ReleaseView.of(PRODUCTION), ()) is None
    assert plan(own, [SQUATTER]).config_map is not None


def test_a_pass_hands_the_rivals_to_the_plan() -> None:
    view = ReleaseView.of(SQUATTER)
    observed = Observed(
        body=SQUATTER,
        version=version(),
        config_map=None,
        rivals=claims.rivals(view, [PRODUCTION]),
    )
    chosen = decide(observed, Now(NOW, 0.0))
    assert chosen.config_map is None and not chosen.ready
    assert chosen.status is not None
    reasons = {c["type"]: c["reason"] for c in chosen.status["conditions"]}
    assert reasons["Ready"] == core.CONFIGMAP_CONFLICT
