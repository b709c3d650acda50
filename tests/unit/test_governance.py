"""Governance without a cluster: who asked, PromptPolicies, the two-person rule, compliance."""

from __future__ import annotations

from typing import Any

import pytest

from prompt_release.core import governance, identity
from prompt_release.core import release as core
from prompt_release.core.governance import (
    ApprovalView,
    Gate,
    HeldError,
    PolicyView,
    Subjects,
    approved_by,
)
from prompt_release.core.hashing import content_hash
from prompt_release.core.release import ReleasePlan
from prompt_release.core.views import ReleaseView, VersionView

UID = "11111111-2222-3333-4444-555555555555"


def version(name: str = "p-v1", **spec: Any) -> dict[str, Any]:
    body = {"prompt": "p", "template": f"{name}: {{x}}", "variables": ["x"], **spec}
    return {"metadata": {"name": name, "namespace": "ns"}, "spec": body}


def hash_of(name: str) -> str:
    return content_hash(version(name)["spec"])


def stamp(user: str, ver: str, groups: str = "team,system:authenticated") -> dict[str, str]:
    return {
        identity.REQUESTED_BY: user,
        identity.REQUESTED_BY_GROUPS: groups,
        identity.REQUESTED_VERSION: ver,
    }


def release(
    ver: str = "p-v1",
    status: dict[str, Any] | None = None,
    annotations: dict[str, str] | None = None,
    **spec: Any,
) -> dict[str, Any]:
    return {
        "metadata": {
            "name": "p-production",
            "namespace": "ns",
            "uid": UID,
            "generation": 2,
            "annotations": annotations if annotations is not None else stamp("alice", ver),
            "managedFields": [
                {"manager": "argocd-controller", "fieldsV1": {"f:spec": {"f:version": {}}}}
            ],
        },
        "spec": {"prompt": "p", "label": "production", "version": ver, **spec},
        "status": status or {},
    }


def policy(name: str = "rules", **spec: Any) -> PolicyView:
    body = {"labels": ["production"], "requireApproval": True, **spec}
    return PolicyView.of({"metadata": {"name": name, "namespace": "ns"}, "spec": body})


def approval(
    ver: str = "p-v1",
    by: str | None = "bob",
    decision: str = "Approve",
    content: str | None = None,
    created: str = "2026-01-01T00:00:00Z",
    groups: tuple[str, ...] = ("approvers",),
    name: str = "",
    comment: str | None = None,
) -> ApprovalView:
    spec: dict[str, Any] = {
        "prompt": "p",
        "label": "production",
        "version": ver,
        "hash": content or hash_of(ver),
        "decision": decision,
    }
    if by:
        spec.update(approver=by, approverGroups=list(groups))
    if comment:
        spec["comment"] = comment
    meta = {"name": name or f"p-production-{by}-{created}", "namespace": "ns"}
    return ApprovalView.of({"metadata": {**meta, "creationTimestamp": created}, "spec": spec})


def gate(rel: dict[str, Any], *approvals: ApprovalView, policies: Any = None) -> Gate:
    return Gate.of(ReleaseView.of(rel), policies or [policy()], approvals)


def plan(rel: dict[str, Any], ver: str, *approvals: ApprovalView, **kw: Any) -> ReleasePlan:
    return core.plan(
        ReleaseView.of(rel), VersionView.of(version(ver)), None, "t", gate(rel, *approvals, **kw)
    )


def condition(result: ReleasePlan, kind: str = "Ready") -> dict[str, Any]:
    return next(c for c in result.status["conditions"] if c["type"] == kind)


# -- who asked -------------------------------------------------------------------------------


def test_the_stamp_names_the_requester_of_this_version_only() -> None:
    found = identity.requester(stamp("alice", "p-v2"), "p-v2")
    assert found == identity.Identity("alice", ("team", "system:authenticated"))
    assert identity.requester(stamp("alice", "p-v1"), "p-v2") is None  # stale: another version
    assert identity.requester({identity.REQUESTED_BY: "alice"}, "p-v2") is None
    assert identity.requester(None, "p-v2") is None


def test_released_by_is_the_stamped_requester_and_via_the_field_manager() -> None:
    view = ReleaseView.of(release())
    assert (view.released_by, view.via) == ("alice", "argocd-controller")
    unstamped = ReleaseView.of(release(annotations={}))
    assert (unstamped.released_by, unstamped.via) == ("argocd-controller", "argocd-controller")
    sa = ReleaseView.of(release(annotations=stamp("system:serviceaccount:argocd:argocd", "p-v1")))
    assert sa.released_by == "system:serviceaccount:argocd:argocd"


def test_history_entry_records_requester_field_manager_and_approvers() -> None:
    result = plan(release(), "p-v1", approval())
    assert result.ready
    (entry,) = result.status["history"]
    assert entry["releasedBy"] == "alice" and entry["via"] == "argocd-controller"
    assert entry["approvedBy"] == ["bob"]


