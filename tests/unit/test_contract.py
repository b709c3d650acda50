"""Tools and responseFormat: JSON Schemas checked against their metaschema, errors named by
their path in the spec."""

from __future__ import annotations

from typing import Any

import pytest

from prompt_release.core import contract
from prompt_release.core.validation import problems

WEATHER: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1}},
            "required": ["city"],
            "additionalProperties": False,
        },
        "strict": True,
    },
}
SUMMARY: dict[str, Any] = {
    "name": "ticket_summary",
    "strict": True,
    "schema": {
        "type": "object",
        "properties": {
            "bullets": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
            "priority": {"enum": ["low", "normal", "high"]},
        },
        "required": ["bullets", "priority"],
    },
}
SPEC: dict[str, Any] = {
    "prompt": "p",
    "template": "{ticket}",
    "variables": ["ticket"],
    "tools": [WEATHER],
    "responseFormat": SUMMARY,
}


def test_valid_tools_and_response_format() -> None:
    assert contract.problems(SPEC) == []
    assert problems(SPEC) == []


def test_a_tool_schema_that_is_not_json_schema_is_named_by_its_path() -> None:
    bad: dict[str, Any] = {
        "type": "function",
        "function": {"name": "f", "parameters": {"type": "object"}},
    }
    bad["function"]["parameters"]["properties"] = {"city": {"type": "strin"}}
    found = contract.problems({**SPEC, "tools": [WEATHER, bad]})
    assert len(found) == 1
    assert found[0].startswith("tools[1].function.parameters.properties.city.type: 'strin' is")
    assert found[0].endswith("(not a valid JSON Schema)")


def test_a_response_schema_error_is_named_by_its_path() -> None:
    schema = {**SUMMARY["schema"], "required": "bullets"}
    found = contract.problems({**SPEC, "responseFormat": {**SUMMARY, "schema": schema}})
    assert found == [
        "responseFormat.schema.required: 'bullets' is not of type 'array' (not a valid JSON Schema)"
    ]


def test_the_schema_dialect_follows_dollar_schema() -> None:
    draft4 = {"$schema": "http://json-schema.org/draft-04/schema#", "exclusiveMinimum": 3}
    assert contract.schema_problem("s", draft4) is not None  # a boolean in draft 4
    draft7 = {"$schema": "http://json-schema.org/draft-07/schema#", "exclusiveMinimum": 3}
    assert contract.schema_problem("s", draft7) is None
    assert contract.dialect_of({}).__name__ == "Draft202012Validator"


@pytest.mark.parametrize(
    ("tools", "message"),
    [
        ([WEATHER, WEATHER], "tools: more than one function named get_weather"),
        ([{"type": "function"}], "tools[0]: must be {type: function"),
        ([{"type": "retrieval", "function": {"name": "f"}}], "tools[0].type: must be function"),
        ([{"type": "function", "function": {"name": "a b"}}], "tools[0].function.name: must"),
        (
            [{"type": "function", "function": {"name": "f", "parameters": {"type": "string"}}}],
            "tools[0].function.parameters.type: must be object",
        ),
        (
            [{"type": "function", "function": {"name": "f", "parameters": [1]}}],
            "tools[0].function.parameters: a JSON Schema must be an object",
        ),
        ("get_weather", "tools: must be a list"),
    ],
)
def test_bad_tools(tools: Any, message: str) -> None:
    found = contract.problems({**SPEC, "tools": tools})
    assert any(message in problem for problem in found), found


def test_a_response_format_needs_a_schema() -> None:
    assert contract.problems({**SPEC, "responseFormat": {"name": "x"}}) == [
        "responseFormat: must be {name, schema, ...} with a JSON Schema"
    ]


def test_odd_keys_are_quoted_in_the_path() -> None:
    schema = {"type": "object", "properties": {"two words": {"minLength": -1}}}
    (found,) = contract.problems({**SPEC, "responseFormat": {"schema": schema}})
    assert found.startswith("responseFormat.schema.properties['two words'].minLength: -1")


def test_a_schema_too_deep_is_refused_before_it_is_checked() -> None:
    deep: Any = {"type": "object"}
    for _ in range(70):
        deep = {"type": "object", "properties": {"a": deep}}
    found = problems({**SPEC, "responseFormat": {"schema": deep}})
    assert any("responseFormat nests" in problem for problem in found), found
