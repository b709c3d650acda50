"""Lint: errors (the version is Invalid) and warnings (status.warnings), one source for the
operator and `kubectl prompt lint`."""

from __future__ import annotations

from typing import Any

import pytest

from prompt_release.core import version as core
from prompt_release.core.lint import (
    ERROR,
    PII,
    SYSTEM_VARIABLE,
    WARNING,
    Finding,
    flagged,
    lint,
    secrets,
    warnings,
)
from prompt_release.core.views import VersionView

OPENAI = "sk-proj-" + "a1B2c3D4e5F6g7H8i9J0k1L2"
KEYS = {
    "an OpenAI API key": OPENAI,
    "an Anthropic API key": "sk-ant-api03-" + "x" * 24,
    "an AWS access key id": "AKIA" + "ABCDEFGHIJKLMNOP",
    "a GitHub token": "ghp_" + "a" * 36,
    "a Google API key": "AIza" + "b" * 35,
    "a Slack token": "xoxb-" + "1234567890-abc",
    "a Stripe secret key": "sk_live_" + "c" * 24,
    "a private key": "-----BEGIN RSA PRIVATE KEY-----",
}


@pytest.mark.parametrize(("what", "key"), sorted(KEYS.items()))
def test_each_kind_of_key_is_named_and_masked(what: str, key: str) -> None:
    (found,) = secrets({"prompt": "p", "template": f"Use {key} to call"})
    assert found.startswith(f"template holds what looks like {what} (")
    assert key not in found and "at offset 4" in found


def test_keys_are_found_wherever_text_hides() -> None:
    spec: dict[str, Any] = {
        "prompt": "p",
        "messages": [{"role": "user", "content": "{q}", "name": "n"}],
        "variables": ["q", {"name": "token", "default": OPENAI}],
        "description": f"old key {OPENAI}",
        "tools": [{"type": "function", "function": {"name": "f", "description": OPENAI}}],
    }
    places = [found.split(" holds")[0] for found in secrets(spec)]
    assert places == ["description", "variables[1].default", "tools[0].function.description"]


def test_ordinary_text_is_no_secret() -> None:
    text = "Ask for the task-id and the skeleton key; AKIA is a prefix; sk-short"
    assert warnings({"prompt": "p", "template": text}) == []


def test_lint_lists_errors_then_warnings() -> None:
    spec = {"prompt": "p", "template": "{ticket} " + OPENAI, "variables": ["ticket", "spare"]}
    found = lint(spec)
    assert [f.severity for f in found] == [ERROR, WARNING]
    assert found[0] == Finding(ERROR, "variable(s) declared but not used in the prompt: spare")
    assert lint({"prompt": "p", "template": "hi"}) == []


def test_a_valid_version_with_a_warning_is_ready_and_says_so() -> None:
    spec = {"prompt": "p", "template": f"key {OPENAI}"}
    result = core.status(VersionView.of({"metadata": {"generation": 1}, "spec": spec}), "t")
    ready = result["conditions"][0]
    assert ready["status"] == "True" and ready["reason"] == "Valid"
    assert ready["message"] == "Valid; can be released, with 1 warning(s) in status.warnings"
    assert result["warnings"] == secrets(spec)
    clean = {"metadata": {"generation": 1}, "spec": {"prompt": "p", "template": "x"}}
    after = core.status(VersionView.of({**clean, "status": result}), "t")
    assert "warnings" not in after


@pytest.mark.parametrize(
    ("what", "text"),
    [
        ("an email address", "Escalate to jane.doe@acme.io today"),
        ("a payment card number", "card 4111-1111-1111-1111 on file"),
        ("a US social security number", "SSN 123-45-6789"),
        ("a phone number", "call +44 20 7946 0958"),
    ],
)
def test_personal_data_is_named_and_masked(what: str, text: str) -> None:
    ((kind, found),) = flagged({"prompt": "p", "template": text})
    assert kind == PII and found.startswith(f"template holds what looks like {what} (")


def test_example_addresses_and_numbers_that_fail_luhn_are_no_personal_data() -> None:
    text = "Write to support@example.com or ops@acme.test; order 4111 1111 1111 1112; 000-12-3456"
    assert flagged({"prompt": "p", "template": text}) == []


def test_a_variable_in_a_system_message_is_flagged_and_one_in_a_user_message_is_not() -> None:
    spec = {
        "prompt": "p",
        "messages": [
            {"role": "system", "content": "You answer for {customer}."},
            {"role": "user", "content": "{ticket}"},
        ],
        "variables": ["customer", "ticket"],
    }
    ((kind, found),) = flagged(spec)
    assert kind == SYSTEM_VARIABLE and found.startswith(
        "messages[0] (system) uses variable(s) customer"
    )


def test_a_policy_refuses_only_the_kinds_it_names_on_the_labels_it_protects() -> None:
    from prompt_release.core import governance
    from prompt_release.core.views import ReleaseView

    def gate(label: str, kinds: list[str]) -> governance.Gate:
        policy = governance.PolicyView.of(
            {
                "metadata": {"name": "strict", "namespace": "ns"},
                "spec": {"labels": ["production"], "refuseWarnings": kinds},
            }
        )
        body = {"metadata": {"name": f"p-{label}", "namespace": "ns"}}
        body["spec"] = {"prompt": "p", "label": label, "version": "v2"}
        return governance.Gate.of(ReleaseView.of(body), [policy], [])

    keyed = VersionView.of(
        {"metadata": {"name": "v2"}, "spec": {"prompt": "p", "template": OPENAI}}
    )
    refused = governance.refused_warnings(gate("production", ["Secret"]), keyed)
    assert refused is not None and "PromptPolicy strict" in refused and OPENAI not in refused
    assert governance.refused_warnings(gate("production", ["PII"]), keyed) is None
    assert governance.refused_warnings(gate("staging", ["Secret"]), keyed) is None
    assert governance.refused_warnings(None, keyed) is None
