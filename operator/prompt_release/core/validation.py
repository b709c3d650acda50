"""Is a PromptVersion's content releasable? Pure checks that name each problem."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prompt_release.core.canonical import CanonicalizationError
from prompt_release.core.hashing import content_hash
from prompt_release.core.templates import (
    TemplateError,
    placeholders,
    refusals,
    template_format_of,
)

MAX_PROMPT_BYTES = 1_048_576

HashResult = str | CanonicalizationError
"""A content hash, or why the spec has none."""


def hash_result(spec: Mapping[str, Any]) -> HashResult:
    try:
        return content_hash(spec)
    except CanonicalizationError as error:
        return error


def prompt_texts(spec: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(where, text) for every text that may hold placeholders."""
    if spec.get("template") is not None:
        return [("template", str(spec["template"]))]
    return [
        (f"messages[{index}].content", str(message.get("content", "")))
        for index, message in enumerate(spec.get("messages") or [])
    ]


def _placeholder_report(spec: Mapping[str, Any]) -> tuple[set[str], list[str]]:
    """The placeholders the prompt's texts use, and each syntax error or unsafe one, named."""
    used: set[str] = set()
    errors: list[str] = []
    for where, text in prompt_texts(spec):
        try:
            used |= placeholders(text, template_format_of(spec))
            errors.extend(
                f"{where}: {refused}" for refused in refusals(text, template_format_of(spec))
            )
        except TemplateError as error:
            errors.append(f"{where}: {error}")
    return used, errors


def used_placeholders(spec: Mapping[str, Any]) -> set[str]:
    """Every placeholder the prompt's texts use; TemplateError names the first bad text."""
    used, errors = _placeholder_report(spec)
    if errors:
        raise TemplateError(errors[0])
    return used


def problems(spec: Mapping[str, Any], hashed: HashResult | None = None) -> list[str]:
    """Every reason this spec can't be released; empty when it is valid.

    `hashed` is the spec's `hash_result` when the caller has it already (hash once a pass).
    """
    found: list[str] = []
    has_template, has_messages = spec.get("template") is not None, bool(spec.get("messages"))
    if has_template == has_messages:
        found.append("set exactly one of template (a text prompt) and messages (a chat prompt)")
    used, syntax_errors = _placeholder_report(spec)
    found.extend(syntax_errors)
    declared = list(spec.get("variables") or [])
    if len(set(declared)) != len(declared):
        found.append("variables lists a name more than once")
    undeclared = sorted(used - set(declared))
    unused = sorted(set(declared) - used)
    if undeclared:
        found.append("placeholder(s) not declared in variables: " + ", ".join(undeclared))
    if unused:
        found.append("variable(s) declared but not used in the prompt: " + ", ".join(unused))
    size = sum(len(text.encode("utf-8")) for _, text in prompt_texts(spec))
    if size > MAX_PROMPT_BYTES:
        found.append(f"prompt text is {size} bytes, over the {MAX_PROMPT_BYTES}-byte limit")
    computed = hash_result(spec) if hashed is None else hashed
    if isinstance(computed, CanonicalizationError):
        found.append(f"spec has no canonical JSON form: {computed}")
    elif spec.get("hash") and spec["hash"] != computed:
        found.append(
            f"hash pin mismatch: spec.hash is {spec['hash']}, the content hashes to {computed}"
        )
    return found
