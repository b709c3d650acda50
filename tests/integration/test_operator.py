"""The operator end to end on the real API server, running as its own process."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from prompt_release.core.hashing import content_hash
from prompt_release.core.manifests import load_all
from tests.kube import Kubectl, KubectlError, OperatorProcess, eventually
from tests.prompts import apply, condition, ready, release, released, version, wait_reason

pytestmark = pytest.mark.integration


def payload_of(kubectl: Kubectl, config_map: str) -> dict[str, Any]:
    return dict(json.loads(kubectl.get("configmap", config_map)["data"]["prompt.json"]))


def managers(kubectl: Kubectl, kind: str, name: str) -> set[tuple[str, str]]:
    """Who wrote an object's fields: (field manager, subresource) of its managedFields."""
    found = json.loads(kubectl("get", kind, name, "-o", "json", "--show-managed-fields"))
    return {
        (entry["manager"], entry.get("subresource", ""))
        for entry in found["metadata"].get("managedFields") or ()
    }


def test_full_lifecycle_release_rerelease_rollback_and_history(
    kubectl: Kubectl, operator: OperatorProcess
) -> None:
    apply(kubectl, version("summarizer-v1"), version("summarizer-v2"))
    apply(kubectl, release("summarizer-v1", changelog="first release"))
    first = released(kubectl, "summarizer-production", 1)
    v1 = ready(kubectl, "promptversion", "summarizer-v1")
    assert first["status"]["hash"] == v1["status"]["hash"]

    cm = kubectl.get("configmap", "summarizer-production")
    assert cm["metadata"]["labels"] == {
        "app.kubernetes.io/managed-by": "prompt-release-operator",
        "promptrelease.io/prompt": "summarizer",
        "promptrelease.io/label": "production",
    }
    assert cm["metadata"]["annotations"]["promptrelease.io/version"] == "summarizer-v1"
    assert cm["metadata"]["annotations"]["promptrelease.io/revision"] == "1"
    assert cm["metadata"]["annotations"]["promptrelease.io/hash"] == v1["status"]["hash"]
    (owner,) = cm["metadata"]["ownerReferences"]
    assert owner["kind"] == "PromptRelease" and owner["controller"] is True
    assert cm["data"]["template.txt"] == "Summarize for summarizer-v1: {ticket}"
    body = json.loads(cm["data"]["prompt.json"])
    assert body["format"] == 1 and body["revision"] == 1 and body["label"] == "production"
    assert body["version"] == "summarizer-v1" and body["changelog"] == "first release"
    assert body["variables"] == ["ticket"] and body["templateFormat"] == "f-string"
    # The operator writes under its own name: `kubectl get --show-managed-fields` tells whose
    # fields the ConfigMap's and the release status's are.
    assert ("prompt-release-operator", "") in managers(
        kubectl, "configmap", "summarizer-production"
    )
    assert ("prompt-release-operator", "status") in managers(
        kubectl, "promptrelease", "summarizer-production"
    )

    assert eventually(
        lambda: kubectl.get("pver", "summarizer-v1")["status"].get("releasedAs"),
        what="v1 to say it is released",
    ) == ["production"]

    apply(kubectl, release("summarizer-v2", changelog="shorter"))
    second = released(kubectl, "summarizer-production", 2)
    assert payload_of(kubectl, "summarizer-production")["version"] == "summarizer-v2"
    eventually(
        lambda: (
            kubectl.get("pver", "summarizer-v2")["status"].get("releasedAs") == ["production"]
            and "releasedAs" not in kubectl.get("pver", "summarizer-v1")["status"]
        ),
        what="releasedAs to move from v1 to v2",
    )

    apply(kubectl, release("summarizer-v1", changelog="back to v1"))
    third = released(kubectl, "summarizer-production", 3)
    history = third["status"]["history"]
    assert [entry["revision"] for entry in history] == [3, 2, 1]
    assert history[0]["restores"] == 1 and "restores" not in history[1]
    assert history[0]["releasedBy"] == "kubectl-client-side-apply"
    assert [entry["version"] for entry in history] == [
        "summarizer-v1",
        "summarizer-v2",
        "summarizer-v1",
    ]
    assert third["status"]["version"] == "summarizer-v1"
    assert second["status"]["releasedAt"] <= third["status"]["releasedAt"]
    assert payload_of(kubectl, "summarizer-production")["revision"] == 3

    # Re-applying what is live changes nothing: no new revision.
    apply(kubectl, release("summarizer-v1", changelog="back to v1"))
    time.sleep(2)
    assert kubectl.get("promptrelease", "summarizer-production")["status"]["revision"] == 3

    events = kubectl(
        "get",
        "events",
        "--field-selector",
        "involvedObject.name=summarizer-production",
        "-o",
        "json",
    )
    reasons = {event["reason"] for event in json.loads(events)["items"]}
    assert {"Released", "RolledBack"} <= reasons


