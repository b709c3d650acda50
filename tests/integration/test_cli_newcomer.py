"""`kubectl prompt` where a newcomer following the docs tripped (issue 25): a namespace that
doesn't exist, a removed model parameter, and an approval that would count for nothing.

These run without the governance admission policies (the chart's default)."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.integration.conftest import Prompt
from tests.kube import Kubectl, established
from tests.prompts import API, apply, release, version

pytestmark = pytest.mark.integration


def approvals(kubectl: Kubectl) -> list[str]:
    listed = json.loads(kubectl("get", "promptapprovals", "-o", "json"))["items"]
    return [item["metadata"]["name"] for item in listed]


def test_status_of_a_namespace_that_does_not_exist_says_so(prompt: Prompt, crds: None) -> None:
    missing = f"no-such-{uuid.uuid4().hex[:6]}"
    result = prompt("status", "-n", missing, namespaced=False)
    assert result.returncode == 3, result
    assert f"namespace {missing} not found" in result.stderr
    empty = prompt("status")  # the test's namespace exists and is empty: not an error
    assert empty.returncode == 0 and "No PromptReleases in namespace" in empty.stderr


def test_diff_says_removed_and_added(prompt: Prompt, kubectl: Kubectl, crds: None) -> None:
    before = {"name": "m", "parameters": {"temperature": 0.2, "max_tokens": 300}}
    after = {"name": "m", "parameters": {"temperature": 0.2, "top_p": 0.9}}
    apply(kubectl, version("summarizer-v1", model=before), version("summarizer-v2", model=after))
    result = prompt("diff", "summarizer-v1", "summarizer-v2")
    assert result.returncode == 1, result.stderr
    assert "- model.parameters.max_tokens: 300 (removed)" in result.stdout
    assert "+ model.parameters.top_p: 0.9 (added)" in result.stdout
    assert "null" not in result.stdout


def test_approve_refuses_before_creating_an_approval_that_counts_for_nothing(
    prompt: Prompt, kubectl: Kubectl, crds: None
) -> None:
    established(kubectl, "promptpolicies.promptrelease.io", "promptapprovals.promptrelease.io")
    apply(kubectl, version("summarizer-v1"), release("summarizer-v1"))
    approve = ("approve", "summarizer", "-l", "production", "--version", "summarizer-v1")

    no_policy = prompt(*approve, "-m", "looks good")
    assert no_policy.returncode == 1, no_policy
    assert "no PromptPolicy in namespace" in no_policy.stderr
    assert "requires approval for label production" in no_policy.stderr
    assert approvals(kubectl) == []

    # A policy that requires approval, but no admission policies to stamp the approver.
    policy = {
        "apiVersion": API,
        "kind": "PromptPolicy",
        "metadata": {"name": "two-person"},
        "spec": {"labels": ["production"], "requireApproval": True},
    }
    apply(kubectl, policy)
    unattested = prompt(*approve, "-m", "looks good")
    assert unattested.returncode == 1, unattested
    assert "governance admission policies are not installed" in unattested.stderr
    assert "none was created" in unattested.stderr
    assert approvals(kubectl) == []
