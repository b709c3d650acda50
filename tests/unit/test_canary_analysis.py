"""A canary's Prometheus analysis, pass after pass, without a cluster: the condition grammar,
Prometheus's answers as readings, and the verdicts (failed aborts, inconclusive pauses, never
a pass)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from prompt_release.core import analysis, canary, canary_plan, canary_steps
from prompt_release.core import release as release_core
from prompt_release.core.analysis import Reading
from prompt_release.core.analysis_condition import ConditionError, parse
from prompt_release.core.canary_spec import CanarySpec
from prompt_release.core.views import ReleaseView
from tests.unit.test_canary_plan import World, hash_of, version

ERROR_RATE = (
    'sum(rate(promptrelease_responses_total{prompt="{{prompt}}",label="{{label}}",'
    'hash="{{canary.hash}}",outcome="error"}[1m]))'
)

# -- the condition grammar ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("result < 0.05", True, False),
        ("result[0] <= 0.05 && result >= 0", True, False),
        ("not (result > 0.05)", True, False),
        ("0.05 > result or result == 1", True, True),
        ("result < 5e-2", True, False),
        ("!(result >= 0.05) and result != -1", True, False),
    ],
)
def test_conditions_parse_and_judge(text: str, low: bool, high: bool) -> None:
    condition = parse(text)
    assert (condition(0.01), condition(1.0)) == (low, high)
    assert condition(math.nan) is False  # NaN meets no condition


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("", "it is empty"),
        ("result <", "it ends where result or a number was expected"),
        ("result + 1 < 2", "unexpected '+' at column 8"),
        ("__import__('os').system('x') == 0", "unknown name '__import__' at column 1"),
        ("len(result) > 0", "unknown name 'len'"),
        ("results < 1", "unknown name 'results'"),
        ("result.real < 1", "unexpected '.'"),
        ("(result < 1", "it ends where ')' was expected"),
        ("1 < 2", "never reads result"),
        ("result < 1 result", "unexpected 'result'"),
        ("x" * 600, "over 512"),
    ],
)
def test_conditions_that_dont_parse_say_where(text: str, said: str) -> None:
    with pytest.raises(ConditionError, match=re.escape(said)):
        parse(text)


# -- Prometheus's answers --------------------------------------------------------------------


def answer(*values: str, kind: str = "vector") -> str:
    if kind == "scalar":
        return json.dumps(
            {"status": "success", "data": {"resultType": "scalar", "result": [1.0, values[0]]}}
        )
    series = [{"metric": {"pod": f"p{i}"}, "value": [1.0, v]} for i, v in enumerate(values)]
    return json.dumps({"status": "success", "data": {"resultType": kind, "result": series}})


@pytest.mark.parametrize(
    ("code", "text", "value", "reason"),
    [
        (200, answer("0.25"), 0.25, None),
        (200, answer("3", kind="scalar"), 3.0, None),
        (200, answer(), None, analysis.NO_SERIES),
        (200, answer("0.1", "0.2"), None, analysis.SEVERAL_SERIES),
        (200, answer("NaN"), None, analysis.NOT_A_NUMBER),
        (200, answer("0.1", kind="matrix"), None, analysis.QUERY_ERROR),
        (
            400,
            json.dumps({"status": "error", "errorType": "bad_data", "error": "parse error"}),
            None,
            analysis.QUERY_ERROR,
        ),
        (502, "<html>bad gateway</html>", None, analysis.QUERY_ERROR),
    ],
)
def test_answers_become_readings(code: int, text: str, value: float | None, reason: str) -> None:
    reading = analysis.read_answer(2, "sha256:x", "t", code, text)
    assert (reading.value, reading.reason, reading.step) == (value, reason, 2)
    if reason == analysis.QUERY_ERROR and code == 400:
        assert reading.message == "bad_data: parse error"


# -- the canary, pass after pass -------------------------------------------------------------


@dataclass
class Prometheus:
    """Plays Prometheus for the shell: a value (or an inconclusive reason) per query."""

    answer: Callable[[str], float | str]
    queries: list[str]


class Analysed(World):
    """The test world of test_canary_plan, with the shell's measurement step added."""

    prometheus: Prometheus | None = None

    def reconcile(self, seconds: float = 0) -> canary_plan.CanaryPlan:
        import datetime as dt

        self.clock += dt.timedelta(seconds=seconds)
        body = self.body()
        release = ReleaseView.of(body)
        stable = release_core.plan(
            release,
            self.view(release.target_version),
            canary_plan.stable_part(self.config_map),
            self.now,
        )
        spec = CanarySpec.of(body)
        reading = self._measure(body)
        result = canary_plan.plan(
            release,
            body,
            stable,
            self.config_map,
            self.view(spec.version) if spec else None,
            None,
            self.now,
            reading=reading,
        )
        if result.plan.config_map is not None:
            self.config_map = result.plan.config_map
        self.status = result.plan.status
        self.events += result.plan.events
        self.last = result
        return result

    def _measure(self, body: dict[str, Any]) -> Reading | None:
        query = canary_steps.due(body, self.now)
        if query is None or self.prometheus is None:
            return None
        self.prometheus.queries.append(query.text)
        found = self.prometheus.answer(query.text)
        if isinstance(found, str):
            return Reading(query.step, query.hash, self.now, reason=found, message=found)
        return Reading(query.step, query.hash, self.now, value=found, raw=repr(found))

    def step_record(self, index: int = 0) -> dict[str, Any]:
        return next(r for r in self.status["canary"]["steps"] if r["index"] == index)


