"""PromptPolicies and PromptApprovals in the operator: two watch indexes, the gate they make
for each release pass, and the releases a change of either wakes.

The rules are in `core/governance.py`; this module only looks things up and wakes releases.
kopf fills the indexes from its watches before any handler runs, so the first pass over a
release already sees every policy and approval: nothing goes live unapproved after a restart.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import kopf

from prompt_release import CRD_VERSION, GROUP
from prompt_release.core import conditions, governance
from prompt_release.core import release as release_core
from prompt_release.core.governance import ApprovalView, Gate, PolicyView
from prompt_release.core.views import ReleaseStatusView, ReleaseView, VersionView
from prompt_release.operator.informers import Index, Informers, OwnIndex
from prompt_release.operator.shell import namespaced

POLICIES = (GROUP, CRD_VERSION, governance.POLICY_PLURAL)
APPROVALS = (GROUP, CRD_VERSION, governance.APPROVAL_PLURAL)
POLICY_INDEX, APPROVAL_INDEX = "policies_by_namespace", "approvals_by_release"

PolicyIndex = Index[str, PolicyView]
ApprovalIndex = Index[tuple[str, str], ApprovalView]


def policies_by_namespace(namespace: str | None, body: Any, **_: Any) -> Any:
    """Index: the PromptPolicies of each namespace."""
    return {namespaced(namespace): PolicyView.of(body)}


def approvals_by_release(namespace: str | None, body: Any, **_: Any) -> Any:
    """Index: the PromptApprovals naming each release."""
    approval = ApprovalView.of(body)
    return {(namespaced(namespace), approval.release): approval}


class Governance:
    """What governs a release pass: read from the two indexes every handler is handed."""

    def __init__(self) -> None:
        self._policies: PolicyIndex | None = None
        self._approvals: ApprovalIndex | None = None

    def see(self, indexes: Mapping[str, Any]) -> None:
        """Keep the indexes (every handler is passed the same two objects)."""
        self._policies = indexes.get(POLICY_INDEX, self._policies)
        self._approvals = indexes.get(APPROVAL_INDEX, self._approvals)

    def gate(self, release: ReleaseView) -> Gate:
        if self._policies is None or self._approvals is None:
            # Fail closed: without the indexes a release needing approval could go live.
            raise kopf.TemporaryError("the PromptPolicy and PromptApproval indexes are not ready")
        return Gate.of(
            release,
            self._policies.get(release.namespace, []),
            self._approvals.get((release.namespace, release.name), []),
        )

    @staticmethod
    def report(
        plan: release_core.ReleasePlan,
        release: ReleaseView,
        version: VersionView | None,
        gate: Gate,
        now: str,
    ) -> release_core.ReleasePlan:
        """Add the Compliant condition (and a PolicyViolation Event when it is news), judged on
        the status this pass writes (a revision that just went live with approvals counts)."""
        previous = release.status.raw.get("conditions")
        after = replace(release, status=ReleaseStatusView(plan.status))
        condition, news = governance.compliance(gate, after, version, previous, now)
        if condition is None:
            return plan
        status = dict(plan.status)
        status["conditions"] = conditions.with_condition(
            list(status.get("conditions") or []), condition
        )
        events = list(plan.events)
        if news:
            events.append(
                release_core.Event(release_core.WARNING, governance.POLICY_VIOLATION, news)
            )
        return replace(plan, status=status, events=events)


Reconcile = Callable[[str, str, Mapping[str, Any]], None]


def releases_in(indexes: Mapping[str, Any], namespace: str) -> set[str]:
    """Every release of a namespace, from the index of the versions releases name."""
    by_version: Index[tuple[str, str], str] = indexes["releases_by_version"]
    return {name for key in list(by_version) if key[0] == namespace for name in by_version[key]}


class Wakes:
    """The releases a change of a PromptApproval or PromptPolicy may let go live, or report."""

    def __init__(self, reconcile: Reconcile) -> None:
        self.reconcile = reconcile

    def approval_event(self, body: Any, namespace: str | None, **indexes: Any) -> None:
        self.reconcile(namespaced(namespace), ApprovalView.of(body).release, indexes)

    def policy_event(self, namespace: str | None, **indexes: Any) -> None:
        namespace = namespaced(namespace)
        for name in sorted(releases_in(indexes, namespace)):
            self.reconcile(namespace, name, indexes)


def indexes() -> dict[tuple[str, str], list[OwnIndex]]:
    """The two indexes, by the kind they are kept from."""
    return {
        (POLICIES[0], POLICIES[2]): [OwnIndex(POLICY_INDEX, policies_by_namespace)],
        (APPROVALS[0], APPROVALS[2]): [OwnIndex(APPROVAL_INDEX, approvals_by_release)],
    }


def register(reg: kopf.OperatorRegistry, reconcile: Reconcile, informers: Informers) -> None:
    """The two watches, into the operator's registry."""
    wakes = Wakes(reconcile)
    informers.on_event(reg, APPROVALS, "approval_event", wakes.approval_event)
    informers.on_event(reg, POLICIES, "policy_event", wakes.policy_event)
