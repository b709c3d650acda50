"""Consumers found in pod templates, their rollout state, and what it makes of Ready."""

from __future__ import annotations

from typing import Any

import pytest

from prompt_release.core import conditions, rollout
from prompt_release.core import release as core
from prompt_release.core.views import ReleaseStatusView, ReleaseView, VersionView
from prompt_release.core.workloads import (
    HASH_ANNOTATION,
    REVISION_ANNOTATION,
    Workload,
    config_map_uses,
    hot_reloads,
    stamp_patch,
)

CM = "p-production"
UID = "11111111-2222-3333-4444-555555555555"


def template(**pod: Any) -> dict[str, Any]:
    return {"metadata": {}, "spec": {"containers": [{"name": "app"}], **pod}}


def test_every_way_a_pod_template_can_use_a_config_map_is_found() -> None:
    found = config_map_uses(
        {
            "spec": {
                "volumes": [
                    {"name": "a", "configMap": {"name": "vol"}},
                    {"name": "b", "projected": {"sources": [{"configMap": {"name": "proj"}}]}},
                    {"name": "c", "configMap": {"name": "sub"}},
                ],
                "initContainers": [{"envFrom": [{"configMapRef": {"name": "from"}}]}],
                "containers": [
                    {
                        "env": [{"name": "P", "valueFrom": {"configMapKeyRef": {"name": "key"}}}],
                        "volumeMounts": [{"name": "c", "mountPath": "/x", "subPath": "t"}],
                    }
                ],
            }
        }
    )
    assert found == {
        "vol": {"volume"},
        "proj": {"projected"},
        "sub": {"volume", "subPath"},
        "from": {"envFrom"},
        "key": {"env"},
    }
    assert hot_reloads(found["vol"]) and hot_reloads(found["proj"])
    assert not any(hot_reloads(found[name]) for name in ("sub", "from", "key"))


def deployment(
    *,
    stamped: tuple[int, str] | None = None,
    replicas: int = 3,
    updated: int = 3,
    available: int = 3,
    generation: int = 2,
    observed: int = 2,
    deadline: bool = False,
    opted_in: bool = False,
    env: bool = False,
) -> Workload:
    annotations = (
        {REVISION_ANNOTATION: f"other=7,{CM}={stamped[0]}", HASH_ANNOTATION: f"{CM}={stamped[1]}"}
        if stamped
        else {}
    )
    pod = template(volumes=[{"name": "p", "configMap": {"name": CM}}])
    if env:
        pod = template(containers=[{"name": "app", "envFrom": [{"configMapRef": {"name": CM}}]}])
    pod["metadata"]["annotations"] = annotations
    body = {
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "namespace": "ns",
            "resourceVersion": "41",
            "generation": generation,
            "annotations": {"promptrelease.io/restart-on-release": "true"} if opted_in else {},
        },
        "spec": {"replicas": replicas, "template": pod},
        "status": {
            "observedGeneration": observed,
            "updatedReplicas": updated,
            "readyReplicas": available,
            "availableReplicas": available,
            "replicas": replicas,
            "conditions": [
                {
                    "type": "Progressing",
                    "reason": "ProgressDeadlineExceeded" if deadline else "NewReplicaSetAvailable",
                }
            ],
        },
    }
    return Workload.of(body)


def release(strategy: str | None = None, **status: Any) -> ReleaseView:
    spec: dict[str, Any] = {"prompt": "p", "label": "production", "version": "p-v2"}
    if strategy:
        spec["rollout"] = {"strategy": strategy, "rollbackOnFailure": True}
    return ReleaseView.of(
        {
            "apiVersion": "promptrelease.io/v1alpha1",
            "kind": "PromptRelease",
            "metadata": {"name": CM, "namespace": "ns", "uid": UID, "generation": 1},
            "spec": spec,
            "status": status,
        }
    )


H = "sha256:" + "2" * 64


def test_hot_reload_consumers_are_complete_and_an_env_consumer_is_named() -> None:
    assessment = rollout.assess(release(), 2, H, [deployment(), deployment(env=True)])
    assert assessment.phase == rollout.COMPLETE and assessment.stamps == []
    warned = [w for w in assessment.rollout["workloads"] if w.get("message")]
    assert len(warned) == 1 and "envFrom" in warned[0]["message"]
    assert [e.reason for e in assessment.events] == ["CannotHotReload"]


def test_restart_stamps_then_waits_then_completes() -> None:
    first = rollout.assess(release("Restart"), 2, H, [deployment(stamped=(1, "old"))])
    assert first.phase == rollout.PROGRESSING and len(first.stamps) == 1
    patch = stamp_patch(first.stamps[0], CM, 2, H)
    assert patch["spec"]["template"]["metadata"]["annotations"] == {
        REVISION_ANNOTATION: f"other=7,{CM}=2",  # another release's entry is kept
        HASH_ANNOTATION: f"{CM}={H}",
    }
    assert patch["metadata"]["resourceVersion"] == "41"
    rolling = rollout.assess(
        release("Restart"), 2, H, [deployment(stamped=(2, H), updated=1, generation=3)]
    )
    assert rolling.phase == rollout.PROGRESSING and rolling.stamps == []
    done = rollout.assess(release("Restart"), 2, H, [deployment(stamped=(2, H))])
    assert done.phase == rollout.COMPLETE
    assert [e.reason for e in done.events] == ["RolledOut"]


