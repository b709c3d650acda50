"""YAML read by kubectl's rules (each case was checked against kubectl on the real server)."""

from __future__ import annotations

from prompt_release.core.manifests import load_all


def test_scalars_resolve_as_kubectl_does() -> None:
    (doc,) = load_all(
        "a: [1.5e3, 1e3, 0x1F, 1_000, 017, .5, 2026-01-01, y, off, '1e3', 1:30, ~, 1.0]"
    )
    assert doc["a"] == [
        1500.0,
        1000.0,
        31,
        1000,
        15,
        0.5,
        "2026-01-01",
        True,
        False,
        "1e3",
        "1:30",
        None,
        1.0,
    ]


def test_multiple_documents_skip_empty_ones() -> None:
    docs = list(load_all("a: 1\n---\n---\nb: 2\n"))
    assert docs == [{"a": 1}, {"b": 2}]


def test_json_is_yaml() -> None:
    assert list(load_all('{"x": [1, 2.5, "y"]}')) == [{"x": [1, 2.5, "y"]}]
