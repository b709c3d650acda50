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


def test_numbers_keys_merges_and_surrogates_as_kubectl_reads_them() -> None:
    (doc,) = load_all(
        "p: {a: 1_0.5, b: 0.1e1_0, c: 08, d: 019, e: 1e400, f: .inf}\n"
        "k: {1: a, y: b, 0.5: c, 0.123456789: d, 1e6: e, ~: f}\n"
        "base: &base {temperature: 0.2}\n"
        "tuned: {<<: *base, top_p: 0.9}\n"
        'emoji: "\\ud83d\\ude00"\n'
    )
    assert doc["p"] == {"a": 10.5, "b": 1e9, "c": 8, "d": 19, "e": "1e400", "f": float("inf")}
    assert doc["k"] == {
        "1": "a",
        "true": "b",
        "0.5": "c",
        "0.12345679": "d",  # float keys are formatted as 32-bit floats, as Go does
        "1e+06": "e",
        "null": "f",
    }
    assert doc["tuned"] == {"temperature": 0.2, "top_p": 0.9}
    assert doc["emoji"] == "😀"
