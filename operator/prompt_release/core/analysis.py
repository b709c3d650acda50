"""A canary's Prometheus analysis: which query is due, what its answer measures, the verdict.

Pure: the shell asks `due()` which query to send (if any), sends it with a timeout, and hands
what came back to the next pass as a `Reading` (`read_answer()` turns Prometheus's JSON into
one, the shell makes one itself when Prometheus can't be reached). `judge()` then adds it to
the step's record and says where the analysis stands.

The rules, in Argo Rollouts' words where they fit:
- A measurement is Successful when the value meets successCondition, Failed when it doesn't,
  Inconclusive when there is no number to judge: no series, several series, NaN, a query
  error, Prometheus unreachable or slow. An inconclusive measurement is never a pass.
- More than failureLimit failed measurements: the analysis fails (the canary aborts).
- More than inconclusiveLimit inconclusive ones: the analysis is inconclusive (the canary
  pauses, nothing live changes, until a human resumes, promotes or aborts it).
- `count` conclusive measurements (successful or failed) within those limits: it passes.
  Unlike Argo, inconclusive measurements don't count towards `count`, so a Prometheus that is
  down can't add up to a pass.
- Measurements are `interval` apart; the record keeps the counts and the last 10.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from prompt_release.core import analysis_condition
from prompt_release.core.analysis_condition import Condition, ConditionError

SUCCESSFUL, FAILED, INCONCLUSIVE, RUNNING = "Successful", "Failed", "Inconclusive", "Running"
# Why a measurement is inconclusive (status and docs/api.md).
UNREACHABLE = "PrometheusUnreachable"
QUERY_ERROR = "QueryError"
NO_SERIES = "NoSeries"
SEVERAL_SERIES = "SeveralSeries"
NOT_A_NUMBER = "NotANumber"
# Condition and Event reasons.
INVALID_ANALYSIS = "InvalidAnalysis"
ANALYSIS_INCONCLUSIVE = "AnalysisInconclusive"
ANALYSIS_MEASURED = "AnalysisMeasured"

DEFAULT_INTERVAL, DEFAULT_COUNT = 30.0, 1
KEPT = 10
"""Measurements kept in a step's record (the counts cover them all)."""

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_.]+)\s*\}\}")
PLACEHOLDERS = (
    "prompt",
    "label",
    "namespace",
    "release",
    "stable.version",
    "stable.hash",
    "canary.version",
    "canary.hash",
)
_TIME = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True)
class PrometheusSpec:
    """spec.canary.steps[i].analysis.prometheus, read once (defaults applied)."""

    query: str
    success_condition: str
    interval: float
    count: int
    failure_limit: int
    inconclusive_limit: int

    @classmethod
    def of(cls, raw: Mapping[str, Any], parse_duration: Any) -> PrometheusSpec:
        interval = raw.get("interval")
        seconds = parse_duration(interval) if interval is not None else DEFAULT_INTERVAL
        return cls(
            query=str(raw.get("query") or ""),
            success_condition=str(raw.get("successCondition") or ""),
            interval=float(seconds if seconds is not None else DEFAULT_INTERVAL),
            count=int(raw.get("count") or DEFAULT_COUNT),
            failure_limit=int(raw.get("failureLimit") or 0),
            inconclusive_limit=int(raw.get("inconclusiveLimit") or 0),
        )

    def condition(self) -> Condition:
        return analysis_condition.parse(self.success_condition)

    def problem(self, known: tuple[str, ...] = PLACEHOLDERS) -> str | None:
        """Why this analysis can't run (a condition that doesn't parse, an unknown
        placeholder), else None."""
        try:
            self.condition()
        except ConditionError as error:
            return f"successCondition {self.success_condition!r} doesn't parse: {error}"
        unknown = sorted({name for name in _PLACEHOLDER.findall(self.query) if name not in known})
        if unknown:
            return (
                f"query: unknown placeholder {{{{{unknown[0]}}}}} (known: "
                + ", ".join(f"{{{{{name}}}}}" for name in known)
                + ")"
            )
        return None

    def render(self, context: Mapping[str, str]) -> str:
        """The query with its placeholders replaced (names and hashes: no quoting needed)."""
        return _PLACEHOLDER.sub(lambda found: context.get(found.group(1), ""), self.query)


@dataclass(frozen=True)
class Query:
    """A measurement the shell should take now: for this step of this candidate."""

    step: int
    hash: str
    text: str


@dataclass(frozen=True)
class Reading:
    """What one query gave: a value, or why there is none (an inconclusive reason)."""

    step: int
    hash: str
    at: str
    value: float | None = None
    raw: str | None = None
    reason: str | None = None
    message: str = ""


def context(
    release: Any, status: Mapping[str, Any], state: Mapping[str, Any] | None = None
) -> dict[str, str]:
    """The values of the placeholders: the release, its stable revision and, for a canary
    (`state`), the candidate."""
    values = {
        "prompt": str(release.prompt),
        "label": str(release.label),
        "namespace": str(release.namespace),
        "release": str(release.name),
        "stable.version": str(status.get("version") or ""),
        "stable.hash": str(status.get("hash") or ""),
    }
    if state is not None:
        values["canary.version"] = str(state.get("version") or "")
        values["canary.hash"] = str(state.get("hash") or "")
    return values


def _time(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, _TIME).replace(tzinfo=dt.UTC)


def next_at(record: Mapping[str, Any], spec: PrometheusSpec) -> dt.datetime | None:
    """When the next measurement is due (None: now, there is none yet)."""
    taken = record.get("measurements") or ()
    if not taken:
        return None
    return _time(str(taken[-1]["at"])) + dt.timedelta(seconds=spec.interval)


