"""The kinds the CRDs are made of; their models are the single source of truth for the schemas.

Field constraints in the models become the OpenAPI schema the API server enforces (see
`crdgen`), and `x-kubernetes-*` extras (CEL rules, list types) ride along in
`json_schema_extra`. The models live by kind: `api_version`, `api_release` (with
`api_canary`), `api_policy`, `api_evaluation`, and what they share in `api_common`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from prompt_release.core.api_evaluation import (
    PROMPT_EVALUATION_SPEC_RULES,
    PromptEvaluationSpec,
)
from prompt_release.core.api_policy import (
    PROMPT_APPROVAL_SPEC_RULES,
    PromptApprovalSpec,
    PromptPolicySpec,
)
from prompt_release.core.api_release import (
    PROMPT_RELEASE_RULES,
    PromptReleaseSpec,
    PromptReleaseStatus,
)
from prompt_release.core.api_version import (
    PROMPT_VERSION_SPEC_RULES,
    PromptVersionSpec,
    PromptVersionStatus,
)


class Kind(BaseModel):
    """What a CRD needs to know about a kind besides its schema."""

    kind: str
    plural: str
    singular: str
    short_names: list[str]
    spec: type[BaseModel]
    status: type[BaseModel] | None = None
    spec_rules: list[dict[str, Any]] = []
    root_rules: list[dict[str, Any]] = []
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

# Governance: who may release, and who approved.
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

# Evidence: evaluation results bound to exact content.
PROMPT_EVALUATION = Kind(
    kind="PromptEvaluation",
    plural="promptevaluations",
    singular="promptevaluation",
    short_names=["peval"],
    spec=PromptEvaluationSpec,
    spec_rules=PROMPT_EVALUATION_SPEC_RULES,
    description="One evaluation result of one exact PromptVersion (name and content hash) on "
    "one exact dataset; evidence for spec.promotion.",
    printer_columns=[
        {"name": "Version", "type": "string", "jsonPath": ".spec.version"},
        {"name": "Hash", "type": "string", "jsonPath": ".spec.hash"},
        {"name": "Dataset", "type": "string", "jsonPath": ".spec.dataset.name"},
        {"name": "Score", "type": "number", "jsonPath": ".spec.score"},
        {"name": "Passed", "type": "boolean", "jsonPath": ".spec.passed"},
        _age_column(),
    ],
)

ALL_KINDS = (*KINDS, PROMPT_POLICY, PROMPT_APPROVAL, PROMPT_EVALUATION)
