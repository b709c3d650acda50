"""templateFormat: mustache: validation, rendering, portability in the version's status, the
plugin's --format, and the SDK. The TypeScript and Go SDKs render the same way: see
tests/unit/test_conformance.py and the kit in conformance/."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest

from prompt_release.core.templates import (
    MUSTACHE,
    TemplateError,
    is_portable,
    mustache_tags,
    optional_placeholders,
    placeholders,
    refusals,
    render_text,
)
from prompt_release.core.validation import MAX_PROMPT_BYTES, problems
from prompt_release.core.version_decision import decide_version
from prompt_release.core.views import VersionView
from prompt_release.plugin.parser import build_parser
from prompt_release.plugin.verbs.authoring import _new_spec
from prompt_release.sdk import PayloadError, RenderError, parse_payload
from tests.unit.payloads import released

SECTIONS = "Hi {{name}}! {{#items}}- {{title}} {{user.plan}}\n{{/items}}{{^items}}none{{/items}}"


def spec(template: str, variables: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "prompt": "p",
        "templateFormat": MUSTACHE,
        "template": template,
        "variables": variables,
        **extra,
    }


def test_placeholders_are_the_names_outside_sections() -> None:
    assert placeholders(SECTIONS, MUSTACHE) == {"name", "items"}
    assert optional_placeholders(SECTIONS, MUSTACHE) == {"title", "user"}
    assert placeholders("{{=<% %>=}}<% a %> {{b}}", MUSTACHE) == {"a"}
    assert placeholders("{{! comment {{x}} }}{{{raw}}}{{&amp}}", MUSTACHE) == {"raw", "amp"}


@pytest.mark.parametrize(
    ("template", "pattern"),
    [
        ("{{> footer}}", "partial"),
        ("{{.}}", "outside a section"),
        ("{{a-b}}", "not a name"),
        ("{{ #x}}", "not a name"),
    ],
)
def test_refusals_name_each_unsafe_tag(template: str, pattern: str) -> None:
    assert any(pattern in found for found in refusals(template, MUSTACHE))


@pytest.mark.parametrize(
    ("template", "pattern"),
    [
        ("{{#a}}x", "never closed"),
        ("{{#a}}x{{/b}}", "closes b"),
        ("x {{y", "never closed"),
        ("{{=<%=}}", "two delimiters"),
        ("{{#a}}" * 33 + "{{/a}}" * 33, "nest more than 32"),
    ],
)
def test_syntax_errors(template: str, pattern: str) -> None:
    with pytest.raises(TemplateError, match=pattern):
        mustache_tags(template)


def test_validation_declared_variables_sections_and_size() -> None:
    assert problems(spec(SECTIONS, ["name", "items"])) == []
    # a declared variable used only inside a section is used
    assert problems(spec("{{#items}}{{greeting}} {{.}}{{/items}}", ["items", "greeting"])) == []
    found = problems(spec("{{name}} {{other}}", ["name", "unused"]))
    assert any("not declared in variables: other" in p for p in found)
    assert any("declared but not used in the prompt: unused" in p for p in found)
    assert any("partial" in p for p in problems(spec("{{> x}}{{a}}", ["a"])))
    big = "{{a}}" + "x" * MAX_PROMPT_BYTES
    assert any("over the" in p for p in problems(spec(big, ["a"])))


def test_render_inserts_values_as_they_are() -> None:
    variables = {"name": "<b>&'\"", "items": [{"title": "t", "user": {"plan": "pro"}}]}
    assert render_text(SECTIONS, MUSTACHE, variables) == "Hi <b>&'\"! - t pro\n"
    assert render_text(SECTIONS, MUSTACHE, {"name": 1.0, "items": []}) == "Hi 1! none"
    values = "{{a}} {{b}} {{c}} {{d}} {{e}}[{{f}}]"
    given = {"a": 1e21, "b": 1e-7, "c": True, "d": False, "e": 0.1 + 0.2, "f": None}
    assert render_text(values, MUSTACHE, given) == "1e+21 1e-7 true false 0.30000000000000004[]"


def test_nothing_outside_the_data_is_reachable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Secret:
        token = "s3cret"

    with pytest.raises(TemplateError, match="JSON data"):
        render_text("{{x.token}}", MUSTACHE, {"x": Secret()})
    with pytest.raises(TemplateError, match="JSON data"):
        render_text("{{#f}}x{{/f}}", MUSTACHE, {"f": lambda text: "boom"})
    assert (
        render_text(
            "[{{s.upper}}][{{l.count}}][{{d.keys}}]", MUSTACHE, {"s": "a", "l": [1], "d": {"k": 1}}
        )
        == "[][][]"
    )
    (tmp_path / "footer.mustache").write_text("read from disk")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(TemplateError, match="partial"):
        render_text("{{> footer}}", MUSTACHE, {})


def test_interpolating_a_list_or_an_object_is_an_error() -> None:
    with pytest.raises(TemplateError, match="a list"):
        render_text("{{x}}", MUSTACHE, {"x": [1]})
    with pytest.raises(TemplateError, match="an object"):
        render_text("{{x}}", MUSTACHE, {"x": {"a": 1}})
    assert render_text("[{{x}}]{{^x}}empty{{/x}}", MUSTACHE, {"x": {}}) == "[]empty"


@pytest.mark.parametrize(
    ("template_format", "portable"),
    [("mustache", True), ("f-string", False), ("jinja2", False), (None, False)],
)
def test_the_version_decision_says_whether_a_version_is_portable(
    template_format: str | None, portable: bool
) -> None:
    body = {"prompt": "p", "template": "x"}
    if template_format:
        body["templateFormat"] = template_format
    version = VersionView.of({"metadata": {"name": "p-v1", "generation": 1}, "spec": body})
    decided = decide_version(version, (), (), 10.0, "2026-11-24T10:00:00Z")
    assert decided.status is not None and decided.status["portable"] is portable
    assert is_portable(template_format or "f-string") is portable


def test_plugin_new_version_format() -> None:
    args = build_parser().parse_args(
        ["new-version", "p", "--from", "p-v1", "-f", "t.txt", "--format", "mustache"]
    )
    assert args.template_format == "mustache"
    source = {"prompt": "p", "template": "{ticket}", "variables": ["ticket"], "hash": "sha256:x"}
    made = _new_spec(source, "Hello {{name}}, about {{ticket}}", args)
    assert made == {
        "prompt": "p",
        "template": "Hello {{name}}, about {{ticket}}",
        "templateFormat": "mustache",
        "variables": ["ticket", "name"],
    }
    assert problems(made) == []
    with pytest.raises(SystemExit):
        build_parser().parse_args(
            ["new-version", "p", "--from", "v", "-f", "t", "--format", "handlebars"]
        )
    plain = argparse.Namespace(file="t.txt", description=None, template_format=None)
    assert "templateFormat" not in _new_spec(source, "{ticket}!", plain)


def test_the_sdk_renders_mustache_and_refuses_an_unsafe_payload() -> None:
    prompt = parse_payload(json.dumps(released(spec("Hi {{name}}", ["name"]))))
    assert prompt.render(name="Ada") == "Hi Ada"
    with pytest.raises(RenderError, match="missing variable"):
        prompt.render()
    with pytest.raises(RenderError, match="a list"):
        prompt.render(name=["a"])
    with pytest.raises(PayloadError, match="partial"):
        parse_payload(json.dumps(released(spec("{{> x}} {{name}}", ["name"]))))
