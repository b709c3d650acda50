"""Template safety: plain-name f-string placeholders, the jinja2 sandbox, the SDK's load check.

See docs/bad-input.md for the rules these tests hold the code to.
"""

from __future__ import annotations

import json
import string
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from prompt_release.core.templates import (
    MAX_FORMAT_WIDTH,
    TemplateError,
    checked_placeholders,
    placeholders,
    refusals,
    render_text,
)
from prompt_release.core.validation import problems
from prompt_release.sdk import MountedPrompt, PayloadError, load_payload, parse_payload
from tests.unit.payloads import released

# --- f-string: plain names only -------------------------------------------------------------

UNSAFE_F_STRINGS = [
    ("{ticket.__class__}", "{ticket.__class__} is not a plain name"),
    ("{ticket.__class__.__init__.__globals__}", "is not a plain name"),
    ("{ticket[0]}", "{ticket[0]} is not a plain name"),
    ("{ticket.title}", "{ticket.title} is not a plain name"),
    ("{ticket[0].x}", "{ticket[0].x} is not a plain name"),
    ("{ticket[__class__]}", "{ticket[__class__]} is not a plain name"),
    ("{ticket]}", "{ticket]} is not a plain name"),
    ("{ ticket }", "{ ticket } is not a plain name"),
    ("{tické}", "{tické} is not a plain name"),
    ("{ticket:{width}}", "nests a placeholder in its format spec"),
    ("{ticket:{ticket.__class__}}", "nests a placeholder in its format spec"),
    ("{ticket:{width:{fill}}}", "nests a placeholder in its format spec"),
    ("{ticket!x}", "unknown conversion !x"),
    ("{ticket:>1000000000}", f"width of 1000000000, over the limit of {MAX_FORMAT_WIDTH}"),
    ("{ticket:.99999}", f"precision of 99999, over the limit of {MAX_FORMAT_WIDTH}"),
    ("{ticket:%Y-%m-%d}", "not a standard format spec"),
    ("{ticket:>10 }", "not a standard format spec"),
    ("{0}", "positional"),
    ("{}", "positional"),
    ("{0.__class__}", "positional"),
]


@pytest.mark.parametrize(("text", "fragment"), UNSAFE_F_STRINGS)
def test_unsafe_f_string_placeholders_are_refused_by_name(text: str, fragment: str) -> None:
    found = refusals(text)
    assert any(fragment in refusal for refusal in found), found
    with pytest.raises(TemplateError, match="f-string placeholder"):
        checked_placeholders(text)


@pytest.mark.parametrize(("text", "fragment"), UNSAFE_F_STRINGS)
def test_validation_refuses_unsafe_f_strings_naming_the_text(text: str, fragment: str) -> None:
    spec = {"prompt": "p", "template": f"Hi {text}", "variables": ["ticket"]}
    found = problems(spec)
    assert any(p.startswith("template: ") and fragment in p for p in found), found


@pytest.mark.parametrize(("text", "fragment"), UNSAFE_F_STRINGS)
def test_rendering_never_walks_an_unsafe_f_string(text: str, fragment: str) -> None:
    """Even with validation bypassed (a hand-made payload), render refuses before formatting."""
    with pytest.raises(TemplateError):
        render_text(text, "f-string", {"ticket": "t", "width": 5, "fill": "*"})


def test_a_chat_message_names_its_index() -> None:
    spec = {
        "prompt": "p",
        "messages": [
            {"role": "system", "content": "You help with {product}."},
            {"role": "user", "content": "{ticket.__class__}"},
        ],
        "variables": ["product", "ticket"],
    }
    assert problems(spec) == [
        "messages[1].content: f-string placeholder {ticket.__class__} is not a plain name: "
        "attribute and index access are refused (placeholders are plain names, e.g. {ticket})"
    ]


SAFE_F_STRINGS = [
    ("{ticket}", {"ticket": "t"}),
    ("{{literal}} {ticket}", {"ticket": "t"}),
    ("{ticket!r}", {"ticket": "t"}),
    ("{ticket!s:>10}", {"ticket": "t"}),
    ("{ticket!a}", {"ticket": "é"}),
    ("{ticket:>10}", {"ticket": "t"}),
    ("{ticket:*^21}", {"ticket": "t"}),
    ("{price:,.2f}", {"price": 1234.5}),
    ("{price:+08.3f}", {"price": -3.14159}),
    ("{count:_d} {count:#x} {count:b}", {"count": 1_000_000}),
    ("{share:.1%}", {"share": 0.256}),
    ("{ticket:.3}", {"ticket": "truncate me"}),
    (f"{{ticket:>{MAX_FORMAT_WIDTH}}}", {"ticket": "t"}),
    ("{_private_name}", {"_private_name": "fine: a plain name"}),
    ("{ticket}{ticket}", {"ticket": "t"}),
]


@pytest.mark.parametrize(("text", "variables"), SAFE_F_STRINGS)
def test_conversions_and_literal_format_specs_render_as_str_format(
    text: str, variables: dict[str, Any]
) -> None:
    assert refusals(text) == []
    assert render_text(text, "f-string", variables) == text.format_map(variables)


