"""spec.verification on the real control plane with a real Prometheus: a plain release
that regresses during its window rolls back by itself, the measurements in its history."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.controlplane.prometheus_server import LocalPrometheus
from tests.integration.test_canary import NAME, data
from tests.integration.test_canary_metrics import ERROR_RATE, THRESHOLD
from tests.kube import Kubectl, OperatorProcess, eventually
from tests.prompts import apply, release, released, version

pytestmark = pytest.mark.integration

QUERY = ERROR_RATE.format(
    namespace="{{namespace}}", prompt="{{prompt}}", label="{{label}}", hash="{{stable.hash}}"
)


def verification(**extra: Any) -> dict[str, Any]:
    prometheus = {
        "query": QUERY,
        "successCondition": f"result < {THRESHOLD}",
        "interval": "2s",
        "count": 2,
        "failureLimit": 1,
        "inconclusiveLimit": 10,  # no series until the new revision's first scrapes
        **extra,
    }
    return {"duration": "40s", "prometheus": prometheus}


def test_a_release_that_regresses_in_its_window_rolls_back_with_the_measurements_in_history(
    kubectl: Kubectl,
    run_operator: Callable[..., OperatorProcess],
    prometheus: LocalPrometheus,
    workloads: Callable[..., list[str]],
    summary: Callable[[str], None],
) -> None:
    run_operator("--prometheus-url", prometheus.url)
    apply(kubectl, version("summarizer-v1"), version("summarizer-v2"))
    apply(
        kubectl,
        release("summarizer-v1", rollout={"rollbackOnFailure": True}, verification=verification()),
    )
    released(kubectl, NAME, 1)
    first = data(kubectl)
    workloads(errors={"summarizer-v1": 0.0, "summarizer-v2": 0.5})

    started = time.monotonic()
    kubectl(
        "patch",
        "promptrelease",
        NAME,
        "--type=merge",
        "-p",
        json.dumps({"spec": {"version": "summarizer-v2"}}),
    )

    def rolled_back() -> dict[str, Any] | None:
        obj = kubectl.get("promptrelease", NAME)
        return obj if obj.get("status", {}).get("revision") == 3 else None

    obj = eventually(rolled_back, timeout=90, interval=0.5, what="the automatic rollback")
    took = time.monotonic() - started
    status = obj["status"]
    assert status["version"] == "summarizer-v1"
    assert status["history"][0]["changelog"].startswith("Automatic rollback: verification failed")
    failed = next(e for e in status["history"] if e["revision"] == 2)
    window = failed["verification"]
    assert window["phase"] == "Failed" and window["failed"] == 2
    assert all(
        float(m["value"]) >= THRESHOLD for m in window["measurements"] if m["phase"] == "Failed"
    )
    assert status["verification"]["rolledBackBy"] == 3
    # what v1 served is served again, byte for byte but for the revision
    prompt_json = json.loads(
        eventually(lambda: data(kubectl).get("prompt.json"), what="prompt.json")
    )
    assert (prompt_json["version"], prompt_json["hash"]) == (
        "summarizer-v1",
        json.loads(first["prompt.json"])["hash"],
    )
    summary(
        f"verification: a regressed release (error rate {window['measurements'][-1]['value']}) "
        f"rolled back {took:.1f} s after spec.version moved, after "
        f"{window['successful'] + window['failed'] + window['inconclusive']} measurements"
    )
    # the rollback isn't verified again and v2 stays held back
    time.sleep(5)
    again = kubectl.get("promptrelease", NAME)["status"]
    assert again["revision"] == 3 and again["verification"]["revision"] == 2
