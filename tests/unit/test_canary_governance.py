"""Canaries under the two-person rule, without a cluster: a canary's candidate passes the same
gate as spec.version (`Gate.for_canary`), judged against whoever set spec.canary.version."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from prompt_release.core import canary, governance, identity
from prompt_release.core.governance import ApprovalView, Gate, PolicyView
from prompt_release.core.views import ReleaseView
from prompt_release.plugin.errors import UsageError
from prompt_release.plugin.verbs import governance as verbs
from tests.unit.test_canary_plan import World, hash_of, version
from tests.unit.test_governance import approval, policy, stamp


def canary_stamp(user: str, ver: str) -> dict[str, str]:
    return {
        identity.CANARY_REQUESTED_BY: user,
        identity.CANARY_REQUESTED_BY_GROUPS: "team,system:authenticated",
        identity.CANARY_REQUESTED_VERSION: ver,
    }


@dataclass
class GovernedWorld(World):
    """The canary tests' World, with annotations (the admission stamps) and a gate."""

    annotations: dict[str, str] | None = None
    policies: tuple[PolicyView, ...] = ()
    approvals: tuple[ApprovalView, ...] = ()

    def body(self) -> dict[str, Any]:
        body = super().body()
        body["metadata"]["annotations"] = dict(self.annotations or {})
        return body

    def gate(self) -> Gate:
        return Gate.of(ReleaseView.of(self.body()), self.policies, self.approvals)

    def request_canary(self, user: str, ver: str = "p-v2", **spec: Any) -> None:
        """`user` sets spec.canary: the admission policy stamps them as its requester."""
        self.annotations = {**(self.annotations or {}), **canary_stamp(user, ver)}
        self.edit(canary={"version": ver, **spec})

    def condition(self, kind: str) -> dict[str, Any]:
        return next(c for c in self.status["conditions"] if c["type"] == kind)


def governed(*approvals: ApprovalView) -> GovernedWorld:
    """p-v1 live on production (approved by bob), a policy that requires approval."""
    w = GovernedWorld(
        versions={n: version(n) for n in ("p-v1", "p-v2", "p-v3")},
        spec={"version": "p-v1"},
        annotations=stamp("alice", "p-v1"),
        policies=(policy("two-person"),),
        approvals=(approval("p-v1", by="bob"), *approvals),
    )
    w.reconcile()
    assert w.status["revision"] == 1 and w.ready()["status"] == "True"
    return w


# -- who asked for the canary -----------------------------------------------------------------


def test_the_canary_stamp_names_the_requester_of_this_candidate_only() -> None:
    found = identity.canary_requester(canary_stamp("carol", "p-v2"), "p-v2")
    assert found == identity.Identity("carol", ("team", "system:authenticated"))
    assert identity.canary_requester(canary_stamp("carol", "p-v3"), "p-v2") is None
    assert identity.canary_requester(stamp("alice", "p-v2"), "p-v2") is None  # spec.version's
    spec: dict[str, Any] = {"prompt": "p", "label": "production", "version": "p-v1"}
    annotations = {**stamp("alice", "p-v1"), **canary_stamp("carol", "p-v2")}
    body: dict[str, Any] = {"metadata": {"annotations": annotations}, "spec": spec}
    assert ReleaseView.of(body).canary_requester is None  # no spec.canary
    spec["canary"] = {"version": "p-v2"}
    view = ReleaseView.of(body)
    assert (view.requester, view.canary_requester) == (
        identity.Identity("alice", ("team", "system:authenticated")),
        identity.Identity("carol", ("team", "system:authenticated")),
    )


def test_the_canary_gate_is_the_same_rule_with_the_canary_requester() -> None:
    annotations = {**stamp("alice", "p-v1"), **canary_stamp("carol", "p-v2")}
    spec = {"prompt": "p", "label": "production", "version": "p-v1", "canary": {"version": "p-v2"}}
    body = {"metadata": {"name": "p-production", "annotations": annotations}, "spec": spec}
    decisions = [approval("p-v2", by="carol"), approval("p-v2", by="alice")]
    gate = Gate.of(ReleaseView.of(body), [policy()], decisions).for_canary()
    assert gate.requester is not None and gate.requester.username == "carol"
    # carol's own approval doesn't count; alice (who set spec.version) is someone else.
    assert governance.approved_by(gate, "p-v2", hash_of("p-v2")) == ["alice"]
    with pytest.raises(governance.HeldError) as held:
        governance.approved_by(gate, "p-v2", hash_of("p-v3"))  # other content: nothing counts
    assert held.value.waiting
    assert "as the canary by carol" in held.value.message
    assert "kubectl prompt approve p -l production --version p-v2" in held.value.message


# -- the canary waits, the requester can't approve it, a second person can ---------------------


def test_an_unapproved_candidate_waits_and_stable_stays_exactly() -> None:
    w = governed()
    stable_map = dict(w.data())
    w.request_canary("alice", weight=100)
    result = w.reconcile(1)
    assert result.plan.config_map is None  # the ConfigMap isn't written at all
    assert canary.CANARY_KEY not in w.data() and w.data() == stable_map
    state = w.status["canary"]
    assert (state["phase"], state["reason"]) == ("AwaitingApproval", "AwaitingApproval")
    assert state["weight"] == 0  # nothing of it is served
    assert state["approval"] == {
        "version": "p-v2",
        "hash": hash_of("p-v2"),
        "requestedBy": "alice",
        "state": "Pending",
        "message": state["message"],
    }
    ready = w.ready()
    assert (ready["status"], ready["reason"]) == ("False", "AwaitingApproval")
    assert w.condition("Reconciling")["status"] == "True"
    assert w.condition("Stalled")["status"] == "False"
    assert "revision 1 (p-v1) serves everyone" in ready["message"]
    assert "canary: PromptVersion p-v2" in ready["message"] and "--version p-v2" in ready["message"]
    assert [e.reason for e in result.plan.events] == ["AwaitingApproval"]
    again = w.reconcile(30)  # nothing changed: nothing written, no repeated Event
    assert again.plan.config_map is None and again.plan.events == []
    assert "approval" not in w.status  # spec.version itself awaits nothing