# -- subjects and policies --------------------------------------------------------------------


def test_subjects_match_users_groups_and_service_accounts() -> None:
    subjects = Subjects.of(
        {
            "users": ["alice"],
            "groups": ["release-managers"],
            "serviceAccounts": [{"name": "deployer"}, {"namespace": "argocd", "name": "argocd"}],
        },
        "ns",
    )
    assert subjects is not None
    assert subjects.include(identity.Identity("alice"))
    assert subjects.include(identity.Identity("carol", ("release-managers",)))
    assert subjects.include(identity.Identity("system:serviceaccount:ns:deployer"))
    assert subjects.include(identity.Identity("system:serviceaccount:argocd:argocd"))
    assert not subjects.include(identity.Identity("system:serviceaccount:other:deployer"))
    assert not subjects.include(identity.Identity("bob", ("team",)))
    assert Subjects.of(None, "ns") is None  # unset: no restriction beyond RBAC


def test_a_policy_reads_its_rules() -> None:
    found = policy(minChangelogLength=10, requireHashPin=True, allowedModels={"providers": ["x"]})
    assert found.protects("production") and not found.protects("staging")
    assert found.min_changelog_length == 10 and found.require_hash_pin
    assert found.allowed_providers == frozenset({"x"}) and found.allowed_names is None


# -- the two-person rule ----------------------------------------------------------------------


def test_no_approval_needed_without_a_policy_that_asks_for_one() -> None:
    rel = release()
    assert approved_by(None, "p-v1", hash_of("p-v1")) is None
    assert approved_by(gate(rel, policies=[policy(requireApproval=False)]), "p-v1", "h") is None
    staging = policy(labels=["staging"])
    assert approved_by(gate(rel, policies=[staging]), "p-v1", "h") is None


def test_a_new_version_waits_for_approval_and_the_last_good_one_stays_live() -> None:
    live = plan(release(), "p-v1", approval())
    rel = release("p-v2", status=live.status)
    held = plan(rel, "p-v2")
    assert not held.ready and held.config_map is None
    ready, reconciling, stalled = (condition(held, k) for k in ("Ready", "Reconciling", "Stalled"))
    assert (ready["status"], ready["reason"]) == ("False", "AwaitingApproval")
    assert reconciling["status"] == "True" and stalled["status"] == "False"
    assert "requested by alice" in ready["message"] and "PromptPolicy rules" in ready["message"]
    assert ready["message"].endswith("still serving revision 1 (p-v1)")
    assert held.status["revision"] == 1 and held.status["version"] == "p-v1"
    assert held.status["approval"] == {
        "version": "p-v2",
        "hash": hash_of("p-v2"),
        "requestedBy": "alice",
        "state": "Pending",
        "message": held.status["approval"]["message"],
    }
    assert [(e.type, e.reason) for e in held.events] == [("Normal", "AwaitingApproval")]
    again = plan(release("p-v2", status=held.status), "p-v2")
    assert again.events == []  # said once


def test_a_second_persons_approval_of_that_exact_content_releases() -> None:
    live = plan(release(), "p-v1", approval())
    rel = release("p-v2", status=live.status)
    assert not plan(rel, "p-v2", approval("p-v2", by="alice")).ready  # the requester
    assert not plan(rel, "p-v2", approval("p-v2", content="sha256:" + "0" * 64)).ready
    assert not plan(rel, "p-v2", approval("p-v1")).ready  # another version
    assert not plan(rel, "p-v2", approval("p-v2", by=None)).ready  # nobody stamped
    done = plan(rel, "p-v2", approval("p-v2", by="carol"), approval("p-v2", by="bob"))
    assert done.ready and done.config_map is not None
    assert done.status["revision"] == 2 and "approval" not in done.status
    assert done.status["history"][0]["approvedBy"] == ["bob", "carol"]


def test_a_rejection_holds_the_version_until_its_approver_changes_their_mind() -> None:
    live = plan(release(), "p-v1", approval())
    rel = release("p-v2", status=live.status)
    no = approval("p-v2", by="carol", decision="Reject", comment="too long")
    rejected = plan(rel, "p-v2", no, approval("p-v2", by="bob"))
    ready = condition(rejected, "Ready")
    assert (ready["reason"], condition(rejected, "Stalled")["status"]) == (
        "ApprovalRejected",
        "True",
    )
    assert "rejected by carol (carol: too long)" in ready["message"]
    assert rejected.status["approval"]["state"] == "Rejected"
    assert rejected.status["approval"]["rejectedBy"] == ["carol"]
    assert [(e.type, e.reason) for e in rejected.events] == [("Warning", "ApprovalRejected")]
    yes = approval("p-v2", by="carol", created="2026-01-02T00:00:00Z")
    assert plan(rel, "p-v2", no, yes).ready


