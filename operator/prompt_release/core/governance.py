"""Governance rules: PromptPolicies, PromptApprovals and the two-person rule, as pure functions.

The API server enforces the policies at admission (the chart's admission policies); the
operator applies the one rule admission can't, the two-person rule (a new `spec.version` of a
label that needs approval goes live only once someone other than its requester approved that
exact version and hash; so does the candidate of `spec.canary`, judged against whoever set
`spec.canary.version`), and reports what a release does that a policy, perhaps created after
it, forbids. The rules here mirror the CEL in
charts/prompt-release-operator/templates/admission-policies.yaml.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from prompt_release.core import conditions
from prompt_release.core.hashing import short_hash
from prompt_release.core.identity import Identity, service_account
from prompt_release.core.views import ReleaseView, VersionView, release_name

POLICY_PLURAL = "promptpolicies"
APPROVAL_PLURAL = "promptapprovals"

# Condition reasons and types: part of the API (docs/api.md).
AWAITING_APPROVAL = "AwaitingApproval"
APPROVAL_REJECTED = "ApprovalRejected"
LINT_REFUSED = "LintRefused"
COMPLIANT = "Compliant"
POLICY_VIOLATION = "PolicyViolation"
POLICIES_MET = "PoliciesMet"
APPROVE, REJECT = "Approve", "Reject"
PENDING, REJECTED = "Pending", "Rejected"

EMPTY: Mapping[str, Any] = {}


@dataclass(frozen=True)
class Subjects:
    """Users, groups and ServiceAccounts (as full user names), matched as the CEL matches."""

    users: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()
    service_accounts: frozenset[str] = frozenset()

    @classmethod
    def of(cls, raw: Mapping[str, Any] | None, namespace: str) -> Subjects | None:
        """None when unset: no restriction beyond RBAC."""
        if raw is None:
            return None
        return cls(
            users=frozenset(str(user) for user in raw.get("users") or ()),
            groups=frozenset(str(group) for group in raw.get("groups") or ()),
            service_accounts=frozenset(
                service_account(str(ref.get("namespace") or namespace), str(ref.get("name", "")))
                for ref in raw.get("serviceAccounts") or ()
            ),
        )

    def include(self, who: Identity) -> bool:
        return (
            who.username in self.users
            or who.username in self.service_accounts
            or bool(self.groups.intersection(who.groups))
        )

    def __str__(self) -> str:
        named = [
            *sorted(self.users),
            *(f"group {group}" for group in sorted(self.groups)),
            *sorted(self.service_accounts),
        ]
        return ", ".join(named) or "nobody"


@dataclass(frozen=True)
class PolicyView:
    """A PromptPolicy: the labels it protects and the rules for them."""

    name: str
    namespace: str
    labels: frozenset[str] = frozenset()
    releasers: Subjects | None = None
    approvers: Subjects | None = None
    require_approval: bool = False
    min_changelog_length: int | None = None
    require_hash_pin: bool = False
    refuse_warnings: frozenset[str] = frozenset()
    trusted_evaluators: Subjects | None = None
    allowed_providers: frozenset[str] | None = None
    allowed_names: frozenset[str] | None = None

    @classmethod
    def of(cls, body: Mapping[str, Any]) -> PolicyView:
        meta, spec = body.get("metadata") or EMPTY, body.get("spec") or EMPTY
        namespace = str(meta.get("namespace", ""))
        models = spec.get("allowedModels") or EMPTY
        minimum = spec.get("minChangelogLength")

        def allowed(key: str) -> frozenset[str] | None:
            listed = models.get(key)
            return None if listed is None else frozenset(str(item) for item in listed)

        return cls(
            name=str(meta.get("name", "")),
            namespace=namespace,
            labels=frozenset(str(label) for label in spec.get("labels") or ()),
            releasers=Subjects.of(spec.get("releasers"), namespace),
            approvers=Subjects.of(spec.get("approvers"), namespace),
            require_approval=bool(spec.get("requireApproval")),
            min_changelog_length=None if minimum is None else int(minimum),
            require_hash_pin=bool(spec.get("requireHashPin")),
            refuse_warnings=frozenset(str(kind) for kind in spec.get("refuseWarnings") or ()),
            trusted_evaluators=Subjects.of(spec.get("trustedEvaluators"), namespace),
            allowed_providers=allowed("providers"),
            allowed_names=allowed("names"),
        )

    def protects(self, label: str) -> bool:
        return label in self.labels

    def model_problems(self, version: VersionView) -> list[str]:
        """What of the version's model this policy doesn't allow."""
        model = version.spec.get("model") or EMPTY
        found = []
        for key, allowed in (("provider", self.allowed_providers), ("name", self.allowed_names)):
            value = model.get(key)
            if allowed is not None and value not in allowed:
                found.append(
                    f"PromptPolicy {self.name}: PromptVersion {version.name} has "
                    f"spec.model.{key} {value or '(unset)'}, not allowed "
                    f"(allowed: {', '.join(sorted(allowed))})"
                )
        return found


@dataclass(frozen=True)
class ApprovalView:
    """A PromptApproval: one decision on one exact version of a release."""

    name: str
    namespace: str
    prompt: str
    label: str
    version: str
    hash: str
    decision: str
    comment: str | None = None
    approver: Identity | None = None
    created: str = ""

    @classmethod
    def of(cls, body: Mapping[str, Any]) -> ApprovalView:
        meta, spec = body.get("metadata") or EMPTY, body.get("spec") or EMPTY
        approver = spec.get("approver")
        return cls(
            name=str(meta.get("name", "")),
            namespace=str(meta.get("namespace", "")),
            prompt=str(spec.get("prompt", "")),
            label=str(spec.get("label", "")),
            version=str(spec.get("version", "")),
            hash=str(spec.get("hash", "")),
            decision=str(spec.get("decision", "")),
            comment=spec.get("comment") or None,
            approver=(
                Identity.of(str(approver), spec.get("approverGroups") or ()) if approver else None
            ),
            created=str(meta.get("creationTimestamp") or ""),
        )

    @property
    def release(self) -> str:
        return release_name(self.prompt, self.label)


class HeldError(Exception):
    """A new revision that may not go live yet: it waits for approval, or was rejected."""

    def __init__(self, reason: str, message: str, approval: dict[str, Any]) -> None:
        super().__init__(message)
        self.reason, self.message, self.approval = reason, message, approval

    @property
    def waiting(self) -> bool:
        """Waiting for a human who hasn't decided yet (not stuck: nothing to fix)."""
        return self.reason == AWAITING_APPROVAL

    @property
    def event_type(self) -> str:
        return "Normal" if self.waiting else "Warning"

    def conditions(
        self, message: str, generation: int, now: str, previous: conditions.Conditions | None
    ) -> conditions.Conditions:
        """Awaiting: Ready=False and Reconciling=True (kstatus: in progress). Rejected: stalled."""
        if not self.waiting:
            return conditions.stalled(self.reason, message, generation, now, previous)
        return [
            conditions.condition(kind, status, self.reason, message, generation, now, previous)
            for kind, status in (
                (conditions.READY, "False"),
                (conditions.RECONCILING, "True"),
                (conditions.STALLED, "False"),
            )
        ]


