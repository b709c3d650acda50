"""`kubectl prompt hash` on hostile manifests: an error line or a hash, never a traceback."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from prompt_release.plugin.errors import OK, USAGE
from prompt_release.plugin.parser import main

HEAD = '{"apiVersion": "promptrelease.io/v1alpha1", "kind": "PromptVersion", '


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        (
            '{"prompt": "p", "template": "x", "model": {"parameters": {"seed": '
            + str(2**60)
            + "}}}",
            "outside the range JSON numbers keep exactly",
        ),
        ('{"prompt": "p", "template": "Hi \\ud800"}', "not valid Unicode"),
    ],
)
def test_hash_names_the_manifest_that_has_no_canonical_form(
    spec: str, says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(HEAD + '"metadata": {"name": "p-v1"}, "spec": ' + spec + "}")
    assert main(["hash", str(path)]) == USAGE
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}: PromptVersion p-v1 has no content hash: ")
    assert says in err and "Traceback" not in err


def test_hash_reads_parameters_nested_as_deep_as_the_api_server_stores(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """json and PyYAML recurse per level; the plugin raises the limit rather than crash."""
    levels = 3000
    parameters = '{"a":' * levels + "1" + "}" * levels
    path = tmp_path / "deep.json"
    spec = '{"prompt": "p", "template": "x", "model": {"parameters": ' + parameters + "}}"
    path.write_text(HEAD + '"metadata": {"name": "p-deep"}, "spec": ' + spec + "}")
    limit = sys.getrecursionlimit()
    try:
        assert main(["hash", str(path)]) == OK
    finally:
        sys.setrecursionlimit(limit)
    assert capsys.readouterr().out.startswith("sha256:")
