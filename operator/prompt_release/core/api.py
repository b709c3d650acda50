"""The API of both kinds as pydantic models: the single source of truth for the CRD schemas.

Field constraints here become the OpenAPI schema the API server enforces (see `crdgen`), and
`x-kubernetes-*` extras (CEL rules, list types) ride along in `json_schema_extra`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from prompt_release.core.history import DEFAULT_HISTORY_LIMIT

DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
HASH_PATTERN = r"^sha256:[0-9a-f]{64}$"
IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]*$"

MAX_TEMPLATE_CHARS = 1_048_576
MAX_MESSAGES = 100
MAX_MESSAGE_CHARS = 262_144
MAX_VARIABLES = 100

PromptName = Annotated[str, Field(min_length=1, max_length=63, pattern=DNS_LABEL)]
ObjectName = Annotated[str, Field(min_length=1, max_length=253, pattern=DNS_SUBDOMAIN)]
Hash = Annotated[str, Field(pattern=HASH_PATTERN, max_length=71)]


class _Model(BaseModel):
    """camelCase on the wire, snake_case in Python; unknown fields are the API server's job."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class ChatMessage(_Model):
    """One message of a chat prompt; `content` may hold placeholders."""

    role: Literal["system", "developer", "user", "assistant", "tool"] = Field(
        description="Who speaks: system, developer, user, assistant or tool."
    )
    content: str = Field(max_length=MAX_MESSAGE_CHARS, description="The message text.")
    name: str | None = Field(default=None, max_length=64, description="Optional participant name.")


class ModelSpec(_Model):
    """The model a prompt is written for; parameters are free-form and hashed as written."""

    provider: str | None = Field(default=None, max_length=63, description="e.g. openai.")
    name: str | None = Field(default=None, max_length=253, description="e.g. gpt-4o-mini.")
    parameters: dict[str, Any] | None = Field(
        default=None,
        description="Free-form model parameters (temperature, max_tokens, ...).",
        json_schema_extra={"x-kubernetes-preserve-unknown-fields": True, "type": "object"},
    )


class PromptVersionSpec(_Model):
    """An immutable snapshot of a prompt: text or chat, variables, model."""

    prompt: PromptName = Field(description="The prompt family this version belongs to.")
    template: str | None = Field(
        default=None,
        max_length=MAX_TEMPLATE_CHARS,
        description="A text prompt. Exactly one of template and messages is set.",
    )
    messages: list[ChatMessage] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_MESSAGES,
        description="A chat prompt. Exactly one of template and messages is set.",
        json_schema_extra={"x-kubernetes-list-type": "atomic"},
    )
    template_format: Literal["f-string", "jinja2"] | None = Field(
        default=None, description="How placeholders are written; f-string when unset."
    )
    variables: list[Annotated[str, Field(max_length=128, pattern=IDENTIFIER)]] | None = Field(
        default=None,
        max_length=MAX_VARIABLES,
        description="Declared inputs; must match the placeholders in the template.",
        json_schema_extra={"x-kubernetes-list-type": "set"},
    )
    model: ModelSpec | None = Field(default=None, description="The model this prompt targets.")
    description: str | None = Field(default=None, max_length=4096, description="Free text.")
    hash: Hash | None = Field(
        default=None,
        description="Optional pin: the version is refused when its content hash differs.",
    )


PROMPT_VERSION_SPEC_RULES = [
    {
        "rule": "self == oldSelf",
        "message": "PromptVersion spec is immutable: create a new PromptVersion for a new "
        "prompt text",
    },
    {
        "rule": "has(self.template) != has(self.messages)",
        "message": "set exactly one of spec.template (a text prompt) and spec.messages "
        "(a chat prompt)",
    },
]


class RolloutSpec(_Model):
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
        "bring back the previous revision as a new one. Off when unset.",
    )


DURATION = r"^[0-9]+(s|m|h)?$"


class CanarySegment(_Model):
    """Requests whose attribute matches get this weight instead of the canary's."""

    attribute: str = Field(
        min_length=1, max_length=128, description="A request attribute the SDK is given."
    )
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"] | None = Field(
        default=None,
        description="In (when unset), NotIn, Exists or DoesNotExist, as in label selectors.",
    )
    values: list[Annotated[str, Field(max_length=256)]] | None = Field(
        default=None,
        max_length=100,
        description="The values In and NotIn compare with.",
        json_schema_extra={"x-kubernetes-list-type": "atomic"},
    )
    weight: float = Field(ge=0, le=100, description="Percent of matching requests (0-100).")