@dataclass(frozen=True)
class Gate:
    """What governs one release: the policies of its namespace, the approvals naming it, and
    who requested its spec.version (None when no admission policy stamped it).

    The canary's candidate passes the same gate with its own requester (`for_canary`): one
    rule for both, so a canary can't serve what spec.version could not."""

    prompt: str
    label: str
    policies: tuple[PolicyView, ...] = ()
    approvals: tuple[ApprovalView, ...] = ()
    requester: Identity | None = None
    canary_requester: Identity | None = None
    canary: bool = False
    """This gate judges the candidate of spec.canary (requester: who set spec.canary.version)."""

    @classmethod
    def of(
        cls,
        release: ReleaseView,
        policies: Iterable[PolicyView],
        approvals: Iterable[ApprovalView],
    ) -> Gate:
        return cls(
            prompt=release.prompt,
            label=release.label,
            policies=tuple(sorted(policies, key=lambda policy: policy.name)),
            approvals=tuple(a for a in approvals if a.release == release.name),
            requester=release.requester,
            canary_requester=release.canary_requester,
        )

    def for_canary(self) -> Gate:
        """The gate of the canary's candidate: the same policies and approvals, judged against
        whoever set spec.canary.version."""
        return replace(self, requester=self.canary_requester, canary=True)

    @property
    def protecting(self) -> tuple[PolicyView, ...]:
        return tuple(policy for policy in self.policies if policy.protects(self.label))

    @property
    def trusted_evaluators(self) -> tuple[tuple[str, Subjects], ...]:
        """(policy, its trustedEvaluators) of each policy protecting the label that has them."""
        return tuple(
            (policy.name, policy.trusted_evaluators)
            for policy in self.protecting
            if policy.trusted_evaluators is not None
        )

    @property
    def requiring_approval(self) -> tuple[PolicyView, ...]:
        return tuple(policy for policy in self.protecting if policy.require_approval)

    def counts(self, approval: ApprovalView, version: str, content_hash: str) -> bool:
        """Does this decision count for exactly this version and content?"""
        who = approval.approver
        if approval.version != version or approval.hash != content_hash or who is None:
            return False  # another version or content, or no approver stamped
        if self.requester is not None and who.username == self.requester.username:
            return False  # the two-person rule
        return all(
            policy.approvers is None or policy.approvers.include(who)
            for policy in self.requiring_approval
        )

    def decisions(self, version: str, content_hash: str) -> list[ApprovalView]:
        """The newest counting decision of each approver, oldest first."""
        newest: dict[str, ApprovalView] = {}
        for approval in sorted(self.approvals, key=lambda a: (a.created, a.name)):
            if self.counts(approval, version, content_hash):
                assert approval.approver is not None
                newest[approval.approver.username] = approval
        return list(newest.values())