def analysed(answer: Callable[[str], float | str], **prometheus: Any) -> Analysed:
    w = Analysed(versions={n: version(n) for n in ("p-v1", "p-v2")}, spec={"version": "p-v1"})
    w.prometheus = Prometheus(answer, [])
    w.reconcile()
    step = {
        "analysis": {
            "prometheus": {"query": ERROR_RATE, "successCondition": "result < 0.05", **prometheus}
        }
    }
    w.edit(canary={"version": "p-v2", "weight": 10, "steps": [step, {"setWeight": 50}]})
    w.reconcile()  # canary.json written
    return w


def test_healthy_measurements_pass_the_analysis_and_the_canary_moves_on() -> None:
    w = analysed(lambda query: 0.01, interval="30s", count=3)
    w.reconcile()  # canary.json is live: the step records its query
    record = w.step_record()
    assert record["query"] == ERROR_RATE.replace("{{prompt}}", "p").replace(
        "{{label}}", "production"
    ).replace("{{canary.hash}}", hash_of("p-v2"))
    assert w.prometheus is not None and w.prometheus.queries == []
    w.reconcile()  # due: the first measurement
    w.reconcile(10)  # not due yet: no query
    assert len(w.prometheus.queries) == 1
    assert w.last is not None and w.last.wake_in == pytest.approx(20)
    w.reconcile(20)
    assert w.status["canary"]["phase"] == "Progressing"
    w.reconcile(30)
    state = w.status["canary"]
    assert (state["phase"], state["weight"]) == ("Completed", 50)
    record = w.step_record()
    assert (record["phase"], record["successful"], record["failed"]) == ("Successful", 3, 0)
    assert len(w.prometheus.queries) == 3  # one query per measurement
    assert "AnalysisPassed" in w.reasons()


def test_an_error_rate_over_the_condition_aborts_and_keeps_stable_exactly() -> None:
    w = analysed(lambda query: 0.4, failureLimit=1, count=5, interval="10s")
    stable = {k: v for k, v in w.data().items() if k != canary.CANARY_KEY}
    w.reconcile()
    w.reconcile()
    assert w.status["canary"]["phase"] == "Progressing"  # one failure is tolerated
    w.reconcile(10)
    assert w.data() == stable  # canary.json gone, the stable keys byte for byte
    state = w.status["canary"]
    assert (state["phase"], state["reason"]) == ("Aborted", "AnalysisFailed")
    assert "2 failed" in state["message"] and "result < 0.05" in state["message"]
    assert [m["phase"] for m in w.step_record()["measurements"]] == ["Failed", "Failed"]
    assert w.step_record()["measurements"][-1]["value"] == "0.4"
    assert "AnalysisFailed" in w.reasons()


