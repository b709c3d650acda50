"""Is a version's content releasable? Each problem named."""

from __future__ import annotations

from typing import Any

import pytest

from prompt_release.core.validation import MAX_PROMPT_BYTES, problems

TEXT = {"prompt": "p", "template": "Hi {name}", "variables": ["name"]}
CHAT = {
    "prompt": "p",
    "messages": [
        {"role": "system", "content": "You are {persona}."},
        {"role": "user", "content": "{question}"},
    ],
    "variables": ["persona", "question"],
}


@pytest.mark.parametrize("spec", [TEXT, CHAT, {"prompt": "p", "template": "static"}])
def test_valid(spec: dict[str, Any]) -> None:
    assert problems(spec) == []


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ({"prompt": "p"}, "exactly one of template"),
        ({**TEXT, **CHAT}, "exactly one of template"),
        ({**TEXT, "variables": []}, "not declared in variables: name"),
        ({**TEXT, "variables": ["name", "extra"]}, "declared but not used in the prompt: extra"),
        ({**TEXT, "variables": ["name", "name"]}, "more than once"),
        ({**TEXT, "template": "Hi {name"}, "template: f-string syntax"),
        ({**CHAT, "variables": ["persona"]}, "not declared in variables: question"),
        ({**TEXT, "templateFormat": "jinja2"}, "declared but not used"),
        ({**TEXT, "templateFormat": "jinja2", "template": "{% if %}"}, "jinja2 syntax"),
        ({**TEXT, "hash": "sha256:" + "0" * 64}, "hash pin mismatch"),
        ({**TEXT, "model": {"parameters": {"seed": 2**60}}}, "no canonical JSON form"),
        ({**TEXT, "template": "é" * MAX_PROMPT_BYTES + "{name}"}, "over the"),
    ],
)
def test_problems_name_the_cause(spec: dict[str, Any], fragment: str) -> None:
    found = problems(spec)
    assert any(fragment in problem for problem in found), found


def test_chat_message_errors_say_which_message() -> None:
    spec = {**CHAT, "messages": [*CHAT["messages"], {"role": "user", "content": "{"}]}
    assert any(problem.startswith("messages[2].content") for problem in problems(spec))


def test_jinja2_chat_prompt_is_valid() -> None:
    spec = {
        "prompt": "p",
        "templateFormat": "jinja2",
        "messages": [{"role": "user", "content": "{% for t in tickets %}{{ t }}{% endfor %}"}],
        "variables": ["tickets"],
    }
    assert problems(spec) == []
