"""Hostile text in a PromptVersion: control characters, lone surrogates, deep nesting.

See docs/bad-input.md for the rules these tests hold the code to.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest

from prompt_release.core.canonical import CanonicalizationError, canonical_json
from prompt_release.core.hashing import content_hash
from prompt_release.core.validation import (
    MAX_PARAMETER_DEPTH,
    hash_result,
    nesting_depth,
    problems,
)
from prompt_release.sdk import PayloadError, parse_payload
from tests.unit.payloads import released


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ({"template": "Hi\x00{ticket}"}, "template holds 1 control character(s), the first U+0000"),
        ({"template": "\x1b[2J{ticket}\x1b[0m"}, "template holds 2 control character(s)"),
        ({"template": "{ticket}\x7f"}, "U+007F"),
        ({"template": "{ticket}\x9b31m"}, "U+009B"),
        ({"description": "\x07bell"}, "description holds 1 control character(s)"),
        ({"model": {"name": "gpt\x00"}}, "model.name holds"),
        ({"model": {"provider": "\x1b]0;pwned\x07"}}, "model.provider holds 2"),
    ],
)
def test_control_characters_are_refused_naming_the_field(
    spec: dict[str, Any], fragment: str
) -> None:
    found = problems({"prompt": "p", "template": "{ticket}", "variables": ["ticket"], **spec})
    assert any(fragment in p for p in found), found


def test_control_characters_in_chat_messages_name_the_message() -> None:
    spec = {
        "prompt": "p",
        "messages": [{"role": "user", "content": "ok"}, {"role": "user", "content": "\x1b[31m"}],
    }
    assert problems(spec)[0].startswith("messages[1].content holds 1 control character(s)")
    spec["messages"] = [{"role": "user", "content": "ok", "name": "bob\x00"}]
    assert problems(spec)[0].startswith("messages[0].name holds 1 control character(s)")


def test_tab_newline_and_carriage_return_are_text() -> None:
    spec = {"prompt": "p", "template": "a\tb\r\nc {ticket}\n", "variables": ["ticket"]}
    assert problems(spec) == []


@pytest.mark.parametrize(
    "control", [*map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A))]
)
def test_bidirectional_controls_are_refused_naming_the_field(control: str) -> None:
    """Trojan Source: a text that displays otherwise than the model reads it."""
    spec = {"prompt": "p", "template": f"Be kind{control} {{ticket}}", "variables": ["ticket"]}
    (found,) = problems(spec)
    first = f"the first U+{ord(control):04X} at offset 7"
    assert found.startswith(f"template holds 1 bidirectional control character(s), {first}")
    assert "Trojan Source" in found


def test_bidirectional_controls_are_refused_in_every_free_text() -> None:
    spec = {
        "prompt": "p",
        "messages": [{"role": "user", "content": "ok", "name": "bob\u2067"}],
        "description": "\u202eevil",
        "model": {"name": "gpt\u2066"},
    }
    wheres = [found.split(" holds")[0] for found in problems(spec)]
    assert wheres == ["messages[0].name", "model.name", "description"]


def test_right_to_left_text_and_its_marks_are_allowed() -> None:
    """Hebrew with the marks U+200E/U+200F is ordinary right-to-left text."""
    spec = {
        "prompt": "p",
        "template": "\u05e9\u05dc\u05d5\u05dd\u200f {ticket}\u200e",
        "variables": ["ticket"],
    }
    assert problems(spec) == []


def test_model_parameters_keep_control_characters_as_written() -> None:
    """Free-form parameters are hashed as written: a stop sequence may be anything."""
    spec = {"prompt": "p", "template": "x", "model": {"parameters": {"stop": ["\x00", "\x1b"]}}}
    assert problems(spec) == []


def test_a_lone_surrogate_has_no_canonical_form_and_no_hash() -> None:
    """RFC 8785 text is UTF-8: a lone surrogate (only from JSON `\\ud800`) is refused.

    The API server never stores one: it decodes `\\ud800` to U+FFFD, which hashes normally.
    """
    with pytest.raises(CanonicalizationError, match="not valid Unicode"):
        canonical_json("\ud800")
    with pytest.raises(CanonicalizationError):
        content_hash({"prompt": "p", "template": "x\udfff"})
    spec = {"prompt": "p", "template": "Hi \ud800 {ticket}", "variables": ["ticket"]}
    assert isinstance(hash_result(spec), CanonicalizationError)
    assert any("no canonical JSON form" in p for p in problems(spec))
    stored = {**spec, "template": "Hi \ufffd {ticket}"}
    assert problems(stored) == []
    assert content_hash(stored).startswith("sha256:")


def test_the_sdk_refuses_a_payload_with_a_lone_surrogate() -> None:
    body = released({"prompt": "summarizer", "template": "Hi {ticket}", "variables": ["ticket"]})
    body["template"] = "Hi \ud800 {ticket}"
    with pytest.raises(PayloadError, match="cannot be re-hashed"):
        parse_payload(json.dumps(body))


def _nested(depth: int) -> Any:
    value: Any = 1
    for index in range(depth):
        value = {"a": value} if index % 2 else [value]
    return value


def test_nesting_depth_counts_objects_and_lists_without_recursion() -> None:
    assert nesting_depth(1) == 0
    assert nesting_depth({}) == 1
    assert nesting_depth({"a": [1, {"b": 2}]}) == 3
    assert nesting_depth(_nested(5 * sys.getrecursionlimit())) == 5 * sys.getrecursionlimit()


def test_model_parameters_deeper_than_the_limit_are_refused() -> None:
    spec: dict[str, Any] = {"prompt": "p", "template": "x"}
    assert problems({**spec, "model": {"parameters": _nested(MAX_PARAMETER_DEPTH)}}) == []
    found = problems({**spec, "model": {"parameters": _nested(MAX_PARAMETER_DEPTH + 1)}})
    assert found == [
        f"model.parameters nests {MAX_PARAMETER_DEPTH + 1} levels deep, over the limit of "
        f"{MAX_PARAMETER_DEPTH}"
    ]


def test_parameters_deeper_than_python_recursion_are_refused_not_crashed() -> None:
    depth = 2 * sys.getrecursionlimit()
    spec = {"prompt": "p", "template": "x", "model": {"parameters": _nested(depth)}}
    found = problems(spec)
    assert f"model.parameters nests {depth} levels deep" in found[0]
    assert any("nests too deeply to hash" in p for p in found)
