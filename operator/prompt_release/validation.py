"""Is a PromptVersion's content releasable? Pure checks that name each problem."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prompt_release.canonical import CanonicalizationError
from prompt_release.hashing import content_hash
from prompt_release.templates import F_STRING, TemplateError, placeholders

MAX_PROMPT_BYTES = 1_048_576


def prompt_texts(spec: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(where, text) for every text that may hold placeholders."""
    if spec.get("template") is not None:
        return [("template", str(spec["template"]))]
    return [
        (f"messages[{index}].content", str(message.get("content", "")))
        for index, message in enumerate(spec.get("messages") or [])
    ]


def problems(spec: Mapping[str, Any]) -> list[str]:
    """Every reason this spec can't be released; empty when it is valid."""
    found: list[str] = []
    has_template, has_messages = spec.get("template") is not None, bool(spec.get("messages"))
    if has_template == has_messages:
        found.append("set exactly one of template (a text prompt) and messages (a chat prompt)")
    template_format = spec.get("templateFormat") or F_STRING
    used: set[str] = set()
    for where, text in prompt_texts(spec):
        try:
            used |= placeholders(text, template_format)
        except TemplateError as error:
            found.append(f"{where}: {error}")
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
    try:
        computed = content_hash(spec)
    except CanonicalizationError as error:
        found.append(f"spec has no canonical JSON form: {error}")
    else:
        pinned = spec.get("hash")
        if pinned and pinned != computed:
            found.append(
                f"hash pin mismatch: spec.hash is {pinned}, the content hashes to {computed}"
            )
    return found
