"""The content hash: what production is tied to."""

from __future__ import annotations

import hashlib
from typing import Any

from prompt_release.core.hashing import content_hash, short_hash

SPEC: dict[str, Any] = {
    "prompt": "ticket-summarizer",
    "template": "Summarize this ticket in three bullet points:\n{ticket}\n",
    "variables": ["ticket"],
    "model": {"provider": "openai", "name": "gpt-4o-mini", "parameters": {"temperature": 0.2}},
}


def test_known_vector() -> None:
    canonical = (
        '{"model":{"name":"gpt-4o-mini","parameters":{"temperature":0.2},"provider":"openai"},'
        '"prompt":"ticket-summarizer","template":"Summarize this ticket in three bullet '
        'points:\\n{ticket}\\n","variables":["ticket"]}'
    )
    expected = "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()
    assert content_hash(SPEC) == expected


def test_the_hash_pin_is_not_hashed() -> None:
    assert content_hash({**SPEC, "hash": "sha256:" + "0" * 64}) == content_hash(SPEC)


def test_key_order_does_not_matter() -> None:
    reordered = dict(reversed(list(SPEC.items())))
    reordered["model"] = {
        "parameters": {"temperature": 0.2},
        "name": "gpt-4o-mini",
        "provider": "openai",
    }
    assert content_hash(reordered) == content_hash(SPEC)


def test_one_point_zero_and_one_hash_alike() -> None:
    as_float = {**SPEC, "model": {"parameters": {"temperature": 1.0, "max_tokens": 400.0}}}
    as_int = {**SPEC, "model": {"parameters": {"temperature": 1, "max_tokens": 400}}}
    assert content_hash(as_float) == content_hash(as_int)


def test_any_content_change_changes_the_hash() -> None:
    base = content_hash(SPEC)
    assert content_hash({**SPEC, "template": SPEC["template"] + " "}) != base
    assert content_hash({**SPEC, "model": {"parameters": {"temperature": 0.3}}}) != base
    assert content_hash({**SPEC, "description": "x"}) != base
    assert content_hash({**SPEC, "variables": ["ticket", "x"]}) != base
    assert content_hash({**SPEC, "templateFormat": "f-string"}) != base  # what is written


def test_unicode_and_multiline_text() -> None:
    spec = {**SPEC, "template": "Résumé 要約 😀\r\nline two\ttab {ticket}"}
    assert content_hash(spec) == content_hash(dict(spec))
    assert content_hash(spec) != content_hash(
        {**spec, "template": spec["template"].replace("\r\n", "\n")}
    )


def test_short_hash() -> None:
    assert short_hash("sha256:" + "ab" * 32) == "sha256:" + "ab" * 6


TYPED_SPEC: dict[str, Any] = {
    "prompt": "ticket-summarizer",
    "templateFormat": "mustache",
    "template": "Summarize {{ticket}} in {{count}} bullets.",
    "variables": [
        "ticket",
        {"name": "count", "type": "integer", "default": 3.0, "description": "How many bullets."},
    ],
}
TOOLS_SPEC: dict[str, Any] = {
    "prompt": "p",
    "template": "{q}",
    "variables": ["q"],
    "tools": [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}},
                    "required": ["city"],
                },
            },
        }
    ],
    "responseFormat": {
        "name": "answer",
        "schema": {"type": "object", "properties": {"text": {"type": "string"}}},
    },
}


def test_known_vector_with_typed_variables() -> None:
    """A typed entry is hashed as written, like any other member of the spec."""
    canonical = (
        '{"prompt":"ticket-summarizer","template":"Summarize {{ticket}} in {{count}} bullets.",'
        '"templateFormat":"mustache","variables":["ticket",{"default":3,"description":'
        '"How many bullets.","name":"count","type":"integer"}]}'
    )
    assert content_hash(TYPED_SPEC) == "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def test_known_vector_with_tools_and_a_response_format() -> None:
    canonical = (
        '{"prompt":"p","responseFormat":{"name":"answer","schema":{"properties":{"text":'
        '{"type":"string"}},"type":"object"}},"template":"{q}","tools":[{"function":{"name":'
        '"get_weather","parameters":{"properties":{"city":{"type":"string"}},"required":'
        '["city"],"type":"object"}},"type":"function"}],"variables":["q"]}'
    )
    assert content_hash(TOOLS_SPEC) == "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def test_versions_without_the_new_fields_hash_as_before() -> None:
    """Absent and null fields are not hashed: the hash of every version made before typed
    variables, tools and responseFormat existed is unchanged."""
    assert content_hash({**SPEC, "tools": None, "responseFormat": None}) == content_hash(SPEC)
    before = (
        "sha256:"
        + hashlib.sha256(
            b'{"model":{"name":"gpt-4o-mini","parameters":{"temperature":0.2},"provider":"openai"},'
            b'"prompt":"ticket-summarizer","template":"Summarize this ticket in three bullet '
            b'points:\\n{ticket}\\n","variables":["ticket"]}'
        ).hexdigest()
    )
    assert content_hash(SPEC) == before


def test_a_typed_entry_hashes_otherwise_than_its_plain_name() -> None:
    """What is written is hashed: `{name: ticket}` and `ticket` are different texts."""
    plain = {**SPEC, "variables": ["ticket"]}
    typed = {**SPEC, "variables": [{"name": "ticket"}]}
    assert content_hash(plain) != content_hash(typed)
    assert content_hash({**SPEC, "variables": [{"name": "ticket", "default": None}]}) == (
        content_hash(typed)
    )


def test_includes_pins_are_hashed_as_written() -> None:
    """The pins are spec fields: the including version's hash covers each pinned hash, so it
    names the whole closure, and stays computable from its own manifest."""
    pin = "sha256:" + "a" * 64
    spec = {
        "prompt": "p",
        "template": "{{> tone-v1}}",
        "includes": [{"name": "tone-v1", "hash": pin}],
    }
    canonical = (
        '{"includes":[{"hash":"' + pin + '","name":"tone-v1"}],"prompt":"p",'
        '"template":"{{> tone-v1}}"}'
    )
    assert content_hash(spec) == "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()
    other = {**spec, "includes": [{"name": "tone-v1", "hash": "sha256:" + "b" * 64}]}
    assert content_hash(other) != content_hash(spec)
