"""Values packed while they wait in memory come back equal, small and large alike."""

from __future__ import annotations

import random
from typing import Any

import pytest

from prompt_release.core.packing import SMALL, Packed, pack, unpack

rng = random.Random(7)
LARGE_TEXT = " ".join(rng.choice(["ticket", "summary", "tone", "é", "🙂"]) for _ in range(20_000))


@pytest.mark.parametrize(
    "value",
    [
        None,
        [],
        {"metadata": {"name": "v1", "uid": "u-1"}, "spec": {"template": "Hi {name} é"}},
        {"nested": [[[1, 2.5, True, None, "x"]]]},
        {"spec": {"template": LARGE_TEXT}},  # past SMALL: the full window
    ],
)
def test_a_packed_value_comes_back_equal(value: Any) -> None:
    assert unpack(pack(value)) == value
    assert Packed(value).value() == value


def test_packing_makes_bodies_smaller() -> None:
    body = {"spec": {"template": LARGE_TEXT}}
    assert len(LARGE_TEXT.encode()) > SMALL
    assert len(pack(body)) < len(LARGE_TEXT.encode()) / 2
    small = {"metadata": {"labels": {"app.kubernetes.io/name": "x" * 8}}, "spec": {"t": "ab" * 200}}
    assert len(pack(small)) < 200