def is_due(record: Mapping[str, Any], spec: PrometheusSpec, now: str) -> bool:
    found = next_at(record, spec)
    return record.get("phase") in (None, RUNNING) and (found is None or _time(now) >= found)


def read_answer(step: int, content_hash: str, at: str, code: int, text: str) -> Reading:
    """Prometheus's answer to an instant query (its HTTP status and body) as a Reading."""
    try:
        answer = json.loads(text)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        return Reading(step, content_hash, at, reason=QUERY_ERROR, message=f"HTTP {code}")
    if answer.get("status") != "success":
        words = f"{answer.get('errorType', 'error')}: {answer.get('error', '')}".strip()
        return Reading(step, content_hash, at, reason=QUERY_ERROR, message=words[:512])
    data = answer.get("data") or {}
    kind, result = data.get("resultType"), data.get("result")
    if kind == "scalar" and isinstance(result, list) and len(result) == 2:
        return _number(step, content_hash, at, result[1])
    if kind != "vector" or not isinstance(result, list):
        words = f"the query returned a {kind}, not an instant vector or a scalar"
        return Reading(step, content_hash, at, reason=QUERY_ERROR, message=words)
    if not result:
        return Reading(step, content_hash, at, reason=NO_SERIES, message="no series")
    if len(result) > 1:
        words = f"{len(result)} series: aggregate the query to one (sum, avg, max ...)"
        return Reading(step, content_hash, at, reason=SEVERAL_SERIES, message=words)
    return _number(step, content_hash, at, (result[0].get("value") or [None, None])[1])


def _number(step: int, content_hash: str, at: str, raw: object) -> Reading:
    try:
        value = float(str(raw))
    except ValueError:
        return Reading(step, content_hash, at, reason=QUERY_ERROR, message=f"value {raw!r}")
    if math.isnan(value):
        return Reading(step, content_hash, at, raw="NaN", reason=NOT_A_NUMBER, message="NaN")
    return Reading(step, content_hash, at, value=value, raw=str(raw))


@dataclass(frozen=True)
class Verdict:
    phase: str
    """Running, Successful, Failed or Inconclusive."""
    message: str
    wait: float | None = None
    """Running: seconds until the next measurement is due."""


def judge(
    record: dict[str, Any], spec: PrometheusSpec, reading: Reading | None, now: str
) -> Verdict:
    """Add the reading to the step's record (when it is this step's and due), then the
    analysis's verdict; the record's counts and phase are brought up to date."""
    if reading is not None and is_due(record, spec, now):
        add(record, spec, reading)
    counts = {key: int(record.get(key) or 0) for key in ("successful", "failed", "inconclusive")}
    record.update(counts)
    last = (record.get("measurements") or [{}])[-1]
    told = said(last)
    tally = (
        f"{counts['successful']} successful, {counts['failed']} failed, "
        f"{counts['inconclusive']} inconclusive of {spec.count}"
    )
    if counts["failed"] > spec.failure_limit:
        verdict = Verdict(
            FAILED, f"{tally}; the last: {told} (successCondition {spec.success_condition})"
        )
    elif counts["inconclusive"] > spec.inconclusive_limit:
        verdict = Verdict(INCONCLUSIVE, f"{tally}; the last: {told}")
    elif counts["successful"] + counts["failed"] >= spec.count:
        verdict = Verdict(SUCCESSFUL, f"{tally}; the last: {told}")
    else:
        due = next_at(record, spec)
        wait = 0.0 if due is None else max(0.0, (due - _time(now)).total_seconds())
        verdict = Verdict(RUNNING, f"{tally}" + (f"; the last: {told}" if last else ""), wait)
    record["phase"] = verdict.phase
    return verdict


def add(record: dict[str, Any], spec: PrometheusSpec, reading: Reading) -> None:
    """Count the reading and keep it among the record's last measurements."""
    measurement: dict[str, Any] = {"at": reading.at}
    if reading.value is not None:
        met = spec.condition()(reading.value)
        measurement["phase"] = SUCCESSFUL if met else FAILED
        record["successful" if met else "failed"] = (
            int(record.get("successful" if met else "failed") or 0) + 1
        )
    else:
        measurement["phase"] = INCONCLUSIVE
        measurement["reason"] = reading.reason or QUERY_ERROR
        record["inconclusive"] = int(record.get("inconclusive") or 0) + 1
    if reading.raw is not None:
        measurement["value"] = reading.raw
    if reading.message:
        measurement["message"] = reading.message[:512]
    record["measurements"] = [*(record.get("measurements") or ()), measurement][-KEPT:]


def said(measurement: Mapping[str, Any]) -> str:
    if not measurement:
        return "none yet"
    if measurement.get("phase") == INCONCLUSIVE:
        return f"{measurement.get('reason')} ({measurement.get('message', '')})"
    return f"{measurement.get('value')} ({measurement.get('phase')})"


def summary(records: Any) -> list[dict[str, Any]]:
    """The history's account of a canary's Prometheus analyses: verdicts and counts."""
    found = []
    for record in records or ():
        if not record.get("query"):
            continue
        last = (record.get("measurements") or [{}])[-1]
        entry = {
            "step": record.get("index"),
            "phase": record.get("phase") or RUNNING,
            "successful": int(record.get("successful") or 0),
            "failed": int(record.get("failed") or 0),
            "inconclusive": int(record.get("inconclusive") or 0),
        }
        if last.get("value") is not None:
            entry["lastValue"] = last["value"]
        found.append(entry)
    return found
