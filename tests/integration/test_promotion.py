"""spec.promotion on the real API server: staging -> production waits for its soak and for
evidence of the exact hash, refuses evidence of other content, follows staging by itself
(auto) without writing spec, and keeps the soak's clock across an operator restart.

Evidence is recorded as an evaluator would: `kubectl prompt eval record` from a result file
(the hash read from the cluster, the dataset hashed from its cases), or a hand-written
PromptEvaluation for what the plugin would never write (a hash of other content).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from prompt_release.core.evaluation import dataset_hash
from tests.integration.conftest import Prompt
from tests.kube import Kubectl, OperatorProcess, eventually
from tests.prompts import API, apply, condition, release, released, version, wait_reason

pytestmark = pytest.mark.integration

PRODUCTION, STAGING = "summarizer-production", "summarizer-staging"
CASES = [{"ticket": "Printer on fire", "expect": "urgent"}, {"ticket": "Password", "expect": "low"}]


def _time(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)


def result_file(tmp_path: Path, score: float = 0.92, **more: Any) -> tuple[str, str]:
    """A result as an evaluator writes it, and the dataset's cases as JSON Lines."""
    result = {
        "score": score,
        "passed": score >= 0.8,
        "threshold": 0.8,
        "dataset": {"name": "tickets"},
        "evaluator": {"name": "judge", "version": "1.4.0"},
        **more,
    }
    path, cases = tmp_path / f"result-{score}.json", tmp_path / "cases.jsonl"
    path.write_text(json.dumps(result))
    cases.write_text("".join(json.dumps(case) + "\n" for case in CASES))
    return str(path), str(cases)


def hash_of(kubectl: Kubectl, name: str) -> str:
    return str(
        eventually(
            lambda: kubectl.get("promptversion", name).get("status", {}).get("hash"),
            what=f"{name}'s hash",
        )
    )


def forged(kubectl: Kubectl, name: str, content_hash: str) -> dict[str, Any]:
    """A PromptEvaluation naming `name` with a hash that is not its content's."""
    return {
        "apiVersion": API,
        "kind": "PromptEvaluation",
        "metadata": {"name": f"{name}-other-content"},
        "spec": {
            "version": name,
            "hash": content_hash,
            "dataset": {"name": "tickets", "hash": dataset_hash(CASES)},
            "evaluator": {"name": "judge", "version": "1.4.0"},
            "score": 0.99,
            "passed": True,
        },
    }


def promotion_of(kubectl: Kubectl) -> dict[str, Any]:
    return dict(kubectl.get("promptrelease", PRODUCTION).get("status", {}).get("promotion") or {})


def staged(kubectl: Kubectl, **promotion: Any) -> None:
    """staging and production both at v1; then staging at v2, production promoting from it."""
    apply(kubectl, version("summarizer-v1"), version("summarizer-v2"))
    apply(kubectl, release("summarizer-v1", label="staging"), release("summarizer-v1"))
    released(kubectl, STAGING, 1)
    released(kubectl, PRODUCTION, 1)
    apply(kubectl, release("summarizer-v2", label="staging"))
    released(kubectl, STAGING, 2)
    spec = {"from": "staging", "soak": "8s", "evidence": {"minScore": 0.8}, **promotion}
    target = "summarizer-v1" if promotion.get("auto") else "summarizer-v2"
    apply(kubectl, release(target, promotion=spec))