def test_a_workload_can_opt_in_to_restarts_on_its_own() -> None:
    assessment = rollout.assess(release(), 2, H, [deployment(opted_in=True)])
    assert assessment.rollout["workloads"][0]["strategy"] == rollout.RESTART
    assert len(assessment.stamps) == 1


def test_a_missed_progress_deadline_fails_the_rollout_only_when_current() -> None:
    failed = rollout.assess(
        release("Restart"), 2, H, [deployment(stamped=(2, H), available=1, deadline=True)]
    )
    assert failed.phase == rollout.FAILED
    assert "exceeded its progress deadline" in failed.rollout["message"]
    stale = rollout.assess(
        release("Restart"),
        2,
        H,
        [deployment(stamped=(2, H), available=1, deadline=True, generation=3)],
    )
    assert stale.phase == rollout.PROGRESSING


@pytest.mark.parametrize(
    ("phase", "ready", "reconciling", "stalled", "rolled_out"),
    [
        (rollout.COMPLETE, "True", "False", "False", "True"),
        (rollout.PROGRESSING, "Unknown", "True", "False", "False"),
        (rollout.FAILED, "False", "False", "True", "False"),
    ],
)
def test_ready_waits_for_the_restart_consumers(
    phase: str, ready: str, reconciling: str, stalled: str, rolled_out: str
) -> None:
    workload = {
        rollout.COMPLETE: deployment(stamped=(2, H)),
        rollout.PROGRESSING: deployment(stamped=(2, H), updated=1, generation=3),
        rollout.FAILED: deployment(stamped=(2, H), available=0, deadline=True),
    }[phase]
    rel = release("Restart")
    assessment = rollout.assess(rel, 2, H, [workload])
    live = {"conditions": conditions.ready("Released", "live", 1, "t", None)}
    found = {c["type"]: c["status"] for c in rollout.conditions_for(rel, live, assessment, "t")}
    assert found == {
        "Ready": ready,
        "Reconciling": reconciling,
        "Stalled": stalled,
        "RolledOut": rolled_out,
    }


def version(name: str) -> VersionView:
    return VersionView.of(
        {
            "metadata": {"name": name, "namespace": "ns"},
            "spec": {"prompt": "p", "template": f"{name} {{x}}", "variables": ["x"]},
        }
    )


def test_roll_back_restores_the_previous_revision_and_holds_the_failed_version_back() -> None:
    v1, v2 = version("p-v1"), version("p-v2")
    first = core.plan(release("Restart"), v1, None, "t1")
    on_v1 = release("Restart", **first.status)
    second = core.plan(
        ReleaseView.of(
            {
                "apiVersion": "promptrelease.io/v1alpha1",
                "kind": "PromptRelease",
                "metadata": {"name": CM, "namespace": "ns", "uid": UID, "generation": 2},
                "spec": {
                    "prompt": "p",
                    "label": "production",
                    "version": "p-v2",
                    "rollout": {"strategy": "Restart", "rollbackOnFailure": True},
                },
                "status": on_v1.status.raw,
            }
        ),
        v2,
        first.config_map,
        "t2",
    )
    failed = release("Restart", **second.status)
    back = core.roll_back(failed, v1, second.config_map, "t3", "Deployment web missed it")
    status = back.status
    assert status["revision"] == 3 and status["version"] == "p-v1"
    newest, failed_entry = status["history"][0], status["history"][1]
    assert newest["restores"] == 1 and newest["releasedBy"] == "prompt-release-operator"
    assert newest["changelog"] == "Automatic rollback: Deployment web missed it"
    assert failed_entry["revision"] == 2 and failed_entry["rolloutFailed"]
    assert status["rollout"]["failedVersion"] == "p-v2"
    assert back.config_map is not None
    assert [e.reason for e in back.events] == [core.ROLLED_BACK_ON_FAILURE]
    held = ReleaseView.of(
        {
            "apiVersion": "promptrelease.io/v1alpha1",
            "kind": "PromptRelease",
            "metadata": {"name": CM, "namespace": "ns", "uid": UID, "generation": 2},
            "spec": {"prompt": "p", "label": "production", "version": "p-v2"},
            "status": status,
        }
    )
    assert held.held_back and held.target_version == "p-v1"
    again = core.plan(held, v1, back.config_map, "t4")
    assert again.config_map is None and again.status["revision"] == 3  # never loops
    moved = held.__class__(**{**held.__dict__, "version": "p-v3"})
    assert not moved.held_back and moved.target_version == "p-v3"
    assert isinstance(ReleaseStatusView(status).previous_entry(), dict)
