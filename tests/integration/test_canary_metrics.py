"""Canaries judged by live metrics, on the real control plane with a real Prometheus.

Workloads are local processes (kwok's pods run no containers) serving requests through the
SDK from the release's ConfigMap, laid out as the kubelet mounts it and kept in sync by a
thread here, and recording each response's outcome; Prometheus scrapes their /metrics every
second and the operator queries it (--prometheus-url) for the canary's analysis steps.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest

from prompt_release.core import canary
from tests.controlplane.cluster import free_port
from tests.controlplane.prometheus_server import LocalPrometheus
from tests.integration.conftest import Prompt
from tests.integration.test_canary import (
    NAME,
    canary_state,
    data,
    no_canary_json,
    patch_canary,
    promote_in_git,
    v1_live_with_v2_ready,
)
from tests.kube import Kubectl, OperatorProcess, eventually
from tests.prompts import apply, condition, release, released, version

pytestmark = pytest.mark.integration

THRESHOLD = 0.1
# Scoped to the test's namespace (the scrape targets' label): every test releases the same
# content, so the same hashes, and a test's series stay in the [10s] window of the next one.
ERROR_RATE = (
    'sum(rate(promptrelease_responses_total{{namespace="{namespace}",prompt="{prompt}",'
    'label="{label}",hash="{hash}",outcome="error"}}[10s])) / '
    'sum(rate(promptrelease_responses_total{{namespace="{namespace}",prompt="{prompt}",'
    'label="{label}",hash="{hash}"}}[10s]))'
)
QUERY = ERROR_RATE.format(
    namespace="{{namespace}}", prompt="{{prompt}}", label="{{label}}", hash="{{canary.hash}}"
)


def analysis_step(**extra: Any) -> dict[str, Any]:
    prometheus = {
        "query": QUERY,
        "successCondition": f"result < {THRESHOLD}",
        "interval": "2s",
        "count": 3,
        "inconclusiveLimit": 10,  # no series until the candidate's first scrapes
        **extra,
    }
    return {"analysis": {"prometheus": prometheus}}


def operator_metric(port: int, name: str) -> dict[str, float]:
    """The operator's own metric samples of this name, by their `result` label."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    found: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith(name + "{"):
            label = line.split('result="', 1)[1].split('"', 1)[0]
            found[label] = float(line.rsplit(" ", 1)[1])
    return found


def first_crossing(prometheus: LocalPrometheus, promql: str, stop: threading.Event) -> list[float]:
    """Poll the query every 0.2 s from a thread; the list gets the moment it first exceeds
    the threshold."""
    crossed: list[float] = []

    def poll() -> None:
        while not stop.is_set() and not crossed:
            value = prometheus.value(promql)
            if value is not None and value >= THRESHOLD:
                crossed.append(time.monotonic())
            stop.wait(0.2)

    threading.Thread(target=poll, daemon=True).start()
    return crossed


def test_a_canary_whose_error_rate_exceeds_the_condition_aborts_with_stable_untouched(
    kubectl: Kubectl,
    run_operator: Callable[..., OperatorProcess],
    prometheus: LocalPrometheus,
    workloads: Callable[..., list[str]],
    summary: Callable[[str], None],
) -> None:
    metrics_port = free_port()
    run_operator("--prometheus-url", prometheus.url, "--metrics-port", str(metrics_port))
    first, stable, v2_hash = v1_live_with_v2_ready(kubectl)
    workloads(errors={"stable": 0.01, "canary": 0.5})
    promql = ERROR_RATE.format(
        namespace=kubectl.namespace, prompt="summarizer", label="production", hash=v2_hash
    )
    stop = threading.Event()
    crossed = first_crossing(prometheus, promql, stop)

    patch_canary(
        kubectl,
        {"version": "summarizer-v2", "weight": 50, "steps": [analysis_step(), {"setWeight": 100}]},
    )
    aborted = canary_state(kubectl, phase="Aborted")
    aborted_at = time.monotonic()
    stop.set()
    state = aborted["status"]["canary"]
    assert state["reason"] == "AnalysisFailed"
    (record,) = [r for r in state["steps"] if r["type"] == "analysis"]
    assert record["phase"] == "Failed" and record["failed"] == 1
    assert record["query"] == promql
    last = record["measurements"][-1]
    assert last["phase"] == "Failed" and float(last["value"]) >= THRESHOLD
    assert f"successCondition result < {THRESHOLD}" in state["message"]
    # stable stays byte for byte; the revision and its history don't move
    assert no_canary_json(kubectl) == stable
    final = kubectl.get("promptrelease", NAME)
    assert final["status"]["revision"] == 1
    assert final["status"]["history"] == first["status"]["history"]
    assert condition(final)["reason"] == "AnalysisFailed"

    queries = record["successful"] + record["failed"] + record["inconclusive"]
    counted = operator_metric(metrics_port, "promptrelease_analysis_queries_total")
    assert sum(counted.values()) >= queries  # a pass that met a conflict measures again
    assert crossed, "Prometheus never saw the candidate's error rate cross the threshold"
    summary(
        f"canary analysis: error rate {last['value']} >= {THRESHOLD}: aborted "
        f"{aborted_at - crossed[0]:.1f} s after Prometheus first showed the crossing; "
        f"{queries} measurements ({record['inconclusive']} inconclusive while the candidate "
        f"had no series yet), {sum(counted.values()):.0f} Prometheus queries by the operator"
    )
    time.sleep(3)  # aborted stays aborted: no more queries, canary.json stays away
    assert canary.CANARY_KEY not in data(kubectl)
    after = kubectl.get("promptrelease", NAME)["status"]["canary"]["steps"]
    assert next(r for r in after if r["type"] == "analysis")["failed"] == 1


