"""`kubectl prompt diff`: a setting removed or added says so, never `-> null`."""

from __future__ import annotations

from prompt_release.plugin.verbs.inspect import setting_changes


def test_a_removed_setting_says_removed() -> None:
    before = {"model.parameters.max_tokens": 300, "model.parameters.temperature": 0.2}
    after = {"model.parameters.temperature": 0.2}
    assert setting_changes(before, after) == ["- model.parameters.max_tokens: 300 (removed)"]


def test_an_added_and_a_changed_setting() -> None:
    before = {"variables": ["ticket"]}
    after = {"variables": ["ticket", "audience"], "model.name": "gpt-4o"}
    assert setting_changes(before, after) == [
        '+ model.name: "gpt-4o" (added)',
        '~ variables: ["ticket"] -> ["ticket", "audience"]',
    ]


def test_a_setting_written_as_null_is_not_a_removal() -> None:
    assert setting_changes({"model.name": "x"}, {"model.name": None}) == [
        '~ model.name: "x" -> null'
    ]
    assert setting_changes({"a": 1}, {"a": 1}) == []
