"""The dashboard's side-by-side diff: lines aligned as `kubectl prompt diff` compares them."""

from __future__ import annotations

from prompt_release.plugin.dashboard.diffview import (
    ADDED,
    CHANGED,
    REMOVED,
    SAME,
    Row,
    compare,
    side_by_side,
)


def test_unchanged_lines_pair_up_and_a_changed_line_sits_beside_its_replacement() -> None:
    rows = side_by_side(["a\n", "b\n", "c\n"], ["a\n", "B\n", "c\n"])
    assert rows == [
        Row(SAME, 1, "a", 1, "a"),
        Row(CHANGED, 2, "b", 2, "B"),
        Row(SAME, 3, "c", 3, "c"),
    ]


def test_lines_only_one_side_has_are_removed_or_added() -> None:
    assert side_by_side(["a", "b"], ["a"]) == [
        Row(SAME, 1, "a", 1, "a"),
        Row(REMOVED, 2, "b", None, ""),
    ]
    assert side_by_side(["a"], ["a", "b"]) == [
        Row(SAME, 1, "a", 1, "a"),
        Row(ADDED, None, "", 2, "b"),
    ]
    replaced = side_by_side(["x"], ["y", "z"])
    assert [row.kind for row in replaced] == [CHANGED, ADDED]


def test_compare_shows_text_and_settings_of_two_versions() -> None:
    before = {"template": "Hi {name}", "variables": ["name"]}
    after = {
        "template": "Hello {name}",
        "variables": ["name"],
        "model": {"parameters": {"temperature": 0.2}},
    }
    comparison = compare(before, after)
    assert comparison.changed
    assert comparison.rows == [Row(CHANGED, 1, "Hi {name}", 1, "Hello {name}")]
    assert comparison.settings == ["+ model.parameters.temperature: 0.2 (added)"]
    assert not compare(before, before).changed


def test_a_chat_prompt_compares_message_by_message() -> None:
    before = {"messages": [{"role": "system", "content": "Be brief."}]}
    after = {
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "{q}"}]
    }
    rows = compare(before, after).rows
    assert [row.kind for row in rows] == [SAME, SAME, ADDED, ADDED]
    assert rows[2].right == "[messages[1] user]"
