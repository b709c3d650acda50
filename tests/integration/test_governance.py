"""Governance on the real API server: identity stamped at admission, protected labels, the
two-person rule, and the chart's roles, with impersonated users (`kubectl --as`) and
ServiceAccount tokens (`kubectl prompt` as a person).

The policies are installed once per module from `helm template --set governance.enabled=true`
(with the people's ClusterRoles, `governance.roles.create=true`), as a user would.
"""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.chart import CHART, helm, objects, template
from tests.integration.conftest import Prompt
from tests.kube import Kubectl, OperatorProcess, established, eventually
from tests.prompts import API, apply, condition, ready, release, released, version, wait_reason

pytestmark = pytest.mark.integration

NAME = "gov"  # fullnameOverride: the policies are gov-release-requester, gov-release-rules, ...
INSTALL_NS = "governance-system"
REQUESTED_BY = "promptrelease.io/requested-by"
REQUESTED_VERSION = "promptrelease.io/requested-version"
POLICY_KINDS = {
    "MutatingAdmissionPolicy": 3,  # requester, approver, evaluation recorder
    "MutatingAdmissionPolicyBinding": 3,
    "ValidatingAdmissionPolicy": 5,  # with deletion protection, installed by default
    "ValidatingAdmissionPolicyBinding": 5,
}
ROLES = ["prompt-viewer", "prompt-author", "prompt-releaser", "prompt-approver", "prompt-evaluator"]


def _kinds(rendered: str) -> dict[str, int]:
    counted: dict[str, int] = {}
    for obj in objects(rendered):
        counted[obj["kind"]] = counted.get(obj["kind"], 0) + 1
    return counted


def _governed(rendered: str) -> bool:
    return any(kind in _kinds(rendered) for kind in POLICY_KINDS)


def _probe_policies(admin: Kubectl) -> bool:
    """True once the API server enforces the installed policies (they load asynchronously)."""
    probe = f"probe-{uuid.uuid4().hex[:6]}"
    admin("create", "namespace", probe)
    try:
        on = admin.in_namespace(probe)
        policy = {
            "apiVersion": API,
            "kind": "PromptPolicy",
            "metadata": {"name": "probe"},
            "spec": {"labels": ["production"], "releasers": {"users": ["nobody"]}},
        }
        forged = release("v1", label="staging")
        forged["metadata"]["annotations"] = {REQUESTED_BY: "forged"}
        apply(on, policy, forged)
        stamped = on.get("promptrelease", "summarizer-staging")["metadata"]["annotations"]
        refused = on.run("apply", "-f", "-", input=json.dumps(release("v1")), check=False)
        return stamped.get(REQUESTED_BY) != "forged" and "PromptPolicy probe" in refused.stderr
    finally:
        admin.run("delete", "namespace", probe, "--wait=false", check=False)


def _unstamped(admin: Kubectl) -> bool:
    """True once a new release is no longer stamped (the policies are unloaded)."""
    probe = f"probe-{uuid.uuid4().hex[:6]}"
    admin("create", "namespace", probe)
    try:
        on = admin.in_namespace(probe)
        apply(on, release("v1", label="staging"))
        annotations = on.get("promptrelease", "summarizer-staging")["metadata"].get("annotations")
        return REQUESTED_BY not in (annotations or {})
    finally:
        admin.run("delete", "namespace", probe, "--wait=false", check=False)


@pytest.fixture(scope="module")
def governance(admin_kubectl: Kubectl, crds: None) -> Iterator[str]:
    """The chart with the one flag (and its roles), applied to the cluster; its name."""
    established(
        admin_kubectl, "promptpolicies.promptrelease.io", "promptapprovals.promptrelease.io"
    )
    admin_kubectl.run("create", "namespace", INSTALL_NS, check=False)
    rendered = template(
        "governance.enabled=true",
        "governance.roles.create=true",
        f"fullnameOverride={NAME}",
        name=NAME,
        namespace=INSTALL_NS,
    )
    admin_kubectl.apply(rendered)
    eventually(
        lambda: _probe_policies(admin_kubectl), timeout=90, interval=1, what="policies enforced"
    )
    yield NAME
    # The policies are cluster-wide: remove them, and wait until they no longer apply, so the
    # tests that follow see the behaviour without them (releasedBy is the field manager).
    policies = [o for o in objects(rendered) if o["kind"] in POLICY_KINDS]
    admin_kubectl.run("delete", "-f", "-", input=as_json(*policies), check=False)
    eventually(lambda: _unstamped(admin_kubectl), timeout=90, interval=1, what="policies gone")


