"""The threat model's escapes (docs/security.md), tried on the real API server as impersonated
users with the governance policies installed: a protected label escaped by re-splitting the
release's name, by a look-alike name, or by moving or squatting its ConfigMap.

`eve` may release (the chart's prompt-releaser and prompt-author roles through her groups) but
is no releaser of `production`; `mgr` is. Each refusal names its rule, and the production
ConfigMap never moves.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from typing import Any

import pytest

from tests.integration.test_governance import (  # noqa: F401 (fixtures)
    as_user,
    governance,
    people,
    policy,
)
from tests.kube import Kubectl, OperatorProcess, eventually
from tests.prompts import apply, condition, release, released, version, wait_reason

pytestmark = pytest.mark.integration

PROMPT = "ticket-summarizer"
PRODUCTION = f"{PROMPT}-production"
Run = Callable[..., subprocess.CompletedProcess[str]]


def patch(run: Run, name: str, spec: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    body = json.dumps({"spec": spec})
    return run("patch", "promptrelease", name, "--type=merge", "-p", body)


def create(
    run: Run, *objects: dict[str, Any], dry: bool = False
) -> subprocess.CompletedProcess[str]:
    text = "\n---\n".join(json.dumps(o) for o in objects)
    return run("create", "-f", "-", *(["--dry-run=server"] if dry else []), input=text)


def refused(result: subprocess.CompletedProcess[str], *says: str) -> None:
    assert result.returncode != 0, result.stdout
    for fragment in says:
        assert fragment in result.stderr, result.stderr


@pytest.fixture
def actors(kubectl: Kubectl, governance: str, people: Any) -> tuple[Run, Run]:  # noqa: F811
    """eve (releasers, authors) and mgr (release-managers), impersonated by the admin."""
    role = f"--clusterrole={governance}-prompt-releaser"
    kubectl("create", "rolebinding", "managers", role, "--group=release-managers")
    eve = as_user(kubectl, "eve@example.com", "releasers", "authors")
    mgr = as_user(kubectl, "mgr@example.com", "release-managers")
    return eve, mgr


def rules_for_production(**rules: Any) -> dict[str, Any]:
    managers = {"groups": ["release-managers"]}
    return policy("production-rules", labels=["production"], releasers=managers, **rules)


def production_live(kubectl: Kubectl, mgr: Run) -> str:
    """production-rules protect production (mgr releases it); v1 live; its ConfigMap's
    resourceVersion."""
    apply(
        kubectl,
        version(f"{PROMPT}-v1", prompt=PROMPT),
        version("ticket-evil", prompt="ticket"),
        rules_for_production(),
    )
    made = create(mgr, release(f"{PROMPT}-v1", prompt=PROMPT))
    assert made.returncode == 0, made.stderr
    released(kubectl, PRODUCTION, 1)
    return str(kubectl.get("configmap", PRODUCTION)["metadata"]["resourceVersion"])


def unchanged(kubectl: Kubectl, resource_version: str) -> None:
    live = kubectl.get("promptrelease", PRODUCTION)
    assert (live["spec"]["prompt"], live["spec"]["label"]) == (PROMPT, "production")
    assert live["status"]["revision"] == 1 and condition(live)["status"] == "True"
    cm = kubectl.get("configmap", PRODUCTION)
    assert cm["metadata"]["resourceVersion"] == resource_version


def test_a_protected_label_cannot_be_escaped_by_re_splitting_the_name(
    kubectl: Kubectl, actors: tuple[Run, Run], operator: OperatorProcess
) -> None:
    eve, mgr = actors
    live = production_live(kubectl, mgr)
    # The escape of issue 25: same name, prompt "ticket", label "summarizer-production".
    split = {"prompt": "ticket", "label": "summarizer-production", "version": "ticket-evil"}
    refused(patch(eve, PRODUCTION, split), "spec.prompt is immutable", "spec.label is immutable")
    refused(patch(eve, PRODUCTION, {"label": "staging"}), "spec.label is immutable")
    # Not even a releaser of production, nor the cluster admin: a release keeps its identity.
    refused(patch(mgr, PRODUCTION, split), "spec.prompt is immutable")
    admin = as_user(kubectl, "admin", "system:masters")
    refused(patch(admin, PRODUCTION, {"prompt": "ticket"}), "spec.prompt is immutable")
    unchanged(kubectl, live)


def test_a_config_map_name_cannot_be_moved_nor_taken(
    kubectl: Kubectl, actors: tuple[Run, Run], operator: OperatorProcess
) -> None:
    eve, mgr = actors
    live = production_live(kubectl, mgr)
    for who in (eve, mgr):
        moved = patch(who, PRODUCTION, {"configMapName": f"{PRODUCTION}.elsewhere"})
        refused(moved, "spec.configMapName is immutable")
    # Another release may not name production's ConfigMap, nor any but its own.
    for taken in (PRODUCTION, "prompts", f"{PRODUCTION}.x"):
        squat = release("ticket-evil", label="staging", prompt="ticket", configMapName=taken)
        refused(create(eve, squat), "spec.configMapName must be the release's name")
    unchanged(kubectl, live)


def test_a_release_awaiting_its_first_approval_keeps_its_config_map_name(
    kubectl: Kubectl, actors: tuple[Run, Run], run_operator: Callable[..., OperatorProcess]
) -> None:
    eve, mgr = actors
    apply(
        kubectl, version(f"{PROMPT}-v1", prompt=PROMPT), rules_for_production(requireApproval=True)
    )
    run_operator()  # started after the policy: its stores hold it before any release pass
    made = create(mgr, release(f"{PROMPT}-v1", prompt=PROMPT))
    assert made.returncode == 0, made.stderr
    wait_reason(kubectl, PRODUCTION, "AwaitingApproval")
    assert not kubectl.exists("configmap", PRODUCTION)
    squat = release(f"{PROMPT}-v1", label="staging", prompt=PROMPT, configMapName=PRODUCTION)
    refused(create(eve, squat), "spec.configMapName must be the release's name")
    assert not kubectl.exists("configmap", PRODUCTION)


def test_a_look_alike_name_of_a_protected_release_is_for_its_releasers_only(
    kubectl: Kubectl, actors: tuple[Run, Run], operator: OperatorProcess
) -> None:
    """(ticket, summarizer-production) is named ticket-summarizer-production, as the production
    release of ticket-summarizer is: created first, it would own that name and ConfigMap."""
    eve, _ = actors
    apply(
        kubectl,
        version("ticket-evil", prompt="ticket"),
        rules_for_production(),
    )
    look_alike = release("ticket-evil", label="summarizer-production", prompt="ticket")
    eventually(  # the API server reads PromptPolicies from its own cache
        lambda: "may not create" in create(eve, look_alike, dry=True).stderr,
        what="the new PromptPolicy enforced",
    )
    refused(
        create(eve, look_alike),
        "PromptPolicy production-rules: eve@example.com may not create "
        "ticket-summarizer-production: it is also the name of the production release of "
        "ticket-summarizer",
    )
    assert not kubectl.exists("promptrelease", PRODUCTION)
    # (ticket, eu-production) is named as (ticket-eu, production) is: refused the same way.
    refused(
        create(eve, release("ticket-evil", label="eu-production", prompt="ticket")),
        "production release of ticket-eu",
    )
    # A name no split of which is a protected label's is anyone's (RBAC allowing).
    ok = create(eve, release("ticket-evil", label="summarizer-staging", prompt="ticket"))
    assert ok.returncode == 0, ok.stderr
    released(kubectl, "ticket-summarizer-staging", 1)
