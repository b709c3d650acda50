"""The consumer contract gate on the real control plane: a version the consuming Deployment
can't use stays off (ConfigMap byte-identical) until the Deployment declares what it needs."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from prompt_release.core.consumers import (
    ACCEPTS_RESPONSE_FORMAT,
    SUPPLIES_VARIABLES,
    response_format_hash,
)
from tests.integration.conftest import Prompt
from tests.integration.test_canary import NAME, canary_state, data, patch_canary, served_weight
from tests.integration.test_rollout import deployment
from tests.kube import Kubectl, OperatorProcess, eventually
from tests.prompts import apply, condition, release, released, version, wait_reason

pytestmark = pytest.mark.integration

V2: dict[str, Any] = {
    "template": "Summarize {ticket} for {customer}",
    "variables": ["ticket", "customer"],
}
SCHEMA = {"type": "object", "properties": {"bullets": {"type": "array"}}}
SUMMARY = {"name": "summary", "schema": SCHEMA}


def consumer(name: str, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    """A Deployment mounting the release's ConfigMap, its pod template annotated."""
    found = deployment(name, replicas=1)
    found["spec"]["template"]["metadata"]["annotations"] = annotations or {}
    return found


def annotate(kubectl: Kubectl, name: str, annotations: dict[str, str]) -> None:
    patch = {"spec": {"template": {"metadata": {"annotations": annotations}}}}
    kubectl("patch", "deployment", name, "--type=merge", "-p", json.dumps(patch))


def refused(kubectl: Kubectl) -> dict[str, Any]:
    return wait_reason(kubectl, NAME, "ConsumerIncompatible")


def v1_live(kubectl: Kubectl, *consumers: dict[str, Any], **spec: Any) -> None:
    """summarizer-v1 live as revision 1, summarizer-v2 (needing `customer`) there to move to,
    beside these consumers."""
    apply(kubectl, version("summarizer-v1"), version("summarizer-v2", **V2), *consumers)
    apply(kubectl, release("summarizer-v1", **spec))
    released(kubectl, NAME, 1)


def test_a_missing_variable_holds_the_release_until_the_deployment_supplies_it(
    kubectl: Kubectl, operator: OperatorProcess, prompt: Prompt
) -> None:
    v1_live(kubectl, consumer("api", {SUPPLIES_VARIABLES: "ticket"}), consumer("worker"))
    eventually(
        lambda: (
            kubectl.get("promptrelease", NAME)["status"].get("consumers", {}).get("unchecked")
            == ["Deployment worker"]
        ),
        what="the worker listed as unchecked",
    )
    before = kubectl.get("configmap", NAME)

    apply(kubectl, release("summarizer-v2"))
    held = refused(kubectl)
    ready = condition(held)
    assert ready["status"] == "False"
    assert "Deployment api" in ready["message"] and "customer" in ready["message"]
    assert "worker" not in ready["message"].split(";")[0]  # unchecked never blocks
    consumers = held["status"]["consumers"]
    assert consumers["version"] == "summarizer-v2" and consumers["passed"] is False
    assert consumers["incompatible"] == ["Deployment api"]
    assert consumers["unchecked"] == ["Deployment worker"]
    by_name = {w["name"]: w for w in consumers["workloads"]}
    assert by_name["api"]["missingVariables"] == ["customer"]
    assert by_name["worker"]["state"] == "Unchecked"
    assert held["status"]["revision"] == 1
    after = kubectl.get("configmap", NAME)
    assert after["data"] == before["data"]
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    shown = prompt("status", "-o", "json")
    assert shown.returncode == 0, shown.stderr
    assert "ConsumerIncompatible" in shown.stdout

    started = time.monotonic()
    annotate(kubectl, "api", {SUPPLIES_VARIABLES: "ticket,customer"})
    live = released(kubectl, NAME, 2)
    print(f"\nannotation declared -> revision 2 Ready: {time.monotonic() - started:.1f} s")
    assert live["status"]["version"] == "summarizer-v2"
    assert live["status"]["consumers"]["passed"] is True
    assert json.loads(data(kubectl)["prompt.json"])["version"] == "summarizer-v2"