def test_a_healthy_canary_passes_its_analysis_and_promotes_with_the_verdict_in_history(
    kubectl: Kubectl,
    prompt: Prompt,
    run_operator: Callable[..., OperatorProcess],
    prometheus: LocalPrometheus,
    workloads: Callable[..., list[str]],
    summary: Callable[[str], None],
) -> None:
    run_operator("--prometheus-url", prometheus.url)
    _, stable, v2_hash = v1_live_with_v2_ready(kubectl)
    workloads(errors={"stable": 0.01, "canary": 0.02})
    started = time.monotonic()
    patch_canary(
        kubectl,
        {"version": "summarizer-v2", "weight": 50, "steps": [analysis_step(), {"setWeight": 100}]},
    )
    done = canary_state(kubectl, phase="Completed", weight=100)
    took = time.monotonic() - started
    (record,) = [r for r in done["status"]["canary"]["steps"] if r["type"] == "analysis"]
    assert (record["phase"], record["successful"], record["failed"]) == ("Successful", 3, 0)
    assert all(float(m["value"]) < THRESHOLD for m in record["measurements"] if "value" in m)
    assert {k: v for k, v in data(kubectl).items() if k != canary.CANARY_KEY} == stable
    shown = prompt("canary", "status", "summarizer", "-l", "production")
    assert "analysis step 1: Successful, 3 successful, 0 failed" in shown.stdout, shown.stdout

    promote_in_git(kubectl)
    promoted = released(kubectl, NAME, 2)
    entry = promoted["status"]["history"][0]
    assert (entry["version"], entry["hash"]) == ("summarizer-v2", v2_hash)
    (verdict,) = entry["canary"]["analyses"]
    assert (verdict["phase"], verdict["successful"], verdict["failed"]) == ("Successful", 3, 0)
    summary(
        f"canary analysis: a healthy candidate passed 3 measurements and finished its steps "
        f"{took:.1f} s after spec.canary was set ({record['inconclusive']} inconclusive first)"
    )


class Silent:
    """A TCP server that accepts connections and never answers: a Prometheus that hangs."""

    def __init__(self) -> None:
        import socket

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.held: list[Any] = []
        self.stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        self.sock.settimeout(0.5)
        while not self.stop.is_set():
            try:
                self.held.append(self.sock.accept()[0])
            except OSError:
                continue

    def close(self) -> None:
        self.stop.set()
        for conn in self.held:
            conn.close()
        self.sock.close()


