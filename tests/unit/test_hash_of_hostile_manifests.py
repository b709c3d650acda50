"""`kubectl prompt hash` on manifests with no canonical JSON form: an error line, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from prompt_release.plugin.errors import USAGE
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
