"""The consumer contract gate's part of a PromptRelease: spec.consumerCheck and
status.consumers (the rules are in consumers.py)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from prompt_release.core.api_common import ApiModel

ConsumerCheckMode = Literal["Enforce", "Warn"]

CONSUMER_CHECK_DESCRIPTION = (
    "Enforce (when unset): a new revision or a canary's candidate that a consuming workload "
    "can't use (a required variable it doesn't supply, a responseFormat it doesn't accept) "
    "stays off, Ready=False reason ConsumerIncompatible. Warn: it goes live with a Warning "
    "Event ConsumerIncompatible."
)


class ConsumerVerdict(ApiModel):
    """One workload using the release's ConfigMap, judged against the version."""

    kind: Literal["Deployment", "StatefulSet", "DaemonSet"]
    name: str
    state: Literal["Compatible", "Incompatible", "Unchecked"] = Field(
        description="Unchecked: it declares neither promptrelease.io/supplies-variables nor "
        "promptrelease.io/accepts-response-format."
    )
    missing_variables: list[str] | None = Field(
        default=None, description="Required variables of the version it doesn't supply."
    )
    response_format_hash: str | None = Field(
        default=None, description="The version's responseFormat hash, which it doesn't accept."
    )
    unchecked: list[Literal["variables", "responseFormat"]] | None = Field(
        default=None, description="What the version asks that it declares nothing about."
    )


class ConsumersStatus(ApiModel):
    """The consumer contract gate: the version checked and how each consumer fared."""

    version: str = Field(description="The PromptVersion checked: the one live, or one refused.")
    hash: str | None = None
    passed: bool = Field(description="No consumer is incompatible.")
    workloads: list[ConsumerVerdict] | None = Field(
        default=None, json_schema_extra={"x-kubernetes-list-type": "atomic"}
    )
    incompatible: list[str] | None = Field(
        default=None, description="`<Kind> <name>` of each incompatible consumer."
    )
    unchecked: list[str] | None = Field(
        default=None, description="`<Kind> <name>` of each consumer that declares nothing."
    )
    message: str | None = None