class CanaryPause(_Model):
    """Wait: for `duration`, or without one until a human resumes, promotes or aborts."""

    duration: str | None = Field(
        default=None,
        max_length=16,
        pattern=DURATION,
        description='Seconds as a string ("90") or with a unit (30s, 5m, 1h); unset: wait '
        "for a human.",
    )


class JobTemplate(_Model):
    """A Job's metadata and spec, as in a CronJob's jobTemplate."""

    metadata: dict[str, Any] | None = Field(
        default=None,
        description="Labels and annotations for the Job.",
        json_schema_extra={"type": "object", "x-kubernetes-preserve-unknown-fields": True},
    )
    spec: dict[str, Any] = Field(
        description="A batch/v1 JobSpec.",
        json_schema_extra={"type": "object", "x-kubernetes-preserve-unknown-fields": True},
    )


class CanaryAnalysis(_Model):
    """An evaluation gate: a Job of the user's; it completing moves on, failing aborts."""

    job_template: JobTemplate = Field(
        description="The Job to run. It gets the release's ConfigMap mounted at "
        "/etc/prompt-canary (canary.json holds the candidate) and PROMPT_CANARY_VERSION, "
        "PROMPT_CANARY_HASH in its environment."
    )


class CanaryStep(_Model):
    """One step, in Argo Rollouts' words: exactly one of setWeight, pause and analysis."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "(has(self.setWeight) ? 1 : 0) + (has(self.pause) ? 1 : 0) + "
                    "(has(self.analysis) ? 1 : 0) == 1",
                    "message": "a step is exactly one of setWeight, pause and analysis",
                }
            ]
        }
    )

    set_weight: float | None = Field(
        default=None, ge=0, le=100, description="Serve the candidate to this percent."
    )
    pause: CanaryPause | None = Field(default=None, description="Wait before the next step.")
    analysis: CanaryAnalysis | None = Field(default=None, description="Run a Job; gate on it.")


class CanarySpec(_Model):
    """A candidate version served to a share of requests next to spec.version, sticky per
    key; prompt.json keeps serving spec.version to everyone else (see Canary)."""

    version: ObjectName = Field(description="The candidate PromptVersion (same namespace).")
    hash: Hash | None = Field(default=None, description="Optional pin of its content hash.")
    weight: float = Field(
        ge=0,
        le=100,
        description="Percent of requests (0.001 resolution) that get the candidate; a "
        "setWeight step replaces it until spec.canary.weight changes again.",
    )
    segments: list[CanarySegment] | None = Field(
        default=None,
        max_length=32,
        description="Tried in order before weight: the first whose attribute matches gives "
        "the weight.",
        json_schema_extra={"x-kubernetes-list-type": "atomic"},
    )
    steps: list[CanaryStep] | None = Field(
        default=None,
        max_length=64,
        description="Run in order, each once; the canary waits at the end for promotion.",
        json_schema_extra={"x-kubernetes-list-type": "atomic"},
    )
    resume_step: int | None = Field(
        default=None,
        ge=0,
        description="Manual pauses (no duration) at this step index or before are passed "
        "(kubectl prompt canary resume sets it).",
    )


class CanaryStepStatus(_Model):
    """A step of the canary as it ran."""

    index: int = Field(ge=0)
    type: Literal["setWeight", "pause", "analysis"]
    started_at: str
    finished_at: str | None = None
    job: str | None = Field(default=None, description="The analysis Job.")
    message: str | None = None


class CanaryStatus(_Model):
    """Where a canary stands (status.canary), or how the last one ended (status.lastCanary)."""

    version: str = Field(description="The candidate PromptVersion.")
    hash: str = Field(description="Its content hash.")
    short_hash: str | None = None
    weight: float | None = Field(default=None, description="Percent served the candidate now.")
    step: int | None = Field(
        default=None,
        description="The index of the current step; the number of steps once all ran.",
    )
    phase: (
        Literal[
            "Progressing",
            "Paused",
            "Completed",
            "Aborted",
            "Promoted",
            "AwaitingApproval",
            "Rejected",
        ]
        | None
    ) = Field(
        default=None,
        description="AwaitingApproval and Rejected: the label needs approval (PromptPolicy "
        "requireApproval) and the candidate has none by someone other than its requester, or "
        "was rejected; nothing of it is served.",
    )
    reason: str | None = Field(
        default=None, description="Why it was aborted, or why it waits (AwaitingApproval)."
    )
    approval: ApprovalState | None = Field(
        default=None,
        description="Where the candidate stands in the two-person rule while it is held "
        "(requestedBy: who set spec.canary.version).",
    )
    approved_by: list[str] | None = Field(
        default=None,
        description="Who approved the candidate (when its label needs approval).",
        json_schema_extra={"x-kubernetes-list-type": "atomic"},
    )
    message: str | None = None
    started_at: str | None = None
    step_started_at: str | None = None
    resumes_at: str | None = Field(default=None, description="When a timed pause ends.")
    analysis_job: str | None = Field(default=None, description="The Job of a running analysis.")
    steps: list[CanaryStepStatus] | None = Field(
        default=None, json_schema_extra={"x-kubernetes-list-type": "atomic"}
    )
    spec_weight: float | None = Field(
        default=None, description="spec.canary.weight as last seen (a change applies at once)."
    )
    spec_digest: str | None = Field(
        default=None,
        description="A digest of spec.canary: an aborted canary restarts when it changes.",
    )
    ended_at: str | None = Field(default=None, description="status.lastCanary: when it ended.")
    outcome: Literal["Promoted", "Aborted", "AnalysisFailed", "ApprovalRejected"] | None = Field(
        default=None, description="status.lastCanary: how it ended."
    )


class CanaryOrigin(_Model):
    """A revision that was a canary before it was promoted."""

    weight: float | None = Field(default=None, description="Its weight when promoted.")
    step: int | None = None
    started_at: str | None = None


class PromptReleaseSpec(_Model):
    """A label (production, staging, ...) pointing at one PromptVersion of a prompt."""

    prompt: PromptName = Field(description="The prompt family released.")
    label: PromptName = Field(description="The release label, e.g. production.")
    version: ObjectName = Field(description="The PromptVersion (same namespace) to make live.")
    hash: Hash | None = Field(
        default=None, description="Optional pin of that version's content hash."
    )
    changelog: str | None = Field(
        default=None, max_length=4096, description="Why this release; kept in the history."
    )
    config_map_name: ObjectName | None = Field(
        default=None, description="The ConfigMap to write; the release's name when unset."
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
    canary: CanarySpec | None = Field(
        default=None,
        description="A candidate version served to a share of requests (see Canary).",
    )


PROMPT_RELEASE_RULES = [
    {
        "rule": "self.metadata.name == self.spec.prompt + '-' + self.spec.label",
        "message": "metadata.name must be <spec.prompt>-<spec.label>, which keeps each "
        "(prompt, label) pair unique in a namespace",
    },
]


class Condition(_Model):
    """A kstatus-style condition (the shape of metav1.Condition)."""

    type: str = Field(max_length=316)
    status: Literal["True", "False", "Unknown"]
    reason: str = Field(max_length=1024)
    message: str = Field(max_length=32768)
    last_transition_time: str
    observed_generation: int | None = None


class HistoryEntry(_Model):
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
    canary: CanaryOrigin | None = Field(
        default=None, description="It was promoted from a canary: at which weight."
    )


class WorkloadRollout(_Model):
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


class RolloutStatus(_Model):
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


class ApprovalState(_Model):
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


class PromptVersionStatus(_Model):
    hash: str | None = Field(default=None, description="The content hash (see Hash).")
    short_hash: str | None = Field(default=None, description="The hash's first 12 hex digits.")
    observed_generation: int | None = None
    conditions: list[Condition] | None = Field(
        default=None,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )
    released_as: list[str] | None = Field(
        default=None, description="Labels of releases that serve this version now."
    )
    held_by: list[str] | None = Field(
        default=None, description="Releases that point here and so hold back its deletion."
    )


class PromptReleaseStatus(_Model):
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


class Kind(BaseModel):
    """What a CRD needs to know about a kind besides its schema."""

    kind: str
    plural: str
    singular: str
    short_names: list[str]
    spec: type[BaseModel]
    status: type[BaseModel] | None = None
    spec_rules: list[dict[str, str]] = []
    root_rules: list[dict[str, str]] = []
    printer_columns: list[dict[str, Any]]
    description: str
    categories: list[str] = ["prompts"]


def _ready_column() -> dict[str, Any]:
    return {
        "name": "Ready",
        "type": "string",
        "jsonPath": '.status.conditions[?(@.type=="Ready")].status',
    }


def _age_column() -> dict[str, Any]:
    return {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}


PROMPT_VERSION = Kind(
    kind="PromptVersion",
    plural="promptversions",
    singular="promptversion",
    short_names=["pver"],
    spec=PromptVersionSpec,
    status=PromptVersionStatus,
    spec_rules=PROMPT_VERSION_SPEC_RULES,
    description="An immutable, content-hashed snapshot of a prompt.",
    printer_columns=[
        {"name": "Prompt", "type": "string", "jsonPath": ".spec.prompt"},
        {"name": "Hash", "type": "string", "jsonPath": ".status.shortHash"},
        _ready_column(),
        _age_column(),
    ],
)

PROMPT_RELEASE = Kind(
    kind="PromptRelease",
    plural="promptreleases",
    singular="promptrelease",
    short_names=["prel"],
    spec=PromptReleaseSpec,
    status=PromptReleaseStatus,
    root_rules=PROMPT_RELEASE_RULES,
    description="A label (production, staging, ...) pointing at a PromptVersion.",
    printer_columns=[
        {"name": "Prompt", "type": "string", "jsonPath": ".spec.prompt"},
        {"name": "Label", "type": "string", "jsonPath": ".spec.label"},
        {"name": "Version", "type": "string", "jsonPath": ".status.version"},
        {"name": "Revision", "type": "integer", "jsonPath": ".status.revision"},
        _ready_column(),
        _age_column(),
    ],
)

KINDS = (PROMPT_VERSION, PROMPT_RELEASE)


# -- Governance: who may release, and who approved ------------------------------------------


class ServiceAccountRef(_Model):
    """A ServiceAccount, e.g. Argo CD's application controller."""

    name: ObjectName
    namespace: PromptName | None = Field(
        default=None, description="The PromptPolicy's own namespace when unset."
    )


