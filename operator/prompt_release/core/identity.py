"""Who asked: the identity the API server stamps on a PromptRelease at admission.

With the governance admission policies installed (the chart's `governance.enabled`), a
MutatingAdmissionPolicy writes these annotations on every create of a release and on every
change of its `spec.version` (the canary-* ones: of its `spec.canary.version`; the analysis-*
ones: of its canary's analysis steps; the evaluation-* ones: of its spec.evaluation or its
`promptrelease.io/evaluate` request), from
`request.userInfo`, and puts the previous values back on any
other write: a client can't forge them. Without the policy they are absent (or stale: they name
another version), and the history falls back to the field manager.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from prompt_release import GROUP

REQUESTED_BY = f"{GROUP}/requested-by"
REQUESTED_BY_GROUPS = f"{GROUP}/requested-by-groups"
REQUESTED_VERSION = f"{GROUP}/requested-version"
CANARY_REQUESTED_BY = f"{GROUP}/canary-requested-by"
CANARY_REQUESTED_BY_GROUPS = f"{GROUP}/canary-requested-by-groups"
CANARY_REQUESTED_VERSION = f"{GROUP}/canary-requested-version"
ANALYSIS_REQUESTED_BY = f"{GROUP}/analysis-requested-by"
ANALYSIS_REQUESTED_BY_GROUPS = f"{GROUP}/analysis-requested-by-groups"
EVALUATION_REQUESTED_BY = f"{GROUP}/evaluation-requested-by"
EVALUATION_REQUESTED_BY_GROUPS = f"{GROUP}/evaluation-requested-by-groups"
SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:"


@dataclass(frozen=True)
class Identity:
    """A user or ServiceAccount as the API server authenticated it."""

    username: str
    groups: tuple[str, ...] = ()

    @classmethod
    def of(cls, username: str, groups: Iterable[str] = ()) -> Identity:
        return cls(username, tuple(group for group in groups if group))

    def __str__(self) -> str:
        return self.username


def service_account(namespace: str, name: str) -> str:
    """The user name the API server gives a ServiceAccount's tokens."""
    return f"{SERVICE_ACCOUNT_PREFIX}{namespace}:{name}"


def requester(annotations: Mapping[str, Any] | None, version: str) -> Identity | None:
    """Who set `spec.version` to `version`, when the admission policy stamped it; else None."""
    found = annotations or {}
    username = found.get(REQUESTED_BY)
    if not username or found.get(REQUESTED_VERSION) != version:
        return None
    groups = str(found.get(REQUESTED_BY_GROUPS) or "").split(",")
    return Identity.of(str(username), groups)


def canary_requester(annotations: Mapping[str, Any] | None, version: str) -> Identity | None:
    """Who set `spec.canary.version` to `version`, when the admission policy stamped it."""
    found = annotations or {}
    return requester(
        {
            REQUESTED_BY: found.get(CANARY_REQUESTED_BY),
            REQUESTED_BY_GROUPS: found.get(CANARY_REQUESTED_BY_GROUPS),
            REQUESTED_VERSION: found.get(CANARY_REQUESTED_VERSION),
        },
        version,
    )


def analysis_requester(annotations: Mapping[str, Any] | None) -> Identity | None:
    """Who last set the canary's analysis steps (the Jobs the operator runs for them), when the
    admission policy stamped it; else None."""
    found = annotations or {}
    username = found.get(ANALYSIS_REQUESTED_BY)
    if not username:
        return None
    return Identity.of(str(username), str(found.get(ANALYSIS_REQUESTED_BY_GROUPS) or "").split(","))


def evaluation_requester(annotations: Mapping[str, Any] | None) -> Identity | None:
    """Who last set spec.evaluation or asked for a run (`kubectl prompt eval run`), when the
    admission policy stamped it; else None."""
    found = annotations or {}
    username = found.get(EVALUATION_REQUESTED_BY)
    if not username:
        return None
    groups = str(found.get(EVALUATION_REQUESTED_BY_GROUPS) or "").split(",")
    return Identity.of(str(username), groups)
