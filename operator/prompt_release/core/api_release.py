"""The PromptRelease models: the spec (what to serve, how to roll it out, a canary) and the
status (what is live, its history, its rollout)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field
from pydantic.config import JsonDict

from prompt_release.core.api_canary import (
    DURATION,
    CanaryOrigin,
    CanarySpec,
    CanaryStatus,
    Verification,
    VerificationStatus,
)
from prompt_release.core.api_common import ApiModel, Condition, Hash, ObjectName, PromptName
from prompt_release.core.api_consumers import (
    CONSUMER_CHECK_DESCRIPTION,
    ConsumerCheckMode,
    ConsumersStatus,
)
from prompt_release.core.api_policy import ApprovalState
from prompt_release.core.history import DEFAULT_HISTORY_LIMIT


class RolloutSpec(ApiModel):
    """How the workloads that use the release's ConfigMap pick up a new revision."""

    strategy: Literal["HotReload", "Restart"] | None = Field(
        default=None,
        description="HotReload (when unset): the kubelet swaps the mounted files, no restart. "
        "Restart: the operator stamps the revision into each consumer's pod template, so a "
        "rolling update brings pods up on the new prompt.",
    )
    rollback_on_failure: bool | None = Field(
        default=None,
        description="When a Restart consumer fails to roll out (progress deadline exceeded), "
        "or the verification window fails, bring back the previous revision as a new one. "
        "Off when unset.",
    )


IMMUTABLE_PROMPT: JsonDict = {
    "rule": "self == oldSelf",
    "message": "spec.prompt is immutable: a release stays the release of its prompt; create "
    "a new PromptRelease <prompt>-<label> instead",
}
IMMUTABLE_LABEL: JsonDict = {
    "rule": "self == oldSelf",
    "message": "spec.label is immutable: a release stays the release of its label; create "
    "a new PromptRelease <prompt>-<label> instead",
}


class EvidenceSpec(ApiModel):
    """What a passing PromptEvaluation of the candidate's exact hash must also show."""

    min_score: float | None = Field(default=None, description="Its score is at least this.")
    max_regression: float | None = Field(
        default=None,
        ge=0,
        description="A paired run against what this release serves now: the candidate's score "
        "is at least the baseline's score minus this. Needs spec.baseline naming the live "
        "version's hash (nothing live yet: not needed).",
    )
    evaluator: PromptName | None = Field(
        default=None, description="Only results of this evaluator (spec.evaluator.name) count."
    )
    dataset: str | None = Field(
        default=None,
        max_length=253,
        description="Only results on this dataset count: its name, ConfigMap or hash.",
    )


class PromotionSpec(ApiModel):
    """This release accepts only versions that soaked on another label and have evidence."""

    from_: PromptName = Field(
        alias="from",
        description="The label a version must come from, e.g. staging (the release "
        "<prompt>-<from> in the same namespace).",
    )
    soak: str | None = Field(
        default=None,
        max_length=16,
        pattern=DURATION,
        description='How long the version must have been live and RolledOut on `from`: "90", '
        "30s, 5m, 2h; none when unset.",
    )
    evidence: EvidenceSpec | None = Field(
        default=None,
        description="A passing PromptEvaluation of the version's exact hash is required "
        "(with these extra conditions); unset: no evidence needed.",
    )
    auto: bool | None = Field(
        default=None,
        description="Follow `from` by itself once the gates hold, without writing spec "
        "(GitOps owns it): the promotion is recorded in status and history.",
    )


class PromptReleaseSpec(ApiModel):
    """A label (production, staging, ...) pointing at one PromptVersion of a prompt."""

    prompt: PromptName = Field(
        description="The prompt family released; immutable.",
        json_schema_extra={"x-kubernetes-validations": [IMMUTABLE_PROMPT]},
    )
    label: PromptName = Field(
        description="The release label, e.g. production; immutable.",
        json_schema_extra={"x-kubernetes-validations": [IMMUTABLE_LABEL]},
    )
    version: ObjectName = Field(description="The PromptVersion (same namespace) to make live.")
    hash: Hash | None = Field(
        default=None, description="Optional pin of that version's content hash."
    )
    changelog: str | None = Field(
        default=None, max_length=4096, description="Why this release; kept in the history."
    )
    config_map_name: ObjectName | None = Field(
        default=None,
        description="The ConfigMap to write: the release's name when unset, else the release's "
        "name or <release name>.<suffix>; immutable.",
    )
    history_limit: int | None = Field(
        default=None,
        ge=1,
        le=100,
        description=f"How many history entries to keep; {DEFAULT_HISTORY_LIMIT} when unset.",
    )
    rollout: RolloutSpec | None = Field(
        default=None, description="How workloads pick up a new revision (see Rollout)."
    )
    verification: Verification | None = Field(
        default=None,
        description="After a new revision goes live (without a canary), measure it with a "
        "Prometheus query for a while; a failed window rolls back with "
        "spec.rollout.rollbackOnFailure.",
    )
    canary: CanarySpec | None = Field(
        default=None,
        description="A candidate version served to a share of requests (see Canary).",
    )
    promotion: PromotionSpec | None = Field(
        default=None,
        description="Gates a new version must pass here: soaked on another label, with "
        "evidence (see docs/evaluation.md).",
    )
    consumer_check: ConsumerCheckMode | None = Field(
        default=None, description=CONSUMER_CHECK_DESCRIPTION
    )


