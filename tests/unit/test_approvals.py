"""Governance in the release decision: the Compliant report of one pass."""

from __future__ import annotations

from typing import Any

from prompt_release.core import governance
from prompt_release.core.decision import report as governance_report
from prompt_release.core.governance import ApprovalView
from prompt_release.core.release import ReleasePlan
from prompt_release.core.views import ReleaseView, VersionView
from tests.unit.test_governance import (
    approval,
    condition,
    gate,
    plan,
    policy,
    release,
    stamp,
    version,
)


def report(rel: dict[str, Any], ver: str, *approvals: ApprovalView) -> ReleasePlan:
    return governance_report(
        plan(rel, ver, *approvals),
        ReleaseView.of(rel),
        VersionView.of(version(ver)),
        gate(rel, *approvals),
        "t2",
    )


def violations(result: ReleasePlan) -> list[str]:
    return [e.message for e in result.events if e.reason == governance.POLICY_VIOLATION]


def test_a_revision_approved_in_this_pass_is_compliant_at_once() -> None:
    before = plan(release(), "p-v1", policies=[policy(requireApproval=False)])
    reported = report(release("p-v2", status=before.status), "p-v2", approval("p-v2"))
    assert reported.ready
    found = condition(reported, governance.COMPLIANT)
    assert found["status"] == "True" and found["reason"] == governance.POLICIES_MET
    assert not violations(reported)


def test_a_violation_is_reported_once_with_a_warning_event() -> None:
    before = plan(release(), "p-v1", policies=[policy(requireApproval=False)])
    reported = report(release("p-v2", status=before.status), "p-v2")  # v2 awaits approval
    assert not reported.ready
    found = condition(reported, governance.COMPLIANT)
    assert found["reason"] == governance.POLICY_VIOLATION
    assert "went live without an approval" in found["message"]
    assert len(violations(reported)) == 1
    again = report(release("p-v2", status=dict(reported.status)), "p-v2")
    assert condition(again, governance.COMPLIANT)["reason"] == governance.POLICY_VIOLATION
    assert not violations(again)  # the same message: no second Event


def test_a_rollback_to_a_version_approved_before_goes_live_on_that_approval() -> None:
    v1 = approval("p-v1", created="2026-01-01T00:00:00Z")
    v2 = approval("p-v2", created="2026-01-02T00:00:00Z")
    first = plan(release(), "p-v1", v1)
    second = plan(release("p-v2", status=first.status), "p-v2", v1, v2)
    assert second.ready and second.status["revision"] == 2
    back = plan(release("p-v1", status=second.status), "p-v1", v1, v2)  # alice rolls back
    assert back.ready and back.status["revision"] == 3
    assert back.status["history"][0]["restores"] == 1
    assert back.status["history"][0]["approvedBy"] == ["bob"]
    own = plan(release("p-v1", status=second.status, annotations=stamp("bob", "p-v1")), "p-v1", v1)
    assert not own.ready  # bob asks for it now: his own earlier approval no longer counts
