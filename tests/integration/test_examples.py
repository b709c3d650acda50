"""The shipped examples work, and so does the README's dev command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Cluster
from tests.kube import Kubectl, OperatorProcess

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).resolve().parents[2] / "manifests" / "examples"


def test_examples_release_and_the_deployment_mounts_production(
    kubectl: Kubectl, operator: OperatorProcess
) -> None:
    for name in ("ticket-summarizer.yaml", "support-assistant.yaml", "summarizer-deployment.yaml"):
        kubectl("apply", "-f", str(EXAMPLES / name))
    kubectl("wait", "--for=condition=Ready", "promptreleases", "--all", "--timeout=60s")
    kubectl("wait", "--for=condition=Ready", "promptversions", "--all", "--timeout=60s")
    deployment = kubectl.get("deployment", "ticket-summarizer")
    volume = deployment["spec"]["template"]["spec"]["volumes"][0]
    payload = json.loads(
        kubectl.get("configmap", volume["configMap"]["name"])["data"]["prompt.json"]
    )
    assert (payload["label"], payload["version"]) == ("production", "ticket-summarizer-v1")
    staging = json.loads(
        kubectl.get("configmap", "support-assistant-staging")["data"]["prompt.json"]
    )
    assert staging["templateFormat"] == "jinja2" and len(staging["messages"]) == 2


def test_dev_command_starts_everything_and_applies_the_examples(cluster: Cluster) -> None:
    if cluster.backend != "local":
        pytest.skip("the dev command runs its own local control plane")
    result = subprocess.run(
        [sys.executable, "-m", "tests.controlplane", "dev", "--exit-when-ready", "--governance"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "promptrelease.promptrelease.io/ticket-summarizer-production" in result.stdout
    assert result.stdout.count("True") >= 8  # four releases and four versions Ready
    # Who released it, by default: the API server's identity (the dev admin), attested
    assert "installing manifests/governance" in result.stdout
    history = result.stdout[result.stdout.rindex("LABEL") :]
    assert " admin " in history and "not attested" not in history, history
