"""The canary models: spec.canary (weights, segments, steps) and status.canary."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field

from prompt_release.core.api_common import ApiModel, Hash, ObjectName
from prompt_release.core.api_policy import ApprovalState

DURATION = r"^[0-9]+(s|m|h)?$"


class CanarySegment(ApiModel):
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


class CanaryPause(ApiModel):
    """Wait: for `duration`, or without one until a human resumes, promotes or aborts."""

    duration: str | None = Field(
        default=None,
        max_length=16,
        pattern=DURATION,
        description='Seconds as a string ("90") or with a unit (30s, 5m, 1h); unset: wait '
        "for a human.",
    )


class JobTemplate(ApiModel):
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


class PrometheusAnalysis(ApiModel):
    """Measure the canary with a PromQL query, as Argo Rollouts' prometheus provider does."""

    query: str = Field(
        min_length=1,
        max_length=4096,
        description="An instant query returning one number. {{prompt}}, {{label}}, "
        "{{namespace}}, {{release}}, {{stable.version}}, {{stable.hash}}, {{canary.version}} "
        "and {{canary.hash}} are replaced before it is sent.",
    )
    success_condition: str = Field(
        min_length=1,
        max_length=512,
        description="A measurement succeeds when this holds, e.g. `result < 0.05`: result (or "
        "result[0]), numbers, <, <=, >, >=, ==, !=, and/&&, or/||, not/!, parentheses.",
    )
    interval: str | None = Field(
        default=None,
        max_length=16,
        pattern=DURATION,
        description="Time between measurements (30s when unset).",
    )
    count: int | None = Field(
        default=None,
        ge=1,
        le=100,
        description="Conclusive measurements (successful or failed) the analysis takes "
        "(1 when unset).",
    )
    failure_limit: int | None = Field(
        default=None,
        ge=0,
        le=100,
        description="Failed measurements tolerated; one more aborts the canary (0 when unset).",
    )
    inconclusive_limit: int | None = Field(
        default=None,
        ge=0,
        le=100,
        description="Inconclusive measurements tolerated (no series, several, NaN, a query "
        "error, Prometheus unreachable); one more pauses the canary for a human (0 when unset).",
    )


class CanaryAnalysis(ApiModel):
    """An evaluation gate: a Job of the user's (it completing moves on, failing aborts), or
    Prometheus measurements of the live canary (failing aborts, inconclusive pauses)."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "has(self.jobTemplate) != has(self.prometheus)",
                    "message": "an analysis is exactly one of jobTemplate and prometheus",
                }
            ]
        }
    )

    job_template: JobTemplate | None = Field(
        default=None,
        description="The Job to run. It gets the release's ConfigMap mounted at "
        "/etc/prompt-canary (canary.json holds the candidate) and PROMPT_CANARY_VERSION, "
        "PROMPT_CANARY_HASH in its environment.",
    )
    prometheus: PrometheusAnalysis | None = Field(
        default=None,
        description="Query the operator's Prometheus (--prometheus-url) every interval.",
    )


class CanaryStep(ApiModel):
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


class CanarySpec(ApiModel):
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


class Measurement(ApiModel):
    """One Prometheus measurement of an analysis step."""

    at: str
    phase: Literal["Successful", "Failed", "Inconclusive"]
    value: str | None = Field(default=None, description="The query's value, as Prometheus said.")
    reason: str | None = Field(
        default=None,
        description="Why it is inconclusive: PrometheusUnreachable, QueryError, NoSeries, "
        "SeveralSeries, NotANumber.",
    )
    message: str | None = None


class CanaryStepStatus(ApiModel):
    """A step of the canary as it ran."""

    index: int = Field(ge=0)
    type: Literal["setWeight", "pause", "analysis"]
    started_at: str
    finished_at: str | None = None
    job: str | None = Field(default=None, description="The analysis Job.")
    message: str | None = None
    query: str | None = Field(default=None, description="The Prometheus query, as sent.")
    phase: Literal["Running", "Successful", "Failed", "Inconclusive"] | None = Field(
        default=None, description="A Prometheus analysis's verdict so far."
    )
    successful: int | None = Field(default=None, description="Successful measurements.")
    failed: int | None = Field(default=None, description="Failed measurements.")
    inconclusive: int | None = Field(default=None, description="Inconclusive measurements.")
    measurements: list[Measurement] | None = Field(
        default=None,
        max_length=10,
        description="The last 10 measurements, oldest first.",
        json_schema_extra={"x-kubernetes-list-type": "atomic"},
    )


class CanaryStatus(ApiModel):
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


class Verification(ApiModel):
    """Watch a new revision with a Prometheus query for a while after it goes live."""

    duration: str = Field(
        max_length=16,
        pattern=DURATION,
        description="How long the window lasts from the moment the revision goes live.",
    )
    prometheus: PrometheusAnalysis = Field(
        description="The query and its limits, as a canary analysis's; count is the least "
        "number of conclusive measurements the window needs to pass. {{canary.*}} placeholders "
        "are refused (there is no canary)."
    )


class VerificationStatus(ApiModel):
    """The verification window of the live revision (or of the last one verified)."""

    revision: int
    version: str
    hash: str
    started_at: str
    ends_at: str
    phase: Literal["Running", "Successful", "Failed", "Inconclusive"]
    message: str | None = None
    query: str | None = None
    successful: int | None = None
    failed: int | None = None
    inconclusive: int | None = None
    measurements: list[Measurement] | None = Field(
        default=None, max_length=10, json_schema_extra={"x-kubernetes-list-type": "atomic"}
    )
    rolled_back_by: int | None = Field(
        default=None, description="The revision that restored the previous one, if any."
    )


class AnalysisSummary(ApiModel):
    """How one Prometheus analysis step of a canary went."""

    step: int
    phase: str
    successful: int = 0
    failed: int = 0
    inconclusive: int = 0
    last_value: str | None = None


class CanaryOrigin(ApiModel):
    """A revision that was a canary before it was promoted."""

    weight: float | None = Field(default=None, description="Its weight when promoted.")
    step: int | None = None
    started_at: str | None = None
    analyses: list[AnalysisSummary] | None = Field(
        default=None,
        max_length=64,
        description="Its Prometheus analyses' verdicts and counts.",
        json_schema_extra={"x-kubernetes-list-type": "atomic"},
    )