def test_a_bad_value_for_a_format_spec_names_the_placeholder() -> None:
    with pytest.raises(TemplateError, match=r"f-string placeholder \{ticket:,\.2f\}"):
        render_text("{ticket:,.2f}", "f-string", {"ticket": "not a number"})


def test_a_missing_value_names_the_placeholder() -> None:
    with pytest.raises(TemplateError, match=r"no value for the placeholder \{ticket\}"):
        render_text("Hi {ticket}", "f-string", {})


def test_placeholders_still_reports_the_roots_of_unsafe_fields() -> None:
    """`placeholders` says which names are used; `refusals` says which uses are unsafe."""
    assert placeholders("{a.b} {c[0]} {d:{e}}") == {"a", "c", "d", "e"}


_ALPHABET = "ab_{}[]!:.>0123r "


@given(st.text(alphabet=_ALPHABET, max_size=24))
def test_whatever_passes_the_checks_renders_exactly_as_str_format(text: str) -> None:
    """Property: a template with no refusal renders as str.format_map with the same values."""
    try:
        found = refusals(text)
        names = placeholders(text)
    except TemplateError:
        return  # a syntax error: validation reports it
    if found:
        with pytest.raises(TemplateError):
            render_text(text, "f-string", dict.fromkeys(names, "v"))
        return
    variables = dict.fromkeys(names, "v")
    try:
        expected = text.format_map(variables)
    except ValueError:
        with pytest.raises(TemplateError):
            render_text(text, "f-string", variables)
        return
    assert render_text(text, "f-string", variables) == expected


@pytest.mark.parametrize(
    ("spec", "value"),
    [
        (">10", "s"),
        ("<5", "s"),
        ("^7", "s"),
        ("x>3", "s"),
        ("*^9", "s"),
        (".2", "s"),
        ("s", "s"),
        ("=+8", 12.5),
        (",", 1234.5),
        ("_", 1234),
        ("z.2f", -0.001),
        ("d", 12),
        ("#x", 255),
        ("08.3e", 3.5),
        ("c", 65),
    ],
)
def test_every_standard_spec_renders_as_python_formats_it(spec: str, value: Any) -> None:
    text = "{v:" + spec + "}"
    assert refusals(text) == []
    assert render_text(text, "f-string", {"v": value}) == string.Formatter().vformat(
        text, (), {"v": value}
    )


# --- jinja2: sandboxed, and refused before rendering when it's clearly an escape ------------

JINJA_ESCAPES = [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ joiner.__init__.__globals__ }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ self._TemplateReference__context }}",
    "{{ self.__dict__ }}",
    "{{ lipsum.__globals__ }}",
    "{{ lipsum.__globals__['os'] }}",
    "{{ range.__self__ }}",
    "{{ ticket.__class__ }}",
    "{{ ticket.__class__.__base__.__subclasses__() }}",
    "{{ ticket|attr('__class__') }}",
    "{{ ticket['__class__'] }}",
    "{{ ticket.__len__() }}",
    "{{ (1).__class__ }}",
    "{% for c in ().__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
    "{% set x = ticket.__class__ %}{{ x }}",
    "{{ ticket.mro() }}",
]


@pytest.mark.parametrize("text", JINJA_ESCAPES)
def test_known_jinja2_escapes_are_refused_at_validation(text: str) -> None:
    found = refusals(text, "jinja2")
    assert found and all("which the sandbox refuses" in refusal for refusal in found), found
    spec = {"prompt": "p", "templateFormat": "jinja2", "template": text, "variables": ["ticket"]}
    assert any("reaches the internal attribute" in p for p in problems(spec))


@pytest.mark.parametrize("text", JINJA_ESCAPES)
def test_known_jinja2_escapes_raise_at_render_and_never_leak(text: str) -> None:
    """With validation bypassed, the sandbox still refuses: an error, never a leaked value."""
    with pytest.raises(TemplateError, match="jinja2"):
        render_text(text, "jinja2", {"ticket": "t"})


@pytest.mark.parametrize(
    ("text", "variables"),
    [
        ("{{ '{0.__class__}'.format(ticket) }}", {"ticket": "t"}),
        ("{{ '{k.__class__}'.format_map({'k': ticket}) }}", {"ticket": "t"}),
        ("{{ ticket[5] }}", {"ticket": []}),
        ("{{ 1 / 0 }}", {}),
        ("{{ config }}", {}),
        ("{{ config.items() }}", {}),
        ("{{ request.application }}", {}),
        ("{{ ticket.append(1) }}", {"ticket": []}),
        ("{% set _ = ticket.update({'a': 1}) %}", {"ticket": {}}),
        ("{{ ticket|attr(name) }}", {"ticket": "t", "name": "__class__"}),
        ("{{ ticket[name] }}", {"ticket": "t", "name": "__class__"}),
        ("{{ range(10**9)|list }}", {}),
    ],
)
def test_escapes_only_the_sandbox_can_see_raise_at_render(
    text: str, variables: dict[str, Any]
) -> None:
    """Dynamic names, str.format, mutation and huge ranges: refused by the sandbox at render."""
    with pytest.raises(TemplateError, match="jinja2"):
        render_text(text, "jinja2", variables)


