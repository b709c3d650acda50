"""spec.canary read once, and the words status.canary speaks: phases, reasons, step types.

The plan, the spec edits of `kubectl prompt canary` and the operator's shell all read these,
so they live apart from any of them.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from prompt_release.core import canary, governance
from prompt_release.core.analysis import PrometheusSpec

# status.canary.phase
PROGRESSING, PAUSED, COMPLETED, ABORTED, PROMOTED = (
    "Progressing",
    "Paused",
    "Completed",
    "Aborted",
    "Promoted",
)
# status.canary.phase of a candidate held by the two-person rule (nothing served).
AWAITING_APPROVAL, REJECTED = governance.AWAITING_APPROVAL, governance.REJECTED
HELD = (AWAITING_APPROVAL, REJECTED)
# Condition and Event reasons (see docs/api.md).
CANARY_PROGRESSING = "CanaryProgressing"
CANARY_PAUSED = "CanaryPaused"
ANALYSIS_FAILED = "AnalysisFailed"
CANARY_ABORTED = "CanaryAborted"
CANARY_STARTED = "CanaryStarted"
CANARY_WEIGHT = "CanaryWeightChanged"
CANARY_COMPLETED = "CanaryCompleted"
CANARY_PROMOTED = "CanaryPromoted"
ANALYSIS_STARTED = "AnalysisStarted"
ANALYSIS_PASSED = "AnalysisPassed"
# status.lastCanary.outcome
OUTCOME_PROMOTED, OUTCOME_ABORTED = "Promoted", "Aborted"

SET_WEIGHT, PAUSE, ANALYSIS = "setWeight", "pause", "analysis"

_DURATION = re.compile(r"^([0-9]+)(s|m|h)?$")
_UNITS = {"s": 1, "m": 60, "h": 3600, None: 1}


def parse_duration(text: object) -> float | None:
    """Seconds of `90`, `90s`, `5m`, `1h`; None when it is none of these."""
    found = _DURATION.match(str(text).strip())
    return None if found is None else float(int(found.group(1)) * _UNITS[found.group(2)])


def percent(weight: float) -> str:
    """A weight as messages show it."""
    return f"{canary.normal_weight(weight)} %"


@dataclass(frozen=True)
class Step:
    index: int
    type: str
    weight: float | None = None
    duration: float | None = None
    job_template: Mapping[str, Any] | None = None
    prometheus: PrometheusSpec | None = None

    @classmethod
    def of(cls, index: int, raw: Mapping[str, Any]) -> Step:
        if raw.get("setWeight") is not None:
            return cls(index, SET_WEIGHT, weight=float(raw["setWeight"]))
        if raw.get("analysis") is not None:
            analysis = raw.get("analysis") or {}
            if isinstance(analysis.get("prometheus"), Mapping):
                spec = PrometheusSpec.of(analysis["prometheus"], parse_duration)
                return cls(index, ANALYSIS, prometheus=spec)
            return cls(index, ANALYSIS, job_template=analysis.get("jobTemplate") or {})
        pause = raw.get("pause") or {}
        duration = pause.get("duration")
        return cls(index, PAUSE, duration=None if duration is None else parse_duration(duration))

    @property
    def manual(self) -> bool:
        return self.type == PAUSE and self.duration is None


@dataclass(frozen=True)
class CanarySpec:
    """spec.canary, read once."""

    version: str
    pin: str | None
    weight: float
    segments: tuple[canary.Segment, ...]
    steps: tuple[Step, ...]
    resume_step: int | None
    digest: str

    @classmethod
    def of(cls, body: Mapping[str, Any]) -> CanarySpec | None:
        raw = (body.get("spec") or {}).get("canary")
        if not isinstance(raw, Mapping):
            return None
        resume = raw.get("resumeStep")
        return cls(
            version=str(raw.get("version", "")),
            pin=raw.get("hash") or None,
            weight=float(raw.get("weight") or 0),
            segments=tuple(canary.Segment.of(s) for s in raw.get("segments") or ()),
            steps=tuple(Step.of(i, s) for i, s in enumerate(raw.get("steps") or ())),
            resume_step=None if resume is None else int(resume),
            digest=hashlib.sha256(
                json.dumps(raw, sort_keys=True, separators=(",", ":")).encode()
            ).hexdigest()[:16],
        )

    def problem(self) -> str | None:
        """Why a step can't run as written (a Prometheus analysis that doesn't parse)."""
        for step in self.steps:
            found = None if step.prometheus is None else step.prometheus.problem()
            if found is not None:
                return f"spec.canary.steps[{step.index}].analysis.prometheus: {found}"
        return None