def refused_warnings(gate: Gate | None, version: VersionView) -> str | None:
    """Why a policy keeps this version off the label: lint warnings of kinds it refuses."""
    if gate is None:
        return None
    for policy in gate.protecting:
        found = [message for kind, message in version.flagged if kind in policy.refuse_warnings]
        if found:
            kinds = ", ".join(sorted(policy.refuse_warnings))
            return (
                f"PromptPolicy {policy.name} refuses versions with lint warnings ({kinds}) on "
                f"label {gate.label}: PromptVersion {version.name}: " + "; ".join(found)
            )
    return None


def approved_by(gate: Gate | None, version: str, content_hash: str) -> list[str] | None:
    """Who approved `version` with this content, when its label needs approval (None: it
    doesn't). Raises HeldError while nobody else approved it, or once someone rejected it."""
    if gate is None or not gate.requiring_approval:
        return None
    decisions = gate.decisions(version, content_hash)
    policies = ", ".join(policy.name for policy in gate.requiring_approval)
    requested_by = str(gate.requester) if gate.requester else None
    state: dict[str, Any] = {"version": version, "hash": content_hash}
    if requested_by:
        state["requestedBy"] = requested_by
    rejections = [d for d in decisions if d.decision == REJECT]
    if rejections:
        names = [str(d.approver) for d in rejections]
        comments = "; ".join(f"{d.approver}: {d.comment}" for d in rejections if d.comment)
        message = (
            f"PromptVersion {version} ({short_hash(content_hash)}) was rejected by "
            f"{', '.join(names)}" + (f" ({comments})" if comments else "")
        )
        state.update(state=REJECTED, rejectedBy=names, message=message)
        raise HeldError(APPROVAL_REJECTED, message, state)
    approvals = [str(d.approver) for d in decisions if d.decision == APPROVE]
    if approvals:
        return sorted(approvals)
    what, option = ("as the canary ", f" --version {version}") if gate.canary else ("", "")
    message = (
        f"PromptVersion {version} ({short_hash(content_hash)}), requested {what}by "
        f"{requested_by or 'an unattested requester'}, needs an approval by someone else "
        f"(PromptPolicy {policies}): kubectl prompt approve {gate.prompt} -l {gate.label}{option}"
    )
    state.update(state=PENDING, message=message)
    raise HeldError(AWAITING_APPROVAL, message, state)


def violations(gate: Gate, release: ReleaseView, version: VersionView | None) -> list[str]:
    """What this release (and the version it serves) does that a policy forbids: a policy
    created after the release went live is reported here, never enforced retroactively."""
    found: list[str] = []
    who = gate.requester
    for policy in gate.protecting:
        prefix = f"PromptPolicy {policy.name}:"
        if policy.releasers is not None:
            if who is None:
                found.append(
                    f"{prefix} who set spec.version is not attested (no stamp of the "
                    "governance admission policy), so it can't be checked against the releasers"
                )
            elif not policy.releasers.include(who):
                found.append(
                    f"{prefix} {who} set spec.version but is not among the releasers of label "
                    f"{release.label} ({policy.releasers})"
                )
        minimum = policy.min_changelog_length
        if minimum and len(release.changelog or "") < minimum:
            found.append(f"{prefix} spec.changelog is shorter than {minimum} characters")
        if policy.require_hash_pin and not release.pin:
            found.append(f"{prefix} spec.hash (the pin of the version's content hash) is not set")
        live = release.status.live_entry()
        if policy.require_approval and live is not None and not live.get("approvedBy"):
            found.append(
                f"{prefix} revision {live.get('revision')} ({live.get('version')}) went live "
                "without an approval"
            )
    if version is not None:
        for policy in gate.policies:
            found.extend(policy.model_problems(version))
    return found


def compliance(
    gate: Gate | None,
    release: ReleaseView,
    version: VersionView | None,
    previous: Sequence[Mapping[str, Any]] | None,
    now: str,
) -> tuple[dict[str, Any] | None, str | None]:
    """The Compliant condition (None when no policy governs the namespace) and the message
    of a Warning Event when the release newly violates a policy."""
    if gate is None or not gate.policies:
        return None, None
    found = violations(gate, release, version)
    if found:
        status, reason, message = "False", POLICY_VIOLATION, "; ".join(found)
    else:
        names = ", ".join(policy.name for policy in gate.policies)
        status, reason, message = "True", POLICIES_MET, f"Meets PromptPolicy {names}"
    condition = conditions.condition(
        COMPLIANT, status, reason, message, release.generation, now, previous
    )
    before = conditions.find(previous, COMPLIANT) or {}
    news = message if found and before.get("message") != message else None
    return condition, news
