"""The models of a release's own evaluations: spec.evaluation (the paired evaluation Job the
operator runs for a candidate, its thresholds and its schedule) and status.evaluation (the run
of the moment)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from prompt_release.core.api_canary import DURATION, JobTemplate
from prompt_release.core.api_common import ApiModel, Hash, ObjectName

CRON = r"^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|(\S+\s+){4}\S+)$"


class EvaluationDataset(ApiModel):
    """The cases the evaluation Jobs run on: a ConfigMap key or an inline list."""

    name: str | None = Field(
        default=None, max_length=253, description="A name people use for it, e.g. tickets-v2."
    )
    config_map: ObjectName | None = Field(
        default=None,
        description="A ConfigMap (same namespace) holding the cases; mounted at "
        "/etc/prompt-dataset in the Job.",
    )
    key: str | None = Field(
        default=None,
        max_length=253,
        description="The ConfigMap key holding the cases (a JSON list or JSON Lines); "
        "cases.json when unset.",
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
    hash: Hash | None = Field(
        default=None,
        description="The cases' hash, when known (computed by the operator for inline cases); "
        "passed to the Job as PROMPT_DATASET_HASH.",
    )


class EvaluationSpec(ApiModel):
    """The paired evaluation the operator runs for a candidate (docs/evaluation.md)."""

    job_template: JobTemplate = Field(
        description="The evaluator Job. It gets the candidate's and the live version's payloads "
        "at /etc/prompt-evaluation, the dataset, and PROMPT_* variables naming both hashes "
        "and the thresholds; it records a PromptEvaluation with spec.baseline."
    )
    service_account_name: ObjectName | None = Field(
        default=None,
        description="The Job's ServiceAccount: one bound to the prompt-evaluator ClusterRole "
        "(it may create PromptEvaluations). The template's own when unset.",
    )
    dataset: EvaluationDataset | None = Field(default=None, description="What it runs on.")
    min_score: float | None = Field(
        default=None, description="The candidate's score is at least this (an evidence rule)."
    )
    max_regression: float | None = Field(
        default=None,
        ge=0,
        description="The candidate's score is at least the live version's (the baseline of "
        "the same run) minus this (an evidence rule).",
    )
    deadline: str | None = Field(
        default=None,
        max_length=16,
        pattern=DURATION,
        description="The Job's activeDeadlineSeconds unless its template sets one: 30s, 10m, "
        "1h; 10m when unset. A Job past it without a result fails the evaluation.",
    )
    schedule: str | None = Field(
        default=None,
        max_length=128,
        pattern=CRON,
        description="Evaluate what is live again on this cron schedule (a CronJob the "
        "operator owns).",
    )
    rollback_on_failure: bool | None = Field(
        default=None,
        description="A failing evaluation of what is live, newer than its last passing one, "
        "brings the previous revision back. Off when unset.",
    )


class EvaluationStatus(ApiModel):
    """The evaluation of the moment: what it judges, its Job and where it stands."""

    subject: Literal["Candidate", "Live"] = Field(
        description="Candidate: a version waiting for evidence; Live: what is live "
        "(kubectl prompt eval run)."
    )
    version: str
    hash: str
    baseline_version: str | None = None
    baseline_hash: str | None = None
    job: str | None = Field(default=None, description="The evaluation Job.")
    run: str | None = Field(
        default=None, description="The promptrelease.io/evaluate request this run answers."
    )
    started_at: str | None = None
    phase: Literal["Evaluating", "Passed", "Failed"]
    message: str | None = None
    result: str | None = Field(default=None, description="The PromptEvaluation it rests on.")