def test_production_waits_for_soak_and_evidence_of_the_exact_hash(
    kubectl: Kubectl, operator: OperatorProcess, prompt: Prompt, tmp_path: Path
) -> None:
    staged(kubectl)
    soaking = wait_reason(kubectl, PRODUCTION, "Soaking")
    assert "left of 8s" in condition(soaking)["message"]
    assert soaking["status"]["version"] == "summarizer-v1"
    assert condition(soaking, "Reconciling")["status"] == "True"  # in progress, not stuck
    assert (
        kubectl.get("configmap", PRODUCTION)["metadata"]["annotations"]["promptrelease.io/version"]
        == "summarizer-v1"
    )
    apply(kubectl, forged(kubectl, "summarizer-v2", hash_of(kubectl, "summarizer-v1")))
    waiting = wait_reason(kubectl, PRODUCTION, "AwaitingEvidence", timeout=30)
    assert "evidence for other content" in condition(waiting)["message"]
    shown = prompt("promote", "summarizer", "--from", "staging", "--to", "production", "--check")
    assert shown.returncode == 1 and "Evidence" in shown.stdout and "NO" in shown.stdout
    assert "soaked 8s on staging" in shown.stdout
    path, cases = result_file(tmp_path)
    recorded = prompt("eval", "record", "summarizer-v2", "-f", path, "--cases", cases)
    assert recorded.returncode == 0, recorded.stderr
    start = time.monotonic()
    promoted = released(kubectl, PRODUCTION, 2, interval=0.1)
    took = time.monotonic() - start
    entry = promoted["status"]["history"][0]
    assert entry["version"] == "summarizer-v2" and entry["promotion"]["from"] == "staging"
    (evidence,) = entry["promotion"]["evidence"]
    assert evidence["score"] == 0.92 and evidence["dataset"] == dataset_hash(CASES)
    assert evidence["name"].startswith("summarizer-v2-")
    assert condition(promoted, "Promotion")["status"] == "True"
    listed = prompt("eval", "list", "summarizer-v2")
    assert listed.returncode == 0
    rows = listed.stdout.splitlines()[1:]
    assert any(" NO " in row for row in rows) and any(" yes " in row for row in rows)
    verified = prompt("verify", "summarizer", "-l", "production")
    assert verified.returncode == 0, verified.stdout + verified.stderr

    # The evidence replaced by a result of the same name for other content: verify says so.
    kept = kubectl.get("promptevaluation", evidence["name"])
    kubectl("delete", "promptevaluation", evidence["name"])
    swapped = forged(kubectl, "summarizer-v2", hash_of(kubectl, "summarizer-v1"))
    swapped["metadata"]["name"] = evidence["name"]
    swapped["spec"]["dataset"] = kept["spec"]["dataset"]
    apply(kubectl, swapped)
    unproven = prompt("verify", "summarizer", "-l", "production")
    assert unproven.returncode == 1, unproven.stdout + unproven.stderr
    assert "unproven" in unproven.stdout
    assert f"PromptEvaluation {evidence['name']}, is for summarizer-v2" in unproven.stderr
    print(f"\nevidence recorded -> promoted: {took:.2f} s")


def test_a_regression_beyond_max_regression_blocks_with_the_scores(
    kubectl: Kubectl, operator: OperatorProcess, prompt: Prompt, tmp_path: Path
) -> None:
    staged(kubectl, soak="1s", evidence={"maxRegression": 0.02})
    baseline: dict[str, Any] = {"version": "summarizer-v1", "score": 0.9}
    path, cases = result_file(tmp_path, score=0.85, baseline=baseline)
    assert prompt("eval", "record", "summarizer-v2", "-f", path, "--cases", cases).returncode == 0

    def regressed() -> dict[str, Any] | None:
        found = promotion_of(kubectl)
        return found if "regresses" in str(found.get("message")) else None

    blocked = eventually(regressed, what="the regression in status.promotion")
    assert "0.85 against the live version's 0.9" in blocked["message"]
    assert kubectl.get("promptrelease", PRODUCTION)["status"]["version"] == "summarizer-v1"
    path, cases = result_file(tmp_path, score=0.89, baseline=baseline)
    assert prompt("eval", "record", "summarizer-v2", "-f", path, "--cases", cases).returncode == 0
    released(kubectl, PRODUCTION, 2)


