"""The SDK and the prompt's contract: typed variables at render, tools, the response format."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from prompt_release.core import payload
from prompt_release.core.hashing import content_hash
from prompt_release.sdk import (
    MountedPrompt,
    OutputError,
    PayloadError,
    Prompt,
    PromptError,
    RenderError,
    parse_payload,
)
from tests.unit.test_contract import SUMMARY, WEATHER

TYPED: list[Any] = [
    "ticket",
    {"name": "count", "type": "integer", "default": 3},
    {"name": "tone", "type": "string", "required": False},
]


def _text(**spec: Any) -> str:
    body: dict[str, Any] = {
        "prompt": "summarizer",
        "templateFormat": "mustache",
        "template": "{{#tone}}[{{tone}}] {{/tone}}{{count}} bullets: {{ticket}}",
        "variables": TYPED,
    }
    body.update(spec)
    body = {key: value for key, value in body.items() if value is not None}
    built = payload.build(
        body,
        label="production",
        version="summarizer-v2",
        content_hash=content_hash(body),
        revision=2,
        released_at="2026-11-24T10:00:00Z",
        changelog="typed",
    )
    return payload.data(built)[payload.PAYLOAD_KEY]


def _prompt(**spec: Any) -> Prompt:
    return parse_payload(_text(**spec))


def test_a_typed_payload_is_format_2_and_verifies() -> None:
    document = json.loads(_text())
    assert document["format"] == 2
    assert document["variables"] == TYPED  # as written: the payload re-hashes
    prompt = _prompt()
    assert prompt.variables == ("ticket", "count", "tone")
    assert [v.to_json() for v in prompt.inputs] == [
        {"name": "ticket", "required": True},
        {"name": "count", "required": False, "type": "integer", "default": 3},
        {"name": "tone", "required": False, "type": "string"},
    ]


def test_plain_names_stay_format_1() -> None:
    assert json.loads(_text(variables=["ticket", "count", "tone"]))["format"] == 1


def test_render_applies_defaults() -> None:
    prompt = _prompt()
    assert prompt.render(ticket="Printer on fire") == "3 bullets: Printer on fire"
    assert prompt.render(ticket="t", count=5, tone="dry") == "[dry] 5 bullets: t"


def test_render_refuses_a_wrong_type_and_a_missing_required_variable_by_name() -> None:
    prompt = _prompt()
    with pytest.raises(RenderError, match="count must be integer, not string"):
        prompt.render(ticket="t", count="five")
    with pytest.raises(RenderError, match=r"missing variable\(s\): ticket"):
        prompt.render(count=2)


def test_chat_messages_bind_the_same_way() -> None:
    prompt = _prompt(
        template=None,
        messages=[
            {"role": "system", "content": "{{count}} bullets"},
            {"role": "user", "content": "{{ticket}}{{tone}}"},
        ],
    )
    assert [m["content"] for m in prompt.render_messages(ticket="t")] == ["3 bullets", "t"]


def test_tools_and_response_format_are_exposed() -> None:
    prompt = _prompt(tools=[WEATHER], responseFormat=SUMMARY)
    document = json.loads(_text(tools=[WEATHER], responseFormat=SUMMARY))
    assert document["specFields"][-2:] == ["tools", "responseFormat"]
    assert prompt.tools == (WEATHER,)
    assert prompt.response_format == SUMMARY
    assert prompt.openai_response_format() == {
        "type": "json_schema",
        "json_schema": {"name": "ticket_summary", "schema": SUMMARY["schema"], "strict": True},
    }
    attributes = prompt.tracing_attributes()
    assert attributes["promptrelease.tools"] == "get_weather"
    assert attributes["promptrelease.response_format"] == "ticket_summary"


def test_validate_output_names_the_path_of_the_error() -> None:
    prompt = _prompt(responseFormat=SUMMARY)
    good = '{"bullets": ["a", "b"], "priority": "high"}'
    assert prompt.validate_output(good) == {"bullets": ["a", "b"], "priority": "high"}
    assert prompt.validate_output({"bullets": [], "priority": "low"})["priority"] == "low"
    with pytest.raises(OutputError, match=r"at \$\.bullets\[1\]: 2 is not of type 'string'"):
        prompt.validate_output({"bullets": ["a", 2], "priority": "low"})
    with pytest.raises(OutputError, match=r"at \$: 'priority' is a required property"):
        prompt.validate_output({"bullets": []})
    with pytest.raises(OutputError, match="not valid JSON"):
        prompt.validate_output("{bullets")


def test_a_prompt_without_a_response_format_says_so() -> None:
    prompt = _prompt()
    assert prompt.tools == () and prompt.response_format is None
    with pytest.raises(OutputError, match="declares no responseFormat"):
        prompt.validate_output("{}")
    with pytest.raises(PromptError, match="declares no responseFormat"):
        prompt.openai_response_format()
    assert "promptrelease.tools" not in prompt.tracing_attributes()


def test_a_tampered_tool_does_not_verify() -> None:
    document = json.loads(_text(tools=[WEATHER]))
    document["tools"][0]["function"]["name"] = "delete_everything"
    with pytest.raises(PayloadError, match="altered"):
        parse_payload(json.dumps(document))


def test_the_mounted_prompt_serves_the_contract(tmp_path: Path) -> None:
    (tmp_path / "prompt.json").write_text(_text(tools=[WEATHER], responseFormat=SUMMARY))
    mounted = MountedPrompt(tmp_path)
    assert mounted.render(ticket="t") == "3 bullets: t"
    assert [v.name for v in mounted.inputs] == ["ticket", "count", "tone"]
    assert mounted.tools == (WEATHER,)
    assert mounted.response_format == SUMMARY
    assert mounted.validate_output({"bullets": [], "priority": "normal"})
    assert mounted.openai_response_format()["type"] == "json_schema"