def test_undeclared_jinja2_globals_like_config_are_refused_at_validation() -> None:
    spec = {"prompt": "p", "templateFormat": "jinja2", "template": "{{ config }}"}
    assert problems(spec) == ["placeholder(s) not declared in variables: config"]


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        ("{% include 'secrets.txt' %}", "{% include %}"),
        ("{% import 'macros' as m %}", "{% import %}"),
        ("{% from 'macros' import m %}", "{% from … import %}"),
        ("{% extends 'base' %}", "{% extends %}"),
    ],
)
def test_jinja2_templates_may_not_load_other_templates(text: str, tag: str) -> None:
    assert refusals(text, "jinja2") == [
        f"jinja2, line 1: {tag} is refused: a prompt is one self-contained template"
    ]
    with pytest.raises(TemplateError):
        render_text(text, "jinja2", {})


def test_ordinary_jinja2_attribute_access_stays_allowed() -> None:
    assert refusals("{{ user|attr('name') }} {{ ticket.title() }}", "jinja2") == []
    text = "{{ user.name }} {{ items[0] }} {{ d['key'] }} {{ ticket.upper() }}"
    assert refusals(text, "jinja2") == []
    variables = {"user": {"name": "Ada"}, "items": ["i"], "d": {"key": "k"}, "ticket": "t"}
    assert render_text(text, "jinja2", variables) == "Ada i k T"


def test_the_jinja2_message_names_the_line_and_the_expression() -> None:
    assert refusals("ok\n{{ ticket.__class__ }}", "jinja2") == [
        "jinja2, line 2: {{ ticket.__class__ }} reaches the internal attribute __class__, "
        "which the sandbox refuses"
    ]


# --- the SDK refuses an unsafe payload at load ----------------------------------------------


UNSAFE_PAYLOADS = [
    (
        {"prompt": "summarizer", "template": "{ticket.__class__}", "variables": ["ticket"]},
        r"template: f-string placeholder \{ticket.__class__\} is not a plain name",
    ),
    (
        {"prompt": "summarizer", "template": "{ticket[0]}", "variables": ["ticket"]},
        r"template: f-string placeholder \{ticket\[0\]\}",
    ),
    (
        {"prompt": "summarizer", "template": "{ticket:{w}}", "variables": ["ticket", "w"]},
        r"nests a placeholder in its format spec",
    ),
    (
        {
            "prompt": "summarizer",
            "messages": [
                {"role": "system", "content": "ok"},
                {"role": "user", "content": "{ticket.__init__.__globals__}"},
            ],
            "variables": ["ticket"],
        },
        r"messages\[1\]\.content: f-string placeholder \{ticket.__init__.__globals__\}",
    ),
    (
        {
            "prompt": "summarizer",
            "templateFormat": "jinja2",
            "template": "{{ cycler.__init__.__globals__ }}",
        },
        r"cycler.__init__.__globals__ \}\} reaches the internal attribute",
    ),
    (
        {"prompt": "summarizer", "templateFormat": "handlebars", "template": "{{ticket}}"},
        r"unknown templateFormat 'handlebars'",
    ),
]


@pytest.mark.parametrize("verify", [True, False])
@pytest.mark.parametrize(("spec", "pattern"), UNSAFE_PAYLOADS)
def test_the_sdk_refuses_an_unsafe_payload_even_when_it_verifies(
    spec: dict[str, Any], pattern: str, verify: bool
) -> None:
    text = json.dumps(released(spec))
    with pytest.raises(PayloadError, match=pattern):
        parse_payload(text, verify=verify)


def test_mounted_prompt_refuses_an_unsafe_payload_at_construction(tmp_path: Path) -> None:
    body = released({"prompt": "summarizer", "template": "{ticket.__class__}"})
    (tmp_path / "prompt.json").write_text(json.dumps(body))
    with pytest.raises(PayloadError, match=r"\{ticket.__class__\}"):
        MountedPrompt(tmp_path)
    with pytest.raises(PayloadError):
        load_payload(tmp_path, verify=False)


def test_mounted_prompt_keeps_the_last_good_prompt_over_an_unsafe_one(tmp_path: Path) -> None:
    good = released({"prompt": "summarizer", "template": "Hi {ticket}", "variables": ["ticket"]})
    (tmp_path / "prompt.json").write_text(json.dumps(good))
    prompt = MountedPrompt(tmp_path, check_interval=0)
    bad = released({"prompt": "summarizer", "template": "{ticket.__class__}"})
    (tmp_path / "prompt.json").write_text(json.dumps({**bad, "revision": 10}))
    assert prompt.render(ticket="t") == "Hi t"
    assert prompt.failed_reloads >= 1


def test_a_malformed_message_list_is_a_payload_error() -> None:
    body = released({"prompt": "summarizer", "messages": [{"role": "user", "content": "x"}]})
    body["messages"] = ["not a message"]
    with pytest.raises(PayloadError, match=r"messages\[0\] must have a string content"):
        parse_payload(json.dumps(body), verify=False)