_CONFIG_MAP = "(has(self.spec.configMapName) ? self.spec.configMapName : self.metadata.name)"
_OLD_CONFIG_MAP = (
    "(has(oldSelf.spec.configMapName) ? oldSelf.spec.configMapName : oldSelf.metadata.name)"
)

PROMPT_RELEASE_RULES: list[dict[str, Any]] = [
    {
        "rule": "!has(self.spec.promotion) || self.spec.promotion.from != self.spec.label",
        "message": "spec.promotion.from names this release's own label: promote from another "
        "label (e.g. staging)",
    },
    {
        "rule": "self.metadata.name == self.spec.prompt + '-' + self.spec.label",
        "message": "metadata.name must be <spec.prompt>-<spec.label>, which keeps each "
        "(prompt, label) pair unique in a namespace",
    },
    {
        # On create only (oldSelf absent): objects created before the rule keep their name.
        "rule": "oldSelf.hasValue() || !has(self.spec.configMapName) || "
        "self.spec.configMapName == self.metadata.name || "
        "self.spec.configMapName.startsWith(self.metadata.name + '.')",
        "optionalOldSelf": True,
        "message": "spec.configMapName must be the release's name or <release name>.<suffix> "
        "(a ConfigMap name that is, or could become, another release's is refused: release "
        "names have no dots)",
    },
    {
        "rule": f"{_CONFIG_MAP} == {_OLD_CONFIG_MAP}",
        "message": "spec.configMapName is immutable (unset means the release's name): workloads "
        "mount that ConfigMap by name; create a new PromptRelease to serve another",
    },
]


class EvidenceRecord(ApiModel):
    """The PromptEvaluation a promotion rested on, as it was when it was read."""

    name: str
    score: float | None = None
    dataset: str | None = Field(default=None, description="The dataset's hash.")
    evaluator: str | None = Field(default=None, description="name@version or the image.")
    recorded_by: str | None = None
    baseline_score: float | None = None


class PromotionRecord(ApiModel):
    """Where a promoted revision came from and what it rested on."""

    from_: str = Field(alias="from", description="The label it soaked on.")
    revision: int | None = Field(default=None, description="Its revision there.")
    soaked_since: str | None = Field(
        default=None, description="Live and RolledOut there since this time."
    )
    auto: bool | None = Field(
        default=None, description="Promoted by the operator (spec.promotion.auto)."
    )
    evidence: list[EvidenceRecord] | None = Field(
        default=None, json_schema_extra={"x-kubernetes-list-type": "atomic"}
    )


class HistoryEntry(ApiModel):
    """One revision of a release: what went live, when, by whom, and why."""

    revision: int = Field(ge=1)
    version: str
    hash: str
    changelog: str | None = None
    released_at: str
    released_by: str | None = Field(
        default=None,
        description="Who set spec.version: the user or ServiceAccount the API server "
        "authenticated, stamped at admission by the governance policy; without that policy, "
        "the field manager.",
    )
    via: str | None = Field(
        default=None,
        description="The field manager that set spec.version (kubectl-client-side-apply, "
        "argocd-controller, kubectl-prompt, ...).",
    )
    approved_by: list[str] | None = Field(
        default=None,
        description="Who approved this revision (PromptApprovals), when a PromptPolicy "
        "requires approval for its label.",
        json_schema_extra={"x-kubernetes-list-type": "atomic"},
    )
    restores: int | None = Field(
        default=None, description="The earlier revision a rollback brings back."
    )
    rollout_failed: str | None = Field(
        default=None, description="Why this revision failed to roll out, when it did."
    )
    verification: VerificationStatus | None = Field(
        default=None,
        description="The verification window that failed this revision, with its measurements.",
    )
    canary: CanaryOrigin | None = Field(
        default=None, description="It was promoted from a canary: at which weight."
    )
    promotion: PromotionRecord | None = Field(
        default=None,
        description="It passed spec.promotion's gates: where it soaked, on what evidence.",
    )
    attested: bool | None = Field(
        default=None,
        description="True: releasedBy is who the API server authenticated (stamped at "
        "admission); false: no stamp, releasedBy is only the field manager (a tool); absent: "
        "made by the operator itself (an automatic rollback, a recovered revision).",
    )
    previous_digest: str | None = Field(
        default=None,
        description="The digest of the entry of the revision before (the hash chain; "
        "docs/api.md#the-history-chain).",
    )
    digest: str | None = Field(
        default=None,
        description="sha256 of this entry (previousDigest included) and its release: the hash "
        "chain `kubectl prompt verify` recomputes; each entry is also kept as a "
        "ControllerRevision that outlives the release.",
    )


