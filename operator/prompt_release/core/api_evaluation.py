"""The PromptEvaluation model: one immutable evaluation result, bound to the exact content it
judged (a version's name and content hash), the exact dataset (its hash) and the evaluator."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from prompt_release.core.api_common import ApiModel, Hash, ObjectName, PromptName

IMAGE_DIGEST = r"^[^@\s]+@sha256:[0-9a-f]{64}$"


class DatasetRef(ApiModel):
    """The cases an evaluation ran on: a ConfigMap key or an inline list, and their hash."""

    name: str | None = Field(
        default=None, max_length=253, description="A name people use for it, e.g. tickets-v2."
    )
    config_map: ObjectName | None = Field(
        default=None, description="A ConfigMap (same namespace) holding the cases as JSON."
    )
    key: str | None = Field(
        default=None,
        max_length=253,
        description="The ConfigMap key holding a JSON list of cases; cases.json when unset.",
    )
    cases: list[Any] | None = Field(
        default=None,
        max_length=1000,
        description="The cases inline (any JSON), instead of a ConfigMap.",
        json_schema_extra={
            "x-kubernetes-list-type": "atomic",
            "items": {"x-kubernetes-preserve-unknown-fields": True},
        },
    )
    hash: Hash = Field(
        description="sha256: + hex SHA-256 of the canonical JSON (RFC 8785) of the list of "
        "cases, as for a PromptVersion's hash (kubectl prompt eval record computes it)."
    )
    size: int | None = Field(default=None, ge=0, description="How many cases.")


class Evaluator(ApiModel):
    """What judged: a name and its version, or the image it ran as (by digest)."""

    name: PromptName = Field(description="e.g. promptfoo, ragas, an in-house judge.")
    version: str | None = Field(default=None, max_length=128, description="e.g. 0.118.0.")
    image: str | None = Field(
        default=None,
        max_length=1024,
        pattern=IMAGE_DIGEST,
        description="The image it ran as, pinned by digest (<repository>@sha256:<hex>).",
    )


class Baseline(ApiModel):
    """A paired run: the version the candidate was compared with, on the same dataset."""

    version: ObjectName = Field(description="The baseline PromptVersion, usually the live one.")
    hash: Hash = Field(description="Its content hash.")
    score: float = Field(description="Its score in the same run.")


class PromptEvaluationSpec(ApiModel):
    """One evaluation result of one exact version, on one exact dataset; immutable."""

    version: ObjectName = Field(description="The PromptVersion evaluated.")
    hash: Hash = Field(
        description="Its content hash: the result is evidence for this content only."
    )
    dataset: DatasetRef
    evaluator: Evaluator
    score: float = Field(description="The score gated on (e.g. the share of cases passed).")
    scores: dict[str, float] | None = Field(
        default=None,
        description="Further scores by metric name (free-form).",
        json_schema_extra={"x-kubernetes-preserve-unknown-fields": True, "type": "object"},
    )
    threshold: float | None = Field(
        default=None, description="The threshold `passed` was judged against."
    )
    passed: bool = Field(description="Whether the evaluator judged the version to pass.")
    baseline: Baseline | None = Field(
        default=None, description="For a paired run: the baseline and its score."
    )
    recorded_by: str | None = Field(
        default=None,
        max_length=1024,
        description="Set by the API server (identity admission policy) to the user who created "
        "this object; a value a client writes is overwritten.",
    )
    recorded_by_groups: list[str] | None = Field(
        default=None,
        max_length=256,
        description="The recorder's groups, set by the API server alongside recordedBy.",
        json_schema_extra={"x-kubernetes-list-type": "atomic"},
    )
    comment: str | None = Field(default=None, max_length=4096, description="Free text.")


PROMPT_EVALUATION_SPEC_RULES: list[dict[str, Any]] = [
    {
        "rule": "self == oldSelf",
        "message": "PromptEvaluation spec is immutable: record a new PromptEvaluation",
    },
    {
        "rule": "has(self.evaluator.version) || has(self.evaluator.image)",
        "message": "spec.evaluator needs a version or an image digest",
    },
]
