"""Values packed while they wait in memory come back equal, small and large alike."""

from __future__ import annotations

import json
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


def test_a_typical_body_packs_to_a_fraction_of_its_json_from_the_dictionary() -> None:
    """A ConfigMap as the operator writes it: a few hundred bytes of JSON, most of them keys,
    labels and annotations every such body repeats, which the preset dictionary holds."""
    config_map = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "summarizer-production",
            "namespace": "team-a",
            "uid": "9f8e7d6c-1234-4a1b-9c2d-000000000042",
            "resourceVersion": "200042",
            "labels": {
                "app.kubernetes.io/managed-by": "prompt-release-operator",
                "promptrelease.io/prompt": "summarizer",
                "promptrelease.io/label": "production",
            },
            "annotations": {
                "promptrelease.io/version": "summarizer-v3",
                "promptrelease.io/hash": "sha256:" + "7" * 64,
                "promptrelease.io/revision": "3",
            },
        },
        "data": {"template.txt": "Summarize the ticket: {ticket}"},
    }
    text = json.dumps(config_map, separators=(",", ":")).encode()
    assert unpack(pack(config_map)) == config_map
    assert len(pack(config_map)) < len(text) / 3