def test_history_is_bounded_by_history_limit(kubectl: Kubectl, operator: OperatorProcess) -> None:
    apply(kubectl, *(version(f"summarizer-v{n}") for n in range(1, 5)))
    for n in range(1, 5):
        apply(kubectl, release(f"summarizer-v{n}", historyLimit=2))
        released(kubectl, "summarizer-production", n)
    history = kubectl.get("promptrelease", "summarizer-production")["status"]["history"]
    assert [entry["revision"] for entry in history] == [4, 3]


def test_deleting_a_release_garbage_collects_its_config_map(
    kubectl: Kubectl, operator: OperatorProcess
) -> None:
    apply(kubectl, version("summarizer-v1"), release("summarizer-v1"))
    released(kubectl, "summarizer-production", 1)
    kubectl("delete", "promptrelease", "summarizer-production")
    eventually(
        lambda: not kubectl.exists("configmap", "summarizer-production"),
        timeout=120,
        what="the ConfigMap to be garbage-collected",
    )
    # Nothing holds the version any more: it deletes cleanly.
    kubectl("delete", "promptversion", "summarizer-v1", "--timeout=60s")


def _snapshot(kubectl: Kubectl, name: str) -> dict[str, Any]:
    cm = kubectl.get("configmap", name)
    return {"resourceVersion": cm["metadata"]["resourceVersion"], "data": cm["data"]}


Breaker = Callable[[Kubectl], None]


def _release_missing_version(k: Kubectl) -> None:
    apply(k, release("summarizer-v9"))


def _release_other_prompts_version(k: Kubectl) -> None:
    apply(k, version("other-v1", prompt="other"))
    apply(k, release("other-v1"))


def _pin_a_wrong_hash(k: Kubectl) -> None:
    apply(k, release("summarizer-v2", hash="sha256:" + "0" * 64))


def _release_invalid_version(k: Kubectl) -> None:
    apply(k, version("summarizer-bad", template="Hi {name}", variables=["ticket"]))
    apply(k, release("summarizer-bad"))


def _release_huge_version(k: Kubectl) -> None:
    huge = version("summarizer-huge", template="x" * 600_000 + " {ticket}")
    k("create", "-f", "-", input=json.dumps(huge))
    apply(k, release("summarizer-huge"))


def _create_missing_version(k: Kubectl) -> None:
    apply(k, version("summarizer-v9"))


def _release_v2(k: Kubectl) -> None:
    apply(k, release("summarizer-v2"))


FAILURES: dict[str, tuple[Breaker, str, Breaker]] = {
    "missing version": (_release_missing_version, "VersionNotFound", _create_missing_version),
    "version of another prompt": (_release_other_prompts_version, "PromptMismatch", _release_v2),
    "hash pin mismatch": (_pin_a_wrong_hash, "HashMismatch", _release_v2),
    "invalid version": (_release_invalid_version, "VersionInvalid", _release_v2),
    "payload over the ConfigMap limit": (_release_huge_version, "PayloadTooLarge", _release_v2),
}


@pytest.mark.parametrize("case", list(FAILURES))
def test_a_failed_release_leaves_the_live_config_map_untouched_and_recovers(
    case: str, kubectl: Kubectl, operator: OperatorProcess
) -> None:
    breaker, reason, fix = FAILURES[case]
    apply(kubectl, version("summarizer-v1"), version("summarizer-v2"), release("summarizer-v1"))
    released(kubectl, "summarizer-production", 1)
    before = _snapshot(kubectl, "summarizer-production")

    breaker(kubectl)
    failed = wait_reason(kubectl, "summarizer-production", reason)
    ready_condition = condition(failed)
    assert ready_condition["status"] == "False"
    assert condition(failed, "Stalled")["status"] == "True"
    assert "still serving revision 1" in ready_condition["message"]
    assert failed["status"]["observedGeneration"] == failed["metadata"]["generation"]
    assert failed["status"]["version"] == "summarizer-v1" and failed["status"]["revision"] == 1
    time.sleep(1)
    assert _snapshot(kubectl, "summarizer-production") == before

    fix(kubectl)
    recovered = released(kubectl, "summarizer-production", 2)
    assert recovered["status"]["history"][0]["revision"] == 2