def test_a_response_format_the_consumer_does_not_accept_holds_the_release(
    kubectl: Kubectl, operator: OperatorProcess, prompt: Prompt
) -> None:
    old = {"name": "summary", "schema": {"type": "object"}}
    apply(
        kubectl,
        version("summarizer-v1", responseFormat=old),
        version("summarizer-v2", responseFormat=SUMMARY),
        consumer(
            "parser",
            {SUPPLIES_VARIABLES: "ticket", ACCEPTS_RESPONSE_FORMAT: response_format_hash(old)},
        ),
    )
    apply(kubectl, release("summarizer-v1"))
    released(kubectl, NAME, 1)
    before = kubectl.get("configmap", NAME)

    apply(kubectl, release("summarizer-v2"))
    held = refused(kubectl)
    wanted = response_format_hash(SUMMARY)
    assert "Deployment parser" in condition(held)["message"]
    assert wanted in condition(held)["message"]
    (entry,) = held["status"]["consumers"]["workloads"]
    assert entry["responseFormatHash"] == wanted
    assert kubectl.get("configmap", NAME)["data"] == before["data"]

    printed = prompt("consumer-annotations", "summarizer-v2", "-o", "json")
    assert printed.returncode == 0, printed.stderr
    annotations = json.loads(printed.stdout)
    assert annotations[ACCEPTS_RESPONSE_FORMAT] == wanted
    accepts = f"{response_format_hash(old)},{wanted}"
    annotate(kubectl, "parser", {ACCEPTS_RESPONSE_FORMAT: accepts})
    released(kubectl, NAME, 2)


def test_a_canary_candidate_passes_the_same_gate(
    kubectl: Kubectl, operator: OperatorProcess
) -> None:
    v1_live(kubectl, consumer("api", {SUPPLIES_VARIABLES: "ticket"}))
    before = kubectl.get("configmap", NAME)

    patch_canary(kubectl, {"version": "summarizer-v2", "weight": 20})
    held = refused(kubectl)
    assert "customer" in condition(held)["message"]
    assert "canary" in condition(held)["message"]
    assert kubectl.get("configmap", NAME)["data"] == before["data"]

    annotate(kubectl, "api", {SUPPLIES_VARIABLES: "ticket,customer"})
    served_weight(kubectl, 20)
    canary_state(kubectl, version="summarizer-v2", weight=20)


def test_warn_releases_an_incompatible_version_and_says_so(
    kubectl: Kubectl, operator: OperatorProcess
) -> None:
    v1_live(kubectl, consumer("api", {SUPPLIES_VARIABLES: "ticket"}), consumerCheck="Warn")
    apply(kubectl, release("summarizer-v2", consumerCheck="Warn"))
    live = released(kubectl, NAME, 2)
    assert live["status"]["consumers"]["incompatible"] == ["Deployment api"]

    def warned() -> bool:
        events = json.loads(kubectl("get", "events", "-o", "json"))["items"]
        return any(e["reason"] == "ConsumerIncompatible" for e in events)

    eventually(warned, what="a ConsumerIncompatible Event")


def test_promote_checks_the_version_against_the_target_consumers(
    kubectl: Kubectl, operator: OperatorProcess, prompt: Prompt
) -> None:
    apply(
        kubectl,
        version("summarizer-v1"),
        version("summarizer-v2", **V2),
        consumer("api", {SUPPLIES_VARIABLES: "ticket"}),
    )
    apply(kubectl, release("summarizer-v1"), release("summarizer-v2", label="staging"))
    released(kubectl, NAME, 1)
    released(kubectl, "summarizer-staging", 1)
    promote = ["promote", "summarizer", "--from", "staging", "--to", "production"]
    checked = prompt(*promote, "--check")
    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert "Deployment api" in checked.stdout and "Incompatible" in checked.stdout
    assert "customer" in checked.stdout
    assert kubectl.get("promptrelease", NAME)["spec"]["version"] == "summarizer-v1"
    eventually(lambda: "1 ok" in prompt("status").stdout, what="CONSUMERS: 1 ok in status")
