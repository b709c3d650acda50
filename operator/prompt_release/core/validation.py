"""Is a PromptVersion's content releasable? Pure checks that name each problem."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from prompt_release.core import contract, includes, variables
from prompt_release.core.canonical import CanonicalizationError
from prompt_release.core.hashing import content_hash
from prompt_release.core.templates import (
    TemplateError,
    optional_placeholders,
    placeholders,
    refusals,
    template_format_of,
)

MAX_PROMPT_BYTES = 1_048_576
MAX_PARAMETER_DEPTH = 64
"""How deeply `model.parameters`, `tools` and `responseFormat` may nest (objects and lists);
JSON schemas fit easily."""

API_SERVER_MAX_JSON_DEPTH = 10_000
"""The nesting the API server's JSON decoder accepts: what a reader of its objects must parse."""

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
"""C0 and C1 control characters and DEL, except tab, newline and carriage return."""

_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
"""Bidirectional embedding, override and isolate controls (LRE, RLE, PDF, LRO, RLO, LRI, RLI,
FSI, PDI): they make a text display otherwise than it reads (Trojan Source, CVE-2021-42574).
The marks LRM, RLM and ALM, which right-to-left text uses, are allowed."""

HashResult = str | CanonicalizationError
"""A content hash, or why the spec has none."""


def hash_result(spec: Mapping[str, Any]) -> HashResult:
    try:
        return content_hash(spec)
    except CanonicalizationError as error:
        return error
    except RecursionError:
        return CanonicalizationError("the spec nests too deeply to hash")


def nesting_depth(value: Any) -> int:
    """How many objects and lists deep a JSON value goes (0 for a scalar), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Mapping):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children)
    return deepest


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
    used, _, errors = _placeholder_reports(spec)
    return used, errors


def _placeholder_reports(spec: Mapping[str, Any]) -> tuple[set[str], set[str], list[str]]:
    """The placeholders the texts use, those they may use undeclared (mustache names inside
    sections), and each syntax error or unsafe construct, named."""
    used: set[str] = set()
    optional: set[str] = set()
    errors: list[str] = []
    for where, text in prompt_texts(spec):
        try:
            optional |= optional_placeholders(text, template_format_of(spec))
            used |= placeholders(text, template_format_of(spec))
            errors.extend(
                f"{where}: {refused}" for refused in refusals(text, template_format_of(spec))
            )
        except TemplateError as error:
            errors.append(f"{where}: {error}")
    return used, optional, errors


def _free_texts(spec: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(where, text) for every free-text field a human or a workload will read."""
    yield from prompt_texts(spec)
    for index, message in enumerate(spec.get("messages") or []):
        if isinstance(message, Mapping) and isinstance(message.get("name"), str):
            yield f"messages[{index}].name", message["name"]
    model = spec.get("model")
    for key in ("provider", "name"):
        if isinstance(model, Mapping) and isinstance(model.get(key), str):
            yield f"model.{key}", model[key]
    if isinstance(spec.get("description"), str):
        yield "description", spec["description"]


def control_characters(spec: Mapping[str, Any]) -> list[str]:
    """Each text field holding control characters (terminal escapes, NUL, ...), named."""
    found: list[str] = []
    for where, text in _free_texts(spec):
        controls = _CONTROL.findall(text)
        if controls:
            first = _CONTROL.search(text)
            assert first is not None
            found.append(
                f"{where} holds {len(controls)} control character(s), the first U+"
                f"{ord(first.group()):04X} at offset {first.start()}; only tab, newline and "
                "carriage return are allowed"
            )
    return found


def bidi_controls(spec: Mapping[str, Any]) -> list[str]:
    """Each text field holding bidirectional controls, named: a reviewer reading the diff would
    see another prompt than the model reads."""
    found: list[str] = []
    for where, text in _free_texts(spec):
        first = _BIDI.search(text)
        if first is not None:
            found.append(
                f"{where} holds {len(_BIDI.findall(text))} bidirectional control "
                f"character(s), the first U+{ord(first.group()):04X} at offset {first.start()}: "
                "they make a text display otherwise than it reads (Trojan Source); use the marks "
                "U+200E/U+200F for right-to-left text"
            )
    return found


def used_placeholders(spec: Mapping[str, Any]) -> set[str]:
    """Every placeholder the prompt's texts use; TemplateError names the first bad text."""
    used, errors = _placeholder_report(spec)
    if errors:
        raise TemplateError(errors[0])
    return used


def _depth_problems(spec: Mapping[str, Any]) -> list[str]:
    """The free-form JSON of a spec (model parameters, tools, the response format), each
    refused when it nests deeper than MAX_PARAMETER_DEPTH."""
    model = spec.get("model")
    found: list[str] = []
    for where, value in (
        ("model.parameters", model.get("parameters") if isinstance(model, Mapping) else None),
        ("tools", spec.get("tools")),
        ("responseFormat", spec.get("responseFormat")),
    ):
        depth = nesting_depth(value)
        if depth > MAX_PARAMETER_DEPTH:
            found.append(
                f"{where} nests {depth} levels deep, over the limit of {MAX_PARAMETER_DEPTH}"
            )
    return found


def problems(spec: Mapping[str, Any], hashed: HashResult | None = None) -> list[str]:
    """Every reason this spec can't be released; empty when it is valid.

    `hashed` is the spec's `hash_result` when the caller has it already (hash once a pass).
    A spec with includes has its texts checked once composed (`core/composition.py`): here,
    only its pins and their markers.
    """
    found: list[str] = []
    has_template, has_messages = spec.get("template") is not None, bool(spec.get("messages"))
    if has_template == has_messages:
        found.append("set exactly one of template (a text prompt) and messages (a chat prompt)")
    entries = spec.get("variables") or []
    found.extend(variables.problems(entries))
    if spec.get("includes"):
        found.extend(includes.problems(spec))
    else:
        found.extend(text_problems(spec))
    too_deep = _depth_problems(spec)
    found.extend(too_deep or contract.problems(spec))
    computed = hash_result(spec) if hashed is None else hashed
    if isinstance(computed, CanonicalizationError):
        found.append(f"spec has no canonical JSON form: {computed}")
    elif spec.get("hash") and spec["hash"] != computed:
        found.append(
            f"hash pin mismatch: spec.hash is {spec['hash']}, the content hashes to {computed}"
        )
    return found


def text_problems(spec: Mapping[str, Any]) -> list[str]:
    """What is wrong with the prompt's texts: syntax, placeholders against the declared
    variables, control characters, size."""
    found: list[str] = []
    used, optional, syntax_errors = _placeholder_reports(spec)
    found.extend(syntax_errors)
    declared = variables.names(spec.get("variables") or [])
    undeclared = sorted(used - set(declared))
    unused = sorted(set(declared) - used - optional)
    if undeclared:
        found.append("placeholder(s) not declared in variables: " + ", ".join(undeclared))
    if unused:
        found.append("variable(s) declared but not used in the prompt: " + ", ".join(unused))
    found.extend(control_characters(spec))
    found.extend(bidi_controls(spec))
    size = sum(len(text.encode("utf-8", "surrogatepass")) for _, text in prompt_texts(spec))
    if size > MAX_PROMPT_BYTES:
        found.append(f"prompt text is {size} bytes, over the {MAX_PROMPT_BYTES}-byte limit")
    return found
