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
