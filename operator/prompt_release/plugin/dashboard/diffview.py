"""Two versions side by side: the prompt's lines aligned, and the settings that differ.

Pure: the lines and settings come from `kubectl prompt diff`'s own functions, so the page and
the command always show the same change.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from prompt_release.plugin.verbs.inspect import prompt_lines, setting_changes, settings

SAME, CHANGED, REMOVED, ADDED = "same", "changed", "removed", "added"


@dataclass(frozen=True)
class Row:
    """One line of the side-by-side table; a number is None where that side has no line."""

    kind: str
    left_number: int | None
    left: str
    right_number: int | None
    right: str


@dataclass(frozen=True)
class Comparison:
    rows: list[Row]
    settings: list[str]  # `~ key: old -> new`, `- key: ... (removed)`, `+ key: ... (added)`

    @property
    def changed(self) -> bool:
        return bool(self.settings) or any(row.kind != SAME for row in self.rows)


def _block(kind: str, left: Sequence[str], i: int, right: Sequence[str], j: int) -> list[Row]:
    """Rows of one replaced block: pairs first, then the lines only one side has."""
    rows = []
    for offset in range(max(len(left), len(right))):
        has_left, has_right = offset < len(left), offset < len(right)
        row_kind = kind if has_left and has_right else (REMOVED if has_left else ADDED)
        rows.append(
            Row(
                row_kind,
                i + offset + 1 if has_left else None,
                left[offset] if has_left else "",
                j + offset + 1 if has_right else None,
                right[offset] if has_right else "",
            )
        )
    return rows


def side_by_side(before: Sequence[str], after: Sequence[str]) -> list[Row]:
    """The lines of both sides aligned: unchanged, changed, removed or added."""
    left = [line.rstrip("\n") for line in before]
    right = [line.rstrip("\n") for line in after]
    rows: list[Row] = []
    matcher = difflib.SequenceMatcher(a=left, b=right, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            rows += [
                Row(SAME, i + 1, left[i], j + 1, right[j])
                for i, j in zip(range(i1, i2), range(j1, j2), strict=True)
            ]
        else:
            rows += _block(CHANGED, left[i1:i2], i1, right[j1:j2], j1)
    return rows


def compare(spec_a: Mapping[str, Any], spec_b: Mapping[str, Any]) -> Comparison:
    """What changes from one PromptVersion spec to another."""
    return Comparison(
        side_by_side(prompt_lines(spec_a), prompt_lines(spec_b)),
        setting_changes(settings(spec_a), settings(spec_b)),
    )
