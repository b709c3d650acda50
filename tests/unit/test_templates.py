"""Placeholders and rendering for f-string and jinja2 prompts."""

from __future__ import annotations

import pytest

from prompt_release.core.templates import (
    TemplateError,
    placeholders,
    render_text,
)


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("Hello {name}", {"name"}),
        ("{a} and {b.attr} and {c[0]} and {{literal}}", {"a", "b", "c"}),
        ("{value:{width}}", {"value", "width"}),
        ("no placeholders", set()),
        ("{x!r:>10}", {"x"}),
    ],
)
def test_f_string_placeholders(text: str, names: set[str]) -> None:
    assert placeholders(text) == names


@pytest.mark.parametrize("text", ["{", "}", "a {b", "{0}", "{}"])
def test_f_string_errors_name_the_problem(text: str) -> None:
    with pytest.raises(TemplateError, match="f-string"):
        placeholders(text)


def test_jinja2_placeholders_ignore_loop_variables() -> None:
    text = "{% for item in items %}{{ item }} {{ sep }}{% endfor %}{{ user.name }}"
    assert placeholders(text, "jinja2") == {"items", "sep", "user"}


def test_jinja2_syntax_error_names_the_line() -> None:
    with pytest.raises(TemplateError, match="line 2"):
        placeholders("ok\n{% if x %}", "jinja2")


def test_unknown_format() -> None:
    with pytest.raises(TemplateError, match="unknown templateFormat"):
        placeholders("x", "handlebars")


def test_render_both_formats() -> None:
    assert render_text("Hi {name}!", "f-string", {"name": "Ada"}) == "Hi Ada!"
    assert render_text("Hi {{ name }}!", "jinja2", {"name": "Ada"}) == "Hi Ada!"
    assert render_text("{{ '{' }}x{{ '}' }}", "jinja2", {}) == "{x}"


def test_jinja2_is_sandboxed() -> None:
    with pytest.raises(TemplateError):
        render_text("{{ x.__class__.__mro__ }}", "jinja2", {"x": 1})
