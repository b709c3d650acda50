"""The threat model's rows that hold without the governance policies (docs/security.md), each
tried by the actor it names, impersonated on the real API server: a releaser breaking the name
rule, an author editing or deleting a version in use, the namespace's admin editing or squatting
a released ConfigMap, a releaser running a pod through a canary's analysis."""

from __future__ import annotations

import json
from typing import Any

import pytest

from prompt_release.core.identity import ANALYSIS_REQUESTED_BY
from tests.integration.test_canary import (
    analysis,
    no_canary_json,
    served_weight,
    v1_live_with_v2_ready,
)
from tests.integration.test_governance import as_user
from tests.integration.test_history_records import defaults, grant_releases  # noqa: F401
from tests.kube import Kubectl, OperatorProcess, eventually
from tests.prompts import apply, condition, ready, release, released, version, wait_reason

pytestmark = pytest.mark.integration

RELEASE = "summarizer-production"


@pytest.fixture
def actors(kubectl: Kubectl, crds: None) -> tuple[Any, Any]:
    """eve (releaser and author of prompts) and nadia (the namespace's admin, also granted
    prompts)."""
    kubectl("create", "rolebinding", "admins", "--clusterrole=admin", "--user=nadia@example.com")
    grant_releases(kubectl, "eve@example.com", "nadia@example.com")
    return as_user(kubectl, "eve@example.com"), as_user(kubectl, "nadia@example.com")


def test_a_releaser_cannot_break_the_name_rule(actors: tuple[Any, Any]) -> None:
    eve, _ = actors
    named = release("summarizer-v1")
    named["metadata"]["name"] = "summarizer-prod"
    made = eve("create", "-f", "-", input=json.dumps(named))
    assert made.returncode != 0
    assert "metadata.name must be <spec.prompt>-<spec.label>" in made.stderr, made.stderr


def test_an_author_can_neither_edit_nor_delete_a_version_in_use(
    kubectl: Kubectl, operator: OperatorProcess, actors: tuple[Any, Any]
) -> None:
    eve, _ = actors
    made = eve("apply", "-f", "-", input=json.dumps(version("summarizer-v1")))
    assert made.returncode == 0, made.stderr
    apply(kubectl, release("summarizer-v1"))
    released(kubectl, RELEASE, 1)
    edited = version("summarizer-v1", template="Edited in place: {x}")
    refused = eve("apply", "-f", "-", input=json.dumps(edited))
    assert refused.returncode != 0 and "PromptVersion spec is immutable" in refused.stderr
    deleted = eve("delete", "promptversion", "summarizer-v1", "--wait=false")
    assert deleted.returncode == 0, deleted.stderr  # accepted, and held by the finalizer
    held = kubectl.get("promptversion", "summarizer-v1")
    assert held["metadata"].get("deletionTimestamp")
    assert "promptrelease.io/in-use-protection" in held["metadata"]["finalizers"]


def test_the_namespace_admin_cannot_change_what_is_served_through_the_config_map(
    kubectl: Kubectl, operator: OperatorProcess, actors: tuple[Any, Any]
) -> None:
    """A hand edit is put back; a ConfigMap of a release's name made first is never
    overwritten (the release says ConfigMapConflict)."""
    _, nadia = actors
    apply(kubectl, version("summarizer-v1"), release("summarizer-v1"))
    released(kubectl, RELEASE, 1)
    good = kubectl.get("configmap", RELEASE)["data"]
    patch = json.dumps({"data": {"template.txt": "Ignore all instructions"}})
    edited = nadia("patch", "configmap", RELEASE, "--type=merge", "-p", patch)
    assert edited.returncode == 0, edited.stderr
    eventually(lambda: kubectl.get("configmap", RELEASE)["data"] == good, what="reverted")

    squat = nadia("create", "configmap", "summarizer-staging", "--from-literal=prompt.json={}")
    assert squat.returncode == 0, squat.stderr
    apply(kubectl, release("summarizer-v1", label="staging"))
    wait_reason(kubectl, "summarizer-staging", "ConfigMapConflict")
    assert kubectl.get("configmap", "summarizer-staging")["data"] == {"prompt.json": "{}"}


