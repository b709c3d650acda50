"""Lint: what is wrong with a PromptVersion (errors: it is `Invalid`) and what looks wrong
(warnings: it stays releasable). `kubectl prompt lint` and the version's `status.warnings`
give the same verdicts, from this one module.

Warnings today: text that looks like a credential (API keys and private keys of the common
providers) in a prompt text, a message name, the description, a variable's default or a tool's
description. The match is shown masked, never whole.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from prompt_release.core.validation import problems, prompt_texts

ERROR, WARNING = "error", "warning"

SECRETS: tuple[tuple[str, tuple[str, ...], re.Pattern[str]], ...] = (
    (
        "an OpenAI API key",
        ("sk-",),
        re.compile(r"\bsk-(?!ant-)(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}"),
    ),
    ("an Anthropic API key", ("sk-ant-",), re.compile(r"\bsk-ant-[A-Za-z0-9_-]{20,}")),
    ("an AWS access key id", ("AKIA", "ASIA"), re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    (
        "a GitHub token",
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
        re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_\w{22,})"),
    ),
    ("a Google API key", ("AIza",), re.compile(r"\bAIza[0-9A-Za-z_-]{35}")),
    ("a Slack token", ("xox",), re.compile(r"\bxox[abposr]-[0-9A-Za-z-]{10,}")),
    ("a Stripe secret key", ("k_live_",), re.compile(r"\b[sr]k_live_[0-9A-Za-z]{20,}")),
    ("a private key", ("PRIVATE KEY",), re.compile(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----")),
)
"""(what it is, literal hints, its pattern): prefixes the providers document for their keys. A
pattern runs only over a text holding one of its hints (a substring test is far cheaper)."""


@dataclass(frozen=True)
class Finding:
    """One verdict: `error` (the version is Invalid) or `warning` (it stays releasable)."""

    severity: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"severity": self.severity, "message": self.message}


def _masked(text: str) -> str:
    return text[:6] + "…" if len(text) > 6 else "…"


def _texts(spec: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(where, text) for every text a secret could hide in."""
    yield from prompt_texts(spec)
    for index, message in enumerate(spec.get("messages") or []):
        if isinstance(message, Mapping) and isinstance(message.get("name"), str):
            yield f"messages[{index}].name", message["name"]
    if isinstance(spec.get("description"), str):
        yield "description", spec["description"]
    for index, entry in enumerate(spec.get("variables") or []):
        if isinstance(entry, Mapping) and isinstance(entry.get("default"), str):
            yield f"variables[{index}].default", entry["default"]
    for index, tool in enumerate(spec.get("tools") or []):
        function = tool.get("function") if isinstance(tool, Mapping) else None
        if isinstance(function, Mapping) and isinstance(function.get("description"), str):
            yield f"tools[{index}].function.description", function["description"]


def secrets(spec: Mapping[str, Any]) -> list[str]:
    """Each text holding what looks like a credential, named by its place (masked)."""
    found: list[str] = []
    for where, text in _texts(spec):
        for what, hints, pattern in SECRETS:
            if not any(hint in text for hint in hints):
                continue
            match = pattern.search(text)
            if match is not None:
                found.append(
                    f"{where} holds what looks like {what} ({_masked(match.group())} at offset "
                    f"{match.start()}): a prompt is readable by everyone who can read the "
                    "ConfigMap; pass credentials to the workload, never in the prompt"
                )
    return found


def warnings(spec: Mapping[str, Any]) -> list[str]:
    """What looks wrong but doesn't stop a release: the version's `status.warnings`."""
    return secrets(spec)


def lint(spec: Mapping[str, Any]) -> list[Finding]:
    """Every verdict on a spec: its problems as errors, then its warnings."""
    return [Finding(ERROR, problem) for problem in problems(spec)] + [
        Finding(WARNING, warning) for warning in warnings(spec)
    ]
