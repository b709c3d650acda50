"""Lifecycle: a ConfigMap name that can't move, the in-use finalizer, namespaces deleted with
the operator running or gone, and the cleanup after an uninstall."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest

from prompt_release.core.protection import FINALIZER
from tests.kube import Kubectl, OperatorProcess, eventually
from tests.prompts import apply, condition, release, released, version, wait_reason

pytestmark = pytest.mark.integration


def finalizers_of(obj: dict[str, Any]) -> list[str]:
    return list(obj["metadata"].get("finalizers") or [])


def finalizers(kubectl: Kubectl, kind: str, name: str) -> list[str]:
    return finalizers_of(kubectl.get(kind, name))


def protected(kubectl: Kubectl) -> set[str]:
    """The versions carrying the in-use finalizer."""
    listed = json.loads(kubectl("get", "promptversions", "-o", "json"))["items"]
    return {v["metadata"]["name"] for v in listed if FINALIZER in finalizers_of(v)}


def events(kubectl: Kubectl, name: str) -> list[dict[str, Any]]:
    selector = f"involvedObject.name={name}"
    listed = kubectl("get", "events", "--field-selector", selector, "-o", "json")
    return list(json.loads(listed)["items"])


def test_a_config_map_name_is_fixed_and_a_foreign_config_map_is_never_taken(
    kubectl: Kubectl, operator: OperatorProcess
) -> None:
    apply(kubectl, version("summarizer-v1"), release("summarizer-v1"))
    released(kubectl, "summarizer-production", 1)
    live = kubectl.get("configmap", "summarizer-production")["metadata"]["resourceVersion"]

    # A rename is refused at apply, naming the rule: workloads mount the ConfigMap by name.
    for name in ("summarizer-renamed", "summarizer-production.v2"):
        moved = release("summarizer-v1", configMapName=name)
        refused = kubectl.run("apply", "-f", "-", input=json.dumps(moved), check=False)
        assert refused.returncode != 0, refused.stdout
        assert "spec.configMapName is immutable" in refused.stderr, refused.stderr
    # Writing the default out, and leaving it out again, is no move: admitted, nothing moves.
    apply(kubectl, release("summarizer-v1", configMapName="summarizer-production"))
    apply(kubectl, release("summarizer-v1"))
    time.sleep(1)
    status = kubectl.get("promptrelease", "summarizer-production")["status"]
    assert status["configMap"] == "summarizer-production" and status["revision"] == 1
    assert kubectl.get("configmap", "summarizer-production")["metadata"]["resourceVersion"] == live

    # A new release may name a ConfigMap <its name>.<suffix>, and only that.
    apply(kubectl, release("summarizer-v1", label="staging", configMapName="summarizer-staging.v2"))
    released(kubectl, "summarizer-staging", 1)
    assert kubectl.exists("configmap", "summarizer-staging.v2")
    assert not kubectl.exists("configmap", "summarizer-staging")

    # A ConfigMap of a new release's name that no release controls: refused, never written,
    # whether it merely looks like ours or is plainly someone else's.
    decoy = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "summarizer-decoy",
            "labels": {
                "app.kubernetes.io/managed-by": "prompt-release-operator",
                "promptrelease.io/prompt": "summarizer",
                "promptrelease.io/label": "decoy",
            },
        },
        "data": {"x": "y"},
    }
    apply(kubectl, decoy)
    kubectl("create", "configmap", "summarizer-theirs", "--from-literal=owner=someone-else")
    apply(kubectl, *(release("summarizer-v1", label=label) for label in ("decoy", "theirs")))
    for name in ("summarizer-decoy", "summarizer-theirs"):
        message = condition(wait_reason(kubectl, name, "ConfigMapConflict"))["message"]
        assert f"ConfigMap {name} exists and is not managed by this release" in message
    time.sleep(1)
    assert kubectl.get("configmap", "summarizer-decoy")["data"] == {"x": "y"}
    assert kubectl.get("configmap", "summarizer-theirs")["data"] == {"owner": "someone-else"}


def test_only_versions_a_release_points_at_carry_the_finalizer(
    kubectl: Kubectl, operator: OperatorProcess
) -> None:
    apply(kubectl, *(version(f"summarizer-v{n}") for n in (1, 2, 3, 4)))
    apply(kubectl, release("summarizer-v1"))
    released(kubectl, "summarizer-production", 1)
    eventually(lambda: protected(kubectl) == {"summarizer-v1"}, what="v1 alone protected")

    apply(kubectl, release("summarizer-v2"))
    released(kubectl, "summarizer-production", 2)
    eventually(lambda: protected(kubectl) == {"summarizer-v2"}, what="protection to move to v2")

    # A release that is refused still holds its version; a stalled release carries nothing.
    apply(kubectl, release("summarizer-v3", label="staging", hash="sha256:" + "0" * 64))
    wait_reason(kubectl, "summarizer-staging", "HashMismatch")
    eventually(
        lambda: protected(kubectl) == {"summarizer-v2", "summarizer-v3"},
        what="the refused release's version to be protected too",
    )
    time.sleep(2)  # a retry or two of the stalled release
    assert finalizers(kubectl, "promptrelease", "summarizer-staging") == []
    assert finalizers(kubectl, "promptrelease", "summarizer-production") == []

    kubectl("delete", "promptrelease", "summarizer-staging", "--timeout=30s")
    eventually(lambda: protected(kubectl) == {"summarizer-v2"}, what="v3 released")
    kubectl("delete", "promptversion", "summarizer-v4", "summarizer-v1", "--timeout=30s")


def _fill(kubectl: Kubectl, prompts: int = 3, versions: int = 4) -> None:
    for p in range(prompts):
        apply(kubectl, *(version(f"p{p}-v{n}", prompt=f"p{p}") for n in range(1, versions + 1)))
        apply(kubectl, release(f"p{p}-v{versions}", prompt=f"p{p}"))
    for p in range(prompts):
        released(kubectl, f"p{p}-production", 1)
    eventually(
        lambda: protected(kubectl) == {f"p{p}-v{versions}" for p in range(prompts)},
        what="the released versions to be protected",
    )


def _namespace_gone(admin_kubectl: Kubectl, namespace: str, timeout: float = 120) -> None:
    eventually(
        lambda: not admin_kubectl.exists("namespace", namespace),
        timeout=timeout,
        interval=1,
        what=f"namespace {namespace} to be deleted",
    )


def test_deleting_a_namespace_of_prompts_completes_with_the_operator_running(
    admin_kubectl: Kubectl, kubectl: Kubectl, namespace: str, operator: OperatorProcess
) -> None:
    _fill(kubectl)
    admin_kubectl("delete", "namespace", namespace, "--wait=false")
    _namespace_gone(admin_kubectl, namespace)


def test_deleting_a_namespace_of_prompts_with_the_operator_gone_completes_after_cleanup(
    admin_kubectl: Kubectl,
    kubectl: Kubectl,
    namespace: str,
    run_operator: Callable[..., OperatorProcess],
) -> None:
    operator = run_operator()
    _fill(kubectl)
    operator.stop()  # uninstalled, or scaled to zero
    admin_kubectl("delete", "namespace", namespace, "--wait=false")

    # Only what a release held waits, and says why: the finalizer.
    def left() -> set[str]:
        listed = json.loads(kubectl("get", "prompts,configmaps", "-o", "json"))["items"]
        return {f"{o['kind']}/{o['metadata']['name']}" for o in listed}

    held = {f"PromptVersion/p{p}-v4" for p in range(3)}
    eventually(lambda: left() == held, timeout=60, what="all but the held versions to go")
    assert admin_kubectl.exists("namespace", namespace)

    # The documented cleanup after an uninstall: nothing waits for the operator any more.
    cleanup = subprocess.run(
        [sys.executable, "-m", "prompt_release.operator", "cleanup", "-n", namespace],
        env=kubectl.env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert "3 object(s) changed" in cleanup.stdout, cleanup.stdout
    _namespace_gone(admin_kubectl, namespace)
