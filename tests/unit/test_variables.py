"""Typed variables: what a version may declare, and how a render binds values to them."""

from __future__ import annotations

from typing import Any

import pytest

from prompt_release.core import variables
from prompt_release.core.validation import problems
from prompt_release.core.variables import Variable, VariableError, bind, declared, fits

TYPED: list[Any] = [
    "ticket",
    {"name": "count", "type": "integer", "default": 3, "description": "How many bullets."},
    {"name": "tone", "type": "string", "required": False},
    {"name": "customer", "type": "object"},
    {"name": "tags", "type": "array", "default": []},
    {"name": "urgent", "type": "boolean", "required": False},
    {"name": "score", "type": "number", "required": False},
]


def test_plain_names_are_required_variables_of_any_type() -> None:
    assert declared(["ticket", "count"]) == (Variable("ticket"), Variable("count"))
    assert bind(declared(["ticket"]), {"ticket": {"any": ["json"]}}) == {
        "ticket": {"any": ["json"]}
    }


def test_typed_entries_read_with_their_defaults() -> None:
    found = {v.name: v for v in declared(TYPED)}
    assert found["count"] == Variable(
        "count", "integer", False, 3, True, description="How many bullets."
    )
    assert found["tone"].required is False and not found["tone"].has_default
    assert found["customer"].required is True
    assert variables.names(TYPED) == [
        "ticket",
        "count",
        "tone",
        "customer",
        "tags",
        "urgent",
        "score",
    ]


def test_bind_applies_defaults_and_zero_values() -> None:
    bound = bind(declared(TYPED), {"ticket": "t", "customer": {"name": "Ada"}})
    assert bound == {
        "ticket": "t",
        "count": 3,
        "tone": "",
        "customer": {"name": "Ada"},
        "tags": [],
        "urgent": False,
        "score": 0,
    }


def test_a_given_value_wins_over_the_default() -> None:
    bound = bind(declared(TYPED), {"ticket": "t", "customer": {}, "count": 5, "tone": "dry"})
    assert (bound["count"], bound["tone"]) == (5, "dry")


def test_missing_unexpected_and_wrongly_typed_are_named_together() -> None:
    with pytest.raises(VariableError) as caught:
        bind(declared(TYPED), {"count": "three", "urgent": 1, "extra": 1})
    text = str(caught.value)
    assert "missing variable(s): customer, ticket" in text
    assert "unexpected variable(s): extra" in text
    assert "count must be integer, not string" in text
    assert "urgent must be boolean, not integer" in text


@pytest.mark.parametrize(
    ("value", "kind", "expected"),
    [
        ("x", "string", True),
        (1, "string", False),
        (3, "integer", True),
        (3.0, "integer", True),
        (3.5, "integer", False),
        (True, "integer", False),
        (True, "number", False),
        (2, "number", True),
        (2.5, "number", True),
        (False, "boolean", True),
        ({}, "object", True),
        ([], "object", False),
        ((1, 2), "array", True),
        (None, "string", False),
        (None, None, True),
    ],
)
def test_json_types(value: Any, kind: str | None, expected: bool) -> None:
    assert fits(value, kind) is expected


def test_defaults_are_copies() -> None:
    (tags,) = declared([{"name": "tags", "type": "array", "default": [1]}])
    tags.value_when_missing().append(2)
    assert tags.value_when_missing() == [1]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"name": "n", "type": "text"}, "variables[0] (n): type 'text' is not one of string"),
        ({"name": "n", "type": "integer", "default": "3"}, "default is string, not integer"),
        ({"name": "n", "required": True, "default": 1}, "a variable with a default is not"),
        ({"name": "n", "required": "yes"}, "required must be true or false"),
        ({"name": "n", "kind": "string"}, "unknown field(s) kind"),
        ({"name": "n.m"}, "name must be an identifier"),
        ({"type": "string"}, "variables[0]: name must be an identifier"),
        ({"name": "n", "description": "d" * 1025}, "description must be text of at most 1024"),
        (7, "variables[0]: must be a name or an object"),
        ("not-a-name", "is not an identifier"),
    ],
)
def test_bad_entries_are_named(entry: Any, message: str) -> None:
    found = variables.problems([entry])
    assert any(message in problem for problem in found), found


def test_a_name_declared_twice_plain_or_typed_is_refused() -> None:
    assert variables.problems(["a", {"name": "a", "type": "string"}]) == [
        "variables lists a name more than once: a"
    ]


def test_a_version_with_typed_variables_validates_against_its_placeholders() -> None:
    spec = {
        "prompt": "p",
        "templateFormat": "mustache",
        "template": "{{ticket}} {{count}} {{tone}} {{customer.name}} {{#tags}}{{.}}{{/tags}} "
        "{{urgent}} {{score}}",
        "variables": TYPED,
    }
    assert problems(spec) == []
    unused = {**spec, "variables": [*TYPED, {"name": "spare", "type": "string"}]}
    assert "variable(s) declared but not used in the prompt: spare" in problems(unused)
    bad = {**spec, "variables": [*TYPED[:-1], {"name": "score", "type": "float"}]}
    assert any("variables[6] (score): type 'float'" in p for p in problems(bad))