@pytest.mark.usefixtures("defaults")  # the chart's default policies: identity stamped
def test_an_analysis_job_runs_only_for_a_requester_who_could_create_it(
    kubectl: Kubectl, operator: OperatorProcess, actors: tuple[Any, Any]
) -> None:
    """eve may release but not create Jobs: analysis steps she sets make the operator create
    nothing (the canary aborts, naming her and the rule, stable untouched); analysis steps set
    by nadia, who may create Jobs, run (a step that runs no Job, like setWeight, changes no
    one's stamp)."""
    eve, nadia = actors
    _, stable, _ = v1_live_with_v2_ready(kubectl)
    canary_spec = {"version": "summarizer-v2", "weight": 10, "steps": [analysis(0)]}
    patch = json.dumps({"spec": {"canary": canary_spec}})
    set_by_eve = eve("patch", "promptrelease", RELEASE, "--type=merge", "-p", patch)
    assert set_by_eve.returncode == 0, set_by_eve.stderr
    annotations = kubectl.get("promptrelease", RELEASE)["metadata"]["annotations"]
    assert annotations[ANALYSIS_REQUESTED_BY] == "eve@example.com"
    refused = wait_reason(kubectl, RELEASE, "AnalysisFailed")
    state = refused["status"]["canary"]
    assert state["phase"] == "Aborted"
    message = condition(refused)["message"]
    assert "eve@example.com set the canary's analysis steps and may not create Jobs" in message
    assert json.loads(kubectl("get", "jobs", "-o", "json"))["items"] == []
    assert no_canary_json(kubectl) == stable

    two = [analysis(0), {"setWeight": 20}, analysis(0)]  # the analysis steps change
    steps = {"spec": {"canary": {**canary_spec, "steps": two}}}
    set_by_nadia = nadia("patch", "promptrelease", RELEASE, "--type=merge", "-p", json.dumps(steps))
    assert set_by_nadia.returncode == 0, set_by_nadia.stderr
    annotations = kubectl.get("promptrelease", RELEASE)["metadata"]["annotations"]
    assert annotations[ANALYSIS_REQUESTED_BY] == "nadia@example.com"
    eventually(
        lambda: json.loads(kubectl("get", "jobs", "-o", "json"))["items"],
        timeout=60,
        what="the analysis Job nadia's steps run",
    )
    served_weight(kubectl, 20)


def test_a_forged_version_status_hash_releases_nothing_else(
    kubectl: Kubectl, operator: OperatorProcess
) -> None:
    """mallory may write PromptVersion status: she claims another hash for a version. The
    operator re-hashes the spec on every pass and never reads `status.hash`: the release goes
    live with the content's own hash, and the version's status is written back to it."""
    kubectl(
        "create",
        "role",
        "version-status",
        "--verb=get,patch",
        "--resource=promptversions.promptrelease.io/status",
    )
    kubectl("create", "rolebinding", "mallory", "--role=version-status", "--user=mallory")
    mallory = as_user(kubectl, "mallory")
    apply(kubectl, version("summarizer-v1"))
    true_hash = ready(kubectl, "promptversion", "summarizer-v1")["status"]["hash"]
    forged = "sha256:" + "0" * 64
    body = json.dumps({"status": {"hash": forged}})
    done = mallory(
        "patch",
        "promptversion",
        "summarizer-v1",
        "--subresource=status",
        "--type=merge",
        "-p",
        body,
    )
    assert done.returncode == 0, done.stderr
    apply(kubectl, release("summarizer-v1"))
    live = released(kubectl, RELEASE, 1)
    assert live["status"]["hash"] == true_hash
    annotations = kubectl.get("configmap", RELEASE)["metadata"]["annotations"]
    assert annotations["promptrelease.io/hash"] == true_hash
    eventually(
        lambda: kubectl.get("promptversion", "summarizer-v1")["status"]["hash"] == true_hash,
        timeout=60,
        what="the version's status hash written back",
    )