def test_the_requesters_own_approval_and_one_of_other_content_do_not_count() -> None:
    w = governed()
    w.request_canary("alice", weight=50)
    w.approvals += (
        approval("p-v2", by="alice", created="2026-01-02T00:00:00Z"),
        approval("p-v2", by="bob", content=hash_of("p-v3"), created="2026-01-02T00:00:00Z"),
    )
    result = w.reconcile(1)
    assert result.plan.config_map is None and canary.CANARY_KEY not in w.data()
    assert w.status["canary"]["phase"] == "AwaitingApproval"


def test_a_second_persons_approval_starts_the_canary() -> None:
    w = governed()
    w.request_canary("alice", weight=30)
    w.reconcile(1)
    w.approvals += (approval("p-v2", by="bob", created="2026-01-02T00:00:00Z"),)
    result = w.reconcile(5)
    split = w.split()
    assert split is not None and split.weight == 30 and split.prompt.version == "p-v2"
    state = w.status["canary"]
    assert state["phase"] == "Completed" and state["approvedBy"] == ["bob"]
    assert "approval" not in state and "reason" not in state
    assert state["startedAt"] == w.now  # it starts when approved, not when requested
    assert "lastCanary" not in w.status  # the wait was no run
    assert [e.reason for e in result.plan.events] == ["CanaryStarted"]
    assert w.ready()["status"] == "True"


def test_a_rejection_stops_a_running_canary_and_keeps_stable() -> None:
    w = governed(approval("p-v2", by="bob", created="2026-01-02T00:00:00Z"))
    w.request_canary("alice", weight=20)
    w.reconcile(1)
    assert w.split() is not None
    stable = {k: v for k, v in w.data().items() if k != canary.CANARY_KEY}
    w.approvals += (
        approval("p-v2", by="carol", decision="Reject", created="2026-01-03T00:00:00Z"),
    )
    result = w.reconcile(5)
    assert canary.CANARY_KEY not in w.data() and w.data() == stable
    state, last = w.status["canary"], w.status["lastCanary"]
    assert (state["phase"], state["reason"]) == ("Rejected", "ApprovalRejected")
    assert state["approval"]["rejectedBy"] == ["carol"]
    assert (last["outcome"], last["weight"]) == ("ApprovalRejected", 20)
    assert w.condition("Stalled")["status"] == "True"
    assert {"CanaryAborted", "ApprovalRejected"} <= {e.reason for e in result.plan.events}


def test_without_a_policy_asking_for_approval_a_canary_runs_at_once() -> None:
    w = governed()
    w.policies = (policy("rules", requireApproval=False),)
    w.request_canary("alice", weight=10)
    w.reconcile(1)
    assert w.split() is not None and "approvedBy" not in w.status["canary"]


def test_promotion_stays_gated_on_the_promoters_request() -> None:
    w = governed(approval("p-v2", by="bob", created="2026-01-02T00:00:00Z"))
    w.request_canary("alice", weight=20)
    w.reconcile(1)
    # bob promotes: he is the requester of spec.version now, so his approval doesn't count.
    w.annotations = {**(w.annotations or {}), **stamp("bob", "p-v2")}
    w.edit(version="p-v2", hash=hash_of("p-v2"), canary=None)
    w.reconcile(5)
    assert w.status["revision"] == 1 and w.status["approval"]["requestedBy"] == "bob"
    # alice promotes: bob's approval of that exact content counts.
    w.annotations = {**(w.annotations or {}), **stamp("alice", "p-v2")}
    w.edit(version="p-v2")
    w.reconcile(5)
    assert (w.status["revision"], w.status["version"]) == (2, "p-v2")
    assert w.status["history"][0]["approvedBy"] == ["bob"]


# -- kubectl prompt approve: what it decides on ------------------------------------------------


class NoCluster:
    def version(self, name: str) -> Any:
        raise AssertionError(f"no lookup expected ({name})")


def test_approve_picks_the_waiting_candidate_and_asks_when_both_wait() -> None:
    waiting_canary = {"version": "p-v2", "hash": "h2", "state": "Pending"}
    status: dict[str, Any] = {"revision": 1, "version": "p-v1"}
    status["canary"] = {"version": "p-v2", "phase": "AwaitingApproval", "approval": waiting_canary}
    body = {"metadata": {"name": "p-production"}, "spec": {}, "status": status}
    on: Any = NoCluster()
    assert verbs._decided_on(on, ReleaseView.of(body), None) == ("p-v2", "h2")
    assert verbs._decided_on(on, ReleaseView.of(body), "p-v2") == ("p-v2", "h2")
    status["approval"] = {"version": "p-v3", "hash": "h3", "state": "Pending"}
    with pytest.raises(UsageError, match="p-v3 and p-v2"):
        verbs._decided_on(on, ReleaseView.of(body), None)
    assert verbs._decided_on(on, ReleaseView.of(body), "p-v2") == ("p-v2", "h2")
    assert verbs._decided_on(on, ReleaseView.of(body), "p-v3") == ("p-v3", "h3")