class WorkloadRollout(ApiModel):
    """One workload whose pods use the release's ConfigMap, and how far it has rolled out."""

    kind: Literal["Deployment", "StatefulSet", "DaemonSet"]
    name: str
    strategy: Literal["HotReload", "Restart"]
    uses: list[str] | None = Field(
        default=None, description="How it reads the ConfigMap: volume, projected, envFrom, env."
    )
    revision: int | None = Field(
        default=None, description="The release revision stamped in its pod template (Restart)."
    )
    desired: int | None = None
    updated: int | None = None
    ready: int | None = None
    available: int | None = None
    state: Literal["Progressing", "Complete", "Failed"]
    message: str | None = None


class RolloutStatus(ApiModel):
    """Where the live revision stands in the workloads that use it."""

    revision: int | None = Field(default=None, description="The revision being rolled out.")
    phase: Literal["Progressing", "Complete", "Failed"]
    message: str | None = None
    workloads: list[WorkloadRollout] | None = Field(
        default=None, json_schema_extra={"x-kubernetes-list-type": "atomic"}
    )
    failed_version: str | None = Field(
        default=None,
        description="A version rolled back after failing to roll out: not retried until "
        "spec.version names another version.",
    )
    failed_hash: str | None = None


class PromotionGate(ApiModel):
    """One gate of spec.promotion for the candidate, and whether it holds."""

    name: Literal["Soak", "Evidence", "Approval"]
    passed: bool
    message: str


class PromotionStatus(ApiModel):
    """Where spec.promotion stands: the candidate, its gates, and what it waits for."""

    from_: str = Field(alias="from", description="The label promoted from.")
    spec_version: str | None = Field(
        default=None,
        description="The spec.version last carried out; with auto, a new spec.version is a "
        "human's choice, carried out before following `from` again.",
    )
    candidate: str | None = Field(default=None, description="The version waiting, if any.")
    candidate_hash: str | None = None
    state: Literal["UpToDate", "Soaking", "AwaitingEvidence", "AwaitingApproval", "Promoted"]
    soaked_since: str | None = None
    soak_ends_at: str | None = None
    gates: list[PromotionGate] | None = Field(
        default=None, json_schema_extra={"x-kubernetes-list-type": "atomic"}
    )
    message: str | None = None


class PromptReleaseStatus(ApiModel):
    observed_generation: int | None = None
    conditions: list[Condition] | None = Field(
        default=None,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )
    version: str | None = Field(default=None, description="The PromptVersion live now.")
    hash: str | None = Field(default=None, description="Its content hash.")
    short_hash: str | None = None
    revision: int | None = Field(
        default=None, description="Increases by one each time what is live changes."
    )
    released_at: str | None = None
    config_map: str | None = Field(default=None, description="The ConfigMap workloads mount.")
    history: list[HistoryEntry] | None = Field(default=None, description="Newest first.")
    rollout: RolloutStatus | None = Field(
        default=None, description="The live revision in the workloads that use it."
    )
    canary: CanaryStatus | None = Field(
        default=None, description="The canary of spec.canary: where it stands."
    )
    last_canary: CanaryStatus | None = Field(
        default=None, description="How the last canary ended (promoted or aborted)."
    )
    approval: ApprovalState | None = Field(
        default=None,
        description="A requested spec.version that waits for approval or was rejected "
        "(PromptPolicy requireApproval); absent while spec.version is live.",
    )
    promotion: PromotionStatus | None = Field(
        default=None, description="spec.promotion: the candidate and its gates."
    )
    verification: VerificationStatus | None = Field(
        default=None, description="spec.verification: the window of the live revision."
    )
    consumers: ConsumersStatus | None = Field(
        default=None,
        description="The consumer contract gate: the workloads using the ConfigMap, checked "
        "against the live version (or the one it refused).",
    )