def test_approvers_named_by_the_policy_are_the_only_ones_that_count() -> None:
    rules = [policy(approvers={"groups": ["approvers"]})]
    rel = release()
    assert not plan(rel, "p-v1", approval(groups=("team",)), policies=rules).ready
    assert plan(rel, "p-v1", approval(groups=("team", "approvers")), policies=rules).ready


def test_without_a_stamp_anyone_elses_approval_counts() -> None:
    rel = release(annotations={})
    held = plan(rel, "p-v1")
    assert "an unattested requester" in condition(held)["message"]
    assert plan(rel, "p-v1", approval(by="alice")).ready


def test_a_version_already_live_needs_no_new_approval() -> None:
    live = plan(release(), "p-v1", approval())
    again = plan(release(status=live.status, changelog="reworded"), "p-v1")
    assert again.ready and again.status["revision"] == 1
    assert again.status["history"] == live.status["history"]


# -- reporting --------------------------------------------------------------------------------


def test_a_release_older_than_its_policy_is_reported_not_undone() -> None:
    live = core.plan(ReleaseView.of(release()), VersionView.of(version()), None, "t")
    rel = ReleaseView.of(release(status=live.status, annotations={}))
    strict = policy(
        name="strict",
        releasers={"users": ["alice"]},
        minChangelogLength=10,
        requireHashPin=True,
        allowedModels={"providers": ["openai"]},
    )
    found = governance.violations(Gate.of(rel, [strict], []), rel, VersionView.of(version()))
    assert found == [
        "PromptPolicy strict: who set spec.version is not attested (no stamp of the governance "
        "admission policy), so it can't be checked against the releasers",
        "PromptPolicy strict: spec.changelog is shorter than 10 characters",
        "PromptPolicy strict: spec.hash (the pin of the version's content hash) is not set",
        "PromptPolicy strict: revision 1 (p-v1) went live without an approval",
        "PromptPolicy strict: PromptVersion p-v1 has spec.model.provider (unset), not allowed "
        "(allowed: openai)",
    ]
    condition_, news = governance.compliance(
        Gate.of(rel, [strict], []), rel, VersionView.of(version()), [], "t"
    )
    assert condition_ is not None and news is not None
    assert (condition_["type"], condition_["status"], condition_["reason"]) == (
        "Compliant",
        "False",
        "PolicyViolation",
    )
    _, repeated = governance.compliance(
        Gate.of(rel, [strict], []), rel, VersionView.of(version()), [condition_], "t2"
    )
    assert repeated is None  # reported once


def test_a_releaser_outside_the_policy_is_reported_and_a_compliant_release_says_so() -> None:
    rules = policy(releasers={"groups": ["release-managers"]}, requireApproval=False)
    bob = ReleaseView.of(release(annotations=stamp("bob", "p-v1")))
    (problem,) = governance.violations(Gate.of(bob, [rules], []), bob, None)
    assert problem == (
        "PromptPolicy rules: bob set spec.version but is not among the releasers of label "
        "production (group release-managers)"
    )
    carol = ReleaseView.of(release(annotations=stamp("carol", "p-v1", "release-managers")))
    met, news = governance.compliance(Gate.of(carol, [rules], []), carol, None, None, "t")
    assert met is not None and (met["status"], met["reason"]) == ("True", "PoliciesMet")
    assert news is None
    assert governance.compliance(Gate.of(carol, [], []), carol, None, None, "t") == (None, None)


@pytest.mark.parametrize(
    ("models", "allowed"),
    [
        ({"providers": ["openai"]}, True),
        ({"providers": ["anthropic"]}, False),
        ({"names": ["gpt-4o-mini"]}, True),
        ({"names": ["gpt-4o"]}, False),
    ],
)
def test_allowed_models(models: dict[str, Any], allowed: bool) -> None:
    found = policy(allowedModels=models).model_problems(
        VersionView.of(version(model={"provider": "openai", "name": "gpt-4o-mini"}))
    )
    assert (found == []) is allowed


def test_held_error_says_whether_it_waits() -> None:
    waiting = HeldError("AwaitingApproval", "m", {})
    rejected = HeldError("ApprovalRejected", "m", {})
    assert waiting.waiting and waiting.event_type == "Normal"
    assert not rejected.waiting and rejected.event_type == "Warning"


def test_the_analysis_requester_is_read_from_its_stamp_only() -> None:
    assert identity.analysis_requester(None) is None
    assert identity.analysis_requester({identity.CANARY_REQUESTED_BY: "bob"}) is None
    found = identity.analysis_requester(
        {
            identity.ANALYSIS_REQUESTED_BY: "eve@example.com",
            identity.ANALYSIS_REQUESTED_BY_GROUPS: "releasers,,system:authenticated",
        }
    )
    assert found == identity.Identity("eve@example.com", ("releasers", "system:authenticated"))
