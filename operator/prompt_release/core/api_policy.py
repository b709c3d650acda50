"""The governance models: PromptPolicy (who may release what, and what a release needs),
PromptApproval (a decision on one exact version), and where a requested version stands."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from prompt_release.core.api_common import ApiModel, Hash, ObjectName, PromptName


class ServiceAccountRef(ApiModel):
    """A ServiceAccount, e.g. Argo CD's application controller."""

    name: ObjectName
    namespace: PromptName | None = Field(
        default=None, description="The PromptPolicy's own namespace when unset."
    )


Names = list[Annotated[str, Field(min_length=1, max_length=1024)]]


class Subjects(ApiModel):
    """Identities as the API server authenticates them: users, groups, ServiceAccounts."""

    users: Names | None = Field(
        default=None,
        max_length=256,
        description="User names exactly as the API server sees them (kubectl auth whoami).",
        json_schema_extra={"x-kubernetes-list-type": "set"},
    )
    groups: Names | None = Field(
        default=None,
        max_length=256,
        description="Members of any of these groups.",
        json_schema_extra={"x-kubernetes-list-type": "set"},
    )
    service_accounts: list[ServiceAccountRef] | None = Field(
        default=None,
        max_length=256,
        description="ServiceAccounts (system:serviceaccount:<namespace>:<name>).",
        json_schema_extra={"x-kubernetes-list-type": "atomic"},
    )


class AllowedModels(ApiModel):
    """The models PromptVersions may target; an unset list allows any."""

    providers: Names | None = Field(
        default=None, max_length=256, json_schema_extra={"x-kubernetes-list-type": "set"}
    )
    names: Names | None = Field(
        default=None, max_length=256, json_schema_extra={"x-kubernetes-list-type": "set"}
    )


class PromptPolicySpec(ApiModel):
    """Release rules for one namespace, enforced at admission and reported by the operator."""

    labels: list[PromptName] | None = Field(
        default=None,
        max_length=64,
        description="The protected labels: the rules below apply to PromptReleases of these "
        "labels (allowedModels applies to every PromptVersion of the namespace).",
        json_schema_extra={"x-kubernetes-list-type": "set"},
    )
    releasers: Subjects | None = Field(
        default=None,
        description="Who may create or change a PromptRelease of a protected label. Unset: "
        "whoever RBAC allows.",
    )
    approvers: Subjects | None = Field(
        default=None,
        description="Who may approve or reject a release of a protected label (never its "
        "requester). Unset: whoever RBAC allows to create PromptApprovals.",
    )
    require_approval: bool | None = Field(
        default=None,
        description="Two-person rule: a new spec.version of a protected label goes live only "
        "once someone other than its requester approved that exact version and hash.",
    )
    min_changelog_length: int | None = Field(
        default=None,
        ge=1,
        le=4096,
        description="A changelog of at least this many characters is required to move a "
        "protected label.",
    )
    require_hash_pin: bool | None = Field(
        default=None,
        description="Moving a protected label requires spec.hash (kubectl prompt promote and "
        "rollback set it).",
    )
    require_evidence: bool | None = Field(
        default=None,
        description="A PromptRelease of a protected label must declare spec.promotion.evidence: "
        "it moves only to a version with a passing PromptEvaluation of its exact hash "
        "(refused at admission otherwise).",
    )
    trusted_evaluators: Subjects | None = Field(
        default=None,
        description="Whose PromptEvaluations count as evidence on the protected labels "
        "(spec.recordedBy, stamped by the API server). Unset: whoever RBAC lets record them.",
    )
    refuse_warnings: (
        list[Literal["Secret", "PII", "SystemVariable", "TokenBudget", "ContextWindow"]] | None
    ) = Field(
        default=None,
        description="Lint warnings (kubectl prompt lint, a PromptVersion's status.warnings) "
        "that keep a version off the protected labels: a new revision or canary candidate "
        "with one is refused (LintRefused) and the live revision stays.",
        json_schema_extra={"x-kubernetes-list-type": "set"},
    )
    allowed_models: AllowedModels | None = Field(
        default=None,
        description="PromptVersions created in this namespace must target one of these.",
    )


class PromptApprovalSpec(ApiModel):
    """A decision on one exact version (name and content hash) of a release."""

    prompt: PromptName = Field(description="The prompt family of the release.")
    label: PromptName = Field(description="The release's label, e.g. production.")
    version: ObjectName = Field(description="The PromptVersion decided on.")
    hash: Hash = Field(description="Its content hash: the decision holds for this content only.")
    decision: Literal["Approve", "Reject"]
    comment: str | None = Field(default=None, max_length=4096, description="Why.")
    approver: str | None = Field(
        default=None,
        max_length=1024,
        description="Set by the API server (governance admission policy) to the user who "
        "created this object; a value a client writes is overwritten.",
    )
    approver_groups: Names | None = Field(
        default=None,
        max_length=256,
        description="The approver's groups, set by the API server alongside approver.",
        json_schema_extra={"x-kubernetes-list-type": "atomic"},
    )


PROMPT_APPROVAL_SPEC_RULES = [
    {
        "rule": "self == oldSelf",
        "message": "PromptApproval spec is immutable: create a new PromptApproval",
    },
]


class ApprovalState(ApiModel):
    """Where a requested version stands in the two-person rule."""

    version: str = Field(description="The requested PromptVersion.")
    hash: str = Field(description="Its content hash: approvals must name exactly this one.")
    requested_by: str | None = Field(
        default=None, description="Who set spec.version, as the API server saw them."
    )
    state: Literal["Pending", "Rejected"]
    rejected_by: list[str] | None = Field(
        default=None, json_schema_extra={"x-kubernetes-list-type": "atomic"}
    )
    message: str | None = None