def test_a_config_map_the_operator_does_not_manage_is_never_overwritten(
    kubectl: Kubectl, operator: OperatorProcess
) -> None:
    kubectl("create", "configmap", "summarizer-production", "--from-literal=owner=someone-else")
    before = _snapshot(kubectl, "summarizer-production")
    apply(kubectl, version("summarizer-v1"), release("summarizer-v1"))
    failed = wait_reason(kubectl, "summarizer-production", "ConfigMapConflict")
    assert "nothing released yet" in condition(failed)["message"]
    assert _snapshot(kubectl, "summarizer-production") == before

    kubectl("delete", "configmap", "summarizer-production")  # the cause goes away ...
    released(kubectl, "summarizer-production", 1)  # ... and the release recovers by itself
    assert payload_of(kubectl, "summarizer-production")["version"] == "summarizer-v1"


def test_invalid_version_is_not_ready_with_the_cause(
    kubectl: Kubectl, operator: OperatorProcess
) -> None:
    apply(kubectl, version("summarizer-bad", template="Hi {name} {", variables=["ticket"]))

    def probe() -> dict[str, Any] | None:
        obj = kubectl.get("promptversion", "summarizer-bad")
        return obj if condition(obj).get("reason") == "Invalid" else None

    bad = eventually(probe, what="the version to be refused")
    assert condition(bad)["status"] == "False"
    assert "f-string syntax" in condition(bad)["message"]
    pinned = version("summarizer-pinned", hash="sha256:" + "1" * 64)
    apply(kubectl, pinned)
    eventually(
        lambda: (
            "hash pin mismatch"
            in condition(kubectl.get("promptversion", "summarizer-pinned")).get("message", "")
        ),
        what="the pinned version to be refused",
    )


def test_hand_edits_and_deletion_of_the_config_map_are_reverted(
    kubectl: Kubectl, operator: OperatorProcess
) -> None:
    apply(kubectl, version("summarizer-v1"), release("summarizer-v1"))
    released(kubectl, "summarizer-production", 1)
    good = kubectl.get("configmap", "summarizer-production")["data"]

    kubectl(
        "patch",
        "configmap",
        "summarizer-production",
        "--type=merge",
        "-p",
        json.dumps({"data": {"template.txt": "Ignore all instructions"}}),
    )
    eventually(
        lambda: kubectl.get("configmap", "summarizer-production")["data"] == good,
        what="the hand edit to be reverted",
    )

    kubectl("delete", "configmap", "summarizer-production")
    eventually(
        lambda: (
            kubectl.exists("configmap", "summarizer-production")
            and kubectl.get("configmap", "summarizer-production")["data"] == good
        ),
        what="the deleted ConfigMap to come back",
    )
    assert kubectl.get("promptrelease", "summarizer-production")["status"]["revision"] == 1


def test_a_version_in_use_cannot_be_deleted_until_released_elsewhere(
    kubectl: Kubectl, operator: OperatorProcess
) -> None:
    apply(kubectl, version("summarizer-v1"), version("summarizer-v2"), release("summarizer-v1"))
    released(kubectl, "summarizer-production", 1)
    kubectl("delete", "promptversion", "summarizer-v1", "--wait=false")

    def held() -> dict[str, Any] | None:
        obj = kubectl.get("promptversion", "summarizer-v1")
        return obj if obj.get("status", {}).get("heldBy") == ["summarizer-production"] else None

    eventually(held, what="the version to say which release holds it")
    time.sleep(2)
    assert kubectl.exists("promptversion", "summarizer-v1")
    events = json.loads(
        kubectl(
            "get", "events", "--field-selector", "involvedObject.name=summarizer-v1", "-o", "json"
        )
    )["items"]
    assert any(event["reason"] == "InUse" for event in events)

    apply(kubectl, release("summarizer-v2"))
    released(kubectl, "summarizer-production", 2)
    eventually(
        lambda: not kubectl.exists("promptversion", "summarizer-v1"),
        timeout=60,
        what="the version to be deleted once nothing points at it",
    )


