"""Lint: what is wrong with a PromptVersion (errors: it is `Invalid`) and what looks wrong
(warnings: it stays releasable). `kubectl prompt lint` and the version's `status.warnings`
give the same verdicts, from this one module.

Warnings, each of a kind a PromptPolicy can turn into a refusal for its labels
(`refuseWarnings`):
- `Secret`: text that looks like a credential (API keys and private keys of the common
  providers) in a prompt text, a message name, the description, a variable's default or a
  tool's description;
- `PII`: obvious personal data in those texts: an email address (not of a domain reserved for
  examples), a payment card number (that passes the Luhn check), a US social security number, a
  phone number in international format;
- `SystemVariable`: a system message that uses a variable, so text the caller supplies lands
  where the model takes its instructions;
- `TokenBudget`: the prompt takes more tokens than `spec.model.tokenBudget` allows;
- `ContextWindow`: the prompt, with the answer's share (`max_tokens` and the like), takes more
  than the model's context window (`core/context_windows.py`).
A match is shown masked, never whole. Tokens are counted (`core/tokens.py`) over the prompt's
texts, tools and response schema before variables are filled in, and only when the text's
length in bytes could reach a limit.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from prompt_release.core import context_windows, tokens
from prompt_release.core.templates import TemplateError, placeholders, template_format_of
from prompt_release.core.validation import problems, prompt_texts

ERROR, WARNING = "error", "warning"
SECRET, PII, SYSTEM_VARIABLE = "Secret", "PII", "SystemVariable"
TOKEN_BUDGET, CONTEXT_WINDOW = "TokenBudget", "ContextWindow"
KINDS = (SECRET, PII, SYSTEM_VARIABLE, TOKEN_BUDGET, CONTEXT_WINDOW)

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


PERSONAL: tuple[tuple[str, tuple[str, ...], re.Pattern[str]], ...] = (
    (
        "an email address",
        ("@",),
        re.compile(
            r"\b[A-Za-z0-9._%+-]+@(?!example\.(?:com|org|net)\b)[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.(?!test\b|example\b|invalid\b|localhost\b)[A-Za-z]{2,}\b"
        ),
    ),
    ("a payment card number", (), re.compile(r"\b(?:\d[ -]?){12,18}\d\b")),
    (
        "a US social security number",
        ("-",),
        re.compile(r"\b(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}\b"),
    ),
    ("a phone number", ("+",), re.compile(r"(?<![\w+])\+[1-9](?:[ -]?\d){7,14}\b")),
)
"""(what it is, literal hints, its pattern); a card number counts only when it passes Luhn."""


def _luhn(digits: str) -> bool:
    total = 0
    for index, digit in enumerate(reversed(digits)):
        value = int(digit) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def personal_data(spec: Mapping[str, Any]) -> list[str]:
    """Each text holding what looks like personal data, named by its place (masked)."""
    found: list[str] = []
    for where, text in _texts(spec):
        for what, hints, pattern in PERSONAL:
            if hints and not any(hint in text for hint in hints):
                continue
            for match in pattern.finditer(text):
                digits = re.sub(r"\D", "", match.group())
                if what == "a payment card number" and not _luhn(digits):
                    continue
                found.append(
                    f"{where} holds what looks like {what} ({_masked(match.group())} at offset "
                    f"{match.start()}): a prompt is readable by everyone who can read the "
                    "ConfigMap and is sent to the model provider with every request"
                )
                break
    return found


def system_variables(spec: Mapping[str, Any]) -> list[str]:
    """Each system message that uses a variable, with the variables it uses."""
    found: list[str] = []
    for index, message in enumerate(spec.get("messages") or []):
        if not isinstance(message, Mapping) or message.get("role") != "system":
            continue
        try:
            used = placeholders(str(message.get("content", "")), template_format_of(spec))
        except TemplateError:
            continue  # a problem of its own (the version is Invalid)
        if used:
            found.append(
                f"messages[{index}] (system) uses variable(s) {', '.join(sorted(used))}: text "
                "the caller supplies lands where the model takes its instructions and can "
                "override them; pass it in a user message"
            )
    return found


def _counted(spec: Mapping[str, Any]) -> list[str]:
    """What the model reads of a version: its texts, and its tools and response schema as the
    compact JSON an API sends them in."""
    counted = [text for _, text in prompt_texts(spec)]
    for key in ("tools", "responseFormat"):
        if spec.get(key) is not None:
            counted.append(json.dumps(spec[key], separators=(",", ":"), ensure_ascii=False))
    return counted


def token_limits(spec: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(kind, message) for a prompt over its token budget or its model's context window."""
    model = spec.get("model")
    if not isinstance(model, Mapping):
        return []
    budget = context_windows.integer(model.get("tokenBudget"))
    window = context_windows.window_of(model)
    answer = context_windows.answer_share(model)
    room = None if window is None else window.tokens - answer
    limits = [limit for limit in (budget, room) if limit is not None]
    counted = _counted(spec)
    if not limits or sum(tokens.most(text) for text in counted) <= min(limits):
        return []
    taken = sum(tokens.counter()(counted))
    found: list[tuple[str, str]] = []
    if budget is not None and taken > budget:
        found.append(
            (
                TOKEN_BUDGET,
                f"the prompt takes {taken} tokens ({tokens.ENCODING}, before variables are "
                f"filled in), over its budget of {budget} (spec.model.tokenBudget)",
            )
        )
    if window is not None and taken + answer > window.tokens:
        share = f" and {answer} kept for the answer" if answer else ""
        found.append(
            (
                CONTEXT_WINDOW,
                f"the prompt takes {taken} tokens ({tokens.ENCODING}, before variables are "
                f"filled in){share}: {taken + answer} tokens, over the context window of "
                f"{window.tokens} ({window.source})",
            )
        )
    return found


def flagged(spec: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(kind, message) of every warning."""
    return [
        *((SECRET, message) for message in secrets(spec)),
        *((PII, message) for message in personal_data(spec)),
        *((SYSTEM_VARIABLE, message) for message in system_variables(spec)),
        *token_limits(spec),
    ]


def warnings(spec: Mapping[str, Any]) -> list[str]:
    """What looks wrong but doesn't stop a release: the version's `status.warnings`."""
    return [message for _, message in flagged(spec)]


def lint(spec: Mapping[str, Any]) -> list[Finding]:
    """Every verdict on a spec: its problems as errors, then its warnings."""
    return [Finding(ERROR, problem) for problem in problems(spec)] + [
        Finding(WARNING, warning) for warning in warnings(spec)
    ]
