"""`kubectl prompt lint` and the operator agree, prompt by prompt, on a corpus of 40 versions:
the errors that make a version Invalid and the warnings in its status.warnings; and a
PromptPolicy's refuseWarnings keeps a version with such a warning off its label."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import Prompt
from tests.integration.test_governance import policy
from tests.kube import Kubectl, OperatorProcess, eventually
from tests.prompts import apply, condition, release, released, version, wait_reason

pytestmark = pytest.mark.integration

OPENAI = "sk-proj-" + "a1B2c3D4e5F6g7H8i9J0k1L2"
TOOL: dict[str, Any] = {
    "type": "function",
    "function": {"name": "f", "parameters": {"type": "object", "properties": {}}},
}
TEXTS = {
    "plain": ("Summarize {ticket}", ["ticket"]),
    "undeclared": ("Summarize {ticket} for {customer}", ["ticket"]),
    "unused": ("Summarize {ticket}", ["ticket", "spare"]),
    "openai-key": (f"Call with {OPENAI}: {{ticket}}", ["ticket"]),
    "aws-key": ("Key AKIAABCDEFGHIJKLMNOP {ticket}", ["ticket"]),
    "github-token": ("Token ghp_" + "a" * 36 + " {ticket}", ["ticket"]),
    "private-key": ("-----BEGIN PRIVATE KEY-----\n{ticket}", ["ticket"]),
    "key-and-unused": (f"{OPENAI} {{ticket}}", ["ticket", "spare"]),
    "attribute-access": ("{ticket.__class__}", ["ticket"]),
    "positional": ("Hi {0}", None),
    "email": ("Escalate to jane.doe@acme.io: {ticket}", ["ticket"]),
    "card": ("Card 4111 1111 1111 1111 on file: {ticket}", ["ticket"]),
}
EXTRA: dict[str, dict[str, Any]] = {
    "typed-ok": {"variables": ["ticket", {"name": "n", "type": "integer", "default": 2}]},
    "typed-default-wrong": {
        "variables": ["ticket", {"name": "n", "type": "integer", "default": "2"}]
    },
    "typed-unknown-field": {"variables": ["ticket", {"name": "n", "kind": "x", "default": 1}]},
    "typed-duplicate": {"variables": ["ticket", "n", {"name": "n"}]},
    "tool-ok": {"tools": [TOOL]},
    "tool-bad-schema": {
        "tools": [
            {**TOOL, "function": {"name": "f", "parameters": {"type": "object", "properties": 3}}}
        ]
    },
    "tool-not-object": {
        "tools": [{**TOOL, "function": {"name": "f", "parameters": {"type": "array"}}}]
    },
    "response-ok": {"responseFormat": {"schema": {"type": "object"}}},
    "response-bad": {"responseFormat": {"schema": {"type": "object", "minProperties": -1}}},
    "tool-key-in-description": {
        "tools": [{**TOOL, "function": {"name": "f", "description": f"use {OPENAI}"}}]
    },
    "default-holds-key": {"variables": ["ticket", {"name": "n", "default": OPENAI}]},
    "description-key": {"description": f"rotated {OPENAI}"},
    "system-variable": {
        "template": None,
        "messages": [
            {"role": "system", "content": "You answer for {{customer}}."},
            {"role": "user", "content": "{{ticket}}"},
        ],
        "variables": ["ticket", "customer"],
    },
    "over-budget": {
        "template": "{{ticket}} " + "Answer in the customer's language. " * 20,
        "model": {"name": "gpt-4o-mini", "tokenBudget": 50},
    },
    "over-window": {
        "template": "{{ticket}} " + "word " * 30,
        "model": {"name": "local-model", "contextWindow": 60, "parameters": {"max_tokens": 40}},
    },
    "within-budget": {"model": {"name": "gpt-4o-mini", "tokenBudget": 4000}},
}


def _specs() -> dict[str, dict[str, Any]]:
    specs: dict[str, dict[str, Any]] = {}
    for name, (template, variables) in TEXTS.items():
        spec: dict[str, Any] = {"prompt": "corpus", "template": template}
        if variables is not None:
            spec["variables"] = variables
        specs[name] = spec
        specs[f"{name}-mustache"] = {
            "prompt": "corpus",
            "templateFormat": "mustache",
            "template": template.replace("{", "{{").replace("}", "}}"),
            **({"variables": variables} if variables is not None else {}),
        }
    for name, extra in EXTRA.items():
        uses = "{{ticket}} {{n}}" if "variables" in extra else "{{ticket}}"
        spec = {"prompt": "corpus", "templateFormat": "mustache", "template": uses}
        spec["variables"] = ["ticket"]
        specs[name] = {k: v for k, v in {**spec, **extra}.items() if v is not None}
    return specs


def _operator_verdicts(kubectl: Kubectl, names: list[str]) -> dict[str, tuple[str, list[str]]]:
    """Per version: its Ready=False message ("" when Valid) and its status.warnings."""

    def probe() -> dict[str, tuple[str, list[str]]] | None:
        found: dict[str, tuple[str, list[str]]] = {}
        for item in json.loads(kubectl("get", "promptversions", "-o", "json"))["items"]:
            ready = condition(item)
            if ready.get("reason") not in ("Valid", "Invalid"):
                return None
            message = ready["message"] if ready["reason"] == "Invalid" else ""
            found[item["metadata"]["name"]] = (message, item["status"].get("warnings", []))
        return found if sorted(found) == sorted(names) else None

    return eventually(probe, timeout=90, what="every version checked")


def test_lint_and_the_operator_agree_on_a_corpus(
    prompt: Prompt, kubectl: Kubectl, operator: OperatorProcess, tmp_path: Path
) -> None:
    specs = _specs()
    assert len(specs) >= 30
    manifests: list[dict[str, Any]] = [
        {
            "apiVersion": "promptrelease.io/v1alpha1",
            "kind": "PromptVersion",
            "metadata": {"name": f"corpus-{name}"},
            "spec": spec,
        }
        for name, spec in specs.items()
    ]
    corpus = tmp_path / "corpus.yaml"
    corpus.write_text("\n---\n".join(json.dumps(manifest) for manifest in manifests))
    linted = prompt("lint", str(corpus), "-o", "json", namespaced=False)
    assert linted.returncode == 1, linted.stderr  # some have errors
    offline: dict[str, tuple[list[str], list[str]]] = {}
    for row in json.loads(linted.stdout):
        errors, warnings = offline.setdefault(row["name"], ([], []))
        if row["severity"] == "error":
            errors.append(row["message"])
        elif row["severity"] == "warning":
            warnings.append(row["message"])

    kubectl("apply", "-f", str(corpus))
    live = _operator_verdicts(kubectl, [m["metadata"]["name"] for m in manifests])
    for name, (message, found) in live.items():
        errors, expected = offline[name]
        assert "; ".join(errors) == message, name
        assert expected == found, name
    assert sum(1 for message, _ in live.values() if message) >= 10
    assert sum(1 for _, warnings in live.values() if warnings) >= 8
    assert sum(1 for message, warnings in live.values() if not message and not warnings) >= 5


def test_a_policy_refusing_secrets_keeps_a_version_with_a_key_off_the_label(
    kubectl: Kubectl, operator: OperatorProcess
) -> None:
    refused_kinds = ["Secret", "PII", "TokenBudget"]
    apply(
        kubectl,
        policy("no-secrets", labels=["production"], refuseWarnings=refused_kinds),
        version("summarizer-v1"),
        version("summarizer-v2", template=f"Call {OPENAI} about {{ticket}}"),
        version("summarizer-v3", template="Summarize, briefly: {ticket}"),
    )
    apply(kubectl, release("summarizer-v1"))
    released(kubectl, "summarizer-production", 1)
    before = kubectl.get("configmap", "summarizer-production")

    apply(kubectl, release("summarizer-v2"))
    refused = wait_reason(kubectl, "summarizer-production", "LintRefused")
    message = condition(refused)["message"]
    assert "PromptPolicy no-secrets" in message and "summarizer-v2" in message
    assert "an OpenAI API key (sk-pro…" in message and OPENAI not in message
    assert kubectl.get("configmap", "summarizer-production")["data"] == before["data"]
    apply(kubectl, release("summarizer-v2", label="staging"))  # not a protected label
    released(kubectl, "summarizer-staging", 1)

    apply(kubectl, release("summarizer-v3"))
    assert released(kubectl, "summarizer-production", 2)["status"]["version"] == "summarizer-v3"

    long = "Summarize {ticket} in the customer's language, briefly, as three bullets."
    apply(kubectl, version("summarizer-v4", template=long, model={"tokenBudget": 8}))
    apply(kubectl, release("summarizer-v4"))
    refused = wait_reason(kubectl, "summarizer-production", "LintRefused")
    assert "over its budget of 8 (spec.model.tokenBudget)" in condition(refused)["message"]
    assert kubectl.get("promptrelease", "summarizer-production")["status"]["revision"] == 2