def test_auto_follows_staging_without_writing_spec_and_keeps_the_soak_across_a_restart(
    kubectl: Kubectl,
    run_operator: Callable[..., OperatorProcess],
    prompt: Prompt,
    tmp_path: Path,
) -> None:
    first = run_operator()
    staged(kubectl, auto=True, soak="15s")
    path, cases = result_file(tmp_path)
    assert prompt("eval", "record", "summarizer-v2", "-f", path, "--cases", cases).returncode == 0
    soaking = eventually(
        lambda: promotion_of(kubectl).get("state") == "Soaking" and promotion_of(kubectl),
        what="production soaking v2",
    )
    before = kubectl.get("promptrelease", PRODUCTION)
    assert condition(before)["status"] == "True"  # auto: Ready on its live revision
    first.stop()  # mid-soak
    time.sleep(2)
    run_operator()
    promoted = released(kubectl, PRODUCTION, 2)
    entry = promoted["status"]["history"][0]
    assert entry["promotion"]["soakedSince"] == soaking["soakedSince"]  # the clock survived
    live_at = _time(promoted["status"]["releasedAt"])
    assert live_at >= _time(soaking["soakEndsAt"])
    assert promoted["spec"]["version"] == "summarizer-v1"  # spec untouched
    assert promoted["metadata"]["generation"] == before["metadata"]["generation"]
    shown = kubectl("get", "promptrelease", PRODUCTION, "-o", "json", "--show-managed-fields")
    fields = json.loads(shown)["metadata"]["managedFields"]
    managers = {m["manager"] for m in fields if "f:spec" in (m.get("fieldsV1") or {})}
    assert managers == {"kubectl-client-side-apply"}
    assert entry["via"] == "promotion" and entry["promotion"]["auto"] is True
    assert entry["promotion"]["revision"] == 2  # staging's revision
    config_map = kubectl.get("configmap", PRODUCTION)
    assert config_map["metadata"]["annotations"]["promptrelease.io/version"] == "summarizer-v2"


def test_auto_the_older_evidence_does_not_promote_the_newer_candidate(
    kubectl: Kubectl, operator: OperatorProcess, prompt: Prompt, tmp_path: Path
) -> None:
    staged(kubectl, auto=True, soak="1s")
    apply(kubectl, version("summarizer-v3"), release("summarizer-v3", label="staging"))
    released(kubectl, STAGING, 3)
    path, cases = result_file(tmp_path)
    assert prompt("eval", "record", "summarizer-v2", "-f", path, "--cases", cases).returncode == 0
    waiting = eventually(
        lambda: (
            promotion_of(kubectl).get("candidate") == "summarizer-v3"
            and promotion_of(kubectl).get("state") == "AwaitingEvidence"
            and promotion_of(kubectl)
        ),
        what="v3 awaiting its own evidence",
    )
    assert "none recorded" in waiting["message"]
    time.sleep(2)
    assert kubectl.get("promptrelease", PRODUCTION)["status"]["version"] == "summarizer-v1"
    assert prompt("eval", "record", "summarizer-v3", "-f", path, "--cases", cases).returncode == 0
    promoted = released(kubectl, PRODUCTION, 2)
    assert promoted["status"]["version"] == "summarizer-v3"


def test_the_shipped_example_soaks_with_its_paired_result_counted(
    kubectl: Kubectl, operator: OperatorProcess, prompt: Prompt
) -> None:
    """manifests/examples/promotion over the examples: production (auto) waits for v2's soak
    with the shipped paired result already counted."""
    examples = Path(__file__).resolve().parents[2] / "manifests" / "examples"
    kubectl("apply", "-f", str(examples / "ticket-summarizer.yaml"))
    kubectl("apply", "-f", str(examples / "promotion" / "ticket-summarizer-production.yaml"))
    released(kubectl, "ticket-summarizer-staging", 1)
    released(kubectl, "ticket-summarizer-production", 1)
    folder = examples / "promotion"
    recorded = prompt(
        "eval",
        "record",
        "ticket-summarizer-v2",
        "-f",
        str(folder / "result.json"),
        "--cases",
        str(folder / "cases.jsonl"),
    )
    assert recorded.returncode == 0, recorded.stderr

    def soaking() -> dict[str, Any] | None:
        body = kubectl.get("promptrelease", "ticket-summarizer-production")
        found = body.get("status", {}).get("promotion") or {}
        gates = {g["name"]: g["passed"] for g in found.get("gates") or ()}
        return found if gates == {"Soak": False, "Evidence": True} else None

    found = eventually(soaking, what="v2 soaking with its evidence counted")
    assert found["candidate"] == "ticket-summarizer-v2" and found["state"] == "Soaking"