Names = list[Annotated[str, Field(min_length=1, max_length=1024)]]


class Subjects(_Model):
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


class AllowedModels(_Model):
    """The models PromptVersions may target; an unset list allows any."""

    providers: Names | None = Field(
        default=None, max_length=256, json_schema_extra={"x-kubernetes-list-type": "set"}
    )
    names: Names | None = Field(
        default=None, max_length=256, json_schema_extra={"x-kubernetes-list-type": "set"}
    )


class PromptPolicySpec(_Model):
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
    allowed_models: AllowedModels | None = Field(
        default=None,
        description="PromptVersions created in this namespace must target one of these.",
    )


class PromptApprovalSpec(_Model):
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

GOVERNANCE_CATEGORY = "prompt-governance"

PROMPT_POLICY = Kind(
    kind="PromptPolicy",
    plural="promptpolicies",
    singular="promptpolicy",
    short_names=["ppol"],
    spec=PromptPolicySpec,
    categories=[GOVERNANCE_CATEGORY],
    description="Who may move which release labels, what a release needs, and which models "
    "prompts may use, in one namespace.",
    printer_columns=[
        {"name": "Labels", "type": "string", "jsonPath": ".spec.labels"},
        {"name": "Approval", "type": "boolean", "jsonPath": ".spec.requireApproval"},
        _age_column(),
    ],
)

PROMPT_APPROVAL = Kind(
    kind="PromptApproval",
    plural="promptapprovals",
    singular="promptapproval",
    short_names=["pappr"],
    spec=PromptApprovalSpec,
    spec_rules=PROMPT_APPROVAL_SPEC_RULES,
    categories=[GOVERNANCE_CATEGORY],
    description="An approval or rejection of one exact version of a release, by someone other "
    "than its requester.",
    printer_columns=[
        {"name": "Prompt", "type": "string", "jsonPath": ".spec.prompt"},
        {"name": "Label", "type": "string", "jsonPath": ".spec.label"},
        {"name": "Version", "type": "string", "jsonPath": ".spec.version"},
        {"name": "Decision", "type": "string", "jsonPath": ".spec.decision"},
        {"name": "Approver", "type": "string", "jsonPath": ".spec.approver"},
        _age_column(),
    ],
)

ALL_KINDS = (*KINDS, PROMPT_POLICY, PROMPT_APPROVAL)