@pytest.mark.parametrize("fault", ["down", "hangs"])
def test_a_prometheus_that_is_down_or_hangs_pauses_the_canary_and_blocks_no_other_release(
    kubectl: Kubectl, run_operator: Callable[..., OperatorProcess], fault: str
) -> None:
    silent = Silent() if fault == "hangs" else None
    port = silent.port if silent is not None else free_port()  # nothing listens on a free one
    try:
        run_operator("--prometheus-url", f"http://127.0.0.1:{port}", "--prometheus-timeout", "2")
        _, stable, _ = v1_live_with_v2_ready(kubectl)
        step = analysis_step(inconclusiveLimit=1, interval="1s")
        patch_canary(kubectl, {"version": "summarizer-v2", "weight": 20, "steps": [step]})
        served = eventually(
            lambda: (lambda d: d if canary.CANARY_KEY in d else None)(data(kubectl)),
            what="canary.json served",
        )
        # while the analysis waits on Prometheus, another release goes live at once
        apply(kubectl, version("other-v1", prompt="other"), release("other-v1", prompt="other"))
        started = time.monotonic()
        released(kubectl, "other-production", 1)
        other_took = time.monotonic() - started
        paused = canary_state(kubectl, phase="Paused")
        state = paused["status"]["canary"]
        (record,) = [r for r in state["steps"] if r["type"] == "analysis"]
        assert record["phase"] == "Inconclusive" and record["successful"] == 0
        assert {m["reason"] for m in record["measurements"]} == {"PrometheusUnreachable"}
        assert "PrometheusUnreachable" in condition(paused)["message"]
        assert state["weight"] == 20 and data(kubectl) == served  # nothing live changed
        assert {k: v for k, v in served.items() if k != canary.CANARY_KEY} == stable
        assert other_took < 10, f"another release waited {other_took:.1f} s"
    finally:
        if silent is not None:
            silent.close()


def test_a_condition_that_doesnt_parse_is_refused_and_serves_nothing(
    kubectl: Kubectl, operator: OperatorProcess
) -> None:
    _, stable, _ = v1_live_with_v2_ready(kubectl)
    step = analysis_step(successCondition="result <> 0.1")
    patch_canary(kubectl, {"version": "summarizer-v2", "weight": 20, "steps": [step]})

    def refused() -> dict[str, Any] | None:
        obj = kubectl.get("promptrelease", NAME)
        return obj if condition(obj).get("reason") == "InvalidAnalysis" else None

    obj = eventually(refused, what="the InvalidAnalysis refusal")
    assert "successCondition 'result <> 0.1' doesn't parse" in condition(obj)["message"]
    assert data(kubectl) == stable and "canary" not in obj["status"]
    # both kinds of analysis at once are refused by the API server itself
    both = {"analysis": {**step["analysis"], "jobTemplate": {"spec": {}}}}
    result = kubectl.run(
        "patch",
        "promptrelease",
        NAME,
        "--type=merge",
        "-p",
        json.dumps(
            {"spec": {"canary": {"version": "summarizer-v2", "weight": 1, "steps": [both]}}}
        ),
        check=False,
    )
    assert result.returncode != 0
    assert "exactly one of jobTemplate and prometheus" in result.stderr


BAD_QUERIES = {
    "broken": ("sum(rate(promptrelease_responses_total[1m]", "QueryError"),
    "absent": ('promptrelease_no_such_metric{hash="{{canary.hash}}"}', "NoSeries"),
    "several": (
        'label_replace(vector(1), "a", "x", "", "") or label_replace(vector(2), "a", "y", "", "")',
        "SeveralSeries",
    ),
    "nan": ("vector(0) / vector(0)", "NotANumber"),
}


def test_queries_without_one_number_are_inconclusive_on_a_real_prometheus(
    kubectl: Kubectl, run_operator: Callable[..., OperatorProcess], prometheus: LocalPrometheus
) -> None:
    run_operator("--prometheus-url", prometheus.url)
    for name in BAD_QUERIES:
        apply(kubectl, version(f"{name}-v1", prompt=name), version(f"{name}-v2", prompt=name))
        apply(kubectl, release(f"{name}-v1", prompt=name))
    for name in BAD_QUERIES:
        released(kubectl, f"{name}-production", 1)
    for name, (query, _) in BAD_QUERIES.items():
        step = analysis_step(query=query, inconclusiveLimit=0, interval="1s")
        patch = {"spec": {"canary": {"version": f"{name}-v2", "weight": 5, "steps": [step]}}}
        kubectl(
            "patch", "promptrelease", f"{name}-production", "--type=merge", "-p", json.dumps(patch)
        )
    for name, (_, reason) in BAD_QUERIES.items():

        def paused(release_name: str = f"{name}-production") -> dict[str, Any] | None:
            obj = kubectl.get("promptrelease", release_name)
            state = obj.get("status", {}).get("canary") or {}
            return obj if state.get("phase") == "Paused" else None

        obj = eventually(paused, timeout=60, what=f"{name}'s canary paused")
        state = obj["status"]["canary"]
        (record,) = [r for r in state["steps"] if r["type"] == "analysis"]
        (measurement,) = record["measurements"]
        assert (measurement["phase"], measurement["reason"]) == ("Inconclusive", reason), record
        assert record["successful"] == 0 and state["weight"] == 5