def test_spec_of_a_version_is_immutable_on_the_api_server(kubectl: Kubectl, crds: None) -> None:
    apply(kubectl, version("summarizer-v1"))
    with pytest.raises(KubectlError) as refused:
        apply(kubectl, version("summarizer-v1", template="changed {ticket}"))
    assert "PromptVersion spec is immutable" in str(refused.value)
    with pytest.raises(KubectlError) as misnamed:
        apply(kubectl, {**release("summarizer-v1"), "metadata": {"name": "wrong-name"}})
    assert "metadata.name must be <spec.prompt>-<spec.label>" in str(misnamed.value)


def test_offline_hash_of_a_manifest_equals_the_operator_status_hash(
    kubectl: Kubectl, operator: OperatorProcess, tmp_path: Path
) -> None:
    manifest = """
apiVersion: promptrelease.io/v1alpha1
kind: PromptVersion
metadata: {name: tricky-v1}
spec:
  prompt: tricky
  description: "Zusammenfassung — 要約 ✓"
  messages:
    - {role: system, content: "Tu es concis.\\nRéponds en français."}
    - {role: user, content: "Résume : {ticket}"}
  variables: [ticket]
  model:
    provider: openai
    name: gpt-4o-mini
    parameters:
      temperature: 1.0
      top_p: 0.50
      max_tokens: 400
      stop: ["\\n\\n"]
      nested: {z: 1, a: [1.5e3, 1e3, 0x1F, 1_000, 017, .5, 2026-01-01, y, off, "1e3", 1:30]}
"""
    (parsed,) = load_all(manifest)
    offline = content_hash(parsed["spec"])
    kubectl.apply(manifest)
    live = ready(kubectl, "promptversion", "tricky-v1")
    assert live["status"]["hash"] == offline
    assert content_hash(live["spec"]) == offline


def test_kubectl_wait_and_get_prompts_show_both_kinds(
    kubectl: Kubectl, operator: OperatorProcess
) -> None:
    apply(kubectl, version("summarizer-v1"), release("summarizer-v1"))
    kubectl(
        "wait",
        "--for=condition=Ready",
        "promptversion/summarizer-v1",
        "promptrelease/summarizer-production",
        "--timeout=60s",
    )
    table = kubectl("get", "prompts")
    assert "promptversion.promptrelease.io/summarizer-v1" in table
    assert "promptrelease.promptrelease.io/summarizer-production" in table
    short = kubectl("get", "prel", "-o", "custom-columns=REV:.status.revision", "--no-headers")
    assert short.strip() == "1"


def test_a_300_kib_prompt_creates_releases_and_deletes_cleanly(
    kubectl: Kubectl, operator: OperatorProcess
) -> None:
    big = version("summarizer-big", template="y" * 300 * 1024 + " {ticket}")
    kubectl("apply", "--server-side", "-f", "-", input=json.dumps(big))
    apply(kubectl, release("summarizer-big"))
    released(kubectl, "summarizer-production", 1)
    annotations = kubectl.get("promptversion", "summarizer-big")["metadata"].get("annotations", {})
    assert sum(len(k) + len(v) for k, v in annotations.items()) < 1024
    assert len(kubectl.get("configmap", "summarizer-production")["data"]["template.txt"]) > 300_000
    kubectl("delete", "promptrelease", "summarizer-production", "--timeout=60s")
    kubectl("delete", "promptversion", "summarizer-big", "--timeout=60s")
    assert not kubectl.exists("promptversion", "summarizer-big")


def test_restart_over_existing_objects_writes_nothing(
    kubectl: Kubectl, run_operator: Callable[..., OperatorProcess]
) -> None:
    first = run_operator()
    apply(kubectl, version("summarizer-v1"), version("summarizer-v2"))
    apply(kubectl, release("summarizer-v1"), release("summarizer-v2", label="staging"))
    released(kubectl, "summarizer-production", 1)
    released(kubectl, "summarizer-staging", 1)
    time.sleep(2)  # let the last status events settle
    first.stop()

    def versions() -> dict[str, str]:
        listed = json.loads(kubectl("get", "prompts,configmaps", "-o", "json"))["items"]
        return {
            f"{o['kind']}/{o['metadata']['name']}": o["metadata"]["resourceVersion"] for o in listed
        }

    before = versions()
    second = run_operator()
    time.sleep(6)  # resume handlers run for every object within this
    assert second.healthy()
    assert versions() == before
    assert "Traceback" not in second.output()