@pytest.mark.parametrize(
    "reason",
    [
        analysis.UNREACHABLE,
        analysis.QUERY_ERROR,
        analysis.NO_SERIES,
        analysis.SEVERAL_SERIES,
        analysis.NOT_A_NUMBER,
    ],
)
def test_inconclusive_measurements_never_pass_and_pause_the_canary(reason: str) -> None:
    w = analysed(lambda query: reason, count=1, inconclusiveLimit=1, interval="5s")
    live = w.data()
    w.reconcile()
    for _ in range(3):
        w.reconcile(5)
    state = w.status["canary"]
    assert state["phase"] == "Paused" and state["weight"] == 10  # nothing live changed
    assert w.data() == live
    record = w.step_record()
    assert (record["phase"], record["inconclusive"], record["successful"]) == ("Inconclusive", 2, 0)
    assert record["measurements"][-1]["reason"] == reason
    assert "AnalysisInconclusive" in w.reasons()
    assert reason in w.ready()["message"]
    # it stays paused, asking nothing more of Prometheus
    asked = len(w.prometheus.queries) if w.prometheus else 0
    w.reconcile(60)
    assert w.status["canary"]["phase"] == "Paused"
    assert w.prometheus is not None and len(w.prometheus.queries) == asked
    # a human resumes it past the step
    w.edit_canary(resumeStep=0)
    w.reconcile()
    assert w.status["canary"]["phase"] == "Completed"
    assert "passed by a human" in w.step_record()["message"]


def test_a_condition_that_doesnt_parse_is_refused_and_nothing_is_served() -> None:
    w = Analysed(versions={n: version(n) for n in ("p-v1", "p-v2")}, spec={"version": "p-v1"})
    w.reconcile()
    before = w.data()
    step = {"analysis": {"prometheus": {"query": "up", "successCondition": "result <> 1"}}}
    w.edit(canary={"version": "p-v2", "weight": 10, "steps": [step]})
    w.reconcile()
    assert w.data() == before and "canary" not in w.status
    ready = w.ready()
    assert (ready["status"], ready["reason"]) == ("False", "InvalidAnalysis")
    assert (
        "spec.canary.steps[0].analysis.prometheus: successCondition 'result <> 1' doesn't "
        "parse: expected result or a number at column 9, found '>'" in ready["message"]
    )


def test_an_unknown_placeholder_is_refused_naming_it() -> None:
    w = Analysed(versions={n: version(n) for n in ("p-v1", "p-v2")}, spec={"version": "p-v1"})
    w.reconcile()
    step = {
        "analysis": {
            "prometheus": {"query": 'up{h="{{canary.sha}}"}', "successCondition": "result == 1"}
        }
    }
    w.edit(canary={"version": "p-v2", "weight": 10, "steps": [step]})
    w.reconcile()
    assert w.ready()["reason"] == "InvalidAnalysis"
    assert "unknown placeholder {{canary.sha}}" in w.ready()["message"]


def test_measurements_are_bounded_and_the_promotion_records_the_verdict() -> None:
    values = iter([0.01] * 30)
    w = analysed(lambda query: next(values), count=12, interval="1s")
    w.reconcile()
    for _ in range(14):
        w.reconcile(1)
    record = w.step_record()
    assert record["successful"] == 12 and len(record["measurements"]) == analysis.KEPT
    w.edit(version="p-v2", hash=hash_of("p-v2"), changelog="promote", canary=None)
    w.reconcile(1)
    origin = w.status["history"][0]["canary"]
    assert origin["analyses"] == [
        {
            "step": 0,
            "phase": "Successful",
            "successful": 12,
            "failed": 0,
            "inconclusive": 0,
            "lastValue": "0.01",
        }
    ]


def test_a_reading_for_another_candidate_is_not_counted() -> None:
    w = analysed(lambda query: 0.01)
    w.reconcile()
    body = w.body()
    query = canary_steps.due(body, w.now)
    assert query is not None and query.hash == hash_of("p-v2")
    record: dict[str, Any] = {"index": 0, "query": "q"}
    spec = analysis.PrometheusSpec("q", "result < 1", 30, 1, 0, 0)
    verdict = analysis.judge(record, spec, None, w.now)
    assert verdict.phase == "Running" and verdict.wait == 0