class Person:
    """Someone with a ServiceAccount token: `kubectl` and `kubectl prompt` as them."""

    def __init__(self, name: str, namespace: str, kubectl: Kubectl, prompt: Prompt) -> None:
        self.name = name
        self.username = f"system:serviceaccount:{namespace}:{name}"
        self.kubectl = kubectl
        self._prompt = prompt

    def prompt(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return self._prompt(*args, input=input, kubeconfig=self.kubectl.kubeconfig)


@pytest.fixture
def people(
    governance: str, kubectl: Kubectl, namespace: str, prompt: Prompt, tmp_path: Path
) -> dict[str, Person]:
    """alice and carol release, alice, bob and carol approve, dan only reads; each through the
    chart's ClusterRoles bound in the test namespace. Groups get the same roles for `--as`."""
    found: dict[str, Person] = {}
    for name in ("alice", "bob", "carol", "dan"):
        kubectl("create", "serviceaccount", name)
        token = kubectl("create", "token", name, "--duration=1h").strip()
        as_them = kubectl.as_token(token, tmp_path / f"{name}.kubeconfig")
        found[name] = Person(name, namespace, as_them, prompt)
    sa = f"--serviceaccount={namespace}:"
    for role, members in (
        ("prompt-viewer", [f"{sa}dan", "--group=viewers"]),
        ("prompt-author", [f"{sa}alice", "--group=authors"]),
        ("prompt-releaser", [f"{sa}alice", f"{sa}carol", "--group=releasers"]),
        ("prompt-approver", [f"{sa}alice", f"{sa}bob", f"{sa}carol", "--group=approvers"]),
    ):
        kubectl("create", "rolebinding", role, f"--clusterrole={governance}-{role}", *members)
    return found


def as_user(kubectl: Kubectl, user: str, *groups: str) -> Callable[..., Any]:
    """kubectl impersonating `user` in `groups` (the admin kubeconfig may impersonate)."""
    flags = [f"--as={user}", *(f"--as-group={group}" for group in groups)]

    def run(*args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return kubectl.run(*flags, *args, input=input, check=False)

    return run


def policy(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": API, "kind": "PromptPolicy", "metadata": {"name": name}, "spec": spec}


def as_json(*objs: dict[str, Any]) -> str:
    return "\n---\n".join(json.dumps(obj) for obj in objs)


def content_hash(kubectl: Kubectl, name: str) -> str:
    return str(ready(kubectl, "promptversion", name)["status"]["hash"])


# -- the chart: one flag -----------------------------------------------------------------------


def test_one_flag_renders_the_policies_and_the_roles() -> None:
    defaults = _kinds(template())  # identity stamping and deletion protection only
    assert {kind: defaults.get(kind) for kind in POLICY_KINDS} == {
        "MutatingAdmissionPolicy": 3,
        "MutatingAdmissionPolicyBinding": 3,
        "ValidatingAdmissionPolicy": 1,
        "ValidatingAdmissionPolicyBinding": 1,
    }
    off = template("identity.enabled=false", "deletionProtection.enabled=false")
    assert not _governed(off)
    older = helm("template", "x", str(CHART), "--kube-version", "1.35.0")
    assert "MutatingAdmissionPolicy" not in older and "release-in-use" in older  # skipped
    kinds = _kinds(template("governance.enabled=true"))
    assert {kind: kinds.get(kind) for kind in POLICY_KINDS} == POLICY_KINDS
    assert "ClusterRole" in kinds and kinds["ClusterRole"] == 1  # the operator's own
    roles = objects(template("governance.roles.create=true", "fullnameOverride=x"))
    names = {o["metadata"]["name"] for o in roles if o["kind"] == "ClusterRole"}
    assert names == {"x", *(f"x-{role}" for role in ROLES)}
    flags = ["--set", "governance.enabled=true", "--set", "governance.roles.create=true"]
    assert "0 chart(s) failed" in helm(
        "lint", "--strict", str(CHART), *flags, "--kube-version", "1.36.3"
    )


# -- identity: stamped by the API server, never by the client --------------------------------


def test_the_api_server_stamps_who_released_and_a_forgery_is_overwritten(
    kubectl: Kubectl, people: dict[str, Person], operator: OperatorProcess
) -> None:
    alice = people["alice"]
    forged = release("summarizer-v1", label="staging")
    forged["metadata"]["annotations"] = {REQUESTED_BY: "someone-else"}
    alice.kubectl.apply(as_json(version("summarizer-v1"), version("summarizer-v2"), forged))
    stamped = kubectl.get("promptrelease", "summarizer-staging")["metadata"]["annotations"]
    assert stamped[REQUESTED_BY] == alice.username
    assert stamped[REQUESTED_VERSION] == "summarizer-v1"
    entry = released(kubectl, "summarizer-staging", 1)["status"]["history"][0]
    assert entry["releasedBy"] == alice.username  # the person, not the tool
    assert entry["via"] == "kubectl-client-side-apply"  # the tool, kept beside it

    # A later write that doesn't move the label can neither change nor remove the stamp.
    carol = people["carol"]
    for patch in (
        {"metadata": {"annotations": {REQUESTED_BY: carol.username}}},
        {"metadata": {"annotations": {REQUESTED_BY: None, REQUESTED_VERSION: None}}},
    ):
        carol.kubectl(
            "patch", "promptrelease", "summarizer-staging", "--type=merge", "-p", json.dumps(patch)
        )
        kept = kubectl.get("promptrelease", "summarizer-staging")["metadata"]["annotations"]
        assert kept[REQUESTED_BY] == alice.username

    # Nor can a releaser write the history itself: status is the operator's.
    refused = carol.kubectl.run(
        "patch",
        "promptrelease",
        "summarizer-staging",
        "--subresource=status",
        "--type=merge",
        "-p",
        json.dumps({"status": {"history": [{"releasedBy": "x"}]}}),
        check=False,
    )
    assert refused.returncode != 0 and "forbidden" in refused.stderr.lower()

    # An impersonated user moving the label is who the history names.
    dave = as_user(kubectl, "dave@example.com", "releasers")
    moved = dave(
        "patch",
        "promptrelease",
        "summarizer-staging",
        "--type=merge",
        "-p",
        json.dumps({"spec": {"version": "summarizer-v2"}}),
    )
    assert moved.returncode == 0, moved.stderr
    entry = released(kubectl, "summarizer-staging", 2)["status"]["history"][0]
    assert entry["releasedBy"] == "dave@example.com" and entry["via"] == "kubectl-patch"
    stamped = kubectl.get("promptrelease", "summarizer-staging")["metadata"]["annotations"]
    assert stamped["promptrelease.io/requested-by-groups"].split(",")[0] == "releasers"


# -- protected labels: refused at admission, naming the policy --------------------------------


def test_a_protected_label_refuses_non_members_a_missing_changelog_or_pin_and_other_models(
    kubectl: Kubectl, people: dict[str, Person], operator: OperatorProcess
) -> None:
    apply(kubectl, version("summarizer-v1", model={"provider": "openai", "name": "gpt-4o"}))
    pin = content_hash(kubectl, "summarizer-v1")
    kubectl.apply(
        as_json(
            policy(
                "production-rules",
                labels=["production"],
                releasers={"groups": ["release-managers"], "serviceAccounts": [{"name": "alice"}]},
                minChangelogLength=10,
                requireHashPin=True,
                allowedModels={"providers": ["openai"]},
            )
        )
    )
    good = release("summarizer-v1", changelog="First production release", hash=pin)

    eve = as_user(kubectl, "eve@example.com", "releasers")
    refused = eve("apply", "-f", "-", input=json.dumps(good))
    assert refused.returncode != 0
    assert "PromptPolicy production-rules" in refused.stderr and "eve@example.com" in refused.stderr
    staging = eve("apply", "-f", "-", input=json.dumps(release("summarizer-v1", label="staging")))
    assert staging.returncode == 0, staging.stderr  # an unprotected label: RBAC alone

    alice = people["alice"]
    no_changelog = release("summarizer-v1", changelog="short", hash=pin)
    result = alice.kubectl.run("apply", "-f", "-", input=json.dumps(no_changelog), check=False)
    assert result.returncode != 0 and "spec.changelog of at least 10" in result.stderr
    assert "PromptPolicy production-rules" in result.stderr
    no_pin = release("summarizer-v1", changelog="First production release")
    result = alice.kubectl.run("apply", "-f", "-", input=json.dumps(no_pin), check=False)
    assert result.returncode != 0 and "needs spec.hash" in result.stderr
    assert not kubectl.exists("promptrelease", "summarizer-production")

    # A group member passes as well as the named ServiceAccount.
    manager = as_user(kubectl, "mia@example.com", "release-managers", "releasers")
    assert manager("apply", "-f", "-", input=json.dumps(good)).returncode == 0
    live = released(kubectl, "summarizer-production", 1)
    assert live["status"]["history"][0]["releasedBy"] == "mia@example.com"
    assert condition(live, "Compliant")["status"] == "True"

    other = version("summarizer-v2", model={"provider": "acme", "name": "x"})
    result = alice.kubectl.run("apply", "-f", "-", input=json.dumps(other), check=False)
    assert result.returncode != 0
    assert "PromptPolicy production-rules: spec.model.provider acme is not allowed" in result.stderr

    # requireEvidence: a release of the label must declare spec.promotion.evidence.
    kubectl.apply(as_json(policy("staging-evidence", labels=["staging"], requireEvidence=True)))
    plain = json.dumps(release("summarizer-v1", label="staging", changelog="again"))

    def refused_without_evidence() -> str | None:
        found = eve("apply", "-f", "-", input=plain)
        return found.stderr if found.returncode != 0 else None

    stderr = eventually(refused_without_evidence, what="requireEvidence enforced at admission")
    assert "PromptPolicy staging-evidence" in stderr and "needs spec.promotion.evidence" in stderr
    gated = release("summarizer-v1", label="staging", promotion={"from": "dev", "evidence": {}})
    assert eve("apply", "-f", "-", input=json.dumps(gated)).returncode == 0


# -- the two-person rule -----------------------------------------------------------------------


def test_two_person_rule_through_kubectl_prompt(
    kubectl: Kubectl,
    admin_kubectl: Kubectl,
    namespace: str,
    people: dict[str, Person],
    run_operator: Callable[..., OperatorProcess],
    tmp_path: Path,
) -> None:
    # The operator with its chart ServiceAccount: it only reads policies and approvals.
    token = admin_kubectl.in_namespace(INSTALL_NS)("create", "token", NAME).strip()
    operator = run_operator(kubeconfig=admin_kubectl.as_token(token, tmp_path / "op").kubeconfig)
    alice, bob, carol, dan = (people[n] for n in ("alice", "bob", "carol", "dan"))
    apply(kubectl, *(version(f"summarizer-v{n}") for n in (1, 2, 3)))
    hashes = {n: content_hash(kubectl, f"summarizer-v{n}") for n in (1, 2, 3)}

    # v1 went live before the policy existed: reported, never taken back.
    assert (
        alice.prompt(
            "release", "summarizer", "-l", "production", "--version", "summarizer-v1", "-m", "first"
        ).returncode
        == 0
    )
    live_map = kubectl.get("configmap", "summarizer-production")["data"]
    kubectl.apply(
        as_json(
            policy(
                "two-person",
                labels=["production"],
                requireApproval=True,
                approvers={"serviceAccounts": [{"name": n} for n in ("alice", "bob", "carol")]},
            )
        )
    )

    def compliant() -> dict[str, Any] | None:
        found = condition(kubectl.get("promptrelease", "summarizer-production"), "Compliant")
        return found if found.get("reason") == "PolicyViolation" else None

    violation = eventually(compliant, timeout=60, what="the PolicyViolation report")
    assert "PromptPolicy two-person" in violation["message"]
    assert "went live without an approval" in violation["message"]

    # alice asks for v2: held, v1 stays live byte for byte.
    asked = alice.prompt(
        "release",
        "summarizer",
        "-l",
        "production",
        "--version",
        "summarizer-v2",
        "-m",
        "tighter summary",
    )
    assert asked.returncode == 1 and "AwaitingApproval" in asked.stderr
    held = wait_reason(kubectl, "summarizer-production", "AwaitingApproval")
    assert held["status"]["approval"]["requestedBy"] == alice.username
    assert held["status"]["approval"]["state"] == "Pending"
    assert condition(held, "Reconciling")["status"] == "True"
    assert kubectl.get("configmap", "summarizer-production")["data"] == live_map

    # The requester can't approve her own request: refused at admission.
    own = alice.prompt("approve", "summarizer", "-l", "production")
    assert own.returncode != 0 and "two-person rule" in own.stderr
    # dan may read but not approve (RBAC); frank may create approvals (RBAC) but isn't among
    # the policy's approvers; an approval for other content doesn't count.
    assert dan.prompt("approve", "summarizer", "-l", "production").returncode == 4
    frank = as_user(kubectl, "frank@example.com", "approvers")
    other = {
        "apiVersion": API,
        "kind": "PromptApproval",
        "metadata": {"name": "frank"},
        "spec": {
            "prompt": "summarizer",
            "label": "production",
            "version": "summarizer-v2",
            "hash": hashes[2],
            "decision": "Approve",
        },
    }
    refused = frank("create", "-f", "-", input=json.dumps(other))
    assert (
        refused.returncode != 0 and "PromptPolicy two-person: frank@example.com" in refused.stderr
    )
    stale = {
        "apiVersion": API,
        "kind": "PromptApproval",
        "metadata": {"name": "stale"},
        "spec": {
            "prompt": "summarizer",
            "label": "production",
            "version": "summarizer-v2",
            "hash": hashes[1],
            "decision": "Approve",
            "approver": alice.username,  # forged: the API server writes who created it
        },
    }
    bob.kubectl.apply(json.dumps(stale))
    assert kubectl.get("promptapproval", "stale")["spec"]["approver"] == bob.username
    time.sleep(5)  # the operator has seen it (its watch is sub-second); nothing moved
    still = kubectl.get("promptrelease", "summarizer-production")
    assert condition(still).get("reason") == "AwaitingApproval"
    assert kubectl.get("configmap", "summarizer-production")["data"] == live_map

    # bob approves that exact version and content: it goes live, naming both of them.
    approved = bob.prompt("approve", "summarizer", "-l", "production", "-m", "eval run ok")
    assert approved.returncode == 0, approved.stderr
    assert f"{bob.username} approved summarizer-v2" in approved.stdout
    live = released(kubectl, "summarizer-production", 2)
    entry = live["status"]["history"][0]
    assert entry["version"] == "summarizer-v2" and entry["hash"] == hashes[2]
    assert entry["releasedBy"] == alice.username and entry["via"] == "kubectl-prompt"
    assert entry["approvedBy"] == [bob.username]
    assert "approval" not in live["status"]
    idle = bob.prompt("approve", "summarizer", "-l", "production")
    assert idle.returncode == 2 and "awaits no approval" in idle.stderr
    assert eventually(
        lambda: (
            condition(kubectl.get("promptrelease", "summarizer-production"), "Compliant").get(
                "status"
            )
            == "True"
        ),
        timeout=30,
        what="Compliant again",
    )

    # carol rejects v3: recorded, stalled, v2 stays live.
    alice.prompt(
        "release",
        "summarizer",
        "-l",
        "production",
        "--version",
        "summarizer-v3",
        "-m",
        "adds a priority line",
        "--no-wait",
    )
    wait_reason(kubectl, "summarizer-production", "AwaitingApproval")
    live_map = kubectl.get("configmap", "summarizer-production")["data"]
    rejected = carol.prompt("reject", "summarizer", "-l", "production", "-m", "drops context")
    assert rejected.returncode == 0, rejected.stderr
    stalled = wait_reason(kubectl, "summarizer-production", "ApprovalRejected")
    assert stalled["status"]["approval"]["state"] == "Rejected"
    assert stalled["status"]["approval"]["rejectedBy"] == [carol.username]
    assert "drops context" in condition(stalled)["message"]
    assert condition(stalled, "Stalled")["status"] == "True"
    assert kubectl.get("configmap", "summarizer-production")["data"] == live_map

    nothing = bob.prompt("approve", "summarizer", "-l", "staging")
    assert nothing.returncode == 3  # no such release
    # kubectl prompt history names who requested and who approved each revision.
    table = dan.prompt("history", "summarizer", "-l", "production")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert "APPROVED BY" in lines[0] and "VIA" in lines[0]
    assert any("(rejected)" in line and f"rejected by {carol.username}" in line for line in lines)
    v2 = next(line for line in lines if "summarizer-v2" in line)
    assert alice.username in v2 and bob.username in v2
    decisions = json.loads(kubectl("get", "promptapprovals", "-o", "json"))["items"]
    assert {(d["spec"]["decision"], d["spec"]["approver"]) for d in decisions} == {
        ("Approve", bob.username),
        ("Reject", carol.username),
    }
    assert "Forbidden" not in operator.output()


def test_approve_and_reject_have_help_with_an_example(prompt: Prompt) -> None:
    for verb in ("approve", "reject"):
        result = prompt(verb, "--help", namespaced=False)
        assert result.returncode == 0 and f"kubectl prompt {verb}" in result.stdout
        assert "example:" in result.stdout and "-l LABEL" in result.stdout
