"""spec.verification through `decide`, pass after pass: a window of Prometheus
measurements after a new revision goes live; a failed one rolls back with rollbackOnFailure."""

from __future__ import annotations

import datetime as dt
from typing import Any

from prompt_release.core import verification
from prompt_release.core.analysis import Reading
from prompt_release.core.decision import Decision, Now, Observed, decide
from prompt_release.core.views import ReleaseView, VersionView
from tests.unit.test_release_plan import release, version

START = dt.datetime(2026, 12, 4, 10, 0, 0, tzinfo=dt.UTC)
QUERY = 'sum(rate(errors{prompt="{{prompt}}",hash="{{stable.hash}}"}[1m]))'


class Window:
    """A release with a verification window, passes made at a clock the test moves."""

    def __init__(self, rollback: bool = True, **prometheus: Any) -> None:
        check = {"query": QUERY, "successCondition": "result < 0.1", "interval": "10s"}
        window = {"duration": "60s", "prometheus": {**check, **prometheus}}
        rollout = {"rollbackOnFailure": True} if rollback else {}
        self.body = release("p-v1", rollout=rollout, verification=window)
        self.versions = {n: VersionView.of(version(n)) for n in ("p-v1", "p-v2")}
        self.clock = START
        self.config_map: dict[str, Any] | None = None
        self.queries: list[str] = []
        self.events: list[str] = []

    def now(self) -> str:
        return self.clock.strftime("%Y-%m-%dT%H:%M:%SZ")

    def set_version(self, name: str) -> None:
        self.body = {**self.body, "spec": {**self.body["spec"], "version": name}}

    def reconcile(self, seconds: float = 0, value: float | str | None = None) -> Decision:
        self.clock += dt.timedelta(seconds=seconds)
        view = ReleaseView.of(self.body)
        previous = view.status.previous_entry()
        reading = None
        query = verification.due(self.body, self.now())
        if query is not None and value is not None:
            self.queries.append(query.text)
            if isinstance(value, str):
                reading = Reading(query.step, query.hash, self.now(), reason=value, message=value)
            else:
                reading = Reading(query.step, query.hash, self.now(), value=value, raw=str(value))
        decided = decide(
            Observed(
                body=self.body,
                version=self.versions.get(view.target_version),
                config_map=self.config_map,
                previous=None if previous is None else self.versions[str(previous["version"])],
                reading=reading,
            ),
            Now(self.now(), 0.0),
        )
        if decided.config_map is not None:
            self.config_map = decided.config_map
        if decided.status is not None:
            self.body = {**self.body, "status": decided.status}
        self.events += [event.reason for event in decided.events]
        return decided

    @property
    def status(self) -> dict[str, Any]:
        return dict(self.body["status"])


def live_v2(window: Window) -> None:
    window.reconcile()
    window.set_version("p-v2")
    window.reconcile(1)
    assert window.status["revision"] == 2


def test_a_new_revision_is_watched_for_the_window_and_passes() -> None:
    w = Window()
    live_v2(w)
    state = w.status["verification"]
    assert (state["revision"], state["phase"]) == (2, "Running")
    assert state["query"] == QUERY.replace("{{prompt}}", "p").replace(
        "{{stable.hash}}", w.status["hash"]
    )
    for _ in range(7):
        w.reconcile(10, value=0.01)
    state = w.status["verification"]
    assert state["phase"] == "Successful" and state["failed"] == 0
    assert state["successful"] >= 5
    assert "VerificationPassed" in w.events and w.status["revision"] == 2


def test_a_regression_in_the_window_rolls_back_with_the_measurements_in_history() -> None:
    w = Window(failureLimit=1)
    live_v2(w)
    w.reconcile(0, value=0.01)
    w.reconcile(10, value=0.5)
    assert w.status["revision"] == 2  # one failure is tolerated
    decided = w.reconcile(10, value=0.6)
    status = w.status
    assert (status["revision"], status["version"]) == (3, "p-v1")  # the previous one, again
    assert decided.config_map is not None
    assert w.config_map is not None and "p-v1" in w.config_map["data"]["prompt.json"]
    failed = next(e for e in status["history"] if e["revision"] == 2)
    assert failed["verification"]["phase"] == "Failed"
    assert [m["value"] for m in failed["verification"]["measurements"]] == ["0.01", "0.5", "0.6"]
    assert failed["rolloutFailed"].startswith("verification failed: 1 successful, 2 failed")
    assert status["history"][0]["changelog"].startswith("Automatic rollback: verification failed")
    assert status["verification"]["rolledBackBy"] == 3
    assert {"VerificationFailed", "RolledBackOnFailure"} <= set(w.events)
    # the rollback isn't verified, and p-v2 is held back: nothing moves any more
    asked = len(w.queries)
    for _ in range(3):
        w.reconcile(30, value=0.9)
    assert w.status["revision"] == 3 and len(w.queries) == asked


def test_without_rollback_a_failed_window_only_reports() -> None:
    w = Window(rollback=False)
    live_v2(w)
    w.reconcile(0, value=0.5)
    assert w.status["revision"] == 2
    assert w.status["verification"]["phase"] == "Failed"
    assert "VerificationFailed" in w.events


def test_a_prometheus_that_is_down_never_passes_the_window() -> None:
    w = Window(inconclusiveLimit=10)
    live_v2(w)
    for _ in range(7):
        w.reconcile(10, value="PrometheusUnreachable")
    state = w.status["verification"]
    assert (state["phase"], state["successful"]) == ("Inconclusive", 0)
    assert w.status["revision"] == 2  # nothing live changed
    assert "VerificationInconclusive" in w.events


def test_a_verification_that_cant_run_refuses_the_release() -> None:
    w = Window(successCondition="result <")
    decided = w.reconcile()
    assert decided.config_map is None and not decided.ready
    assert w.events == ["InvalidVerification"]
    w2 = Window(query='up{h="{{canary.hash}}"}')
    w2.reconcile()
    message = w2.status["conditions"][0]["message"]
    assert "unknown placeholder {{canary.hash}}" in message
