"""The consumer contract gate: may a version go live for the workloads that read it?

A workload declares, on its pod template, what it supplies and what it parses:

- `promptrelease.io/supplies-variables: "ticket,customer"`: the variables it renders with;
- `promptrelease.io/accepts-response-format: "sha256:…,sha256:…"`: the response-format hashes
  (`response_format_hash`) its parser accepts.

Before a label moves (a new revision, a canary's candidate), `check()` judges the version
against every consumer of the release's ConfigMap: a required variable a consumer doesn't
supply, or a responseFormat it doesn't accept, makes the consumer incompatible, and the
release keeps its last good revision (reason `ConsumerIncompatible`). A consumer that declares
neither annotation is unchecked: listed, never assumed compatible, and never blocking.

Standard library only: the workload SDK prints the annotations with it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from prompt_release import GROUP
from prompt_release.core import variables as declared_variables
from prompt_release.core.canonical import canonical_json
from prompt_release.core.hashing import PREFIX, without_null_members

if TYPE_CHECKING:
    from prompt_release.core.workloads import Workload

SUPPLIES_VARIABLES = f"{GROUP}/supplies-variables"
ACCEPTS_RESPONSE_FORMAT = f"{GROUP}/accepts-response-format"
ANNOTATIONS = (SUPPLIES_VARIABLES, ACCEPTS_RESPONSE_FORMAT)

# Condition and Event reason (see docs/api.md).
CONSUMER_INCOMPATIBLE = "ConsumerIncompatible"
# A consumer's state in status.consumers.workloads.
COMPATIBLE, INCOMPATIBLE, UNCHECKED = "Compatible", "Incompatible", "Unchecked"
VARIABLES, RESPONSE_FORMAT = "variables", "responseFormat"


def response_format_hash(response_format: Mapping[str, Any]) -> str:
    """`sha256:` + hex SHA-256 of the canonical JSON of `responseFormat.schema`, by the content
    hash's rule (RFC 8785, null members dropped): what a consumer's parser depends on. The
    format's name, description and strictness don't change what a consumer parses."""
    schema = without_null_members(response_format.get("schema"))
    return PREFIX + hashlib.sha256(canonical_json(schema)).hexdigest()


def parse_list(value: str | None) -> tuple[str, ...] | None:
    """`"a, b,,c"` -> ("a", "b", "c"); None when the annotation is absent."""
    if value is None:
        return None
    return tuple(sorted({part.strip() for part in str(value).split(",") if part.strip()}))


def annotations_for(
    spec: Mapping[str, Any], supplies: Iterable[str] | None = None
) -> dict[str, str]:
    """The pod-template annotations a workload using a version with this spec should carry:
    the variables it supplies (every declared one unless `supplies` says otherwise) and the
    response format it accepts (when the version has one)."""
    names = declared_variables.names(spec.get("variables"))
    chosen = sorted(set(names if supplies is None else supplies))
    found = {SUPPLIES_VARIABLES: ",".join(chosen)}
    response_format = spec.get("responseFormat")
    if isinstance(response_format, Mapping):
        found[ACCEPTS_RESPONSE_FORMAT] = response_format_hash(response_format)
    return found


@dataclass(frozen=True)
class Needs:
    """What a version asks of its consumers."""

    required: tuple[str, ...]
    response_format: str | None
    """The hash of its responseFormat; None: it has none, and asks nothing of a parser."""

    @classmethod
    def of(cls, spec: Mapping[str, Any]) -> Needs:
        required = sorted(
            v.name for v in declared_variables.declared(spec.get("variables")) if v.required
        )
        response_format = spec.get("responseFormat")
        return cls(
            required=tuple(required),
            response_format=response_format_hash(response_format)
            if isinstance(response_format, Mapping)
            else None,
        )


@dataclass(frozen=True)
class ConsumerCheck:
    """One consumer judged against one version."""

    kind: str
    name: str
    state: str
    missing_variables: tuple[str, ...] = ()
    unaccepted_response_format: str | None = None
    unchecked: tuple[str, ...] = ()
    """What the version asks that the consumer declares nothing about."""

    @property
    def label(self) -> str:
        return f"{self.kind} {self.name}"

    def problem(self) -> str:
        """What is missing, in a sentence part: `lacks variable(s) customer; doesn't accept …`."""
        parts: list[str] = []
        if self.missing_variables:
            parts.append("doesn't supply required variable(s) " + ", ".join(self.missing_variables))
        if self.unaccepted_response_format:
            parts.append(
                f"doesn't accept responseFormat {self.unaccepted_response_format} "
                f"(annotation {ACCEPTS_RESPONSE_FORMAT})"
            )
        return "; ".join(parts)

    def to_json(self) -> dict[str, Any]:
        found: dict[str, Any] = {"kind": self.kind, "name": self.name, "state": self.state}
        if self.missing_variables:
            found["missingVariables"] = list(self.missing_variables)
        if self.unaccepted_response_format:
            found["responseFormatHash"] = self.unaccepted_response_format
        if self.unchecked:
            found["unchecked"] = list(self.unchecked)
        return found


def _check_one(needs: Needs, workload: Workload) -> ConsumerCheck:
    supplies, accepts = workload.supplies, workload.accepts
    if supplies is None and accepts is None:
        return ConsumerCheck(workload.kind, workload.name, UNCHECKED)
    unchecked: list[str] = []
    missing: tuple[str, ...] = ()
    if supplies is None:
        if needs.required:
            unchecked.append(VARIABLES)
    else:
        missing = tuple(name for name in needs.required if name not in supplies)
    unaccepted = None
    if needs.response_format is not None:
        if accepts is None:
            unchecked.append(RESPONSE_FORMAT)
        elif needs.response_format not in accepts:
            unaccepted = needs.response_format
    state = INCOMPATIBLE if missing or unaccepted else COMPATIBLE
    return ConsumerCheck(workload.kind, workload.name, state, missing, unaccepted, tuple(unchecked))


@dataclass(frozen=True)
class Verdict:
    """Every consumer of a release's ConfigMap judged against one version."""

    version: str
    hash: str
    consumers: tuple[ConsumerCheck, ...]

    @property
    def incompatible(self) -> tuple[ConsumerCheck, ...]:
        return tuple(c for c in self.consumers if c.state == INCOMPATIBLE)

    @property
    def unchecked(self) -> tuple[ConsumerCheck, ...]:
        return tuple(c for c in self.consumers if c.state == UNCHECKED)

    @property
    def passed(self) -> bool:
        return not self.incompatible

    def message(self) -> str:
        """Why the version can't go live: each incompatible workload and what it lacks."""
        return f"PromptVersion {self.version} is incompatible with its consumers: " + "; ".join(
            f"{c.label} {c.problem()}" for c in self.incompatible
        )

    def summary(self) -> str:
        if not self.consumers:
            return f"no workload uses the ConfigMap: {self.version} was checked against none"
        counts = {
            state: sum(1 for c in self.consumers if c.state == state)
            for state in (COMPATIBLE, INCOMPATIBLE, UNCHECKED)
        }
        text = (
            f"{self.version} against {len(self.consumers)} consumer(s): "
            f"{counts[COMPATIBLE]} compatible, {counts[INCOMPATIBLE]} incompatible, "
            f"{counts[UNCHECKED]} unchecked"
        )
        if self.unchecked:
            text += " (declaring nothing: " + ", ".join(c.label for c in self.unchecked) + ")"
        return text

    def to_status(self) -> dict[str, Any]:
        """status.consumers: what the version was checked against, and how each consumer fared."""
        return {
            "version": self.version,
            "hash": self.hash,
            "passed": self.passed,
            "workloads": [c.to_json() for c in self.consumers],
            "incompatible": [c.label for c in self.incompatible],
            "unchecked": [c.label for c in self.unchecked],
            "message": self.message() if not self.passed else self.summary(),
        }


def check(
    version: str, content_hash: str, spec: Mapping[str, Any], workloads: Sequence[Workload]
) -> Verdict:
    """Judge the version named `version` (its spec and hash) against each consumer."""
    needs = Needs.of(spec)
    ordered = sorted(workloads, key=lambda w: (w.kind, w.name))
    return Verdict(version, content_hash, tuple(_check_one(needs, w) for w in ordered))
